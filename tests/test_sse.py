"""The event-stream tokenizer: WHATWG rules, peer test vectors, raw bytes and offsets, splits, limits.

Every test runs against both backends through the ``backend`` fixture. The answers come from the
HTML Standard's event stream interpretation (section 9.2.6), not from either implementation.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta import EventTooLargeError, ServerSentEvent, StreamFormatError

VECTORS_PATH = Path(__file__).parent / "data" / "sse-vectors" / "vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))

BOM = b"\xef\xbb\xbf"

HYPOTHESIS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_all(decoder: Any, pieces: list[bytes], *, close: bool = True) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    if close:
        events.extend(decoder.close())
    return events


def summary(events: list[ServerSentEvent]) -> list[tuple[str | None, str, str | None, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def full(event: ServerSentEvent) -> tuple[Any, ...]:
    return (event.event, event.payload, event.id, event.retry, event.raw, event.offset, event.data_offset)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def one_byte_pieces(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# ---------------------------------------------------------------------------------------------
# (a) One case per WHATWG rule: pieces as fed, events (event, data, id, retry), end state.
# ---------------------------------------------------------------------------------------------

E = None  # the default event type ("message")

SPEC = [
    pytest.param([b"data: a\n\n"], [(E, "a", None, None)], None, None, id="lf"),
    pytest.param([b"data: a\r\r"], [(E, "a", None, None)], None, None, id="cr"),
    pytest.param([b"data: a\r\n\r\n"], [(E, "a", None, None)], None, None, id="crlf"),
    pytest.param(
        [b"data: a\r", b"\ndata: b\r\n\r\n"], [(E, "a\nb", None, None)], None, None, id="crlf-split"
    ),
    pytest.param(
        [b"data: a\r\r", b"\ndata: b\r\n\r\n"],
        [(E, "a", None, None), (E, "b", None, None)],
        None,
        None,
        id="crlf-split-after-blank-line",
    ),
    pytest.param([b"data: a\rdata: b\r\n\n"], [(E, "a\nb", None, None)], None, None, id="lone-cr-then-data"),
    pytest.param(
        [b"data: a\r\rdata: b\n\n"],
        [(E, "a", None, None), (E, "b", None, None)],
        None,
        None,
        id="cr-blank-line-then-data",
    ),
    pytest.param(
        [b"data: a\n\r\n\rdata: b\r\r"],
        [(E, "a", None, None), (E, "b", None, None)],
        None,
        None,
        id="mixed-line-ends",
    ),
    pytest.param([BOM + b"data: a\n\n"], [(E, "a", None, None)], None, None, id="bom"),
    pytest.param([BOM[:1], BOM[1:] + b"data: a\n\n"], [(E, "a", None, None)], None, None, id="bom-split-1-2"),
    pytest.param([BOM[:2], BOM[2:] + b"data: a\n\n"], [(E, "a", None, None)], None, None, id="bom-split-2-1"),
    pytest.param(
        [b"", BOM[:1], b"", BOM[1:2], BOM[2:], b"data: a\n\n"],
        [(E, "a", None, None)],
        None,
        None,
        id="bom-split-byte-by-byte",
    ),
    pytest.param([BOM + BOM + b"data: a\n\n"], [], None, None, id="second-bom-kept"),
    pytest.param(
        [BOM + b"data: a\n\n" + BOM + b"data: b\n\n"],
        [(E, "a", None, None)],
        None,
        None,
        id="bom-mid-stream-kept",
    ),
    pytest.param([b"\xefdata: a\n\n"], [], None, None, id="partial-bom-kept"),
    pytest.param([b"event: ping\n\n"], [], None, None, id="event-only-no-dispatch"),
    pytest.param([b"retry: 10\n\n"], [], None, 10, id="retry-only-no-dispatch"),
    pytest.param([b"id: 7\n\n"], [], "7", None, id="id-only-no-dispatch"),
    pytest.param([b"id: 1\n: ping\n\n"], [], "1", None, id="keep-alive-after-id-no-dispatch"),
    pytest.param(
        [b"data: a\nid: 1\n\n: ping\n\n"], [(E, "a", "1", None)], "1", None, id="keep-alive-after-event"
    ),
    pytest.param([b"data\n\n"], [(E, "", None, None)], None, None, id="data-without-colon"),
    pytest.param([b"data\ndata\n\n"], [(E, "\n", None, None)], None, None, id="two-empty-data-lines"),
    pytest.param([b"data:a\n\n"], [(E, "a", None, None)], None, None, id="no-space-after-colon"),
    pytest.param([b"data:  a \n\n"], [(E, " a ", None, None)], None, None, id="one-leading-space-stripped"),
    pytest.param([b"data:\ta\n\n"], [(E, "\ta", None, None)], None, None, id="tab-not-stripped"),
    pytest.param([b"data: a:b\n\n"], [(E, "a:b", None, None)], None, None, id="colon-in-value"),
    pytest.param(
        [b"data: a\ndata: b\ndata:\n\n"], [(E, "a\nb\n", None, None)], None, None, id="multi-line-data"
    ),
    pytest.param([b"event: add\ndata: 1\n\n"], [("add", "1", None, None)], None, None, id="event-type"),
    pytest.param(
        [b"event: x\nevent:\ndata: 1\n\n"], [(E, "1", None, None)], None, None, id="empty-event-resets"
    ),
    pytest.param(
        [b"event: x\ndata: 1\n\ndata: 2\n\n"],
        [("x", "1", None, None), (E, "2", None, None)],
        None,
        None,
        id="event-type-per-block",
    ),
    pytest.param(
        [b"id: 1\ndata: a\n\ndata: b\n\n"],
        [(E, "a", "1", None), (E, "b", "1", None)],
        "1",
        None,
        id="id-persists",
    ),
    pytest.param(
        [b"id: 1\ndata: a\n\nid\ndata: b\n\n"],
        [(E, "a", "1", None), (E, "b", "", None)],
        "",
        None,
        id="id-without-value-is-empty",
    ),
    pytest.param(
        [b"id: 1\n\ndata: x\nid: a\x00b\n\n"], [(E, "x", "1", None)], "1", None, id="id-with-nul-ignored"
    ),
    pytest.param([b"id: 1\n\nid: 2\n"], [], "1", None, id="id-in-unterminated-block-not-used"),
    pytest.param(
        [b"retry: 5\ndata: a\n\ndata: b\n\n"],
        [(E, "a", None, 5), (E, "b", None, None)],
        None,
        5,
        id="retry-per-block",
    ),
    pytest.param([b"retry: 007\ndata: a\n\n"], [(E, "a", None, 7)], None, 7, id="retry-leading-zeros"),
    # More than 18 digits (ssedelta's bound, so that a value fits a C long long): ignored.
    pytest.param([b"retry: 999999999999999999\n\n"], [], None, 999999999999999999, id="retry-18-digits"),
    pytest.param([b"retry: 5\n\nretry: 1000000000000000000\n\n"], [], None, 5, id="retry-19-digits-ignored"),
    pytest.param(
        [b"retry: 7\n\nretry: " + b"9" * 5000 + b"\n\n"], [], None, 7, id="retry-5000-digits-ignored"
    ),
    pytest.param(
        [
            b"retry: 3\n\nretry: +1\nretry: 1_0\nretry: \xd9\xa3\nretry:  10\nretry:\nretry\n"
            b"retry: 1.5\nretry: 5s\nretry: -1\ndata: x\n\n"
        ],
        [(E, "x", None, None)],
        None,
        3,
        id="retry-ascii-digits-only",
    ),
    pytest.param([b": comment\ndata: a\n:\n:: x\n\n"], [(E, "a", None, None)], None, None, id="comments"),
    pytest.param([b"foo: bar\ndata: a\nbaz\n\n"], [(E, "a", None, None)], None, None, id="unknown-fields"),
    pytest.param(
        [b"DATA: a\nData: b\nEvent: c\nID: 1\nRetry: 1\ndata: d\n\n"],
        [(E, "d", None, None)],
        None,
        None,
        id="field-names-case-sensitive",
    ),
    pytest.param([b"data : a\n\n"], [], None, None, id="space-before-colon-is-another-name"),
    pytest.param(
        ["data: a\u2028b\u0085c\u2029d\n\n".encode()],
        [(E, "a\u2028b\u0085c\u2029d", None, None)],
        None,
        None,
        id="unicode-line-separators-not-line-ends",
    ),
    pytest.param([b"data: \xff\xfe\n\n"], [(E, "\ufffd\ufffd", None, None)], None, None, id="invalid-utf8"),
    pytest.param(
        [b"event: \xc3\ndata: 1\nid: \xe2\x82\n\n"],
        [("\ufffd", "1", "\ufffd", None)],
        "\ufffd",
        None,
        id="invalid-utf8-in-fields",
    ),
    pytest.param([b"data: \xe2\x9c", b"\x94\n\n"], [(E, "\u2714", None, None)], None, None, id="utf8-split"),
    pytest.param(
        [b"data: \xf0", b"\x9f", b"\x98", b"\x80\n", b"\n"],
        [(E, "\U0001f600", None, None)],
        None,
        None,
        id="utf8-four-byte-split",
    ),
    pytest.param(
        [b'data: {"content":"[DONE]"}\n\n'],
        [(E, '{"content":"[DONE]"}', None, None)],
        None,
        None,
        id="done-inside-content",
    ),
    pytest.param([b"data: [DONE]\n\n"], [(E, "[DONE]", None, None)], None, None, id="done-is-data"),
    pytest.param(
        [b"data: a\n\ndata: b\n"], [(E, "a", None, None)], None, None, id="unterminated-event-discarded"
    ),
    pytest.param(
        [b"data: a\n\ndata: b"], [(E, "a", None, None)], None, None, id="unterminated-line-discarded"
    ),
    pytest.param([b"\n\n\r\n\r\r"], [], None, None, id="only-blank-lines"),
    pytest.param([b""], [], None, None, id="empty"),
]


@pytest.mark.parametrize(("pieces", "events", "last_event_id", "retry"), SPEC)
def test_whatwg_rule(backend, pieces, events, last_event_id, retry):
    decoder = backend.SSEDecoder()
    assert summary(feed_all(decoder, pieces)) == events
    assert decoder.last_event_id == last_event_id
    assert decoder.retry == retry


@pytest.mark.parametrize(("pieces", "events", "last_event_id", "retry"), SPEC)
def test_whatwg_rule_byte_by_byte(backend, pieces, events, last_event_id, retry):
    decoder = backend.SSEDecoder()
    assert summary(feed_all(decoder, one_byte_pieces(b"".join(pieces)))) == events
    assert decoder.last_event_id == last_event_id
    assert decoder.retry == retry


def test_invalid_utf8_keeps_bytes_in_payload(backend):
    (event,) = backend.SSEDecoder().feed(b"data: a\xffb\xe2\x82\n\n")
    assert event.payload == b"a\xffb\xe2\x82"
    assert event.data == "a\ufffdb\ufffd"


def test_bom_is_counted_in_offsets(backend):
    for pieces in ([BOM + b"data: a\n\n"], [BOM[:1], BOM[1:], b"data: a\n\n"]):
        decoder = backend.SSEDecoder()
        (event,) = feed_all(decoder, pieces)
        assert event.raw == b"data: a\n\n"
        assert event.offset == 3
        assert event.data_offset == 9
        assert decoder.offset == 12


def test_held_back_bom_prefix_is_counted_in_offset(backend):
    decoder = backend.SSEDecoder()
    assert decoder.feed(BOM[:2]) == []
    assert decoder.offset == 2
    assert decoder.feed(b"x") == []
    assert decoder.offset == 3


def test_split_crlf_after_blank_line_ends_that_line(backend):
    # The event is dispatched at the CR; the LF read next ends the same line, so the next block
    # begins after it, as when the stream comes in one piece.
    decoder = backend.SSEDecoder()
    first = decoder.feed(b"data: a\r\n\r")
    second = decoder.feed(b"\ndata: b\r\n\r\n")
    assert [full(e) for e in first] == [(None, b"a", None, None, b"data: a\r\n\r", 0, 6)]
    assert [full(e) for e in second] == [(None, b"b", None, None, b"data: b\r\n\r\n", 11, 17)]


def test_cr_at_end_of_stream_ends_the_line(backend):
    decoder = backend.SSEDecoder()
    assert summary(decoder.feed(b"data: a\r\r")) == [(E, "a", None, None)]
    assert decoder.close() == []


def test_close_discards_the_pending_block(backend):
    decoder = backend.SSEDecoder()
    assert decoder.feed(b"event: x\nid: 5\ndata: partial") == []
    assert decoder.close() == []
    assert decoder.last_event_id is None
    assert decoder.events_dispatched == 0


SHAPES = [b"data: x\n\n", b"data:x\n\n", b"data: x\r\n\r\n", b"event: e\ndata: x\n\n"]


def test_id_buffer_after_close_does_not_depend_on_block_shape(backend):
    # close() discards the block holding "id: 2", not the id buffer; the next blank line copies it.
    results = set()
    for block in SHAPES:
        decoder = backend.SSEDecoder()
        decoder.feed(b"data: a\n\nid: 2\n")
        decoder.close()
        (event,) = decoder.feed(block)
        results.add((event.id, decoder.last_event_id))
    assert results == {("2", "2")}


def test_id_buffer_after_close_with_oversize_block(backend):
    results = set()
    for block in SHAPES:
        decoder = backend.SSEDecoder(max_event_size=6)
        decoder.feed(b"id: 2\n")
        decoder.close()
        with pytest.raises(EventTooLargeError):
            decoder.feed(block)
        results.add(decoder.last_event_id)
    assert results == {"2"}


def state(decoder: Any) -> tuple[Any, ...]:
    return (decoder.last_event_id, decoder.retry, decoder.events_dispatched, decoder.offset)


def test_state_attributes(backend):
    decoder = backend.SSEDecoder(max_event_size=1000)
    assert decoder.max_event_size == 1000
    assert state(decoder) == (None, None, 0, 0)
    stream = b"id: 4\nretry: 50\ndata: a\n\ndata: b\n\nid: 5\nda"
    decoder.feed(stream)
    assert state(decoder) == ("4", 50, 2, len(stream))
    assert backend.SSEDecoder().max_event_size == 16 * 1024 * 1024


def test_feed_payloads(backend):
    stream = b"event: a\ndata: 1\ndata: 2\n\n: c\n\ndata: x\n\nda"
    decoder = backend.SSEDecoder()
    assert decoder.feed_payloads(stream) == [("a", b"1\n2", 15, 0), (None, b"x", stream.index(b"x"), 1)]
    assert decoder.feed_payloads(b"ta: y\n\n") == [(None, b"y", len(stream) + 4, 2)]
    assert decoder.events_dispatched == 3


# ---------------------------------------------------------------------------------------------
# (b) The 227 peer test vectors, answered by WHATWG.
# ---------------------------------------------------------------------------------------------


def test_vector_count(backend):
    assert len(VECTORS) == 227
    assert len({v["name"] for v in VECTORS}) == 227


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(backend, vector):
    pieces = [base64.b64decode(p) for p in vector["pieces_b64"]]
    decoder = backend.SSEDecoder()
    got = [
        {"event": e.event, "data": e.data, "id": e.id, "retry": e.retry} for e in feed_all(decoder, pieces)
    ]
    assert got == vector["events"]
    end = vector["end_state"]
    assert decoder.last_event_id == end["last_event_id"]
    assert decoder.retry == end["reconnection_time"]


# ---------------------------------------------------------------------------------------------
# Generated streams: blocks of lines whose meaning is known from how they were built.
# ---------------------------------------------------------------------------------------------

NAMES = [b"data", b"data", b"data", b"event", b"id", b"retry", b"foo", b"Data"]
JSONISH = [
    '{"id":"chatcmpl-1","choices":[{"delta":{"content":"a\\nb"}}]}',
    '{"c":"\\"q\\" \\u2028 \\\\"}',
    "\u2028\u0085\u2029",
    "[DONE]",
    " lead",
    "\u00e9\U0001f600\u4f60",
    "a:b",
    "\x00",
]


def no_eol(value: bytes) -> bytes:
    return value.replace(b"\r", b"").replace(b"\n", b"")


VALUES = st.one_of(
    st.text(max_size=10).map(lambda s: no_eol(s.encode())),
    st.sampled_from(JSONISH).map(lambda s: s.encode()),
    st.binary(max_size=6).map(no_eol),
)
LINES = st.one_of(
    st.tuples(st.sampled_from(NAMES), st.sampled_from([b":", b": "]), VALUES).map(b"".join),
    st.sampled_from(NAMES),
    VALUES.map(lambda v: b":" + v),
    st.integers(0, 10**6).map(lambda i: b"retry: %d" % i),
)
BLOCKS = st.lists(st.lists(LINES, max_size=4), max_size=6)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, bool, list[list[tuple[bytes, bytes]]], bytes]:
    """(stream, has_bom, blocks as [(line, line end)] with the blank line last, unterminated tail)."""
    style = draw(st.sampled_from(["lf", "cr", "crlf", "mixed"]))
    ends = {"lf": [b"\n"], "cr": [b"\r"], "crlf": [b"\r\n"], "mixed": [b"\n", b"\r", b"\r\n"]}[style]
    bom = draw(st.booleans())
    blocks: list[list[tuple[bytes, bytes]]] = []
    previous = b""
    for lines in draw(BLOCKS):
        block = []
        for line in [*lines, b""]:
            choices = ends
            if not line and previous == b"\r":
                choices = [e for e in ends if e != b"\n"] or [b"\r\n"]  # "\r" + "\n" would be one line end
            previous = draw(st.sampled_from(choices))
            block.append((line, previous))
        blocks.append(block)
    tail = draw(st.one_of(st.just(b""), LINES))
    body = b"".join(line + end for block in blocks for line, end in block) + tail
    return (BOM if bom else b"") + body, bom, blocks, tail


@st.composite
def split_streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    data = draw(streams())[0]
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=10))
    return data, split_at(data, cuts)


def parse_field(line: bytes) -> tuple[bytes, bytes, int] | None:
    """(name, value, offset of the value in the line), or None for a comment."""
    if line.startswith(b":"):
        return None
    name, colon, value = line.partition(b":")
    if not colon:
        return name, b"", len(line)
    at = len(name) + 1
    if value.startswith(b" "):
        value = value[1:]
        at += 1
    return name, value, at


def expected_events(bom: bool, blocks: list[list[tuple[bytes, bytes]]]) -> list[tuple[Any, ...]]:
    """The events of a generated stream, in the form of :func:`full`, from how it was built."""
    out = []
    offset = 3 if bom else 0
    last_id = None
    for block in blocks:
        start = offset
        data: list[bytes] = []
        data_offset = -1
        event = None
        retry = None
        for line, end in block:
            field = parse_field(line) if line else None
            if field is not None:
                name, value, at = field
                if name == b"data":
                    if not data:
                        data_offset = offset + at
                    data.append(value)
                elif name == b"event":
                    event = value.decode("utf-8", "replace") if value else None
                elif name == b"id" and b"\x00" not in value:
                    last_id = value.decode("utf-8", "replace")
                elif name == b"retry" and value.isdigit():
                    retry = int(value)
            offset += len(line) + len(end)
        if data:
            raw = b"".join(line + end for line, end in block)
            out.append((event, b"\n".join(data), last_id, retry, raw, start, data_offset))
    return out


def normalized(data: bytes, events: list[ServerSentEvent]) -> list[tuple[Any, ...]]:
    """Undo the one effect of where reads end: an LF after a CR that ended a read.

    That LF belongs to the line the CR ended, but the tokenizer learns so only in the next read,
    after the block was dispatched; it is then counted as the first byte of the next block.
    """
    out = []
    for e in events:
        raw, offset = e.raw, e.offset
        if raw.startswith(b"\n") and offset > 0 and data[offset - 1 : offset] == b"\r":
            raw, offset = raw[1:], offset + 1
        end = offset + len(raw)
        if raw.endswith(b"\r") and data[end : end + 1] == b"\n":
            raw += b"\n"
        out.append((e.event, e.payload, e.id, e.retry, raw, offset, e.data_offset))
    return out


# ---------------------------------------------------------------------------------------------
# (c) Raw bytes and offsets.
# ---------------------------------------------------------------------------------------------


def test_raw_and_offsets_example(backend):
    blocks = [
        b": keep-alive\r\n\r\n",
        b'id: 1\nevent: start\ndata: {"a":1}\ndata: second\n\n',
        b"retry: 30\n\n",
        b"data:x\r\r",
        b"event: only\r\n\r\n",
        b"data\n\n",
    ]
    stream = BOM + b"".join(blocks) + b"data: unterminated\n"
    events = feed_all(backend.SSEDecoder(), [stream])
    starts = [3 + sum(map(len, blocks[:i])) for i in range(len(blocks))]
    assert [(e.raw, e.offset) for e in events] == [(blocks[i], starts[i]) for i in (1, 3, 5)]
    assert [e.data_offset for e in events] == [
        starts[1] + len(b"id: 1\nevent: start\ndata: "),
        starts[3] + len(b"data:"),
        starts[5] + len(b"data"),
    ]
    assert [e.payload for e in events] == [b'{"a":1}\nsecond', b"x", b""]
    # The raws of the dispatched blocks, the other blocks and the unterminated tail rebuild the input.
    raws = iter(e.raw for e in events)
    rebuilt = [next(raws) if i in (1, 3, 5) else block for i, block in enumerate(blocks)]
    assert BOM + b"".join(rebuilt) + b"data: unterminated\n" == stream


@HYPOTHESIS
@given(streams())
def test_raw_and_offsets_match_the_blocks(backend, generated):
    data, bom, blocks, _tail = generated
    events = feed_all(backend.SSEDecoder(), [data])
    assert [full(e) for e in events] == expected_events(bom, blocks)
    # The raws of dispatched blocks plus the bytes of the other blocks rebuild the input.
    dispatched = {e.offset for e in events}
    parts = [BOM] if bom else []
    offset = len(parts[0]) if bom else 0
    by_offset = {e.offset: e.raw for e in events}
    for block in blocks:
        block_bytes = b"".join(line + end for line, end in block)
        parts.append(by_offset[offset] if offset in dispatched else block_bytes)
        offset += len(block_bytes)
    parts.append(data[offset:])
    assert b"".join(parts) == data


# ---------------------------------------------------------------------------------------------
# (d) Where the reads end does not change the events.
# ---------------------------------------------------------------------------------------------


@HYPOTHESIS
@given(split_streams())
def test_split_invariance(backend, generated):
    data, pieces = generated
    whole = [full(e) for e in feed_all(backend.SSEDecoder(), [data])]
    for split in (pieces, one_byte_pieces(data)):
        events = feed_all(backend.SSEDecoder(), split)
        assert all(data[e.offset : e.offset + len(e.raw)] == e.raw for e in events)
        assert [(e.event, e.payload, e.id, e.retry, e.data_offset) for e in events] == [
            w[:4] + w[6:] for w in whole
        ]
        assert normalized(data, events) == whole
        assert b"".join(n[4] for n in normalized(data, events)) == b"".join(w[4] for w in whole)


@HYPOTHESIS
@given(split_streams())
def test_split_invariance_without_cr_at_read_ends(backend, generated):
    """When no read ends in a CR, the raw bytes and offsets are exactly those of one whole read."""
    data, pieces = generated
    merged: list[bytes] = []
    for piece in pieces:
        if merged and merged[-1].endswith(b"\r"):
            merged[-1] += piece
        else:
            merged.append(piece)
    whole = [full(e) for e in feed_all(backend.SSEDecoder(), [data])]
    assert [full(e) for e in feed_all(backend.SSEDecoder(), merged)] == whole


# ---------------------------------------------------------------------------------------------
# (e) The backend against the pure-Python twin: identical output for identical reads.
# ---------------------------------------------------------------------------------------------


def trace(cls: Any, pieces: list[bytes], max_event_size: int, payload_reads: list[bool]) -> list[Any]:
    """Everything observable: each read's result or error and the state after it."""
    decoder = cls(max_event_size)
    out: list[Any] = []
    for i, piece in enumerate(pieces):
        try:
            if payload_reads[i % len(payload_reads)]:
                out.append(decoder.feed_payloads(piece))
            else:
                out.append([full(e) for e in decoder.feed(piece)])
        except EventTooLargeError as exc:
            out.append(("error", str(exc), exc.offset, exc.event_index))
            with pytest.raises(EventTooLargeError) as again:
                decoder.close()
            assert again.value is exc
        out.append(state(decoder))
    try:
        out.append(decoder.close())
    except EventTooLargeError as exc:
        out.append(("closed", exc.offset, exc.event_index))
    return out


