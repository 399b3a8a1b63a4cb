"""The stream-level functions, written once over a backend's decoder and merger classes."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import IO, Any

Source = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes] | Iterable[str]
AsyncSource = AsyncIterable[bytes] | AsyncIterable[str] | Source

READ_SIZE = 64 * 1024


def pieces(source: Source) -> Iterator[bytes]:
    """The byte pieces of a source: bytes, str, a binary file or an iterable of bytes or str."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, str):
        yield source.encode()
    elif type(source) is not tuple and type(source) is not list and hasattr(source, "read"):
        while True:
            piece = source.read(READ_SIZE)
            if not piece:
                break
            yield piece.encode() if isinstance(piece, str) else piece
    else:
        for piece in source:
            yield piece.encode() if isinstance(piece, str) else piece


async def apieces(source: AsyncSource) -> AsyncIterator[bytes]:
    if hasattr(source, "__aiter__"):
        async for piece in source:
            yield piece.encode() if isinstance(piece, str) else piece
    else:
        for piece in pieces(source):
            yield piece


def iter_chunks(source: Source, *, decoder_class: Any, **options: Any) -> Iterator[Any]:
    """The decoder is made at once, so that a bad option raises here, not at the first chunk."""
    return _iter_chunks(source, decoder_class(**options))


def _iter_chunks(source: Source, decoder: Any) -> Iterator[Any]:
    for piece in pieces(source):
        yield from decoder.feed(piece)
        if decoder.done:
            return
    yield from decoder.close()


def aiter_chunks(source: AsyncSource, *, decoder_class: Any, **options: Any) -> AsyncIterator[Any]:
    """The decoder is made at once, as in :func:`iter_chunks`."""
    return _aiter_chunks(source, decoder_class(**options))


async def _aiter_chunks(source: AsyncSource, decoder: Any) -> AsyncIterator[Any]:
    async for piece in apieces(source):
        for chunk in decoder.feed(piece):
            yield chunk
        if decoder.done:
            return
    for chunk in decoder.close():
        yield chunk


def merge(source: Source, *, merger_class: Any, **options: Any) -> Any:
    merger = merger_class(**options)
    # A list, a tuple or bytes is read without a generator: short streams are merged by the million.
    kind = type(source)
    if kind is bytes:
        merger.feed(source)
    elif kind is list or kind is tuple:
        for piece in source:
            merger.feed(piece.encode() if isinstance(piece, str) else piece)
            if merger.done:
                break
    else:
        for piece in pieces(source):
            merger.feed(piece)
            if merger.done:
                break
    return merger.finish()


async def amerge(source: AsyncSource, *, merger_class: Any, **options: Any) -> Any:
    merger = merger_class(**options)
    async for piece in apieces(source):
        merger.feed(piece)
        if merger.done:
            break
    return merger.finish()
