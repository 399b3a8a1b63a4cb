"""``ssedelta merge`` and ``ssedelta stats``: outputs, exit status, and --jobs 1 == --jobs 2."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from archive import bodies, chunk_lines, concatenated, har, records_jsonl, write

import ssedelta
from real_streams import body
from ssedelta.bulk import cli, records

SRC = Path(ssedelta.__file__).resolve().parent.parent


def make_archive(root: Path) -> Path:
    """Every format, compressed and not, with bad streams and files mixed in."""
    parts = bodies()
    broken = parts[4].replace(b'data: {"id"', b'data: {"id" oops', 1)
    write(root / "raw" / "all.sse", concatenated([*parts[:20], broken, *parts[20:]])[0], ".gz")
    for i, part in enumerate(parts[:6]):
        write(root / "raw" / f"one-{i}.sse", part, ".zst" if i % 2 else "")
    write(root / "raw" / "cut.sse", parts[6][: len(parts[6]) // 2])
    write(root / "raw" / "empty.sse", b"")
    noise = b"\x00" + random.Random(6).randbytes(5000).replace(b"data", b"DATA")
    write(root / "raw" / "noise.bin", noise)
    lines = [line for part in parts[6:10] for line in chunk_lines(part)]
    write(root / "jsonl" / "chunks.jsonl", b"\n".join(lines) + b"\n", ".bz2")
    write(root / "jsonl" / "log.jsonl", records_jsonl(parts[10:16]) + b"{broken\n", ".xz")
    write(root / "capture.har", har(parts[16:20]))
    return root


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("archive"))


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_merge_jobs_1_and_2_write_the_same(backend: ssedelta.Backend, archive: Path, tmp_path: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"merged-{jobs}.jsonl"
        status = cli.main(
            ["merge", str(archive), "-o", str(out), "--jobs", jobs, "--backend", backend.name, "-q"]
        )
        assert status == cli.EXIT_BAD_STREAMS
        outputs.append((out.read_bytes(), (tmp_path / f"merged-{jobs}.errors.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    good = read_lines(tmp_path / "merged-1.jsonl")
    bad = read_lines(tmp_path / "merged-1.errors.jsonl")
    assert all("completion" in r for r in good) and all("error" in r and "partial" in r for r in bad)
    assert sorted(r["error"]["type"] for r in bad) == sorted(
        ["InvalidJSONError", "TruncatedStreamError", "RecordError",
         "UpstreamError", "UpstreamError"]  # the two recorded upstream errors in the concatenated file
    )  # fmt: skip
    assert len(good) == 42 - 2 + 6 + 4 + 6 + 4


def test_merge_summary_groups_thousands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "many" / "a.sse", body("openai-python__gpt4o_refusal") * 1001)
    assert cli.main(["merge", str(tmp_path / "many"), "-o", str(tmp_path / "o.jsonl")]) == cli.EXIT_OK
    summary = "ssedelta merge: 1,001 merged, 0 bad, 0 skipped (1,001 streams from 1 files"
    assert summary in capsys.readouterr().err


def test_merge_to_parquet(backend: ssedelta.Backend, archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "merged.parquet"
    errors = tmp_path / "bad.jsonl"
    argv = ["merge", str(archive / "raw"), "-o", str(out), "--errors", str(errors), "-q"]
    assert cli.main([*argv, "--jobs", "2", "--backend", backend.name]) == cli.EXIT_BAD_STREAMS
    cli.main(["merge", str(archive / "raw"), "-o", str(tmp_path / "m.jsonl"), "-j", "1", "-q"])
    table = pq.read_table(out)
    assert table.column_names == [name for name, _ in records.COLUMNS]
    expected_rows = [row for r in read_lines(tmp_path / "m.jsonl") for row in records.rows(r)]
    assert table.to_pylist() == expected_rows
    assert {r["choice_index"] for r in expected_rows} >= {0, 1, 2}
    assert len(read_lines(errors)) == len(read_lines(tmp_path / "m.errors.jsonl"))


def test_merge_exit_status(
    backend: ssedelta.Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "good" / "a.sse", body("openai-python__gpt4o_refusal"))
    argv = ["merge", str(tmp_path / "good"), "-o", str(tmp_path / "o.jsonl"), "--backend", backend.name]
    assert cli.main(argv) == cli.EXIT_OK
    assert "ssedelta merge: 1 merged, 0 bad, 0 skipped (1 streams from 1 files" in capsys.readouterr().err
    assert (tmp_path / "o.errors.jsonl").read_bytes() == b""
    assert (
        cli.main(["merge", str(tmp_path / "nothing-here"), "-o", str(tmp_path / "x.jsonl")])
        == cli.EXIT_FAILED
    )
    assert "no such file" in capsys.readouterr().err


def test_merge_to_standard_output(
    backend: ssedelta.Backend, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    write(tmp_path / "a.sse", body("openai-python__gpt4o_refusal") + b"data: {oops}\n\n")
    write(tmp_path / "b.sse", body("openai-python__gpt4o_refusal"))
    paths = [str(tmp_path / "a.sse"), str(tmp_path / "b.sse")]
    status = cli.main(["merge", *paths, "-o", "-", "-q", "-j", "1", "--backend", backend.name])
    out, err = capfdbinary.readouterr()
    assert status == cli.EXIT_BAD_STREAMS
    assert [json.loads(line)["source"]["file"] for line in out.splitlines()] == [
        str(tmp_path / "a.sse"),
        str(tmp_path / "b.sse"),
    ]
    (bad,) = [json.loads(line) for line in err.splitlines()]
    assert bad["source"]["stream"] == 1 and bad["error"]["type"] == "InvalidJSONError"


def test_stats(backend: ssedelta.Backend, archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["stats", str(archive), "--backend", backend.name, "-q"]
    assert cli.main([*argv, "--json", "-j", "2"]) == cli.EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert cli.main([*argv, "--json", "-j", "1"]) == cli.EXIT_OK
    again = json.loads(capsys.readouterr().out)
    for key in ("seconds", "throughput_mb_s"):
        summary.pop(key), again.pop(key)
    assert summary == again
    assert summary["files"] == 13 and summary["errors"] == 5 and summary["skipped"] == 2
    assert summary["streams"] == summary["ok"] + summary["errors"] == 43 + 6 + 1 + 4 + 7 + 4
    assert summary["finish_reasons"]["stop"] > 10
    assert summary["usage"]["total_tokens"]["streams"] > 10
    assert cli.main(argv) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert "streams" in text and "total tokens" in text and "p99" in text


def test_python_dash_m_ssedelta(backend: ssedelta.Backend, archive: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out.jsonl"
    options = ["-o", str(out), "-j", "1", "--backend", backend.name]
    done = subprocess.run(
        [sys.executable, "-m", "ssedelta", "merge", str(archive / "capture.har"), *options],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(read_lines(out)) == 4
