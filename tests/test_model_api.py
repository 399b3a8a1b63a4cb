"""The models as users meet them: assignments show in the output, counts are ints, and the short
names mean what they mean in the official SDK."""

from __future__ import annotations

import dataclasses
import importlib
import typing
from typing import Any

import orjson
import pytest

import ssedelta
from real_streams import STREAMS, body
from ssedelta import models

CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi"},"logprobs":{"content":[{"token":"hi","logprob":-0.5,'
    b'"bytes":[104,105],"top_logprobs":[]}]},"finish_reason":null}]}\n\n'
)


# ---------------------------------------------------------------- assignments after decoding


def test_an_assigned_field_is_written(backend: ssedelta.Backend) -> None:
    c = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x"}')
    c.model = "gpt-4o"
    assert c.to_dict() == {"id": "x", "model": "gpt-4o"}
    assert orjson.loads(c.to_json()) == {"id": "x", "model": "gpt-4o"}
    assert c.to_sse() == b'data: {"id":"x","model":"gpt-4o"}\n\n'
    assert c.fields_set == {"id", "model"}


def test_replace_keeps_the_source_nulls_and_writes_the_new_values(backend: ssedelta.Backend) -> None:
    c = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x","service_tier":null}')
    changed = dataclasses.replace(c, system_fingerprint="fp", id="y")
    assert changed.to_dict() == {"id": "y", "service_tier": None, "system_fingerprint": "fp"}
    assert c.to_dict() == {"id": "x", "service_tier": None}


def test_setting_a_field_to_none(backend: ssedelta.Backend) -> None:
    c = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x","model":"m"}')
    c.model = None
    assert c.to_dict() == {"id": "x", "model": None}  # the source had the key: it stays, as null
    built = ssedelta.ChatCompletionChunk(id="x", model="m", system_fingerprint="fp")
    built.system_fingerprint = None
    assert built.to_dict() == {"id": "x", "model": "m", "choices": None, "created": None, "object": None}


def test_assignments_on_decoded_chunks(backend: ssedelta.Backend) -> None:
    """A gateway sets fields on the chunks it passes on and re-encodes them."""
    for chunk in backend.iter_chunks([CHUNK]):
        chunk.system_fingerprint = "fp_gateway"
        chunk.choices[0].finish_reason = "stop"  # type: ignore[index]
        chunk.choices[0].delta.role = "assistant"  # type: ignore[index, union-attr]
        chunk.choices[0].logprobs.content[0].token = "HI"  # type: ignore[index, union-attr]
        out = orjson.loads(chunk.to_sse()[6:])
        assert out["system_fingerprint"] == "fp_gateway"
        assert out["choices"][0]["finish_reason"] == "stop"
        assert out["choices"][0]["delta"] == {"role": "assistant", "content": "hi"}
        assert out["choices"][0]["logprobs"]["content"][0]["token"] == "HI"


def test_assignments_on_a_merged_completion(backend: ssedelta.Backend) -> None:
    completion = backend.merge([CHUNK])
    completion.system_fingerprint = "fp"
    completion.choices[0].message.refusal = None  # type: ignore[index, union-attr]
    completion.choices[0].message.content = "changed"  # type: ignore[index, union-attr]
    out = completion.to_dict()
    assert out["system_fingerprint"] == "fp"
    assert out["choices"][0]["message"] == {"role": "assistant", "content": "changed", "refusal": None}


def test_equality_ignores_which_keys_the_source_had(backend: ssedelta.Backend) -> None:
    """``==`` compares values: a ``null`` the source sent is no difference (the Model docstring)."""
    with_null = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x","model":null}')
    without = ssedelta.ChatCompletionChunk.from_json(b'{"id":"x"}')
    assert with_null == without
    assert with_null.to_dict() != without.to_dict()
    assert "``==`` compares the" in (models.Model.__doc__ or "")
    with_null.model = "m"
    assert with_null != without


# ---------------------------------------------------------------- int counts


def test_created_and_token_counts_are_annotated_int() -> None:
    for cls, names in [
        (models.ChatCompletionChunk, ["created"]),
        (models.ChatCompletion, ["created"]),
        (models.CompletionUsage, ["prompt_tokens", "completion_tokens", "total_tokens"]),
        (models.CompletionTokensDetails, ["reasoning_tokens", "audio_tokens"]),
        (models.PromptTokensDetails, ["cached_tokens"]),
    ]:
        hints = typing.get_type_hints(cls)
        for name in names:
            assert hints[name] == int | None, (cls.__name__, name)


def _usage_chunk(prompt_tokens: bytes, created: bytes = b"1700000000") -> bytes:
    return (
        b'data: {"id":"x","created":'
        + created
        + b',"choices":[],"usage":{"prompt_tokens":'
        + prompt_tokens
        + b',"completion_tokens":3,"total_tokens":15,'
        + b'"completion_tokens_details":{"reasoning_tokens":2.0}}}\n\n'
    )


def test_whole_numbered_floats_are_read_as_ints(backend: ssedelta.Backend) -> None:
    chunk = backend.ChunkDecoder().feed(_usage_chunk(b"12.0", b"1.7e9"))[0]
    assert chunk.created == 1_700_000_000 and type(chunk.created) is int
    assert chunk.usage.prompt_tokens == 12 and type(chunk.usage.prompt_tokens) is int
    assert type(chunk.usage.completion_tokens_details.reasoning_tokens) is int
    merged = backend.merge([_usage_chunk(b"12.0", b"1.7e9")])
    assert merged.created == 1_700_000_000 and type(merged.created) is int
    assert merged.usage.prompt_tokens == 12 and type(merged.usage.prompt_tokens) is int


