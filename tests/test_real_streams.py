"""ssedelta against the 42 real recorded streams of ``tests/data/real``.

1. Merging each whole stream gives exactly our expected result (``<name>.ssedelta.json``, derived from
   the official SDK's result by ``derive_expected.py``).
2. Every chunk round-trips losslessly and behaves as a slotted dataclass.
3. Cutting a stream anywhere (inside a CRLF, inside a UTF-8 character, one byte at a time) or changing
   its line ends changes neither the merged result nor the chunks.
4. ``snapshot()`` is valid at every moment and only ever grows towards the final content.
5. Each place where our expected result deliberately differs from the SDK's is named in a test
   ``test_<transformation>_differs_from_sdk``. It shows the SDK's value and ours on a stream where it
   applies.
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle
import random
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pytest

import ssedelta
from real_streams import (
    DIFFERENCES,
    STREAMS,
    body,
    derive_module,
    expected,
    is_upstream_error,
    line_ends,
    merge_result,
    payloads,
    sdk_result,
)
from ssedelta import models as m


def result(backend: Any, source: bytes | Iterable[bytes]) -> dict[str, Any]:
    return merge_result(backend.merge, source, ssedelta.UpstreamError)


def final_completion(name: str) -> dict[str, Any]:
    """Our expected completion, or the partial one of a stream that ends in an upstream error."""
    ours = expected(name)
    return ours["partial"] if is_upstream_error(ours) else ours


def collect(chunks: Iterator[Any]) -> tuple[list[Any], ssedelta.UpstreamError | None]:
    out: list[Any] = []
    try:
        for chunk in chunks:
            out.append(chunk)
    except ssedelta.UpstreamError as exc:
        return out, exc
    return out, None


def chunk_dicts(backend: Any, source: bytes | Iterable[bytes]) -> tuple[list[dict[str, Any]], Any]:
    chunks, error = collect(backend.iter_chunks(source))
    return [c.to_dict() for c in chunks], (None if error is None else error.error)


def test_every_stream_has_its_files() -> None:
    assert len(STREAMS) == 42
    assert sorted(DIFFERENCES) == STREAMS
    for name in STREAMS:
        assert sdk_result(name)
        assert expected(name)


# ---------------------------------------------------------------------------- 1. whole streams


@pytest.mark.parametrize("name", STREAMS)
def test_merge_matches_expected(backend: Any, name: str) -> None:
    assert result(backend, body(name)) == expected(name)


# ---------------------------------------------------------------------------- 2. chunk objects


def models_in(obj: Any) -> Iterator[m.Model]:
    """``obj`` and every model object inside it."""
    if isinstance(obj, m.Model):
        yield obj
        for f in dataclasses.fields(obj):
            yield from models_in(getattr(obj, f.name))
    elif isinstance(obj, list):
        for item in obj:
            yield from models_in(item)


@pytest.mark.parametrize("name", STREAMS)
def test_chunks_round_trip(backend: Any, name: str) -> None:
    texts = payloads(body(name))
    chunks, error = collect(backend.iter_chunks(body(name)))
    assert len(chunks) == len(texts)
    for chunk, text in zip(chunks, texts, strict=True):
        parsed = orjson.loads(text)
        decoded = m.CreateChatCompletionStreamResponse.from_json(text)
        assert decoded.to_dict() == parsed
        assert chunk.to_dict() == parsed
        assert chunk == decoded
        copied = pickle.loads(pickle.dumps(chunk))
        assert copied == chunk
        assert copied.to_dict() == parsed
        assert "CreateChatCompletionStreamResponse" in repr(chunk)
        assert {"id", "object", "created", "model", "choices"} <= {f.name for f in dataclasses.fields(chunk)}
        for obj in models_in(chunk):
            assert not hasattr(obj, "__dict__"), type(obj).__name__
            assert type(obj).__name__ in repr(obj)
    ours = expected(name)
    if is_upstream_error(ours):
        assert error is not None
        assert error.error == ours["error"]
    else:
        assert error is None


# ---------------------------------------------------------------------------- 3. cuts and line ends


def cut(data: bytes, points: Iterable[int]) -> list[bytes]:
    edges = [0, *sorted({p for p in points if 0 < p < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def sample(rng: random.Random, positions: list[int], k: int) -> list[int]:
    return rng.sample(positions, min(k, len(positions)))


def splits(name: str, variant: str) -> list[bytes]:
    """The pieces of stream ``name`` for one way of cutting it (seeded by the stream's name)."""
    rng = random.Random(f"{name}/{variant}")
    data = body(name)
    if variant == "random":
        return cut(data, (rng.randrange(1, len(data)) for _ in range(40)))
    if variant == "inside_crlf":
        data = line_ends(data, b"\r\n")
        inside = [match.start() + 1 for match in re.finditer(rb"\r\n", data)]
        return cut(data, sample(rng, inside, 80) + [rng.randrange(1, len(data)) for _ in range(10)])
    if variant == "inside_utf8":
        inside = [match.start() for match in re.finditer(rb"[\x80-\xbf]", data)]
        return cut(data, sample(rng, inside, 80) + [rng.randrange(1, len(data)) for _ in range(10)])
    if variant == "byte_at_a_time":
        return [data[i : i + 1] for i in range(len(data))]
    if variant == "crlf_whole":
        return [line_ends(data, b"\r\n")]
    if variant == "cr_whole":
        return [line_ends(data, b"\r")]
    raise ValueError(variant)


VARIANTS = ["random", "inside_crlf", "inside_utf8", "byte_at_a_time", "crlf_whole", "cr_whole"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", STREAMS)
def test_cuts_and_line_ends_change_nothing(backend: Any, name: str, variant: str) -> None:
    pieces = splits(name, variant)
    if variant in ("inside_crlf", "inside_utf8"):
        assert len(pieces) > 1
    assert result(backend, iter(pieces)) == result(backend, body(name))
    assert chunk_dicts(backend, iter(pieces)) == chunk_dicts(backend, body(name))


def test_cuts_really_fall_inside_crlf_and_utf8() -> None:
    """The cut variants do what they say on at least one stream each."""
    name = "pydantic-ai__hf_together_deepseek_r1_think_tags"
    crlf = splits(name, "inside_crlf")
    assert sum(a.endswith(b"\r") and b.startswith(b"\n") for a, b in itertools.pairwise(crlf)) >= 50
    utf8 = splits(name, "inside_utf8")
    assert sum(bool(b) and 0x80 <= b[0] < 0xC0 for b in utf8[1:]) >= 40


# ---------------------------------------------------------------------------- 4. snapshots


@pytest.mark.parametrize("name", STREAMS)
def test_snapshot_mid_stream(backend: Any, name: str) -> None:
    final = final_completion(name)
    final_choices = {c["index"]: c["message"] for c in final["choices"]}
    rng = random.Random(f"{name}/snapshot")
    data = body(name)
    pieces = cut(data, (rng.randrange(1, len(data)) for _ in range(150)))
    merger = backend.DeltaMerger()
    for i, piece in enumerate(pieces):
        merger.feed(piece)
        if i % 3:
            continue
        snapshot = merger.snapshot()
        assert isinstance(snapshot, m.CreateChatCompletionResponse)
        as_dict = snapshot.to_dict()
        assert m.CreateChatCompletionResponse.from_dict(as_dict).to_dict() == as_dict
        assert {"id", "object", "created", "model", "choices"} <= set(as_dict)
        assert as_dict["object"] == "chat.completion"
        for choice in snapshot.choices:
            assert isinstance(choice, m.CreateChatCompletionResponseChoicesInner)
            assert isinstance(choice.message, m.ChatCompletionResponseMessage)
            assert choice.finish_reason is None or isinstance(choice.finish_reason, str)
            assert isinstance(choice.message.role, str)
            final_message = final_choices[choice.index]
            for key in ("content", "refusal"):
                value = getattr(choice.message, key)
                if value is not None:
                    assert isinstance(value, str)
                    assert final_message[key].startswith(value)
    assert merger.snapshot().to_dict() == final
    ours = expected(name)
    if is_upstream_error(ours):
        with pytest.raises(ssedelta.UpstreamError) as info:
            merger.finish()
        assert info.value.error == ours["error"]
        assert info.value.partial.to_dict() == final
    else:
        assert merger.finish().to_dict() == final


@pytest.mark.parametrize("name", STREAMS)
def test_snapshot_is_not_changed_by_later_input(backend: Any, name: str) -> None:
    """A snapshot already returned keeps its value while the merger goes on."""
    data = body(name)
    step = max(1, len(data) // 40)
    merger = backend.DeltaMerger()
    taken = []
    for start in range(0, len(data), step):
        merger.feed(data[start : start + step])
        snapshot = merger.snapshot()
        taken.append((snapshot, orjson.dumps(snapshot.to_dict(), option=orjson.OPT_SORT_KEYS)))
    changed = [
        i
        for i, (s, before) in enumerate(taken)
        if orjson.dumps(s.to_dict(), option=orjson.OPT_SORT_KEYS) != before
    ]
    assert changed == []


# ---------------------------------------------------------------------------- 5. differences from the SDK


def test_expected_files_are_derived_from_the_sdk() -> None:
    """Each ``.ssedelta.json`` is what ``derive_expected.py`` makes of the SDK's result, and the table of
    transformations applied per stream is ``DIFFERENCES``; each transformation has its test below."""
    derive = derive_module()
    steps = [t.name for t in derive.SHAPE + derive.MERGE_RULES + derive.COVERAGE]
    used = set()
    for name in STREAMS:
        derived = derive.derive(name)
        assert derived.result == expected(name), name
        assert tuple(derived.applied) == DIFFERENCES[name], name
        used.update(derived.applied)
    assert used == set(steps)
    this = sys.modules[__name__]
    for step in steps:
        assert hasattr(this, f"test_{step}_differs_from_sdk"), step


def sdk_completion(name: str) -> dict[str, Any]:
    sdk = sdk_result(name)
    return sdk.get("partial_snapshot", sdk)  # type: ignore[no-any-return]


def test_drop_sdk_only_keys_differs_from_sdk(backend: Any) -> None:
    name = "openai-python__gpt4o_parallel_tool_calls"
    sdk, ours, got = sdk_completion(name), expected(name), result(backend, body(name))
    sdk_message, our_message = sdk["choices"][0]["message"], ours["choices"][0]["message"]
    assert sdk_message["parsed"] is None
    assert sdk_message["audio"] is None
    assert sdk_message["tool_calls"][1]["index"] == 1
    assert "parsed_arguments" in sdk_message["tool_calls"][1]["function"]
    assert {"parsed", "audio", "annotations", "function_call"}.isdisjoint(our_message)
    assert our_message["tool_calls"][1] == {
        "id": "call_DNYTawLBoN8fj3KN6qU9N1Ou",
        "type": "function",
        "function": {"name": "get_stock_price", "arguments": '{"ticker": "AAPL", "exchange": "NASDAQ"}'},
    }
    assert got["choices"][0]["message"] == our_message
    name = "vercel-ai__openai_gpt35_0613_legacy_function_call"
    sdk, ours, got = sdk_completion(name), expected(name), result(backend, body(name))
    assert sdk["system_fingerprint"] is None and sdk["usage"] is None
    assert "system_fingerprint" not in ours and "usage" not in ours
    assert got == ours


def test_required_keys_always_present_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__mistral_magistral_thinking_content_list"
    sdk, ours, got = sdk_completion(name), expected(name), result(backend, body(name))
    assert "logprobs" not in sdk["choices"][0]
    assert ours["choices"][0]["logprobs"] is None
    assert got["choices"][0]["logprobs"] is None
    name = "pydantic-ai__openrouter_web_search_annotations"
    sdk, ours, got = sdk_completion(name), expected(name), result(backend, body(name))
    assert "refusal" not in sdk["choices"][0]["message"] and "logprobs" not in sdk["choices"][0]
    assert ours["choices"][0]["message"]["refusal"] is None and ours["choices"][0]["logprobs"] is None
    assert got["choices"][0]["message"]["refusal"] is None and got["choices"][0]["logprobs"] is None


def test_tool_call_type_defaults_to_function_differs_from_sdk(backend: Any) -> None:
    name = "semantic-kernel__mistral_tool_call_without_index"
    sdk_call = sdk_completion(name)["choices"][0]["message"]["tool_calls"][0]
    our_call = expected(name)["choices"][0]["message"]["tool_calls"][0]
    got_call = result(backend, body(name))["choices"][0]["message"]["tool_calls"][0]
    assert "type" not in sdk_call and "id" not in sdk_call
    assert our_call["type"] == "function" and our_call["id"] is None
    assert got_call == our_call


def test_role_defaults_to_assistant_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__groq_compound_executed_tools"
    assert sdk_completion(name)["choices"][0]["message"]["role"] is None
    assert expected(name)["choices"][0]["message"]["role"] == "assistant"
    assert result(backend, body(name))["choices"][0]["message"]["role"] == "assistant"


def test_length_is_not_an_error_differs_from_sdk(backend: Any) -> None:
    name = "openai-python__gpt4o_finish_length_max_tokens"
    sdk = sdk_result(name)
    assert sdk["error"]["type"] == "openai.LengthFinishReasonError"
    ours = expected(name)
    assert not is_upstream_error(ours)
    assert ours["choices"][0]["finish_reason"] == "length"
    assert (
        ours["choices"][0]["message"]["content"]
        == sdk["partial_snapshot"]["choices"][0]["message"]["content"]
    )
    completion = backend.merge(body(name))
    assert completion.choices[0].finish_reason == "length"
    assert completion.to_dict() == ours


def test_role_set_once_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__hf_together_deepseek_r1_think_tags"
    assert sdk_completion(name)["choices"][0]["message"]["role"] == "assistant" * 955
    assert expected(name)["choices"][0]["message"]["role"] == "assistant"
    assert result(backend, body(name))["choices"][0]["message"]["role"] == "assistant"
    name = "pydantic-ai__openrouter_claude_reasoning_details"
    assert sdk_completion(name)["choices"][0]["message"]["role"] == "assistant" * 14
    assert result(backend, body(name))["choices"][0]["message"]["role"] == "assistant"


def test_new_tool_id_starts_new_call_differs_from_sdk(backend: Any) -> None:
    name = "vercel-ai__cerebras_glm_reasoning_tool_call"
    [sdk_call] = sdk_completion(name)["choices"][0]["message"]["tool_calls"]
    assert sdk_call["id"] == "bbd2b9d98e0ecf32e0"
    assert sdk_call["function"]["name"] == "nonUsefulToolnonUsefulTool"
    assert sdk_call["function"]["arguments"] == "{}{}"
    calls = [
        {"id": "bbd2b9d98", "type": "function", "function": {"name": "nonUsefulTool", "arguments": "{}"}},
        {"id": "e0ecf32e0", "type": "function", "function": {"name": "nonUsefulTool", "arguments": "{}"}},
    ]
    assert expected(name)["choices"][0]["message"]["tool_calls"] == calls
    assert result(backend, body(name))["choices"][0]["message"]["tool_calls"] == calls


def test_usage_last_non_null_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__openai_gpt5_moderation_chunk"
    sdk, ours = sdk_completion(name), expected(name)
    assert sdk["usage"] is None
    assert (
        ours["usage"]["total_tokens"] == ours["usage"]["prompt_tokens"] + ours["usage"]["completion_tokens"]
    )
    assert result(backend, body(name))["usage"] == ours["usage"]


def test_groq_usage_fallback_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__groq_compound_executed_tools"
    sdk, ours = sdk_completion(name), expected(name)
    assert sdk["usage"] is None
    assert "x_groq" not in sdk
    assert ours["usage"] == ours["x_groq"]["usage"]
    assert ours["usage"]["total_tokens"] == 5362
    got = result(backend, body(name))
    assert got["usage"] == ours["usage"]
    assert got["x_groq"] == ours["x_groq"]


def test_provider_keys_last_non_null_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__openrouter_claude_reasoning_details"
    assert sdk_completion(name)["choices"][0]["native_finish_reason"] is None
    assert expected(name)["choices"][0]["native_finish_reason"] == "stop"
    assert result(backend, body(name))["choices"][0]["native_finish_reason"] == "stop"
    name = "pydantic-ai__hf_novita_llama_sla_metrics"
    assert sdk_completion(name)["sla_metrics"] == {"ts_us": 1786507380308596, "ttft_ms": 274}
    assert expected(name)["sla_metrics"] == {"ts_us": 1786507380313763, "ttft_ms": 274}
    assert result(backend, body(name))["sla_metrics"] == expected(name)["sla_metrics"]
    name = "pydantic-ai__crusoe_vllm_llama_usage"  # choice keys first sent after the first chunk
    assert {"stop_reason", "token_ids"}.isdisjoint(sdk_completion(name)["choices"][0])
    got_choice = result(backend, body(name))["choices"][0]
    assert got_choice["stop_reason"] is None and got_choice["token_ids"] is None


def test_delta_scalar_keys_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__groq_gpt_oss_reasoning_tool_call"
    assert sdk_completion(name)["choices"][0]["message"]["channel"] == "analysis" * 22
    assert expected(name)["choices"][0]["message"]["channel"] == "analysis"
    assert result(backend, body(name))["choices"][0]["message"]["channel"] == "analysis"
    name = "pydantic-ai__openrouter_claude_reasoning_details"
    [sdk_detail] = sdk_completion(name)["choices"][0]["message"]["reasoning_details"]
    [our_detail] = expected(name)["choices"][0]["message"]["reasoning_details"]
    assert sdk_detail["format"] == "anthropic-claude-v1" * 6
    assert our_detail["format"] == "anthropic-claude-v1"
    assert our_detail["text"] == sdk_detail["text"] == "This is a simple arithmetic question. 2+2 equals 4."
    assert result(backend, body(name))["choices"][0]["message"]["reasoning_details"] == [our_detail]


def test_delta_numbers_last_value_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__hf_together_deepseek_r1_think_tags"
    assert sdk_completion(name)["choices"][0]["message"]["token_id"] == 11117656
    assert expected(name)["choices"][0]["message"]["token_id"] == 1
    assert result(backend, body(name))["choices"][0]["message"]["token_id"] == 1


def test_executed_tools_appended_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__groq_compound_executed_tools"
    query = '{"query": "What is the weather in San Francisco today?"}'
    [sdk_tool] = sdk_completion(name)["choices"][0]["message"]["executed_tools"]
    assert sdk_tool["arguments"] == query + query
    ours = expected(name)["choices"][0]["message"]["executed_tools"]
    assert [tool["arguments"] for tool in ours] == [query, query]
    assert ours[0]["search_results"] == {"results": []}
    assert "output" in ours[1] and len(ours[1]["search_results"]["results"]) == 16
    assert result(backend, body(name))["choices"][0]["message"]["executed_tools"] == ours


def test_content_parts_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__mistral_magistral_thinking_content_list"
    sdk_message = sdk_completion(name)["choices"][0]["message"]
    our_message = expected(name)["choices"][0]["message"]
    assert "content_parts" not in sdk_message
    assert our_message["content"] == sdk_message["content"]
    [part] = our_message["content_parts"]
    assert part["type"] == "thinking"
    [thought] = part["thinking"]
    assert thought["type"] == "text"
    assert thought["text"].startswith("Okay, the user is asking how to cross the street.")
    assert (
        result(backend, body(name))["choices"][0]["message"]["content_parts"] == our_message["content_parts"]
    )


def test_azure_filter_chunks_kept_differs_from_sdk(backend: Any) -> None:
    name = "semantic-kernel__azure_gpt4o_async_content_filter"
    sdk, ours, got = sdk_completion(name), expected(name), result(backend, body(name))
    assert "prompt_filter_results" not in sdk
    assert "content_filter_results" not in sdk["choices"][0]
    assert ours["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    # the last of the two asynchronous-filter annotations wins; neither erases id, model or created
    assert set(ours["choices"][0]["content_filter_results"]) == {
        "protected_material_code",
        "protected_material_text",
    }
    assert ours["choices"][0]["content_filter_offsets"]["end_offset"] == 2318
    assert (ours["id"], ours["model"], ours["created"]) == (sdk["id"], sdk["model"], sdk["created"])
    assert got == ours


def test_chunks_without_choices_differs_from_sdk(backend: Any) -> None:
    name = "openai-dotnet__gpt_audio_15_audio_output"
    sdk = sdk_result(name)
    assert sdk["error"]["type"] == "builtins.TypeError"
    sdk_audio = sdk["partial_snapshot"]["choices"][0]["message"]["audio"]
    assert sdk_audio == {"id": "audio_6a233a4333a0819190c8b8082b1fb038", "transcript": "Hello"}
    ours = expected(name)
    audio = ours["choices"][0]["message"]["audio"]
    assert audio["id"] == sdk_audio["id"] and audio["transcript"] == "Hello"
    assert audio["expires_at"] == 1780697172 and len(audio["data"]) > 10_000
    assert ours["usage"]["completion_tokens_details"]["audio_tokens"] == 11
    assert result(backend, body(name)) == ours


def test_tool_calls_without_index_differs_from_sdk(backend: Any) -> None:
    name = "semantic-kernel__mistral_tool_call_without_index"
    sdk = sdk_result(name)
    assert sdk["error"]["type"] == "builtins.TypeError"
    assert "usage" not in sdk["partial_snapshot"]
    ours = expected(name)
    assert ours["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "WeatherPlugin-GetWeather"
    assert ours["usage"] == {"prompt_tokens": 118, "total_tokens": 149, "completion_tokens": 31}
    assert result(backend, body(name)) == ours


def test_annotations_appended_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__openrouter_web_search_annotations"
    sdk = sdk_result(name)
    assert sdk["error"]["type"] == "builtins.RuntimeError"
    assert len(sdk["partial_snapshot"]["choices"][0]["message"]["annotations"]) == 1
    ours = expected(name)
    annotations = ours["choices"][0]["message"]["annotations"]
    assert [a["url_citation"]["url"] for a in annotations] == [
        "https://github.com/pydantic/pydantic-ai",
        "https://pydantic.dev/pydantic-ai",
        "https://github.com/pydantic/pydantic-ai/releases/tag/v2.0.0",
        "https://pydantic.dev/docs/ai/overview/",
        "https://github.com/pydantic/pydantic-ai/tree/refs/tags/v1.44.0",
    ]
    assert result(backend, body(name))["choices"][0]["message"]["annotations"] == annotations


def test_upstream_error_chunk_merged_differs_from_sdk(backend: Any) -> None:
    name = "pydantic-ai__openrouter_minimax_error_chunk"
    sdk = sdk_result(name)
    assert sdk["error"]["type"] == "openai.APIError"
    assert sdk["partial_snapshot"]["usage"] is None
    ours = expected(name)
    assert ours["error"] == sdk["error"]["body"] == {"code": 400, "message": "Token limit reached"}
    assert ours["partial"]["usage"]["total_tokens"] == 53
    assert ours["partial"]["error"] == ours["error"]
    assert result(backend, body(name)) == ours
    name = "pydantic-ai__groq_gpt_oss_event_error_tool_use_failed"
    sdk = sdk_result(name)
    ours = expected(name)
    assert ours["error"] == sdk["error"]["body"]
    assert "error" not in sdk["partial_snapshot"]
    assert ours["partial"]["error"] == ours["error"]
    assert result(backend, body(name)) == ours
