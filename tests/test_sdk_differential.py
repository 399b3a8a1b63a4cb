"""The official ``openai`` SDK (3.57.0) as an oracle, on generated streams where it is known to be right.

Those streams stay inside what the SDK's accumulator handles correctly: one role chunk that opens
every choice in index order (so its logprobs are not doubled), tool calls whose indexes appear as
0, 1, 2, ... with id and name only on the first fragment, finish_reason ``stop`` or ``tool_calls``
(other values make ``get_final_completion`` raise), usage only on the last chunk, no BOM, no
``data:`` keep-alives and no empty-data events.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai._models import construct_type
from openai._streaming import SSEDecoder as OpenAISSEDecoder
from openai.lib.streaming.chat._completions import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as OpenAIChunk

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.one_of(
    st.text(CHARS, max_size=10),
    st.sampled_from(["[DONE]", "data: [DONE]\n\n", '"', "\\", "\r\n", "\u2028", "é", "𝄞", "日本"]),
)
NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"), min_size=1, max_size=8)


@st.composite
def token_logprobs(draw: Any) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(1, 2))):
        token = draw(TEXT)
        logprob = draw(st.sampled_from([-0.5, -1.25, 0.0, -9999.0]))
        top = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
        out.append({"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": top})
    return out


def stream_choice(
    index: int, delta: dict[str, Any], logprobs: Any = None, finish: Any = None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


@st.composite
def choice_plan(draw: Any, index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The opening delta of one choice and its later stream choices, in order."""
    with_tools = draw(st.booleans())
    with_logprobs = draw(st.booleans())
    opening = {"role": "assistant", "content": None if with_tools else "", "refusal": None}
    items: list[dict[str, Any]] = []
    for text in draw(st.lists(TEXT, max_size=5)):
        lp = {"content": draw(token_logprobs()), "refusal": None} if with_logprobs else None
        items.append(stream_choice(index, {"content": text}, lp))
    if draw(st.integers(0, 3)) == 0:
        for text in draw(st.lists(TEXT, min_size=1, max_size=3)):
            lp = {"content": None, "refusal": draw(token_logprobs())} if with_logprobs else None
            items.append(stream_choice(index, {"refusal": text}, lp))
    if with_tools:
        calls = []
        for k in range(draw(st.integers(1, 3))):
            args = draw(st.lists(TEXT, min_size=1, max_size=4))
            first = {
                "index": k,
                "id": f"call_{index}_{k}_{draw(NAMES)}",
                "type": "function",
                "function": {"name": draw(NAMES), "arguments": args[0]},
            }
            calls.append((first, [{"index": k, "function": {"arguments": a}} for a in args[1:]]))
        for first, _ in calls:  # first fragments in index order
            items.append(stream_choice(index, {"tool_calls": [first]}))
        queues = [list(rest) for _, rest in calls]
        while any(queues):
            live = [q for q in queues if q]
            items.append(
                stream_choice(index, {"tool_calls": [live[draw(st.integers(0, len(live) - 1))].pop(0)]})
            )
    finish = "tool_calls" if with_tools else "stop"
    if items and draw(st.booleans()):
        items[-1]["finish_reason"] = finish
    else:
        items.append(stream_choice(index, {}, finish=finish))
    return opening, items