@pytest.mark.parametrize(("prompt_tokens", "created"), [(b"12.5", b"1"), (b"12", b"1.5"), (b'"12"', b"1")])
def test_other_counts_are_typed_errors(
    backend: ssedelta.Backend, prompt_tokens: bytes, created: bytes
) -> None:
    data = _usage_chunk(prompt_tokens, created)
    with pytest.raises(ssedelta.InvalidChunkError) as decoded:
        backend.ChunkDecoder().feed(data)
    assert decoded.value.offset == 6
    with pytest.raises(ssedelta.InvalidChunkError) as merged:
        backend.merge([data])
    assert merged.value.offset == 6


def test_index_stays_strict(backend: ssedelta.Backend) -> None:
    with pytest.raises(ssedelta.InvalidChunkError):
        backend.ChunkDecoder().feed(b'data: {"id":"x","choices":[{"index":0.0,"delta":{}}]}\n\n')


@pytest.mark.parametrize("name", STREAMS)
def test_real_streams_decode_with_int_counts(backend: ssedelta.Backend, name: str) -> None:
    chunks = []
    try:
        for chunk in backend.iter_chunks([body(name)]):
            chunks.append(chunk)
    except ssedelta.UpstreamError:
        pass  # the streams that end with one
    assert chunks
    for chunk in chunks:
        assert chunk.created is None or type(chunk.created) is int
        if chunk.usage is not None:
            assert type(chunk.usage.total_tokens) in (int, type(None))


# ---------------------------------------------------------------- the official SDK's names

#: Our short name -> the official SDK's classes of that name (module, class).
SDK_NAMES: dict[str, list[tuple[str, str]]] = {
    "ChatCompletionChunk": [("chat_completion_chunk", "ChatCompletionChunk")],
    "ChatCompletion": [("chat_completion", "ChatCompletion")],
    "ChoiceDelta": [("chat_completion_chunk", "ChoiceDelta")],
    "ChoiceDeltaToolCall": [("chat_completion_chunk", "ChoiceDeltaToolCall")],
    "ChoiceDeltaToolCallFunction": [("chat_completion_chunk", "ChoiceDeltaToolCallFunction")],
    "ChoiceDeltaFunctionCall": [("chat_completion_chunk", "ChoiceDeltaFunctionCall")],
    "ChoiceDeltaAudio": [("chat_completion_chunk", "ChoiceDeltaAudio")],
    "ChoiceLogprobs": [("chat_completion_chunk", "ChoiceLogprobs"), ("chat_completion", "ChoiceLogprobs")],
    "TopLogprob": [("chat_completion_token_logprob", "TopLogprob")],
    "ChatCompletionTokenLogprob": [("chat_completion_token_logprob", "ChatCompletionTokenLogprob")],
    "ChatCompletionMessage": [("chat_completion_message", "ChatCompletionMessage")],
    "ChatCompletionMessageFunctionToolCall": [
        ("chat_completion_message_function_tool_call", "ChatCompletionMessageFunctionToolCall")
    ],
    "ChatCompletionMessageCustomToolCall": [
        ("chat_completion_message_custom_tool_call", "ChatCompletionMessageCustomToolCall")
    ],
    "ChatCompletionAudio": [("chat_completion_audio", "ChatCompletionAudio")],
    "CompletionUsage": [("..completion_usage", "CompletionUsage")],
    "CompletionTokensDetails": [("..completion_usage", "CompletionTokensDetails")],
    "PromptTokensDetails": [("..completion_usage", "PromptTokensDetails")],
}


def _sdk_class(module: str, name: str) -> Any:
    path = "openai.types." + module[2:] if module.startswith("..") else "openai.types.chat." + module
    return getattr(importlib.import_module(path), name)


@pytest.mark.parametrize("alias", sorted(SDK_NAMES))
def test_each_short_name_has_the_sdk_classes_fields(alias: str) -> None:
    ours = getattr(ssedelta, alias)
    for module, name in SDK_NAMES[alias]:
        sdk = _sdk_class(module, name)
        assert set(sdk.model_fields) <= set(ours._keys), (alias, module)


def test_every_short_name_is_checked() -> None:
    short = {name for name in models.__all__ if getattr(models, name).__name__ != name}
    assert short <= set(SDK_NAMES)


def test_choice_logprobs_of_chunks_and_completions(backend: ssedelta.Backend) -> None:
    chunk = backend.ChunkDecoder().feed(CHUNK)[0]
    completion = backend.merge([CHUNK])
    for logprobs in (chunk.choices[0].logprobs, completion.choices[0].logprobs):
        assert isinstance(logprobs, ssedelta.ChoiceLogprobs)
    assert isinstance(
        chunk.choices[0].logprobs, models.CreateChatCompletionStreamResponseChoicesInnerLogprobs
    )
    assert isinstance(completion.choices[0].logprobs, models.CreateChatCompletionResponseChoicesInnerLogprobs)
    assert completion.choices[0].logprobs.content == chunk.choices[0].logprobs.content
    assert ssedelta.ChoiceLogprobs(content=[]).to_dict() == {"content": [], "refusal": None}
