"""One focused test per rule of DESIGN.md "Merge semantics", on small hand-written streams.

Every expected value is derived from the rule and the stream built in the test.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import ssedelta

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-x"}


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A chunk with the usual header, the given choices and extra top-level keys."""
    out: dict[str, Any] = dict(HEAD)
    out["choices"] = list(choices)
    out.update(top)
    return out


def choice(index: int = 0, finish_reason: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def event(obj: Any, event_name: str | None = None) -> bytes:
    head = f"event: {event_name}\n".encode() if event_name else b""
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return head + b"data: " + body + b"\n\n"


def sse(*items: Any, done: bool = True) -> bytes:
    """SSE bytes: dicts become ``data:`` events, bytes are copied as they are."""
    out = b"".join(item if isinstance(item, bytes) else event(item) for item in items)
    return out + (b"data: [DONE]\n\n" if done else b"")


def msg(result: Any, i: int = 0) -> dict[str, Any]:
    return result.choices[i].message.to_dict()


def tool(id: Any, name: Any, arguments: str) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tc(**kw: Any) -> dict[str, Any]:
    """A tool-call fragment: ``tc(index=0, id="c", name="f", arguments="{")``."""
    out: dict[str, Any] = {}
    for key in ("index", "id", "type"):
        if key in kw:
            out[key] = kw.pop(key)
    if kw:
        out["function"] = kw
    return out


# ------------------------------------------------------------------ choices


def test_choices_keyed_by_index_sorted_whatever_the_order_of_first_appearance(backend):
    stream = sse(
        chunk(choice(0, role="assistant", content="A")),
        chunk(choice(2, role="assistant", content="C")),
        chunk(choice(1, role="assistant", content="B")),
        chunk(choice(2, content="c")),
        chunk(choice(0, content="a")),
        chunk(choice(1, content="b", finish_reason="stop")),
    )
    result = backend.merge(stream)
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert [c.message.content for c in result.choices] == ["Aa", "Bb", "Cc"]
    assert [c.finish_reason for c in result.choices] == [None, "stop", None]


def test_choice_first_appearing_without_index_zero(backend):
    stream = sse(chunk(choice(3, role="assistant", content="x")), chunk(choice(1, content="y")))
    result = backend.merge(stream)
    assert [c.index for c in result.choices] == [1, 3]
    assert [c.message.content for c in result.choices] == ["y", "x"]


def test_several_choices_in_one_chunk(backend):
    stream = sse(
        chunk(choice(1, content="b1"), choice(0, content="a1")),
        chunk(choice(0, content="a2"), choice(1, content="b2")),
    )
    result = backend.merge(stream)
    assert [(c.index, c.message.content) for c in result.choices] == [(0, "a1a2"), (1, "b1b2")]


def test_sparse_huge_choice_index_does_not_allocate_a_list(backend):
    big = 10**12
    stream = sse(
        chunk(choice(big, role="assistant", content="far")),
        chunk(choice(0, role="assistant", content="near")),
        chunk(choice(big, content="ther", finish_reason="stop")),
    )
    tracemalloc.start()
    try:
        result = backend.merge(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert [c.index for c in result.choices] == [0, big]
    assert [c.message.content for c in result.choices] == ["near", "farther"]
    assert result.choices[1].finish_reason == "stop"
    assert result.to_dict()["choices"][1]["index"] == big


# ------------------------------------------------------------------ concatenated fields


def test_content_and_refusal_concatenated(backend):
    stream = sse(
        chunk(choice(role="assistant", content="Hel", refusal=None)),
        chunk(choice(content="lo")),
        chunk(choice(refusal="I can")),
        chunk(choice(refusal="not", content=None)),
    )
    assert msg(backend.merge(stream)) == {"role": "assistant", "content": "Hello", "refusal": "I cannot"}


def test_content_stays_none_until_a_string_fragment(backend):
    stream = sse(
        chunk(choice(role="assistant", content=None, refusal=None)), chunk(choice(finish_reason="stop"))
    )
    assert msg(backend.merge(stream)) == {"role": "assistant", "content": None, "refusal": None}


def test_empty_string_fragment_makes_content_empty_string(backend):
    stream = sse(chunk(choice(role="assistant", content="", refusal="")), chunk(choice(content=None)))
    assert msg(backend.merge(stream)) == {"role": "assistant", "content": "", "refusal": ""}


def test_reasoning_content_and_reasoning_concatenated(backend):
    stream = sse(
        chunk(choice(role="assistant", reasoning_content="Let me ", reasoning="th")),
        chunk(choice(reasoning_content="think.", reasoning="ink")),
        chunk(choice(content="42", reasoning_content=None)),
    )
    m = msg(backend.merge(stream))
    assert m["reasoning_content"] == "Let me think."
    assert m["reasoning"] == "think"
    assert m["content"] == "42"


def test_legacy_function_call_name_set_once_arguments_concatenated(backend):
    stream = sse(
        chunk(choice(role="assistant", content=None, function_call={"name": "get", "arguments": ""})),
        chunk(choice(function_call={"arguments": '{"a"'})),
        chunk(choice(function_call={"name": "get", "arguments": ":1}"})),
        chunk(choice(finish_reason="function_call")),
    )
    result = backend.merge(stream)
    assert result.choices[0].message.function_call.to_dict() == {"name": "get", "arguments": '{"a":1}'}
    assert result.choices[0].finish_reason == "function_call"


def test_audio_id_set_once_data_and_transcript_concatenated(backend):
    stream = sse(
        chunk(choice(role="assistant", audio={"id": "audio_1", "data": "AAA", "transcript": "Hel"})),
        chunk(choice(audio={"id": "audio_1", "data": "BBB", "transcript": "lo"})),
        chunk(choice(audio={"expires_at": 1700003600})),
        chunk(choice(finish_reason="stop")),
    )
    audio = backend.merge(stream).choices[0].message.audio
    assert audio.to_dict() == {
        "id": "audio_1",
        "data": "AAABBB",
        "transcript": "Hello",
        "expires_at": 1700003600,
    }


# ------------------------------------------------------------------ set once


def test_role_repeated_in_every_delta_is_not_doubled(backend):
    # Ollama sends role "assistant" in every chunk; the official SDK gives "assistantassistant...".
    stream = sse(*(chunk(choice(role="assistant", content=c)) for c in "abc"))
    assert msg(backend.merge(stream)) == {"role": "assistant", "content": "abc", "refusal": None}


def test_role_defaults_to_assistant(backend):
    assert backend.merge(sse(chunk(choice(content="x")))).choices[0].message.role == "assistant"


def test_tool_call_id_name_and_type_repeated_are_not_doubled(backend):
    # DeepSeek / Qwen repeat the id and the name in every fragment.
    stream = sse(
        chunk(
            choice(
                role="assistant",
                tool_calls=[tc(index=0, id="call_1", type="function", name="f", arguments="")],
            )
        ),
        chunk(choice(tool_calls=[tc(index=0, id="call_1", type="function", name="f", arguments='{"x"')])),
        chunk(choice(tool_calls=[tc(index=0, id="call_1", type="function", name="f", arguments=": 1}")])),
        chunk(choice(finish_reason="tool_calls")),
    )
    m = msg(backend.merge(stream))
    assert m["tool_calls"] == [tool("call_1", "f", '{"x": 1}')]


def test_top_level_id_model_created_service_tier_first_non_empty(backend):
    stream = sse(
        {"id": "", "object": "", "created": 0, "model": "", "choices": [], "service_tier": None},
        chunk(choice(content="a"), id="first", model="m1", created=11, service_tier="default"),
        chunk(choice(content="b"), id="second", model="m2", created=22, service_tier="flex"),
    )
    result = backend.merge(stream)
    assert (result.id, result.model, result.created, result.service_tier) == ("first", "m1", 11, "default")
    assert result.object == "chat.completion"


def test_stream_that_only_sends_empty_id_keeps_it(backend):
    stream = sse({"id": "", "object": "", "created": 0, "model": "", "choices": [choice(content="x")]})
    result = backend.merge(stream)
    assert (result.id, result.model, result.created) == ("", "", 0)


def test_system_fingerprint_last_non_null(backend):
    stream = sse(
        chunk(choice(content="a"), system_fingerprint="fp_1"),
        chunk(choice(content="b"), system_fingerprint="fp_2"),
        chunk(choice(content="c"), system_fingerprint=None),
        chunk(choice(content="d")),
    )
    assert backend.merge(stream).system_fingerprint == "fp_2"


# ------------------------------------------------------------------ tool calls


def test_parallel_tool_calls_by_index_and_output_sorted_by_index(backend):
    stream = sse(
        chunk(
            choice(
                role="assistant", tool_calls=[tc(index=1, id="c1", type="function", name="g", arguments="")]
            )
        ),
        chunk(choice(tool_calls=[tc(index=0, id="c0", type="function", name="f", arguments="{")])),
        chunk(choice(tool_calls=[tc(index=1, arguments="[1"), tc(index=0, arguments="}")])),
        chunk(choice(tool_calls=[tc(index=1, arguments="]")])),
        chunk(choice(finish_reason="tool_calls")),
    )
    result = backend.merge(stream)
    assert msg(result)["tool_calls"] == [tool("c0", "f", "{}"), tool("c1", "g", "[1]")]
    assert result.choices[0].finish_reason == "tool_calls"


def test_final_tool_calls_carry_no_index(backend):
    stream = sse(chunk(choice(tool_calls=[tc(index=0, id="c", type="function", name="f", arguments="{}")])))
    call = backend.merge(stream).choices[0].message.tool_calls[0]
    assert "index" not in call.to_dict()
    assert call.extras == {}


def test_tool_call_type_defaults_to_function(backend):
    stream = sse(chunk(choice(tool_calls=[tc(index=0, id="c", name="f", arguments="{}")])))
    assert msg(backend.merge(stream))["tool_calls"] == [tool("c", "f", "{}")]


def test_ollama_index_reused_with_new_id_starts_new_call(backend):
    # Ollama / Cerebras send each whole call at index 0 with a new id.
    stream = sse(
        chunk(
            choice(
                role="assistant",
                tool_calls=[tc(index=0, id="call_a", type="function", name="w", arguments='{"p":1}')],
            )
        ),
        chunk(choice(tool_calls=[tc(index=0, id="call_b", type="function", name="w", arguments='{"p":2}')])),
        chunk(choice(tool_calls=[tc(index=0, id="call_c", type="function", name="r", arguments="{}")])),
        chunk(choice(finish_reason="tool_calls")),
    )
    assert msg(backend.merge(stream))["tool_calls"] == [
        tool("call_a", "w", '{"p":1}'),
        tool("call_b", "w", '{"p":2}'),
        tool("call_c", "r", "{}"),
    ]


def test_reused_index_with_same_id_continues(backend):
    stream = sse(
        chunk(choice(tool_calls=[tc(index=0, id="call_a", type="function", name="w", arguments='{"p"')])),
        chunk(choice(tool_calls=[tc(index=0, id="call_a", arguments=":1}")])),
    )
    assert msg(backend.merge(stream))["tool_calls"] == [tool("call_a", "w", '{"p":1}')]


def test_tool_calls_without_index_continue_or_start_by_id(backend):
    # Gemini / Mistral send no index: no id or the same id continues the open call, a new id starts one.
    stream = sse(
        chunk(
            choice(role="assistant", tool_calls=[tc(id="g1", type="function", name="f", arguments='{"a"')])
        ),
        chunk(choice(tool_calls=[tc(arguments=":1")])),
        chunk(choice(tool_calls=[tc(id="g1", arguments="}")])),
        chunk(choice(tool_calls=[tc(id="g2", type="function", name="g", arguments="{")])),
        chunk(choice(tool_calls=[tc(arguments="}")])),
        chunk(choice(finish_reason="stop")),
    )
    result = backend.merge(stream)
    assert msg(result)["tool_calls"] == [tool("g1", "f", '{"a":1}'), tool("g2", "g", "{}")]
    assert result.choices[0].finish_reason == "stop"


def test_tool_calls_without_index_several_in_one_chunk(backend):
    stream = sse(
        chunk(
            choice(
                tool_calls=[
                    tc(id="m1", type="function", name="f", arguments="{}"),
                    tc(id="m2", type="function", name="g", arguments="[]"),
                ]
            )
        )
    )
    assert msg(backend.merge(stream))["tool_calls"] == [tool("m1", "f", "{}"), tool("m2", "g", "[]")]


def test_vllm_two_fragments_with_same_index_in_one_chunk_merged_in_order(backend):
    # vLLM speculative decoding: openai-python#3201.
    stream = sse(
        chunk(
            choice(
                role="assistant",
                tool_calls=[
                    tc(index=0, id="call_v", type="function", name="f", arguments='{"a"'),
                    tc(index=0, arguments=":1"),
                ],
            )
        ),
        chunk(choice(tool_calls=[tc(index=0, arguments=","), tc(index=0, arguments='"b":2}')])),
        chunk(choice(finish_reason="tool_calls")),
    )
    assert msg(backend.merge(stream))["tool_calls"] == [tool("call_v", "f", '{"a":1,"b":2}')]


def test_tool_call_without_function_key(backend):
    stream = sse(
        chunk(choice(tool_calls=[{"index": 0, "id": "c", "type": "function"}])),
        chunk(choice(tool_calls=[tc(index=0, name="f", arguments="{}")])),
    )
    assert msg(backend.merge(stream))["tool_calls"] == [tool("c", "f", "{}")]


def test_groq_empty_tool_calls_list_on_every_chunk(backend):
    stream = sse(
        chunk(choice(role="assistant", content="a", tool_calls=[])),
        chunk(choice(role="assistant", content="b", tool_calls=[])),
    )
    m = msg(backend.merge(stream))
    assert m == {"role": "assistant", "content": "ab", "refusal": None}


# ------------------------------------------------------------------ logprobs


def lp(token: str, logprob: float = -0.5) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [{"token": token, "logprob": logprob, "bytes": list(token.encode())}],
    }


def test_logprobs_content_and_refusal_appended_once_each(backend):
    stream = sse(
        chunk(
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ),
        chunk({"index": 0, "delta": {"content": "He"}, "logprobs": {"content": [lp("He")], "refusal": None}}),
        chunk(
            {
                "index": 0,
                "delta": {"content": "llo"},
                "logprobs": {"content": [lp("l"), lp("lo")], "refusal": None},
            }
        ),
        chunk({"index": 0, "delta": {"refusal": "No"}, "logprobs": {"content": None, "refusal": [lp("No")]}}),
        chunk({"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}),
    )
    logprobs = backend.merge(stream).choices[0].logprobs.to_dict()
    assert logprobs == {"content": [lp("He"), lp("l"), lp("lo")], "refusal": [lp("No")]}


def test_logprobs_of_a_choice_first_seen_later_not_duplicated(backend):
    # The official SDK appends the first chunk's logprobs twice for a choice with index >= 1.
    stream = sse(
        chunk({"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [lp("a")], "refusal": None}}),
        chunk({"index": 1, "delta": {"content": "b"}, "logprobs": {"content": [lp("b")], "refusal": None}}),
        chunk({"index": 1, "delta": {"content": "d"}, "logprobs": {"content": [lp("d")], "refusal": None}}),
    )
    result = backend.merge(stream)
    assert result.choices[0].logprobs.to_dict() == {"content": [lp("a")], "refusal": None}
    assert result.choices[1].logprobs.to_dict() == {"content": [lp("b"), lp("d")], "refusal": None}


def test_logprobs_none_when_never_sent(backend):
    result = backend.merge(sse(chunk(choice(content="x"))))
    assert result.choices[0].logprobs is None
    assert result.to_dict()["choices"][0]["logprobs"] is None


# ------------------------------------------------------------------ finish_reason


def test_finish_reason_last_non_null(backend):
    stream = sse(
        chunk(choice(content="a", finish_reason="length")),
        chunk(choice(content="b", finish_reason="stop")),
        chunk(choice(content="c", finish_reason=None)),
    )
    assert backend.merge(stream).choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    "reason", ["insufficient_system_resource", "error", "length", "content_filter", "x-custom"]
)
def test_finish_reason_is_an_open_string(backend, reason):
    result = backend.merge(sse(chunk(choice(content="a")), chunk(choice(finish_reason=reason))))
    assert result.choices[0].finish_reason == reason


def test_finish_reason_none_when_stream_cut_off(backend):
    result = backend.merge(sse(chunk(choice(content="a")), done=False))
    assert result.choices[0].finish_reason is None
    assert result.choices[0].message.content == "a"


# ------------------------------------------------------------------ usage


USAGE_1 = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
USAGE_2 = {
    "prompt_tokens": 5,
    "completion_tokens": 7,
    "total_tokens": 12,
    "completion_tokens_details": {"reasoning_tokens": 3},
    "prompt_tokens_details": {"cached_tokens": 2},
    "prompt_cache_hit_tokens": 2,
}


def test_usage_only_on_final_empty_choices_chunk(backend):
    stream = sse(chunk(choice(content="a", finish_reason="stop")), chunk(usage=USAGE_2))
    result = backend.merge(stream)
    assert result.usage.to_dict() == USAGE_2
    assert result.usage.extras == {"prompt_cache_hit_tokens": 2}
    assert result.choices[0].message.content == "a"


def test_usage_followed_by_chunks_with_null_usage_survives(backend):
    # xAI: usage on the second-to-last chunk, then chunks without one.
    stream = sse(
        chunk(choice(content="a"), usage=None),
        chunk(choice(content="b", finish_reason="stop"), usage=USAGE_2),
        chunk(usage=None),
        chunk(),
    )
    assert backend.merge(stream).usage.to_dict() == USAGE_2


def test_cumulative_usage_on_every_chunk_gives_the_last(backend):
    # vLLM continuous_usage_stats: the usage is cumulative, the last one is the total.
    usages = [{"prompt_tokens": 4, "completion_tokens": k, "total_tokens": 4 + k} for k in range(1, 5)]
    stream = sse(*(chunk(choice(content=str(k)), usage=u) for k, u in enumerate(usages)))
    assert backend.merge(stream).usage.to_dict() == usages[-1]


def test_groq_x_groq_usage_used_when_no_top_level_usage(backend):
    groq_usage = {
        "queue_time": 0.01,
        "prompt_tokens": 9,
        "prompt_time": 0.002,
        "completion_tokens": 3,
        "completion_time": 0.004,
        "total_tokens": 12,
        "total_time": 0.006,
    }
    stream = sse(
        chunk(choice(role="assistant", content="hi"), x_groq={"id": "req_1"}),
        chunk(choice(finish_reason="stop"), x_groq={"id": "req_1", "usage": groq_usage}),
    )
    result = backend.merge(stream)
    assert result.usage.to_dict() == groq_usage
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        9,
        3,
        12,
    )


def test_top_level_usage_wins_over_x_groq_usage(backend):
    groq_usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    stream = sse(
        chunk(choice(content="hi", finish_reason="stop"), x_groq={"id": "r", "usage": groq_usage}),
        chunk(usage=USAGE_1),
    )
    assert backend.merge(stream).usage.to_dict() == USAGE_1
    stream = sse(
        chunk(choice(content="hi"), usage=USAGE_1),
        chunk(choice(finish_reason="stop"), x_groq={"id": "r", "usage": groq_usage}),
    )
    assert backend.merge(stream).usage.to_dict() == USAGE_1


def test_usage_none_when_never_sent(backend):
    result = backend.merge(sse(chunk(choice(content="a"), usage=None)))
    assert result.usage is None
    assert "usage" not in result.to_dict()


# ------------------------------------------------------------------ odd chunks


AZURE_FILTER = {
    "id": "",
    "object": "",
    "created": 0,
    "model": "",
    "choices": [],
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": False, "detected": False},
            },
        }
    ],
}


