"""Reading JSON documents one value at a time, holding only the value being read in memory."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ._io import Reader

READ_SIZE = 256 * 1024
_NON_WS = re.compile(r"[^ \t\r\n]")


class JSONCursor:
    """A position in a JSON text read from a binary file."""

    def __init__(self, f: Reader) -> None:
        self._f = f
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False

    def _more(self, size: int) -> bool:
        if self._eof:
            return False
        data = self._f.read(size)
        if not data:
            self._eof = True
        text = self._utf8.decode(data, final=not data)
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return bool(data)

    def peek(self) -> str:
        """The next character that is not white space, ``""`` at the end."""
        while True:
            m = _NON_WS.search(self._buf, self._pos)
            if m is not None:
                self._pos = m.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._more(READ_SIZE):
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise ValueError(f"expected {char!r}, found {found or 'the end'!r}")
        self._pos += 1

    def value(self) -> Any:
        """The next JSON value (raises :class:`ValueError` when it is not valid JSON)."""
        self.peek()
        size = READ_SIZE
        while True:
            try:
                obj, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(self._buf) or exc.msg.startswith("Unterminated string")
                if incomplete and self._more(size):
                    size *= 2
                    continue
                raise ValueError(f"invalid JSON: {exc.msg}") from None
            if end == len(self._buf) and not isinstance(obj, (dict, list, str)) and self._more(size):
                continue  # a number or literal may go on in the next read
            self._pos = end
            return obj

    def items(self, path: Sequence[str] = ()) -> Iterator[Any]:
        """The items of the array at ``path`` (keys of nested objects), or, when the value there
        is not an array, that value alone."""
        for key in path:
            self.expect("{")
            while True:
                if self.peek() == "}":
                    raise ValueError(f"no {key!r} key in the JSON object")
                name = self.value()
                self.expect(":")
                if name == key:
                    break
                self.value()
                if self.peek() == ",":
                    self._pos += 1
        if self.peek() != "[":
            yield self.value()
            return
        self._pos += 1
        if self.peek() == "]":
            return
        while True:
            yield self.value()
            char = self.peek()
            if char == "]":
                return
            self.expect(",")
