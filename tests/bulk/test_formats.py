"""Every format, compressed or not: each stream's record equals merging that stream alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from archive import (
    COMPRESSORS,
    SINGLE_ID_STREAMS,
    bodies,
    chunk_lines,
    concatenated,
    expected,
    har,
    outcome,
    records_jsonl,
    write,
)

import ssedelta
from real_streams import STREAMS, body
from ssedelta.bulk import iter_merged


def merged(backend: ssedelta.Backend, *paths: Path, **options: object) -> list[dict]:
    return list(iter_merged([str(p) for p in paths], jobs=1, backend=backend, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_one_body_per_file(backend: ssedelta.Backend, tmp_path: Path, suffix: str) -> None:
    for name in STREAMS:
        write(tmp_path / "bodies" / f"{name}.sse", body(name), suffix)
    records = merged(backend, tmp_path / "bodies")
    assert [r["source"]["file"] for r in records] == sorted(
        str(tmp_path / "bodies" / f"{name}.sse{suffix}") for name in STREAMS
    )
    by_file = {r["source"]["file"]: r for r in records}
    for name in STREAMS:
        record = by_file[str(tmp_path / "bodies" / f"{name}.sse{suffix}")]
        assert record["source"]["stream"] == 0 and record["source"]["offset"] == 0
        assert record["bytes"] == len(body(name))
        assert outcome(record) == expected(backend, body(name)), name


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_concatenated_bodies(backend: ssedelta.Backend, tmp_path: Path, suffix: str) -> None:
    parts = bodies()
    data, offsets = concatenated(parts)
    path = write(tmp_path / "all.sse", data, suffix)
    records = merged(backend, path)
    assert len(records) == len(parts)
    for i, (record, part, offset) in enumerate(zip(records, parts, offsets, strict=True)):
        assert record["source"] == {"file": str(path), "stream": i, "offset": offset}
        assert record["bytes"] == len(part)
        assert outcome(record) == expected(backend, part), STREAMS[i]


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_chunk_lines_grouped_by_id(backend: ssedelta.Backend, tmp_path: Path, suffix: str) -> None:
    lines = [line for name in SINGLE_ID_STREAMS for line in chunk_lines(body(name))]
    path = write(tmp_path / "chunks.jsonl", b"\n".join(lines) + b"\n", suffix)
    records = merged(backend, path)
    assert len(records) == len(SINGLE_ID_STREAMS)
    line = 1
    for i, (record, name) in enumerate(zip(records, SINGLE_ID_STREAMS, strict=True)):
        assert record["source"] == {"file": str(path), "stream": i, "line": line}
        assert record["chunks"] == len(chunk_lines(body(name)))
        assert outcome(record) == expected(backend, body(name)), name
        line += len(chunk_lines(body(name)))


def test_chunk_lines_done_ends_a_stream(backend: ssedelta.Backend, tmp_path: Path) -> None:
    first, second = (chunk_lines(body(name)) for name in SINGLE_ID_STREAMS[:2])
    text = b"\n".join([*first, b"[DONE]", b"", *second, b"data: [DONE]"]) + b"\n"
    records = merged(backend, write(tmp_path / "c.jsonl", text))
    assert [r["source"]["line"] for r in records] == [1, len(first) + 3]
    assert [outcome(r) for r in records] == [expected(backend, body(n)) for n in SINGLE_ID_STREAMS[:2]]


@pytest.mark.parametrize("field", ["response.body", None])
@pytest.mark.parametrize("suffix", ["", ".bz2", ".xz"])
def test_records_with_a_body_field(
    backend: ssedelta.Backend, tmp_path: Path, field: str | None, suffix: str
) -> None:
    parts = bodies()[:12]
    path = write(tmp_path / "log.jsonl", records_jsonl(parts), suffix)
    records = merged(backend, path, field=field)
    assert [r["source"] for r in records] == [
        {"file": str(path), "line": i + 1, "stream": i, "offset": 0} for i in range(len(parts))
    ]
    assert [outcome(r) for r in records] == [expected(backend, p) for p in parts]


def test_records_in_a_json_array(backend: ssedelta.Backend, tmp_path: Path) -> None:
    parts = bodies()[:5]
    lines = records_jsonl(parts, field="body").decode().splitlines()
    path = write(tmp_path / "log.json", ("[\n" + ",\n".join(lines) + "\n]\n").encode())
    records = merged(backend, path, field="body")
    assert [r["source"]["record"] for r in records] == list(range(5))
    assert [outcome(r) for r in records] == [expected(backend, p) for p in parts]


@pytest.mark.parametrize("base64_bodies", [True, False])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_har_event_stream_entries(
    backend: ssedelta.Backend, tmp_path: Path, base64_bodies: bool, suffix: str
) -> None:
    parts = bodies()[:6]
    path = write(tmp_path / "capture.har", har(parts, base64_bodies=base64_bodies), suffix)
    records = merged(backend, path)
    assert [(r["source"]["entry"], r["source"]["stream"]) for r in records] == [(2 * i, i) for i in range(6)]
    assert records[1]["source"]["url"] == "https://api.example/v1/chat/completions?n=1"
    assert [outcome(r) for r in records] == [expected(backend, p) for p in parts]


def test_globs_and_directories(backend: ssedelta.Backend, tmp_path: Path) -> None:
    for i, name in enumerate(STREAMS[:6]):
        write(tmp_path / "d" / f"s{i % 2}" / f"{i}.sse", body(name), ".gz" if i % 3 else "")
    write(tmp_path / "d" / ".hidden.sse", body(STREAMS[0]))
    from_dir = merged(backend, tmp_path / "d")
    from_glob = list(iter_merged([str(tmp_path / "d" / "**" / "*.sse*")], jobs=1, backend=backend))
    assert [r["source"]["file"] for r in from_dir] == [r["source"]["file"] for r in from_glob]
    assert len(from_dir) == 6
    with pytest.raises(FileNotFoundError):
        merged(backend, tmp_path / "missing")
