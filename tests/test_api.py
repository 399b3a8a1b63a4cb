"""The public API surface: sources, async, httpx, backend selection, aliases, models, events."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import pickle
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import ssedelta
from ssedelta import models as m

HEAD = {"id": "chatcmpl-api", "object": "chat.completion.chunk", "created": 1700000001, "model": "gpt-4o"}
CHUNKS = [
    {
        **HEAD,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    },
    {
        **HEAD,
        "choices": [{"index": 0, "delta": {"content": "Grüße, "}, "logprobs": None, "finish_reason": None}],
    },
    {
        **HEAD,
        "choices": [{"index": 0, "delta": {"content": "𝄞 world"}, "logprobs": None, "finish_reason": None}],
    },
    {**HEAD, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]},
    {**HEAD, "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}},
]
STREAM = (
    b"".join(b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n" for c in CHUNKS)
    + b"data: [DONE]\n\n"
)
EXPECTED = {
    "id": "chatcmpl-api",
    "object": "chat.completion",
    "created": 1700000001,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Grüße, 𝄞 world", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
}


def pieces(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def byte_gen() -> Iterator[bytes]:
    yield from pieces(STREAM)


def str_gen() -> Iterator[str]:
    text = STREAM.decode()
    for i in range(0, len(text), 5):
        yield text[i : i + 5]


def sources(tmp_path: Any) -> dict[str, Any]:
    path = tmp_path / "stream.sse"
    path.write_bytes(STREAM)
    return {
        "bytes": lambda: STREAM,
        "bytearray": lambda: bytearray(STREAM),
        "memoryview": lambda: memoryview(STREAM),
        "str": lambda: STREAM.decode(),
        "BytesIO": lambda: io.BytesIO(STREAM),
        "file": lambda: path.open("rb"),
        "list of bytes": lambda: pieces(STREAM),
        "tuple of bytes": lambda: tuple(pieces(STREAM, 3)),
        "generator of bytes": byte_gen,
        "generator of str": str_gen,
    }


# ------------------------------------------------------------------ sources


def test_merge_accepts_every_kind_of_source(backend, tmp_path):
    for name, make in sources(tmp_path).items():
        source = make()
        try:
            assert backend.merge(source).to_dict() == EXPECTED, name
        finally:
            if hasattr(source, "close"):
                source.close()


def test_iter_chunks_accepts_every_kind_of_source(backend, tmp_path):
    for name, make in sources(tmp_path).items():
        source = make()
        try:
            chunks = list(backend.iter_chunks(source))
        finally:
            if hasattr(source, "close"):
                source.close()
        assert [c.to_dict() for c in chunks] == CHUNKS, name
        assert all(isinstance(c, ssedelta.ChatCompletionChunk) for c in chunks)


def test_iter_chunks_is_lazy(backend):
    pulled = []

    def source() -> Iterator[bytes]:
        for i, c in enumerate(CHUNKS):
            pulled.append(i)
            yield b"data: " + json.dumps(c).encode() + b"\n\n"

    it = backend.iter_chunks(source())
    first = next(it)
    assert first.choices[0].delta.role == "assistant"
    assert pulled == [0]
    assert len(list(it)) == len(CHUNKS) - 1


def test_empty_source(backend):
    result = backend.merge(b"")
    assert result.choices == []
    assert result.to_dict() == {
        "id": None,
        "object": "chat.completion",
        "created": None,
        "model": None,
        "choices": [],
    }
    assert list(backend.iter_chunks([])) == []


def test_top_level_functions_use_the_selected_backend(tmp_path):
    assert ssedelta.merge(STREAM).to_dict() == EXPECTED
    assert [c.to_dict() for c in ssedelta.iter_chunks(io.BytesIO(STREAM))] == CHUNKS
    assert asyncio.run(ssedelta.amerge(STREAM)).to_dict() == EXPECTED
    selected = ssedelta.get_backend(ssedelta.BACKEND)
    assert ssedelta.DeltaMerger is selected.DeltaMerger
    assert ssedelta.ChunkDecoder is selected.ChunkDecoder
    assert ssedelta.SSEDecoder is selected.SSEDecoder


def test_chat_package_holds_the_top_level_names(backend):
    from ssedelta import chat

    for name in ("merge", "amerge", "iter_chunks", "aiter_chunks", "DeltaMerger", "ChunkDecoder", "models"):
        assert getattr(ssedelta, name) is getattr(chat, name)
    assert ssedelta.CreateChatCompletionResponse is chat.models.CreateChatCompletionResponse
    assert chat.merge(STREAM, backend=backend).to_dict() == EXPECTED
    assert [c.to_dict() for c in chat.iter_chunks(STREAM, backend=backend)] == CHUNKS
    assert asyncio.run(chat.amerge(STREAM, backend=backend)).to_dict() == EXPECTED


def test_backend_name():
    assert ssedelta.BACKEND in ("native", "python")
    if ssedelta.NO_EXTENSIONS:
        assert ssedelta.BACKEND == "python"
    assert ssedelta.get_backend("python").name == "python"
    with pytest.raises(ValueError):
        ssedelta.get_backend("rust")


# ------------------------------------------------------------------ async


async def agen_bytes() -> AsyncIterator[bytes]:
    for piece in pieces(STREAM, 11):
        await asyncio.sleep(0)
        yield piece


async def agen_str() -> AsyncIterator[str]:
    text = STREAM.decode()
    for i in range(0, len(text), 4):
        yield text[i : i + 4]


def test_amerge_accepts_async_generators_and_plain_bytes(backend):
    async def run() -> list[dict[str, Any]]:
        return [
            (await backend.amerge(agen_bytes())).to_dict(),
            (await backend.amerge(agen_str())).to_dict(),
            (await backend.amerge(STREAM)).to_dict(),
            (await backend.amerge(pieces(STREAM))).to_dict(),
        ]

    assert asyncio.run(run()) == [EXPECTED] * 4


def test_aiter_chunks_accepts_async_generators_and_plain_bytes(backend):
    async def collect(source: Any) -> list[dict[str, Any]]:
        return [c.to_dict() async for c in backend.aiter_chunks(source)]

    async def run() -> list[list[dict[str, Any]]]:
        return [await collect(agen_bytes()), await collect(agen_str()), await collect(STREAM)]

    assert asyncio.run(run()) == [CHUNKS] * 3


def test_amerge_stops_reading_at_done(backend):
    pulled = []

    async def source() -> AsyncIterator[bytes]:
        pulled.append(1)
        yield STREAM
        pulled.append(2)
        raise AssertionError("read past [DONE]")

    assert asyncio.run(backend.amerge(source())).to_dict() == EXPECTED
    assert pulled == [1]


# ------------------------------------------------------------------ httpx


def test_httpx_response_iter_raw(backend):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(pieces(STREAM, 13))
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with client.stream("POST", "https://api.example/v1/chat/completions") as response:
            assert backend.merge(response.iter_raw()).to_dict() == EXPECTED
        with client.stream("POST", "https://api.example/v1/chat/completions") as response:
            assert [c.to_dict() for c in backend.iter_chunks(response.iter_raw())] == CHUNKS


def test_httpx_response_aiter_raw(backend):
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces(STREAM, 13):
            yield piece

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            async with client.stream("POST", "https://api.example/v1/chat/completions") as response:
                merged = (await backend.amerge(response.aiter_raw())).to_dict()
            async with client.stream("POST", "https://api.example/v1/chat/completions") as response:
                chunks = [c.to_dict() async for c in backend.aiter_chunks(response.aiter_raw())]
        return merged, chunks

    assert asyncio.run(run()) == (EXPECTED, CHUNKS)


# ------------------------------------------------------------------ incremental classes


def test_delta_merger_feed_snapshot_finish(backend):
    merger = backend.DeltaMerger()
    for piece in pieces(STREAM, 1):
        merger.feed(piece)
        merger.snapshot()
    assert merger.finish().to_dict() == EXPECTED


def test_chunk_decoder_feed_close(backend):
    decoder = backend.ChunkDecoder()
    got = []
    for piece in pieces(STREAM, 3):
        got += decoder.feed(piece)
    got += decoder.close()
    assert [c.to_dict() for c in got] == CHUNKS


def test_add_accepts_chunk_objects_and_dicts(backend):
    merger = backend.DeltaMerger()
    for i, c in enumerate(CHUNKS):
        merger.add(m.ChatCompletionChunk.from_dict(c) if i % 2 else c)
    assert merger.finish().to_dict() == EXPECTED


# ------------------------------------------------------------------ aliases


def test_sdk_short_aliases():
    assert ssedelta.ChatCompletionChunk is ssedelta.CreateChatCompletionStreamResponse
    assert ssedelta.ChatCompletion is ssedelta.CreateChatCompletionResponse
    assert m.ChatCompletionChunk is m.CreateChatCompletionStreamResponse
    assert m.ChatCompletion is m.CreateChatCompletionResponse
    assert m.ChoiceDelta is m.ChatCompletionStreamResponseDelta
    assert m.ChoiceDeltaToolCall is m.ChatCompletionMessageToolCallChunk
    assert m.ChatCompletionMessage is m.ChatCompletionResponseMessage
    for name in (
        "CreateChatCompletionStreamResponseChoicesInner",
        "ChatCompletionStreamResponseDelta",
        "ChatCompletionMessageToolCallChunk",
        "ChatCompletionTokenLogprob",
        "CompletionUsage",
        "ChatCompletionResponseMessage",
        "ChatCompletionMessageToolCall",
    ):
        assert getattr(ssedelta, name) is getattr(m, name)


def test_merged_result_types(backend):
    result = backend.merge(STREAM)
    assert type(result) is m.CreateChatCompletionResponse
    assert type(result.choices[0]) is m.CreateChatCompletionResponseChoicesInner
    assert type(result.choices[0].message) is m.ChatCompletionResponseMessage
    assert type(result.usage) is m.CompletionUsage


# ------------------------------------------------------------------ models

RICH_CHUNK = {
    "id": "chatcmpl-r",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "system_fingerprint": None,
    "x_top": {"a": [1, 2]},
    "choices": [
        {
            "index": 0,
            "delta": {
                "role": "assistant",
                "content": None,
                "reasoning_content": "hm",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": "", "x_fn": True},
                        "extra_content": {"google": {"thought_signature": "sig"}},
                    }
                ],
            },
            "logprobs": {
                "content": [
                    {
                        "token": "a",
                        "logprob": -0.5,
                        "bytes": [97],
                        "top_logprobs": [{"token": "a", "logprob": -0.5, "bytes": None, "x_top_lp": 1}],
                        "x_lp": "y",
                    }
                ],
                "refusal": None,
                "x_lps": 0,
            },
            "finish_reason": None,
            "content_filter_results": {"hate": {"filtered": False}},
        }
    ],
    "usage": {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "completion_tokens_details": {"reasoning_tokens": 1, "x_ctd": 9},
        "prompt_tokens_details": {"cached_tokens": 0, "x_ptd": 8},
        "cost": 0.25,
    },
}


def test_chunk_json_and_dict_round_trips():
    text = json.dumps(RICH_CHUNK)
    chunk = m.ChatCompletionChunk.from_json(text)
    assert chunk.to_dict() == RICH_CHUNK
    assert json.loads(chunk.to_json()) == RICH_CHUNK
    assert m.ChatCompletionChunk.from_json(text.encode()).to_dict() == RICH_CHUNK
    assert m.ChatCompletionChunk.from_dict(RICH_CHUNK).to_dict() == RICH_CHUNK
    assert m.ChatCompletionChunk.from_dict(RICH_CHUNK) == chunk
    assert m.ChatCompletionChunk.from_json(chunk.to_json()) == chunk


def test_unknown_keys_kept_in_extras_at_every_level():
    chunk = m.ChatCompletionChunk.from_dict(RICH_CHUNK)
    assert chunk.extras == {"x_top": {"a": [1, 2]}}
    c = chunk.choices[0]
    assert c.extras == {"content_filter_results": {"hate": {"filtered": False}}}
    assert c.delta.extras == {"reasoning_content": "hm"}
    call = c.delta.tool_calls[0]
    assert call.extras == {"extra_content": {"google": {"thought_signature": "sig"}}}
    assert call.function.extras == {"x_fn": True}
    assert (call.index, call.id, call.type, call.function.name, call.function.arguments) == (
        0,
        "c",
        "function",
        "f",
        "",
    )
    assert c.logprobs.extras == {"x_lps": 0}
    token = c.logprobs.content[0]
    assert token.extras == {"x_lp": "y"}
    assert (token.token, token.logprob, token.bytes) == ("a", -0.5, [97])
    assert token.top_logprobs[0].extras == {"x_top_lp": 1}
    usage = chunk.usage
    assert usage.extras == {"cost": 0.25}
    assert usage.completion_tokens_details.extras == {"x_ctd": 9}
    assert usage.prompt_tokens_details.extras == {"x_ptd": 8}
    assert usage.completion_tokens_details.reasoning_tokens == 1


def test_none_and_absent_keys_are_preserved():
    with_nulls = {**HEAD, "choices": [], "usage": None, "service_tier": None, "system_fingerprint": None}
    without = {**HEAD, "choices": []}
    assert m.ChatCompletionChunk.from_dict(with_nulls).to_dict() == with_nulls
    assert m.ChatCompletionChunk.from_dict(without).to_dict() == without
    delta = {"content": None}
    assert m.ChoiceDelta.from_dict(delta).to_dict() == delta
    assert m.ChoiceDelta.from_dict({}).to_dict() == {}
    minimal_choice = {"index": 2, "delta": {}}
    assert (
        m.CreateChatCompletionStreamResponseChoicesInner.from_dict(minimal_choice).to_dict() == minimal_choice
    )


def test_models_built_in_code_emit_required_keys_and_set_optional_ones():
    message = m.ChatCompletionResponseMessage(role="assistant", content="x")
    assert message.to_dict() == {"role": "assistant", "content": "x", "refusal": None}
    usage = m.CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    assert usage.to_dict() == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    call = m.ChatCompletionMessageToolCall(
        id="c", type="function", function=m.ChatCompletionMessageToolCallFunction(name="f", arguments="{}")
    )
    assert call.to_dict() == {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    message = m.ChatCompletionResponseMessage(
        role="assistant", content=None, tool_calls=[call], extras={"k": 1}
    )
    assert message.to_dict() == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [call.to_dict()],
        "k": 1,
    }


FINAL = {
    "id": "chatcmpl-f",
    "object": "chat.completion",
    "created": 9,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                "reasoning_content": "r",
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
            "stop_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    "service_tier": "default",
    "prompt_filter_results": [],
}


def test_completion_round_trips():
    completion = m.ChatCompletion.from_dict(FINAL)
    assert completion.to_dict() == FINAL
    assert json.loads(completion.to_json()) == FINAL
    assert m.ChatCompletion.from_json(json.dumps(FINAL)) == completion
    assert completion.choices[0].message.tool_calls[0].function.name == "f"
    assert completion.choices[0].message.extras == {"reasoning_content": "r"}
    assert completion.choices[0].extras == {"stop_reason": None}
    assert completion.extras == {"prompt_filter_results": []}


def test_models_are_slotted_dataclasses():
    chunk = m.ChatCompletionChunk.from_dict(RICH_CHUNK)
    completion = m.ChatCompletion.from_dict(FINAL)
    for obj in (
        chunk,
        chunk.choices[0],
        chunk.choices[0].delta,
        chunk.choices[0].delta.tool_calls[0],
        chunk.usage,
        completion,
        completion.choices[0].message,
    ):
        assert dataclasses.is_dataclass(obj)
        assert not hasattr(obj, "__dict__")
        with pytest.raises(AttributeError):
            obj.no_such_attribute = 1
    names = [f.name for f in dataclasses.fields(m.ChatCompletionChunk)]
    for key in (
        "id",
        "object",
        "created",
        "model",
        "choices",
        "service_tier",
        "system_fingerprint",
        "usage",
        "extras",
    ):
        assert key in names
    names = [f.name for f in dataclasses.fields(m.ChatCompletionStreamResponseDelta)]
    for key in ("role", "content", "refusal", "tool_calls", "extras"):
        assert key in names
    names = [f.name for f in dataclasses.fields(m.ChatCompletionResponseMessage)]
    for key in ("role", "content", "refusal", "tool_calls", "extras"):
        assert key in names


def test_models_pickle_equality_and_repr():
    chunk = m.ChatCompletionChunk.from_dict(RICH_CHUNK)
    copy = pickle.loads(pickle.dumps(chunk))
    assert copy == chunk
    assert copy.to_dict() == RICH_CHUNK
    other = m.ChatCompletionChunk.from_dict({**RICH_CHUNK, "model": "other"})
    assert other != chunk
    assert m.ChatCompletionChunk.from_dict({**RICH_CHUNK, "x_top": 2}) != chunk
    text = repr(chunk)
    assert text.startswith("CreateChatCompletionStreamResponse(")
    assert "id='chatcmpl-r'" in text
    assert "reasoning_content" in text
    completion = m.ChatCompletion.from_dict(FINAL)
    assert pickle.loads(pickle.dumps(completion)) == completion
    assert pickle.loads(pickle.dumps(completion)).to_dict() == FINAL


def test_merged_completion_pickles_and_compares(backend):
    result = backend.merge(STREAM)
    assert pickle.loads(pickle.dumps(result)) == result
    assert pickle.loads(pickle.dumps(result)).to_dict() == EXPECTED
    assert backend.merge(pieces(STREAM, 2)) == result
    assert "Grüße" in repr(result)


def test_chunk_attribute_access_matches_the_sdk(backend):
    chunks = list(backend.iter_chunks(STREAM))
    assert chunks[1].choices[0].delta.content == "Grüße, "
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[3].choices[0].finish_reason == "stop"
    assert chunks[4].usage.total_tokens == 5
    assert chunks[4].choices == []


def test_schema_errors_are_value_errors():
    with pytest.raises(ValueError):
        m.ChatCompletionChunk.from_dict({**HEAD, "choices": {}})
    with pytest.raises(ValueError):
        m.ChatCompletionChunk.from_dict([])


# ------------------------------------------------------------------ ServerSentEvent


def test_server_sent_event_attributes(backend):
    stream = (
        b"event: ping\n\n"  # no data line: not dispatched
        b": note\n"
        b"event: delta\nid: 7\nretry: 100\ndata: a\ndata:b\n\n"
        b"data: \xffc\r\n\r\n"
        b"id: 8\ndata\n\n"
    )
    decoder = backend.SSEDecoder()
    events = []
    for piece in pieces(stream, 5):
        events += decoder.feed(piece)
    events += decoder.close()
    assert len(events) == 3
    first, second, third = events
    assert all(isinstance(e, ssedelta.ServerSentEvent) for e in events)
    assert (first.event, first.data, first.id, first.retry) == ("delta", "a\nb", "7", 100)
    assert first.raw == b": note\nevent: delta\nid: 7\nretry: 100\ndata: a\ndata:b\n\n"
    assert first.payload == b"a\nb"
    assert first.offset == len(b"event: ping\n\n")
    assert (second.event, second.data, second.id) == (None, "\ufffdc", "7")
    assert second.payload == b"\xffc"
    assert second.raw == b"data: \xffc\r\n\r\n"
    assert (third.event, third.data, third.id) == (None, "", "8")
    assert third.raw == b"id: 8\ndata\n\n"
    assert b"".join(e.raw for e in events) == stream[len(b"event: ping\n\n") :]


def test_server_sent_event_json_equality_and_pickle(backend):
    (ev,) = backend.SSEDecoder().feed(b'data: {"a": [1, "\xc3\xa9"]}\n\n')
    assert ev.json() == {"a": [1, "é"]}
    assert ev.data == '{"a": [1, "é"]}'
    copy = pickle.loads(pickle.dumps(ev))
    assert copy == ev
    assert (copy.event, copy.data, copy.id, copy.retry, copy.raw) == (
        ev.event,
        ev.data,
        ev.id,
        ev.retry,
        ev.raw,
    )
    assert "ServerSentEvent" in repr(ev)
    (other,) = backend.SSEDecoder().feed(b"data: x\n\n")
    assert other != ev


def test_sse_decoder_discards_unterminated_event_and_caps_size(backend):
    decoder = backend.SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: a\n\ndata: b")] == ["a"]
    assert decoder.close() == []
    small = backend.SSEDecoder(max_event_size=64)
    with pytest.raises(ssedelta.EventTooLargeError):
        small.feed(b"data: " + b"x" * 200 + b"\n\n")


def test_backend_results_equal_the_python_twin(backend):
    twin = ssedelta.get_backend("python")
    stream = STREAM.replace(b'"delta": {}', b'"delta": {}, "x_choice": 1', 1)
    assert backend.merge(stream) == twin.merge(stream)
    assert backend.merge(stream).to_dict() == twin.merge(stream).to_dict()
    assert list(backend.iter_chunks(stream)) == list(twin.iter_chunks(stream))
    assert backend.SSEDecoder().feed(stream) == twin.SSEDecoder().feed(stream)


def test_a_merger_is_freed_without_the_cycle_collector(backend):
    import gc
    import weakref

    merger = backend.DeltaMerger()
    merger.feed(b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n')
    ref = weakref.ref(merger)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del merger
        assert ref() is None
    finally:
        if enabled:
            gc.enable()
