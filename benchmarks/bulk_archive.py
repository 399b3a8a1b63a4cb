"""A generated archive for the bulk benchmarks: many files of concatenated streams, a few large ones.

The streams are the generated profiles of :mod:`benchmarks.corpus` (chat, tool calls, logprobs,
n=4, usage), each copy with its own id, so every stream in the archive is distinct. Nothing is
committed: the archive is written to a directory the caller gives (a temporary one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from . import corpus

_ID_LENGTH = len("chatcmpl-") + 29


@dataclass(frozen=True)
class Archive:
    root: Path
    files: tuple[Path, ...]
    streams: int
    nbytes: int


def pool(small: bool = False) -> list[bytes]:
    """Distinct stream bodies in the profiles' mix (30 % chat, 20 % usage, 20 % tool calls,
    10 % logprobs, 10 % n=4, 10 % long chat)."""
    n = 2 if small else 10
    f = 10 if small else 1
    bodies = []
    for seed in range(n):
        bodies += [corpus.chat_stream(600 // f, seed=seed, name=f"chat{k}").data for k in range(3)]
        bodies += [
            corpus.chat_stream(600 // f, seed=seed, usage=True, name=f"usage{k}").data for k in range(2)
        ]
        bodies += [corpus.tools_stream(3, 40 // f, seed=seed, name=f"tools{k}").data for k in range(2)]
        bodies.append(corpus.chat_stream(600 // f, seed=seed, logprobs=True).data)
        bodies.append(corpus.multi_stream(4, 150 // f, seed=seed).data)
        bodies.append(corpus.chat_stream(2000 // f, seed=seed, name="long").data)
    return bodies


def _with_id(body: bytes, number: int) -> bytes:
    start = body.index(b'"id":"chatcmpl-') + 6
    old = body[start : start + _ID_LENGTH]
    new = b"chatcmpl-bulk%016d" % number
    return body.replace(old, new.ljust(_ID_LENGTH, b"x"))


def write_archive(
    root: Path, total_bytes: int, *, large_files: int = 2, large_share: float = 0.25, small: bool = False
) -> Archive:
    """Files under ``root`` adding up to at least ``total_bytes``: ``large_files`` files holding
    ``large_share`` of the bytes, the rest in files of 16 MiB (256 KiB for ``small``)."""
    bodies = pool(small)
    root.mkdir(parents=True, exist_ok=True)
    file_size = (256 << 10) if small else (16 << 20)
    large_size = int(total_bytes * large_share / large_files) if large_files else 0
    sizes = [large_size] * large_files
    rest = total_bytes - sum(sizes)
    sizes += [file_size] * -(-rest // file_size)
    files = []
    streams = nbytes = 0
    numbers = itertools.count()
    cycle = itertools.cycle(bodies)
    for index, size in enumerate(sizes):
        path = root / ("large" if size == large_size and index < large_files else "part") / f"{index:04d}.sse"
        path.parent.mkdir(exist_ok=True)
        written = 0
        with open(path, "wb") as f:
            while written < size:
                body = _with_id(next(cycle), next(numbers))
                f.write(body)
                written += len(body)
                streams += 1
        files.append(path)
        nbytes += written
    return Archive(root, tuple(files), streams, nbytes)
