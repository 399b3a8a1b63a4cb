"""Transparent decompression: gzip, bz2, xz and zstd, told by magic bytes, else by the file name."""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import IO, Any

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


def decompressed(raw: IO[bytes], kind: str) -> IO[bytes]:
    """A binary file reading the decompressed bytes of ``raw``."""
    if kind == GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == BZ2:
        return bz2.BZ2File(raw, "rb")
    if kind == XZ:
        return lzma.LZMAFile(raw, "rb")
    if kind == ZSTD:
        zstandard: Any = require("zstandard", "zstd", "reading .zst files")
        reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return reader
    raise ValueError(f"unknown compression {kind!r}")
