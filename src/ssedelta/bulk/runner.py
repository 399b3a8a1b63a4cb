"""Running tasks on worker processes: results in task order, a bounded number of tasks in flight."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from . import collector
from .tasks import Task

T = TypeVar("T")
U = TypeVar("U")

#: Batches in flight (submitted, not yet consumed) per worker.
WINDOW_PER_JOB = 2
#: Whole files are read in batches of about this many bytes (one task per file above it).
BATCH_SIZE = 4 * 1024 * 1024
BATCH_FILES = 256


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  # not on Linux
        return os.cpu_count() or 1


#: Modules that start native threads of their own, which forking a process must not copy.
_THREADED_MODULES = ("numpy", "pyarrow", "pandas", "dask", "distributed", "torch")


def _context() -> Any:
    """``fork`` (the workers start at once, with everything imported) when this process runs one
    thread and no library that starts its own; else ``forkserver`` (or ``spawn``)."""
    methods = multiprocessing.get_all_start_methods()
    single = threading.active_count() == 1 and not any(m in sys.modules for m in _THREADED_MODULES)
    if "fork" in methods and single:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def batches(tasks: Sequence[Task]) -> list[tuple[Task, ...]]:
    """``tasks`` in order, in groups: consecutive small files together, up to :data:`BATCH_SIZE`
    bytes or :data:`BATCH_FILES` files; a large file or a range of one alone."""
    out: list[tuple[Task, ...]] = []
    group: list[Task] = []
    size = 0
    for task in tasks:
        alone = task.part > 0 or task.end is not None
        if group and (alone or size + task.size > BATCH_SIZE or len(group) >= BATCH_FILES):
            out.append(tuple(group))
            group, size = [], 0
        group.append(task)
        size += task.size
        if alone:
            out.append(tuple(group))
            group, size = [], 0
    if group:
        out.append(tuple(group))
    return out


def ordered_map(fn: Callable[[T], U], items: Iterable[T], jobs: int) -> Generator[tuple[T, U], None, None]:
    """``(item, fn(item))`` in order; ``jobs`` worker processes (in this process when 1)."""
    if jobs <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending = iter(items)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=collector.start_worker)
    try:
        window: deque[tuple[T, Future[U]]] = deque()
        for item in pending:
            window.append((item, pool.submit(fn, item)))
            if len(window) >= jobs * WINDOW_PER_JOB:
                break
        while window:
            item, future = window.popleft()
            result = future.result()
            following = next(pending, None)
            if following is not None:
                window.append((following, pool.submit(fn, following)))
            yield item, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
