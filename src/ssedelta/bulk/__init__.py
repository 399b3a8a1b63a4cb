"""Bulk processing of archived streams: whole directories, compressed files and log formats, on
every core.

>>> from ssedelta.bulk import iter_merged, stream_stats
>>> for record in iter_merged(["captures/"], jobs=4):              # doctest: +SKIP
...     print(record["source"], record.get("completion", {}).get("model"))
>>> stream_stats(["captures/*.jsonl.gz"]).summary()["usage"]     # doctest: +SKIP

Each stream gives one record (see :mod:`ssedelta.bulk.records`), in a deterministic order: the
files in the order the paths name them (directories walked in sorted order), the streams of a
file in file order, whatever the number of jobs. The formats are described in
:mod:`ssedelta.bulk.formats` and where a stream ends in :mod:`ssedelta.bulk.sse`. Each stream is
merged in the stream format its first event names (chat, Responses API or Anthropic Messages; see
:mod:`ssedelta.stream_format` and :mod:`ssedelta.bulk.eventstreams`), which its record's
``format`` says. A file in no stream
format is skipped (:func:`ssedelta.bulk.formats.no_stream_reason`): :func:`iter_merged` gives one
``skipped`` record for it, :func:`write_merged` and :func:`stream_stats` list it in ``skipped``.

``include`` and ``exclude`` (glob patterns) choose among the files found under directories and globs
(see :func:`ssedelta.bulk.sources.expand`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import partial
from typing import IO, Any

from .._backend import Backend
from . import collector, formats
from ._optional import require
from .errors import (
    MissingExtraError,
    NoChunksError,
    NoStreamError,
    ReadError,
    RecordError,
    TruncatedStreamError,
)
from .records import Record, dumps, is_error, is_skipped
from .runner import batches, default_jobs, ordered_map
from .sources import expand
from .spool import BatchOutput, Spool, spool_batch
from .stats import StreamStats, empty_columns, stats_batch
from .tasks import Options, Task, plan, read_task

PathArg = str | os.PathLike[str]
Paths = PathArg | Iterable[PathArg]

__all__ = [
    "MergeReport",
    "MissingExtraError",
    "NoChunksError",
    "NoStreamError",
    "Options",
    "ReadError",
    "Record",
    "RecordError",
    "StreamStats",
    "TruncatedStreamError",
    "iter_merged",
    "stream_stats",
    "write_merged",
]


def iter_merged(
    paths: Paths,
    *,
    jobs: int | None = None,
    format: str = formats.AUTO,
    field: str | None = None,
    backend: str | Backend | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Iterator[Record]:
    """One record per stream found under ``paths``, merged or in error, in order.

    ``jobs`` worker processes read the files (and the parts of a large event-stream file); the
    default is every core, ``1`` reads in this process. ``format`` forces one of
    :data:`ssedelta.bulk.formats.FORMATS` instead of telling each file's; ``field`` is the dotted
    path of the SSE body in JSON records; ``backend`` (``"native"``, ``"python"``, or a
    :class:`ssedelta.Backend`) defaults to the one ``import ssedelta`` selected. A skipped file
    gives a record with ``skipped`` (the reason) instead of ``completion`` or ``error``.
    """
    tasks = _tasks(paths, format, field, backend, include, exclude)
    jobs = _jobs(jobs)
    numbers = _Numbering()
    if jobs == 1:
        for task in tasks:
            base = numbers.base((task,))
            count = 0
            for count, record in enumerate(read_task(task), 1):  # noqa: B007
                record["source"]["stream"] += base
                yield record
            numbers.done((task,), (count,))
        return
    with _spooling(None, tasks, jobs, split=False) as results:
        for batch, output in results:
            yield from output.records.records(numbers.base(batch))
            numbers.done(batch, output.counts)


@dataclass
class MergeReport:
    """What :func:`write_merged` did: input ``files`` (skipped ones included) and their on-disk
    ``bytes``, the ``streams`` found, how many were ``errors``, the ``seconds`` it took, and the
    files ``skipped`` as in no stream format (``(file, reason)`` pairs, in order)."""

    files: int
    bytes: int
    streams: int
    errors: int
    seconds: float
    skipped: list[tuple[str, str]] = dataclass_field(default_factory=list)


def write_merged(
    paths: Paths,
    out: PathArg | IO[bytes],
    *,
    errors: PathArg | IO[bytes] | None = None,
    jobs: int | None = None,
    format: str = formats.AUTO,
    field: str | None = None,
    backend: str | Backend | None = None,
    progress: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> MergeReport:
    """Write the merged streams under ``paths`` to ``out`` and the bad ones to ``errors``.

    ``out`` is a JSON Lines file (a path or a binary file), or Parquet when its path ends in
    ``.parquet`` (the ``parquet`` extra; one row per choice, flat columns). ``errors`` (JSON
    Lines) defaults to ``out`` with ``.errors.jsonl`` for its suffix; with a file object (or ``-``,
    standard output) for ``out`` and no ``errors``, bad streams are only counted. ``progress``
    shows a bar (tqdm). The other arguments are those of :func:`iter_merged`.
    """
    started = time.perf_counter()
    tasks = _tasks(paths, format, field, backend, include, exclude)
    jobs = _jobs(jobs)
    skipped: list[tuple[str, str]] = []
    if errors is None and not hasattr(out, "write") and os.fspath(out) != "-":
        errors = default_errors_path(os.fspath(out))
    good = _Output(out)
    bad = _Output(errors) if errors is not None else None
    try:
        if jobs == 1:
            streams, failed = _write_here(tasks, good, bad, progress, skipped)
        else:
            streams, failed = _write_from_workers(out, tasks, jobs, good, bad, progress, skipped)
    finally:
        good.close()
        if bad is not None:
            bad.close()
    files = len({t.name for t in tasks})
    seconds = time.perf_counter() - started
    return MergeReport(files, sum(t.size for t in tasks), streams, failed, seconds, skipped)


def _write_here(
    tasks: Sequence[Task], good: _Output, bad: _Output | None, progress: bool, skipped: list[tuple[str, str]]
) -> tuple[int, int]:
    """One job: records written as they are made (no automatic cycle collection meanwhile)."""
    numbers = _Numbering()
    streams = failed = 0
    bar = _progress(sum(t.size for t in tasks), progress)
    try:
        with collector.paused():
            for task in tasks:
                base = numbers.base((task,))
                count = 0
                for count, record in enumerate(read_task(task), 1):  # noqa: B007
                    record["source"]["stream"] += base
                    if is_skipped(record):
                        skipped.append((record["source"]["file"], record["skipped"]))
                        streams -= 1  # counted in count, but no stream
                    elif is_error(record):
                        failed += 1
                        if bad is not None:
                            bad.write(record)
                    else:
                        good.write(record)
                streams += count
                numbers.done((task,), (count,))
                bar.update(task.size)
    finally:
        bar.close()
    return streams, failed


def _write_from_workers(
    out: PathArg | IO[bytes],
    tasks: Sequence[Task],
    jobs: int,
    good: _Output,
    bad: _Output | None,
    progress: bool,
    skipped: list[tuple[str, str]],
) -> tuple[int, int]:
    """Several jobs: the workers' spool files appended in order."""
    numbers = _Numbering()
    streams = failed = 0
    bar: Any = None
    try:
        with _spooling(out, tasks, jobs, split=True) as results:
            for batch, output in results:
                if bar is None:
                    # Made once the workers run: the bar's thread must not be there when they start.
                    bar = _progress(sum(t.size for t in tasks), progress)
                base = numbers.base(batch)
                good.copy(output.records, base)
                if bad is not None:
                    bad.copy(output.errors, base)
                else:
                    output.errors.discard()
                streams += sum(output.counts) - len(output.skipped)
                skipped.extend(output.skipped)
                failed += output.errors.lines
                numbers.done(batch, output.counts)
                bar.update(sum(t.size for t in batch))
    finally:
        if bar is not None:
            bar.close()
    return streams, failed


