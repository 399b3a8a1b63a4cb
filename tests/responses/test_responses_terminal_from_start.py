"""The terminal ``response.completed`` repeats the start event's response but for a few members
(``status``, ``usage``, ``output``, ...). When its items are the ones ``output_item.done`` put and
each other member is written as the start event wrote it, byte for byte and in the same order, the
native merger parses and builds only the members that differ and takes the rest from the start
event's response. Every variant here (a member changed, added, dropped, moved, duplicated, escaped,
respaced, a wrong type in a changed or a repeated member, ``incomplete`` and ``failed``, ``add``
or a snapshot between, a second start event) must give what the twin gives, fed whole and in
random pieces, and the value the events say."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS

BACKENDS = ["python"] + ([] if NO_EXTENSIONS else ["native"])

CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "in_progress",
    "arguments": "",
    "call_id": "c",
    "name": "f",
}
ARGS = [f'{{"k{k}": [{k}, "v\u00e9"]}}' for k in range(40)]
USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 2},
    "output_tokens": 40,
    "output_tokens_details": {"reasoning_tokens": 3},
    "total_tokens": 50,
}


def header(status: str) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "error": None,
        "model": "m",
        "output": [],
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tools": [],
        "usage": None,
        "metadata": {"k": [1, 2.5]},
        "x_unknown": {"a": 1},
    }


def ev(obj: dict[str, Any] | bytes, seq: int) -> bytes:
    data = (
        obj if isinstance(obj, bytes) else orjson.dumps({"type": obj["type"], "sequence_number": seq, **obj})
    )
    return b"data: " + data + b"\n\n"


def stream(terminal: Any, *, kind: str = "response.completed", between: bytes = b"") -> bytes:
    """``terminal`` -> the terminal event's response (a dict, or raw bytes of the whole event)."""
    done = {**CALL, "status": "completed", "arguments": "".join(ARGS)}
    out = [
        ev({"type": "response.created", "response": header("in_progress")}, 0),
        ev({"type": "response.in_progress", "response": header("in_progress")}, 1),
        ev({"type": "response.output_item.added", "output_index": 0, "item": CALL}, 2),
    ]
    for k, fragment in enumerate(ARGS):
        out.append(
            ev(
                {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": fragment},
                3 + k,
            )
        )
    out.append(ev({"type": "response.output_item.done", "output_index": 0, "item": done}, 50))
    out.append(between)
    if isinstance(terminal, bytes):
        out.append(ev(terminal, 0))
    else:
        out.append(ev({"type": kind, "response": terminal}, 51))
    return b"".join(out)


def completed(**changes: Any) -> dict[str, Any]:
    done = {**CALL, "status": "completed", "arguments": "".join(ARGS)}
    return {**header("completed"), "output": [done], "usage": USAGE, **changes}


def outcome(backend: str, pieces: list[bytes], snapshots: bool) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    try:
        counts = []
        for piece in pieces:
            counts.append(merger.feed(piece))
            if snapshots:
                merger.snapshot()
        result = merger.finish()
        return counts, result.to_dict(), result.to_json(), repr(result)
    except ssedelta.SSEDeltaError as exc:
        partial = getattr(exc, "partial", None)
        return type(exc).__name__, str(exc), getattr(exc, "offset", None), partial and partial.to_dict()


def reordered() -> dict[str, Any]:
    items = list(completed().items())
    items[0], items[1] = items[1], items[0]
    return dict(items)


def without(key: str) -> dict[str, Any]:
    out = completed()
    del out[key]
    return out


#: name -> the terminal event's response (or the whole event's bytes)
VARIANTS: dict[str, Any] = {
    "plain": completed(),
    "model changed": completed(model="m2"),
    "unknown member changed": completed(x_unknown={"a": 2}),
    "metadata changed": completed(metadata={"k": [1, 2.5], "z": None}),
    "an int where a float was": completed(temperature=1),
    "a member added": {**completed(), "extra": 1},
    "a member dropped": without("temperature"),
    "members reordered": reordered(),
    "a bad changed type": completed(status=5),
    "a bad changed usage": completed(usage={"input_tokens": "x"}),
    "bad created_at": completed(created_at="x"),
    "no output": without("output"),
    "usage null": completed(usage=None),
    "whitespace": json.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed()}
    ).encode(),
    "escaped key": orjson.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed()}
    ).replace(b'"model"', b'"mod\\u0065l"'),
    "duplicate key, first changed": orjson.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed()}
    ).replace(b'"model":"m"', b'"model":"z","model":"m"'),
    "duplicate key, last changed": orjson.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed()}
    ).replace(b'"model":"m"', b'"model":"m","model":"z"'),
    "a prefix of a member": orjson.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed(created_at=12)}
    ),
    "invalid json after": orjson.dumps(
        {"type": "response.completed", "sequence_number": 51, "response": completed()}
    )[:-1]
    + b",}",
    "error key on the event": orjson.dumps(
        {
            "type": "response.completed",
            "sequence_number": 51,
            "error": {"message": "x"},
            "response": completed(),
        }
    ),
}


def cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), rng.randint(1, 20)))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("seed", range(4))
def test_a_terminal_response_gives_the_twins_result(name: str, seed: int) -> None:
    data = stream(VARIANTS[name])
    pieces = [data] if seed == 0 else cut(data, random.Random(f"{name}{seed}"))
    results = [outcome(b, pieces, snapshots=seed == 3) for b in BACKENDS]
    assert all(r == results[0] for r in results[1:]), name


@pytest.mark.parametrize("kind", ["response.completed", "response.incomplete", "response.failed"])
def test_every_terminal_kind_gives_the_twins_result(kind: str) -> None:
    terminal = completed(
        status=kind.rsplit(".", 1)[1], error={"message": "m"} if kind.endswith("failed") else None
    )
    data = stream(terminal, kind=kind)
    results = [outcome(b, [data], snapshots=False) for b in BACKENDS]
    assert all(r == results[0] for r in results[1:])


def test_the_result_holds_the_changed_members_and_the_repeated_ones(backend: ssedelta.Backend) -> None:
    data = stream(completed(model="m2", x_unknown={"a": 3}))
    merged = responses.merge([data], backend=backend)
    assert (merged.status, merged.model, merged.temperature, merged.metadata) == (
        "completed",
        "m2",
        1.0,
        {"k": [1, 2.5]},
    )
    assert merged.extras == {"x_unknown": {"a": 3}}
    assert merged.usage.input_tokens_details.cached_tokens == 2
    assert merged.output[0].arguments == "".join(ARGS)
    assert merged.to_dict() == orjson.loads(orjson.dumps(completed(model="m2", x_unknown={"a": 3})))


def test_an_int_where_the_start_had_a_float_stays_an_int(backend: ssedelta.Backend) -> None:
    merged = responses.merge([stream(completed(temperature=1))], backend=backend)
    assert type(merged.temperature) is int
    assert b'"temperature":1,' in merged.to_json().encode()


@pytest.mark.parametrize(
    "between",
    [
        b"",
        ev({"type": "response.in_progress", "response": {**header("in_progress"), "model": "m3"}}, 50),
        ev({"type": "response.queued", "response": header("queued")}, 50),
    ],
)
def test_a_start_event_between_gives_the_twins_result(between: bytes) -> None:
    data = stream(completed(), between=between)
    results = [outcome(b, cut(data, random.Random(7)), snapshots=False) for b in BACKENDS]
    assert all(r == results[0] for r in results[1:])


def test_a_snapshot_reader_changing_the_response_does_not_reach_the_result(backend: ssedelta.Backend) -> None:
    data = stream(completed())
    at = data.index(b'data: {"type":"response.output_item.done"')
    merger = responses.merger_class(backend)()
    merger.feed(data[:at])
    snap = merger.snapshot()
    snap.metadata["k"].append("changed")
    snap.extras["x_unknown"]["a"] = "changed"
    merger.feed(data[at:])
    merged = merger.finish()
    assert merged.metadata == {"k": [1, 2.5]} and merged.extras == {"x_unknown": {"a": 1}}


def test_an_added_start_event_is_taken_as_the_start(backend: ssedelta.Backend) -> None:
    data = stream(completed())
    at = data.index(b'data: {"type":"response.output_item.done"')
    merger = responses.merger_class(backend)()
    merger.feed(data[:at])
    merger.add(
        {
            "type": "response.in_progress",
            "sequence_number": 49,
            "response": {**header("in_progress"), "model": "q"},
        }
    )
    merger.feed(data[at:])
    assert merger.finish().model == "m"


@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("plain", ["status", "output", "usage"]),
        ("model changed", ["status", "model", "output", "usage"]),
        ("a member added", None),
        ("duplicate key, first changed", None),
        ("whitespace", None),
    ],
)
def test_the_native_merger_parses_only_the_members_that_differ(
    monkeypatch: pytest.MonkeyPatch, name: str, members: list[str] | None
) -> None:
    from ssedelta.responses import _state

    seen = []
    general = _state.ResponsesState.merge_object

    def watching(self: Any, obj: Any, *args: Any) -> Any:
        if obj.get("type") == "response.completed":
            seen.append(list(obj["response"]))
        return general(self, obj, *args)

    monkeypatch.setattr(_state.ResponsesState, "merge_object", watching)
    responses.merge([stream(VARIANTS[name])], backend=ssedelta.get_backend("native"))
    whole = list(VARIANTS[name]) if isinstance(VARIANTS[name], dict) else list(completed())
    assert seen == [members if members is not None else whole]


@pytest.mark.parametrize("first", [b'"model":"z"', b'"model":"m"'])
@pytest.mark.parametrize("second", [b'"model":"z"', b'"model":"m"'])
def test_a_key_twice_in_the_start_and_the_terminal_response_gives_the_twins_result(
    first: bytes, second: bytes
) -> None:
    data = stream(completed()).replace(b'"model":"m"', b'"model":"m","model":"m"')
    head, tail = data.rsplit(b'"model":"m","model":"m"', 1)
    data = head + first + b"," + second + tail
    results = [outcome(b, [data], snapshots=False) for b in BACKENDS]
    assert all(r == results[0] for r in results[1:])
    assert results[0][1]["model"] == second.split(b":")[1].strip(b'"').decode()
