"""Generated streams merged by ssedelta must equal a small, independent model of DESIGN.md's merge rules.

The model below works on the chunk dicts the strategy builds (not on ssedelta's objects) and gives
the expected ``to_dict()`` of the merged completion. The same streams, encoded with every line
ending, escape style and framing variant, are also fed in random pieces.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------ the model of the merge rules

TOP_KNOWN = {
    "id",
    "object",
    "created",
    "model",
    "choices",
    "service_tier",
    "system_fingerprint",
    "usage",
    "moderation",
    "obfuscation",
}
CHOICE_KNOWN = {"index", "delta", "logprobs", "finish_reason"}
DELTA_KNOWN = {"role", "content", "refusal", "tool_calls", "function_call", "audio", "annotations"}
SCALAR_DELTA_KEYS = {"channel", "type"}


class ModelTool:
    def __init__(self, index: int | None) -> None:
        self.index = index
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments = ""


class ModelChoice:
    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: str | None = None
        self.refusal: str | None = None
        self.tools: list[ModelTool] = []
        self.tool_at: dict[int, ModelTool] = {}
        self.last_tool: ModelTool | None = None
        self.finish_reason: str | None = None
        self.logprobs_seen = False
        self.lp_content: list[Any] | None = None
        self.lp_refusal: list[Any] | None = None
        self.extras: dict[str, Any] = {}
        self.message_extras: dict[str, Any] = {}
        self.details: list[dict[str, Any]] | None = None
        self.detail_at: dict[int, dict[str, Any]] = {}


def last_non_null(acc: dict[str, Any], key: str, value: Any) -> None:
    if value is not None or key not in acc:
        acc[key] = value


def first_non_empty(current: Any, value: Any) -> Any:
    if value is None:
        return current
    if current is None or (not current and value):
        return value
    return current


def model_merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The expected ``to_dict()`` of merging ``chunks``, from DESIGN.md "Merge semantics"."""
    head: dict[str, Any] = {"id": None, "created": None, "model": None, "service_tier": None}
    fingerprint = usage = groq_usage = None
    extras: dict[str, Any] = {}
    choices: dict[int, ModelChoice] = {}
    for c in chunks:
        for key in head:
            head[key] = first_non_empty(head[key], c.get(key))
        if c.get("system_fingerprint") is not None:
            fingerprint = c["system_fingerprint"]
        if c.get("usage") is not None:
            usage = c["usage"]
        groq = c.get("x_groq")
        if isinstance(groq, dict) and groq.get("usage") is not None:
            groq_usage = groq["usage"]
        for key, value in c.items():
            if key not in TOP_KNOWN:
                last_non_null(extras, key, value)
        for ch in c.get("choices") or []:
            state = choices.setdefault(ch["index"], ModelChoice(ch["index"]))
            merge_choice(state, ch)
    out: dict[str, Any] = {
        "id": head["id"],
        "object": "chat.completion",
        "created": head["created"],
        "model": head["model"],
        "choices": [finish_choice(choices[i]) for i in sorted(choices)],
    }
    if head["service_tier"] is not None:
        out["service_tier"] = head["service_tier"]
    if fingerprint is not None:
        out["system_fingerprint"] = fingerprint
    if usage is not None or groq_usage is not None:
        out["usage"] = usage if usage is not None else groq_usage
    out.update(extras)
    return out


def merge_choice(state: ModelChoice, ch: dict[str, Any]) -> None:
    delta = ch.get("delta") or {}
    for key, value in delta.items():
        if key == "role":
            if state.role is None and value:
                state.role = value
        elif key == "content":
            if value is not None:
                state.content = (state.content or "") + value
        elif key == "refusal":
            if value is not None:
                state.refusal = (state.refusal or "") + value
        elif key == "tool_calls":
            for fragment in value or []:
                merge_tool(state, fragment)
        elif key == "reasoning_details" and value is not None:
            merge_details(state, value)
        elif value is None:
            state.message_extras.setdefault(key, None)
        elif isinstance(value, str) and key not in SCALAR_DELTA_KEYS:
            previous = state.message_extras.get(key)
            state.message_extras[key] = (previous if isinstance(previous, str) else "") + value
        else:
            state.message_extras[key] = value
    if ch.get("finish_reason") is not None:
        state.finish_reason = ch["finish_reason"]
    logprobs = ch.get("logprobs")
    if logprobs is not None:
        state.logprobs_seen = True
        if logprobs.get("content") is not None:
            state.lp_content = (state.lp_content or []) + logprobs["content"]
        if logprobs.get("refusal") is not None:
            state.lp_refusal = (state.lp_refusal or []) + logprobs["refusal"]
    for key, value in ch.items():
        if key not in CHOICE_KNOWN:
            last_non_null(state.extras, key, value)


