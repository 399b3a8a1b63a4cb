"""Bulk merging of a small generated archive, in this process (``--jobs 1``).

Runs once as a smoke test in the normal test run; the 1 GB measurement with worker processes and
peak memory is ``python -m benchmarks.bulk_throughput``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

import ssedelta
from ssedelta.bulk import write_merged

from .bulk_archive import write_archive
from .bulk_throughput import run_merge


def test_bulk_merge(benchmark: Any, tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "archive", 2 << 20, large_files=1, small=True)
    out = tmp_path / "merged.jsonl"
    report = benchmark(write_merged, [str(archive.root)], out, jobs=1)
    assert (report.streams, report.errors, report.bytes) == (archive.streams, 0, archive.nbytes)
    first = orjson.loads(out.read_bytes().split(b"\n", 1)[0])
    body = archive.files[0].read_bytes()[: first["bytes"]]
    assert first["completion"] == ssedelta.merge(body).to_dict()


def test_throughput_run_reads_the_cli_summary(tmp_path: Path) -> None:
    """``bulk_throughput`` reads its counts from the CLI's summary line; a change of wording fails here."""
    archive = write_archive(tmp_path / "archive", 1 << 20, large_files=1, small=True)
    result = run_merge(archive.root, tmp_path / "merged.jsonl", jobs=1)
    assert (result["streams"], result["bad"]) == (archive.streams, 0)
