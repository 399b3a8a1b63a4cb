"""Opening archive files: local or ``fsspec`` URLs, decompressed, with their first bytes at hand."""

from __future__ import annotations

from typing import IO, Any, Protocol

from ._optional import require


class Reader(Protocol):
    """What the readers need of a file: ``read(size)`` returning ``b""`` at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


class Prefixed:
    """A binary reader giving ``head`` first, then the rest of ``f``."""

    def __init__(self, head: bytes, f: Reader) -> None:
        self._head = head
        self._f = f
        self.mode = "rb"

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                out = self._head + self._f.read()
                self._head = b""
                return bytes(out)
            out, self._head = self._head[:size], self._head[size:]
            if len(out) < size:
                out += self._f.read(size - len(out))
            return out
        return bytes(self._f.read(size))

    def readable(self) -> bool:
        return True


class Guarded:
    """A binary reader that turns a read error into the end of the data and keeps the error."""

    def __init__(self, f: Reader) -> None:
        self._f = f
        self.error: Exception | None = None
        self.mode = "rb"

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            return b""
        try:
            return bytes(self._f.read(size))
        except MemoryError:
            raise
        except Exception as exc:  # I/O errors and every decompressor's own error type
            self.error = exc
            return b""


def read_fully(f: Reader, size: int) -> bytes:
    """``size`` bytes of ``f``, fewer only at its end."""
    parts = []
    while size > 0:
        data = f.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def open_binary(path: str) -> IO[bytes]:
    """``path`` opened for reading bytes: a local path, or any URL ``fsspec`` knows."""
    if "://" in path and not path.startswith("file://"):
        fsspec: Any = require("fsspec", "dask", f"reading {path.split('://')[0]}:// URLs")
        f: IO[bytes] = fsspec.open(path, "rb").open()
        return f
    return open(path.removeprefix("file://"), "rb")
