"""Fast, correct decoding and merging of OpenAI-style Chat Completions streams.

>>> import ssedelta
>>> completion = ssedelta.merge(open("stream.sse", "rb"))    # doctest: +SKIP
>>> completion.choices[0].message.content                    # doctest: +SKIP
"""

from __future__ import annotations

from . import chat
from ._backend import Backend, get_backend, selected
from ._env import NO_EXTENSIONS
from .chat import ChunkDecoder, DeltaMerger, aiter_chunks, amerge, iter_chunks, merge, models
from .chat.models import *  # noqa: F403
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
from .usage import Usage

_backend = selected()

#: ``"native"`` when the Cython core is in use, ``"python"`` for the pure-Python twin.
BACKEND: str = _backend.name
SSEDecoder = _backend.SSEDecoder


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
    "chat",
    "aiter_chunks",
    "amerge",
    "get_backend",
    "iter_chunks",
    "merge",
    "models",
    *models.__all__,
]