def test_azure_prompt_filter_chunk_first_does_not_win_and_is_kept(backend):
    stream = sse(
        AZURE_FILTER,
        chunk(choice(role="assistant", content="Hi"), id="chatcmpl-az", model="gpt-4o", created=42),
        chunk(choice(finish_reason="stop"), id="chatcmpl-az", model="gpt-4o", created=42),
    )
    result = backend.merge(stream)
    assert (result.id, result.model, result.created) == ("chatcmpl-az", "gpt-4o", 42)
    assert result.extras["prompt_filter_results"] == AZURE_FILTER["prompt_filter_results"]
    assert result.to_dict()["prompt_filter_results"] == AZURE_FILTER["prompt_filter_results"]
    assert result.choices[0].message.content == "Hi"
    assert result.choices[0].finish_reason == "stop"


def test_azure_async_filter_choice_without_delta_or_with_null_delta(backend):
    filter_results = {"hate": {"filtered": False, "severity": "safe"}}
    offsets = {"check_offset": 0, "start_offset": 0, "end_offset": 5}
    stream = sse(
        chunk(choice(role="assistant", content="Hello"), id="x"),
        {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": None,
                    "content_filter_results": filter_results,
                    "content_filter_offsets": offsets,
                }
            ],
        },
        chunk({"index": 0, "delta": None, "finish_reason": None, "content_filter_results": filter_results}),
        chunk(choice(content="!", finish_reason="stop")),
    )
    result = backend.merge(stream)
    c = result.choices[0]
    assert (result.id, result.model, result.object) == ("x", "gpt-x", "chat.completion")
    assert c.message.content == "Hello!"
    assert c.finish_reason == "stop"
    assert c.extras == {"content_filter_results": filter_results, "content_filter_offsets": offsets}


