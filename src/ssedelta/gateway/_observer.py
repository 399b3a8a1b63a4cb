"""What a tap learns from the bytes passing through it, updated piece by piece.

:class:`StreamObserver` feeds each piece to the merger of the stream's format (chat, Responses or
Anthropic, see :mod:`ssedelta.stream_format`) and keeps the bookkeeping a gateway needs: byte and
event counts, the time of the first event that carried output and of the last event, and the
errors met on the way. It holds no piece, except those before the first event while the format
is decided from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .. import stream_format as sf
from .._backend import Backend, get_backend, selected
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, limit_value
from ..errors import UpstreamError
from ..usage import Usage

#: Bits returned by :meth:`StreamObserver.observe`: which hooks are due.
FIRST_CONTENT, USAGE, ERROR = 1, 2, 4

monotonic = time.monotonic


def resolve_backend(backend: Backend | str | None) -> Backend:
    if backend is None:
        return selected()
    if isinstance(backend, str):
        return get_backend(backend)
    if not isinstance(backend, Backend):
        raise TypeError(
            f"backend must be 'native', 'python', a Backend or None, not {type(backend).__name__}"
        )
    return backend


def check_options(merger: Any, started_at: Any, max_event_size: Any) -> None:
    """``TypeError``/``ValueError`` naming the first option of an observer that is not valid."""
    if merger is not None and not (
        callable(getattr(merger, "feed", None)) and callable(getattr(merger, "snapshot", None))
    ):
        raise TypeError(f"merger must be a DeltaMerger or None, not {type(merger).__name__}")
    if started_at is not None and (type(started_at) is not float and type(started_at) is not int):
        raise TypeError(
            f"started_at must be a time.monotonic() reading (float) or None, not {type(started_at).__name__}"
        )
    limit_value("max_event_size", max_event_size)


class StreamObserver:
    """The state behind :class:`~ssedelta.gateway.Tap` and :class:`~ssedelta.gateway.AsyncTap`.

    Times are :func:`time.monotonic` readings. ``started_at`` defaults to the moment the
    observer was made; pass the time the request arrived to measure from there.
    ``max_event_size`` (``None``: no limit) is the merger's when it makes one.

    The stream format is ``format`` when given, else the one ``path`` (the request path) names,
    else the one the first event says (see :mod:`ssedelta.stream_format`; chat when it says
    none). A ``merger`` given without ``format`` is taken for a chat merger.

    An observer never raises for the stream's bytes: the first exception the merger raises
    is kept in :attr:`decode_error` and merging stops there; later pieces are counted, not
    merged, and :attr:`result` stays what was merged before the error.
    """

    def __init__(
        self,
        backend: Backend | str | None = None,
        merger: Any = None,
        started_at: float | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        format: str | None = None,
        path: str | None = None,
    ) -> None:
        self.backend = resolve_backend(backend)
        check_options(merger, started_at, max_event_size)
        sf.check_format(format)
        if path is not None and not isinstance(path, str):
            raise TypeError(f"path must be a request path (str) or None, not {type(path).__name__}")
        self.max_event_size = max_event_size
        #: The stream format (``"chat"``, ``"responses"``, ``"anthropic"``); ``None`` until the
        #: first event decides it.
        self.format: str | None = format or (sf.CHAT if merger is not None else sf.format_of_path(path))
        #: The merger fed (``None`` until the format is known).
        self.merger: Any = None
        self._feed: Callable[[Any], int] = self._sniff
        #: The bytes before the first event, held while the format is decided from it.
        self._head: bytearray | None = None
        if merger is not None:
            self._use(merger)
        elif self.format is not None:
            self._use(self._make_merger(self.format))
        else:
            self._head = bytearray()
        #: When the observer was made (or the ``started_at`` given).
        self.started_at: float = monotonic() if started_at is None else started_at
        #: When the first event that carried output arrived (``None`` until one did).
        self.first_content_at: float | None = None
        #: When the last event arrived, or the event that ended the stream (``None`` before).
        self.last_event_at: float | None = None
        #: When the stream ended for the tap (``None`` while it runs).
        self.ended_at: float | None = None
        #: Bytes that passed through.
        self.nbytes = 0
        #: Why merging stopped before the end of the stream: the bytes could not be decoded
        #: (a :class:`~ssedelta.StreamFormatError`); the pieces kept flowing.
        self.decode_error: Exception | None = None
        #: What the source raised (a broken upstream connection, a read timeout), if it did.
        self.transport_error: Exception | None = None
        #: ``True`` when the consumer stopped before the stream was complete (before its end
        #: event, an in-stream error or the end of the source).
        self.client_disconnected = False
        #: ``True`` once the source is exhausted.
        self.exhausted = False
        self._usage: Any = None
        #: Whether :meth:`observe` reports new usage values (only needed for a usage hook).
        self.track_usage = True
        self._merging = True
        self._held = bytearray()
        self._last_error: BaseException | None = None
        self._error_told = False
        self._final: Any = None
        self._ended = False

    # -- the format

    def _make_merger(self, fmt: str) -> Any:
        return sf.merger_class(fmt, self.backend)(max_event_size=self.max_event_size)

    def _use(self, merger: Any) -> None:
        self.merger = merger
        self._feed = merger.feed

    def _sniff(self, piece: bytes | bytearray | memoryview) -> int:
        """Hold ``piece`` until the first event says the format, then merge what was held."""
        head = self._head
        assert head is not None
        head += piece
        self.nbytes += len(piece)
        # An event is complete only at a line end: a long first event arriving in many pieces
        # is read once, not once per piece.
        new = len(head) - len(piece)
        ends = head.find(b"\n", new) >= 0 or head.find(b"\r", new) >= 0
        fmt = sf.format_of_stream(head) if ends else None
        if fmt is None and len(head) <= (self.max_event_size or DEFAULT_MAX_EVENT_SIZE):
            return 0
        return self._decide(fmt)

    def _decide(self, fmt: Any) -> int:
        head = self._head
        assert head is not None
        self._head = None
        self.format = fmt if fmt in sf.FORMATS else sf.CHAT
        self._use(self._make_merger(self.format))
        self.nbytes -= len(head)
        return self.observe(bytes(head)) if head else 0

    # -- the per-piece work

    def observe(self, piece: bytes | bytearray | memoryview | str) -> int:
        """Merge ``piece``; returns the hooks now due (bits ``FIRST_CONTENT | USAGE | ERROR``)."""
        if not self._merging:
            self.nbytes += len(piece.encode() if isinstance(piece, str) else piece)
            return 0
        if isinstance(piece, str):
            piece = piece.encode()
        if self.merger is None:
            return self._sniff(piece)
        try:
            merged = self._feed(piece)
        except Exception as exc:
            return self._feed_failed(piece, exc)
        self.nbytes += len(piece)
        merger = self.merger
        fired = 0
        if merged:
            now = self.last_event_at = monotonic()
            if self.first_content_at is None and sf.has_output(self.format, merger.snapshot()):  # type: ignore[arg-type]
                self.first_content_at = now
                fired = FIRST_CONTENT
            if self.track_usage:
                usage = self._raw_usage()
                if usage is not self._usage:
                    self._usage = usage
                    fired |= USAGE
        elif merger.done:
            self.last_event_at = monotonic()
        if merger.error is not None and not self._error_told:
            self._error_told = True
            self._last_error = merger.error
            fired |= ERROR
        if merger.done:
            self._merging = False
        return fired

    def _raw_usage(self) -> Any:
        """The format's usage object merged so far (Responses: the terminal event's)."""
        merger = self.merger
        if self.format == sf.RESPONSES:
            return merger.snapshot().usage if merger.done else self._usage
        return merger.usage

    def observe_batched(self, piece: bytes | bytearray | memoryview, size: int = 16384) -> int:
        """:meth:`observe`, but once the first content has arrived, pieces are merged ``size``
        bytes at a time (:meth:`finish` merges the rest), for a caller that reads the state only
        at the end: far fewer calls into the merger when each piece is one small event, and
        never more than ``size`` bytes held."""
        if self.first_content_at is None:
            return self.observe(piece)
        held = self._held
        held += piece
        if len(held) < size:
            return 0
        return self.flush()

    def flush(self) -> int:
        """Merge the pieces :meth:`observe_batched` holds."""
        if not self._held:
            return 0
        held = bytes(self._held)
        self._held.clear()
        return self.observe(held)

    def _feed_failed(self, piece: bytes | bytearray | memoryview, exc: Exception) -> int:
        # The stream cannot be decoded from here on; the bytes still pass.
        self.nbytes += len(piece)
        self._merging = False
        self.decode_error = self._last_error = exc
        return ERROR

    def settle(self) -> int:
        """At the end of the stream: an error the merger found after the events of the last
        piece is raised by its next feed; take it now. Returns the hooks due, as :meth:`observe`."""
        if self._ended or not self._merging:
            return 0
        fired = self._decide(sf.format_of_stream(self._head or b"", final=True)) if self.merger is None else 0
        fired |= self.flush()
        if not self._merging:
            return fired
        fired |= self.observe(b"")
        if self.track_usage and self.format == sf.RESPONSES and self._merging:
            usage = self.merger.snapshot().usage
            if usage is not self._usage:
                self._usage = usage
                fired |= USAGE
        return fired

    def source_failed(self, exc: Exception) -> None:
        self.transport_error = self._last_error = exc

    def finish(self) -> bool:
        """Mark the end; returns ``False`` when it was already marked."""
        if self._ended:
            return False
        if self.merger is None:
            self._decide(sf.format_of_stream(self._head or b"", final=True))
        self.flush()
        self._ended = True
        if not self.complete and self.transport_error is None:
            self.client_disconnected = True
        self.ended_at = monotonic()
        return True

    # -- what a gateway reads

    @property
    def ended(self) -> bool:
        """Whether the stream has ended for the tap (the end hook has been called)."""
        return self._ended

    @property
    def complete(self) -> bool:
        """Whether the stream reached its end: its end event (``[DONE]``, ``response.completed``,
        ``message_stop``, ...), an in-stream error, or the end of the source."""
        return self.exhausted or (self.merger is not None and bool(self.merger.done))

    @property
    def result(self) -> Any:
        """The result merged so far, partial while the stream runs or when it was cut: a chat
        completion, a Responses ``Response`` or an Anthropic ``Message``; ``None`` while the
        format is not known (no event yet)."""
        if self._final is not None:
            return self._final
        merger = self.merger
        if merger is None:
            return None
        if not self._ended:
            return merger.snapshot()
        self._final = self._final_result()
        return self._final

    def _final_result(self) -> Any:
        merger = self.merger
        if self.format == sf.CHAT:
            return merger.snapshot()
        # The end merges what only the end can (the tool input JSON of Anthropic blocks left open).
        try:
            return merger.finish()
        except UpstreamError as exc:
            return exc.partial if exc.partial is not None else merger.snapshot()
        except Exception:
            return merger.snapshot()

    @property
    def completion(self) -> Any:
        """:attr:`result` (an empty chat completion while the format is not known)."""
        result = self.result
        return self.backend.DeltaMerger().snapshot() if result is None else result

    @property
    def usage(self) -> Any:
        """The result's usage as the format has it (a chat ``CompletionUsage``, a Responses
        ``ResponseUsage``, an Anthropic ``Usage``); ``None`` while the stream reported none."""
        result = self.result
        return None if result is None else result.usage

    @property
    def normalized_usage(self) -> Usage | None:
        """The result's usage normalised across formats (:class:`ssedelta.Usage`: input, output,
        cached input, reasoning and total tokens; ``original`` is :attr:`usage`)."""
        result = self.result
        return None if result is None else Usage.of(result)

    @property
    def done_seen(self) -> bool:
        """Whether the stream's end event ended it (``[DONE]`` for chat, ``response.completed``
        or ``response.incomplete`` for Responses, ``message_stop`` for Anthropic; ``False`` when
        an in-stream error ended it)."""
        merger = self.merger
        return merger is not None and bool(merger.done) and merger.error is None

    @property
    def events(self) -> int:
        """Server-sent events read so far (up to the end of the stream)."""
        return 0 if self.merger is None else int(self.merger.events)

    @property
    def chunks(self) -> int:
        """Chunks merged so far (for Responses and Anthropic streams: events)."""
        merger = self.merger
        if merger is None:
            return 0
        count = getattr(merger, "chunks", None)
        return int(merger.events if count is None else count)

    @property
    def upstream_error(self) -> UpstreamError | None:
        """The error the upstream reported inside the stream, if any."""
        return None if self.merger is None else self.merger.error

    @property
    def error(self) -> Exception | None:
        """The first of :attr:`upstream_error`, :attr:`decode_error` and :attr:`transport_error`."""
        return self.upstream_error or self.decode_error or self.transport_error

    @property
    def time_to_first_content(self) -> float | None:
        """Seconds from ``started_at`` to the first event that carried output."""
        if self.first_content_at is None:
            return None
        return self.first_content_at - self.started_at

    def _state(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "nbytes": self.nbytes,
            "events": self.events,
            "done_seen": self.done_seen,
            "client_disconnected": self.client_disconnected,
            "ended": self._ended,
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._state().items())
        return f"<{type(self).__name__} {fields}>"
