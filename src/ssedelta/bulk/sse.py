"""The streams of an event-stream file: one response body, or many bodies one after the other.

Where a stream ends:

- after a ``data: [DONE]`` line, always (a ``[DONE]`` glued to the next ``data:`` counts too);
- in a file whose streams end with ``[DONE]`` (one is in its first MiB, or came earlier in the
  file), also before a chunk that opens a message (a ``role`` in a delta) under a new non-empty
  ``id`` while the stream has no ``finish_reason`` yet: that stream was cut off, and is reported;
- in a file without ``[DONE]``, before a chunk with a new non-empty ``id`` that opens a message,
  or that follows a ``finish_reason`` or a bad event;
- before a ``data:`` glued to a cut-off line (a capture that stopped mid-event, then the next one).

So a body holding several completions (Cerebras) or a new id on every chunk (Groq compound)
stays one stream when it ends with ``[DONE]``, as :func:`ssedelta.merge` sees it.

The common case runs at the merger's speed: the file is read in line-aligned pieces fed straight
to a ``DeltaMerger``; ``[DONE]`` is looked for only where the merger reports it, and counting the
stream's own ``"id":"..."`` tells whether any other id came. Everything else (a bad event, an id
change, a missing ``[DONE]``) is settled by the event-level :class:`Splitter` over the stream's
bytes, which are kept until the stream ends (up to :data:`KEEP_LIMIT`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import StreamFormatError, UpstreamError
from ._io import Reader
from .errors import NoChunksError, ReadError, TruncatedStreamError

READ_SIZE = 256 * 1024
#: Bytes given to the merger per call: ``[DONE]`` is looked for in at most this much.
FEED_SIZE = 16 * 1024
#: The first read; a ``[DONE]`` line in it says the file's streams end with ``[DONE]``.
PEEK_SIZE = 1024 * 1024
#: A stream's bytes are kept for a second look up to this size; a larger one is taken as merged.
KEEP_LIMIT = 32 * 1024 * 1024
#: A line longer than this is passed on in pieces instead of being held whole.
LONG_LINE = 4 * 1024 * 1024

NON_WS = re.compile(rb"[^ \t\r\n]")
_EOL = re.compile(rb"[\r\n]")
_DONE = b"[DONE]"
_ID = b'"id":"'
_EMPTY_ID = b'"id":""'

#: ``(buf, start, end, base)``: the bytes ``buf[start:end]``, ``buf[i]`` being at ``base + i``.
Part = tuple[bytes, int, int, int]


@dataclass(slots=True)
class StreamResult:
    """One stream: where it starts, its size, its chunks (events for the formats other than chat)
    and its completion, the merged result of its ``format`` (the partial one when ``error`` is
    set)."""

    start: int
    size: int
    chunks: int
    completion: Any
    error: Exception | None
    format: str = "chat"


# ------------------------------------------------------------------ [DONE] lines


def done_line_end(buf: bytes, a: int, b: int) -> int:
    """The end (past its line terminator) of the first ``data: [DONE]`` line in ``buf[a:b]``,
    ``a`` being taken as a line start; ``-1`` when there is none."""
    i = buf.find(_DONE, a, b)
    while i >= 0:
        nl = buf.rfind(b"\n", a, i)
        start = a if nl < 0 else nl + 1
        cr = buf.rfind(b"\r", start, i)
        if cr >= 0:
            start = cr + 1
        if buf.startswith(b"data:", start, i) and not buf[start + 5 : i].strip(b" \t"):
            k = i + 6
            while k < b and buf[k] in b" \t":
                k += 1
            if k == b:
                return b
            if buf[k] == 10:
                return k + 1
            if buf[k] == 13:
                return k + 2 if k + 1 < b and buf[k + 1] == 10 else k + 1
        i = buf.find(_DONE, i + 6, b)
    return -1


def has_done_line(buf: bytes, a: int, b: int) -> bool:
    last = buf.rfind(_DONE, a, b)
    if last < 0:
        return False
    if done_line_end(buf, max(a, buf.rfind(b"\n", a, last) + 1), b) >= 0:
        return True
    return done_line_end(buf, a, b) >= 0


def ends_with_done_line(buf: bytes, a: int, b: int) -> bool:
    e = done_line_end(buf, max(a, b - 64), b)
    while 0 <= e < b:
        e = done_line_end(buf, e, b)
    return e == b


def _id_pattern(buf: bytes, a: int, b: int) -> bytes | None:
    """``"id":"<value>"`` for the first non-empty id in ``buf[a:b]``."""
    i = buf.find(_ID, a, b)
    while i >= 0:
        j = buf.find(b'"', i + 6, b)
        if j < 0:
            return None
        if j > i + 6:
            return None if b"\\" in buf[i + 6 : j] else buf[i : j + 1]
        i = buf.find(_ID, j + 1, b)
    return None


def _tail_event_start(buf: bytes, a: int, b: int) -> int:
    """Where the unfinished event at the end of ``buf[a:b]`` starts, ``-1`` when there is none."""
    t = a
    for blank in (b"\n\n", b"\r\r", b"\n\r"):
        i = buf.rfind(blank, a, b)
        if i >= 0:
            end = i + 2
            if blank[1] == 13 and end < b and buf[end] == 10:
                end += 1
            t = max(t, end)
    tail = buf[t:b]
    if tail.startswith(b"data") or b"\ndata" in tail or b"\rdata" in tail:
        return t
    return -1


# ------------------------------------------------------------------ finishing a stream


def finished(merger: Any, error: Exception | None) -> tuple[Any, Exception | None]:
    """What ``merger`` merged and the stream's error: its ``finish()`` when no error came before,
    the partial result of an upstream error, else its snapshot."""
    completion = None
    if error is None:
        try:
            completion = merger.finish()
        except UpstreamError as exc:
            error, completion = exc, exc.partial
        except StreamFormatError as exc:
            error = exc
    if completion is None:
        completion = merger.snapshot()
    return completion, error


def finish_stream(
    merger: Any,
    start: int,
    size: int,
    error: Exception | None,
    ended_by_done: bool,
    truncated_at: int | None,
    done_mode: bool,
) -> StreamResult:
    """The result of a stream whose bytes ``merger`` has merged."""
    completion, error = finished(merger, error)
    if error is None:
        if truncated_at is not None:
            error = TruncatedStreamError(
                "the stream ends inside an event", truncated_at - start, merger.events
            )
        elif not merger.chunks and not ended_by_done:
            error = NoChunksError("no chat completion chunk in the stream", 0, None)
        elif done_mode and not ended_by_done:
            error = TruncatedStreamError("the stream ends without [DONE]", size, merger.events)
    return StreamResult(start, size, merger.chunks, completion, error)


class Builder:
    """Merges the streams a :class:`Splitter` marks out, each with a fresh merger."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._merger: Any = None
        self._start = 0
        self._size = 0
        self._error: Exception | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.results: list[StreamResult] = []

    def open(self, start: int) -> None:
        self._merger = self._backend.DeltaMerger()
        self._start = start
        self._size = 0
        self._error = None

    def adopt(self, merger: Any, start: int, size: int, error: Exception | None) -> None:
        """Go on with a stream a merger has read so far (it reads nothing more)."""
        self._merger, self._start, self._size = merger, start, size
        self._error = error if error is not None else merger.error
        if self._error is None:
            self._error = TruncatedStreamError("stream too large to read again", size, merger.events)

    def data(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._error is None:
            self._pending.append(piece)
            self._pending_size += len(piece)
            if self._pending_size >= FEED_SIZE:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            if self._error is None and not self._merger.done:
                try:
                    self._merger.feed(data)
                except (StreamFormatError, UpstreamError) as exc:
                    self._error = exc

    def close(self, ended_by_done: bool, truncated_at: int | None, done_mode: bool) -> None:
        self._flush()
        self.results.append(
            finish_stream(
                self._merger, self._start, self._size, self._error, ended_by_done, truncated_at, done_mode
            )
        )

    def take(self) -> list[StreamResult]:
        out, self.results = self.results, []
        return out


# ------------------------------------------------------------------ event-level splitting


class Splitter:
    """Reads events line by line and marks where each stream starts and ends (module docstring).

    ``feed`` returns the index in ``buf`` just past a ``[DONE]`` that ended a stream (it stops
    there), else ``-1``; ``close`` ends the last stream at the end of the file.
    """

    def __init__(self, sink: Builder, done_mode: bool) -> None:
        self.sink = sink
        self.done_mode = done_mode
        self._carry = b""
        self._carry_at = 0
        self._open = False
        self._block: list[bytes] = []
        self._block_at = 0
        self._data: list[bytes] = []
        self._cut_line = False
        self._last_id: str | None = None
        self._finished = False
        self._broken = False
        self._chunked = False

    def adopt_open(self) -> None:
        """Continue inside a stream whose start was read elsewhere and that went bad."""
        self._open = True
        self._broken = True
        self._chunked = True

    def feed(self, buf: bytes, a: int, b: int, base: int) -> int:
        if self._carry:
            data, at = self._carry + buf[a:b], self._carry_at
            self._carry = b""
        else:
            data, at = buf[a:b], base + a
        stop = self._run(data, at, eof=False)
        return -1 if stop < 0 else at + stop - base

    def close(self) -> None:
        if self._carry:
            data, self._carry = self._carry, b""
            self._run(data, self._carry_at, eof=True)
        if self._open:
            self._end(False)

    def _run(self, data: bytes, at: int, eof: bool) -> int:
        i, n = 0, len(data)
        while i < n:
            if not self._open:
                m = NON_WS.search(data, i)
                if m is None:
                    return -1
                i = m.start()
                self._start(at + i)
            m = _EOL.search(data, i)
            if m is None:
                if not eof:
                    self._carry, self._carry_at = data[i:], at + i
                    return -1
                j = e = n
            else:
                j = m.start()
                e = j + 1
                if data[j] == 13:
                    if e < n:
                        if data[e] == 10:
                            e += 1
                    elif not eof:
                        self._carry, self._carry_at = data[i:], at + i
                        return -1
            i, stop = self._line(data, i, j, e, at)
            if stop:
                return i
        return -1

    def _line(self, data: bytes, i: int, j: int, e: int, at: int) -> tuple[int, bool]:
        """Take the line ``data[i:j]`` (ending at ``e``); the index to go on from, and whether a
        ``[DONE]`` ended the stream there."""
        if i == j:
            self._add(data[i:e], at + i)
            self._dispatch()
            return e, False
        if data.startswith(b"data", i, j):
            name, _, value = data[i:j].partition(b":")
            if name == b"data":
                if value[:1] == b" ":
                    value = value[1:]
                if value.strip() == _DONE:
                    self._add(data[i:e], at + i)
                    self._end(True)
                    return e, True
                glued = _glued_at(value)
                if glued >= 0:
                    cut = j - len(value) + glued
                    self._add(data[i:cut], at + i)
                    if value[:glued].strip() == _DONE:
                        self._end(True)
                        return cut, True
                    self._cut_line = True
                    self._end(False)
                    self._start(at + cut)
                    return cut, False
                self._data.append(value)
        self._add(data[i:e], at + i)
        return e, False

    def _add(self, raw: bytes, at: int) -> None:
        if not self._block:
            self._block_at = at
        self._block.append(raw)

    def _dispatch(self) -> None:
        if self._data:
            payload = b"\n".join(self._data)
            self._data = []
            self._chunk(payload)
        self.sink.data(b"".join(self._block))
        self._block = []

    def _chunk(self, payload: bytes) -> None:
        stripped = payload.strip()
        if not stripped or stripped[:1] == b":":
            return
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            self._broken = True
            return
        chunk_id = obj.get("id")
        if not isinstance(chunk_id, str) or not chunk_id:
            chunk_id = None
        opens = finished = False
        choices = obj.get("choices")
        if type(choices) is list:
            for choice in choices:
                if type(choice) is dict:
                    delta = choice.get("delta")
                    if type(delta) is dict and delta.get("role"):
                        opens = True
                    if choice.get("finish_reason") is not None:
                        finished = True
        if chunk_id and self._chunked and self._last_id and chunk_id != self._last_id:
            if self.done_mode:
                split = self._broken or (opens and not self._finished)
            else:
                split = self._broken or opens or self._finished
            if split:
                block_at = self._block_at
                self._end(False, keep_block=True)
                self._start(block_at)
        if chunk_id:
            self._last_id = chunk_id
        self._finished = self._finished or finished
        self._broken = self._broken or bool(obj.get("error"))
        self._chunked = True

    def _start(self, at: int) -> None:
        self._open = True
        self._last_id = None
        self._finished = self._broken = self._chunked = False
        self.sink.open(at)

    def _end(self, ended_by_done: bool, keep_block: bool = False) -> None:
        truncated_at = None
        if not keep_block and self._block:
            if not ended_by_done and (self._data or self._cut_line):
                truncated_at = self._block_at
            self.sink.data(b"".join(self._block))
            self._block = []
        self._data = []
        self._cut_line = False
        self._open = False
        if ended_by_done:
            self.done_mode = True
        self.sink.close(ended_by_done, truncated_at, self.done_mode)


def _glued_at(value: bytes) -> int:
    """Where a ``data:`` starts inside a data value that is a cut-off payload (or ``[DONE]``)
    directly followed by the next event, else ``-1``."""
    k = value.find(b"data:", 1)
    if k < 0:
        return -1
    rest = value[k + 5 :].lstrip(b" ")
    if not (rest.startswith(b"{") or rest.startswith(_DONE)):
        return -1
    head = value[:k]
    if head.strip() == _DONE:
        return k
    try:
        orjson.loads(head)
    except orjson.JSONDecodeError:
        return k
    return -1


# ------------------------------------------------------------------ reading a file


class _Stream:
    """A stream on the fast path: its merger, and its bytes kept for a second look."""

    __slots__ = ("ids", "kept", "kept_size", "last", "merger", "pattern", "size", "start")

    def __init__(self, merger: Any, start: int) -> None:
        self.merger = merger
        self.start = start
        self.size = 0
        self.kept: list[Part] | None = []
        self.kept_size = 0
        self.last: Part | None = None
        self.pattern: bytes | None = None
        self.ids = 0

    def add(self, part: Part) -> None:
        buf, a, b, _ = part
        if self.pattern is None:
            self.pattern = _id_pattern(buf, a, min(b, a + 65536))
        if self.pattern is not None:
            self.ids += buf.count(self.pattern, a, b)
        self.size += b - a
        self.last = part
        if self.kept is not None:
            self.kept_size += b - a
            if self.kept_size > KEEP_LIMIT:
                self.kept = None
            else:
                self.kept.append(part)

    def single_id(self) -> bool:
        """Whether every chunk carried the stream's own id (or an empty one)."""
        chunks = self.merger.chunks
        if not chunks:
            return True
        if self.pattern is None:
            return False
        if self.ids == chunks:
            return True
        if self.ids < chunks and self.kept is not None:
            empty = sum(buf.count(_EMPTY_ID, a, b) for buf, a, b, _ in self.kept)
            return bool(self.ids + empty == chunks)
        return False


class SSEReader:
    """The streams of an event-stream file, in order, as :class:`StreamResult` objects.

    ``f`` is read from its current position; ``start`` is the offset of that position in the
    file (the offsets of the results count from the file's start) and ``end`` where to stop.
    ``done_seen`` says a ``[DONE]`` came before ``start``. A read error (I/O, corrupt compressed
    data) ends the file: the streams before it are given, then a :class:`ReadError` result.
    """

    def __init__(
        self, f: Reader, backend: Any, *, start: int = 0, end: int | None = None, done_seen: bool = False
    ) -> None:
        self._f = f
        self._backend = backend
        self._start = start
        self._end = end
        self._done_seen = done_seen
        self.read_error: Exception | None = None
        self._offset = start

    def _read(self, size: int) -> bytes:
        try:
            return self._f.read(size)
        except MemoryError:
            raise
        except Exception as exc:  # any reader's error ends the file; it is reported
            self.read_error = exc
            return b""

    def _regions(self) -> Iterator[Part]:
        """The file in pieces that end at a line end (the last one may not)."""
        base = self._start
        remaining = None if self._end is None else self._end - self._start
        carry = b""
        size = PEEK_SIZE
        while True:
            want = size if remaining is None else min(size, remaining)
            data = self._read(want) if want > 0 else b""
            size = READ_SIZE
            if remaining is not None:
                remaining -= len(data)
            if not data:
                if carry:
                    self._offset = base + len(carry)
                    yield carry, 0, len(carry), base
                return
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n") + 1 or buf.rfind(b"\r") + 1
            if not cut:
                if len(buf) < LONG_LINE:
                    carry = buf
                    continue
                cut = len(buf)
            carry = buf[cut:]
            self._offset = base + cut
            yield buf, 0, cut, base
            base += cut

    def __iter__(self) -> Iterator[StreamResult]:
        """The streams; each one's size runs to the next one's start (white space between
        streams belongs to the stream before), the last one's to the end."""
        held: StreamResult | None = None
        for result in self._streams():
            if held is not None:
                if result.start >= held.start + held.size:
                    held.size = result.start - held.start
                yield held
            held = result
        if held is not None:
            if held.error is None or not isinstance(held.error, ReadError):
                held.size = max(held.size, self._offset - held.start)
            yield held

    def _streams(self) -> Iterator[StreamResult]:
        done_mode = self._done_seen
        regions = self._regions()
        pending: deque[Part] = deque()
        first = True
        stream: _Stream | None = None
        splitter: Splitter | None = None
        builder = Builder(self._backend)
        while True:
            part: Part | None
            if pending:
                part = pending.popleft()
            elif (part := next(regions, None)) is not None:
                if first:
                    first = False
                    done_mode = done_mode or has_done_line(part[0], part[1], part[2])
            elif stream is not None:
                # The end of the file inside a stream that had no [DONE]: a second look decides.
                if stream.kept is None:
                    yield self._unkept_end(stream, done_mode)
                else:
                    splitter = Splitter(builder, done_mode)
                    pending.extend(stream.kept)
                stream = None
                continue
            else:
                break
            buf, pos, n, base = part
            while pos < n:
                if splitter is not None:
                    stop = splitter.feed(buf, pos, n, base)
                    yield from builder.take()
                    if stop < 0:
                        break
                    splitter = None
                    done_mode = True
                    pos = stop
                    continue
                if stream is None:
                    m = NON_WS.search(buf, pos, n)
                    if m is None:
                        break
                    pos = m.start()
                    if not done_mode:
                        splitter = Splitter(builder, done_mode)
                        continue
                    stream = _Stream(self._backend.DeltaMerger(), base + pos)
                seg = pos
                end_at, error = self._feed(stream.merger, buf, pos, n)
                if end_at == -2:
                    splitter = Splitter(builder, done_mode)
                    if stream.kept is None:
                        builder.adopt(stream.merger, stream.start, stream.size, error)
                        splitter.adopt_open()
                        pending.appendleft((buf, seg, n, base))
                    else:
                        pending.extendleft(reversed([*stream.kept, (buf, seg, n, base)]))
                    stream = None
                    break
                if end_at < 0 and not ends_with_done_line(buf, seg, n):
                    stream.add((buf, seg, n, base))
                    break
                pos = n if end_at < 0 else end_at
                stream.add((buf, seg, pos, base))
                if stream.single_id() or stream.kept is None:
                    yield finish_stream(stream.merger, stream.start, stream.size, None, True, None, done_mode)
                else:
                    splitter = Splitter(builder, done_mode)
                    pending.extendleft(reversed([*stream.kept, (buf, pos, n, base)]))
                    stream = None
                    break
                stream = None
        if splitter is not None:
            splitter.close()
            yield from builder.take()
        if self.read_error is not None:
            message = f"cannot read the file to its end: {self.read_error}"
            yield StreamResult(self._offset, 0, 0, None, ReadError(message, 0, None))

    @staticmethod
    def _feed(merger: Any, buf: bytes, pos: int, n: int) -> tuple[int, Exception | None]:
        """Feed ``buf[pos:n]`` to ``merger``: the end of the ``[DONE]`` line that ended the stream,
        ``-1`` when the bytes ran out first, ``-2`` (and the error, if one) when this stream
        needs the second look."""
        seg = pos
        view = memoryview(buf)
        while pos < n:
            sub, pos = pos, min(pos + FEED_SIZE, n)
            try:
                merger.feed(view[sub:pos])
            except (StreamFormatError, UpstreamError) as exc:
                return -2, exc
            if merger.done:
                if merger.error is not None:
                    return -2, None
                end_at = done_line_end(buf, max(seg, sub - 64), n)
                if not seg <= end_at <= pos:
                    end_at = done_line_end(buf, seg, n)
                return (end_at, None) if seg <= end_at <= pos else (-2, None)
        return -1, None

    def _unkept_end(self, stream: _Stream, done_mode: bool) -> StreamResult:
        truncated_at = None
        if stream.last is not None:
            buf, a, b, base = stream.last
            t = _tail_event_start(buf, a, b)
            if t >= 0:
                truncated_at = base + t
        return finish_stream(stream.merger, stream.start, stream.size, None, False, truncated_at, done_mode)
