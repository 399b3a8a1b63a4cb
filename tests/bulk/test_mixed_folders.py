"""Folders that hold more than streams: a file in no stream format is skipped (counted, listed with
``-v``, no reason for exit status 1); a file that starts like a stream and then breaks is bad.
``--include`` / ``--exclude`` choose the files."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from archive import chunk_lines, har, records_jsonl, write

import ssedelta
from real_streams import DATA, body, expected, is_upstream_error
from ssedelta.bulk import cli, formats, iter_merged, stream_stats, write_merged
from ssedelta.bulk.sources import expand, matches
from ssedelta.bulk.tasks import Options, plan, read_task

PLAIN = "openai-python__gpt4o_plain_content_usage"
TOOLS = "openai-python__gpt4o_parallel_tool_calls"
NOT_A_STREAM = "not an event stream, chunk lines, JSON records or a HAR file"
NO_RECORD = "no record holding an event stream"

README = b"""# Captures

Each `.sse` file is one response body, as sent:

```
data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[]}

data: [DONE]
```
"""

#: The start of an Anthropic Messages stream: an event stream, but no chat completion chunk in it.
ANTHROPIC = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
    b'"content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":9,"output_tokens":1}}}\n\n'
    b"event: content_block_start\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def png() -> bytes:
    """A 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


def skipped_files(root: Path) -> dict[str, str]:
    """Files in no stream format, and why each is skipped."""
    files = {
        "README.md": (README, NOT_A_STREAM),
        "notes.json": (
            json.dumps({"model": "gpt-4o", "runs": [1, 2], "comment": "no stream here, data: none"}).encode(),
            NO_RECORD,
        ),
        "config.jsonl": (b'{"name": "a", "value": 1}\n{"name": "b", "value": 2}\n', NO_RECORD),
        "empty-list.json": (b"[]\n", NO_RECORD),
        "image.png": (png(), NOT_A_STREAM),
        "empty.sse": (b"", "empty"),
        "blank.txt": (b"\n\n  \n", "empty"),
        "derive.py": (b'"""A script."""\nimport json\n', NOT_A_STREAM),
        "page.html": (b"<!doctype html><html><body>data: 1</body></html>", NOT_A_STREAM),
        "models.har": (_har_without_streams(), "no text/event-stream entry"),
        "archived.md.gz": (README, NOT_A_STREAM),
    }
    out = {}
    for name, (data, reason) in files.items():
        if name.endswith(".gz"):
            write(root / name[:-3], data, ".gz")
        else:
            write(root / name, data)
        out[name] = reason
    return out


def _har_without_streams() -> bytes:
    entry = {
        "request": {"method": "GET", "url": "https://api.example/v1/models"},
        "response": {"status": 200, "content": {"mimeType": "application/json", "text": "{}"}},
    }
    return json.dumps({"log": {"version": "1.2", "entries": [entry]}}).encode()


def bad_files(root: Path) -> dict[str, str]:
    """Files that start like a stream and then break, and the error each gets."""
    good = body(PLAIN)
    at = good.index(b"data: {", good.index(b"data: {") + 1) + 6
    lines = chunk_lines(body(TOOLS))
    files = {
        "broken.sse": (good[:at] + b"{oops" + good[at + 1 :], "InvalidJSONError"),
        "cut.sse": (good[: len(good) // 2], "TruncatedStreamError"),
        "comment-first.sse": (b": keep-alive\n\ndata: {nope}\n\n", "InvalidJSONError"),
        "chunks.jsonl": (b"\n".join([*lines[:3], b"<html>", *lines[3:]]) + b"\n", "InvalidJSONError"),
    }
    for name, (data, _) in files.items():
        write(root / name, data)
    return {name: kind for name, (_, kind) in files.items()}


def good_files(root: Path) -> int:
    """Files of streams that merge; how many streams they hold."""
    write(root / "a.sse", body(PLAIN))
    write(root / "sub" / "b.sse", body(TOOLS), ".gz")
    write(root / "log.jsonl", records_jsonl([body(PLAIN), body(TOOLS)]))
    write(root / "capture.har", har([body(TOOLS)]))
    return 5


#: Another format's stream: read by the chat reader (never skipped), left out of the counts below.
OTHER_FORMAT = "anthropic.sse"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str], int]:
    root = tmp_path_factory.mktemp("mixed")
    write(root / OTHER_FORMAT, ANTHROPIC)
    return root, skipped_files(root), bad_files(root), good_files(root)


