"""A ``type`` that is not a string (an object, an array, a number, a boolean) where a model is
chosen by its ``type``: a Responses event or output item, a Messages content block or delta.
Reading the stream (``iter_events``) or merging it raises :class:`InvalidChunkError` at the
payload's offset, naming the field, on both backends; no other exception escapes."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import anthropic, responses
from ssedelta.errors import InvalidChunkError

TYPES = [{}, {"a": 1}, [], [1], 5, 1.5, True]

START = {
    "type": "message_start",
    "message": {"id": "m", "type": "message", "role": "assistant", "content": []},
}
TEXT_BLOCK = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}


def framed(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)


def cases(kind: Any) -> list[tuple[Any, bytes, str]]:
    """(module, stream, the field named) with ``kind`` as a ``type``; the last event is the bad one."""
    return [
        (responses, framed({"type": kind}), "type"),
        (
            responses,
            framed({"type": "response.output_item.added", "output_index": 0, "item": {"type": kind}}),
            "item.type",
        ),
        (
            anthropic,
            framed(START, {"type": "content_block_start", "index": 0, "content_block": {"type": kind}}),
            "content_block.type",
        ),
        (
            anthropic,
            framed(
                START,
                TEXT_BLOCK,
                {"type": "content_block_delta", "index": 0, "delta": {"type": kind, "text": "x"}},
            ),
            "delta.type",
        ),
    ]


def run(module: Any, backend: ssedelta.Backend, how: str, data: bytes) -> InvalidChunkError:
    pieces = [data[i : i + 9] for i in range(0, len(data), 9)]
    if module is anthropic:
        api = anthropic.for_backend(backend)
        merge, iter_events = api.merge, api.iter_events
    else:
        merge = partial(responses.merge, backend=backend)
        iter_events = partial(responses.iter_events, backend=backend)
    with pytest.raises(InvalidChunkError) as caught:
        if how == "merge":
            merge(pieces)
        else:
            list(iter_events(pieces))
    return caught.value


@pytest.mark.parametrize("kind", TYPES, ids=repr)
@pytest.mark.parametrize("how", ["merge", "iter_events"])
def test_a_type_that_is_not_a_string_is_an_invalid_chunk(
    backend: ssedelta.Backend, kind: Any, how: str
) -> None:
    for module, data, field in cases(kind):
        exc = run(module, backend, how, data)
        assert exc.offset == data.rindex(b"data: ") + len(b"data: ")
        assert f"{field}: expected str" in str(exc)
