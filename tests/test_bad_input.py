"""Bad input: a typed error naming the stream offset and the event number, or a documented tolerant result.

Offsets are computed from the bytes each test builds: a payload error points at the first byte of
the event's first ``data`` value; ``event_index`` counts dispatched SSE events from 0 (keep-alive
``data`` events count, comment-only blocks do not).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import ssedelta
from ssedelta import (
    EventTooLargeError,
    InvalidChunkError,
    InvalidJSONError,
    SSEDeltaError,
    StreamFormatError,
    UpstreamError,
)

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-x"}


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**HEAD, "choices": list(choices), **top}


def choice(index: Any = 0, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


# Two good chunks, a comment-only block (not dispatched) and a keep-alive sent as data (dispatched,
# skipped): the next event is event number 3.
GOOD_1 = dumps(chunk(choice(role="assistant", content="Hi")))
GOOD_2 = dumps(chunk(choice(content=" there")))
PREFIX = event(GOOD_1) + b": ping\n\n" + event(GOOD_2) + b"data: : keepalive\n\n"
PREFIX_EVENTS = 3
AFTER = event(dumps(chunk(choice(content="never")))) + b"data: [DONE]\n\n"


def wrong(mutate: Any) -> bytes:
    obj = chunk(choice(content="x"))
    mutate(obj)
    return dumps(obj)


def _set(path: str, value: Any) -> Any:
    def mutate(obj: dict[str, Any]) -> None:
        target: Any = obj
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value

    return mutate


BAD_PAYLOADS = [
    pytest.param(
        b'{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hel', InvalidJSONError, id="truncated"
    ),
    pytest.param(b'{"id":"chatcmpl-1",}', InvalidJSONError, id="trailing-comma"),
    pytest.param(b"{nope}", InvalidJSONError, id="invalid-object"),
    pytest.param(b"hello world", InvalidJSONError, id="plain-text"),
    pytest.param(b"[DONE] trailing", InvalidJSONError, id="done-with-trailing-text"),
    pytest.param(b'{"a":1}{"b":2}', InvalidJSONError, id="two-objects"),
    pytest.param(b"[1, 2]", InvalidChunkError, id="array"),
    pytest.param(b'"chat.completion.chunk"', InvalidChunkError, id="string"),
    pytest.param(b"42", InvalidChunkError, id="number"),
    pytest.param(b"null", InvalidChunkError, id="null"),
    pytest.param(b"true", InvalidChunkError, id="boolean"),
    pytest.param(wrong(_set("choices.0.index", "0")), InvalidChunkError, id="choice-index-str"),
    pytest.param(wrong(_set("choices.0.index", 1.5)), InvalidChunkError, id="choice-index-float"),
    pytest.param(wrong(_set("choices", {})), InvalidChunkError, id="choices-object"),
    pytest.param(wrong(_set("choices", "x")), InvalidChunkError, id="choices-string"),
    pytest.param(wrong(_set("choices", [5])), InvalidChunkError, id="choice-number"),
    pytest.param(wrong(_set("choices.0.delta", [])), InvalidChunkError, id="delta-array"),
    pytest.param(wrong(_set("choices.0.delta", "x")), InvalidChunkError, id="delta-string"),
    pytest.param(wrong(_set("choices.0.delta.content", 5)), InvalidChunkError, id="content-number"),
    pytest.param(wrong(_set("choices.0.delta.refusal", ["x"])), InvalidChunkError, id="refusal-array"),
    pytest.param(wrong(_set("choices.0.delta.role", 5)), InvalidChunkError, id="role-number"),
    pytest.param(wrong(_set("choices.0.delta.tool_calls", {})), InvalidChunkError, id="tool-calls-object"),
    pytest.param(wrong(_set("choices.0.delta.tool_calls", [5])), InvalidChunkError, id="tool-call-number"),
    pytest.param(
        wrong(_set("choices.0.delta.tool_calls", [{"index": "0", "function": {"arguments": "{}"}}])),
        InvalidChunkError,
        id="tool-call-index-str",
    ),
    pytest.param(
        wrong(_set("choices.0.delta.tool_calls", [{"index": 0, "function": {"arguments": 5}}])),
        InvalidChunkError,
        id="tool-call-arguments-number",
    ),
    pytest.param(wrong(_set("choices.0.finish_reason", 5)), InvalidChunkError, id="finish-reason-number"),
    pytest.param(wrong(_set("choices.0.logprobs", "x")), InvalidChunkError, id="logprobs-string"),
    pytest.param(wrong(_set("usage", "x")), InvalidChunkError, id="usage-string"),
    pytest.param(wrong(_set("usage", [1])), InvalidChunkError, id="usage-array"),
    pytest.param(wrong(_set("created", "yesterday")), InvalidChunkError, id="created-string"),
    pytest.param(wrong(_set("model", 5)), InvalidChunkError, id="model-number"),
    pytest.param(wrong(_set("id", 5)), InvalidChunkError, id="id-number"),
]


def framed(payload: bytes, style: str) -> tuple[bytes, int]:
    """The bad event in one of several framings, and the offset of its first data byte in it."""
    if style == "plain":
        return b"data: " + payload + b"\n\n", 6
    if style == "no-space":
        return b"data:" + payload + b"\n\n", 5
    if style == "crlf":
        return b"data: " + payload + b"\r\n\r\n", 6
    if style == "cr":
        return b"data: " + payload + b"\r\r", 6
    if style == "fields-first":
        head = b": note\r\nevent: message\r\nid: 7\r\n"
        return head + b"data: " + payload + b"\r\n\r\n", len(head) + 6
    raise AssertionError(style)


def bad_stream(payload: bytes, style: str = "plain", bom: bool = False) -> tuple[bytes, int]:
    block, at = framed(payload, style)
    prefix = (b"\xef\xbb\xbf" if bom else b"") + PREFIX
    return prefix + block + AFTER, len(prefix) + at


def check(exc: BaseException, cls: type, offset: int, index: int | None) -> None:
    assert type(exc) is cls
    assert isinstance(exc, StreamFormatError)
    assert isinstance(exc, ValueError)
    assert isinstance(exc, SSEDeltaError)
    assert (exc.offset, exc.event_index) == (offset, index)


# ------------------------------------------------------------------ typed errors with positions


@pytest.mark.parametrize(("payload", "cls"), BAD_PAYLOADS)
def test_merge_raises_typed_error_at_the_data_offset(backend, payload, cls):
    stream, offset = bad_stream(payload)
    assert stream[offset : offset + len(payload)] == payload
    with pytest.raises(cls) as info:
        backend.merge(stream)
    check(info.value, cls, offset, PREFIX_EVENTS)


@pytest.mark.parametrize(("payload", "cls"), BAD_PAYLOADS)
def test_iter_chunks_yields_earlier_chunks_then_raises(backend, payload, cls):
    stream, offset = bad_stream(payload)
    seen = []
    with pytest.raises(cls) as info:
        for c in backend.iter_chunks(stream):
            seen.append(c.choices[0].delta.content)
    assert seen == ["Hi", " there"]
    check(info.value, cls, offset, PREFIX_EVENTS)


@pytest.mark.parametrize(("payload", "cls"), BAD_PAYLOADS)
def test_chunk_decoder_returns_earlier_chunks_then_raises_on_next_call(backend, payload, cls):
    stream, offset = bad_stream(payload)
    decoder = backend.ChunkDecoder()
    chunks = decoder.feed(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["Hi", " there"]
    with pytest.raises(cls) as info:
        decoder.feed(b"")
    check(info.value, cls, offset, PREFIX_EVENTS)
    with pytest.raises(cls) as again:
        decoder.close()
    check(again.value, cls, offset, PREFIX_EVENTS)


@pytest.mark.parametrize(("payload", "cls"), BAD_PAYLOADS)
def test_chunk_decoder_raises_at_once_when_no_chunk_came_first(backend, payload, cls):
    stream, offset = bad_stream(payload)
    decoder = backend.ChunkDecoder()
    assert len(decoder.feed(stream[:offset])) == 2
    with pytest.raises(cls) as info:
        decoder.feed(stream[offset:])
    check(info.value, cls, offset, PREFIX_EVENTS)
    with pytest.raises(cls):
        decoder.feed(b"data: {}\n\n")


@pytest.mark.parametrize("style", ["plain", "no-space", "crlf", "cr", "fields-first"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        pytest.param(b"{oops", InvalidJSONError, id="invalid-json"),
        pytest.param(b"[]", InvalidChunkError, id="array"),
        pytest.param(wrong(_set("choices.0.delta.content", 5)), InvalidChunkError, id="content-number"),
    ],
)
def test_offset_counts_every_byte_fed_whatever_the_framing(backend, style, bom, payload, cls):
    stream, offset = bad_stream(payload, style, bom)
    with pytest.raises(cls) as info:
        backend.merge(stream)
    check(info.value, cls, offset, PREFIX_EVENTS)
    decoder = backend.ChunkDecoder()
    with pytest.raises(cls) as info:
        for i in range(len(stream)):  # one byte at a time
            decoder.feed(stream[i : i + 1])
    check(info.value, cls, offset, PREFIX_EVENTS)


def test_offset_of_a_multi_line_payload_is_its_first_data_line(backend):
    stream = PREFIX + b'event: message\ndata: {"id":\ndata: oops}\n\n' + AFTER
    offset = stream.index(b'{"id":\n')
    for call in (backend.merge, lambda s: list(backend.iter_chunks(s))):
        with pytest.raises(InvalidJSONError) as info:
            call(stream)
        check(info.value, InvalidJSONError, offset, PREFIX_EVENTS)


def test_bad_first_event(backend):
    stream = b"data: {bad\n\n" + AFTER
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    check(info.value, InvalidJSONError, 6, 0)
    with pytest.raises(InvalidJSONError) as info:
        backend.ChunkDecoder().feed(stream)
    check(info.value, InvalidJSONError, 6, 0)


def test_events_without_data_lines_are_not_counted(backend):
    head = b"event: ping\n\nid: 3\n\nretry: 10\n\n: comment\n\n"
    stream = head + event(GOOD_1) + b"data: {bad\n\n"
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    check(info.value, InvalidJSONError, len(head) + len(event(GOOD_1)) + 6, 1)


def test_error_message_names_offset_and_event(backend):
    stream, offset = bad_stream(b"{oops")
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    text = str(info.value)
    assert str(offset) in text
    assert str(PREFIX_EVENTS) in text


# ------------------------------------------------------------------ event size cap


def test_event_over_max_event_size(backend):
    big = dumps(chunk(choice(content="x" * 1000)))
    stream = PREFIX + event(big) + AFTER
    assert max(len(event(GOOD_1)), len(event(GOOD_2))) < 300
    block_start = len(PREFIX)
    for call in (
        lambda s: backend.merge(s, max_event_size=500),
        lambda s: list(backend.iter_chunks(s, max_event_size=500)),
    ):
        with pytest.raises(EventTooLargeError) as info:
            call(stream)
        check(info.value, EventTooLargeError, block_start, PREFIX_EVENTS)
    decoder = backend.ChunkDecoder(max_event_size=500)
    assert [c.choices[0].delta.content for c in decoder.feed(stream)] == ["Hi", " there"]
    with pytest.raises(EventTooLargeError) as info:
        decoder.close()
    check(info.value, EventTooLargeError, block_start, PREFIX_EVENTS)


def test_event_too_large_is_raised_before_the_event_ends(backend):
    # Bounded memory: the error comes while the event is still growing, not at its end.
    stream = PREFIX + b"data: " + b"x" * 10_000
    decoder = backend.ChunkDecoder(max_event_size=1000)
    fed = 0
    with pytest.raises(EventTooLargeError) as info:
        for i in range(0, len(stream), 100):
            decoder.feed(stream[i : i + 100])
            fed = i + 100
    assert fed <= len(PREFIX) + 1200
    check(info.value, EventTooLargeError, len(PREFIX), PREFIX_EVENTS)


def test_event_too_large_without_a_data_line(backend):
    stream = PREFIX + b": " + b"c" * 5000 + b"\n\n" + AFTER
    with pytest.raises(EventTooLargeError) as info:
        backend.merge(stream, max_event_size=1000)
    check(info.value, EventTooLargeError, len(PREFIX), PREFIX_EVENTS)


def test_many_small_events_do_not_reach_the_cap(backend):
    stream = (
        b"".join(event(dumps(chunk(choice(content=str(i % 10))))) for i in range(300)) + b"data: [DONE]\n\n"
    )
    assert len(stream) > 20 * 1000
    result = backend.merge(stream, max_event_size=1000)
    assert result.choices[0].message.content == "0123456789" * 30


def test_default_cap_is_16_mib(backend):
    limit = 16 * 1024 * 1024
    ok = event(dumps(chunk(choice(content="y" * (limit // 2))))) + b"data: [DONE]\n\n"
    assert len(backend.merge(ok).choices[0].message.content) == limit // 2
    too_big = b"data: " + b"z" * (limit + 1024) + b"\n\n"
    decoder = backend.ChunkDecoder()
    with pytest.raises(EventTooLargeError) as info:
        for i in range(0, len(too_big), 1 << 20):
            decoder.feed(too_big[i : i + (1 << 20)])
    check(info.value, EventTooLargeError, 0, 0)


# ------------------------------------------------------------------ tolerated input


def test_huge_choice_index(backend):
    big = 10**12
    stream = event(dumps(chunk(choice(big, role="assistant", content="far")))) + b"data: [DONE]\n\n"
    (c,) = list(backend.iter_chunks(stream))
    assert c.choices[0].index == big
    (c,) = backend.ChunkDecoder().feed(stream)
    assert c.choices[0].index == big
    result = backend.merge(stream)
    assert [x.index for x in result.choices] == [big]
    assert result.choices[0].message.content == "far"


def test_index_beyond_64_bits_is_a_typed_error_or_kept(backend):
    stream = PREFIX + b'data: {"id":"x","choices":[{"index":' + b"9" * 30 + b',"delta":{"content":"a"}}]}\n\n'
    offset = len(PREFIX) + 6
    try:
        result = backend.merge(stream)
    except StreamFormatError as exc:
        check(exc, type(exc), offset, PREFIX_EVENTS)
    else:
        assert [c.index for c in result.choices] == [0, int("9" * 30)]


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, (list, dict)) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth + (1 if isinstance(value, (list, dict)) else 0)


def nested(kind: str, depth: int) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"k":' * depth + b"1" + b"}" * depth


def deep_payload(where: str, inner: bytes) -> bytes:
    if where == "top":
        return (
            b'{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"deep":'
            + inner
            + b"}"
        )
    return (
        b'{"id":"x","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"a","deep":' + inner + b"}}]}"
    )


@pytest.mark.parametrize("where", ["top", "delta"])
@pytest.mark.parametrize(("kind", "depth"), [("array", 100_000), ("array", 900), ("object", 900)])
def test_deep_nesting_is_a_typed_error_or_kept(backend, where, kind, depth):
    stream = PREFIX + event(deep_payload(where, nested(kind, depth))) + AFTER
    offset = len(PREFIX) + 6

    def kept(extras: dict[str, Any]) -> None:
        assert depth_of(extras["deep"]) == depth

    try:
        result = backend.merge(stream)
    except StreamFormatError as exc:
        check(exc, type(exc), offset, PREFIX_EVENTS)
    else:
        kept(result.extras if where == "top" else result.choices[0].message.extras)
    try:
        chunks = list(backend.iter_chunks(stream))
    except StreamFormatError as exc:
        check(exc, type(exc), offset, PREFIX_EVENTS)
    else:
        assert len(chunks) == 4
        deep = chunks[2]
        kept(deep.extras if where == "top" else deep.choices[0].delta.extras)


_DEEP_SCRIPT = textwrap.dedent(
    """
    import sys
    import ssedelta
    backend = ssedelta.get_backend(sys.argv[1])
    depth = 100_000
    inner = b'{"k":' * depth + b"1" + b"}" * depth
    stream = b'data: {"id":"x","choices":[],"deep":' + inner + b'}\\n\\n'
    for call in (backend.merge, lambda s: list(backend.iter_chunks(s))):
        try:
            call(stream)
        except ssedelta.StreamFormatError as exc:
            assert (exc.offset, exc.event_index) == (6, 0), (exc.offset, exc.event_index)
    print("survived")
    """
)


def test_deeply_nested_objects_never_crash_the_interpreter(backend):
    # Run in a child process: a stack overflow in a JSON parser would take the test session down.
    proc = subprocess.run(
        [sys.executable, "-c", _DEEP_SCRIPT, backend.name], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "survived"


def test_invalid_utf8_in_payload_becomes_replacement_characters(backend):
    payload = (
        b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"a\xffb\xe2\x82 c\xc3("}}]}'
    )
    stream = event(payload) + b"data: [DONE]\n\n"
    expected = "a\ufffdb\ufffd c\ufffd("
    assert backend.merge(stream).choices[0].message.content == expected
    (c,) = list(backend.iter_chunks(stream))
    assert c.choices[0].delta.content == expected
    decoder = backend.ChunkDecoder()
    got = [x for i in range(len(stream)) for x in decoder.feed(stream[i : i + 1])]
    assert [x.choices[0].delta.content for x in got] == [expected]


def test_invalid_utf8_in_invalid_json_is_still_invalid_json(backend):
    stream = PREFIX + b'data: {"id":"\xff\n\n' + AFTER
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream)
    check(info.value, InvalidJSONError, len(PREFIX) + 6, PREFIX_EVENTS)


def test_valid_utf8_split_across_pieces(backend):
    text = "héllo wörld ✓ 𝄞 日本"
    stream = event(dumps(chunk(choice(content=text)))) + b"data: [DONE]\n\n"
    pieces = [stream[i : i + 1] for i in range(len(stream))]
    assert backend.merge(pieces).choices[0].message.content == text


def test_nul_and_control_characters_in_strings(backend):
    text = "a\x00b\x01\x1f\u2028\u2029\x85z"
    stream = event(json.dumps(chunk(choice(content=text))).encode()) + b"data: [DONE]\n\n"
    assert backend.merge(stream).choices[0].message.content == text


# ------------------------------------------------------------------ pickling errors


def _errors(backend: Any) -> list[BaseException]:
    out: list[BaseException] = []
    for payload in (b"{oops", b"[1]"):
        stream, _ = bad_stream(payload)
        with pytest.raises(StreamFormatError) as info:
            backend.merge(stream)
        out.append(info.value)
    with pytest.raises(EventTooLargeError) as too_large:
        backend.merge(PREFIX + event(b"x" * 300), max_event_size=100)
    out.append(too_large.value)
    err = {"message": "boom", "code": 500}
    stream = PREFIX + event(dumps(chunk(choice(content="!"), error=err))) + AFTER
    with pytest.raises(UpstreamError) as up_merge:
        backend.merge(stream)
    out.append(up_merge.value)
    with pytest.raises(UpstreamError) as up_iter:
        list(backend.iter_chunks(stream))
    out.append(up_iter.value)
    return out


def test_errors_pickle_with_their_attributes(backend):
    for exc in _errors(backend):
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc)
        assert str(copy) == str(exc)
        assert copy.args == exc.args
        assert (copy.offset, copy.event_index) == (exc.offset, exc.event_index)
        if isinstance(exc, UpstreamError):
            assert copy.error == exc.error == {"message": "boom", "code": 500}
            assert copy.partial == exc.partial
            assert copy.chunk == exc.chunk


def test_upstream_error_attributes(backend):
    merged, iterated = _errors(backend)[-2:]
    stream_offset = len(PREFIX) + 6
    for exc in (merged, iterated):
        assert isinstance(exc, SSEDeltaError)
        assert (exc.offset, exc.event_index) == (stream_offset, PREFIX_EVENTS)
        assert "boom" in str(exc)
    assert merged.partial.choices[0].message.content == "Hi there!"
    assert iterated.chunk.choices[0].delta.content == "!"
    assert iterated.chunk.extras["error"] == {"message": "boom", "code": 500}


def test_error_classes():
    assert issubclass(StreamFormatError, SSEDeltaError)
    assert issubclass(StreamFormatError, ValueError)
    for cls in (InvalidJSONError, InvalidChunkError, EventTooLargeError):
        assert issubclass(cls, StreamFormatError)
    assert issubclass(UpstreamError, SSEDeltaError)
    assert ssedelta.StreamFormatError is StreamFormatError