@HYPOTHESIS
@given(
    split_streams(),
    st.one_of(st.just(1 << 24), st.integers(0, 120)),
    st.lists(st.booleans(), min_size=1, max_size=3),
)
def test_same_as_python_twin(backend, generated, max_event_size, payload_reads):
    data, pieces = generated
    twin = ssedelta.get_backend("python").SSEDecoder
    for split in (pieces, one_byte_pieces(data), [data]):
        assert trace(backend.SSEDecoder, split, max_event_size, payload_reads) == trace(
            twin, split, max_event_size, payload_reads
        )


@HYPOTHESIS
@given(
    st.lists(
        st.sampled_from([b"data: ", b"data", b"\r", b"\n", b"\r\n", b"x", b":", BOM, b"id: 1", b"\xff"]),
        max_size=40,
    ),
    st.lists(st.integers(0, 200), max_size=8),
    st.integers(0, 40),
)
def test_same_as_python_twin_on_fragments(backend, fragments, cuts, max_event_size):
    data = b"".join(fragments)
    pieces = split_at(data, [c for c in cuts if c <= len(data)])
    twin = ssedelta.get_backend("python").SSEDecoder
    for reads in ([False], [True], [False, True]):
        assert trace(backend.SSEDecoder, pieces, max_event_size, reads) == trace(
            twin, pieces, max_event_size, reads
        )