def test_chunk_with_no_choices_key(backend):
    # OpenAI audio streams send chunks that carry only obfuscation.
    stream = sse(
        chunk(choice(role="assistant", content="a")),
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-x",
            "obfuscation": "Zx",
        },
        {"obfuscation": "Qq"},
        chunk(choice(content="b", finish_reason="stop")),
    )
    result = backend.merge(stream)
    assert result.choices[0].message.content == "ab"
    assert result.choices[0].finish_reason == "stop"
    assert result.id == "chatcmpl-1"
    assert "obfuscation" not in result.to_dict()


def test_keep_alives_and_empty_data_are_skipped(backend):
    stream = sse(
        b": OPENROUTER PROCESSING\n\n",
        chunk(choice(role="assistant", content="a")),
        b"data: : keepalive\n\n",
        b"data:\n\n",
        b"data: \n\n",
        b"data:    \t \n\n",
        b"data: :ping - 2\n\n",
        b"event: ping\n\n",
        chunk(choice(content="b", finish_reason="stop")),
    )
    result = backend.merge(stream)
    assert result.choices[0].message.content == "ab"
    assert result.choices[0].finish_reason == "stop"
    chunks = list(backend.iter_chunks(stream))
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]


def test_done_by_exact_match_after_stripping_whitespace(backend):
    stream = sse(chunk(choice(content="a")), b"data:   [DONE]  \n\n", chunk(choice(content="b")), done=False)
    assert backend.merge(stream).choices[0].message.content == "a"
    assert len(list(backend.iter_chunks(stream))) == 1


