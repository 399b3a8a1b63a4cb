"""Incremental WHATWG event-stream tokenizer, pure Python.

Bytes go in, in pieces split anywhere; complete events come out. Lines end at
CRLF, LF or CR (never at U+2028 or U+0085); one leading UTF-8 BOM is skipped;
a blank line dispatches an event only when the block had a ``data`` line.
Every byte is looked at a bounded number of times whatever the read size: a
line split over many reads is kept as a list of parts and joined once, and the
start of a block left at the end of a read is read again only with a next read
at least as long. Runs of one-line blocks, named or not, are read with one split.
"""

from __future__ import annotations

import sys
import threading
from itertools import accumulate
from operator import itemgetter
from typing import Any

from .errors import EventTooLargeError, LimitExceededError, ReentrantCallError
from .events import ServerSentEvent

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
#: ``None``: a line is bounded by ``max_event_size`` only (it cannot be longer than its block).
DEFAULT_MAX_LINE_SIZE = None

_BOM = b"\xef\xbb\xbf"

#: What the merge path takes from an event: (event type, payload, data offset, event index).
Payload = tuple[str | None, bytes, int, int]

RUNS = 2  # the third output mode of _scan, besides events (True) and payload tuples (False)
NAMED = 3  # the fourth: payload tuples, and runs of named one-line blocks as NamedRun

#: A ``retry`` value is used only when it is 1 to this many ASCII digits (so it fits a C
#: ``long long``); any other value is ignored, as WHATWG ignores one with a non-digit.
MAX_RETRY_DIGITS = 18

#: ``event: <name>`` lines seen in runs of named blocks, and their names (at most MAX_EVENT_NAMES).
_EVENT_NAMES: dict[bytes, str] = {}
MAX_EVENT_NAMES = 256


def limit_value(name: str, value: Any) -> int:
    """The setting of a resource limit option: an int >= 0, or ``None`` for no limit.

    Only a plain ``int`` is accepted (not ``bool`` nor a subclass), so that reading a limit
    never runs code of the caller's."""
    if value is None:
        return sys.maxsize
    if type(value) is not int:
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return min(value, sys.maxsize)


class PayloadRun(list):  # type: ignore[type-arg]
    """The payloads of consecutive one-line ``data: `` blocks (``data: {payload}\\n\\n`` each):
    ``first_offset`` is the stream offset of the first block, ``first_index`` its event number,
    ``nbytes`` the total length of the payloads."""

    __slots__ = ("first_index", "first_offset", "nbytes")

    def __init__(self, payloads: list[bytes], first_offset: int, first_index: int, nbytes: int) -> None:
        super().__init__(payloads)
        self.first_offset = first_offset
        self.first_index = first_index
        self.nbytes = nbytes

    def position(self, k: int) -> tuple[int, int]:
        """The data offset and event index of the ``k``-th payload."""
        return self.first_offset + sum(len(p) + 8 for p in self[:k]) + 6, self.first_index + k


_AFTER_DATA = itemgetter(slice(6, None))


def event_name(line: bytes) -> str:
    """The name of an ``event: <name>`` line (remembered for the next, up to MAX_EVENT_NAMES)."""
    name = _EVENT_NAMES.get(line)
    if name is None:
        name = line[7:].decode("utf-8", "replace")
        if len(_EVENT_NAMES) < MAX_EVENT_NAMES:
            _EVENT_NAMES[line] = name
    return name


class NamedRun:
    """The payloads of consecutive ``event: <name>`` then ``data: <payload>`` blocks (``lines``:
    their lines, the blank ones between them included); the name, data offset and event number
    of one are worked out when :meth:`position` asks for them."""

    __slots__ = ("_starts", "first_index", "first_offset", "lines", "payloads")

    def __init__(self, lines: list[bytes], first_offset: int, first_index: int) -> None:
        self.lines = lines
        self.payloads: list[bytes] = list(map(_AFTER_DATA, lines[1::3]))
        self.first_offset = first_offset
        self.first_index = first_index
        self._starts: list[int] | None = None

    def position(self, k: int) -> tuple[str, int, int]:
        """The event type, data offset and event index of the ``k``-th payload."""
        starts = self._starts
        if starts is None:  # the offset of each line, its line end counted
            starts = self._starts = list(accumulate((len(line) + 1 for line in self.lines), initial=0))
        return event_name(self.lines[3 * k]), self.first_offset + starts[3 * k + 1] + 6, self.first_index + k