#: Blocks as OpenAI's Responses API and Anthropic send them ("event: <name>" then one "data: "
#: line), and near misses: an empty or unspaced name, a second data line, a comment, an id.
NAMED_BLOCKS = st.one_of(
    st.tuples(st.sampled_from([b"a", b"response.output_text.delta", b" b", b"\xff"]), VALUES).map(
        lambda nv: [b"event: " + nv[0], b"data: " + nv[1]]
    ),
    st.lists(
        st.sampled_from(
            [
                b"event: a",
                b"event: ",
                b"event:a",
                b"data: {}",
                b"data: ",
                b"data:x",
                b"data: event: ",
                b": c",
                b"id: 7",
            ]
        ),
        max_size=3,
    ),
)


def payload_reads(decoder: Any, pieces: list[bytes], payloads: bool | list[bool]) -> list[Any]:
    """The (event, payload, data offset, event index) of every event, then the error that ended
    the reads, if one did, read with ``feed_payloads`` or with ``feed`` (a list: in turn)."""
    modes = payloads if isinstance(payloads, list) else [payloads]
    out: list[Any] = []
    try:
        for i, piece in enumerate(pieces):
            if modes[i % len(modes)]:
                out.extend(decoder.feed_payloads(piece))
            else:
                for event in decoder.feed(piece):
                    out.append((event.event, event.payload, event.data_offset, len(out)))
        decoder.close()
    except EventTooLargeError as exc:
        out.append((type(exc).__name__, exc.offset, exc.event_index, exc.limit))
    except StreamFormatError as exc:
        out.append((type(exc).__name__, exc.offset, exc.event_index))
    return out