def test_done_inside_content_or_arguments_does_not_end_the_stream(backend):
    stream = sse(
        chunk(choice(role="assistant", content="[DONE]")),
        chunk(choice(content=" data: [DONE]\n\n")),
        chunk(choice(tool_calls=[tc(index=0, id="c", type="function", name="f", arguments='{"s":"[DONE]')])),
        chunk(choice(tool_calls=[tc(index=0, arguments='"}')])),
        chunk(choice(content="end", finish_reason="stop")),
    )
    m = msg(backend.merge(stream))
    assert m["content"] == "[DONE] data: [DONE]\n\nend"
    assert m["tool_calls"] == [tool("c", "f", '{"s":"[DONE]"}')]


def test_what_follows_done_is_not_read(backend):
    stream = (
        sse(chunk(choice(content="a")), done=True)
        + b"data: {not json\n\n"
        + event(chunk(choice(content="b")))
    )
    assert backend.merge(stream).choices[0].message.content == "a"
    assert [c.choices[0].delta.content for c in backend.iter_chunks(stream)] == ["a"]
    decoder = backend.ChunkDecoder()
    assert [c.choices[0].delta.content for c in decoder.feed(stream)] == ["a"]
    assert decoder.feed(b"data: {worse\n\n") == []
    assert decoder.close() == []
    merger = backend.DeltaMerger()
    merger.feed(stream)
    merger.feed(b"data: {worse\n\n")
    assert merger.finish().choices[0].message.content == "a"


def test_pieces_after_done_are_not_pulled_from_the_source(backend):
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        pulled.append(1)
        yield event(chunk(choice(content="a")))
        pulled.append(2)
        yield b"data: [DONE]\n\n"
        pulled.append(3)
        raise AssertionError("read past [DONE]")

    assert backend.merge(source()).choices[0].message.content == "a"
    assert pulled == [1, 2]
    pulled.clear()
    assert [c.choices[0].delta.content for c in backend.iter_chunks(source())] == ["a"]
    assert pulled == [1, 2]


