"""Chunks whose varying values (text strings, unknown keys' values) come again with the bytes of
the chunk the native merger reuses the scan of, or with those bytes and more after them.

A value with the earlier chunk's bytes up to its end is taken as that chunk's value, escapes
included; one that only begins with them (a longer number, a longer string, a value followed by
bytes that are not JSON) is read again. The twin, which parses every payload, is the reference; the
native merger is fed each stream whole, byte by byte and in random pieces.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS

PYTHON = ssedelta.get_backend("python")


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def stream(*chunks: Any) -> bytes:
    return b"".join(c if isinstance(c, bytes) else data(c) for c in chunks) + b"data: [DONE]\n\n"


def chunk(content: str = "x", *, model: str = "m", finish: Any = None, choice: dict[str, Any] | None = None,
          delta: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "choices": [
            {
                "index": 0,
                **(choice or {}),
                "delta": {"content": content, **(delta or {})},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "model": model,
    }


def outcome(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    try:
        for piece in pieces:
            merger.feed(piece)
        return "ok", backend.to_dict(merger.finish())
    except ssedelta.UpstreamError as exc:
        return "upstream", exc.offset, backend.to_dict(exc.partial)
    except ssedelta.StreamFormatError as exc:
        return type(exc).__name__, exc.offset, exc.event_index, backend.to_dict(merger.snapshot())


def check(body: bytes, cuts: list[int] | None = None, reused_at_least: int = 0) -> Any:
    expected = outcome(PYTHON, [body])
    if NO_EXTENSIONS:
        return expected
    native = ssedelta.get_backend("native")
    assert outcome(native, [body]) == expected
    assert outcome(native, [body[i : i + 1] for i in range(len(body))]) == expected
    if cuts:
        at = sorted({c % (len(body) + 1) for c in cuts})
        pieces = [body[a:b] for a, b in zip([0, *at], [*at, len(body)], strict=True)]
        assert outcome(native, pieces) == expected
    merger = native.DeltaMerger()
    with contextlib.suppress(ssedelta.StreamFormatError):
        merger.feed(body)
    assert merger._sink.scanner.reused >= reused_at_least
    return expected


ESCAPED = ['a "quoted" b', "back \\ slash", "line\nbreak", "\u2028 and \x01", "é \\u00e9"]


@pytest.mark.parametrize("text", ESCAPED)
def test_a_repeated_escaped_string_is_unescaped_every_time(text: str) -> None:
    chunks = [chunk(text, model=text, finish=text, choice={"text": text}, delta={"reasoning": text})
              for _ in range(5)]  # fmt: skip
    result = check(stream(*chunks), reused_at_least=2)
    assert result[0] == "ok"
    choice = result[1]["choices"][0]
    assert choice["message"]["content"] == text * 5
    assert choice["message"]["reasoning"] == text * 5
    assert choice["finish_reason"] == text
    assert choice["text"] == text
    assert result[1]["model"] == text


def test_an_unescaped_string_after_an_escaped_one_with_the_same_length() -> None:
    chunks = [chunk('a\\"b'), chunk("a\\\\b"), chunk('a\\"b'), chunk("abcd"), chunk('a\\"b')]
    result = check(stream(*chunks), reused_at_least=2)
    assert result[1]["choices"][0]["message"]["content"] == 'a\\"ba\\\\ba\\"babcda\\"b'


RAW = [
    (b'"token_id":12', [b'"token_id":123', b'"token_id":12', b'"token_id":1.5', b'"token_id":12']),
    (b'"seed":null', [b'"seed":nullx', b'"seed":null', b'"seed":7']),
    (b'"stop_reason":"x"', [b'"stop_reason":"x2"', b'"stop_reason":"x"', b'"stop_reason":"x\\"']),
    (b'"filters":{"a":1}', [b'"filters":{"a":12}', b'"filters":{"a":1}', b'"filters":{"a":1}}',
                            b'"filters":{"a":1,"a":1}']),
    (b'"tags":[1,2]', [b'"tags":[1,2,3]', b'"tags":[1,2]', b'"tags":[1,2', b'"tags":[1,2]']),
    # objects and arrays whose string values change: compared with the earlier value but inside them
    (b'"details":[{"type":"t","text":"a","i":0}]',
     [b'"details":[{"type":"t","text":"ab\\n\\"","i":0}]', b'"details":[{"type":"u","text":"","i":0}]',
      b'"details":[{"type":"t","text":"a","i":1}]', b'"details":[{"type":"t","text":"a\x01","i":0}]',
      b'"details":[{"type":"t","text":"a\\x","i":0}]', b'"details":[{"type":"t","text":"a\xff","i":0}]',
      b'"details":[{"type":"t","txt":"a","i":0}]', b'"details":[{"type":"t","type":"a","i":0}]',
      b'"details":[{"type":"t","text":"a","i":0},"x"]', b'"details":[{"type":"t","text":"a","i":0}',
      b'"details":[{"type":"t","text":"a","i":0]}', b'"details":[{"type":"t","text":"a","i":x}]']),
    (b'"pair":["a",{"k":"b"}]',
     [b'"pair":["x",{"k":"y"}]', b'"pair":["x",{"k":"y"}', b'"pair":["x,{"k":"y"}]']),
]  # fmt: skip


def raw_chunk(member: bytes, where: str) -> bytes:
    """A chunk with ``member`` in the delta or in the choice, as bytes (it may not be JSON)."""
    delta = b'{"content":"x",' + member + b"}" if where == "delta" else b'{"content":"x"}'
    choice = b'{"index":0,' + (member + b"," if where == "choice" else b"") + b'"delta":' + delta
    choice += b',"logprobs":null,"finish_reason":null}'
    head = b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"choices":['
    return head + choice + b'],"model":"m"}\n\n'


@pytest.mark.parametrize("where", ["delta", "choice"])
@pytest.mark.parametrize(("first", "later"), RAW)
def test_a_raw_value_that_only_begins_with_the_earlier_bytes_is_read_again(
    first: bytes, later: list[bytes], where: str
) -> None:
    for bad in later:
        body = stream(*(raw_chunk(m, where) for m in [first, first, first, first, bad, first, first]))
        check(body, reused_at_least=1)


STRINGS = st.sampled_from(["", "a", "ab", 'a"', "a\\", "a\n", "é", "\u2028", "ab" * 20])
SMALL = st.none() | st.integers(0, 12) | STRINGS
VALUES = st.one_of(
    st.none(),
    st.integers(-3, 130),
    st.sampled_from([1.5, True, False]),
    STRINGS,
    st.dictionaries(st.sampled_from(["a", "b"]), SMALL, max_size=2),
    st.lists(SMALL, max_size=3),
)


@st.composite
def chunks(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A stream drawing every value from small pools, so that values come again often."""
    out = []
    for _ in range(draw(st.integers(2, 8))):
        choice = draw(st.dictionaries(st.sampled_from(["text", "seed", "stop_reason"]), VALUES, max_size=3))
        delta = draw(st.dictionaries(st.sampled_from(["token_id", "reasoning", "extra"]), VALUES, max_size=2))
        out.append(chunk(draw(STRINGS), model=draw(STRINGS), finish=draw(st.none() | STRINGS), choice=choice,
                         delta=delta))  # fmt: skip
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks(), st.lists(st.integers(0, 10_000), max_size=6))
def test_streams_of_repeated_values_match_the_twin(chunk_list: list[dict[str, Any]], cuts: list[int]) -> None:
    check(stream(*chunk_list), cuts)