@HYPOTHESIS
@given(
    st.lists(NAMED_BLOCKS, max_size=12),
    st.lists(st.integers(0, 400), max_size=6),
    st.one_of(st.just(1 << 24), st.integers(0, 80)),
    st.one_of(st.none(), st.integers(0, 40)),
    st.lists(st.booleans(), min_size=1, max_size=3),
)
@example(  # the start of the second block read by feed_payloads, its end by feed
    blocks=[[b"event: a", b"data: 1"], [b"event: a", b"data: 2"], [b"event: b", b"data: 3"]],
    cuts=[29],
    max_event_size=1 << 24,
    max_line_size=None,
    modes=[True, False],
)
def test_named_blocks_read_alike_whole_and_byte_by_byte(
    backend, blocks, cuts, max_event_size, max_line_size, modes
):
    """Runs of named one-line blocks give the payloads, offsets and errors that the line-by-line
    reading of the same bytes gives, whichever method reads them."""
    data = b"".join(b"\n".join(lines) + b"\n\n" for lines in blocks)
    expected = payload_reads(backend.SSEDecoder(max_event_size, max_line_size), one_byte_pieces(data), False)
    twin = ssedelta.get_backend("python").SSEDecoder
    for pieces in ([data], split_at(data, [c for c in cuts if c <= len(data)])):
        for cls in (backend.SSEDecoder, twin):
            for payloads in (True, False, modes):
                assert payload_reads(cls(max_event_size, max_line_size), pieces, payloads) == expected
        # raw bytes and the state after each read, reads of both kinds in turn
        assert trace(backend.SSEDecoder, pieces, max_event_size, modes) == trace(
            twin, pieces, max_event_size, modes
        )


