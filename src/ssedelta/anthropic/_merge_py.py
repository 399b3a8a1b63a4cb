"""Messages stream merger and event decoder, pure Python (orjson on the payload bytes).

The merger reads the events with the tokenizer and applies them to the shared
:class:`~._state.MessagesState`; a string delta of the block and kind of the one before only
appends its string.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson

from .._api import AsyncSource, Source, apieces, pieces
from .._schema import Model
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, SSEDecoder
from ..errors import StreamFormatError, UpstreamError
from . import models as m
from ._rules import STRING_DELTAS
from ._state import _SKIP, MessagesState, decode_event, error_of, load_event

__all__ = ["MessagesMerger", "aiter_events", "iter_events"]

#: What follows the head of a string delta (:meth:`MessagesState._fast_head`): one JSON string
#: token, then the two closing braces, spaces allowed between them as the API pads them.
_STRING_TAIL = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*")\} *\}')


class MessagesMerger(MessagesState):
    """Folds a Messages stream into one :class:`~ssedelta.anthropic.Message`.

    ``feed(piece)`` any number of times, ``snapshot()`` at any moment (never raises), ``finish()``
    at the end. Blocks are keyed by ``index`` (the content lists them in index order; a gap leaves
    no placeholder). A tool-use block's ``input`` is parsed once, when ``content_block_stop`` (or
    the end of the stream) comes: until then a snapshot shows the JSON text received so far as
    ``input`` (a ``str``), and a final input that is not a JSON object stays that text.

    Unknown keys of the message, its usage and its blocks are kept (a ``message_delta``'s own keys
    other than ``delta`` and ``usage`` go to the message); keys a ``content_block_*`` event carries
    beside ``index``, ``content_block`` and ``delta`` belong to no part of the message and are not
    kept. ``ping`` and events of unknown types change nothing.

    An ``error`` event ends the stream: ``finish()`` raises :class:`UpstreamError` with ``.error``
    (the error object) and ``.partial`` (the message so far). Bad input raises
    :class:`InvalidJSONError` / :class:`InvalidChunkError` with the ``offset`` of the event's
    payload and its ``event_index``; the merger then keeps the events before it and raises that
    error again from ``feed`` and ``finish``. ``max_event_size`` and ``max_line_size`` bound what
    the tokenizer buffers (see :class:`ssedelta.SSEDecoder`).
    """

    #: The tokenizer class (each backend's merger uses that backend's).
    sse_class: Any = SSEDecoder

    def __init__(
        self,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        *,
        max_line_size: int | None = DEFAULT_MAX_LINE_SIZE,
    ) -> None:
        super().__init__()
        self._sse = self.sse_class(max_event_size, max_line_size)
        self._failed: StreamFormatError | None = None

    @property
    def events(self) -> int:
        """Events the tokenizer has dispatched so far."""
        return self._sse.events_dispatched  # type: ignore[no-any-return]

    # -- input

    def feed(self, piece: bytes | bytearray | memoryview) -> int:
        """Merge the events ``piece`` completes; returns how many. Nothing is read after
        ``message_stop`` or an ``error`` event."""
        if self._failed is not None:
            raise self._failed
        if self.done:
            return 0
        merged = 0
        loads = orjson.loads
        string_deltas = STRING_DELTAS
        head, skip, add = _place(self._fast)
        tail = _STRING_TAIL.fullmatch
        try:
            for event, payload, offset, index in self._sse.feed_payloads(piece):
                if head is not None and payload.startswith(head) and event != "error":
                    # The same block and delta type as the last string delta, in the API's own
                    # bytes: only the string is parsed.
                    string = tail(payload, skip)
                    if string is not None:
                        try:
                            add(loads(string[1]))
                        except orjson.JSONDecodeError:
                            pass
                        else:
                            merged += 1
                            continue
                try:
                    obj = loads(payload)
                except orjson.JSONDecodeError:
                    obj = None
                kind = obj.get("type") if type(obj) is dict and event != "error" else None
                if kind == "content_block_delta":
                    # The frequent event in any other spelling, or the first of its block.
                    delta = obj.get("delta")
                    if type(delta) is dict and len(delta) == 2:
                        rule = string_deltas.get(delta.get("type"))  # type: ignore[arg-type]
                        value = delta.get(rule[0]) if rule is not None else None
                        if type(value) is str:
                            acc = self.fragments(obj.get("index"), delta["type"], True)
                            if acc is not None:
                                acc.append(value)
                                merged += 1
                                self._fast = self._fast_head(obj, acc)
                                head, skip, add = _place(self._fast)
                                continue
                elif kind == "content_block_stop" and self.stop_block(obj.get("index")):
                    self._fast = head = None
                    merged += 1
                    continue
                self._fast = None
                if self.merge_payload(obj, payload, event, offset, index):
                    merged += 1
                head, skip, add = _place(self._fast)
                if self.done:
                    break
        except StreamFormatError as exc:
            self._failed = exc
            raise
        finally:
            self.merged += merged
        return merged

    def finish(self) -> m.Message:
        """The final message (the JSON of blocks left open is parsed too); raises
        :class:`UpstreamError` (with ``.partial``) if the stream reported one."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            self._sse.close()
        return self.result()


def _place(fast: tuple[bytes, list[str]] | None) -> tuple[bytes | None, int, Any]:
    """(the head of the string deltas that only append, its length, the append of their list)."""
    if fast is None:
        return None, 0, None
    return fast[0], len(fast[0]), fast[1].append


# ------------------------------------------------------------------ events


def _events_of(sse: Any, piece: bytes) -> tuple[list[Model], bool, Exception | None]:
    """The event models ``piece`` completes, whether the stream ended, and the error (an ``error``
    event, bad input) that stopped it: raised after the events before it were handed out."""
    out: list[Model] = []
    try:
        for event, payload, offset, index in sse.feed_payloads(piece):
            obj = load_event(payload, event, offset, index)
            if obj is _SKIP:
                continue
            if obj is None:
                return out, True, None
            model = decode_event(obj, offset, index)
            error = error_of(obj, event)
            if error is not None:
                raise UpstreamError(error, offset, index, chunk=model)
            out.append(model)
            if obj.get("type") == "message_stop":
                return out, True, None
    except (StreamFormatError, UpstreamError) as exc:
        return out, True, exc
    return out, False, None


def iter_events(source: Source, *, sse_class: Any = SSEDecoder, **options: Any) -> Iterator[Model]:
    """The event models of a stream, in order, through ``message_stop`` (pings included); an
    ``error`` event raises :class:`UpstreamError` after the events before it."""
    sse = sse_class(**options)
    for piece in pieces(source):
        events, ended, error = _events_of(sse, piece)
        yield from events
        if error is not None:
            raise error
        if ended:
            return
    sse.close()


async def aiter_events(
    source: AsyncSource, *, sse_class: Any = SSEDecoder, **options: Any
) -> AsyncIterator[Model]:
    """The event models of an async stream, in order, through ``message_stop``."""
    sse = sse_class(**options)
    async for piece in apieces(source):
        events, ended, error = _events_of(sse, piece)
        for event in events:
            yield event
        if error is not None:
            raise error
        if ended:
            return
    sse.close()
