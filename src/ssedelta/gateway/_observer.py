"""What a tap learns from the bytes passing through it, updated piece by piece.

:class:`StreamObserver` feeds each piece to a :class:`~ssedelta.DeltaMerger` and keeps the
bookkeeping a gateway needs: byte and event counts, the time of the first event that carried
output and of the last event, and the errors met on the way. It never holds the pieces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import models as m
from .._backend import Backend, get_backend, selected
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, limit_value

if TYPE_CHECKING:
    from .._merge_py import DeltaMerger
    from ..errors import UpstreamError

#: Bits returned by :meth:`StreamObserver.observe`: which hooks are due.
FIRST_CONTENT, USAGE, ERROR = 1, 2, 4

#: Message keys outside the schema whose text is generated output (reasoning models).
OUTPUT_EXTRAS = ("reasoning_content", "reasoning", "thinking", "content_parts")

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


def has_output(completion: m.CreateChatCompletionResponse) -> bool:
    """Whether any choice has generated something beyond its role: text, a refusal, reasoning,
    a tool or function call, or audio."""
    for choice in completion.choices or ():
        message = choice.message
        if message is None:
            continue
        if message.content or message.refusal or message.tool_calls or message.function_call:
            return True
        if message.audio is not None:
            return True
        extras = message.extras
        if extras and any(extras.get(key) for key in OUTPUT_EXTRAS):
            return True
    return False


class StreamObserver:
    """The state behind :class:`~ssedelta.gateway.Tap` and :class:`~ssedelta.gateway.AsyncTap`.

    Times are :func:`time.monotonic` readings. ``started_at`` defaults to the moment the
    observer was made; pass the time the request arrived to measure from there.
    ``max_event_size`` (``None``: no limit) is the merger's when it makes one.

    An observer never raises for the stream's bytes: the first exception the merger raises
    is kept in :attr:`decode_error` and merging stops there; later pieces are counted, not
    merged, and :attr:`completion` stays what was merged before the error.
    """

    def __init__(
        self,
        backend: Backend | str | None = None,
        merger: DeltaMerger | None = None,
        started_at: float | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        self.backend = resolve_backend(backend)
        check_options(merger, started_at, max_event_size)
        self.max_event_size = max_event_size
        if merger is None:
            merger = self.backend.DeltaMerger(max_event_size=max_event_size)
        self.merger: DeltaMerger = merger
        self._feed: Callable[[Any], int] = self.merger.feed
        #: When the observer was made (or the ``started_at`` given).
        self.started_at: float = monotonic() if started_at is None else started_at
        #: When the first event that carried output arrived (``None`` until one did).
        self.first_content_at: float | None = None
        #: When the last chunk arrived, or the event that ended the stream (``None`` before).
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
        #: ``True`` when the consumer stopped before the stream was complete (before ``[DONE]``,
        #: an in-stream error or the end of the source).
        self.client_disconnected = False
        #: ``True`` once the source is exhausted.
        self.exhausted = False
        self._usage: m.CompletionUsage | None = None
        #: Whether :meth:`observe` reports new usage values (only needed for a usage hook).
        self.track_usage = True
        self._merging = True
        self._held = bytearray()
        self._last_error: BaseException | None = None
        self._final: m.CreateChatCompletionResponse | None = None
        self._ended = False

    # -- the per-piece work

    def observe(self, piece: bytes | bytearray | memoryview | str) -> int:
        """Merge ``piece``; returns the hooks now due (bits ``FIRST_CONTENT | USAGE | ERROR``)."""
        if not self._merging:
            self.nbytes += len(piece.encode() if isinstance(piece, str) else piece)
            return 0
        try:
            merged = self._feed(piece)
        except Exception as exc:
            return self._feed_failed(piece, exc)
        self.nbytes += len(piece)
        merger = self.merger
        if merged:
            now = self.last_event_at = monotonic()
            fired = 0
            if self.first_content_at is None and has_output(merger.snapshot()):
                self.first_content_at = now
                fired = FIRST_CONTENT
            if self.track_usage:
                usage = merger.usage
                if usage is not self._usage:
                    self._usage = usage
                    fired |= USAGE
            if not merger.done:
                return fired
        elif merger.done:
            self.last_event_at = monotonic()
            fired = 0
        else:
            return 0
        self._merging = False
        if merger.error is not None:
            self._last_error = merger.error
            fired |= ERROR
        return fired

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

    def _feed_failed(self, piece: bytes | bytearray | memoryview | str, exc: Exception) -> int:
        if isinstance(piece, str):
            return self.observe(piece.encode())
        # The stream cannot be decoded from here on; the bytes still pass.
        self.nbytes += len(piece)
        self._merging = False
        self.decode_error = self._last_error = exc
        return ERROR

    def settle(self) -> int:
        """At the end of the stream: an error the merger found after the chunks of the last piece
        is raised by its next feed; take it now. Returns the hooks due, as :meth:`observe`."""
        if self._ended or not self._merging:
            return 0
        fired = self.flush()
        return fired | self.observe(b"") if self._merging else fired

    def source_failed(self, exc: Exception) -> None:
        self.transport_error = self._last_error = exc

    def finish(self) -> bool:
        """Mark the end; returns ``False`` when it was already marked."""
        if self._ended:
            return False
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
        """Whether the stream reached its end: ``[DONE]``, an in-stream error, or the end of the
        source."""
        return self.exhausted or bool(self.merger.done)

    @property
    def completion(self) -> m.CreateChatCompletionResponse:
        """The completion merged so far: partial while the stream runs or when it was cut."""
        if self._final is not None:
            return self._final
        completion = self.merger.snapshot()
        if self._ended:
            self._final = completion
        return completion

    @property
    def usage(self) -> m.CompletionUsage | None:
        return self.merger.usage

    @property
    def done_seen(self) -> bool:
        """Whether ``[DONE]`` ended the stream (``False`` when an in-stream error ended it)."""
        return bool(self.merger.done) and self.merger.error is None

    @property
    def events(self) -> int:
        """Server-sent events read so far (up to ``[DONE]`` or an in-stream error)."""
        return int(self.merger.events)

    @property
    def chunks(self) -> int:
        """Chunks merged so far."""
        return int(self.merger.chunks)

    @property
    def upstream_error(self) -> UpstreamError | None:
        """The error the upstream reported inside the stream, if any."""
        return self.merger.error

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
            "nbytes": self.nbytes,
            "events": self.events,
            "done_seen": self.done_seen,
            "client_disconnected": self.client_disconnected,
            "ended": self._ended,
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._state().items())
        return f"<{type(self).__name__} {fields}>"