@pytest.mark.parametrize(
    ("max_event_size", "max_line_size", "error"),
    [(24, None, ("EventTooLargeError", 18, 1, "max_event_size")), (10**6, 13, ("LimitExceededError", 27, 1))],
)
def test_named_block_over_a_limit_after_one_within(backend, max_event_size, max_line_size, error):
    # The second block is 25 bytes from offset 18, its data line 14 bytes from offset 27.
    data = b"event: a\ndata: 1\n\nevent: a\ndata: 12345678\n\nevent: a\ndata: 2\n\n"
    for payloads in (True, False):
        out = payload_reads(backend.SSEDecoder(max_event_size, max_line_size), [data], payloads)
        assert out[:1] == [("a", b"1", 15, 0)]
        assert out[1][:3] == error[:3]
        assert len(out) == 2


@pytest.mark.parametrize(
    ("max_event_size", "max_line_size", "error"),
    [(20, None, ("EventTooLargeError", 18, 1)), (10**6, 12, ("LimitExceededError", 27, 1))],
)
def test_block_begun_at_the_end_of_a_read_over_a_limit(backend, max_event_size, max_line_size, error):
    # The second block (from offset 18, its data line from 27) is 23 bytes so far, its data line 14.
    decoder = backend.SSEDecoder(max_event_size, max_line_size)
    assert decoder.feed_payloads(b"event: a\ndata: 1\n\nevent: a\ndata: 12345678") == [("a", b"1", 15, 0)]
    with pytest.raises(StreamFormatError) as raised:
        decoder.close()
    assert (type(raised.value).__name__, raised.value.offset, raised.value.event_index) == error


