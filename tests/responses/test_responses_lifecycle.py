"""Lifecycle events (``response.created``, ``.in_progress``, ``output_item.done``,
``response.completed``): the snapshot between them is the response the last lifecycle event
carried with the items merged so far, unknown keys of that response are kept, and a terminal
response or ``output_item.done`` that differs from what the events built wins, written exactly as
it came (key order, ``1`` against ``1.0``). Both backends, whole and in random splits."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses
from ssedelta.responses import models as m

HEADER: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1764180467,
    "status": "in_progress",
    "model": "gpt-5",
    "output": [],
    "temperature": 1.0,
    "usage": None,
    "x_gateway": {"route": "eu", "weights": [1, 1.0, True]},
}
ITEM: dict[str, Any] = {
    "id": "fc_1",
    "type": "function_call",
    "status": "in_progress",
    "arguments": "",
    "call_id": "call_1",
    "name": "book",
}
ARGS = ['{"from":', '"LIS",', '"to":"NRT"}']


def _event(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _stream(done_item: dict[str, Any], completed: dict[str, Any] | None) -> list[bytes]:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": HEADER},
        {"type": "response.in_progress", "sequence_number": 1, "response": {**HEADER, "x_phase": 2}},
        {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": ITEM},
    ]
    for k, fragment in enumerate(ARGS):
        events.append(
            {
                "type": "response.function_call_arguments.delta",
                "sequence_number": 3 + k,
                "item_id": "fc_1",
                "output_index": 0,
                "delta": fragment,
            }
        )
    events.append(
        {"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": done_item}
    )
    if completed is not None:
        events.append({"type": "response.completed", "sequence_number": 7, "response": completed})
    return [_event(e) for e in events]


DONE = {**ITEM, "status": "completed", "arguments": "".join(ARGS)}
COMPLETED = {
    **HEADER,
    "status": "completed",
    "output": [DONE],
    "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12},
}


def _merger(backend: ssedelta.Backend) -> Any:
    return responses.merger_class(backend)()


def _typed(value: Any) -> Any:
    """``value`` with each scalar paired with its type: ``==`` then tells ``1`` from ``1.0``."""
    if type(value) is dict:
        return {k: _typed(v) for k, v in value.items()}
    if type(value) is list:
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _exact(model: Any) -> Any:
    return _typed(model.to_dict())


def test_snapshots_between_lifecycle_events(backend: ssedelta.Backend) -> None:
    events = _stream(DONE, COMPLETED)
    merger = _merger(backend)
    merger.feed(events[0])
    assert _exact(merger.snapshot()) == _typed(HEADER)
    merger.feed(events[1])
    assert _exact(merger.snapshot()) == _typed({**HEADER, "x_phase": 2})
    merger.feed(events[2] + events[3])
    partial = {**HEADER, "x_phase": 2, "output": [{**ITEM, "arguments": ARGS[0]}]}
    assert _exact(merger.snapshot()) == _typed(partial)
    merger.feed(b"".join(events[4:7]))
    assert _exact(merger.snapshot()) == _typed({**HEADER, "x_phase": 2, "output": [DONE]})
    merger.feed(events[7])
    assert _exact(merger.finish()) == _typed(COMPLETED)
    assert merger.finish() == m.Response.from_dict(COMPLETED)


VARIANTS = {
    "as put": (DONE, COMPLETED),
    "completed item differs": (DONE, {**COMPLETED, "output": [{**DONE, "status": "incomplete"}]}),
    "completed item keys reordered": (DONE, {**COMPLETED, "output": [dict(reversed(list(DONE.items())))]}),
    "completed item 1.0 for 1": ({**DONE, "x_score": 1}, {**COMPLETED, "output": [{**DONE, "x_score": 1.0}]}),
    "completed item true for 1": (
        {**DONE, "x_score": 1},
        {**COMPLETED, "output": [{**DONE, "x_score": True}]},
    ),
    "completed header 1 for 1.0": (DONE, {**COMPLETED, "temperature": 1}),
    "completed with an unknown key": (DONE, {**COMPLETED, "x_billing": {"tier": "flex"}}),
    "completed without output": (DONE, {k: v for k, v in COMPLETED.items() if k != "output"}),
    "done item differs from the deltas": ({**DONE, "arguments": '{"to":"LIS"}'}, None),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_last_lifecycle_value_wins_exactly(backend: ssedelta.Backend, variant: str) -> None:
    done_item, completed = VARIANTS[variant]
    events = _stream(done_item, completed)
    expected = completed if completed is not None else {**HEADER, "x_phase": 2, "output": [done_item]}
    if completed is not None and "output" not in completed:
        expected = {**completed, "output": [done_item]}
    rng = random.Random(variant)
    data = b"".join(events)
    for split in range(4):
        merger = _merger(backend)
        cuts = sorted(rng.sample(range(1, len(data)), 6)) if split else []
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            merger.feed(data[a:b])
            merger.snapshot()
        assert _exact(merger.finish()) == _typed(expected), (variant, cuts)


@pytest.mark.parametrize("bad", [{"created_at": "soon"}, {"output": [{"type": 5}]}, {"usage": [1]}])
def test_a_bad_lifecycle_response_is_a_typed_error_at_its_event(backend: ssedelta.Backend, bad: dict) -> None:
    events = _stream(DONE, {**COMPLETED, **bad})
    merger = _merger(backend)
    merger.feed(b"".join(events[:-1]))
    with pytest.raises(ssedelta.InvalidChunkError) as caught:
        merger.feed(events[-1])
    assert caught.value.offset == len(b"".join(events[:-1])) + events[-1].index(b"data: ") + 6
    assert _exact(merger.snapshot()) == _typed({**HEADER, "x_phase": 2, "output": [DONE]})