def stream_stats(
    paths: Paths,
    *,
    jobs: int | None = None,
    format: str = formats.AUTO,
    field: str | None = None,
    backend: str | Backend | None = None,
    progress: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> StreamStats:
    """Per-stream statistics of every stream under ``paths``, as numpy arrays (the ``bulk``
    extra); ``.summary()`` gives totals and percentiles, ``.skipped`` the files in no stream
    format. Arguments as for :func:`iter_merged`."""
    require("numpy", "bulk", "stream statistics")
    started = time.perf_counter()
    tasks = _tasks(paths, format, field, backend, include, exclude)
    columns: dict[str, list[Any]] | None = None
    numbers = _Numbering()
    bar = _progress(sum(t.size for t in tasks), progress)
    try:
        for batch, parts in ordered_map(stats_batch, batches(tasks), _jobs(jobs)):
            base = numbers.base(batch)
            for part in parts:
                if base:
                    part["stream"] = [n + base for n in part["stream"]]
                if columns is None:
                    columns = part
                else:
                    for name, values in part.items():
                        columns[name].extend(values)
            numbers.done(batch, tuple(len(part["stream"]) for part in parts))
            bar.update(sum(t.size for t in batch))
    finally:
        bar.close()
    if columns is None:
        columns = empty_columns()
    files = len({t.name for t in tasks})
    return StreamStats.from_lists(columns, files, time.perf_counter() - started)


def default_errors_path(out: str) -> str:
    """``out.jsonl`` -> ``out.errors.jsonl``; ``out.parquet`` -> ``out.errors.jsonl``."""
    root, ext = os.path.splitext(out)
    if ext.lower() not in (".jsonl", ".json", ".ndjson", ".parquet"):
        root = out
    return root + ".errors.jsonl"


# ------------------------------------------------------------------ helpers


def _tasks(
    paths: Paths,
    format: str,
    field: str | None,
    backend: str | Backend | None,
    include: Sequence[str],
    exclude: Sequence[str],
) -> list[Task]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    name = backend.name if isinstance(backend, Backend) else backend
    return list(plan(expand(items, include, exclude), Options(format, field, name or "")))


def _jobs(jobs: int | None) -> int:
    if jobs is None:
        return default_jobs()
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    return jobs


@contextlib.contextmanager
def _spooling(
    out: PathArg | IO[bytes] | None, tasks: Sequence[Task], jobs: int, split: bool
) -> Iterator[Iterator[tuple[tuple[Task, ...], BatchOutput]]]:
    """The outputs of the batches of ``tasks``, in order, from ``jobs`` worker processes, spooled
    next to ``out`` when it is a file path (where the kernel copies fastest), else in the
    temporary directory; every spool file is gone on leaving."""
    near = None
    if isinstance(out, (str, os.PathLike)) and os.fspath(out) != "-":
        near = os.path.dirname(os.path.abspath(out))
    try:
        directory = tempfile.TemporaryDirectory(prefix=".ssedelta-", dir=near)
    except OSError:
        directory = tempfile.TemporaryDirectory(prefix="ssedelta-")
    with directory as path:
        work = partial(spool_batch, directory=path, split=split)
        with contextlib.closing(ordered_map(work, batches(tasks), jobs)) as results:
            yield results


class _Numbering:
    """Numbers the streams of a file across the tasks that read its parts."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def base(self, batch: tuple[Task, ...]) -> int:
        """What to add to the stream numbers of ``batch`` (a range after the first is alone)."""
        task = batch[0]
        return self._next.get(task.name, 0) if task.part else 0

    def done(self, batch: tuple[Task, ...], counts: tuple[int, ...]) -> None:
        for task, count in zip(batch, counts, strict=True):
            self._next[task.name] = self.base((task,)) + count


class _Output:
    """A JSON Lines destination (path, ``-`` or binary file), or Parquet for a ``.parquet`` path."""

    def __init__(self, target: PathArg | IO[bytes]) -> None:
        self._parquet: Any = None
        self._f: Any = None
        self._close = False
        if hasattr(target, "write"):
            self._f = target
        elif os.fspath(target) == "-":
            self._f = sys.stdout.buffer
        elif os.fspath(target).lower().endswith(".parquet"):
            from .parquet import ParquetSink

            self._parquet = ParquetSink(target)
        else:
            self._f = open(target, "wb")  # noqa: SIM115  # closed by close()
            self._close = True

    def write(self, record: Record) -> None:
        if self._parquet is not None:
            self._parquet.add(record)
        else:
            self._f.write(dumps(record))

    def copy(self, spool: Spool, base: int) -> None:
        """Append the records of ``spool``, ``base`` added to their stream numbers."""
        if self._parquet is not None:
            for record in spool.records(base):
                self._parquet.add(record)
        else:
            spool.copy_to(self._f, base)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self._close:
            self._f.close()
        else:
            self._f.flush()


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    try:
        tqdm: Any = require("tqdm", "bulk", "the progress bar")
    except MissingExtraError:
        return _NoProgress()
    return tqdm.tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
