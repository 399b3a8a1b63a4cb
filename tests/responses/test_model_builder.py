"""The native model builder (``ssedelta._build_c``) against its twin (``ssedelta._build_py``, the
models' own ``from_dict``): the same objects from every event payload of both recorded corpora
(Responses and Messages), the same errors for values of the wrong kind, the same copies."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest

from ssedelta import _build_py
from ssedelta._env import NO_EXTENSIONS
from ssedelta._schema import Model
from ssedelta.anthropic import models as am
from ssedelta.responses import models as rm

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

DATA = Path(__file__).resolve().parent.parent / "data"

#: Values of every JSON kind, and objects whose ``type`` no union knows or cannot be a key.
ODD_VALUES: list[Any] = [1, 1.5, 2.0, -0.0, "x", "", [], {}, None, True, [1], [{}], {"type": 5}, {"type": []}]


def _payloads(folder: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((DATA / folder).glob("*.sse")):
        for line in path.read_bytes().split(b"\n"):
            if line.startswith(b"data: {"):
                try:
                    obj = orjson.loads(line[6:])
                except orjson.JSONDecodeError:
                    continue
                if type(obj) is dict:
                    out.append(obj)
    return out


def _responses_cases() -> list[tuple[type[Model], Any]]:
    cases: list[tuple[type[Model], Any]] = []
    for obj in _payloads("responses"):
        if type(obj.get("response")) is dict:
            cases.append((rm.Response, obj["response"]))
        for key in ("item", "part"):
            if type(obj.get(key)) is dict:
                union = rm.Response._spec["output"][2] if key == "item" else rm.ResponseReasoningItemSummary
                cases.append((union, obj[key]))
    return cases


def _anthropic_cases() -> list[tuple[type[Model], Any]]:
    cases: list[tuple[type[Model], Any]] = []
    for obj in _payloads("anthropic"):
        kind = obj.get("type")
        if kind == "message_start" and type(obj.get("message")) is dict:
            cases.append((am.Message, obj["message"]))
        elif kind == "content_block_start":
            cases.append((am.RawContentBlockStartEvent, obj))
        elif kind == "message_delta":
            cases.append((am.RawMessageDeltaEvent, obj))
            if type(obj.get("usage")) is dict:
                cases.append((am.Usage, obj["usage"]))
    return cases


CASES = _responses_cases() + _anthropic_cases()


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down, models with the same ``_present``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Model):
        return (
            a._present == b._present
            and same(a.extras, b.extras)
            and all(same(getattr(a, k), getattr(b, k)) for k in a._keys)
        )
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the exception itself is what is compared
        return ("raised", type(exc), str(exc))


def build(native: bool, sub: Any, value: Any) -> Any:
    from ssedelta import _build_c

    module: Any = _build_c if native else _build_py
    if isinstance(sub, dict):
        return outcome(module.one, sub, value, "x")
    return outcome(module.from_dict, sub, value, "x")


def same_outcome(a: Any, b: Any) -> bool:
    if a[0] != b[0]:
        return False
    return same(a[1], b[1]) if a[0] == "ok" else a[1:] == b[1:]


def test_the_corpora_have_payloads_of_every_kind() -> None:
    kinds = {sub if not isinstance(sub, dict) else "union" for sub, _ in CASES}
    assert {rm.Response, "union", am.Message, am.RawContentBlockStartEvent, am.Usage} <= kinds


@pytest.mark.parametrize("k", range(len(CASES)))
def test_same_objects_from_every_payload(k: int) -> None:
    sub, value = CASES[k]
    native, twin = build(True, sub, value), build(False, sub, value)
    assert native[0] == "ok"
    assert same_outcome(native, twin)


@pytest.mark.parametrize("k", range(0, len(CASES), 3))
def test_same_result_or_error_with_a_value_of_another_kind(k: int) -> None:
    sub, value = CASES[k]
    for key, odd in itertools.product(list(value), ODD_VALUES):
        changed = {**value, key: odd}
        assert same_outcome(build(True, sub, changed), build(False, sub, changed)), (key, odd)
        inner = value[key]
        if type(inner) is dict and inner:
            for inner_key in list(inner)[:4]:
                deeper = {**value, key: {**inner, inner_key: odd}}
                where = (key, inner_key, odd)
                assert same_outcome(build(True, sub, deeper), build(False, sub, deeper)), where


@pytest.mark.parametrize("odd", [*ODD_VALUES, "not a dict", 7])
def test_same_error_for_a_value_that_is_no_object(odd: Any) -> None:
    for sub in (rm.Response, rm.Response._spec["output"][2], am.Message):
        assert same_outcome(build(True, sub, odd), build(False, sub, odd))


def test_replaced_gives_the_same_copy_and_leaves_the_original() -> None:
    from ssedelta import _build_c

    for sub, value in CASES[::5]:
        obj = _build_py.one(sub, value, "x") if isinstance(sub, dict) else sub.from_dict(value)
        before = obj.to_dict()
        key = obj._keys[0]
        changes = {key: "changed", "not_a_field": [1], "extras": 5}
        native, twin = _build_c.replaced(obj, changes), _build_py.replaced(obj, changes)
        assert same(native, twin)
        assert native is not obj and native.extras is not obj.extras
        assert obj.to_dict() == before
        built = type(obj)()
        assert same(_build_c.replaced(built, {key: 1}), _build_py.replaced(built, {key: 1}))
