"""A CRLF split between two pieces: the block after it begins after the LF, whatever the split.

When a piece ends with the CR of a CRLF, the LF that starts the next piece belongs to that line
ending. An event, an error or a too-large block that begins right after it has the offset and the
raw bytes it has when the stream comes in one piece. (An event that the CR ends is dispatched at
the CR, so its raw bytes end there.)"""

from __future__ import annotations

import pytest

import ssedelta
from ssedelta.errors import EventTooLargeError

STREAMS = [
    b"data: a\r\n\r\ndata: b\r\n\r\n",
    b"event: x\r\ndata: 1\r\n\r\n: note\r\ndata: 2\r\n\r\n",
    b"\r\n\r\n\r\ndata: c\r\n\r\n",
    b"data: d\r\n\r\nid: 7\r\ndata: e\r\n\r\n",
]


def events(backend: ssedelta.Backend, pieces: list[bytes]) -> list[tuple[object, ...]]:
    decoder = backend.SSEDecoder()
    out = []
    for piece in pieces:
        for e in decoder.feed(piece):
            out.append((e.event, e.payload, e.id, e.raw.rstrip(b"\n"), e.offset, e.data_offset))
    return out


@pytest.mark.parametrize("stream", STREAMS)
def test_events_after_a_split_crlf_are_placed_as_in_one_piece(
    backend: ssedelta.Backend, stream: bytes
) -> None:
    whole = events(backend, [stream])
    assert whole, "the stream holds events"
    crs = [k for k in range(len(stream)) if stream[k : k + 2] == b"\r\n"]
    for cr in crs:
        assert events(backend, [stream[: cr + 1], stream[cr + 1 :]]) == whole, cr


def test_a_too_large_block_after_a_split_crlf_has_the_offset_of_one_piece(
    backend: ssedelta.Backend,
) -> None:
    first = b'data: {"choices":[]}\r\n\r\n'
    stream = first + b"data: " + b"x" * 100 + b"\r\n\r\n"
    start = len(first)
    offsets = set()
    for cut in (start - 1, start, len(stream)):
        merger = backend.DeltaMerger(max_event_size=64)
        with pytest.raises(EventTooLargeError) as info:
            for piece in (stream[:cut], stream[cut:]):
                merger.feed(piece)
        offsets.add(info.value.offset)
    assert offsets == {start}
