"""Streaming a finished message again: a cached answer served as a Messages stream.

The events follow Anthropic's order: ``message_start`` (the message without content, its usage
included), then per block ``content_block_start``, its deltas and ``content_block_stop``, then
``message_delta`` (stop fields, usage) and ``message_stop``. Text and thinking come as
``text_delta`` / ``thinking_delta`` fragments (at most ``fragment_chars`` characters each when
given), citations as ``citations_delta`` before the text, the thinking signature as one
``signature_delta``, the input of ``tool_use``, ``server_tool_use`` and ``mcp_tool_use`` blocks as
``input_json_delta`` fragments of its compact JSON; any other block is sent whole in its
``content_block_start``. Merging the stream gives back an equal message (a tool input held as text,
as a snapshot taken mid-block holds it, comes back parsed if that text is a JSON object).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from .._schema import Model
from . import models as m

__all__ = ["replay_dicts", "replay_sse"]

_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def replay_dicts(
    message: m.Message | dict[str, Any], *, fragment_chars: int | None = None
) -> Iterator[dict[str, Any]]:
    """The events of ``message`` as plain dicts."""
    if fragment_chars is not None and fragment_chars < 1:
        raise ValueError("fragment_chars must be at least 1")
    d = message.to_dict() if isinstance(message, Model) else message
    head = {k: v for k, v in d.items() if k != "content"}
    yield {"type": "message_start", "message": {**head, "content": []}}
    for index, block in enumerate(d.get("content") or ()):
        yield from _block_events(index, block, fragment_chars)
    delta = {key: d.get(key) for key in ("stop_reason", "stop_sequence", "stop_details")}
    if d.get("container") is not None:
        delta["container"] = d["container"]
    event: dict[str, Any] = {"type": "message_delta", "delta": delta}
    if d.get("usage") is not None:
        event["usage"] = d["usage"]
    yield event
    yield {"type": "message_stop"}


def replay_sse(message: m.Message | dict[str, Any], *, fragment_chars: int | None = None) -> Iterator[bytes]:
    """The stream of ``message`` as server-sent events (``event:`` and ``data:`` lines), one
    ``bytes`` per event."""
    for event in replay_dicts(message, fragment_chars=fragment_chars):
        yield b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _block_events(index: int, block: dict[str, Any], size: int | None) -> Iterator[dict[str, Any]]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    start = block
    if kind == "text" and type(block.get("text")) is str:
        start = {**block, "text": ""}
        citations = block.get("citations")
        if type(citations) is list:
            start["citations"] = []
            deltas += [{"type": "citations_delta", "citation": c} for c in citations]
        deltas += [{"type": "text_delta", "text": t} for t in _fragments(block["text"], size)]
    elif kind == "thinking" and type(block.get("thinking")) is str:
        start = {**block, "thinking": "", "signature": ""}
        deltas += [{"type": "thinking_delta", "thinking": t} for t in _fragments(block["thinking"], size)]
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in _TOOL_BLOCKS and isinstance(block.get("input"), (dict, str)):
        start = {**block, "input": {}}
        value = block["input"]
        text = value if type(value) is str else orjson.dumps(value).decode()
        if text != "{}":
            deltas += [{"type": "input_json_delta", "partial_json": t} for t in _fragments(text, size)]
    yield {"type": "content_block_start", "index": index, "content_block": start}
    for delta in deltas:
        yield {"type": "content_block_delta", "index": index, "delta": delta}
    yield {"type": "content_block_stop", "index": index}


def _fragments(text: str, size: int | None) -> list[str]:
    if not text:
        return []
    if size is None or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]