@pytest.mark.parametrize("tail", [b"event: a\nretry: 7\ndata: 2", b"retry: 7\ndata: 2"])
def test_retry_at_the_end_of_a_read_is_set_by_that_read(backend, tail):
    decoder = backend.SSEDecoder()
    assert decoder.feed_payloads(b"event: a\ndata: 1\n\n" + tail) == [("a", b"1", 15, 0)]
    assert decoder.retry == 7


# ---------------------------------------------------------------------------------------------
# (f) Input types.
# ---------------------------------------------------------------------------------------------

TYPED_STREAM = b"id: 9\nevent: e\ndata: caf\xc3\xa9\n\ndata: 2\r\n\n"


@pytest.mark.parametrize(
    "convert",
    [
        bytes,
        bytearray,
        memoryview,
        lambda b: memoryview(bytearray(b)),
        lambda b: memoryview(b"??" + b + b"??")[2:-2],
        lambda b: memoryview(bytes(x for c in b for x in (c, 0)))[::2],
    ],
    ids=[
        "bytes",
        "bytearray",
        "memoryview",
        "memoryview-of-bytearray",
        "memoryview-slice",
        "strided-memoryview",
    ],
)
def test_input_types(backend, convert):
    expected = [full(e) for e in feed_all(backend.SSEDecoder(), [TYPED_STREAM])]
    assert len(expected) == 2
    for size in (1, 3, len(TYPED_STREAM)):
        decoder = backend.SSEDecoder()
        pieces = [convert(TYPED_STREAM[i : i + size]) for i in range(0, len(TYPED_STREAM), size)]
        assert [full(e) for e in feed_all(decoder, pieces)] == expected
        payloads = backend.SSEDecoder().feed_payloads(convert(TYPED_STREAM))
        assert [p[:3] for p in payloads] == [(e[0], e[1], e[6]) for e in expected]