# ------------------------------------------------------------------ unknown keys


def test_unknown_top_level_keys_last_non_null_wins(backend):
    stream = sse(
        chunk(choice(content="a"), provider="OpenAI", timings=None, seq=1),
        chunk(choice(content="b"), provider="Azure", seq=2, nested={"k": [1]}),
        chunk(choice(content="c"), provider=None, seq=None, nested=None),
    )
    result = backend.merge(stream)
    assert result.extras == {"provider": "Azure", "timings": None, "seq": 2, "nested": {"k": [1]}}
    d = result.to_dict()
    assert (d["provider"], d["seq"], d["nested"], d["timings"]) == ("Azure", 2, {"k": [1]}, None)


def test_unknown_choice_level_keys_last_non_null_wins(backend):
    stream = sse(
        chunk({**choice(content="a"), "stop_reason": None, "native_finish_reason": None}),
        chunk({**choice(content="b"), "stop_reason": 128009, "native_finish_reason": "STOP"}),
        chunk({**choice(finish_reason="stop"), "stop_reason": None, "token_ids": [1, 2]}),
    )
    c = backend.merge(stream).choices[0]
    assert c.extras == {"stop_reason": 128009, "native_finish_reason": "STOP", "token_ids": [1, 2]}
    assert c.to_dict()["stop_reason"] == 128009


def test_unknown_delta_strings_concatenated(backend):
    stream = sse(
        chunk(choice(role="assistant", thinking="ab", note="x")),
        chunk(choice(thinking="cd", note="y")),
        chunk(choice(thinking=None)),
    )
    m = backend.merge(stream).choices[0].message
    assert m.extras == {"thinking": "abcd", "note": "xy"}


def test_unknown_delta_scalar_keys_last_value(backend):
    stream = sse(
        chunk(choice(role="assistant", channel="analysis", type="thinking", content="a")),
        chunk(choice(channel="final", type="text", content="b")),
        chunk(choice(channel=None, content="c")),
    )
    m = backend.merge(stream).choices[0].message
    assert m.content == "abc"
    assert m.extras == {"channel": "final", "type": "text"}


def test_unknown_delta_numbers_and_bools_last_value(backend):
    stream = sse(
        chunk(choice(content="a", step=1, partial=True, score=0.5)),
        chunk(choice(content="b", step=2, partial=False, score=0.25)),
        chunk(choice(content="c", step=None)),
    )
    assert backend.merge(stream).choices[0].message.extras == {"step": 2, "partial": False, "score": 0.25}


def test_unknown_delta_nested_object_merged_with_the_same_rules(backend):
    stream = sse(
        chunk(choice(meta={"text": "ab", "channel": "x", "n": 1})),
        chunk(choice(meta={"text": "cd", "channel": "y", "n": 2, "more": True})),
    )
    assert backend.merge(stream).choices[0].message.extras == {
        "meta": {"text": "abcd", "channel": "y", "n": 2, "more": True}
    }


def test_reasoning_details_merged_by_index(backend):
    # OpenRouter: reasoning_details items carry an index; their strings concatenate, `type` is a scalar.
    stream = sse(
        chunk(
            choice(role="assistant", reasoning_details=[{"index": 0, "type": "reasoning.text", "text": "Th"}])
        ),
        chunk(
            choice(
                reasoning_details=[
                    {"index": 0, "type": "reasoning.text", "text": "ink"},
                    {"index": 1, "type": "reasoning.encrypted", "data": "AB"},
                ]
            )
        ),
        chunk(choice(reasoning_details=[{"index": 1, "type": "reasoning.encrypted", "data": "CD"}])),
        chunk(choice(content="done", finish_reason="stop")),
    )
    m = backend.merge(stream).choices[0].message
    assert m.extras["reasoning_details"] == [
        {"index": 0, "type": "reasoning.text", "text": "Think"},
        {"index": 1, "type": "reasoning.encrypted", "data": "ABCD"},
    ]


FORMAT = "openai-responses-v1"


def openrouter_detail(kind: str, field: str, value: str, **more: Any) -> dict[str, Any]:
    """A ``reasoning_details`` fragment in OpenRouter's key order."""
    return {"type": kind, field: value, **more, "format": FORMAT, "index": 0}


def test_reasoning_details_new_type_at_one_index_is_a_new_item(backend):
    # OpenRouter / Vercel's gateway: a summary streamed at index 0, then the encrypted
    # reasoning, also at index 0: two items, in arrival order, each with its own keys.
    stream = sse(
        chunk(choice(role="assistant", content="")),
        chunk(choice(reasoning_details=[openrouter_detail("reasoning.summary", "summary", "P")])),
        chunk(choice(reasoning_details=[openrouter_detail("reasoning.summary", "summary", "lan")])),
        chunk(choice(reasoning_details=[openrouter_detail("reasoning.encrypted", "data", "gA", id="rs_1")])),
        chunk(choice(content="ok", finish_reason="stop")),
    )
    assert backend.merge(stream).choices[0].message.extras["reasoning_details"] == [
        {"type": "reasoning.summary", "summary": "Plan", "format": FORMAT, "index": 0},
        {"type": "reasoning.encrypted", "data": "gA", "id": "rs_1", "format": FORMAT, "index": 0},
    ]


def test_reasoning_details_keyed_by_index_and_type(backend):
    # A type seen before at an index continues its own item, even after another type came;
    # items are sorted by index, and those of one index stay in arrival order.
    stream = sse(
        chunk(choice(reasoning_details=[{"index": 1, "type": "reasoning.text", "text": "b"}])),
        chunk(
            choice(
                reasoning_details=[
                    {"index": 0, "type": "reasoning.text", "text": "a"},
                    {"index": 0, "type": "reasoning.encrypted", "data": "X"},
                ]
            )
        ),
        chunk(choice(reasoning_details=[{"index": 0, "type": "reasoning.text", "text": "a2"}])),
        chunk(choice(reasoning_details=[{"index": 0, "type": "reasoning.encrypted", "data": "Y"}])),
    )
    assert backend.merge(stream).choices[0].message.extras["reasoning_details"] == [
        {"index": 0, "type": "reasoning.text", "text": "aa2"},
        {"index": 0, "type": "reasoning.encrypted", "data": "XY"},
        {"index": 1, "type": "reasoning.text", "text": "b"},
    ]


