"""Messages stream merger and event decoder, pure Python (orjson on the payload bytes).

The merger reads the events with the tokenizer and applies them to the shared
:class:`~._state.MessagesState`. String deltas of the block and kind of the one before, spelled as
the API spells them, only append their strings: the strings of such a run are cut out of the
payloads and parsed with one call, and a run that does not parse as one string per payload is
merged payload by payload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson

from .._api import AsyncSource, Source, apieces, pieces
from .._schema import Model
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, Payload, SSEDecoder
from ..errors import StreamFormatError, UpstreamError
from . import models as m
from ._rules import STRING_DELTAS
from ._state import _SKIP, MessagesState, decode_event, error_of, load_event

__all__ = ["MessagesMerger", "aiter_events", "iter_events"]

#: What follows the string of a string delta: the two closing braces, with the spaces the API puts
#: between them.
_CLOSINGS = frozenset(b"}" + b" " * n + b"}" for n in range(33))


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
        before = self.merged
        head, skip = _head(self._fast)
        closings = _CLOSINGS
        # A run of string deltas of the block and kind of the last one, in the API's own bytes
        # (the head, what ends with the last '"', closing braces): their payloads, and what
        # each holds after the head, which is one JSON string when the payload is such a delta.
        run: list[Payload] = []
        tokens: list[bytes] = []
        try:
            for item in self._sse.feed_payloads(piece):
                if head is not None:
                    payload = item[1]
                    if payload[:skip] == head and item[0] != "error":
                        string, _, closing = payload.rpartition(b'"')
                        if closing in closings:
                            run.append(item)
                            tokens.append(payload[skip : len(string) + 1])
                            continue
                if tokens:
                    self._merge_run(run, tokens)
                    run = []
                    tokens = []
                    if self.done:
                        break
                self._merge_one(*item)
                if self.done:
                    break
                head, skip = _head(self._fast)
            else:
                if tokens:
                    self._merge_run(run, tokens)
        except StreamFormatError as exc:
            self._failed = exc
            raise
        return self.merged - before

    def _merge_run(self, run: list[Payload], tokens: list[bytes]) -> None:
        """Merge a run of string deltas (see :meth:`feed`): their strings parsed with one call.

        Joined by ``",\n"``, the tokens parse as one array of as many strings only when each is
        one JSON string (a separator inside a string would put a raw newline in it); otherwise
        each payload is merged on its own."""
        fast = self._fast
        assert fast is not None
        try:
            strings = orjson.loads(b"[" + b",\n".join(tokens) + b"]")
            text = "".join(strings) if len(strings) == len(tokens) else None
        except (orjson.JSONDecodeError, TypeError):
            text = None
        if text is not None:
            fast[1].append(text)
            self.merged += len(run)
            return
        for item, token in zip(run, tokens, strict=True):
            if self.done:
                return
            if self._fast is fast:
                try:
                    string = orjson.loads(token)
                except orjson.JSONDecodeError:
                    pass
                else:
                    if type(string) is str:
                        fast[1].append(string)
                        self.merged += 1
                        continue
            self._merge_one(*item)

    def _merge_one(self, event: str | None, payload: bytes, offset: int, index: int) -> None:
        """Merge one payload: a string delta or ``content_block_stop`` of an open block with no
        more than the state checks, anything else by the state's general path."""
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            obj = None
        kind = obj.get("type") if type(obj) is dict and event != "error" else None
        if kind == "content_block_delta":
            # The frequent event in any other spelling, or the first of its block.
            delta = obj.get("delta")
            if type(delta) is dict and len(delta) == 2:
                delta_type = delta.get("type")
                rule = STRING_DELTAS.get(delta_type) if type(delta_type) is str else None
                value = delta.get(rule[0]) if rule is not None else None
                if type(value) is str:
                    acc = self.fragments(obj.get("index"), delta["type"], True)
                    if acc is not None:
                        acc.append(value)
                        self.merged += 1
                        self._fast = self._fast_head(obj, acc)
                        return
        elif kind == "content_block_stop" and self.stop_block(obj.get("index")):
            self._fast = None
            self.merged += 1
            return
        self._fast = None
        if self.merge_payload(obj, payload, event, offset, index):
            self.merged += 1

    def finish(self) -> m.Message:
        """The final message (the JSON of blocks left open is parsed too); raises
        :class:`UpstreamError` (with ``.partial``) if the stream reported one."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            self._sse.close()
        return self.result()


def _head(fast: tuple[bytes, list[str]] | None) -> tuple[bytes | None, int]:
    """(the head of the string deltas that only append, its length)."""
    if fast is None:
        return None, 0
    return fast[0], len(fast[0])


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
