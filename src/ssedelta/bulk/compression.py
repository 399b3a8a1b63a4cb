"""Transparent decompression: gzip, bz2, xz and zstd, told by magic bytes, else by the file name."""

from __future__ import annotations

import bz2
import lzma
import sys
import zlib
from collections.abc import Callable
from typing import Any

from ._io import Reader
from ._optional import require

GZIP, BZ2, XZ, ZSTD = "gzip", "bz2", "xz", "zstd"

_MAGIC = (
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZ2),
    (b"\xfd7zXZ\x00", XZ),
    (b"\x28\xb5\x2f\xfd", ZSTD),
)
_SUFFIXES = {".gz": GZIP, ".gzip": GZIP, ".bz2": BZ2, ".xz": XZ, ".zst": ZSTD, ".zstd": ZSTD}

#: Bytes to read from the start of a file to tell its compression.
MAGIC_SIZE = 6
READ_SIZE = 256 * 1024


def suffix_of(name: str) -> str | None:
    """The compression a file name announces (``"gzip"`` for ``x.sse.gz``), else ``None``."""
    dot = name.rfind(".")
    return _SUFFIXES.get(name[dot:].lower()) if dot >= 0 else None


def inner_name(name: str) -> str:
    """``name`` without its compression suffix (``x.jsonl.gz`` -> ``x.jsonl``)."""
    return name[: name.rfind(".")] if suffix_of(name) else name


def detect(head: bytes, name: str) -> str | None:
    """The compression of a file starting with ``head``: its magic bytes decide; a name suffix
    decides for a file too short to tell."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if len(head) < MAGIC_SIZE:
        return suffix_of(name)
    return None


def decompressed(raw: Reader, kind: str) -> Reader:
    """A reader of the decompressed bytes of ``raw`` (every member or frame, one after the other)."""
    if kind == GZIP:
        return Decompressing(raw, lambda: zlib.decompressobj(wbits=31))
    if kind == BZ2:
        return Decompressing(raw, bz2.BZ2Decompressor)
    if kind == XZ:
        return Decompressing(raw, lzma.LZMADecompressor)
    if kind == ZSTD:
        zstandard: Any = require("zstandard", "zstd", "reading .zst files")
        return Decompressing(raw, lambda: zstandard.ZstdDecompressor().decompressobj())
    raise ValueError(f"unknown compression {kind!r}")


class Decompressing:
    """Decompresses ``raw`` as it is read. Data cut off before its end marker raises
    :class:`EOFError`, but only once every byte decompressed before the cut has been returned."""

    def __init__(self, raw: Reader, new: Callable[[], Any]) -> None:
        self._raw = raw
        self._new = new
        self._decompressor = new()
        self._inside = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._ended = False
        self._error: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = sys.maxsize
        while self._size < size and not self._ended:
            data = self._raw.read(READ_SIZE)
            if not data:
                self._ended = True
                if self._inside:
                    self._error = EOFError("the compressed data ends before its end-of-stream marker")
                break
            self._decompress(data)
        if not self._chunks:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return b""
        joined = b"".join(self._chunks)
        out, rest = joined[:size], joined[size:]
        self._chunks = [rest] if rest else []
        self._size = len(rest)
        return out

    def _decompress(self, data: bytes) -> None:
        while data:
            out = self._decompressor.decompress(data)
            if out:
                self._chunks.append(out)
                self._size += len(out)
            if self._decompressor.eof:
                data = self._decompressor.unused_data
                self._decompressor = self._new()
                self._inside = False
            else:
                self._inside = True
                data = b""