@st.composite
def sdk_safe_streams(draw: Any) -> tuple[bytes, list[dict[str, Any]]]:
    n = draw(st.integers(1, 3))
    plans = [draw(choice_plan(i)) for i in range(n)]
    header = {
        "id": "chatcmpl-" + draw(NAMES),
        "object": "chat.completion.chunk",
        "created": draw(st.integers(1, 2**31)),
        "model": draw(st.sampled_from(["gpt-4o-2024-08-06", "gpt-4o-mini"])),
        "system_fingerprint": "fp_" + draw(NAMES),
    }
    with_usage = draw(st.booleans())
    null_usage = with_usage and draw(st.booleans())
    chunks: list[dict[str, Any]] = [
        {**header, "choices": [stream_choice(i, opening) for i, (opening, _) in enumerate(plans)]}
    ]
    queues = [list(items) for _, items in plans]
    while any(queues):
        live = [q for q in queues if q]
        chunks.append({**header, "choices": [live[draw(st.integers(0, len(live) - 1))].pop(0)]})
    if null_usage:
        for c in chunks:
            c["usage"] = None
    if with_usage:
        p, c = draw(st.integers(0, 10**5)), draw(st.integers(0, 10**5))
        chunks.append(
            {
                **header,
                "choices": [],
                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
            }
        )
    ensure_ascii = draw(st.booleans())
    out = []
    for c in chunks:
        eol = draw(st.sampled_from([b"\n", b"\r", b"\r\n"]))
        if draw(st.integers(0, 5)) == 0:
            out.append(b": keep-alive" + eol)
        out.append(b"data: " + json.dumps(c, ensure_ascii=ensure_ascii).encode() + eol + eol)
    out.append(b"data: [DONE]\n\n")
    return b"".join(out), chunks


def sdk_final(stream: bytes, pieces: list[bytes]) -> Any:
    state = ChatCompletionStreamState()
    for sse in OpenAISSEDecoder().iter_bytes(iter(pieces)):
        if sse.data.startswith("[DONE]"):
            break
        state.handle_chunk(construct_type(type_=OpenAIChunk, value=json.loads(sse.data)))
    return state.get_final_completion()


def tokens(items: Any) -> Any:
    if items is None:
        return None
    return [(t.token, t.logprob, t.bytes) for t in items]


def summary(completion: Any) -> dict[str, Any]:
    """The fields both accumulators must agree on, read through the SDK-style attribute names."""
    usage = completion.usage
    out: dict[str, Any] = {
        "id": completion.id,
        "model": completion.model,
        "created": completion.created,
        "system_fingerprint": completion.system_fingerprint,
        "usage": None
        if usage is None
        else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        "choices": [],
    }
    for c in completion.choices:
        m = c.message
        calls = None
        if m.tool_calls:
            calls = [(t.id, t.type, t.function.name, t.function.arguments) for t in m.tool_calls]
        lp = c.logprobs
        out["choices"].append(
            {
                "index": c.index,
                "role": m.role,
                "content": m.content,
                "refusal": m.refusal,
                "tool_calls": calls,
                "finish_reason": c.finish_reason,
                "logprobs": None if lp is None else (tokens(lp.content), tokens(lp.refusal)),
            }
        )
    return out


@SETTINGS
@given(case=sdk_safe_streams(), data=st.data())
def test_same_result_as_the_official_sdk(backend, case, data):
    stream, chunks = case
    cut = data.draw(st.lists(st.integers(0, len(stream)), max_size=6).map(sorted))
    pieces = [stream[a:b] for a, b in zip([0, *cut], [*cut, len(stream)], strict=True)]
    ours = summary(backend.merge(pieces))
    theirs = summary(sdk_final(stream, pieces))
    assert ours == theirs
    # and both agree with what was sent
    assert ours["id"] == chunks[0]["id"]
    assert len(ours["choices"]) == len(chunks[0]["choices"])


def test_sdk_oracle_on_a_hand_written_stream(backend):
    head = {"id": "chatcmpl-h", "object": "chat.completion.chunk", "created": 5, "model": "gpt-4o"}
    chunks = [
        {**head, "choices": [stream_choice(0, {"role": "assistant", "content": "", "refusal": None})]},
        {**head, "choices": [stream_choice(0, {"content": 'Say "hi"\n'})]},
        {**head, "choices": [stream_choice(0, {}, finish="stop")]},
        {**head, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ]
    stream = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    ours = summary(backend.merge(stream))
    assert ours == summary(sdk_final(stream, [stream]))
    assert ours["choices"][0]["content"] == 'Say "hi"\n'
    assert ours["usage"] == (3, 4, 7)
