"""Blocks of one ``event:`` and one ``data:`` line (the Responses and Anthropic shape) read by the
tokenizer of each backend: the same events, offsets, raw bytes and errors as the twin gives, for
the near misses of that shape (a CR anywhere, the name of the last event as a prefix of the next,
an empty or unspaced name, a second line of either field, a missing blank line) and any split."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta import responses
from ssedelta.errors import StreamFormatError

NAMES = [b"a", b"ab", b"response.output_text.delta", b"response.output_text.delta.x", b"", b"\xff", b"a\rb"]
DATA = [b"{}", b"", b"x", b"data: y", b"\r", b"1\r", b"event: a"]
EVENT_LINES = st.tuples(st.sampled_from([b"event: ", b"event:", b"event:  "]), st.sampled_from(NAMES)).map(
    b"".join
)
DATA_LINES = st.tuples(st.sampled_from([b"data: ", b"data:", b"data"]), st.sampled_from(DATA)).map(b"".join)
ENDS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r"])
BLOCKS = st.one_of(
    st.tuples(EVENT_LINES, ENDS, DATA_LINES, ENDS, ENDS).map(b"".join),
    st.tuples(EVENT_LINES, DATA_LINES).map(lambda lines: lines[0] + b"\n" + lines[1] + b"\n\n"),
    st.lists(st.one_of(EVENT_LINES, DATA_LINES, st.just(b"id: 3"), st.just(b": c")), max_size=3).map(
        lambda lines: b"\n".join(lines) + b"\n\n"
    ),
)


def observed(cls: Any, pieces: list[bytes], max_event_size: int, max_line_size: int | None) -> list[Any]:
    """Each read's events (all their fields) and the state after it, then how the reads ended."""
    decoder = cls(max_event_size, max_line_size)
    out: list[Any] = []
    try:
        for piece in pieces:
            events = decoder.feed(piece)
            out.append([(e.event, e.payload, e.id, e.retry, e.raw, e.offset, e.data_offset) for e in events])
            out.append(decoder.last_event_id)
        decoder.close()
    except StreamFormatError as exc:
        out.append((type(exc).__name__, str(exc), exc.offset, exc.event_index))
    return out


def payloads(cls: Any, pieces: list[bytes], max_event_size: int, max_line_size: int | None) -> list[Any]:
    decoder = cls(max_event_size, max_line_size)
    out: list[Any] = []
    try:
        for piece in pieces:
            out.extend(decoder.feed_payloads(piece))
        decoder.close()
    except StreamFormatError as exc:
        out.append((type(exc).__name__, str(exc), exc.offset, exc.event_index))
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(BLOCKS, max_size=8),
    st.lists(st.integers(0, 300), max_size=4),
    st.one_of(st.just(1 << 24), st.integers(0, 60)),
    st.one_of(st.none(), st.integers(0, 30)),
)
@example(  # the name of the last event, then a longer one it begins
    blocks=[b"event: a\ndata: 1\n\n", b"event: ab\ndata: 2\n\n", b"event: a\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(
    blocks=[b"event: a\ndata: 1\n\n", b"event: a\ndata: 2\r\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(
    blocks=[b"event: a\ndata: 1\n\n", b"event: a\rdata: 2\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(
    blocks=[b"event: a\ndata: 1\n\n", b"event: a\ndata: 2\n\n"], cuts=[], max_event_size=20, max_line_size=7
)
def test_named_blocks_as_the_twin_reads_them(backend, blocks, cuts, max_event_size, max_line_size):
    data = b"".join(blocks)
    twin = ssedelta.get_backend("python").SSEDecoder
    for pieces in ([data], split_at(data, cuts)):
        for read in (observed, payloads):
            assert read(backend.SSEDecoder, pieces, max_event_size, max_line_size) == read(
                twin, pieces, max_event_size, max_line_size
            )


def test_named_blocks_give_their_names_and_payloads(backend):
    data = (
        b"event: a\ndata: 1\n\nevent: ab\ndata: 2\n\nevent: a\ndata: 3\n\n"
        b"event:\ndata: 4\n\nevent: a\ndata: 5\r\n\n"
    )
    events = backend.SSEDecoder().feed(data)
    assert [(e.event, e.payload, e.offset, e.data_offset) for e in events] == [
        ("a", b"1", 0, 15),
        ("ab", b"2", 18, 34),
        ("a", b"3", 37, 52),
        (None, b"4", 55, 68),
        ("a", b"5", 71, 86),
    ]


def test_delta_events_over_two_data_lines_merge_as_on_one(backend):
    """A payload in two ``data:`` lines reaches the merger as one joined ``bytes`` (the other way
    in): its deltas are taken the same."""
    item = b'{"id":"msg_1","type":"message","role":"assistant","content":[]}'
    part = b'{"type":"output_text","text":"","annotations":[]}'
    at = b'"item_id":"msg_1","output_index":0,"content_index":0'
    head = [
        b"event: response.output_item.added\n"
        + b'data: {"type":"response.output_item.added","output_index":0,"item":'
        + item
        + b"}\n\n",
        b'event: response.content_part.added\ndata: {"type":"response.content_part.added",'
        + at
        + b',"part":'
        + part
        + b"}\n\n",
    ]
    deltas = [b"Hel", b"lo", b" w\\u00f6rld", b"!"]
    one = [
        b'data: {"type":"response.output_text.delta",' + at + b',"delta":"' + d + b'"}\n\n' for d in deltas
    ]
    two = [
        b'data: {"type":"response.output_text.delta",\ndata: ' + at + b',"delta":"' + d + b'"}\n\n'
        for d in deltas
    ]
    mixed = [two[0], one[1], two[2], one[3]]
    results = []
    for body in (one, two, mixed):
        merger = responses.merger_class(backend)()
        merger.feed(b"".join(head + body))
        results.append(merger.snapshot().to_dict())
    assert results[0]["output"][0]["content"][0]["text"] == "Hello wörld!"
    assert results[1] == results[0]
    assert results[2] == results[0]
