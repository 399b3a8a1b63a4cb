"""When the cycle collector runs while archives are read.

Merging a stream allocates many objects that all live until its record is written: automatic
collections in the meantime find nothing to free, and on logprob streams they cost more than
the merge itself. So they are paused while a stream is read, and instead the young generations
are collected after every :data:`COLLECT_EVERY` bytes of streams (all of them every
:data:`FULL_EVERY` times), which bounds the cyclic garbage (exceptions and their tracebacks,
mostly) that can pile up.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

COLLECT_EVERY = 64 * 1024 * 1024
FULL_EVERY = 16

_since = 0
_young_runs = 0


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block; the collector's state is restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def each_paused(items: Iterator[T]) -> Iterator[T]:
    """``items``, automatic collection paused while each one is made (not in between: the
    caller's code runs there)."""
    while True:
        with paused():
            item = next(items, None)
        if item is None:
            return
        yield item


def account(nbytes: int) -> None:
    """``nbytes`` more bytes of streams were read: collect when they add up."""
    global _since, _young_runs
    _since += nbytes
    if _since > COLLECT_EVERY:
        _since = 0
        _young_runs += 1
        if _young_runs >= FULL_EVERY:
            _young_runs = 0
            gc.collect()
        else:
            gc.collect(1)


def start_worker() -> None:
    """In a worker process: what it was born with is never garbage, and it runs nothing but
    tasks, so automatic collection is off for good (:func:`account` collects)."""
    gc.freeze()
    gc.disable()
