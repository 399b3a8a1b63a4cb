"""OpenAI Chat Completions streams (``chat.completion.chunk``): decode the chunks, merge them into
the final completion. The top-level ``ssedelta`` names are these.

>>> from ssedelta import chat
>>> completion = chat.merge(open("stream.sse", "rb"))    # doctest: +SKIP
>>> completion.choices[0].message.content                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from .._api import AsyncSource, Source
from .._backend import Backend, selected
from . import _usage, models  # noqa: F401  # _usage registers the chat results with ssedelta.Usage
from .models import *  # noqa: F403

_backend = selected()
ChunkDecoder = _backend.ChunkDecoder
DeltaMerger = _backend.DeltaMerger


def _of(backend: Backend | None) -> Backend:
    return _backend if backend is None else backend


def merge(
    source: Source, *, backend: Backend | None = None, **options: Any
) -> models.CreateChatCompletionResponse:
    """Merge a whole stream (bytes, str, a binary file or an iterable of bytes) into one completion."""
    return _of(backend).merge(source, **options)  # type: ignore[no-any-return]


async def amerge(
    source: AsyncSource, *, backend: Backend | None = None, **options: Any
) -> models.CreateChatCompletionResponse:
    """Merge an async stream (e.g. ``httpx.Response.aiter_raw()``) into one completion."""
    return await _of(backend).amerge(source, **options)  # type: ignore[no-any-return]


def iter_chunks(
    source: Source, *, backend: Backend | None = None, **options: Any
) -> Iterator[models.CreateChatCompletionStreamResponse]:
    """The chunk objects of a stream, in order, up to ``[DONE]``."""
    return _of(backend).iter_chunks(source, **options)


def aiter_chunks(
    source: AsyncSource, *, backend: Backend | None = None, **options: Any
) -> AsyncIterator[models.CreateChatCompletionStreamResponse]:
    """The chunk objects of an async stream, in order, up to ``[DONE]``."""
    return _of(backend).aiter_chunks(source, **options)


__all__ = [
    "ChunkDecoder",
    "DeltaMerger",
    "aiter_chunks",
    "amerge",
    "iter_chunks",
    "merge",
    "models",
    *models.__all__,
]