def test_reasoning_details_fragment_without_type_continues_the_last_item_at_its_index(backend):
    # A fragment without a string type continues the item the latest fragment at its index went
    # to; at an index with no item yet it starts one (a later typed fragment starts another).
    stream = sse(
        chunk(choice(reasoning_details=[{"index": 0, "type": "reasoning.text", "text": "a"}])),
        chunk(choice(reasoning_details=[{"index": 0, "type": "reasoning.encrypted", "data": "X"}])),
        chunk(choice(reasoning_details=[{"index": 0, "data": "Y"}])),
        chunk(choice(reasoning_details=[{"index": 0, "type": "reasoning.text", "text": "b"}])),
        chunk(choice(reasoning_details=[{"index": 0, "text": "c", "type": None}])),
        chunk(choice(reasoning_details=[{"index": 2, "text": "p"}])),
        chunk(choice(reasoning_details=[{"index": 2, "type": "reasoning.text", "text": "q"}])),
    )
    assert backend.merge(stream).choices[0].message.extras["reasoning_details"] == [
        {"index": 0, "type": "reasoning.text", "text": "abc"},
        {"index": 0, "type": "reasoning.encrypted", "data": "XY"},
        {"index": 2, "text": "p"},
        {"index": 2, "type": "reasoning.text", "text": "q"},
    ]


def test_reasoning_details_snapshot_and_key_count_see_the_items(backend):
    stream = sse(
        chunk(choice(reasoning_details=[openrouter_detail("reasoning.summary", "summary", "S")])),
        chunk(choice(reasoning_details=[openrouter_detail("reasoning.encrypted", "data", "D")])),
        done=False,
    )
    merger = backend.DeltaMerger()
    merger.feed(stream)
    snap = merger.snapshot().choices[0].message.extras["reasoning_details"]
    assert [d["type"] for d in snap] == ["reasoning.summary", "reasoning.encrypted"]
    # The list key, two items and four keys in each: 1 + 2 * (1 + 4) entries.
    assert backend.DeltaMerger(max_extras_keys=11).feed(stream) == 2
    with pytest.raises(ssedelta.LimitExceededError) as info:
        backend.DeltaMerger(max_extras_keys=10).feed(stream)
    assert info.value.limit == "max_extras_keys"


def test_annotations_and_executed_tools_appended(backend):
    a1 = {
        "type": "url_citation",
        "url_citation": {"start_index": 0, "end_index": 3, "url": "https://a.example", "title": "A"},
    }
    a2 = {
        "type": "url_citation",
        "url_citation": {"start_index": 4, "end_index": 9, "url": "https://b.example", "title": "B"},
    }
    t1 = {"type": "search", "arguments": '{"q":"x"}', "output": "r1"}
    t2 = {"type": "python", "arguments": "print(1)", "output": "1"}
    stream = sse(
        chunk(choice(role="assistant", content="abc", annotations=[a1], executed_tools=[t1])),
        chunk(choice(content="defghi", annotations=[a2], executed_tools=[t2])),
        chunk(choice(finish_reason="stop")),
    )
    m = backend.merge(stream).choices[0].message
    assert [a.to_dict() for a in m.annotations] == [a1, a2]
    assert m.to_dict()["annotations"] == [a1, a2]
    assert m.extras["executed_tools"] == [t1, t2]


def test_scalar_keys_option_extends_the_table(backend):
    stream = sse(
        chunk(choice(phase="plan", status="a", content="x")),
        chunk(choice(phase="act", status="b", content="y")),
    )
    default = backend.merge(stream).choices[0].message.extras
    assert default == {"phase": "planact", "status": "b"}
    extended = backend.merge(stream, scalar_keys={"phase"}).choices[0].message.extras
    assert extended == {"phase": "act", "status": "b"}
    merger = backend.DeltaMerger(scalar_keys=["phase"])
    merger.feed(stream)
    assert merger.finish().choices[0].message.extras == {"phase": "act", "status": "b"}


def test_unknown_keys_on_tool_calls_kept(backend):
    # Gemini's thought signature on a tool call, kept for the round trip.
    sig = {"google": {"thought_signature": "c2ln"}}
    stream = sse(
        chunk(
            choice(
                tool_calls=[
                    {**tc(index=0, id="c", type="function", name="f", arguments="{"), "extra_content": sig}
                ]
            )
        ),
        chunk(choice(tool_calls=[tc(index=0, arguments="}")])),
    )
    call = backend.merge(stream).choices[0].message.tool_calls[0]
    assert call.extras == {"extra_content": sig}
    assert call.to_dict() == {**tool("c", "f", "{}"), "extra_content": sig}


# ------------------------------------------------------------------ list content


def test_mistral_list_content_text_joins_content_other_parts_kept(backend):
    ref1 = {"type": "reference", "reference_ids": [1]}
    stream = sse(
        chunk(choice(role="assistant", content=[{"type": "text", "text": "Hel"}])),
        chunk(choice(content=[{"type": "text", "text": "lo"}, ref1])),
        chunk(choice(content=" world")),
        chunk(choice(content=[{"type": "text", "text": "!"}], finish_reason="stop")),
    )
    m = backend.merge(stream).choices[0].message
    assert m.content == "Hello world!"
    assert m.extras == {"content_parts": [ref1]}
    assert m.to_dict()["content_parts"] == [ref1]


def test_mistral_consecutive_parts_of_one_type_merged(backend):
    stream = sse(
        chunk(choice(role="assistant", content=[{"type": "thinking", "thinking": "Let "}])),
        chunk(choice(content=[{"type": "thinking", "thinking": "me see"}])),
        chunk(choice(content=[{"type": "reference", "reference_ids": [3]}])),
        chunk(choice(content=[{"type": "text", "text": "Answer"}], finish_reason="stop")),
    )
    m = backend.merge(stream).choices[0].message
    assert m.content == "Answer"
    assert m.extras["content_parts"] == [
        {"type": "thinking", "thinking": "Let me see"},
        {"type": "reference", "reference_ids": [3]},
    ]


