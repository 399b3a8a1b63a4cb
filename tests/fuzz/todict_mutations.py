"""The ``todict`` fuzz target: ``to_dict`` on models that Python code has changed.

One input is two header bytes and a stream: the stream's chunks are decoded and merged (by the
native core), then byte 0 seeds and byte 1 counts the changes made to the objects: a field set to
a value of another type (a tuple or a generator where a list was, a str where a list of ints was,
subclasses of str, int, dict and list, nan, an object whose ``__eq__`` raises), ``extras`` or
``_present`` set to something else, a model put inside itself. The same changes are made to two
copies; the native ``to_dict`` and the twin's must give the same value or the same exception type.
"""

from __future__ import annotations

import math
import random
from typing import Any

import ssedelta
from ssedelta import models

NATIVE = ssedelta.get_backend("native")
PYTHON = ssedelta.get_backend("python")


class Str(str):
    pass


class Int(int):
    pass


class Dict(dict):  # type: ignore[type-arg]
    pass


class Iterated(list):  # type: ignore[type-arg]
    """A list whose iteration gives other items than its indexing."""

    def __iter__(self) -> Any:
        return iter(["iterated"])


class NoEq:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "NoEq()"


def _models_in(roots: list[Any]) -> list[Any]:
    """Every model reachable from ``roots`` through known fields and lists, in a fixed order."""
    seen: set[int] = set()
    out: list[Any] = []
    stack = list(reversed(roots))
    while stack and len(out) < 5000:
        obj = stack.pop()
        if isinstance(obj, list):
            stack.extend(reversed(obj))
            continue
        if not isinstance(obj, models.Model) or id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
        for key in reversed(obj._keys):
            stack.append(getattr(obj, key, None))
    return out


def _value(rng: random.Random, current: Any, objs: list[Any]) -> Any:
    items = list(current) if isinstance(current, (list, tuple)) else [current]
    choice = rng.randrange(20)
    values: list[Any] = [
        lambda: tuple(items),
        lambda: (x for x in items),
        lambda: "a str",
        lambda: Str("sub"),
        lambda: Int(7),
        lambda: Dict(k=1),
        lambda: Iterated(items),
        lambda: math.nan,
        lambda: -0.0,
        lambda: NoEq(),
        lambda: None,
        lambda: rng.choice(objs),  # possibly itself or an ancestor: a cycle
        lambda: [rng.choice(objs), 1],
        lambda: 2**80,
        lambda: True,
        lambda: b"bytes",
        lambda: [None, "x", items],
        lambda: {"nested": rng.choice(objs)},
        lambda: 12,
        lambda: math.inf,
    ]
    return values[choice]()


def _mutate(rng: random.Random, objs: list[Any], count: int) -> None:
    for _ in range(count):
        obj = rng.choice(objs)
        which = rng.randrange(len(obj._keys) + 2)
        if which < len(obj._keys):
            key = obj._keys[which]
            setattr(obj, key, _value(rng, getattr(obj, key), objs))
        elif which == len(obj._keys):
            obj.extras = rng.choice([None, [("k", 1)], Dict(x=1), {"m": rng.choice(objs)}, 3, "ab"])
        else:
            obj._present = rng.choice([None, -1, 0, 2**70, "bits", 1.5, True, Int(5)])


def build(data: bytes) -> list[Any]:
    """The decoded chunks and the merged completion of ``data[2:]``, changed as ``data[:2]`` says."""
    stream = data[2:]
    roots: list[Any] = []
    decoder = NATIVE.ChunkDecoder()
    try:
        roots += decoder.feed(stream)
        roots += decoder.close()
    except ssedelta.SSEDeltaError:
        pass
    try:
        roots.append(NATIVE.merge([stream]))
    except ssedelta.UpstreamError as exc:
        roots.append(exc.partial)
    except ssedelta.SSEDeltaError:
        pass
    roots = [r for r in roots if r is not None][:20]
    objs = _models_in(roots)
    if objs:
        _mutate(random.Random(data[0]), objs, data[1] % 16 + 1)
    return roots


class _Key:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def describe(value: Any, budget: int = 20000) -> list[Any]:
    """A flat description of what ``to_dict`` gave: JSON values exactly, other objects by type
    (their reprs hold addresses), cut off after ``budget`` nodes (results may hold cycles)."""
    out: list[Any] = []
    stack = [value]
    while stack and len(out) < budget:
        v = stack.pop()
        kind = type(v)
        if kind is _Key:
            out.append(("key", v.key if type(v.key) is str else type(v.key).__name__))
        elif kind is dict:
            out.append(("dict", len(v)))
            for k, x in reversed(list(v.items())):
                stack.append(x)
                stack.append(_Key(k))
        elif kind is list or kind is tuple:
            out.append((kind.__name__, len(v)))
            stack.extend(reversed(v))
        elif kind in (str, int, float, bool, type(None)):
            out.append((kind.__name__, repr(v)))
        else:
            out.append(("object", kind.__name__))
    return out


def outcome(to_dict: Any, obj: Any) -> Any:
    try:
        return describe(to_dict(obj))
    except Exception as exc:  # the same exception type on both sides is what is checked
        return ("raised", type(exc).__name__)


def check_todict(data: bytes) -> None:
    if len(data) < 2:
        return
    native_roots = build(data)
    python_roots = build(data)
    for k, (a, b) in enumerate(zip(native_roots, python_roots, strict=True)):
        native = outcome(NATIVE.to_dict, a)
        python = outcome(PYTHON.to_dict, b)
        if native != python:
            raise AssertionError(
                f"to_dict of object {k} differs for input {data[:200]!r}..."
                f"\nnative: {native!r}\npython: {python!r}"
            )
