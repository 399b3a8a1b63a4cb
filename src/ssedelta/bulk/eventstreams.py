"""The streams of an event-stream file whose first stream is a Responses API or Anthropic Messages
stream: read event by event, each stream merged by the merger of its format.

A stream's format is the one its first event says (:func:`ssedelta.stream_format.format_of_event`;
chat when it says none). A stream ends at the event that ends it for its merger (``response.completed``
and the other terminal events, ``message_stop``, an ``error`` event, ``[DONE]``): the next event
starts the next stream. A ``[DONE]`` right after a stream's end belongs to that stream. After an
event the merger cannot read, the stream runs on to the next event that opens a stream
(``response.created``, ``message_start``) or the end of the file. White space and comments between
streams belong to the stream before; the last stream runs to the end of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import stream_format as sf
from ..errors import StreamFormatError
from ._io import Reader
from .errors import NoChunksError, ReadError, TruncatedStreamError
from .sse import READ_SIZE, StreamResult, finished

#: Event types that open a stream of their format.
_OPENING = frozenset({"response.created", "message_start"})


class _Open:
    __slots__ = ("error", "format", "merger", "start")

    def __init__(self, fmt: str, backend: Any, start: int) -> None:
        self.format = fmt
        self.merger = sf.merger_class(fmt, backend)()
        self.start = start
        self.error: Exception | None = None


class EventStreamReader:
    """The streams of ``f`` from its current position (at file offset ``start``, up to ``end``),
    as :class:`~ssedelta.bulk.sse.StreamResult` objects."""

    def __init__(self, f: Reader, backend: Any, *, start: int = 0, end: int | None = None) -> None:
        self._f = f
        self._backend = backend
        self._start = start
        self._end = end
        self._pending = bytearray()  # bytes read and not yet given to a merger
        self._base = start  # the file offset of the first pending byte
        self._stream: _Open | None = None
        self._ended: StreamResult | None = None  # the last stream, ended, until the next starts
        self.read_error: Exception | None = None

    def __iter__(self) -> Iterator[StreamResult]:
        decoder: Any = self._backend.SSEDecoder()
        remaining = None if self._end is None else self._end - self._start
        while True:
            want = READ_SIZE if remaining is None else min(READ_SIZE, remaining)
            try:
                data = self._f.read(want) if want > 0 else b""
            except MemoryError:
                raise
            except Exception as exc:  # any reader's error ends the file; it is reported
                self.read_error = exc
                data = b""
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            self._pending += data
            if decoder is None:
                continue
            try:
                events = decoder.feed(data)
            except StreamFormatError as exc:  # an over-size event: the rest is the stream's
                decoder = None
                self._fail(exc)
                continue
            for event in events:
                yield from self._event(event)
        yield from self._close()

    def _fail(self, exc: StreamFormatError) -> None:
        if self._stream is None:
            start = self._base
            if self._ended is not None:
                self._ended.size = start - self._ended.start
            self._stream = _Open(sf.CHAT if self._ended is None else self._ended.format, self._backend, start)
        if self._stream.error is None:
            self._stream.error = exc

    def _event(self, event: Any) -> Iterator[StreamResult]:
        at = self._start + event.offset
        end = at + len(event.raw)
        stream = self._stream
        if stream is not None and stream.error is not None and _opens(event):
            yield self._finish(at)
            stream = None
        if stream is None:
            if self._ended is not None and event.payload.strip() == b"[DONE]":
                self._ended.size = end - self._ended.start
                self._take(end)
                return
            if self._ended is not None:
                self._ended.size = at - self._ended.start
                yield self._ended
                self._ended = None
            fmt = sf.format_of_event(event.event, event.payload) or sf.CHAT
            stream = self._stream = _Open(fmt, self._backend, at)
            self._take(at)
        self._feed(stream, end)
        if stream.error is None and stream.merger.done:
            self._ended = self._result(stream, end - stream.start)
            self._stream = None

    def _take(self, upto: int) -> bytes:
        """The pending bytes before file offset ``upto`` (they leave the buffer)."""
        cut = max(0, upto - self._base)
        taken = bytes(self._pending[:cut])
        del self._pending[:cut]
        self._base += cut
        return taken

    def _feed(self, stream: _Open, upto: int) -> None:
        piece = self._take(upto)
        if stream.error is None and piece:
            try:
                stream.merger.feed(piece)
            except StreamFormatError as exc:
                stream.error = exc

    def _finish(self, upto: int) -> StreamResult:
        stream = self._stream
        assert stream is not None
        self._feed(stream, upto)
        self._stream = None
        return self._result(stream, upto - stream.start)

    def _result(self, stream: _Open, size: int) -> StreamResult:
        merger = stream.merger
        completion, error = finished(merger, stream.error)
        events = int(merger.events)
        if error is None and not events:
            error = NoChunksError("no event in the stream", 0, None)
        return StreamResult(stream.start, size, events, completion, error, stream.format)

    def _close(self) -> Iterator[StreamResult]:
        end = self._base + len(self._pending)
        stream = self._stream
        if stream is not None:
            if self._ended is not None:  # the stream before an over-size event
                yield self._ended
                self._ended = None
            if stream.error is None and _holds_event(self._pending):
                where = self._base - stream.start
                stream.error = TruncatedStreamError("the stream ends inside an event", where, None)
            yield self._finish(end)
        elif self._ended is not None:
            self._ended.size = end - self._ended.start
            yield self._ended
        self._ended = None
        if self.read_error is not None:
            message = f"cannot read the file to its end: {self.read_error}"
            yield StreamResult(end, 0, 0, None, ReadError(message, 0, None))


def _holds_event(tail: bytearray) -> bool:
    """Whether bytes after the last event hold a line that is not blank or a comment."""
    return any(line.strip() and not line.lstrip().startswith(b":") for line in bytes(tail).splitlines())


def _opens(event: Any) -> bool:
    if event.event in _OPENING:
        return True
    head = bytes(event.payload[:64])
    return any(b'"type":"%s"' % kind.encode() in head.replace(b" ", b"") for kind in _OPENING)
