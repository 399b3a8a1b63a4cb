"""Units of work: a whole file, or a byte range of a large event-stream file cut after a ``[DONE]``."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import IO

from .._backend import get_backend, selected
from . import collector, formats
from ._io import Guarded, Prefixed, Reader, open_binary, read_fully
from .compression import MAGIC_SIZE, decompressed, detect, inner_name
from .errors import NoStreamError, ReadError
from .readers import body_records, chunk_line_records, har_records, sse_records
from .records import Record, error_record, skipped_record
from .sse import NON_WS, done_line_end

#: A plain event-stream file larger than this is cut into ranges of about this size.
RANGE_SIZE = 32 * 1024 * 1024
_CUT_WINDOW = 1024 * 1024


@dataclass(frozen=True)
class Options:
    """How to read files: ``format`` (``"auto"`` or one of :data:`formats.FORMATS`), the dotted
    ``field`` holding the SSE body of JSON records, and the ``backend`` name."""

    format: str = formats.AUTO
    field: str | None = None
    backend: str = ""

    def __post_init__(self) -> None:
        if self.format != formats.AUTO and self.format not in formats.FORMATS:
            raise ValueError(f"unknown format {self.format!r}; expected 'auto' or one of {formats.FORMATS}")
        if not self.backend:
            object.__setattr__(self, "backend", selected().name)


@dataclass(frozen=True)
class Task:
    """``path`` (what to open) from ``start`` to ``end``; ``name`` is the file as records show it.
    ``part`` numbers the ranges of one file from 0; ``size`` is what the task reads, for progress."""

    path: str
    name: str
    options: Options
    start: int = 0
    end: int | None = None
    part: int = 0
    size: int = 0


def plan(paths: Iterable[str], options: Options, range_size: int | None = None) -> Iterator[Task]:
    """The tasks for ``paths`` (local files), in order; ``range_size`` defaults to :data:`RANGE_SIZE`."""
    range_size = range_size or RANGE_SIZE
    for path in paths:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        task = Task(path, path, options, size=size)
        if size <= range_size or options.format not in (formats.AUTO, formats.SSE):
            yield task
            continue
        try:
            with open(path, "rb") as f:
                head = read_fully(f, formats.SNIFF_SIZE)
                fmt = options.format
                if fmt == formats.AUTO:
                    fmt = formats.sniff(path, head, options.field)
                whole = detect(head[:MAGIC_SIZE], path) or fmt != formats.SSE
                if whole or formats.no_stream_reason(fmt, head):
                    yield task
                    continue
                cuts = _cuts(f, size, range_size)
        except OSError:
            yield task
            continue
        sse = replace(options, format=formats.SSE)
        bounds = [0, *cuts, size]
        for part, (a, b) in enumerate(itertools.pairwise(bounds)):
            yield Task(path, path, sse, a, b if b < size else None, part, b - a)


def _cuts(f: IO[bytes], size: int, range_size: int) -> list[int]:
    """Offsets of the first byte after a ``data: [DONE]`` line (and the white space after it) near
    every multiple of ``range_size``."""
    cuts: list[int] = []
    nominal = range_size
    while nominal < size - range_size // 4:
        f.seek(nominal)
        window = f.read(_CUT_WINDOW)
        line_start = window.find(b"\n") + 1
        if line_start:
            end = done_line_end(window, line_start, len(window))
            following = NON_WS.search(window, end) if 0 <= end < len(window) - 1 else None
            if following is not None and (not cuts or nominal + following.start() > cuts[-1]):
                cuts.append(nominal + following.start())
        nominal += range_size
    return cuts


def read_task(task: Task, open_file: Callable[[str], IO[bytes]] = open_binary) -> Iterator[Record]:
    """The records of ``task``, streams numbered from 0 within the task; ``open_file`` opens
    ``task.path`` for reading bytes."""
    return collector.each_paused(_read_task(task, open_file))


def _read_task(task: Task, open_file: Callable[[str], IO[bytes]]) -> Iterator[Record]:
    backend = get_backend(task.options.backend)
    source = {"file": task.name, "stream": 0, "offset": task.start}
    try:
        raw = open_file(task.path)
    except OSError as exc:
        yield error_record(source, ReadError(f"cannot open the file: {exc}", 0))
        return
    count = 0
    with raw:
        guard = Guarded(raw)
        if task.start:
            raw.seek(task.start)
            records = sse_records(guard, task.name, backend, start=task.start, end=task.end)
        else:
            records = _whole_file(task, guard, backend)
        for count, record in enumerate(records, 1):  # noqa: B007
            yield record
            collector.account(record["bytes"])
            where = record["source"]
            if "offset" in where and not {"line", "record", "entry"} & where.keys():
                source["offset"] = where["offset"] + record["bytes"]
    if guard.error is not None:
        source["stream"] = count
        yield error_record(source, ReadError(f"cannot read the file to its end: {guard.error}", 0))


def _whole_file(task: Task, guard: Guarded, backend: object) -> Iterator[Record]:
    magic = read_fully(guard, MAGIC_SIZE)
    f: Reader = Prefixed(magic, guard)
    kind = detect(magic, task.name)
    if kind:
        f = Guarded(decompressed(f, kind))
    head = read_fully(f, formats.SNIFF_SIZE)
    if isinstance(f, Guarded) and f.error is not None:
        guard.error = f.error
    reader = Prefixed(head, f)
    name = inner_name(task.name) if kind else task.name
    options = task.options
    fmt = options.format if options.format != formats.AUTO else formats.sniff(name, head, options.field)
    skip = formats.no_stream_reason(fmt, head)
    if skip is not None and guard.error is None:  # an unreadable start is a bad file, never skipped
        yield skipped_record(task.name, skip)
        return
    produced = False
    if fmt == formats.SSE:
        records = sse_records(reader, task.name, backend, end=task.end)
    elif fmt == formats.CHUNKS:
        records = chunk_line_records(reader, task.name, backend)
    elif fmt == formats.HAR:
        records = har_records(reader, task.name, backend)
    else:
        records = body_records(reader, task.name, backend, options.field, head)
    for record in records:
        produced = True
        yield record
    if isinstance(f, Guarded) and f.error is not None and guard.error is None:
        guard.error = f.error
    if not produced and task.end is None and guard.error is None:
        skip = formats.no_stream_reason(fmt, head, read=True)
        if skip is not None:
            yield skipped_record(task.name, skip)
        else:
            source = {"file": task.name, "stream": 0, "offset": 0}
            yield error_record(source, NoStreamError("no stream in the file", 0))
