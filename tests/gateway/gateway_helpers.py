"""Shared by the gateway tests: cutting streams into pieces, async sources, merging references."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator
from typing import Any, TypeVar

from real_streams import STREAMS, body, expected, is_upstream_error

T = TypeVar("T")

#: The recorded streams that end with an upstream error (an ``error`` payload or an ``event: error``).
ERROR_STREAMS = [name for name in STREAMS if is_upstream_error(expected(name))]
CLEAN_STREAMS = [name for name in STREAMS if name not in ERROR_STREAMS]

TIMEOUT = 30.0


def random_pieces(data: bytes, seed: object, largest: int = 300) -> list[bytes]:
    return pieces_from(data, random.Random(str(seed)), largest)


def pieces_from(data: bytes, rng: random.Random, largest: int) -> list[bytes]:
    """``data`` cut into pieces of 1 to ``largest`` bytes, sizes drawn from ``rng``."""
    out = []
    at = 0
    while at < len(data):
        size = rng.randint(1, largest)
        out.append(data[at : at + size])
        at += size
    return out


def event_pieces(data: bytes) -> list[bytes]:
    """One piece per ``\\n\\n``-terminated block (the recorded streams use LF line ends)."""
    blocks = data.split(b"\n\n")
    return [block + b"\n\n" for block in blocks[:-1]] + ([blocks[-1]] if blocks[-1] else [])


def final(name: str) -> dict[str, Any]:
    """The merged completion of the whole stream (the partial one for an upstream error)."""
    result = expected(name)
    return result["partial"] if is_upstream_error(result) else result  # type: ignore[no-any-return]


def merged(backend: Any, data: bytes) -> dict[str, Any]:
    """What the backend's merger makes of ``data``, never raising for an upstream error."""
    merger = backend.DeltaMerger()
    merger.feed(data)
    return merger.snapshot().to_dict()  # type: ignore[no-any-return]


async def agen(pieces: Iterable[T]) -> AsyncIterator[T]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


def run(coroutine: Awaitable[T]) -> T:
    """Run ``coroutine`` in a new event loop, failing it after :data:`TIMEOUT` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, TIMEOUT)

    return asyncio.run(bounded())


class Closable:
    """A sync or async source that records whether it was closed and how far it was read."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.pulled == len(self.pieces):
            raise StopIteration
        self.pulled += 1
        return self.pieces[self.pulled - 1]

    def close(self) -> None:
        self.closed = True

    def __aiter__(self) -> Closable:
        return self

    async def __anext__(self) -> bytes:
        await asyncio.sleep(0)
        try:
            return self.__next__()
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self.closed = True


__all__ = ["CLEAN_STREAMS", "ERROR_STREAMS", "STREAMS", "body"]
