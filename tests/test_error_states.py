"""The state of every object after each error it can raise: failed, never half-updated.

``SSEDecoder``, ``ChunkDecoder`` and ``DeltaMerger`` are *failed* after an error: every later
``feed``/``close``/``finish`` (and ``add``) raises the very same exception object, and nothing
merged or returned afterwards comes from anywhere but the bytes fed before it. A tap never raises
for stream bytes: it records the error, stops merging and lets the pieces through. Each error kind
is raised by bytes built here, whose expected offsets are counted from those bytes. A call made
while another call into the same object runs raises ``ReentrantCallError`` (from a callback the
object runs, from another thread), and leaves the running call undisturbed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta import (
    EventTooLargeError,
    InvalidChunkError,
    InvalidJSONError,
    LimitExceededError,
    ReentrantCallError,
    SSEDeltaError,
    UpstreamError,
)
from ssedelta.gateway import AsyncTap, Tap


def ev(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


GOOD_1 = ev(b'{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}')
GOOD_2 = ev(b'{"id":"c","choices":[{"index":0,"delta":{"content":" there"}}]}')
DONE = ev(b"[DONE]")
PREFIX = GOOD_1  # one event before the bad bytes: the bad event is event 1
AT = len(PREFIX)


class Kind:
    """One way bytes make an object raise: the options, the bad bytes, the expected error."""

    def __init__(
        self,
        name: str,
        bad: bytes,
        cls: type[BaseException],
        offset: int,
        options: dict[str, Any] | None = None,
        limit: str | None = None,
    ) -> None:
        self.name = name
        self.bad = bad
        self.cls = cls
        self.offset = offset
        self.options = options or {}
        self.limit = limit

    def __repr__(self) -> str:
        return self.name


HUGE = 5000
# Errors of the tokenizer: every class that reads bytes raises them.
TOKENIZER_KINDS = [
    Kind(
        "event-too-large", ev(b"x" * 300), EventTooLargeError, AT, {"max_event_size": 120}, "max_event_size"
    ),
    Kind(
        "line-too-long",
        b": " + b"c" * 150 + b"\n\n",
        LimitExceededError,
        AT,
        {"max_line_size": 100},
        "max_line_size",
    ),
    Kind(
        "huge-id", b"id: " + b"i" * HUGE + b"\n" + ev(b"{}"), EventTooLargeError, AT, {"max_event_size": 120}
    ),
    Kind(
        "huge-event",
        b"event: " + b"e" * HUGE + b"\n" + ev(b"{}"),
        EventTooLargeError,
        AT,
        {"max_event_size": 120},
    ),
    Kind(
        "huge-retry",
        b"retry: " + b"9" * HUGE + b"\n" + ev(b"{}"),
        EventTooLargeError,
        AT,
        {"max_event_size": 120},
    ),
]
# Errors of a payload: the chunk decoder and the merger raise them.
PAYLOAD_KINDS = [
    Kind("invalid-json", ev(b"{nope}"), InvalidJSONError, AT + 6),
    Kind("invalid-json-utf8", ev(b'{"a":"\xff"'), InvalidJSONError, AT + 6),
    Kind("not-an-object", ev(b"[1]"), InvalidChunkError, AT + 6),
    Kind("invalid-chunk", ev(b'{"choices":5}'), InvalidChunkError, AT + 6),
    Kind("deep-nesting", ev(b'{"x":' + b"[" * 2000 + b"]" * 2000 + b"}"), InvalidJSONError, AT + 6),
]
# Errors only the merger raises: its own limits.
MERGER_KINDS = [
    Kind(
        "max-choices",
        ev(b'{"choices":[{"index":1,"delta":{"content":"x"}}]}'),
        LimitExceededError,
        AT + 6,
        {"max_choices": 1},
        "max_choices",
    ),
    Kind(
        "max-tool-calls",
        ev(b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a"},{"index":1,"id":"b"}]}}]}'),
        LimitExceededError,
        AT + 6,
        {"max_tool_calls": 1},
        "max_tool_calls",
    ),
    Kind(
        "max-merged-size",
        GOOD_2,
        LimitExceededError,
        AT + 6,
        {"max_merged_size": len(PREFIX)},
        "max_merged_size",
    ),
    Kind(
        "max-extras-keys",
        ev(b'{"a":1,"b":2,"choices":[]}'),
        LimitExceededError,
        AT + 6,
        {"max_extras_keys": 1},
    ),
]
UPSTREAM = Kind("upstream-error", ev(b'{"error":{"message":"boom"}}'), UpstreamError, AT + 6)

#: How the stream is fed: whole, cut inside the bad bytes, in 7-byte pieces.
SPLITS = ["whole", "cut", "small"]


def pieces_of(stream: bytes, how: str) -> list[bytes]:
    if how == "whole":
        return [stream]
    if how == "cut":
        return [stream[: AT + 3], stream[AT + 3 : AT + 20], stream[AT + 20 :]]
    return [stream[i : i + 7] for i in range(0, len(stream), 7)]


def stream_of(kind: Kind) -> bytes:
    return PREFIX + kind.bad + GOOD_2 + DONE


def check_error(exc: BaseException, kind: Kind) -> None:
    assert type(exc) is kind.cls, exc
    assert isinstance(exc, SSEDeltaError)
    assert exc.offset == kind.offset  # type: ignore[attr-defined]
    if kind.limit is not None:
        assert exc.limit == kind.limit  # type: ignore[attr-defined]


def feed_until_error(feed: Any, pieces: list[bytes]) -> tuple[list[Any], BaseException, int]:
    """What ``feed`` returned before it raised, the error, and how many pieces it had then
    (an error found after events in the same piece is raised by the next call: ``b""`` here)."""
    got: list[Any] = []
    for i, piece in enumerate([*pieces, b""]):
        try:
            got.append(feed(piece))
        except SSEDeltaError as exc:
            return got, exc, i + 1
    raise AssertionError("no error")


def first_error(feed: Any, kind: Any, how: str) -> tuple[list[Any], BaseException, list[bytes]]:
    """Feed the stream of ``kind`` cut ``how`` to its first error, checked; what ``feed`` returned
    before it, the error, and pieces to feed after it (the rest of the stream and more)."""
    pieces = pieces_of(stream_of(kind), how)
    got, exc, used = feed_until_error(feed, pieces)
    check_error(exc, kind)
    return got, exc, [*pieces[used:], GOOD_2, b""]


def assert_failed(calls: list[Any], exc: BaseException) -> None:
    """Each call raises ``exc`` itself."""
    for call in calls:
        with pytest.raises(type(exc)) as again:
            call()
        assert again.value is exc


def raw_was_fed(event: ssedelta.ServerSentEvent, stream: bytes) -> None:
    """An event holds only bytes of the stream, at the offsets it names."""
    assert stream[event.offset : event.offset + len(event.raw)] == event.raw
    for line in event.payload.split(b"\n"):
        assert line in event.raw


# ---------------------------------------------------------------------------------------------
# The tokenizer


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("kind", TOKENIZER_KINDS, ids=repr)
def test_sse_decoder_is_failed_after_each_error(backend, kind, how):
    stream = stream_of(kind)
    pieces = pieces_of(stream, how)
    for method in ("feed", "feed_payloads"):
        decoder = backend.SSEDecoder(**kind.options)
        got, exc, used = feed_until_error(getattr(decoder, method), pieces)
        check_error(exc, kind)
        events = [e for batch in got for e in batch]
        assert len(events) == 1
        if method == "feed":
            raw_was_fed(events[0], stream)
        state = (decoder.last_event_id, decoder.retry, decoder.offset, decoder.events_dispatched)
        later = [*pieces[used:], GOOD_2, b"\n\n", b""]
        feed = getattr(decoder, method)
        assert_failed([functools.partial(feed, p) for p in later] + [decoder.close, decoder.close], exc)
        assert (decoder.last_event_id, decoder.retry, decoder.offset, decoder.events_dispatched) == state


def test_a_huge_retry_after_data_leaves_no_half_updated_block(backend):
    # The native tokenizer raised ValueError from int() after it had taken the data line's
    # place in the piece, and the next blank line dispatched heap bytes from that place.
    decoder = backend.SSEDecoder()
    data = b"A" * 1000
    assert decoder.feed(b"data: " + data + b"\nretry: " + b"9" * HUGE + b"\n") == []
    (event,) = decoder.feed(b"\n")
    assert (event.payload, event.retry, event.offset) == (data, None, 0)
    assert event.raw == b"data: " + data + b"\nretry: " + b"9" * HUGE + b"\n\n"
    assert decoder.retry is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"0", 0),
        (b"007", 7),
        (b"9" * 18, 10**18 - 1),
        (b"1" + b"0" * 18, 5),  # 19 digits: ignored, the earlier value stays
        (b"9" * 4301, 5),  # past CPython's int() digit limit
        (b"9" * HUGE, 5),
        (b"12a", 5),
        (b"\xd9\xa3", 5),  # ARABIC-INDIC DIGIT THREE: a digit, not an ASCII one
        (b"-1", 5),
        (b"", 5),
    ],
)
def test_retry_is_at_most_18_ascii_digits(backend, value, expected):
    for pieces in ([b"retry: 5\n\nretry: " + value + b"\ndata: x\n\n"], None):
        stream = b"retry: 5\n\nretry: " + value + b"\ndata: x\n\n"
        decoder = backend.SSEDecoder()
        events = [e for p in pieces or [bytes([b]) for b in stream] for e in decoder.feed(p)]
        assert decoder.retry == expected
        assert events[0].retry == (expected if expected != 5 else None)
        assert events[0].payload == b"x"


def test_merge_reads_past_a_huge_retry(backend):
    stream = b"retry: " + b"9" * HUGE + b"\n\n" + GOOD_1 + GOOD_2 + DONE
    assert backend.merge(stream).choices[0].message.content == "Hi there"
    assert [c.choices[0].delta.content for c in backend.iter_chunks(stream)] == ["Hi", " there"]


@pytest.mark.parametrize("field", [b"id", b"event", b"retry", b"data", b": comment"])
def test_huge_fields_count_against_the_event_size(backend, field):
    value = b"9" * 3000
    line = (field + b": " + value) if not field.startswith(b":") else field + value
    stream = GOOD_1 + line + b"\n" + ev(b"{}")
    for pieces in ([stream], [stream[i : i + 100] for i in range(0, len(stream), 100)]):
        decoder = backend.SSEDecoder(max_event_size=1000)
        _, exc, used = feed_until_error(decoder.feed, pieces)
        assert (type(exc), exc.offset, exc.event_index) == (EventTooLargeError, len(GOOD_1), 1)
        # Raised once the block passes the limit, before it ends: the 12th 100-byte piece at most.
        assert len(pieces) == 1 or used <= 12


# ---------------------------------------------------------------------------------------------
# The chunk decoder


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("kind", [*TOKENIZER_KINDS, *PAYLOAD_KINDS, UPSTREAM], ids=repr)
def test_chunk_decoder_is_failed_after_each_error(backend, kind, how):
    decoder = backend.ChunkDecoder(**kind.options)
    got, exc, later = first_error(decoder.feed, kind, how)
    assert [c.choices[0].delta.content for batch in got for c in batch] == ["Hi"]
    events = decoder.events
    assert_failed([lambda p=p: decoder.feed(p) for p in later] + [decoder.close, decoder.close], exc)
    assert decoder.events == events and not decoder.done


# ---------------------------------------------------------------------------------------------
# The merger


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("kind", [*TOKENIZER_KINDS, *PAYLOAD_KINDS, *MERGER_KINDS], ids=repr)
def test_merger_is_failed_after_each_error(backend, kind, how):
    merger = backend.DeltaMerger(**kind.options)
    _, exc, later = first_error(merger.feed, kind, how)
    snapshot = merger.snapshot().to_dict()
    chunks, events = merger.chunks, merger.events
    assert snapshot["choices"][0]["message"]["content"] == "Hi"
    assert_failed(
        [lambda p=p: merger.feed(p) for p in later]
        + [merger.finish, lambda: merger.add({"choices": []}), merger.finish],
        exc,
    )
    assert merger.snapshot().to_dict() == snapshot
    assert (merger.chunks, merger.events, merger.done) == (chunks, events, False)
    with pytest.raises(type(exc)) as through_merge:
        backend.merge(pieces_of(stream_of(kind), how), **kind.options)
    check_error(through_merge.value, kind)


@pytest.mark.parametrize("how", SPLITS)
def test_merger_after_an_upstream_error_is_done(backend, how):
    stream = stream_of(UPSTREAM)
    merger = backend.DeltaMerger()
    for piece in pieces_of(stream, how):
        merger.feed(piece)
        if merger.done:
            break
    assert merger.done and merger.error is not None and merger.error.offset == UPSTREAM.offset
    snapshot = merger.snapshot().to_dict()
    assert merger.feed(GOOD_2) == 0
    for _ in range(2):
        with pytest.raises(UpstreamError) as info:
            merger.finish()
        assert info.value.error == {"message": "boom"} and info.value.offset == UPSTREAM.offset
        assert info.value.partial.to_dict() == snapshot
    assert merger.snapshot().to_dict() == snapshot


def test_an_add_error_leaves_the_merger_usable(backend):
    merger = backend.DeltaMerger()
    merger.feed(GOOD_1)
    with pytest.raises(InvalidChunkError):
        merger.add({"choices": 5})
    merger.feed(GOOD_2)
    assert merger.finish().choices[0].message.content == "Hi there"


class Boom(Exception):
    pass


def failing_on(cls: type, method: str) -> Any:
    """A subclass of ``cls`` whose ``method`` (called with a payload first) raises on ``[1]``."""

    def override(self: Any, payload: bytes, *args: Any) -> Any:
        if payload == b"[1]":
            raise Boom("midway")
        return getattr(super(subclass, self), method)(payload, *args)

    subclass = type("Failing", (cls,), {method: override})
    return subclass


def test_any_exception_midway_fails_the_merger_and_its_tokenizer(backend):
    # A payload that is not an object takes the general path on both backends; an exception
    # from there stops the tokenizer in the middle of the piece.
    merger = failing_on(backend.DeltaMerger, "_merge_payload")()
    stream = PREFIX + ev(b"[1]") + GOOD_2 + b"data: " + b"B" * 300
    with pytest.raises(Boom) as info:
        merger.feed(stream)
    assert_failed([lambda: merger.feed(b"\n\n"), lambda: merger.feed(GOOD_2), merger.finish], info.value)
    assert merger.snapshot().choices[0].message.content == "Hi"


def test_any_exception_midway_fails_the_chunk_decoder(backend):
    decoder = failing_on(backend.ChunkDecoder, "_decode_payload")()
    with pytest.raises(Boom) as info:
        decoder.feed(PREFIX + ev(b"[1]") + GOOD_2)
    assert_failed([lambda: decoder.feed(GOOD_2), decoder.close], info.value)


# ---------------------------------------------------------------------------------------------
# The taps


def tap_kinds() -> list[Kind]:
    return [*TOKENIZER_KINDS, *PAYLOAD_KINDS, *MERGER_KINDS]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("kind", tap_kinds(), ids=repr)
def test_tap_records_each_error_and_lets_the_bytes_through(backend, kind, how):
    stream = stream_of(kind)
    pieces = pieces_of(stream, how)
    merger = backend.DeltaMerger(**kind.options)
    errors: list[BaseException] = []
    tap = Tap(pieces, merger=merger, on_error=lambda t, e: errors.append(e))
    assert list(tap) == pieces
    check_error(tap.decode_error, kind)
    assert errors == [tap.decode_error]
    assert tap.nbytes == len(stream) and tap.ended and not tap.done_seen
    assert tap.completion.choices[0].message.content == "Hi"


@pytest.mark.parametrize("kind", tap_kinds(), ids=repr)
def test_async_tap_records_each_error_and_lets_the_bytes_through(backend, kind):
    import asyncio

    stream = stream_of(kind)
    pieces = pieces_of(stream, "small")

    async def source():
        for piece in pieces:
            yield piece

    async def consume() -> tuple[AsyncTap, list[bytes]]:
        tap = AsyncTap(source(), merger=backend.DeltaMerger(**kind.options))
        return tap, [piece async for piece in tap]

    tap, out = asyncio.run(consume())
    assert out == pieces
    check_error(tap.decode_error, kind)
    assert tap.completion.choices[0].message.content == "Hi"


def test_tap_events_after_an_error_are_the_bytes_as_they_came(backend):
    kind = TOKENIZER_KINDS[0]
    stream = stream_of(kind)
    tap = Tap(pieces_of(stream, "small"), backend=backend, max_event_size=120)
    segments = list(tap.iter_events())
    assert b"".join(raw for raw, _ in segments) == stream
    chunks = [c for _, c in segments if c is not None]
    assert [c.choices[0].delta.content for c in chunks] == ["Hi"]
    check_error(tap.decode_error, kind)


# ---------------------------------------------------------------------------------------------
# Re-entrant calls


def reentering(cls: type, method: str, calls_of: Any) -> tuple[Any, list[BaseException]]:
    """A subclass of ``cls`` whose ``method`` (called with a payload first) makes the calls
    ``calls_of(self)`` gives when it meets the keep-alive payload (both backends route that one
    through it), and the list of the ``ReentrantCallError`` they raise."""
    refused: list[BaseException] = []

    def override(self: Any, payload: bytes, *args: Any) -> Any:
        if payload == b": keep-alive":
            for call in calls_of(self):
                try:
                    call()
                except ReentrantCallError as exc:
                    refused.append(exc)
        return getattr(super(subclass, self), method)(payload, *args)

    subclass = type("Reentrant", (cls,), {method: override})
    return subclass, refused


def in_thread(call: Any) -> Any:
    """``call`` made in another thread, while this one waits; its exception is raised here."""

    def run() -> None:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                call()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]

    return run


KEEPALIVE_STREAM = GOOD_1 + ev(b": keep-alive") + GOOD_2


def test_feeding_a_merger_from_inside_its_feed(backend):
    cls, refused = reentering(
        backend.DeltaMerger,
        "_merge_payload",
        lambda m: [lambda: m.feed(GOOD_2), lambda: m.add({"choices": []}), m.finish, in_thread(m.finish)],
    )
    merger = cls()
    assert merger.feed(KEEPALIVE_STREAM) == 2
    assert len(refused) == 4 and all(isinstance(e, (SSEDeltaError, RuntimeError)) for e in refused)
    assert merger.finish().choices[0].message.content == "Hi there"


def test_feeding_a_merger_from_another_thread_while_it_feeds(backend):
    cls, refused = reentering(
        backend.DeltaMerger, "_merge_payload", lambda m: [in_thread(lambda: m.feed(GOOD_2))]
    )
    merger = cls()
    merger.feed(KEEPALIVE_STREAM)
    assert len(refused) == 1
    assert merger.finish().choices[0].message.content == "Hi there"


def test_feeding_a_chunk_decoder_from_inside_its_feed(backend):
    cls, refused = reentering(
        backend.ChunkDecoder, "_decode_payload", lambda d: [lambda: d.feed(GOOD_2), d.close]
    )
    chunks = cls().feed(KEEPALIVE_STREAM)
    assert [c.choices[0].delta.content for c in chunks] == ["Hi", " there"]
    assert len(refused) == 2


def test_a_limit_object_runs_no_code(backend):
    calls: list[str] = []

    class Sneaky(int):
        def __lt__(self, other: Any) -> bool:
            calls.append("lt")
            return True

        def __index__(self) -> int:
            calls.append("index")
            return 5

    class Indexable:
        def __index__(self) -> int:
            calls.append("index")
            return 5

    for value in (Sneaky(5), Indexable()):
        for make in (
            lambda v: backend.DeltaMerger(max_event_size=v),
            lambda v: backend.DeltaMerger(max_choices=v),
            lambda v: backend.ChunkDecoder(max_line_size=v),
            lambda v: backend.SSEDecoder(v),
        ):
            with pytest.raises(TypeError):
                make(value)
    assert calls == []


# ---------------------------------------------------------------------------------------------
# Replacing attributes never crashes the interpreter


@pytest.mark.parametrize("name", ["_sse", "_sink", "_objects", "_guard", "_choices", "_rules"])
@pytest.mark.parametrize("value", [5, None, "x"])
def test_replaced_private_attributes_raise_instead_of_crashing(backend, name, value):
    # The process surviving is the point; what the call does is then a Python matter.
    for obj in (backend.DeltaMerger(), backend.ChunkDecoder()):
        try:
            setattr(obj, name, value)
        except AttributeError:
            continue  # a read-only attribute
        for piece in (GOOD_1 + GOOD_2, DONE):
            with contextlib.suppress(TypeError, AttributeError):
                obj.feed(piece)


NATIVE_ONLY = pytest.mark.skipif(ssedelta.NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")


@NATIVE_ONLY
@pytest.mark.parametrize("name", ["_sse", "_sink"])
@pytest.mark.parametrize("value", [5, None, "x"])
def test_native_merger_checks_the_attributes_it_reads_as_c_types(name, value):
    native = ssedelta.get_backend("native")
    merger = native.DeltaMerger()
    setattr(merger, name, value)
    with pytest.raises(TypeError, match=name):
        merger.feed(GOOD_1)
    decoder = native.ChunkDecoder()
    decoder._sse = value
    with pytest.raises(TypeError, match="_sse"):
        decoder.feed(GOOD_1)


@NATIVE_ONLY
def test_the_native_tokenizer_refuses_a_call_while_it_hands_a_payload_over():
    # While the native merger merges a payload, its tokenizer is in the middle of the piece: a
    # read then would move the buffer the running scan points into.
    cls, refused = reentering(
        ssedelta.get_backend("native").DeltaMerger,
        "_merge_payload",
        lambda m: [lambda: m._sse.feed(b"data: " + b"x" * 5000), m._sse.close, in_thread(m._sse.close)],
    )
    merger = cls()
    merger.feed(GOOD_1 + ev(b": keep-alive") + b'data: {"choices":[],"x":"' + b"B" * 3000)
    merger.feed(b'"}\n\n' + GOOD_2)
    assert len(refused) == 3
    assert merger.events == 4 and merger.finish().choices[0].message.content == "Hi there"


@NATIVE_ONLY
def test_merge_sink_attributes_are_typed():
    merger = ssedelta.get_backend("native").DeltaMerger()
    with pytest.raises(AttributeError):
        merger._sink.scanner = None
    for value in ("x", None, 2**70):
        with pytest.raises((TypeError, OverflowError)):
            merger._sink.ntools = value
    merger.feed(GOOD_1 + GOOD_2)
    assert merger.finish().choices[0].message.content == "Hi there"


# ---------------------------------------------------------------------------------------------
# Any split, any fields, small limits: failed after an error, never a byte that was not fed


LINES = st.sampled_from(
    [
        b"",
        b"data: x",
        b"data: {}",
        b": c",
        b"id: 1",
        b"event: e",
        b"retry: 10",
        b"retry: " + b"7" * 19,
        b"retry: " + b"8" * 4400,
        b"id: " + b"i" * 300,
        b"event: " + b"e" * 300,
        b"data: " + b"d" * 200,
        b"data: \xff\xfe",
        b"\xef\xbb\xbfdata: bom",
    ]
)


@st.composite
def split_streams(draw: Any) -> tuple[bytes, list[bytes]]:
    lines = draw(st.lists(LINES, max_size=12))
    eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    stream = eol.join(lines) + eol * draw(st.integers(0, 2))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    return stream, [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def tokenizer_trace(
    backend: ssedelta.Backend, stream: bytes, pieces: list[bytes], options: dict[str, Any]
) -> list[Any]:
    decoder = backend.SSEDecoder(**options)
    trace: list[Any] = []
    failed: BaseException | None = None
    for piece in [*pieces, b"data: more\n\n"]:
        try:
            events = decoder.feed(piece)
        except SSEDeltaError as exc:
            assert failed is None or exc is failed
            failed = exc
            trace.append((type(exc).__name__, exc.offset, exc.event_index))  # type: ignore[attr-defined]
            continue
        assert failed is None, "a failed decoder returned events"
        for event in events:
            if event.offset + len(event.raw) <= len(stream):
                raw_was_fed(event, stream)
            trace.append((event.event, event.payload, event.id, event.retry, event.raw, event.offset))
    return trace


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    split_streams(),
    st.sampled_from([{}, {"max_event_size": 100}, {"max_line_size": 50}, {"max_event_size": None}]),
)
def test_any_stream_any_split_failed_after_an_error_on_both_backends(split, options):
    stream, pieces = split
    traces = [tokenizer_trace(b, stream, pieces, options) for b in BACKENDS]
    assert all(t == traces[0] for t in traces)


BACKENDS = [ssedelta.get_backend("python")]
if not ssedelta.NO_EXTENSIONS:
    BACKENDS.insert(0, ssedelta.get_backend("native"))


# ---------------------------------------------------------------------------------------------
# The fuzzers' keep-feeding oracle over the adversarial corpus


ADVERSARIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "adversarial")
#: (split selector, limit profile): one piece, random cuts, byte at a time, 29-byte pieces, and
#: random cuts under each limit profile of the oracle.
HEADERS = [(0, 0), (1, 0), (3, 0), (2 + 4 * 28, 0)] + [(1 + 4 * k, k) for k in range(1, 8)]


@NATIVE_ONLY
@pytest.mark.c_extension
@pytest.mark.parametrize("name", sorted(n for n in os.listdir(ADVERSARIAL) if n.endswith(".sse")))
def test_feeding_on_after_errors_in_the_adversarial_corpus(name):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz"))
    import oracle

    with open(os.path.join(ADVERSARIAL, name), "rb") as f:
        data = f.read()
    for selector, profile in HEADERS:
        oracle.check("refeed", bytes([selector, profile]) + data)


FRAGMENTS = st.sampled_from(
    [
        b'{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}',
        b'{"choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"arguments":"{"}}]}}]}',
        b'{"choices":[{"index":0,"delta":{"x":' + b"[" * 1100 + b"]" * 1100 + b"}}]}",
        b'{"choices":[{"index":99999999999999999999,"delta":{}}]}',
        b'{"created":1e999,"choices":[]}',
        b'{"usage":{"prompt_tokens":' + b"9" * 5000 + b"}}",
        b'{"error":{"message":"boom"}}',
        b'{"a":1,"b":2,"c":3,"d":4}',
        b"{nope",
        b"[1]",
        b"[DONE]",
        b": ping",
        b'{"choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}',
    ]
)


@st.composite
def payload_streams(draw: Any) -> bytes:
    parts = []
    for payload in draw(st.lists(FRAGMENTS, max_size=8)):
        head = draw(st.sampled_from([b"", b"retry: " + b"9" * 5000 + b"\n", b"id: " + b"i" * 200 + b"\n"]))
        parts.append(head + b"data: " + payload + b"\n\n")
    return b"".join(parts)


@NATIVE_ONLY
@pytest.mark.c_extension
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload_streams(), st.integers(0, 255), st.integers(0, 7))
def test_any_payloads_any_limits_fed_on_after_errors(stream, selector, profile):
    # Any exception that is not an SSEDeltaError, a backend difference, or a failed object that
    # does not raise its own error again fails the oracle.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz"))
    import oracle

    oracle.check("refeed", bytes([selector, profile]) + stream)
