"""Replay: a finished completion streamed again merges back to itself.

For every recorded stream the merged completion is replayed (whole strings, or fragments of a few
characters; with and without the usage chunk) and merged by the same backend.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway_helpers import merged

from real_streams import STREAMS, body, expected, is_upstream_error
from ssedelta.gateway import DONE_EVENT, replay_chunks, replay_dicts, replay_sse

PLAIN = "openai-python__gpt4o_plain_content_usage"


@pytest.mark.parametrize("fragment_chars", [None, 1, 5])
@pytest.mark.parametrize("name", STREAMS)
def test_replay_merges_back_to_the_completion(backend: Any, name: str, fragment_chars: int | None) -> None:
    merger = backend.DeltaMerger()
    merger.feed(body(name))
    completion = merger.snapshot()
    wanted = completion.to_dict()
    events = list(replay_sse(completion, fragment_chars=fragment_chars))
    assert events[-1] == DONE_EVENT
    assert merged(backend, b"".join(events)) == wanted
    without_usage = merged(
        backend, b"".join(replay_sse(completion, usage=False, fragment_chars=fragment_chars))
    )
    groq_usage = (completion.extras.get("x_groq") or {}).get("usage")
    assert without_usage.pop("usage", None) == groq_usage
    wanted.pop("usage", None)
    assert without_usage == wanted


def test_replayed_events_are_one_chunk_each(backend: Any) -> None:
    completion = backend.merge(body(PLAIN))
    events = list(replay_sse(completion, fragment_chars=4))
    chunks = replay_chunks(completion, fragment_chars=4)
    assert len(events) == len(chunks) + 1
    for event, chunk in zip(events, chunks, strict=False):
        assert event.startswith(b"data: {") and event.endswith(b"}\n\n") and event.count(b"\n") == 2
        assert backend.ChunkDecoder().feed(event) == [chunk]
        assert chunk.object == "chat.completion.chunk" and chunk.id == completion.id
    content = completion.choices[0].message.content
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts[0] == content[:4] and "".join(texts) == content
    assert chunks[-1].choices == [] and chunks[-1].usage == completion.usage


def test_a_cached_non_streamed_completion_replays(backend: Any) -> None:
    cached = expected(PLAIN)  # a chat.completion as a JSON object
    assert backend.merge(b"".join(replay_sse(cached))).to_dict() == cached
    assert list(replay_dicts(cached)) == [c.to_dict() for c in replay_chunks(backend.merge(body(PLAIN)))]


def test_replaying_an_errored_completion_reports_the_error_last(backend: Any) -> None:
    name = "pydantic-ai__openrouter_minimax_error_chunk"
    assert is_upstream_error(expected(name))
    merger = backend.DeltaMerger()
    merger.feed(body(name))
    events = list(replay_sse(merger.snapshot()))
    assert json.loads(events[-2][6:])["error"] == expected(name)["error"]
    assert all(b'"error"' not in e for e in events[:-2])


def test_fragment_chars_must_be_positive(backend: Any) -> None:
    with pytest.raises(ValueError):
        list(replay_sse(backend.merge(body(PLAIN)), fragment_chars=0))