def test_input_is_not_kept(backend):
    buffer = bytearray(b"data: abc\n\ndata: de")
    decoder = backend.SSEDecoder()
    (first,) = decoder.feed(buffer)
    buffer[:] = b"XXXXXXXXXXXXXXXXXXX"
    (second,) = decoder.feed(bytearray(b"f\n\n"))
    assert (first.payload, first.raw) == (b"abc", b"data: abc\n\n")
    assert (second.payload, second.raw) == (b"def", b"data: def\n\n")


def test_str_is_rejected(backend):
    with pytest.raises(TypeError):
        backend.SSEDecoder().feed("data: a\n\n")


# ---------------------------------------------------------------------------------------------
# (g) max_event_size.
# ---------------------------------------------------------------------------------------------


def test_block_at_the_limit_is_accepted(backend):
    block = b"data: " + b"x" * 10 + b"\n\n"
    (event,) = backend.SSEDecoder(max_event_size=len(block)).feed(block)
    assert event.raw == block
    with pytest.raises(EventTooLargeError):
        backend.SSEDecoder(max_event_size=len(block) - 1).feed(block)


@pytest.mark.parametrize("size", [1, 7, 64, None])
def test_oversize_event_raises_with_block_offset(backend, size):
    small = b"data: a\n\n"
    big = b"id: 3\ndata: " + b"x" * 200 + b"\n\n"
    stream = small + b": c\n\n" + big + small
    decoder = backend.SSEDecoder(max_event_size=100)
    pieces = [stream] if size is None else [stream[i : i + size] for i in range(0, len(stream), size)]
    events = []
    with pytest.raises(EventTooLargeError) as info:
        for piece in pieces:
            events.extend(decoder.feed(piece))
        decoder.feed(b"")  # events completed before the error in the same read come first
    error = info.value
    assert isinstance(error, StreamFormatError)
    assert isinstance(error, ValueError)
    assert (error.offset, error.event_index) == (len(small) + 5, 1)
    assert "max_event_size=100" in str(error)
    assert summary(events) == [(E, "a", None, None)]
    # The error sticks: every later call raises it again.
    for call in (lambda: decoder.feed(small), lambda: decoder.feed_payloads(small), decoder.close):
        with pytest.raises(EventTooLargeError) as again:
            call()
        assert again.value is error


