"""Running tasks on worker processes: results in task order, a bounded number of tasks in flight."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .records import dumps, is_error
from .tasks import Task, read_task

T = TypeVar("T")

#: Tasks in flight (submitted, not yet consumed) per worker.
WINDOW_PER_JOB = 2
#: A task's JSON Lines output beyond this size goes to a spool file instead of memory.
SPOOL_LIMIT = 8 * 1024 * 1024


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


def ordered_map(fn: Callable[[Task], T], tasks: Iterable[Task], jobs: int) -> Iterator[tuple[Task, T]]:
    """``(task, fn(task))`` in task order; ``jobs`` worker processes (in this process when 1)."""
    if jobs <= 1:
        for task in tasks:
            yield task, fn(task)
        return
    pending = iter(tasks)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
    try:
        window: deque[tuple[Task, Future[T]]] = deque()
        for task in pending:
            window.append((task, pool.submit(fn, task)))
            if len(window) >= jobs * WINDOW_PER_JOB:
                break
        while window:
            task, future = window.popleft()
            result = future.result()
            following = next(pending, None)
            if following is not None:
                window.append((following, pool.submit(fn, following)))
            yield task, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class LinesOutput:
    """A task's records as JSON Lines, in memory or in a spool file, and which are errors."""

    data: bytes
    spool: str | None
    errors: bytes  # one byte per record: 1 for an error record

    def copy_to(self, f: Any) -> None:
        """Write every line to the binary file ``f``."""
        if self.spool is None:
            f.write(self.data)
            return
        try:
            with open(self.spool, "rb") as spool:
                shutil.copyfileobj(spool, f, 1 << 20)
        finally:
            os.unlink(self.spool)

    def lines(self) -> Iterator[bytes]:
        if self.spool is None:
            yield from self.data.splitlines(keepends=True)
            return
        try:
            with open(self.spool, "rb") as f:
                yield from f
        finally:
            os.unlink(self.spool)


def lines_task(task: Task, spool_dir: str | None = None) -> LinesOutput:
    """Run ``task``; its records serialised (spilled to ``spool_dir`` when large)."""
    parts: list[bytes] = []
    size = 0
    flags = bytearray()
    spool: Any = None
    try:
        for record in read_task(task):
            line = dumps(record)
            flags.append(is_error(record))
            if spool is not None:
                spool.write(line)
                continue
            parts.append(line)
            size += len(line)
            if size > SPOOL_LIMIT:
                spool = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed below, read by the parent
                    "wb", dir=spool_dir, prefix="ssedelta-", suffix=".jsonl", delete=False
                )
                spool.write(b"".join(parts))
                parts.clear()
    finally:
        if spool is not None:
            spool.close()
    return LinesOutput(b"".join(parts), None if spool is None else spool.name, bytes(flags))
