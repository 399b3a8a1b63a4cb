"""The proxy's request log: one JSON object per line, appended."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import orjson


class RequestLog:
    """Appends one JSON line per :meth:`write`, flushed at once.

    ``target`` is a path (opened in append mode), ``"-"`` for standard output, or a binary
    file object. Each line goes out in a single ``write`` call on an unbuffered file, so lines
    from one process never interleave, and lines from several processes appending to the same
    file do not either (``O_APPEND``).
    """

    def __init__(self, target: str | os.PathLike[str] | IO[bytes]) -> None:
        self._owned = False
        if target == "-":
            self._file: IO[bytes] = sys.stdout.buffer
        elif isinstance(target, (str, os.PathLike)):
            self._file = open(target, "ab", buffering=0)  # noqa: SIM115  # closed by close()
            self._owned = True
        else:
            self._file = target

    def write(self, record: dict[str, Any]) -> None:
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
        view = memoryview(line)
        while view:
            written = self._file.write(view)
            view = view[written if written is not None else len(view) :]
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