def merge_details(state: ModelChoice, fragments: list[dict[str, Any]]) -> None:
    """Items keyed by (index, type); a fragment without a type continues the item the
    latest fragment at its index went to. Output sorted by index, then arrival."""
    if state.details is None:
        state.details = []
    for fragment in fragments:
        index, kind = fragment["index"], fragment.get("type")
        if kind is None:
            item = state.detail_at.get(index)
        else:
            item = next((d for d in state.details if d["index"] == index and d.get("type") == kind), None)
        if item is None:
            item = {}
            state.details.append(item)
        state.detail_at[index] = item
        for key, value in fragment.items():
            if isinstance(value, str) and key not in SCALAR_DELTA_KEYS | {"format"}:
                item[key] = item.get(key, "") + value
            else:
                item[key] = value
    state.message_extras["reasoning_details"] = sorted(state.details, key=lambda d: d["index"])


def merge_tool(state: ModelChoice, fragment: dict[str, Any]) -> None:
    index = fragment.get("index")
    call_id = fragment.get("id")
    tool = state.tool_at.get(index) if index is not None else state.last_tool
    if tool is None or (call_id and tool.id and call_id != tool.id):
        tool = ModelTool(index)
        state.tools.append(tool)
        if index is not None:
            state.tool_at[index] = tool
    state.last_tool = tool
    if call_id and not tool.id:
        tool.id = call_id
    if fragment.get("type") and not tool.type:
        tool.type = fragment["type"]
    function = fragment.get("function") or {}
    if function.get("name") and not tool.name:
        tool.name = function["name"]
    if function.get("arguments") is not None:
        tool.arguments += function["arguments"]


def finish_choice(state: ModelChoice) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": state.role or "assistant",
        "content": state.content,
        "refusal": state.refusal,
    }
    if state.tools:
        tools = state.tools
        if all(t.index is not None for t in tools):
            tools = sorted(tools, key=lambda t: t.index)  # type: ignore[arg-type,return-value]
        message["tool_calls"] = [
            {"id": t.id, "type": t.type or "function", "function": {"name": t.name, "arguments": t.arguments}}
            for t in tools
        ]
    message.update(state.message_extras)
    logprobs = None
    if state.logprobs_seen:
        logprobs = {"content": state.lp_content, "refusal": state.lp_refusal}
    out = {
        "index": state.index,
        "message": message,
        "logprobs": logprobs,
        "finish_reason": state.finish_reason,
    }
    out.update(state.extras)
    return out


# ------------------------------------------------------------------ stream generation

SPECIAL_TEXT = [
    "[DONE]",
    " [DONE] ",
    "data: [DONE]\n\n",
    "\r\n\r\n",
    "\r",
    '"',
    "\\",
    '\\"',
    "\\u0000",
    "\u2028\u2029",
    "\x85",
    "\ufeff",
    "\x00",
    "é",
    "日本語",
    "𝄞😀",
    "",
]
CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.one_of(st.text(CHARS, max_size=8), st.sampled_from(SPECIAL_TEXT))
NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"), min_size=1, max_size=6)


@st.composite
def token_logprobs(draw: Any) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        token = draw(TEXT)
        logprob = draw(st.sampled_from([-0.5, -1.25, 0.0, -9999.0, -0.001]))
        tops = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
        out.append({"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": tops})
    return out


def choice_dict(index: int, delta: dict[str, Any] | None = None, **rest: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index, "delta": delta if delta is not None else {}}
    out["logprobs"] = rest.pop("logprobs", None)
    out["finish_reason"] = rest.pop("finish_reason", None)
    out.update(rest)
    return out


