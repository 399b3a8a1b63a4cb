"""What every stream format does with a data payload: load it as a JSON object, and the decoder
that turns bytes into one object per payload."""

from __future__ import annotations

from typing import Any

import orjson

from ._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, ReentryGuard, SSEDecoder
from .errors import InvalidChunkError, InvalidJSONError, StreamFormatError, UpstreamError

DONE = b"[DONE]"
#: What ``load_payload`` returns for a keep-alive payload.
SKIP = object()


def load_payload(payload: bytes, event: str | None, offset: int, index: int) -> Any:
    """The JSON object of one event's payload, ``SKIP`` for keep-alives, ``None`` for ``[DONE]``.

    Raises the typed stream errors for anything that is not a JSON object, and
    :class:`UpstreamError` when an ``event: error`` payload is not one.
    """
    if payload[:1] != b"{":
        stripped = payload.strip()
        if stripped == DONE:
            return None
        if not stripped or stripped[:1] == b":":
            return SKIP
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        obj = _load_lenient(payload, exc, offset, index, event)
    if type(obj) is not dict:
        if event == "error":
            raise UpstreamError(obj if obj else {"message": ""}, offset, index)
        raise InvalidChunkError(f"payload is not a JSON object but {_kind(obj)}", offset, index)
    return obj


def _load_lenient(payload: bytes, exc: Exception, offset: int, index: int, event: str | None) -> Any:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        # Invalid UTF-8 inside an otherwise valid payload: decoded with U+FFFD, as the tokenizer does.
        try:
            return orjson.loads(payload.decode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc2:
            exc = exc2
    if event == "error":
        raise UpstreamError({"message": payload.decode("utf-8", "replace")}, offset, index) from None
    raise InvalidJSONError(f"invalid JSON in data payload: {exc}", offset, index) from None


def _kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


class PayloadDecoder:
    """Bytes in, one object per payload out: ``feed(piece) -> list``, then ``close()``.

    The stream format's ``_decode_payload`` makes the object of one payload (``SKIP`` for a
    keep-alive, ``None`` for ``[DONE]``, which ends the stream). A stream error is raised after
    the objects before it have been returned: at once when none were, else by the next call.
    The decoder is then failed: every later call raises the same exception again (any other
    exception that stops a ``feed`` is raised at once and fails it the same way).
    """

    def __init__(
        self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, max_line_size: int | None = DEFAULT_MAX_LINE_SIZE
    ) -> None:
        self._sse = self._sse_class(max_event_size, max_line_size)
        self._guard = ReentryGuard(type(self).__name__)
        self._lock = self._guard.lock  # taken without a with block in feed(): per piece, that counts

    _sse_class: type[SSEDecoder] = SSEDecoder
    _error: BaseException | None = None
    done = False

    @property
    def events(self) -> int:
        return self._sse.events_dispatched

    def feed(self, piece: bytes | bytearray | memoryview) -> list[Any]:
        out: list[Any] = []
        data = piece if type(piece) is bytes else bytes(piece)  # a wrong type fails nothing
        if self._error is not None:
            raise self._error
        if self.done:
            return out
        if not self._lock.acquire(False):
            self._guard.refuse()
        try:
            self._decode(data, out)
        except (StreamFormatError, UpstreamError) as exc:
            self._error = exc
            if not out:
                raise
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._lock.release()
        return out

    def _decode(self, data: bytes, out: list[Any]) -> None:
        """Append the objects ``data`` completes to ``out``."""
        decode = self._decode_payload
        for event, payload, offset, index in self._sse.feed_payloads(data):
            chunk = decode(payload, event, offset, index)
            if chunk is SKIP:
                continue
            if chunk is None:
                self.done = True
                break
            out.append(chunk)

    def close(self) -> list[Any]:
        if self._error is not None:
            raise self._error
        if not self.done:  # what came after [DONE] was not read, and cannot fail
            with self._guard:
                self._sse.close()
        return []

    def _decode_payload(self, payload: bytes, event: str | None, offset: int, index: int) -> Any:
        """The object of one payload, ``SKIP`` for a keep-alive, ``None`` for ``[DONE]``."""
        raise NotImplementedError