def test_events_before_the_oversize_block_come_first(backend):
    stream = b"data: a\n\ndata: b\n\ndata: " + b"x" * 100 + b"\n\n"
    decoder = backend.SSEDecoder(max_event_size=50)
    assert summary(decoder.feed(stream)) == [(E, "a", None, None), (E, "b", None, None)]
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"")
    assert (info.value.offset, info.value.event_index) == (18, 2)


def test_oversize_block_without_data_also_raises(backend):
    decoder = backend.SSEDecoder(max_event_size=20)
    assert len(decoder.feed(b"data: a\n\n")) == 1
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b": " + b"c" * 30 + b"\n\n")
    assert (info.value.offset, info.value.event_index) == (9, 1)


def test_giant_comment_without_newline_raises(backend):
    decoder = backend.SSEDecoder(max_event_size=4096)
    decoder.feed(b"data: a\n\n:")
    reads = 0
    with pytest.raises(EventTooLargeError) as info:
        while reads < 100_000:  # 100 MiB if nothing stopped it
            decoder.feed(b"x" * 1024)
            reads += 1
    # The read that takes the block past the limit raises: 1 + 4 * 1024 > 4096.
    assert reads == 3
    assert (info.value.offset, info.value.event_index) == (9, 1)


def test_limit_does_not_count_the_lf_of_a_split_crlf(backend):
    # A read ends between the CR and the LF of a blank line: the LF ends that line, and the next
    # block (9 bytes) begins after it.
    decoder = backend.SSEDecoder(max_event_size=9)
    assert summary(decoder.feed(b"data: a\r\r")) == [(E, "a", None, None)]
    assert summary(decoder.feed(b"\ndata: b\n\n")) == [(E, "b", None, None)]
    decoder = backend.SSEDecoder(max_event_size=9)
    decoder.feed(b"data: a\r\r")
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"\ndata: bc\n\n")
    assert info.value.offset == 10


# ---------------------------------------------------------------------------------------------
# (h) Linear time: one huge event in small reads. A quadratic tokenizer would take minutes.
# ---------------------------------------------------------------------------------------------


def test_huge_event_in_small_reads(backend):
    size = (64 if backend.name == "native" else 8) << 20
    body = b"data: " + b"x" * size + b"\n\n"
    view = memoryview(body)
    decoder = backend.SSEDecoder(max_event_size=len(body))
    events = []
    for i in range(0, len(body), 1024):
        events.extend(decoder.feed(view[i : i + 1024]))
    assert len(events) == 1
    assert len(events[0].payload) == size
    assert events[0].payload == body[6:-2]
    assert events[0].raw == body
    assert decoder.offset == len(body)


def test_many_lines_in_one_huge_read(backend):
    count = 200_000 if backend.name == "native" else 50_000
    for line_end in (b"\n", b"\r", b"\r\n"):
        block = b"".join(b"data: %d%s" % (i, line_end) for i in range(count)) + line_end
        (event,) = backend.SSEDecoder(max_event_size=len(block)).feed(block)
        assert event.payload.count(b"\n") == count - 1
        assert event.raw == block
