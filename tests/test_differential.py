"""The native core and the pure-Python twin must agree on every input.

Random streams of chat completion chunks (content with escapes, non-ASCII and
astral characters, tool calls, logprobs, n > 1, provider extras, keep-alives,
each line-ending style, JSON written compactly, spaced out or ASCII-escaped),
some of them corrupted byte by byte, are fed to both backends in random
pieces: the merged completions, the chunk lists, the events and the errors
(class, offset, event index) must be equal.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(['"', "\\", "\n", "\t", "é", "日", "😀", "\u2028", "\x00", "\x7f", "/"]),
    max_size=12,
)
SMALL_INT = st.integers(min_value=0, max_value=3)


@st.composite
def tool_calls(draw: Any) -> list[dict[str, Any]]:
    calls = []
    for _ in range(draw(st.integers(1, 2))):
        call: dict[str, Any] = {}
        if draw(st.booleans()) or draw(st.booleans()):
            call["index"] = draw(SMALL_INT)
        if draw(st.booleans()):
            call["id"] = draw(st.sampled_from(["call_a", "call_b", "", "call_\u00e9"]))
        if draw(st.booleans()):
            call["type"] = "function"
        function: dict[str, Any] = {}
        if draw(st.booleans()):
            function["name"] = draw(st.sampled_from(["f", "get_weather", ""]))
        if draw(st.booleans()):
            function["arguments"] = draw(TEXT)
        if draw(st.integers(0, 5)) == 0:
            function["x_meta"] = draw(st.sampled_from([1, None, "s", {"k": [1, 2]}]))
        if function or draw(st.booleans()):
            call["function"] = function if function or draw(st.booleans()) else None
        if draw(st.integers(0, 6)) == 0:
            call["extra_content"] = {"google": {"thought_signature": draw(TEXT)}}
        calls.append(call)
    return calls


TOKEN = st.fixed_dictionaries(
    {
        "token": TEXT,
        "logprob": st.floats(-20, 0, allow_nan=False),
        "bytes": st.none() | st.lists(st.integers(0, 255), max_size=3),
    },
    optional={
        "top_logprobs": st.lists(
            st.fixed_dictionaries({"token": TEXT, "logprob": st.floats(-20, 0), "bytes": st.none()}),
            max_size=2,
        )
    },
)


DETAIL_FIELDS = {"reasoning.text": "text", "reasoning.summary": "summary", "reasoning.encrypted": "data"}


@st.composite
def reasoning_details(draw: Any) -> list[Any]:
    """A ``reasoning_details`` list: items keyed by (index, type), types changing at one index,
    some items without a type, without an index, or not objects at all."""
    items: list[Any] = []
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from([*DETAIL_FIELDS, None, 7]))
        item: dict[str, Any] = {} if kind is None else {"type": kind}
        item[DETAIL_FIELDS.get(kind, "text")] = draw(TEXT)  # type: ignore[arg-type]
        if draw(st.booleans()):
            item["format"] = draw(st.sampled_from(["anthropic-claude-v1", "openai-responses-v1", None]))
        if draw(st.integers(0, 5)):
            item["index"] = draw(st.integers(0, 1))
        items.append(item if draw(st.integers(0, 9)) else draw(st.sampled_from(["x", 1, None])))
    return items


@st.composite
def deltas(draw: Any) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "role",
                    "content",
                    "refusal",
                    "tool_calls",
                    "reasoning_content",
                    "reasoning",
                    "channel",
                    "reasoning_details",
                    "token_id",
                    "function_call",
                    "annotations",
                    "audio",
                ]
            ),
            max_size=4,
            unique=True,
        )
    ):
        if key == "role":
            delta[key] = draw(st.sampled_from(["assistant", "", None]))
        elif key in ("content", "refusal", "reasoning_content", "reasoning", "channel"):
            delta[key] = draw(st.none() | TEXT)
        elif key == "tool_calls":
            delta[key] = draw(tool_calls())
        elif key == "reasoning_details":
            delta[key] = draw(reasoning_details())
        elif key == "token_id":
            delta[key] = draw(st.integers(0, 1000))
        elif key == "function_call":
            delta[key] = {"name": "f", "arguments": draw(TEXT)}
        elif key == "annotations":
            delta[key] = [
                {
                    "type": "url_citation",
                    "url_citation": {"url": "u", "title": draw(TEXT), "start_index": 0, "end_index": 1},
                }
            ]
        elif key == "audio":
            delta[key] = {"id": "a", "data": draw(TEXT), "transcript": draw(TEXT)}
    return delta


@st.composite
def chunks(draw: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {}
    header = draw(st.sampled_from([0, 0, 0, 1, 2]))
    if header == 0:
        chunk.update(
            id="chatcmpl-1",
            object="chat.completion.chunk",
            created=1700000000,
            model="gpt-x",
            system_fingerprint="fp_1",
        )
    elif header == 1:
        chunk.update(id="", object="", created=0, model="")
    choices = []
    for _ in range(draw(st.integers(0, 2))):
        choice: dict[str, Any] = {"index": draw(SMALL_INT)}
        if draw(st.integers(0, 8)):
            choice["delta"] = draw(deltas())
        choice["logprobs"] = (
            {"content": draw(st.lists(TOKEN, max_size=2)), "refusal": None}
            if draw(st.integers(0, 6)) == 0
            else None
        )
        choice["finish_reason"] = draw(st.sampled_from([None, None, None, "stop", "length", "tool_calls"]))
        if draw(st.integers(0, 6)) == 0:
            choice["content_filter_results"] = {"hate": {"filtered": False}}
        choices.append(choice)
    if draw(st.integers(0, 10)):
        chunk["choices"] = choices
    if draw(st.integers(0, 6)) == 0:
        chunk["usage"] = {"prompt_tokens": 1, "completion_tokens": draw(SMALL_INT), "total_tokens": 4}
    if draw(st.integers(0, 8)) == 0:
        chunk["obfuscation"] = draw(TEXT)
    if draw(st.integers(0, 8)) == 0:
        chunk["provider"] = draw(st.sampled_from(["A", None, 3]))
    if draw(st.integers(0, 20)) == 0:
        chunk["error"] = {"message": "boom", "code": 500}
    return chunk


def encode(chunk: dict[str, Any], style: int) -> bytes:
    if style == 0:
        text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)
    elif style == 1:
        text = json.dumps(chunk, ensure_ascii=True)
    else:
        text = json.dumps(chunk, indent=None, separators=(", ", " : "), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def streams(draw: Any) -> bytes:
    eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    style = draw(st.integers(0, 2))
    parts = []
    for chunk in draw(st.lists(chunks(), min_size=1, max_size=6)):
        extra = draw(st.integers(0, 12))
        if extra == 0:
            parts.append(b": keep-alive" + eol + eol)
        elif extra == 1:
            parts.append(b"data: : ping" + eol + eol)
        elif extra == 2:
            parts.append(b"event: error" + eol)
        parts.append(b"data: " + encode(chunk, style) + eol + eol)
    if draw(st.booleans()):
        parts.append(b"data: [DONE]" + eol + eol)
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 2))
        byte = draw(st.sampled_from([b"{", b"}", b'"', b"\\", b",", b"\xff", b"\xc3", b"1", b"]", b" "]))
        if op == 0:
            data[pos : pos + 1] = byte
        elif op == 1:
            data[pos:pos] = byte
        else:
            del data[pos]
    return bytes(data)


def split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = (
        sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
        if len(data) > 1
        else []
    )
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def merged(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    try:
        for piece in pieces:
            merger.feed(piece)
        return ("ok", merger.finish().to_dict())
    except ssedelta.UpstreamError as exc:
        return (
            "upstream",
            exc.error,
            exc.offset,
            exc.event_index,
            exc.partial.to_dict(),
            merger.snapshot().to_dict(),
        )
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, exc.offset, exc.event_index, merger.snapshot().to_dict())


def decoded(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    decoder = backend.ChunkDecoder()
    out: list[Any] = []
    try:
        for piece in pieces:
            out.extend(c.to_dict() for c in decoder.feed(piece))
        out.extend(decoder.close())
        return ("ok", out)
    except ssedelta.UpstreamError as exc:
        return ("upstream", out, exc.error, exc.offset, exc.event_index)
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, out, exc.offset, exc.event_index)


def events(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    decoder = backend.SSEDecoder()
    out = []
    for piece in pieces:
        out.extend(
            (e.event, e.payload, e.id, e.retry, e.raw, e.offset, e.data_offset) for e in decoder.feed(piece)
        )
    return out


NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=streams(), seed=st.integers(0, 2**16))
def test_backends_agree(data: bytes, seed: int) -> None:
    pieces = split(data, seed)
    expected = merged(PYTHON, [data])
    assert merged(NATIVE, pieces) == merged(PYTHON, pieces) == expected
    assert decoded(NATIVE, pieces) == decoded(PYTHON, pieces)
    assert events(NATIVE, pieces) == events(PYTHON, pieces)


FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e-7, -9999.0, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 1 / 3]
)


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(FLOATS, min_size=1, max_size=20),
    ints=st.lists(st.integers(-(10**17), 10**17), max_size=3),
)
def test_native_logprob_tokens_match_the_json_parser(values: list[float], ints: list[int]) -> None:
    from ssedelta.chat._merge_c import _tokens_from_json

    from ssedelta.chat.models import ChatCompletionTokenLogprob

    tokens = [
        {
            "token": "t",
            "logprob": value,
            "bytes": ints,
            "top_logprobs": [{"token": "u", "logprob": value, "bytes": None}],
        }
        for value in values
    ]
    for text in (json.dumps(tokens), json.dumps(tokens).replace("e-", "E-"), json.dumps(tokens, indent=1)):
        expected = [ChatCompletionTokenLogprob.from_dict(t) for t in json.loads(text)]
        got = _tokens_from_json(text.encode())
        assert got == expected
        assert [repr(t.logprob) for t in got] == [repr(t.logprob) for t in expected]
