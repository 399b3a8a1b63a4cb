"""Records as JSON Lines in spool files: written by the worker processes, copied by the parent.

A worker writes the good and the bad records of a batch of tasks to two files of its own; the
parent appends the files to the outputs in task order, by a copy in the kernel where the output
is a plain file. The records of a range of a file after the first carry stream numbers from 0;
for them the spool keeps where each line's number is, so the parent can add the streams of the
ranges before it without parsing the line.
"""

from __future__ import annotations

import io
import os
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import orjson

from .records import Record, dumps, is_error, is_skipped
from .tasks import Task, read_task

#: Bytes copied through Python at a time when the kernel cannot copy between the files.
COPY_SIZE = 1 << 20


def stream_prefix(name: str) -> bytes:
    """How every record line of the file ``name`` starts, up to its stream number."""
    return b'{"source":{"file":' + orjson.dumps(name) + b',"stream":'


@dataclass
class Spool:
    """``lines`` JSON Lines in the file ``path`` (``None`` when there is none). ``numbers``,
    when kept, holds for each line the offset of its stream number and the number."""

    path: str | None
    lines: int
    numbers: array[int] | None

    def discard(self) -> None:
        if self.path is not None:
            os.unlink(self.path)
            self.path = None

    def records(self, base: int = 0) -> Iterator[Record]:
        """The records, ``base`` added to their stream numbers; the file is deleted after."""
        for line in self._lines():
            record = orjson.loads(line)
            record["source"]["stream"] += base
            yield record

    def _lines(self) -> Iterator[bytes]:
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                yield from f
        finally:
            self.discard()

    def copy_to(self, out: IO[bytes], base: int = 0) -> None:
        """Append the lines to ``out``, ``base`` added to their stream numbers; the file is
        deleted after."""
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                if base and self.numbers is not None:
                    _copy_renumbered(f, out, self.numbers, base)
                else:
                    _copy(f, out)
        finally:
            self.discard()


class SpoolWriter:
    """Lines to a spool file in ``directory``, made at the first line."""

    def __init__(self, directory: str | None, keep_numbers: bool) -> None:
        self._directory = directory
        self._f: Any = None
        self._lines = 0
        self._size = 0
        self._numbers: array[int] | None = array("q") if keep_numbers else None

    def write(self, line: bytes, number_at: int = 0, number: int = 0) -> None:
        """Add ``line``; ``number_at`` is where its stream number ``number`` is in it."""
        if self._f is None:
            self._f = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed by close()
                "wb", dir=self._directory, prefix="ssedelta-", suffix=".jsonl", delete=False
            )
        if self._numbers is not None:
            self._numbers.extend((self._size + number_at, number))
        self._f.write(line)
        self._size += len(line)
        self._lines += 1

    def close(self) -> Spool:
        if self._f is None:
            return Spool(None, 0, None)
        self._f.close()
        return Spool(self._f.name, self._lines, self._numbers)

    def discard(self) -> None:
        if self._f is not None:
            self._f.close()
            os.unlink(self._f.name)
            self._f = None


@dataclass
class BatchOutput:
    """The records of a batch of tasks (only the good ones when the bad were set apart in
    ``errors``, and the skipped files then in ``skipped``), and how many records each task gave."""

    records: Spool
    errors: Spool
    counts: tuple[int, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def spool_batch(batch: Sequence[Task], directory: str | None = None, split: bool = True) -> BatchOutput:
    """Run the tasks of ``batch``; their records in spool files in ``directory``, the bad ones
    in a file of their own and the skipped files in a list when ``split``."""
    renumbered = any(task.part for task in batch)
    good = SpoolWriter(directory, renumbered)
    bad = SpoolWriter(directory, renumbered) if split else good
    counts = []
    skipped = []
    try:
        for task in batch:
            prefix = stream_prefix(task.name) if task.part else b""
            count = 0
            for count, record in enumerate(read_task(task), 1):  # noqa: B007
                if split and is_skipped(record):
                    skipped.append((record["source"]["file"], record["skipped"]))
                    continue
                line = dumps(record)
                if not line.startswith(prefix):  # pragma: no cover  # the records of ranges all do
                    raise AssertionError(f"a record of {task.name!r} does not start with its source")
                (bad if is_error(record) else good).write(line, len(prefix), record["source"]["stream"])
            counts.append(count)
    except BaseException:
        good.discard()
        bad.discard()
        raise
    errors = bad.close() if split else Spool(None, 0, None)
    return BatchOutput(good.close(), errors, tuple(counts), tuple(skipped))


# ------------------------------------------------------------------ copying


def _kernel_fd(out: IO[bytes]) -> int | None:
    """The descriptor of ``out`` when its bytes go straight to it (not, say, to a compressor
    that happens to have one)."""
    if type(out) not in (io.BufferedWriter, io.BufferedRandom, io.FileIO):
        return None
    out.flush()
    return out.fileno()


def _copy(f: IO[bytes], out: IO[bytes]) -> None:
    size = os.fstat(f.fileno()).st_size
    fd = _kernel_fd(out)
    if fd is not None:
        done = _kernel_copy(f.fileno(), fd, size)
        if done:
            if out.seekable():
                out.seek(os.lseek(fd, 0, os.SEEK_CUR))
            f.seek(done)
    while data := f.read(COPY_SIZE):
        out.write(data)


def _kernel_copy(src: int, dst: int, size: int) -> int:
    """Copy ``size`` bytes from the start of ``src`` to ``dst`` in the kernel; how many it copied
    (fewer, down to 0, when the kernel cannot copy between these two files)."""
    done = 0
    for copy in (_copy_file_range, _sendfile):
        while done < size:
            try:
                n = copy(src, dst, done, size - done)
            except OSError:
                break
            if n <= 0:
                break
            done += n
    return done


def _copy_file_range(src: int, dst: int, offset: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):  # pragma: no cover  # not on Linux
        return 0
    return os.copy_file_range(src, dst, count, offset)


def _sendfile(src: int, dst: int, offset: int, count: int) -> int:
    return os.sendfile(dst, src, offset, count)


def _copy_renumbered(f: IO[bytes], out: IO[bytes], numbers: array[int], base: int) -> None:
    position = 0
    for i in range(0, len(numbers), 2):
        at, number = numbers[i], numbers[i + 1]
        out.write(f.read(at - position))
        out.write(b"%d" % (number + base))
        position = at + len(b"%d" % number)
        f.seek(position)
    while data := f.read(COPY_SIZE):
        out.write(data)
