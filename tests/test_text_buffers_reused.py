"""Text buffers of streams merged one after another, side by side and alongside each other in one
choice (the native merger hands a freed buffer's memory to the next one made): fragments of every
length around the first buffer size, growing past it, on both backends alike."""

from __future__ import annotations

import json

import pytest
from tests.test_key_reading import HEAD

import ssedelta

PYTHON = ssedelta.get_backend("python")


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {**HEAD, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream(k: int) -> list[bytes]:
    return [
        chunk({"role": "assistant", "content": "c" * k}),
        chunk({"refusal": "r" * (k // 2), "content": "\u00e9" * (k % 5)}),
        chunk({"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": "a" * k}}]}),
        chunk({"content": "d" * (70 - k % 70)}, "stop"),
    ]


def merged(backend: ssedelta.Backend, streams: list[list[bytes]]) -> list:
    """The streams fed chunk by chunk in turn, each to its own merger."""
    mergers = [backend.DeltaMerger() for _ in streams]
    for at in range(max(len(s) for s in streams)):
        for merger, chunks in zip(mergers, streams, strict=True):
            if at < len(chunks):
                merger.feed(chunks[at])
    return [backend.to_dict(m.finish()) for m in mergers]


@pytest.mark.parametrize("k", [0, 1, 63, 64, 65, 130])
def test_streams_one_after_another_and_side_by_side(backend, k):
    for streams in ([stream(k)], [stream(k), stream(k + 1)], [stream(k), stream(64 - k % 64), stream(3)]):
        assert merged(backend, streams) == merged(PYTHON, streams)
    assert backend.merge(stream(k)).choices[0].message.content == "c" * k + "\u00e9" * (k % 5) + "d" * (
        70 - k % 70
    )