def test_list_content_without_text_parts_leaves_content_none(backend):
    stream = sse(chunk(choice(role="assistant", content=[{"type": "reference", "reference_ids": [7]}])))
    m = backend.merge(stream).choices[0].message
    assert m.content is None
    assert m.extras == {"content_parts": [{"type": "reference", "reference_ids": [7]}]}


# ------------------------------------------------------------------ upstream errors


def test_error_payload_mid_stream_raises_with_partial_including_that_chunk(backend):
    # OpenRouter "errors after tokens have been sent".
    error = {"code": 502, "message": "Provider disconnected"}
    stream = sse(
        chunk(choice(role="assistant", content="Hel")),
        chunk(choice(content="lo", finish_reason="error"), error=error, usage=USAGE_1),
        chunk(choice(content="never")),
    )
    with pytest.raises(ssedelta.UpstreamError) as info:
        backend.merge(stream)
    exc = info.value
    assert exc.error == error
    assert "Provider disconnected" in str(exc)
    partial = exc.partial
    assert partial.choices[0].message.content == "Hello"
    assert partial.choices[0].finish_reason == "error"
    assert partial.usage.to_dict() == USAGE_1


def test_error_null_or_empty_is_not_an_error(backend):
    stream = sse(chunk(choice(content="a"), error=None), chunk(choice(content="b", finish_reason="stop")))
    assert backend.merge(stream).choices[0].message.content == "ab"


def test_event_error_with_json_chunk_is_merged_then_raised(backend):
    error = {"message": "overloaded", "type": "server_error"}
    stream = sse(
        chunk(choice(role="assistant", content="Hel")),
        event(chunk(choice(content="lo", finish_reason="error"), usage=USAGE_1, error=error), "error"),
        chunk(choice(content="never")),
    )
    with pytest.raises(ssedelta.UpstreamError) as info:
        backend.merge(stream)
    exc = info.value
    assert exc.error == error
    assert exc.partial.choices[0].message.content == "Hello"
    assert exc.partial.choices[0].finish_reason == "error"
    assert exc.partial.usage.to_dict() == USAGE_1


def test_event_error_with_bare_error_object(backend):
    payload = {"error": {"message": "rate limited", "code": "429"}}
    stream = sse(chunk(choice(content="a")), event(payload, "error"), chunk(choice(content="b")))
    with pytest.raises(ssedelta.UpstreamError) as info:
        backend.merge(stream)
    assert info.value.error == payload["error"]
    assert info.value.partial.choices[0].message.content == "a"


def test_event_error_with_non_json_data(backend):
    stream = sse(
        chunk(choice(content="a")), b"event: error\ndata: upstream overloaded\n\n", chunk(choice(content="b"))
    )
    with pytest.raises(ssedelta.UpstreamError) as info:
        backend.merge(stream)
    assert info.value.error == {"message": "upstream overloaded"}
    assert info.value.partial.choices[0].message.content == "a"
    assert info.value.partial.choices[0].finish_reason is None


def test_event_error_whose_payload_is_the_error_object(backend):
    payload = {"type": "error", "message": "context length exceeded"}
    stream = sse(chunk(choice(content="a")), event(payload, "error"))
    with pytest.raises(ssedelta.UpstreamError) as info:
        backend.merge(stream)
    assert info.value.error == payload
    assert "context length exceeded" in str(info.value)
    assert info.value.partial.choices[0].message.content == "a"


def test_add_a_chunk_carrying_an_error(backend):
    error = {"message": "boom"}
    merger = backend.DeltaMerger()
    merger.add(chunk(choice(content="a")))
    merger.add(chunk(choice(content="b", finish_reason="error"), error=error, usage=USAGE_1))
    snap = merger.snapshot()
    assert (snap.choices[0].message.content, snap.choices[0].finish_reason) == ("ab", "error")
    with pytest.raises(ssedelta.UpstreamError) as info:
        merger.finish()
    assert info.value.error == error
    assert info.value.partial.usage.to_dict() == USAGE_1
    assert info.value.partial.choices[0].message.content == "ab"


def test_snapshot_never_raises_and_finish_raises(backend):
    error = {"message": "boom"}
    stream = sse(
        chunk(choice(content="a")), chunk(choice(content="b"), error=error), chunk(choice(content="c"))
    )
    merger = backend.DeltaMerger()
    merger.feed(stream)
    for _ in range(2):
        snap = merger.snapshot()
        assert snap.choices[0].message.content == "ab"
    with pytest.raises(ssedelta.UpstreamError) as info:
        merger.finish()
    assert info.value.error == error
    assert info.value.partial == snap
    assert merger.snapshot() == snap


def test_iter_chunks_yields_chunks_before_the_upstream_error(backend):
    error = {"message": "boom"}
    stream = sse(
        chunk(choice(content="a")), chunk(choice(content="b"), error=error), chunk(choice(content="c"))
    )
    seen = []
    with pytest.raises(ssedelta.UpstreamError) as info:
        for c in backend.iter_chunks(stream):
            seen.append(c.choices[0].delta.content)
    assert seen == ["a"]
    assert info.value.error == error
    assert info.value.chunk.choices[0].delta.content == "b"


def test_snapshot_mid_stream_is_a_complete_completion(backend):
    merger = backend.DeltaMerger()
    assert merger.snapshot().choices == []
    merger.feed(sse(chunk(choice(role="assistant", content="a")), done=False))
    merger.feed(b'data: {"id":"chatcmpl-1","choi')  # half an event
    snap = merger.snapshot()
    assert snap.choices[0].message.content == "a"
    assert snap.choices[0].finish_reason is None
    assert snap.to_dict()["choices"][0]["message"] == {"role": "assistant", "content": "a", "refusal": None}


# ------------------------------------------------------------------ add() vs feed()


RICH_STREAM = sse(
    AZURE_FILTER,
    chunk(choice(0, role="assistant", content="", refusal=None), system_fingerprint="fp_a"),
    chunk(
        choice(
            1, role="assistant", tool_calls=[tc(index=0, id="c0", type="function", name="f", arguments="")]
        )
    ),
    chunk(
        {**choice(0, content="Hé"), "logprobs": {"content": [lp("Hé")], "refusal": None}, "stop_reason": None}
    ),
    chunk(
        choice(1, tool_calls=[tc(index=0, arguments='{"a":'), tc(index=1, id="c1", name="g", arguments="[")])
    ),
    chunk(
        choice(0, reasoning_content="r1", channel="c", step=1, reasoning_details=[{"index": 0, "text": "x"}])
    ),
    chunk(
        choice(0, reasoning_content="r2", channel="d", step=2, reasoning_details=[{"index": 0, "text": "y"}])
    ),
    chunk(choice(1, tool_calls=[tc(index=0, arguments="1}"), tc(index=1, arguments="]")])),
    chunk(choice(0, content=[{"type": "text", "text": "llo"}, {"type": "reference", "reference_ids": [1]}])),
    chunk(choice(0, finish_reason="stop"), choice(1, finish_reason="tool_calls"), provider="P"),
    chunk(usage=USAGE_2, system_fingerprint="fp_b"),
)