@st.composite
def tool_fragments(draw: Any, mode: str) -> list[list[dict[str, Any]]]:
    """The tool_calls lists of successive deltas: parallel calls with id and name on the first fragment.

    ``mode``: "indexed" (OpenAI), "unindexed" (Gemini / Mistral: no index, one call after the
    other) or "reused" (Ollama: every whole call at index 0 with a new id).
    """
    count = draw(st.integers(0, 3))
    if mode == "reused":
        return [
            [
                {
                    "index": 0,
                    "id": f"call_{k}_{draw(NAMES)}",
                    "type": "function",
                    "function": {"name": draw(NAMES), "arguments": draw(TEXT)},
                }
            ]
            for k in range(count)
        ]
    unindexed = mode == "unindexed"
    calls = []
    for k in range(count):
        pieces = draw(st.lists(TEXT, min_size=1, max_size=4))
        call_id = f"call_{k}_{draw(NAMES)}"
        first: dict[str, Any] = {
            "id": call_id,
            "type": "function",
            "function": {"name": draw(NAMES), "arguments": pieces[0]},
        }
        rest: list[dict[str, Any]] = [{"function": {"arguments": p}} for p in pieces[1:]]
        if not unindexed:
            first = {"index": k, **first}
            rest = [{"index": k, **r} for r in rest]
        calls.append([first, *rest])
    if unindexed:  # one call after the other (Gemini / Mistral)
        return [[f] for call in calls for f in call]
    lists: list[list[dict[str, Any]]] = []
    queues = [list(c) for c in calls]
    while any(queues):
        live = [q for q in queues if q]
        q = live[draw(st.integers(0, len(live) - 1))]
        group = [q.pop(0)]
        if draw(st.booleans()) and any(queues):  # several fragments (maybe of one call) in one delta
            live = [q for q in queues if q]
            group.append(live[draw(st.integers(0, len(live) - 1))].pop(0))
        lists.append(group)
    return lists


DETAIL_FIELDS = {"reasoning.text": "text", "reasoning.summary": "summary", "reasoning.encrypted": "data"}


@st.composite
def detail_fragments(draw: Any) -> list[list[dict[str, Any]]]:
    """``reasoning_details`` lists of one stream: indexes 0 and 1, a type changing at one index,
    fragments without a type (and an empty list now and then, as OpenRouter sends)."""
    groups = []
    for _ in range(draw(st.integers(1, 4))):
        group = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from([*DETAIL_FIELDS, None]))
            fragment: dict[str, Any] = {} if kind is None else {"type": kind}
            fragment[DETAIL_FIELDS.get(kind, "text")] = draw(TEXT)  # type: ignore[arg-type]
            fragment["format"] = "openai-responses-v1"
            fragment["index"] = draw(st.integers(0, 1))
            group.append(fragment)
        groups.append(group)
    return groups


@st.composite
def choice_sequence(draw: Any, index: int) -> list[dict[str, Any]]:
    """The stream choices of one choice index, in order."""
    role_mode = draw(st.sampled_from(["first", "every", "none"]))
    with_logprobs = draw(st.booleans())
    items: list[dict[str, Any]] = []
    for text in draw(st.lists(TEXT, max_size=5)):
        lp = {"content": draw(token_logprobs()), "refusal": None} if with_logprobs else None
        items.append(choice_dict(index, {"content": text}, logprobs=lp))
    if draw(st.integers(0, 3)) == 0:
        for text in draw(st.lists(TEXT, min_size=1, max_size=3)):
            lp = {"content": None, "refusal": draw(token_logprobs())} if with_logprobs else None
            items.append(choice_dict(index, {"refusal": text}, logprobs=lp))
    if draw(st.booleans()):
        reasoning = [
            choice_dict(index, {"reasoning_content": t}) for t in draw(st.lists(TEXT, min_size=1, max_size=3))
        ]
        items = reasoning + items
    if draw(st.integers(0, 2)) == 0:  # OpenRouter: reasoning_details, types changing at one index
        details = [choice_dict(index, {"reasoning_details": group}) for group in draw(detail_fragments())]
        items = details + items
    if draw(st.booleans()):
        mode = draw(st.sampled_from(["indexed", "indexed", "unindexed", "reused"]))
        items += [choice_dict(index, {"tool_calls": group}) for group in draw(tool_fragments(mode))]
    if draw(st.booleans()):  # provider extras at delta and choice level
        for item in items:
            if draw(st.integers(0, 2)) == 0:
                item["delta"]["channel"] = draw(st.sampled_from(["analysis", "final"]))
            if draw(st.integers(0, 2)) == 0:
                item["stop_reason"] = draw(st.one_of(st.none(), st.integers(0, 99), NAMES))
    first = {"role": "assistant"}
    if draw(st.booleans()):
        first["content"] = draw(st.sampled_from(["", None]))
        first["refusal"] = None
    if role_mode != "none":
        items.insert(0, choice_dict(index, first))
    if role_mode == "every":
        for item in items:
            item["delta"].setdefault("role", "assistant")
    reason = draw(
        st.sampled_from(
            [None, "stop", "length", "tool_calls", "content_filter", "insufficient_system_resource"]
        )
    )
    if reason is not None:
        if draw(st.booleans()) and items:
            items[-1]["finish_reason"] = reason
        else:
            items.append(choice_dict(index, {}, finish_reason=reason))
    if not items:
        items.append(choice_dict(index, {}))
    return items


