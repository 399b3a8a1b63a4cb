"""The twin tokenizer's ``feed_named`` (what the pure-Python Responses merger reads): a run of
``event:`` + one ``data:`` line blocks comes as one :class:`NamedRun`, whose payloads, names,
data offsets and event numbers must be those of the events ``feed`` gives one by one, with the
same state after each read and the same errors, for the near misses of that shape in any split."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_named_block_reads import BLOCKS, split_at

from ssedelta._sse_py import NamedRun, SSEDecoder
from ssedelta.errors import StreamFormatError

#: Well-formed blocks, so that runs are long and a near miss sits among them.
GOOD = st.tuples(
    st.sampled_from([b"a", b"response.output_text.delta", b"\xc3\xa9t\xc3\xa9", b"\xff"]),
    st.sampled_from([b"{}", b"", b"x", b'{"type":"a"}', b"data: y", b"event: b"]),
).map(lambda nd: b"event: " + nd[0] + b"\ndata: " + nd[1] + b"\n\n")


def flattened(items: list[Any]) -> tuple[list[tuple[Any, ...]], int]:
    """The payload tuples of ``feed_named`` items, each run's from its ``position``; and how
    many runs there were."""
    out: list[tuple[Any, ...]] = []
    runs = 0
    for item in items:
        if type(item) is NamedRun:
            runs += 1
            for k, payload in enumerate(item.payloads):
                event, offset, index = item.position(k)
                out.append((event, payload, offset, index))
        else:
            out.append(item)
    return out, runs


def reads(pieces: list[bytes], max_event_size: int, max_line_size: int | None, named: bool) -> list[Any]:
    decoder = SSEDecoder(max_event_size, max_line_size)
    out: list[Any] = []
    try:
        for piece in pieces:
            if named:
                events, _ = flattened(decoder.feed_named(piece))
            else:
                # Events with their raw bytes are read without the table of the names seen.
                first = decoder.events_dispatched
                read = decoder.feed(piece)
                events = [(e.event, e.payload, e.data_offset, first + k) for k, e in enumerate(read)]
            out.append((events, decoder.last_event_id, decoder.events_dispatched, decoder.offset))
        decoder.close()
    except StreamFormatError as exc:
        out.append((type(exc).__name__, str(exc), exc.offset, exc.event_index))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(GOOD, GOOD, BLOCKS), max_size=10),
    st.lists(st.integers(0, 400), max_size=4),
    st.one_of(st.just(1 << 24), st.integers(0, 60)),
    st.one_of(st.none(), st.integers(0, 30)),
)
@example(  # a block without the space after "data:" between good ones (neither the least nor the greatest)
    blocks=[b"event: a\ndata: 1\n\n", b"event: a\ndata:2\n\n", b"event: a\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(  # an "id:" line for the name, between good ones
    blocks=[b"event: a\ndata: 1\n\n", b"id: 7\ndata: 2\n\n", b"event: z\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(  # a comment for the data line (less than any data line)
    blocks=[b"event: a\ndata: 1\n\n", b"event: a\n: c\n\n", b"event: a\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(  # a data line for the name (less than any event line)
    blocks=[b"event: a\ndata: 1\n\n", b"data: 00\ndata: 2\n\n", b"event: a\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
@example(  # an empty name
    blocks=[b"event: a\ndata: 1\n\n", b"event: \ndata: 2\n\n", b"event: b\ndata: 3\n\n"],
    cuts=[],
    max_event_size=1 << 24,
    max_line_size=None,
)
def test_named_runs_give_what_payload_reads_give(blocks, cuts, max_event_size, max_line_size):
    data = b"".join(blocks)
    for pieces in ([data], split_at(data, cuts)):
        assert reads(pieces, max_event_size, max_line_size, True) == reads(
            pieces, max_event_size, max_line_size, False
        )


def test_a_run_of_named_blocks_is_one_item_with_the_offsets_of_its_payloads():
    data = b"event: a\ndata: 1\n\nevent: bc\ndata: {}\n\nevent: a\ndata: \n\n"
    items = SSEDecoder().feed_named(data)
    events, runs = flattened(items)
    assert runs == 1
    assert events == [("a", b"1", 15, 0), ("bc", b"{}", 34, 1), ("a", b"", 53, 2)]
    assert [data[offset : offset + len(payload)] for _, payload, offset, _ in events] == [b"1", b"{}", b""]
