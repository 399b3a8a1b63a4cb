"""The problems bulk reading reports besides the stream errors of :mod:`ssedelta.errors`."""

from __future__ import annotations

from ..errors import SSEDeltaError, StreamFormatError


class TruncatedStreamError(StreamFormatError):
    """The stream was cut off: it ends inside an event, or without the ``[DONE]`` its file's other
    streams end with."""


class NoChunksError(StreamFormatError):
    """The events of a stream hold no chat completion chunk at all (binary data, another format, ...)."""


class NoStreamError(StreamFormatError):
    """A record's body, or a file that starts like a stream, holds no stream at all (a file in no
    stream format is skipped instead: see :func:`ssedelta.bulk.formats.no_stream_reason`)."""


class RecordError(StreamFormatError):
    """A JSON record or HAR entry is not valid JSON or lacks the field holding the stream."""


class ReadError(StreamFormatError):
    """The file could not be read to its end (I/O error, corrupt or truncated compressed data)."""


class MissingExtraError(SSEDeltaError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""