USAGES = st.builds(
    lambda p, c, extra: {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        **(
            {"completion_tokens_details": {"reasoning_tokens": c // 2}, "prompt_cache_hit_tokens": p}
            if extra
            else {}
        ),
    },
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.booleans(),
)


@st.composite
def chunk_lists(draw: Any) -> list[dict[str, Any]]:
    indexes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True))
    queues = [draw(choice_sequence(i)) for i in indexes]
    header = {
        "id": "chatcmpl-" + draw(NAMES),
        "object": "chat.completion.chunk",
        "created": draw(st.integers(1, 2**31)),
        "model": draw(st.sampled_from(["gpt-4o", "deepseek-reasoner", "llama-3"])),
    }
    fingerprints = draw(st.sampled_from(["absent", "constant", "varying"]))
    tier = draw(st.sampled_from([None, "default", "flex", "on_demand"]))
    provider = draw(st.booleans())
    usage_mode = draw(st.sampled_from(["none", "final", "final-then-null", "cumulative", "groq"]))
    chunks: list[dict[str, Any]] = []
    if draw(st.integers(0, 4)) == 0:  # Azure prompt filter chunk
        chunks.append(
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
            }
        )
    while any(queues):
        live = [q for q in queues if q]
        picked = [live[draw(st.integers(0, len(live) - 1))].pop(0)]
        others = [q for q in queues if q and q[0]["index"] != picked[0]["index"]]
        if others and draw(st.integers(0, 3)) == 0:
            picked.append(others[draw(st.integers(0, len(others) - 1))].pop(0))
        c: dict[str, Any] = {**header, "choices": picked}
        if fingerprints == "constant":
            c["system_fingerprint"] = "fp_1"
        elif fingerprints == "varying":
            c["system_fingerprint"] = draw(st.sampled_from(["fp_1", "fp_2", None]))
        if tier is not None:
            c["service_tier"] = tier
        if provider:
            c["provider"] = draw(st.sampled_from(["A", "B", None]))
        if usage_mode in ("final", "final-then-null") and draw(st.booleans()):
            c["usage"] = None
        if usage_mode == "cumulative":
            c["usage"] = draw(USAGES)
        if draw(st.integers(0, 5)) == 0:
            c["obfuscation"] = draw(NAMES)
        chunks.append(c)
    if usage_mode in ("final", "final-then-null"):
        chunks.append({**header, "choices": [], "usage": draw(USAGES)})
        if usage_mode == "final-then-null":
            chunks.append({**header, "choices": [], "usage": None})
    if usage_mode == "groq":
        groq = draw(USAGES)
        chunks[-1]["x_groq"] = {"id": "req_1", "usage": {**groq, "queue_time": 0.5, "total_time": 0.25}}
    return chunks


KEEPALIVES = [b": ping", b"data: : keepalive", b"data:", b"data:   ", b": OPENROUTER PROCESSING"]