def by_file(records: list[dict], root: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in records:
        out.setdefault(str(Path(record["source"]["file"]).relative_to(root)), []).append(record)
    return out


@pytest.mark.parametrize("jobs", [1, 2])
def test_skipped_and_bad_files(backend: ssedelta.Backend, mixed: tuple, jobs: int) -> None:
    root, skipped, bad, streams = mixed
    files = by_file(list(iter_merged([str(root)], jobs=jobs, backend=backend)), root)
    assert [r["source"]["stream"] for r in files.pop(OTHER_FORMAT) if "skipped" not in r] == [0]
    for name, reason in skipped.items():
        assert files[name] == [
            {"source": {"file": str(root / name), "stream": 0}, "chunks": 0, "bytes": 0, "skipped": reason}
        ]
    for name, kind in bad.items():
        assert [r["error"]["type"] for r in files[name] if "error" in r][:1] == [kind], name
        assert not any("skipped" in r for r in files[name])
    merged = [r for records in files.values() for r in records if "completion" in r]
    assert len(merged) == streams


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_merge_command(
    backend: ssedelta.Backend, mixed: tuple, jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, skipped, bad, streams = mixed
    out = tmp_path / "out.jsonl"
    argv = [
        "merge",
        str(root),
        "-o",
        str(out),
        "-j",
        jobs,
        "--backend",
        backend.name,
        "--exclude",
        OTHER_FORMAT,
    ]
    assert cli.main([*argv, "-v"]) == cli.EXIT_BAD_STREAMS
    err = capsys.readouterr().err
    listed = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert len(listed) == len(skipped)
    assert f"skipped {root / 'README.md'}: {NOT_A_STREAM}" in listed
    assert f"{streams} merged, {len(bad)} bad, {len(skipped)} skipped" in err
    assert len(out.read_text().splitlines()) == streams
    errors = [json.loads(line) for line in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert {Path(r["source"]["file"]).name for r in errors} == set(bad)

    only_good = [*argv, "--exclude", "broken.sse", "--exclude", "cut.sse", "--exclude", "anthropic.sse"]
    only_good += ["--exclude", "comment-first.sse", "--exclude", "chunks.jsonl"]
    assert cli.main(only_good) == cli.EXIT_OK
    err = capsys.readouterr().err
    assert f"{streams} merged, 0 bad, {len(skipped)} skipped" in err
    assert "skipped " + str(root) not in err  # listed only with -v


def test_stats_command(backend: ssedelta.Backend, mixed: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    root, skipped, bad, streams = mixed
    argv = ["stats", str(root), "--backend", backend.name, "-q", "-j", "2", "--exclude", OTHER_FORMAT]
    assert cli.main([*argv, "--json", "-v"]) == cli.EXIT_OK
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["skipped"] == len(skipped) and summary["files"] == len(skipped) + len(bad) + 4
    assert summary["ok"] == streams
    assert sum(line.startswith("skipped ") for line in captured.err.splitlines()) == len(skipped)
    assert cli.main(argv) == cli.EXIT_OK
    assert f"{streams} merged, {summary['errors']} bad, {len(skipped)} skipped" in capsys.readouterr().out


def test_python_api_lists_skipped_files(backend: ssedelta.Backend, mixed: tuple, tmp_path: Path) -> None:
    root, skipped, _, _ = mixed
    want = [(str(root / name), reason) for name, reason in skipped.items()]
    for jobs in (1, 2):
        report = write_merged([str(root)], tmp_path / f"out-{jobs}.jsonl", jobs=jobs, backend=backend)
        assert sorted(report.skipped) == sorted(want)
        assert report.streams == len(list(iter_merged([str(root)], jobs=1, backend=backend))) - len(want)
        stats = stream_stats([str(root)], jobs=jobs, backend=backend)
        assert sorted(stats.skipped) == sorted(want) and len(stats) == report.streams


def test_a_folder_of_recorded_streams(backend: ssedelta.Backend, tmp_path: Path) -> None:
    """``tests/data/real`` as it is: streams, their expected results, notes and a script."""
    folder = shutil.copytree(DATA, tmp_path / "real")
    names = sorted(p.name for p in folder.iterdir())
    streams = [n.removesuffix(".sse") for n in names if n.endswith(".sse")]
    errors = sum(is_upstream_error(expected(n)) for n in streams)
    report = write_merged([str(folder)], tmp_path / "out.jsonl", jobs=2, backend=backend)
    assert (report.streams, report.errors) == (len(streams), errors)
    assert sorted(Path(f).name for f, _ in report.skipped) == [n for n in names if not n.endswith(".sse")]
    merged = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in merged] == [
        expected(n) for n in streams if not is_upstream_error(expected(n))
    ]


# ------------------------------------------------------------------ the rule, and choosing files


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"data: {}\n\n", None),
        (b"\xef\xbb\xbf\r\n\r\ndata:{}\r\n", None),
        (b": ok\n\n", None),
        (b"event: message_start\n", None),
        (b"id: 7\ndata: x\n\n", None),
        (b"retry: 1000\n\n", None),
        (b"data\n\n", None),
        (b"", "empty"),
        (b" \r\n\t", "empty"),
        (b"HTTP/1.1 200 OK\r\n", NOT_A_STREAM),
        (b"database: x\n", NOT_A_STREAM),
        (b"# data: {}\n", NOT_A_STREAM),
        (b"\x00\x01data: {}\n\n", NOT_A_STREAM),
    ],
)
def test_the_rule_for_event_streams(head: bytes, reason: str | None) -> None:
    assert formats.no_stream_reason(formats.SSE, head) == reason


