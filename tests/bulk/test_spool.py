"""Worker output: batches of tasks, spool files, copies into every kind of output, renumbering."""

from __future__ import annotations

import gzip
import io
import os
import threading
from pathlib import Path

import orjson
import pytest
from archive import bodies, concatenated, write

import ssedelta
from ssedelta.bulk import runner, spool, tasks, write_merged
from ssedelta.bulk.records import dumps


def test_batches_group_small_files_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BATCH_SIZE", 100)
    monkeypatch.setattr(runner, "BATCH_FILES", 3)
    options = tasks.Options()
    small = [tasks.Task(f"s{i}", f"s{i}", options, size=30) for i in range(5)]
    big = tasks.Task("big", "big", options, size=500)
    ranges = [tasks.Task("r", "r", options, start=a, end=b, part=p, size=50) for p, (a, b) in
              enumerate([(0, 50), (50, 100), (100, None)])]  # fmt: skip
    planned = [*small[:4], big, small[4], *ranges]
    grouped = runner.batches(planned)
    assert [t for batch in grouped for t in batch] == planned
    assert [[t.name for t in batch] for batch in grouped] == [
        ["s0", "s1", "s2"], ["s3"], ["big"], ["s4"], ["r"], ["r"], ["r"]
    ]  # fmt: skip


def spooled_lines(tmp_path: Path, count: int) -> spool.Spool:
    writer = spool.SpoolWriter(str(tmp_path), keep_numbers=True)
    prefix = spool.stream_prefix("f")
    for number in range(count):
        record = {"source": {"file": "f", "stream": number, "offset": number * 10}, "text": "x" * number}
        writer.write(dumps(record), len(prefix), number)
    return writer.close()


def expected_lines(count: int, base: int) -> bytes:
    return b"".join(
        dumps({"source": {"file": "f", "stream": base + n, "offset": n * 10}, "text": "x" * n})
        for n in range(count)
    )


@pytest.mark.parametrize("base", [0, 7, 10**12])
def test_renumbered_copy(tmp_path: Path, base: int) -> None:
    spooled = spooled_lines(tmp_path, 120)
    out = io.BytesIO()
    spooled.copy_to(out, base)
    assert out.getvalue() == expected_lines(120, base)
    assert list(tmp_path.iterdir()) == []


def copy_into(tmp_path: Path, kind: str) -> bytes:
    spooled = spooled_lines(tmp_path / "spool", 2000)
    head = b"first line\n"
    target = tmp_path / "out"
    if kind == "pipe":
        read_fd, write_fd = os.pipe()
        received: list[bytes] = []
        reader = threading.Thread(target=lambda: received.extend(iter(lambda: os.read(read_fd, 65536), b"")))
        reader.start()
        with open(write_fd, "wb") as f:
            f.write(head)
            spooled.copy_to(f)
            f.write(b"last line\n")
        reader.join()
        os.close(read_fd)
        return b"".join(received)
    if kind == "gzip":
        with gzip.open(target, "wb") as g:
            g.write(head)
            spooled.copy_to(g)  # type: ignore[arg-type]
            g.write(b"last line\n")
        return gzip.decompress(target.read_bytes())
    target.write_bytes(head)
    with open(target, "ab" if kind == "append" else "r+b") as f:
        f.seek(0, os.SEEK_END)
        spooled.copy_to(f)
        assert f.tell() == len(head) + len(expected_lines(2000, 0))
        f.write(b"last line\n")
    return target.read_bytes()


@pytest.mark.parametrize("kind", ["file", "append", "pipe", "gzip"])
def test_copies_into_every_kind_of_output(tmp_path: Path, kind: str) -> None:
    (tmp_path / "spool").mkdir()
    assert copy_into(tmp_path, kind) == b"first line\n" + expected_lines(2000, 0) + b"last line\n"
    assert list((tmp_path / "spool").iterdir()) == []


def test_ranges_with_bad_streams_write_what_the_whole_file_gives(
    backend: ssedelta.Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = bodies() * 2
    parts[5] = parts[5].replace(b'data: {"id"', b'data: {"id" oops', 1)
    parts[70] = parts[70][: len(parts[70]) // 2]
    path = write(tmp_path / "big.sse", concatenated(parts)[0])

    def merged(jobs: int) -> tuple[bytes, bytes, int, int]:
        out, bad = tmp_path / f"out-{jobs}.jsonl", tmp_path / f"bad-{jobs}.jsonl"
        report = write_merged([str(path)], out, errors=bad, jobs=jobs, backend=backend)
        return out.read_bytes(), bad.read_bytes(), report.streams, report.errors

    whole = merged(1)
    monkeypatch.setattr(tasks, "RANGE_SIZE", 150_000)
    assert len(list(tasks.plan([str(path)], tasks.Options(backend=backend.name)))) > 4
    assert merged(1) == merged(2) == whole
    good, errors = ([orjson.loads(line) for line in data.splitlines()] for data in whole[:2])
    assert sorted(r["source"]["stream"] for r in good + errors) == list(range(whole[2]))
    assert "InvalidJSONError" in {r["error"]["type"] for r in errors}
    assert len(errors) == whole[3] and whole[2] >= len(parts)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ssedelta-")]