class ReentryGuard:
    """Refuses a call into an object while another call into it runs (see :class:`ReentrantCallError`)."""

    __slots__ = ("_what", "lock")

    def __init__(self, what: str) -> None:
        self.lock = threading.Lock()
        self._what = what

    def refuse(self) -> None:
        raise ReentrantCallError(f"{self._what} called while one of its calls was running")

    def __enter__(self) -> None:
        if not self.lock.acquire(False):
            self.refuse()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


class SSEDecoder:
    """Incremental event-stream tokenizer: ``feed(piece)`` returns the events it completes.

    After an error the decoder is failed: every later ``feed``, ``feed_payloads`` and
    ``close`` raises the same exception again. That is so for the limit errors and for any
    other exception that stops a read midway (a :exc:`MemoryError`, say). A call made while
    another call into the same decoder runs raises :class:`ReentrantCallError` and changes
    nothing.
    """

    __slots__ = (
        "_base",
        "_block_offset",
        "_block_parts",
        "_block_retry",
        "_block_size",
        "_bom_pending",
        "_count",
        "_data",
        "_data_offset",
        "_event",
        "_event_limit",
        "_failed",
        "_guard",
        "_id_buffer",
        "_line_limit",
        "_line_parts",
        "_line_size",
        "_max_event_size",
        "_max_line_size",
        "_pending",
        "_skip_lf",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        max_line_size: int | None = DEFAULT_MAX_LINE_SIZE,
    ) -> None:
        """``max_event_size``: the largest event block accepted, in bytes (from its first byte
        through its blank line; comments and every field, ``id``, ``event`` and ``retry``
        included, count; ``None``: no limit); a larger one raises
        :class:`EventTooLargeError` as soon as it is seen to be too large, before it ends.
        ``max_line_size``: the longest line accepted, in bytes without its line end (``None``:
        bounded by ``max_event_size`` only); a longer one raises :class:`LimitExceededError`
        (``limit="max_line_size"``, ``offset`` where the line starts) as soon as it is seen.
        Each is an ``int >= 0`` or ``None`` (else ``TypeError`` or ``ValueError``)."""
        self._event_limit = limit_value("max_event_size", max_event_size)
        self._max_event_size = max_event_size
        self._guard = ReentryGuard("SSEDecoder")
        self._line_limit = limit_value("max_line_size", max_line_size)
        self._max_line_size = max_line_size
        #: The last event id string (set at each blank line), ``None`` before any ``id`` field.
        self.last_event_id: str | None = None
        #: The reconnection time set by the last valid ``retry`` field.
        self.retry: int | None = None
        self._base = 0  # stream offset of the first byte of the next piece
        self._line_parts: list[bytes] = []  # the unterminated line, from earlier pieces
        self._line_size = 0  # the length of the parts in _line_parts
        self._block_parts: list[bytes] = []  # the current block's bytes from earlier pieces
        self._block_size = 0
        self._block_offset = 0
        self._skip_lf = False
        self._bom_pending: bytes | None = b""  # BOM prefix held back; None once decided
        self._data: list[bytes] | None = None
        self._data_offset = -1
        self._event: bytes | None = None
        self._block_retry: int | None = None
        self._id_buffer: str | None = None
        self._count = 0
        self._failed: BaseException | None = None
        self._pending = b""  # the start of a block held back unread by _named_run

    @property
    def max_event_size(self) -> int | None:
        return self._max_event_size

    @property
    def max_line_size(self) -> int | None:
        return self._max_line_size

    @property
    def events_dispatched(self) -> int:
        return self._count

    @property
    def offset(self) -> int:
        """Bytes consumed so far (the stream offset of the next byte)."""
        return self._base

    def feed(self, piece: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """The events ``piece`` completes.

        An over-size block raises :class:`EventTooLargeError` (an over-long line
        :class:`LimitExceededError`); when events were completed earlier in the
        same piece they are returned first and the error is raised by the next
        call (and by every call after it).
        """
        out: list[ServerSentEvent] = []
        self._read(piece, out, True)
        return out

    def close(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated event is discarded, as WHATWG says."""
        if self._failed is not None:
            raise self._failed
        with self._guard:
            self._close()
        return []

    def _close(self) -> None:
        self._pending = b""
        self._reset_block()
        self._line_parts = []
        self._line_size = 0
        self._block_parts = []
        self._block_size = 0
        self._skip_lf = False

    def feed_payloads(self, piece: bytes | bytearray | memoryview) -> list[Payload]:
        """Like :meth:`feed` but returns only what a chunk decoder needs, without raw bytes."""
        out: list[Payload] = []
        self._read(piece, out, False)
        return out

    def feed_runs(self, piece: bytes | bytearray | memoryview) -> list[Payload | PayloadRun]:
        """Like :meth:`feed_payloads`, but a run of one-line ``data: `` blocks comes as one
        :class:`PayloadRun` (the pure-Python merger's fast path)."""
        out: list[Payload | PayloadRun] = []
        self._read(piece, out, RUNS)
        return out

    def feed_named(self, piece: bytes | bytearray | memoryview) -> list[Payload | NamedRun]:
        """Like :meth:`feed_payloads`, but a run of ``event: <name>`` then ``data: `` blocks
        comes as one :class:`NamedRun` (the pure-Python Responses merger's path)."""
        out: list[Payload | NamedRun] = []
        self._read(piece, out, NAMED)
        return out

    def _read(self, piece: bytes | bytearray | memoryview, out: list, with_raw: bool | int) -> None:  # type: ignore[type-arg]
        """Scan ``piece`` into ``out``. A limit error with events before it in ``out`` is
        left for the next call; any exception that stops the scan fails the decoder."""
        data = bytes(piece)
        if self._failed is not None:
            raise self._failed
        with self._guard:
            try:
                self._scan(data, out, with_raw)
            except LimitExceededError:
                if not out:
                    raise
            except BaseException as exc:
                if self._failed is None:
                    self._failed = exc
                raise

    def _reset_block(self) -> None:
        self._data = None
        self._event = None
        self._block_retry = None

    def _scan(self, piece: bytes, out: list, with_raw: bool | int) -> None:  # type: ignore[type-arg]
        if self._bom_pending is not None:
            if self._bom_pending:
                piece = self._bom_pending + piece
                self._base -= len(self._bom_pending)
            if len(piece) < 3 and _BOM.startswith(piece):
                self._bom_pending = piece
                self._base += len(piece)
                return
            self._bom_pending = None
            start = 3 if piece.startswith(_BOM) else 0
            base = self._base
        else:
            start = 0
            held = self._pending
            if held:
                self._pending = b""
                if with_raw is True or len(held) > len(piece):
                    # Read as it would have been read (payloads, so not kept for a raw event).
                    self._base -= len(held)
                    self._scan(held, out, False)
                    held = b""
            base = self._base
            if held:
                piece = held + piece
                base -= len(held)
            parts = self._line_parts
            if (
                parts
                and with_raw is not True
                and self._line_size == self._block_size <= len(piece)
                and not self._block_parts
            ):
                # The block so far is one unterminated line: read it again with this piece, so
                # that the blocks here take the fast path (each byte is copied at most twice).
                piece = b"".join(parts) + piece
                base -= self._line_size
                self._line_parts = []
                self._line_size = self._block_size = 0
        n = len(piece)
        pos = start
        block_start = start  # where the current block begins inside this piece
        if self._skip_lf and pos < n:
            self._skip_lf = False
            if piece[pos] == 10:
                pos += 1
                if not self._line_parts and self._block_size == 0 and not self._block_parts:
                    block_start = pos  # the LF of a CRLF that ended a block: the next begins after it
        has_cr = b"\r" in piece
        line_parts = self._line_parts
        fast = not has_cr
        next_lf = -2  # where the next LF is, once searched for (-1: none left)
        while pos < n:
            if fast and pos == block_start and not line_parts and self._block_size == 0:
                fast = False
                pos = block_start = self._fast_blocks(piece, pos, base, out, with_raw)
                continue
            if has_cr:
                if next_lf < pos and next_lf != -1:
                    next_lf = piece.find(b"\n", pos)
                lf = next_lf
                cr = piece.find(b"\r", pos, n if lf < 0 else lf)
                if cr >= 0:
                    eol = cr
                    nxt = cr + 1
                    if nxt < n:
                        if piece[nxt] == 10:
                            nxt += 1
                    else:
                        self._skip_lf = True
                elif lf >= 0:
                    eol = lf
                    nxt = lf + 1
                else:
                    break
            else:
                eol = piece.find(b"\n", pos)
                if eol < 0:
                    break
                nxt = eol + 1
            if line_parts:
                line_parts.append(piece[pos:eol])
                line = b"".join(line_parts)
                line_offset = base + eol - len(line)
                line_parts.clear()
                self._line_size = 0
            elif eol == pos:
                line = b""
                line_offset = base + pos
            else:
                line = piece[pos:eol]
                line_offset = base + pos
            if not line:
                self.last_event_id = self._id_buffer
                size = self._block_size + nxt - block_start
                if size > self._event_limit:
                    self._too_large(base + block_start - self._block_size)
                if self._data is not None:
                    raw = b""
                    if with_raw is True:
                        raw = piece[block_start:nxt]
                        if self._block_parts:
                            raw = b"".join(self._block_parts) + raw
                    self._dispatch(out, raw, base + block_start - self._block_size, with_raw)
                self._reset_block()
                self._block_parts = []
                self._block_size = 0
                block_start = nxt
            else:
                if len(line) > self._line_limit:
                    self._line_too_long(
                        line_offset,
                        self._block_size + nxt - block_start,
                        base + block_start - self._block_size,
                    )
                self._field(line, line_offset)
            pos = nxt
        if pos < n:
            line_parts.append(piece[pos:])
            self._line_size += n - pos
        tail = n - block_start
        if tail:
            if with_raw is True:
                self._block_parts.append(piece[block_start:] if block_start else piece)
            self._block_size += tail
            if self._line_size > self._line_limit:
                self._line_too_long(base + n - self._line_size, self._block_size, base + n - self._block_size)
            if self._block_size > self._event_limit:
                self._too_large(base + n - self._block_size)
        self._base = base + n

    def _fast_blocks(self, piece: bytes, pos: int, base: int, out: list, with_raw: bool | int) -> int:  # type: ignore[type-arg]
        """Dispatch the run of one-line ``data: `` blocks at ``pos`` with one split.

        Returns where the run stopped."""
        max_size = self._event_limit
        count = start_count = self._count
        last_id = self._id_buffer
        if with_raw is RUNS:
            # Up to the last blank line, lines must alternate "data: ..." and "".
            end = piece.rfind(b"\n\n", pos)
            lines = piece[pos:end].split(b"\n")
            if end > pos and len(lines) % 2 and not any(lines[1::2]):
                payloads = [line[6:] for line in lines[0::2] if line[:6] == b"data: "]
                longest = max(map(len, payloads)) + 6 if len(payloads) * 2 - 1 == len(lines) else -1
                if longest >= 0 and longest + 2 <= max_size and longest <= self._line_limit:
                    out.append(PayloadRun(payloads, base + pos, count, end + 2 - pos - 8 * len(payloads)))
                    self.last_event_id = last_id
                    self._count = count + len(payloads)
                    return end + 2
        if with_raw is not True:
            end = self._named_run(piece, pos, base, out, with_raw is NAMED)
            if end != pos:
                return end
        for block in (piece[pos:] if pos else piece).split(b"\n\n")[:-1]:
            if block[:6] == b"data: " and b"\n" not in block:
                event = None
                skip = 6
            elif block[:7] == b"event: ":
                # "event: <name>" then one "data: " line, as OpenAI and Anthropic send them
                skip = block.find(b"\n") + 7
                if skip < 15 or block[skip - 6 : skip] != b"data: " or block.find(b"\n", skip) >= 0:
                    break
                if len(block) + 2 > max_size or len(block) > self._line_limit:
                    break  # the general path raises with the offsets of the line or block
                event = block[7 : skip - 7].decode("utf-8", "replace")
            else:
                break
            end = pos + len(block) + 2
            if end - pos > max_size or len(block) > self._line_limit:
                # In the order the general path checks: the line at its end, the block at its blank line.
                self.last_event_id = last_id
                self._count = count
                if len(block) > self._line_limit:
                    self._line_too_long(base + pos, len(block) + 1, base + pos)
                self._too_large(base + pos)
            if with_raw is True:
                raw = piece[pos:end]
                data_at = base + pos + skip
                out.append(ServerSentEvent(event, block[skip:], last_id, None, raw, base + pos, data_at))
            else:
                out.append((event, block[skip:], base + pos + skip, count))
            count += 1
            pos = end
        if count != start_count:
            self.last_event_id = last_id
            self._count = count
        return pos

    def _named_run(self, piece: bytes, pos: int, base: int, out: list, as_run: bool) -> int:  # type: ignore[type-arg]
        """Dispatch as payload tuples (``as_run``: as one :class:`NamedRun`) the blocks up to the
        last blank line of ``piece`` when every one of them is ``event: <name>`` then one
        ``data: `` line, within the limits.

        Returns where the run stopped: ``pos`` when the blocks are not all of that shape. A
        short tail that is the start of one more such block is kept unread in ``_pending``."""
        end = piece.rfind(b"\n\n", pos)
        if end <= pos:
            return pos
        lines = piece[pos:end].split(b"\n")
        if len(lines) % 3 != 2 or any(lines[2::3]):
            return pos
        longest = max(map(len, lines))
        if 2 * longest + 3 > self._event_limit or longest > self._line_limit:
            return pos  # the per-block path raises with the offsets of the line or block
        if as_run:
            return self._named_lines(piece, pos, base, out, end, lines)
        count = first = self._count
        append = out.append
        names = _EVENT_NAMES
        at = base + pos
        for line, data in zip(lines[0::3], lines[1::3], strict=True):
            name = names.get(line)
            if name is None:
                if line[:7] != b"event: " or len(line) == 7:
                    break
                name = line[7:].decode("utf-8", "replace")
                if len(names) < MAX_EVENT_NAMES:
                    names[line] = name
            if data[:6] != b"data: ":
                break
            at += len(line) + 7  # the payload's offset
            append((name, data[6:], at, count))
            at += len(data) - 4  # the next block's
            count += 1
        else:
            self._count = count
            return self._run_read(piece, end)
        del out[len(out) - (count - first) :]
        return pos

    def _named_lines(self, piece: bytes, pos: int, base: int, out: list, end: int, lines: list[bytes]) -> int:  # type: ignore[type-arg]
        """:meth:`_named_run` giving its blocks as one :class:`NamedRun`: every event line is
        ``event: `` and a name, every data line ``data: ...`` (all of a list's items between two
        that start so start so too)."""
        names = lines[0::3]
        datas = lines[1::3]
        if (
            min(names)[:7] != b"event: "
            or max(names)[:7] != b"event: "
            or min(map(len, names)) == 7
            or min(datas)[:6] != b"data: "
            or max(datas)[:6] != b"data: "
        ):
            return pos
        out.append(NamedRun(lines, base + pos, self._count))
        self._count += len(names)
        return self._run_read(piece, end)

    def _run_read(self, piece: bytes, end: int) -> int:
        """After a run of named blocks that ends at ``end`` (its last blank line): where the read
        goes on. A short tail that is the start of one more such block is kept in ``_pending``."""
        self.last_event_id = self._id_buffer
        end += 2
        tail = len(piece) - end
        if (
            tail
            and tail <= self._line_limit
            and tail <= self._event_limit
            and piece.startswith(b"event: ", end)
            and piece.count(b"\n", end) == 1
        ):
            # Held back whole, it is read with the next piece (a complete line of it has no
            # effect before its block ends, and it is within the limits).
            self._pending = piece[end:]
            return len(piece)
        return end

    def _too_large(self, offset: int) -> None:
        self._failed = EventTooLargeError(
            f"event block larger than max_event_size={self.max_event_size} bytes",
            offset,
            self._count,
            "max_event_size",
            self.max_event_size,
        )
        raise self._failed

    def _line_too_long(self, offset: int, block_size: int, block_offset: int) -> None:
        """An over-long line at ``offset``. When its block (``block_size`` bytes so far) is
        over ``max_event_size`` too, the limit passed first in the stream is the error raised
        (the event's on a tie), so that the error does not depend on how the stream is split."""
        if block_size > self._event_limit and block_offset + self._event_limit <= offset + self._line_limit:
            self._too_large(block_offset)
        self._failed = LimitExceededError(
            f"line longer than max_line_size={self.max_line_size} bytes",
            offset,
            self._count,
            "max_line_size",
            self.max_line_size,
        )
        raise self._failed

    def _field(self, line: bytes, line_offset: int) -> None:
        if line[0] == 58:  # ':' comment
            return
        colon = line.find(b":")
        if colon < 0:
            name = line
            value = b""
            value_offset = line_offset + len(line)
        else:
            name = line[:colon]
            vstart = colon + 1
            if vstart < len(line) and line[vstart] == 32:
                vstart += 1
            value = line[vstart:]
            value_offset = line_offset + vstart
        if name == b"data":
            if self._data is None:
                self._data = [value]
                self._data_offset = value_offset
            else:
                self._data.append(value)
        elif name == b"event":
            self._event = value or None
        elif name == b"id":
            if b"\x00" not in value:
                self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry" and 0 < len(value) <= MAX_RETRY_DIGITS and value.isdigit():
            self.retry = self._block_retry = int(value)

    def _dispatch(self, out: list, raw: bytes, raw_offset: int, with_raw: bool | int) -> None:  # type: ignore[type-arg]
        data = self._data
        assert data is not None
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        event = self._event.decode("utf-8", "replace") if self._event is not None else None
        if with_raw is True:
            out.append(
                ServerSentEvent(
                    event, payload, self.last_event_id, self._block_retry, raw, raw_offset, self._data_offset
                )
            )
        else:
            out.append((event, payload, self._data_offset, self._count))
        self._count += 1
