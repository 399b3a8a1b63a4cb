"""Fast, correct decoding and merging of OpenAI-style Chat Completions streams.

>>> import ssedelta
>>> completion = ssedelta.merge(open("stream.sse", "rb"))    # doctest: +SKIP
>>> completion.choices[0].message.content                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from . import (
    _usage_chat,  # noqa: F401  # registers the chat results with Usage.of
    models,
)
from ._api import AsyncSource, Source
from ._backend import Backend, get_backend, selected
from ._env import NO_EXTENSIONS
from .errors import (
    EventTooLargeError,
    InvalidChunkError,
    InvalidJSONError,
    LimitExceededError,
    ReentrantCallError,
    SSEDeltaError,
    StreamFormatError,
    UpstreamError,
)
from .events import ServerSentEvent
from .models import *  # noqa: F403
from .usage import Usage

_backend = selected()

#: ``"native"`` when the Cython core is in use, ``"python"`` for the pure-Python twin.
BACKEND: str = _backend.name
SSEDecoder = _backend.SSEDecoder
ChunkDecoder = _backend.ChunkDecoder
DeltaMerger = _backend.DeltaMerger


def merge(source: Source, **options: Any) -> models.CreateChatCompletionResponse:
    """Merge a whole stream (bytes, str, a binary file or an iterable of bytes) into one completion."""
    return _backend.merge(source, **options)


async def amerge(source: AsyncSource, **options: Any) -> models.CreateChatCompletionResponse:
    """Merge an async stream (e.g. ``httpx.Response.aiter_raw()``) into one completion."""
    return await _backend.amerge(source, **options)


def iter_chunks(source: Source, **options: Any) -> Iterator[models.CreateChatCompletionStreamResponse]:
    """The chunk objects of a stream, in order, up to ``[DONE]``."""
    return _backend.iter_chunks(source, **options)


def aiter_chunks(
    source: AsyncSource, **options: Any
) -> AsyncIterator[models.CreateChatCompletionStreamResponse]:
    """The chunk objects of an async stream, in order, up to ``[DONE]``."""
    return _backend.aiter_chunks(source, **options)


__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "NO_EXTENSIONS",
    "Backend",
    "ChunkDecoder",
    "DeltaMerger",
    "EventTooLargeError",
    "InvalidChunkError",
    "InvalidJSONError",
    "LimitExceededError",
    "ReentrantCallError",
    "SSEDecoder",
    "SSEDeltaError",
    "ServerSentEvent",
    "StreamFormatError",
    "UpstreamError",
    "Usage",
    "aiter_chunks",
    "amerge",
    "get_backend",
    "iter_chunks",
    "merge",
    "models",
    *models.__all__,
]
