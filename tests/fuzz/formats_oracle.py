"""The differential oracle of the Responses API and Messages mergers (fuzz targets ``responses``
and ``anthropic``), in the framing of ``oracle.py``: byte 0 chooses the split, byte 1 is unused.

Each target feeds the same pieces to the native merger and to the twin and requires the same
first error (class, ``offset``, ``event_index``) or result, the same state then, and the same
outcome for the whole stream fed in one piece. ``python tests/fuzz/formats_oracle.py TARGET
FILE...`` replays saved inputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from oracle import NATIVE, PYTHON, canon, error_key, split

from ssedelta import anthropic, responses
from ssedelta.errors import StreamFormatError, UpstreamError


def merge(merger_class: Any, pieces: list[bytes]) -> tuple[Any, Any]:
    """The first error (or the result) and the state then; and what the feeds after it did."""
    merger = merger_class()
    first: tuple[Any, ...] | None = None
    later: list[Any] = []
    for piece in pieces:
        try:
            count = merger.feed(piece)
        except (StreamFormatError, UpstreamError) as exc:
            if first is None:
                first = (*error_key(exc), canon(merger.snapshot().to_dict()), merger.done)
            else:
                later.append(error_key(exc))
        else:
            if first is not None:
                later.append(count)
    try:
        done: tuple[Any, ...] = ("ok", canon(merger.finish().to_dict()))
    except (StreamFormatError, UpstreamError) as exc:
        done = error_key(exc)
    if first is None:
        return (*done, canon(merger.snapshot().to_dict()), merger.done), merger.events
    return first, (later, done, merger.events)


def _checker(merger_class: Callable[[Any], Any]) -> Callable[[bytes], None]:
    native, python = merger_class(NATIVE), merger_class(PYTHON)

    def check(data: bytes) -> None:
        if len(data) < 2:
            return
        stream = data[2:]
        pieces = split(stream, data[0])
        got = merge(native, pieces)
        for what, other in (("twin", merge(python, pieces)), ("one piece", merge(native, [stream]))):
            if (got if what == "twin" else got[0]) != (other if what == "twin" else other[0]):
                raise AssertionError(f"{what} differs for input {data[:200]!r}...\n{got!r}\n{other!r}")

    return check


TARGETS: dict[str, Callable[[bytes], None]] = {
    "responses": _checker(responses.merger_class),
    "anthropic": _checker(anthropic.merger_class),
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in TARGETS:
        print(f"usage: formats_oracle.py {{{','.join(TARGETS)}}} FILE...")
        return 2
    status = 0
    for path in argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            TARGETS[argv[0]](data)
        except AssertionError as exc:
            print(f"{path}: {exc}")
            status = 1
        else:
            print(f"{path}: same")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
