"""The recorded streams of the three formats (``tests/data/real``, ``responses``, ``anthropic``) and
what each format's own package makes of them, for the gateway tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ssedelta import UpstreamError, anthropic, responses

DATA = Path(__file__).resolve().parent.parent / "data"

#: The folder of each format's recordings and the request path of its API.
FOLDERS = {"chat": "real", "responses": "responses", "anthropic": "anthropic"}
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "anthropic": "/v1/messages"}

STREAMS: list[tuple[str, str]] = [
    (fmt, p.name[: -len(".sse")])
    for fmt, folder in FOLDERS.items()
    for p in sorted((DATA / folder).glob("*.sse"))
]


@cache
def body(fmt: str, name: str) -> bytes:
    return (DATA / FOLDERS[fmt] / f"{name}.sse").read_bytes()


def reference(backend: Any, fmt: str, data: bytes) -> tuple[Any, BaseException | None]:
    """The result the format's own merger makes of ``data`` (the partial one when the stream
    reports an error), and the error its ``finish()`` raised."""
    if fmt == "chat":
        merger = backend.DeltaMerger()
        merger.feed(data)
        return merger.snapshot(), merger.error
    package = responses if fmt == "responses" else anthropic
    merger = package.merger_class(backend)()
    merger.feed(data)
    try:
        return merger.finish(), None
    except UpstreamError as exc:
        return exc.partial, exc


def payloads(data: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """``(event name, payload object)`` of each event of a recorded stream (LF line ends)."""
    out = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        name = None
        lines = []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                lines.append(line[5:].strip())
        text = b"\n".join(lines)
        if text and text != b"[DONE]":
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append((name, obj))
    return out


def has_output_delta(fmt: str, data: bytes) -> bool:
    """Whether the stream sends a non-empty text, argument, refusal, reasoning or thinking delta,
    or a Responses output item with its arguments whole (read from the recorded payloads, not
    through ssedelta)."""
    for _, obj in payloads(data):
        kind = obj.get("type")
        if kind == "response.output_item.added" and (obj.get("item") or {}).get("arguments"):
            return True
        delta = obj.get("delta")
        if fmt == "responses" and isinstance(kind, str) and kind.endswith(".delta") and delta:
            return True
        texts = ("text", "thinking", "partial_json")
        if fmt == "anthropic" and kind == "content_block_delta" and any((delta or {}).get(k) for k in texts):
            return True
    return False


def final_usage(fmt: str, data: bytes) -> dict[str, Any] | None:
    """The stream's usage object as its last event carrying one has it (Anthropic: the
    ``message_start`` usage with each ``message_delta`` usage's non-null keys laid over it)."""
    usage: dict[str, Any] | None = None
    for _, obj in payloads(data):
        kind = obj.get("type")
        if fmt == "responses" and isinstance(obj.get("response"), dict) and obj["response"].get("usage"):
            usage = obj["response"]["usage"]
        elif fmt == "anthropic" and kind == "message_start":
            usage = dict((obj.get("message") or {}).get("usage") or {})
        elif fmt == "anthropic" and kind == "message_delta" and isinstance(obj.get("usage"), dict):
            usage = {**(usage or {}), **{k: v for k, v in obj["usage"].items() if v is not None}}
        elif fmt == "chat" and isinstance(obj.get("usage"), dict):
            usage = obj["usage"]
    return usage
