"""The exceptions ssedelta raises. Every one derives from :class:`SSEDeltaError`."""

from __future__ import annotations

from typing import Any


class SSEDeltaError(Exception):
    """Base class of every error raised by ssedelta."""


class StreamFormatError(SSEDeltaError, ValueError):
    """The bytes are not a valid stream of chat completion chunks.

    ``offset`` is the byte offset in the stream (counting from the first byte
    fed) and ``event_index`` the 0-based number of the dispatched event it
    concerns (``None`` when the error is not tied to one event).
    """

    def __init__(self, message: str, offset: int, event_index: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.event_index = event_index

    def __str__(self) -> str:
        where = f"at byte {self.offset}"
        if self.event_index is not None:
            where += f", event {self.event_index}"
        return f"{self.args[0]} ({where})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.args[0], self.offset, self.event_index))


class LimitExceededError(StreamFormatError):
    """The stream went past one of the configured resource limits.

    ``limit`` names the option (``"max_event_size"``, ``"max_line_size"``,
    ``"max_choices"``, ``"max_tool_calls"``, ``"max_merged_size"`` or
    ``"max_extras_keys"``) and ``value`` is its setting. ``offset`` is where
    the block or line starts (size limits of the tokenizer) or where the
    payload of the chunk that went past the limit starts (limits of the
    merger); that chunk is not merged.
    """

    default_limit = ""

    def __init__(
        self, message: str, offset: int, event_index: int | None = None, limit: str = "", value: Any = None
    ) -> None:
        super().__init__(message, offset, event_index)
        self.limit = limit or self.default_limit
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.args[0], self.offset, self.event_index, self.limit, self.value))


class EventTooLargeError(LimitExceededError):
    """One event block grew past ``max_event_size`` bytes before it ended."""

    default_limit = "max_event_size"


class InvalidJSONError(StreamFormatError):
    """An event's ``data`` payload is not valid JSON (``offset`` is where the payload starts)."""


class InvalidChunkError(StreamFormatError):
    """A payload is valid JSON but not a chat completion chunk (wrong type, not an object, ...)."""


class ReentrantCallError(SSEDeltaError, RuntimeError):
    """A decoder or merger was called while one of its calls was still running: from a
    callback or method it called, or from another thread. The running call is not
    disturbed; one object is meant for one stream, read by one caller at a time."""


class UpstreamError(SSEDeltaError):
    """The upstream reported an error inside the stream.

    ``error`` is the error object as sent (a dict, or ``{"message": data}`` when
    an ``event: error`` carried no JSON object). ``partial`` is the completion
    merged so far, including the chunk that carried the error (``None`` when
    raised by a decoder that does not merge). ``chunk`` is that chunk, when the
    payload was a chunk.
    """

    def __init__(
        self,
        error: Any,
        offset: int,
        event_index: int | None,
        partial: Any = None,
        chunk: Any = None,
    ) -> None:
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(message if isinstance(message, str) and message else "upstream error in stream")
        self.error = error
        self.offset = offset
        self.event_index = event_index
        self.partial = partial
        self.chunk = chunk

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.error, self.offset, self.event_index, self.partial, self.chunk))
