"""Pass-through taps: the upstream pieces go out unchanged while a merger reads them.

``Tap`` wraps a sync iterable of bytes (``httpx.Response.iter_raw()``), ``AsyncTap`` an async one
(``httpx.Response.aiter_raw()``, ``aiohttp.StreamReader.iter_any()``, a Starlette body iterator).
Iterating a tap yields exactly the source's pieces (same objects, same boundaries); its properties
tell, at any moment and after the end, what the stream held so far.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._backend import Backend
from .._sse_py import DEFAULT_MAX_EVENT_SIZE
from ._observer import ERROR, FIRST_CONTENT, USAGE, StreamObserver
from ._split import EventSplitter, Segment

if TYPE_CHECKING:
    from ..chat._merge_py import DeltaMerger

__all__ = ["AsyncTap", "Segment", "Tap"]

R = TypeVar("R")


class _Hooks:
    __slots__ = ("on_end", "on_error", "on_first_content", "on_usage")

    def __init__(self, on_first_content: Any, on_usage: Any, on_error: Any, on_end: Any) -> None:
        for name, hook in (
            ("on_first_content", on_first_content),
            ("on_usage", on_usage),
            ("on_error", on_error),
            ("on_end", on_end),
        ):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable or None, not {type(hook).__name__}")
        self.on_first_content = on_first_content
        self.on_usage = on_usage
        self.on_error = on_error
        self.on_end = on_end


class Tap(StreamObserver):
    """A pass-through view of a sync byte stream that merges it on the way.

    ``for piece in Tap(source): ...`` yields the pieces of ``source`` unchanged;
    ``for raw, chunk in Tap(source).iter_events(): ...`` yields the stream cut at event
    boundaries instead (see :meth:`iter_events`). A tap is iterated once.

    Hooks are plain callables, each called with the tap: ``on_first_content`` when the first
    event carrying output arrives (text, refusal, reasoning or thinking, a tool or function call
    and its arguments, audio; not the role-only chunk nor an empty block), ``on_usage`` each time
    a piece brings a new usage value (once for OpenAI's usage chunk and for the terminal event of
    a Responses stream; for Anthropic ``message_start`` and each ``message_delta`` with usage),
    ``on_error(tap, exc)`` for an error the upstream reported in the stream
    (:class:`~ssedelta.UpstreamError`), bytes that cannot be decoded (merging stops, the pieces
    keep flowing) and an exception raised by the source (re-raised afterwards), and ``on_end``
    exactly once when the stream ends for the tap: the source is exhausted or failed, or the
    consumer stopped: :meth:`close`, the ``with`` block ending, ``GeneratorExit`` (CPython closes
    the iterator of a ``for`` loop left by ``break`` or an exception as soon as it is dropped).
    When the consumer stops early the source is closed if it has ``close()``. Exceptions raised
    by hooks propagate to the consumer.

    The stream format (``tap.format``: ``"chat"``, ``"responses"`` or ``"anthropic"``) is
    ``format`` when given, else the one the request ``path`` names (``/v1/chat/completions``,
    ``/v1/responses``, ``/v1/messages``, with any prefix), else the one the first event says
    (chat when it says none); until then the pieces before the first event are held (and merged
    once it is known). ``tap.result`` is the merged result of the format (a chat completion, a
    Responses ``Response``, an Anthropic ``Message``; ``tap.completion`` is the same),
    ``tap.usage`` its usage as the format has it, and ``tap.normalized_usage`` that usage as
    :class:`ssedelta.Usage`.

    ``merger`` is the merger fed (default: a new one of the format on ``backend``, which
    defaults to the selected backend; a merger given without ``format`` is taken for a chat
    :class:`~ssedelta.DeltaMerger`). ``max_event_size`` caps the size of one event (16 MiB
    by default, ``None``: no limit): a larger one stops the merging, not the pieces. ``started_at``
    is the :func:`time.monotonic` time the request began (default: when the tap is made). Every
    option is checked when the tap is made (``TypeError``/``ValueError`` naming it).

    A tap never raises for the stream's bytes: whatever the merger raises (invalid JSON, a
    payload that is no chunk, a limit) is kept in ``decode_error`` and passed to ``on_error``
    once, and merging stops there; the later pieces still pass unchanged and are counted, and
    ``result`` stays what was merged before the error.
    """

    def __init__(
        self,
        source: Iterable[bytes],
        *,
        backend: Backend | str | None = None,
        merger: DeltaMerger | None = None,
        format: str | None = None,
        path: str | None = None,
        started_at: float | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        on_first_content: Callable[[Tap], object] | None = None,
        on_usage: Callable[[Tap], object] | None = None,
        on_error: Callable[[Tap, BaseException], object] | None = None,
        on_end: Callable[[Tap], object] | None = None,
    ) -> None:
        _check_source(source, Iterable)
        super().__init__(backend, merger, started_at, max_event_size, format, path)
        self._source = source
        self._source_iterator: Iterator[bytes] | None = None
        self._runner: weakref.ref[Generator[Any, None, None]] | None = None
        self._hooks = _Hooks(on_first_content, on_usage, on_error, on_end)
        self.track_usage = on_usage is not None

    def __iter__(self) -> Iterator[bytes]:
        return self._claim(self._run_pieces())

    def iter_events(self) -> Iterator[Segment]:
        """``(raw, chunk)`` for each event: ``raw`` the exact bytes of the event block, ``chunk``
        the decoded chunk (for Responses and Anthropic streams, the event object) or ``None``
        (``[DONE]``, keep-alives, comment blocks, bytes between
        events, anything after the end). Joining every ``raw`` gives back the stream, so a gateway
        can write ``raw`` to pass an event through verbatim, skip it to drop it, or write
        ``chunk.to_sse()`` (after changing the chunk) to replace it. The merger reads the stream
        as it came, whatever the consumer does with the events, a piece at a time: while the
        events of a piece are handed out, the tap's state already includes the whole piece."""
        return self._claim(self._run_events())

    def close(self) -> None:
        """End the tap now: stop the iteration, close the source, run ``on_end`` (once)."""
        runner = self._runner() if self._runner is not None else None
        if runner is not None:
            runner.close()
        self._end()

    def __enter__(self) -> Tap:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- iteration

    def _claim(self, runner: Generator[R, None, None]) -> Generator[R, None, None]:
        if self._runner is not None or self.ended:
            runner.close()
            raise RuntimeError("a tap can be iterated only once")
        self._runner = weakref.ref(runner)
        return runner

    def _run_pieces(self) -> Generator[bytes, None, None]:
        source = self._source_iterator = iter(self._source)
        pull = source.__next__
        observe = self.observe
        try:
            while True:
                try:
                    piece = pull()
                except StopIteration:
                    self._exhausted()
                    return
                except Exception as exc:
                    self._source_failed(exc)
                    raise
                fired = observe(piece)
                if fired:
                    self._fire(fired)
                yield piece
        finally:
            self._end()

    def _run_events(self) -> Generator[Segment, None, None]:
        splitter = EventSplitter(self.backend, self.max_event_size, self)
        source = self._source_iterator = iter(self._source)
        pull = source.__next__
        try:
            while True:
                try:
                    piece: Any = pull()
                except StopIteration:
                    self._exhausted()
                    break
                except Exception as exc:
                    self._source_failed(exc)
                    raise
                if piece.__class__ is str:
                    piece = piece.encode()
                fired = self.observe(piece)
                if fired:
                    self._fire(fired)
                yield from splitter.feed(piece)
            yield from splitter.close()
        finally:
            self._end()

    # -- hooks

    def _fire(self, fired: int) -> None:
        hooks = self._hooks
        if fired & FIRST_CONTENT and hooks.on_first_content is not None:
            _call(hooks.on_first_content, self)
        if fired & USAGE and hooks.on_usage is not None:
            _call(hooks.on_usage, self)
        if fired & ERROR and hooks.on_error is not None:
            _call(hooks.on_error, self, self._last_error)

    def _exhausted(self) -> None:
        fired = self.settle()
        self.exhausted = True
        if fired:
            self._fire(fired)

    def _source_failed(self, exc: Exception) -> None:
        self.source_failed(exc)
        if self._hooks.on_error is not None:
            _call(self._hooks.on_error, self, exc)

    def _end(self) -> None:
        if not self.finish():
            return
        try:
            if not self.exhausted and self.transport_error is None:
                target: Any = self._source if self._source_iterator is None else self._source_iterator
                close = getattr(target, "close", None)
                if callable(close):
                    close()
        finally:
            if self._hooks.on_end is not None:
                _call(self._hooks.on_end, self)