@st.composite
def encoded_streams(draw: Any) -> tuple[bytes, list[dict[str, Any]]]:
    """SSE bytes and the chunk dicts they carry (those before ``[DONE]``)."""
    chunks = draw(chunk_lists())
    ensure_ascii = draw(st.booleans())
    compact = draw(st.booleans())
    eol_style = draw(st.sampled_from(["\n", "\r", "\r\n", "mixed"]))
    out = [b"\xef\xbb\xbf"] if draw(st.integers(0, 5)) == 0 else []

    def eol() -> bytes:
        style = eol_style if eol_style != "mixed" else draw(st.sampled_from(["\n", "\r", "\r\n"]))
        return style.encode()

    for c in chunks:
        if draw(st.integers(0, 4)) == 0:
            keepalive = draw(st.sampled_from(KEEPALIVES))
            end = eol()
            out.append(keepalive + end + (b"" if keepalive == b": ping" else end))
        end = eol()
        lines = []
        if draw(st.integers(0, 5)) == 0:
            lines.append(b"id: " + str(draw(st.integers(0, 99))).encode())
        if draw(st.integers(0, 5)) == 0:  # multi-line data, joined with "\n" by the tokenizer
            text = json.dumps(c, ensure_ascii=ensure_ascii, indent=1)
            lines += [b"data: " + line.encode() for line in text.split("\n")]
        else:
            separators = (",", ":") if compact else (", ", ": ")
            text = json.dumps(c, ensure_ascii=ensure_ascii, separators=separators)
            lines.append((b"data: " if draw(st.booleans()) else b"data:") + text.encode())
        out.append(end.join(lines) + end + end)
    tail = draw(st.sampled_from(["done", "done-then-garbage", "eof"]))
    if tail != "eof":
        end = eol()
        out.append(b"data: [DONE]" + end + end)
    if tail == "done-then-garbage":
        out.append(b"data: {garbage\n\n" + b"data: " + json.dumps(chunks[0]).encode() + b"\n\n")
    return b"".join(out), chunks


@st.composite
def splits(draw: Any, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    if draw(st.integers(0, 4)) == 0:  # many tiny reads
        cuts = sorted(set(cuts) | set(range(0, len(data), draw(st.integers(1, 7)))))
    pieces = []
    start = 0
    for cut in [*cuts, len(data)]:
        pieces.append(data[start:cut])
        start = cut
    return pieces


# ------------------------------------------------------------------ properties


def test_model_agrees_with_a_hand_computed_example():
    base = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**base, "id": "", "created": 0, "choices": []},
        {
            **base,
            "choices": [
                choice_dict(1, {"role": "assistant", "content": "b"}),
                choice_dict(0, {"content": "a"}),
            ],
        },
        {
            **base,
            "choices": [
                choice_dict(
                    0,
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{"},
                            }
                        ]
                    },
                )
            ],
        },
        {
            **base,
            "choices": [
                choice_dict(
                    0, {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}, finish_reason="stop"
                )
            ],
        },
        {**base, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
        {**base, "choices": [], "usage": None},
    ]
    assert model_merge(chunks) == {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "a",
                    "refusal": None,
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                "logprobs": None,
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {"role": "assistant", "content": "b", "refusal": None},
                "logprobs": None,
                "finish_reason": None,
            },
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


@SETTINGS
@given(case=encoded_streams())
def test_generated_streams_merge_as_the_model_says(backend, case):
    stream, chunks = case
    expected = model_merge(chunks)
    assert backend.merge(stream).to_dict() == expected
    decoded = list(backend.iter_chunks(stream))
    assert [c.to_dict() for c in decoded] == chunks
    merger = backend.DeltaMerger()
    for c in decoded:
        merger.add(c)
    assert merger.finish().to_dict() == expected


@SETTINGS
@given(data=st.data())
def test_random_splits_give_the_same_result(backend, data):
    stream, chunks = data.draw(encoded_streams())
    pieces = data.draw(splits(stream))
    assert b"".join(pieces) == stream
    expected = model_merge(chunks)
    assert backend.merge(pieces).to_dict() == expected
    assert backend.merge(iter(pieces)).to_dict() == expected
    assert [c.to_dict() for c in backend.iter_chunks(pieces)] == chunks

    # fed incrementally: every snapshot equals the model of the chunks complete so far
    decoder = backend.ChunkDecoder()
    merger = backend.DeltaMerger()
    seen: list[dict[str, Any]] = []
    for piece in pieces:
        seen += [c.to_dict() for c in decoder.feed(piece)]
        merger.feed(piece)
        assert merger.snapshot().to_dict() == model_merge(seen)
    seen += [c.to_dict() for c in decoder.close()]
    assert seen == chunks
    assert merger.finish().to_dict() == expected
