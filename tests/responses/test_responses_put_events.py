"""Events that put a value (``output_item.added``/``.done``, ``content_part.*``,
``reasoning_summary_part.*``, ``output_text.annotation.added``, ``shell_call_command.added``): what
they build in every slot, into an item that is there or not, and which check fails first when
several would (the indexes in the slot's order, then the value), on both backends."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses


def ev(kind: str, **fields: Any) -> bytes:
    return b"data: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def merged(backend: ssedelta.Backend, *events: bytes) -> dict[str, Any]:
    m = responses.merger_class(backend)()
    m.feed(b"".join(events))
    return m.snapshot().to_dict()


SUMMARY_ADDED = "response.reasoning_summary_part.added"
PART_ADDED = "response.content_part.added"


def test_summary_part_into_an_item_not_there(backend):
    out = merged(
        backend,
        ev(
            SUMMARY_ADDED,
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            part={"type": "summary_text", "text": ""},
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            delta="ab",
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            delta="c",
        ),
    )
    assert out["output"] == [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "abc"}]}
    ]


def test_part_put_again_replaces_what_the_deltas_built(backend):
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    out = merged(
        backend,
        ev("response.output_item.added", output_index=0, item=item),
        ev(PART_ADDED, **at, part={"type": "output_text", "text": "", "annotations": []}),
        ev("response.output_text.delta", **at, delta="Hel"),
        ev(PART_ADDED, **at, part={"type": "output_text", "text": "X", "annotations": []}),
        ev("response.output_text.delta", **at, delta="lo"),
        ev(PART_ADDED, **{**at, "content_index": 1}, part={"type": "refusal", "refusal": ""}),
        ev("response.refusal.delta", **{**at, "content_index": 1}, delta="no"),
    )
    assert out["output"][0]["content"] == [
        {"type": "output_text", "text": "Xlo", "annotations": []},
        {"type": "refusal", "refusal": "no"},
    ]


def test_annotation_and_command_puts(backend):
    item = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    citation = {
        "type": "url_citation",
        "url": "https://a.example",
        "title": "A",
        "start_index": 0,
        "end_index": 2,
    }
    out = merged(
        backend,
        ev("response.output_item.added", output_index=0, item=item),
        ev(PART_ADDED, **at, part={"type": "output_text", "text": "", "annotations": []}),
        ev("response.output_text.delta", **at, delta="Hi"),
        ev("response.output_text.annotation.added", **at, annotation_index=0, annotation=citation),
        ev("response.shell_call_command.added", output_index=1, command_index=0, command="ls"),
        ev("response.shell_call_command.delta", output_index=1, command_index=0, delta=" -l"),
    )
    assert out["output"][0]["content"] == [{"type": "output_text", "text": "Hi", "annotations": [citation]}]
    assert out["output"][1]["type"] == "shell_call"
    assert out["output"][1]["action"]["commands"] == ["ls -l"]


def test_item_put_again_after_its_deltas(backend):
    call = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}
    out = merged(
        backend,
        ev("response.output_item.added", output_index=0, item=call),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta='{"a"'),
        ev("response.output_item.added", output_index=0, item={**call, "arguments": "{}"}),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta=":1"),
    )
    assert out["output"] == [{**call, "arguments": "{}:1"}]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        # Each check fails first when the ones after it would fail too.
        ({"output_index": "0", "summary_index": "1", "part": 5}, "output_index: expected int, got str"),
        ({"summary_index": 1, "part": {"type": "summary_text"}}, "output_index: expected int, got NoneType"),
        ({"output_index": 0, "summary_index": None, "part": 5}, "summary_index: expected int, got NoneType"),
        ({"output_index": 0, "summary_index": 1.0, "part": 5}, "summary_index: expected int, got float"),
        ({"output_index": 0, "summary_index": 0, "part": 5}, "part: expected an object"),
        ({"output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": 1}}, "part.text"),
    ],
)
def test_summary_part_checks_in_order(backend, fields, match):
    m = responses.merger_class(backend)()
    good = ev("response.created", response={"id": "r", "object": "response", "output": []})
    m.feed(good)
    with pytest.raises(ssedelta.InvalidChunkError, match=match) as caught:
        m.feed(ev(SUMMARY_ADDED, **fields))
    assert (caught.value.offset, caught.value.event_index) == (len(good) + 6, 1)
    assert m.snapshot().output == []


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"output_index": 0, "content_index": "0", "annotation_index": "x"}, "content_index: expected int"),
        ({"output_index": 0, "content_index": 0, "annotation_index": "x"}, "annotation_index: expected int"),
        ({"output_index": 0, "content_index": 0, "annotation_index": 0, "annotation": []}, "annotation"),
    ],
)
def test_annotation_checks_in_order(backend, fields, match):
    with pytest.raises(ssedelta.InvalidChunkError, match=match):
        merged(backend, ev("response.output_text.annotation.added", **fields))


def test_command_must_be_a_string(backend):
    with pytest.raises(ssedelta.InvalidChunkError, match="command: expected str, got int"):
        merged(backend, ev("response.shell_call_command.added", output_index=0, command_index=0, command=1))