class AsyncTap(StreamObserver):
    """:class:`Tap` for async byte streams: ``async for piece in AsyncTap(source)``.

    ``source`` is an async iterable of bytes (a sync iterable is accepted too). Hooks may be
    plain callables or coroutine functions (awaited). ``on_end`` also runs when the consuming
    task is cancelled (``CancelledError``) and on :meth:`aclose`; a tap left unfinished and
    dropped is closed by the event loop, as any async generator. When the consumer stops early
    the source is closed if it has ``aclose()``.
    """

    def __init__(
        self,
        source: AsyncIterable[bytes] | Iterable[bytes],
        *,
        backend: Backend | str | None = None,
        merger: DeltaMerger | None = None,
        format: str | None = None,
        path: str | None = None,
        started_at: float | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        on_first_content: Callable[[AsyncTap], object] | None = None,
        on_usage: Callable[[AsyncTap], object] | None = None,
        on_error: Callable[[AsyncTap, BaseException], object] | None = None,
        on_end: Callable[[AsyncTap], object] | None = None,
    ) -> None:
        _check_source(source, (AsyncIterable, Iterable))
        super().__init__(backend, merger, started_at, max_event_size, format, path)
        self._source = source
        self._source_iterator: AsyncIterator[bytes] | None = None
        self._runner: weakref.ref[AsyncGenerator[Any, None]] | None = None
        self._hooks = _Hooks(on_first_content, on_usage, on_error, on_end)
        self.track_usage = on_usage is not None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._claim(self._run_pieces())

    def iter_events(self) -> AsyncIterator[Segment]:
        """``async for raw, chunk in tap.iter_events()``: see :meth:`Tap.iter_events`."""
        return self._claim(self._run_events())

    async def aclose(self) -> None:
        """End the tap now: stop the iteration, close the source, run ``on_end`` (once)."""
        runner = self._runner() if self._runner is not None else None
        if runner is not None:
            await runner.aclose()
        await self._end()

    async def __aenter__(self) -> AsyncTap:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- iteration

    def _claim(self, runner: AsyncGenerator[R, None]) -> AsyncGenerator[R, None]:
        if self._runner is not None or self.ended:
            raise RuntimeError("a tap can be iterated only once")
        self._runner = weakref.ref(runner)
        return runner

    def _open_source(self) -> AsyncIterator[bytes]:
        source = self._source
        iterator = source.__aiter__() if isinstance(source, AsyncIterable) else _from_sync(source)
        self._source_iterator = iterator
        return iterator

    async def _run_pieces(self) -> AsyncGenerator[bytes, None]:
        pull = self._open_source().__anext__
        observe = self.observe
        try:
            while True:
                try:
                    piece = await pull()
                except StopAsyncIteration:
                    await self._exhausted()
                    return
                except Exception as exc:
                    await self._source_failed(exc)
                    raise
                fired = observe(piece)
                if fired:
                    await self._fire(fired)
                yield piece
        finally:
            await self._end()

    async def _run_events(self) -> AsyncGenerator[Segment, None]:
        splitter = EventSplitter(self.backend, self.max_event_size, self)
        pull = self._open_source().__anext__
        try:
            while True:
                try:
                    piece: Any = await pull()
                except StopAsyncIteration:
                    await self._exhausted()
                    break
                except Exception as exc:
                    await self._source_failed(exc)
                    raise
                if piece.__class__ is str:
                    piece = piece.encode()
                fired = self.observe(piece)
                if fired:
                    await self._fire(fired)
                for segment in splitter.feed(piece):
                    yield segment
            for segment in splitter.close():
                yield segment
        finally:
            await self._end()

    # -- hooks

    async def _fire(self, fired: int) -> None:
        hooks = self._hooks
        if fired & FIRST_CONTENT and hooks.on_first_content is not None:
            await _acall(hooks.on_first_content, self)
        if fired & USAGE and hooks.on_usage is not None:
            await _acall(hooks.on_usage, self)
        if fired & ERROR and hooks.on_error is not None:
            await _acall(hooks.on_error, self, self._last_error)

    async def _exhausted(self) -> None:
        fired = self.settle()
        self.exhausted = True
        if fired:
            await self._fire(fired)

    async def _source_failed(self, exc: Exception) -> None:
        self.source_failed(exc)
        if self._hooks.on_error is not None:
            await _acall(self._hooks.on_error, self, exc)

    async def _end(self) -> None:
        if not self.finish():
            return
        try:
            if not self.exhausted and self.transport_error is None:
                target: Any = self._source if self._source_iterator is None else self._source_iterator
                aclose = getattr(target, "aclose", None)
                if callable(aclose):
                    await aclose()
        finally:
            if self._hooks.on_end is not None:
                await _acall(self._hooks.on_end, self)


def _check_source(source: Any, kinds: Any) -> None:
    if isinstance(source, (bytes, bytearray, memoryview, str)) or not isinstance(source, kinds):
        raise TypeError(
            f"source must be an iterable of byte pieces (a list of bytes, say), not {type(source).__name__}"
        )


async def _from_sync(source: Iterable[bytes]) -> AsyncGenerator[bytes, None]:
    for piece in source:
        yield piece


def _call(hook: Callable[..., object], *args: Any) -> None:
    result = hook(*args)
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()
        raise TypeError(f"hook {hook!r} returned an awaitable; use AsyncTap for coroutine hooks")


async def _acall(hook: Callable[..., object], *args: Any) -> None:
    result = hook(*args)
    if inspect.isawaitable(result):
        await result