def test_the_rule_for_json() -> None:
    record = json.dumps({"body": "data: {}\n\ndata: [DONE]\n\n"}).encode()
    assert formats.no_stream_reason(formats.RECORDS, record) is None
    assert (
        formats.no_stream_reason(formats.RECORDS, json.dumps([{"body": "\n\nevent: x\n"}]).encode()) is None
    )
    assert formats.no_stream_reason(formats.RECORDS, b'{"data": "x", "id": 1}') == NO_RECORD
    assert formats.no_stream_reason(formats.RECORDS, b'{"data": "x"}', read=True) == NO_RECORD
    chunk = b'{"id":"c","object":"chat.completion.chunk","choices":[]}\n'
    assert formats.no_stream_reason(formats.CHUNKS, chunk) is None
    assert formats.no_stream_reason(formats.CHUNKS, b"data: " + chunk) is None
    assert formats.no_stream_reason(formats.CHUNKS, b"hello\n" + chunk) is not None
    assert formats.no_stream_reason(formats.HAR, b'{"log": {}}') is None
    assert formats.no_stream_reason(formats.HAR, b'{"log": {}}', read=True) == "no text/event-stream entry"
    assert formats.no_stream_reason(formats.SSE, b"data: {}", read=True) is None


def test_forced_format_skips_what_is_not_in_it(backend: ssedelta.Backend, mixed: tuple) -> None:
    root = mixed[0]
    records = list(iter_merged([str(root / "README.md")], jobs=1, format="chunks", backend=backend))
    assert records[0]["skipped"] == "the first line is no chat completion chunk"
    records = list(iter_merged([str(root / "a.sse")], jobs=1, format="sse", backend=backend))
    assert "completion" in records[0]


def test_a_large_file_in_no_stream_format_is_one_task(backend: ssedelta.Backend, tmp_path: Path) -> None:
    path = write(tmp_path / "big.log", b"INFO started\n" + b"data: {}\n\n" * 5000)
    (task,) = plan([str(path)], Options(backend=backend.name), range_size=4096)
    assert [r.get("skipped") for r in read_task(task)] == [NOT_A_STREAM]
    stream = write(tmp_path / "big.sse", body(PLAIN) * 40)
    assert len(list(plan([str(stream)], Options(backend=backend.name), range_size=4096))) > 1


def test_an_unreadable_file_is_bad_not_skipped(backend: ssedelta.Backend, tmp_path: Path) -> None:
    packed = gzip.compress(body(PLAIN))
    write(tmp_path / "header-only.sse.gz", packed[:12])
    write(tmp_path / "corrupt.md.gz", packed[:10] + b"\xff" * 40)
    records = list(iter_merged([str(tmp_path)], jobs=1, backend=backend))
    assert [(Path(r["source"]["file"]).name, r["error"]["type"]) for r in records] == [
        ("corrupt.md.gz", "ReadError"),
        ("header-only.sse.gz", "ReadError"),
    ]


def test_include_and_exclude(tmp_path: Path) -> None:
    for name in ("a.sse", "b.json", "README.md", "sub/c.sse", "sub/README.md", "sub/deep/d.sse.gz"):
        write(tmp_path / name, b"data: {}\n\n")
    root = str(tmp_path)

    def found(
        include: list[str] | None = None, exclude: list[str] | None = None, paths: list[str] | None = None
    ) -> list[str]:
        files = expand(paths or [root], include or [], exclude or [])
        return [str(Path(f).relative_to(tmp_path)) for f in files]

    assert found() == ["README.md", "a.sse", "b.json", "sub/README.md", "sub/c.sse", "sub/deep/d.sse.gz"]
    assert found(include=["*.sse"]) == ["a.sse", "sub/c.sse"]
    assert found(include=["*.sse", "*.sse.gz"]) == ["a.sse", "sub/c.sse", "sub/deep/d.sse.gz"]
    assert found(exclude=["README.md"]) == ["a.sse", "b.json", "sub/c.sse", "sub/deep/d.sse.gz"]
    assert found(exclude=["sub/*"]) == ["README.md", "a.sse", "b.json"]
    assert found(include=["sub/*.sse"]) == ["sub/c.sse"]
    assert found(include=["*.sse*"], exclude=["deep/*", "sub/deep/*"]) == ["a.sse", "sub/c.sse"]
    assert found(exclude=["*"], paths=[str(tmp_path / "README.md")]) == ["README.md"]  # named: always read
    assert found(exclude=["*.md"], paths=[str(tmp_path / "*")]) == [
        "a.sse",
        "b.json",
        "sub/c.sse",
        "sub/deep/d.sse.gz",
    ]
    assert found(include=["[ab].*"]) == ["a.sse", "b.json"]
    assert matches("x/y/README.md", "README.md") and not matches("x/y/README.md", "y/README.md")
    assert matches("x/y/README.md", "x/*") and matches("x/y/README.md", "*/y/*")
    assert not matches("readme.md", "README.md")
