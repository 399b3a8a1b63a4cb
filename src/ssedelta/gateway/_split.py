"""Cutting a byte stream at event boundaries, without losing or moving a byte.

:class:`EventSplitter` turns pieces into consecutive segments: the raw block of each dispatched
event, and the bytes between events (comment blocks such as keep-alives, blocks without data, a
byte order mark). Joined, the segments give back the stream. Each event segment comes with its
decoded chunk (for Responses and Anthropic streams, the event object), or ``None`` when the
event is not one (``[DONE]``, a keep-alive, an error event that is no chunk, anything after the
stream ended or failed to decode).
"""

from __future__ import annotations

from typing import Any

from .. import anthropic, responses
from .. import stream_format as sf
from .._backend import Backend
from .._schema import Model
from .._sse_py import DEFAULT_MAX_EVENT_SIZE
from ..errors import UpstreamError

Segment = tuple[bytes, "Model | None"]

#: Byte pairs that end a block: a line end followed by an empty line.
_BLOCK_ENDS = (b"\n\n", b"\r\r", b"\r\n\r\n")


class EventSplitter:
    def __init__(
        self, backend: Backend, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE, observer: Any = None
    ) -> None:
        """``observer`` (its ``format``) says the stream format; chat without it."""
        self._observer = observer
        self._sse: Any = backend.SSEDecoder(max_event_size)
        self._chunks: Any = backend.ChunkDecoder(max_event_size)
        self._decoding = True
        self._failed = False
        self._pending = bytearray()  # stream bytes not yet handed out
        self._base = 0  # stream offset of the first pending byte

    def feed(self, piece: bytes | bytearray | memoryview) -> list[Segment]:
        if self._failed:
            return [(bytes(piece), None)] if piece else []
        pending = self._pending
        pending += piece
        try:
            events = self._sse.feed(piece)
        except Exception:  # an over-size event: from here on the bytes pass as they come
            self._failed = True
            self._decoding = False
            rest = bytes(pending)
            pending.clear()
            return [(rest, None)] if rest else []
        out: list[Segment] = []
        at = 0
        base = self._base
        for event in events:
            end = event.offset - base + len(event.raw)
            # Bytes before the block that no event holds (after a read cut between the CR and the
            # LF of a CRLF, that LF) go out on their own.
            start = max(event.offset - base, at)
            if start > at:
                out.append(self._segment(bytes(pending[at:start])))
            out.append(self._segment(bytes(pending[start:end])))
            at = end
        # Complete blocks after the last event hold no data (comments, keep-alives): hand them out
        # now rather than with the next event. A trailing CR may be the first half of a CRLF.
        cut = _last_block_end(pending, at)
        if cut > at and not (cut == len(pending) and pending[-1] == 13):
            out.append(self._segment(bytes(pending[at:cut])))
            at = cut
        if at:
            del pending[:at]
            self._base = base + at
        return out

    def close(self) -> list[Segment]:
        """The bytes of an unterminated last block (never an event)."""
        rest = bytes(self._pending)
        self._pending.clear()
        return [(rest, None)] if rest else []

    def _segment(self, raw: bytes) -> Segment:
        if not self._decoding:
            return raw, None
        fmt = self._observer.format if self._observer is not None else sf.CHAT
        if fmt == sf.RESPONSES or fmt == sf.ANTHROPIC:
            return raw, _event_of(responses if fmt == sf.RESPONSES else anthropic, raw)
        try:
            chunks = self._chunks.feed(raw)
        except UpstreamError as exc:
            self._decoding = False
            return raw, exc.chunk
        except Exception:
            self._decoding = False
            return raw, None
        if self._chunks.done:
            self._decoding = False
        return raw, chunks[0] if chunks else None


def _event_of(package: Any, raw: bytes) -> Model | None:
    """The event object of one event block (``None`` for ``[DONE]`` or an event that cannot be
    decoded; an ``error`` event's own object when the format has one)."""
    try:
        for event in package.iter_events(raw):
            return event  # type: ignore[no-any-return]
    except UpstreamError as exc:
        return exc.chunk  # type: ignore[no-any-return]
    except Exception:
        return None
    return None


def _last_block_end(buffer: bytearray, start: int) -> int:
    """The offset just past the last block end in ``buffer[start:]``, or -1."""
    best = -1
    for end in _BLOCK_ENDS:
        found = buffer.rfind(end, start)
        if found >= 0:
            best = max(best, found + len(end))
    return best
