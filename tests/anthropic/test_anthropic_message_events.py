"""message_start and message_delta: what they set on the message and its usage, and the errors
of bad ones (the state before the bad event kept), on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ssedelta
from ssedelta import anthropic as sa

HEAD = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x"}
USAGE = {"input_tokens": 10, "output_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": 3}}


def stream(*objs: dict[str, Any]) -> bytes:
    return b"".join(f"event: {o['type']}\ndata: {json.dumps(o)}\n\n".encode() for o in objs)


def start(**message: Any) -> dict[str, Any]:
    return {"type": "message_start", "message": {**HEAD, "content": [], "usage": USAGE, **message}}


def test_message_start_content_blocks_and_usage(backend: ssedelta.Backend) -> None:
    text = {"type": "text", "text": "hi"}
    tool = {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}
    message = sa.for_backend(backend).merge(stream(start(content=[text, tool]), {"type": "message_stop"}))
    assert isinstance(message.content[1], sa.ToolUseBlock)
    assert isinstance(message.usage.cache_creation, sa.CacheCreation)
    assert message.to_dict() == {**HEAD, "content": [text, tool], "usage": USAGE}


def test_message_start_without_usage_has_none(backend: ssedelta.Backend) -> None:
    message = sa.for_backend(backend).merge(stream(start(usage=None), {"type": "message_stop"}))
    assert message.usage is None
    assert message.to_dict() == {**HEAD, "content": []}


def test_message_delta_sets_only_what_it_carries(backend: ssedelta.Backend) -> None:
    d1 = {
        "type": "message_delta",
        "delta": {"stop_reason": "pause_turn", "container": {"id": "c"}},
        "usage": {"output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}, "odd": 1},
        "trace": {"n": 1},
    }
    d2 = {"type": "message_delta", "delta": None, "usage": {"output_tokens": 4, "cache_creation": None}}
    message = sa.for_backend(backend).merge(stream(start(), d1, d2, {"type": "message_stop"}))
    assert message.to_dict() == {
        **HEAD,
        "content": [],
        "usage": {**USAGE, "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2}, "odd": 1},
        "stop_reason": None,  # the second delta names no stop reason: it is set to null
        "stop_sequence": None,
        "stop_details": None,
        "container": {"id": "c"},
        "trace": {"n": 1},
    }
    assert isinstance(message.usage.output_tokens_details, sa.OutputTokensDetails)


def test_message_delta_before_message_start(backend: ssedelta.Backend) -> None:
    d = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}
    message = sa.for_backend(backend).merge(stream(d, {"type": "message_stop"}))
    assert message.usage.to_dict() == {"output_tokens": 2}
    assert message.stop_reason == "end_turn"


BAD = [
    ({"delta": [1]}, "delta: expected an object, got array"),
    ({"delta": {"stop_reason": 5}}, "delta.stop_reason: expected str, got number"),
    ({"delta": {"id": 5}}, "delta.id: expected str, got number"),
    ({"delta": {}, "model": 5}, "model: expected str, got number"),
    ({"delta": {}, "usage": "5"}, "usage: expected an object, got string"),
    ({"delta": {}, "usage": {"output_tokens": "5"}}, "usage.output_tokens: expected int, got string"),
    ({"delta": {}, "usage": {"cache_creation": 1}}, "usage.cache_creation: expected an object, got number"),
    ({"delta": {}, "usage": {"service_tier": 1}}, "usage.service_tier: expected str, got number"),
]


@pytest.mark.parametrize(("bad", "message"), BAD)
def test_bad_message_delta(backend: ssedelta.Backend, bad: dict[str, Any], message: str) -> None:
    good = {"type": "message_delta", "delta": {"stop_reason": "pause_turn"}, "usage": {"output_tokens": 3}}
    prefix = stream(start(), good)
    data = prefix + stream({"type": "message_delta", **bad}, {"type": "message_stop"})
    merger = sa.for_backend(backend).MessagesMerger()
    with pytest.raises(ssedelta.InvalidChunkError) as info:
        merger.feed(data)
    assert str(info.value).startswith(f"not a Messages stream event: {message}")
    assert info.value.offset == data.index(b"data: ", len(prefix)) + 6
    snapshot = merger.snapshot()
    assert (snapshot.stop_reason, snapshot.usage.output_tokens) == ("pause_turn", 3)
    assert snapshot.model == "claude-x"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"content": [{"type": "text", "text": 5}]}, "content[0].text: expected str, got number"),
        ({"content": {}}, "content: expected array, got object"),
        ({"usage": [1]}, "usage: expected an object, got array"),
        ({"model": 1}, "model: expected str, got number"),
    ],
)
def test_bad_message_start(backend: ssedelta.Backend, message: dict[str, Any], error: str) -> None:
    merger = sa.for_backend(backend).MessagesMerger()
    with pytest.raises(ssedelta.InvalidChunkError) as info:
        merger.feed(stream(start(**message)))
    assert str(info.value).startswith(f"not a Messages stream event: {error}")
    assert merger.snapshot().to_dict() == {"content": []}