def test_add_chunk_objects_gives_the_same_as_feeding_bytes(backend):
    by_bytes = backend.merge(RICH_STREAM)
    merger = backend.DeltaMerger()
    for c in backend.iter_chunks(RICH_STREAM):
        merger.add(c)
    by_objects = merger.finish()
    assert by_objects == by_bytes
    assert by_objects.to_dict() == by_bytes.to_dict()
    # the expected values, from the rules
    d = by_bytes.to_dict()
    assert (d["id"], d["model"], d["system_fingerprint"], d["provider"]) == (
        "chatcmpl-1",
        "gpt-x",
        "fp_b",
        "P",
    )
    assert d["choices"][0]["message"]["content"] == "Héllo"
    assert d["choices"][0]["message"]["reasoning_content"] == "r1r2"
    assert d["choices"][1]["message"]["tool_calls"] == [tool("c0", "f", '{"a":1}'), tool("c1", "g", "[]")]
    assert d["usage"] == USAGE_2


def test_add_chunk_dicts_gives_the_same_as_feeding_bytes(backend):
    by_bytes = backend.merge(RICH_STREAM)
    merger = backend.DeltaMerger()
    for c in backend.iter_chunks(RICH_STREAM):
        merger.add(c.to_dict())
    assert merger.finish().to_dict() == by_bytes.to_dict()


# ------------------------------------------------------------------ the rule table


def test_every_scalar_key_of_the_table_keeps_the_last_string(backend):
    from ssedelta._rules import LAST
    from ssedelta.chat._rules import EXTRAS

    keys = sorted(key for key, rule in EXTRAS.items() if rule == LAST)
    items = [k for k in keys if k not in ("index", "type")]  # an item's key: (index, type)
    stream = sse(
        *(
            chunk(
                {
                    "index": 0,
                    "delta": {
                        "meta": dict.fromkeys(keys, t),
                        "reasoning_details": [{"index": 0, **dict.fromkeys(items, t)}],
                    },
                }
            )
            for t in ("a", "b")
        )
    )
    message = msg(backend.merge(stream))
    assert message["meta"] == dict.fromkeys(keys, "b")
    assert message["reasoning_details"] == [{"index": 0, **dict.fromkeys(items, "b")}]


def test_every_append_key_of_the_table_appends_lists_of_indexed_items(backend):
    from ssedelta._rules import APPEND
    from ssedelta.chat._rules import EXTRAS

    keys = sorted(key for key, rule in EXTRAS.items() if rule == APPEND and key != "annotations")
    first, second = [{"index": 0, "text": "a"}], [{"index": 0, "text": "b"}]
    stream = sse(chunk(choice(**dict.fromkeys(keys, first))), chunk(choice(**dict.fromkeys(keys, second))))
    message = msg(backend.merge(stream))
    assert keys and {key: message[key] for key in keys} == dict.fromkeys(keys, first + second)


def test_ignored_top_level_keys_are_never_kept(backend):
    from ssedelta._rules import IGNORE
    from ssedelta.chat._rules import CHUNK

    ignored = sorted(key for key, rule in CHUNK.keys.items() if rule == IGNORE and key != "object")
    stream = sse(*(chunk(choice(content=t), **{key: t for key in ignored}) for t in ("x", "y", "z")))
    result = backend.merge(stream)
    assert ignored and not set(ignored) & result.to_dict().keys()
    assert msg(result)["content"] == "xyz"


def test_native_merger_refuses_a_table_it_does_not_implement():
    pytest.importorskip("ssedelta.chat._merge_c")
    from ssedelta._rules import CONCAT, FIRST, LAST, MERGE, Table
    from ssedelta.chat import _merge_c

    fields = {"id": (FIRST, LAST)}
    assert _merge_c._compiled("CHUNK", Table({"id": FIRST, "x": LAST}, LAST), fields) == {"x": 0}
    with pytest.raises(ImportError, match=r"CHUNK\.id is concat"):
        _merge_c._compiled("CHUNK", Table({"id": CONCAT}, LAST), fields)
    with pytest.raises(ImportError, match=r"CHUNK\.x is merge"):
        _merge_c._compiled("CHUNK", Table({"id": FIRST, "x": MERGE}, LAST), fields)
    with pytest.raises(ImportError, match="lacks"):
        _merge_c._compiled("CHUNK", Table({}, LAST), fields)


def test_repeated_choice_object_then_another_keeps_the_last(backend):
    filters = {"hate": {"filtered": False, "severity": "safe"}}
    other = {"hate": {"filtered": True, "severity": "high"}}
    frames = [{"index": 0, "delta": {"content": t}, "content_filter_results": f} for t, f in
              (("a", filters), ("b", filters), ("c", other), ("d", filters), ("e", None))]  # fmt: skip
    merger = backend.DeltaMerger()
    seen = []
    for frame in frames:
        merger.feed(sse(chunk(frame), done=False))
        seen.append(merger.snapshot().choices[0].extras["content_filter_results"])
    assert seen == [filters, filters, other, filters, filters]
    assert merger.finish().choices[0].message.content == "abcde"


def test_unknown_value_changes_kind_between_chunks_of_one_shape(backend):
    values = ["s", 1, 2.5, {"a": [1, {"b": None}]}, [{"index": 0, "t": "x"}], True, None, "t"]
    stream = sse(*(chunk(choice(content=str(i), meta=v), seed=v) for i, v in enumerate(values)))
    result = backend.merge(stream)
    # top level: the last non-null value; in the delta, each value by its kind: the string "t"
    # after the last value True starts a new concatenation
    assert result.extras["seed"] == "t"
    assert msg(result)["meta"] == "t"
    assert msg(result)["content"] == "01234567"
