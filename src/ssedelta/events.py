"""The event type both SSE tokenizers produce."""

from __future__ import annotations

from typing import Any

import orjson


class ServerSentEvent:
    """One dispatched Server-Sent Event.

    ``event`` is the event type (``None`` when the block had no non-empty
    ``event`` field, which WHATWG calls the default type ``"message"``),
    ``payload`` the data lines joined with ``\\n`` as bytes and ``data`` the
    same decoded as UTF-8 (invalid bytes become U+FFFD). ``id`` is the last
    event id at dispatch (it persists across events; ``None`` until an ``id``
    field was accepted), ``retry`` the reconnection time this block set.
    ``raw`` holds the exact bytes of the event block as received and
    ``offset`` the stream offset of its first byte; ``data_offset`` is the
    stream offset of the first byte of the first ``data`` value.
    """

    __slots__ = ("data_offset", "event", "id", "offset", "payload", "raw", "retry")

    def __init__(
        self,
        event: str | None,
        payload: bytes,
        id: str | None = None,
        retry: int | None = None,
        raw: bytes = b"",
        offset: int = 0,
        data_offset: int = 0,
    ) -> None:
        self.event = event
        self.payload = payload
        self.id = id
        self.retry = retry
        self.raw = raw
        self.offset = offset
        self.data_offset = data_offset

    @property
    def data(self) -> str:
        return self.payload.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.payload)

    def _key(self) -> tuple[Any, ...]:
        return (self.event, self.payload, self.id, self.retry, self.raw, self.offset, self.data_offset)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, "
            f"retry={self.retry!r}, offset={self.offset})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (ServerSentEvent, self._key())
