"""Writing server-sent events the way OpenAI's servers do."""

from __future__ import annotations

from typing import Any

import orjson

from .._schema import Model

#: The event that ends a Chat Completions stream.
DONE_EVENT = b"data: [DONE]\n\n"


def encode_sse(obj: Model | dict[str, Any], *, event: str | None = None) -> bytes:
    """One server-sent event in OpenAI's compact form: ``data: {...}\\n\\n``.

    ``obj`` is a model (a chunk, a completion, ...) or a plain dict; the JSON is compact, with
    non-ASCII characters as UTF-8, keys in the object's order. ``event`` adds an ``event:`` line
    first (``event="error"`` for an error event). For a chunk, ``chunk.to_sse()`` is the same.
    """
    payload = orjson.dumps(obj.to_dict() if isinstance(obj, Model) else obj)
    if event is None:
        return b"data: " + payload + b"\n\n"
    if "\n" in event or "\r" in event:
        raise ValueError("an event name cannot contain a line break")
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
