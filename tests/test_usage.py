"""``ssedelta.Usage``: one view of token counts, read from a merged chat completion."""

from __future__ import annotations

from pathlib import Path

import pytest

import ssedelta

REAL = Path(__file__).parent / "data" / "real"


def test_chat_usage_with_cache_and_reasoning_details(backend: ssedelta.Backend) -> None:
    # The stream's last chunk carries: prompt_tokens 433 (256 cached), completion_tokens 122
    # (108 reasoning), total_tokens 555.
    completion = backend.merge((REAL / "vercel-ai__cerebras_glm_reasoning_tool_call.sse").read_bytes())
    usage = ssedelta.Usage.of(completion)
    assert usage is not None
    assert usage.to_dict() == {
        "format": "chat",
        "input_tokens": 433,
        "output_tokens": 122,
        "cached_input_tokens": 256,
        "cache_write_input_tokens": None,
        "reasoning_tokens": 108,
        "total_tokens": 555,
    }
    assert usage.original is completion.usage


def test_chat_without_usage_has_none(backend: ssedelta.Backend) -> None:
    stream = b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
    assert ssedelta.Usage.of(backend.merge(stream)) is None


def test_chunk_usage_and_whole_numbered_floats() -> None:
    chunk = ssedelta.ChatCompletionChunk.from_json(
        b'{"id":"x","choices":[],"usage":{"prompt_tokens":12.0,"completion_tokens":3,"total_tokens":15}}'
    )
    usage = ssedelta.Usage.of(chunk)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 3, 15)
    assert type(usage.input_tokens) is int


def test_unregistered_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no usage reader for dict"):
        ssedelta.Usage.of({"usage": {}})
