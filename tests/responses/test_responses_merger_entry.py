"""How a merger hands a payload to the shared state, and when it stops reading.

The compiled merger parses a payload that is not a delta at its place itself and hands the object
to the state's ``merge_object`` (the state parses the payloads that are not JSON objects, and raises
their errors); it keeps the tokenizer, its failure and whether the stream ended in its sink. Each
case must give the same counts, result and error (type, message, offset) on both backends, fed
whole and in pieces.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses
from ssedelta.responses import _state

DATA = Path(__file__).resolve().parent.parent / "data" / "responses"
RECORDED = sorted(DATA.glob("*.sse"))
BACKENDS = ["python"] + ([] if ssedelta._env.NO_EXTENSIONS else ["native"])


def ev(obj: Any, event: str | None = None) -> bytes:
    data = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return (b"event: " + event.encode() + b"\n" if event else b"") + b"data: " + data + b"\n\n"


CREATED = {"type": "response.created", "sequence_number": 0, "response": {"id": "r", "status": "in_progress"}}
ITEM = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}
ADDED = {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": ITEM}
DELTA = {
    "type": "response.function_call_arguments.delta",
    "sequence_number": 2,
    "output_index": 0,
    "delta": "{}",
}
COMPLETED = {
    "type": "response.completed",
    "sequence_number": 3,
    "response": {"id": "r", "status": "completed", "output": [{**ITEM, "arguments": "{}"}]},
}
HEAD = ev(CREATED) + ev(ADDED) + ev(DELTA)

#: name -> the stream after HEAD: payloads the state must parse (or refuse) itself
TAILS = {
    "not json": b"data: {not json\n\n" + ev(COMPLETED),
    "not an object": b"data: [1, 2]\n\n" + ev(COMPLETED),
    "a string": b'data: "x"\n\n' + ev(COMPLETED),
    "error event, not json": b"event: error\ndata: {oops\n\n" + ev(COMPLETED),
    "error event, an object without type": ev({"message": "bad"}, "error") + ev(COMPLETED),
    "error event": ev({"type": "error", "sequence_number": 3, "message": "m", "code": "c"}),
    "done marker": b"data: [DONE]\n\n" + ev(COMPLETED),
    "empty data": b"data: \n\n" + ev(COMPLETED),
    "object, leading space": b'data:  {"type": "response.in_progress", '
    b'"sequence_number": 3, "response": {}}\n\n' + ev(COMPLETED),
    "bad type": ev({"type": 5, "sequence_number": 3}) + ev(COMPLETED),
    "bad index": ev({**DELTA, "output_index": "0"}) + ev(COMPLETED),
    "bad response": ev({**COMPLETED, "response": []}),
    "completed": ev(COMPLETED),
    "completed, then more": ev(COMPLETED) + ev(DELTA) + b"data: {broken\n\n",
    "truncated object": b'data: {"type": "response.completed", "response": {\n\n',
    "invalid utf-8": b'data: {"type": "response.in_progress", "x": "\xff"}\n\n' + ev(COMPLETED),
}


def outcome(backend: str, pieces: list[bytes], snapshots: bool = False) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    counts = []
    try:
        for piece in pieces:
            counts.append(merger.feed(piece))
            if snapshots:
                merger.snapshot()
        return counts, merger.events, merger.finish().to_dict()
    except ssedelta.SSEDeltaError as exc:
        again = None
        try:
            merger.feed(b"data: {}\n\n")
        except ssedelta.SSEDeltaError as second:
            again = (type(second).__name__, str(second))
        partial = getattr(exc, "partial", None)
        return (
            counts,
            type(exc).__name__,
            str(exc),
            getattr(exc, "offset", None),
            partial.to_dict() if partial is not None else None,
            again,
        )


def cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.parametrize("name", sorted(TAILS))
@pytest.mark.parametrize("seed", range(6))
def test_a_payload_the_state_parses_gives_the_same_outcome_on_both_backends(name: str, seed: int) -> None:
    data = HEAD + TAILS[name]
    rng = random.Random(f"{name}{seed}")
    pieces = [data] if seed == 0 else cut(data, rng)
    results = {b: outcome(b, pieces, snapshots=seed % 2 == 1) for b in BACKENDS}
    assert len(set(map(repr, results.values()))) == 1, results


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not json", "InvalidJSONError"),
        ("not an object", "InvalidChunkError"),
        ("bad type", "InvalidChunkError"),
        ("bad response", "InvalidChunkError"),
        ("error event", "UpstreamError"),
        ("truncated object", "InvalidJSONError"),
    ],
)
def test_a_bad_payload_after_a_delta_raises_its_error_at_its_offset(
    backend: ssedelta.Backend, name: str, expected: str
) -> None:
    data = HEAD + TAILS[name]
    merger = responses.merger_class(backend)()
    with pytest.raises(ssedelta.SSEDeltaError) as caught:
        merger.feed(data)
        merger.finish()
    assert type(caught.value).__name__ == expected
    assert caught.value.offset == len(HEAD) + 6  # the payload's first byte, after "data: "
    if expected != "UpstreamError":
        with pytest.raises(type(caught.value)):  # failed: raised again
            merger.feed(ev(COMPLETED))


def test_the_stream_ends_at_done_and_at_the_terminal_event(backend: ssedelta.Backend) -> None:
    merger = responses.merger_class(backend)()
    assert merger.feed(HEAD + b"data: [DONE]\n\n" + ev(COMPLETED)) == 3
    assert merger.feed(ev(DELTA)) == 0
    assert merger.finish().output[0].arguments == "{}"
    merger = responses.merger_class(backend)()
    assert merger.feed(HEAD + ev(COMPLETED) + ev(DELTA)) == 4
    assert merger.feed(b"data: {broken\n\n") == 0
    assert merger.finish().status == "completed"


def test_a_terminal_event_given_to_add_ends_the_fed_stream(backend: ssedelta.Backend) -> None:
    merger = responses.merger_class(backend)()
    assert merger.feed(HEAD) == 3
    merger.add(COMPLETED)
    assert merger.feed(ev(DELTA) + b"data: {broken\n\n") == 0
    result = merger.finish()
    assert (result.status, result.output[0].arguments) == ("completed", "{}")


def test_a_hook_on_the_state_entry_sees_every_event_the_state_merges(backend: ssedelta.Backend) -> None:
    """Every event that is not a repeated delta (nor a repeat the merger proves changes nothing)
    reaches the state's ``merge_object``; a snapshot read there leaves the feed intact."""
    cls = responses.merger_class(backend)
    seen: list[Any] = []

    class Watching(cls):  # type: ignore[misc, valid-type]
        def merge_object(self, obj: Any, *args: Any) -> Any:
            seen.append(obj.get("type"))
            self.snapshot()
            return super().merge_object(obj, *args)

    data = HEAD + ev({**DELTA, "sequence_number": 3}) + ev(COMPLETED)
    plain, watched = cls(), Watching()
    assert [plain.feed(p) for p in cut(data, random.Random(1))] == [
        watched.feed(p) for p in cut(data, random.Random(1))
    ]
    assert plain.finish().to_dict() == watched.finish().to_dict()
    assert seen[:2] == ["response.created", "response.output_item.added"]
    assert seen[-1] == "response.completed"


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_recorded_streams_with_a_snapshot_read_inside_each_state_merge(path: Path) -> None:
    data = path.read_bytes()
    results = []
    for backend in BACKENDS:
        cls = responses.merger_class(ssedelta.get_backend(backend))

        class Watching(cls):  # type: ignore[misc, valid-type]
            def merge_object(self, *args: Any) -> Any:
                self.snapshot()
                return super().merge_object(*args)

        for make in (cls, Watching):
            merger = make()
            try:
                counts = [merger.feed(p) for p in cut(data, random.Random(path.stem))]
                results.append((counts, merger.finish().to_dict()))
            except ssedelta.SSEDeltaError as exc:
                results.append((type(exc).__name__, str(exc), getattr(exc, "offset", None)))
    assert all(r == results[0] for r in results[1:]), path.name


def test_the_state_entry_is_where_the_python_merger_parses_too() -> None:
    # The compiled merger's hand-over relies on the state parsing only JSON objects itself.
    state = _state.ResponsesState()
    assert state.merge_payload(b"[DONE]", None, 0, 0) == 0 and state.done
