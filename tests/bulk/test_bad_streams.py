"""Bad streams mixed with good ones: each bad one is reported where it went wrong, no good one is lost."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from archive import bodies, chunk_lines, concatenated, expected, outcome, records_jsonl, write

import ssedelta
from real_streams import body
from ssedelta.bulk import iter_merged

OPENAI = "openai-python__gpt4o_plain_content_usage"
TOOLS = "openai-python__gpt4o_parallel_tool_calls"


def invalid_json(data: bytes) -> bytes:
    """``data`` with its third chunk's JSON broken."""
    at = data.index(b"data: {", data.index(b"data: {", data.index(b"data: {") + 1) + 1)
    return data[: at + 6] + b"{oops" + data[at + 7 :]


def garbage_event(data: bytes) -> bytes:
    at = data.index(b"\n\n") + 2
    return data[:at] + b"data: \x00\xff\xfe binary \x89PNG\r\n\x1a\n\n" + data[at:]


def merged(backend: ssedelta.Backend, path: Path | str, **options: object) -> list[dict]:
    return list(iter_merged([str(path)], jobs=1, backend=backend, **options))  # type: ignore[arg-type]


def test_bad_streams_inside_a_concatenated_file(backend: ssedelta.Backend, tmp_path: Path) -> None:
    good = bodies()
    bad = [invalid_json(body(OPENAI)), garbage_event(body(TOOLS))]
    parts = [good[0], bad[0], *good[1:10], bad[1], *good[10:]]
    data, offsets = concatenated(parts)
    path = write(tmp_path / "mixed.sse", data, ".gz")
    records = merged(backend, path)
    assert [r["source"]["offset"] for r in records] == offsets
    assert [outcome(r) for r in records] == [expected(backend, p) for p in parts]
    errors = [r for r in records if "error" in r]
    assert errors[0]["error"]["type"] == "InvalidJSONError"
    assert errors[0]["error"]["file_offset"] == offsets[1] + errors[0]["error"]["offset"]
    broken = data[errors[0]["error"]["file_offset"] :]
    assert broken.startswith(b"{oops")
    assert errors[0]["error"]["event_index"] == 2
    assert errors[1]["error"]["type"] == "InvalidJSONError" and errors[1]["error"]["event_index"] == 1


def test_bad_files_next_to_good_ones(backend: ssedelta.Backend, tmp_path: Path) -> None:
    good = body(OPENAI)
    write(tmp_path / "a-good.sse", good)
    write(tmp_path / "b-empty.sse", b"")
    write(tmp_path / "c-blank.sse", b"\n \r\n\t\n")
    write(tmp_path / "d-garbage.bin", bytes(range(256)) * 40)
    truncated = good[: len(good) * 2 // 3]
    write(tmp_path / "e-truncated.sse", truncated)
    write(tmp_path / "f-invalid.sse", invalid_json(good))
    write(tmp_path / "g-good.sse", good, ".xz")
    records = merged(backend, tmp_path)
    kinds = [
        (Path(r["source"]["file"]).name, r.get("error", {}).get("type"), r.get("skipped")) for r in records
    ]
    assert kinds == [
        ("a-good.sse", None, None),
        ("b-empty.sse", None, "empty"),
        ("c-blank.sse", None, "empty"),
        ("d-garbage.bin", None, "not an event stream, chunk lines, JSON records or a HAR file"),
        ("e-truncated.sse", "TruncatedStreamError", None),
        ("f-invalid.sse", "InvalidJSONError", None),
        ("g-good.sse.xz", None, None),
    ]
    cut = records[4]
    assert cut["error"]["offset"] == truncated.rindex(b"\n\n") + 2
    assert cut["partial"] == backend.merge(truncated).to_dict()
    assert records[0]["completion"] == records[6]["completion"] == backend.merge(good).to_dict()


def test_a_truncated_gzip_keeps_what_came_before(backend: ssedelta.Backend, tmp_path: Path) -> None:
    parts = bodies()[3:20]
    data, offsets = concatenated(parts)
    packed = gzip.compress(data)
    cut = packed[: len(packed) * 9 // 10]
    available = len(zlib.decompressobj(wbits=31).decompress(cut))
    whole = sum(offset + len(part) <= available for offset, part in zip(offsets, parts, strict=True))
    path = tmp_path / "cut.sse.gz"
    path.write_bytes(cut)
    records = merged(backend, path)
    assert whole >= 3
    assert [outcome(r) for r in records[:whole]] == [expected(backend, p) for p in parts[:whole]]
    assert records[whole]["error"]["type"] == "TruncatedStreamError"
    assert records[whole]["source"]["offset"] == offsets[whole]
    assert records[-1]["error"]["type"] == "ReadError"
    assert records[-1]["source"] == {"file": str(path), "stream": whole + 1, "offset": available}


def test_bad_lines_in_json_lines(backend: ssedelta.Backend, tmp_path: Path) -> None:
    first, second = chunk_lines(body(OPENAI)), chunk_lines(body(TOOLS))
    lines = [*first[:3], b'{"id": oops', *first[3:], *second]
    path = write(tmp_path / "chunks.jsonl", b"\n".join(lines) + b"\n")
    records = merged(backend, path)
    assert len(records) == 2
    assert records[0]["error"]["type"] == "InvalidJSONError"
    assert records[0]["error"]["reason"].startswith("line 4:")
    assert records[0]["error"]["event_index"] == 3
    assert records[0]["error"]["offset"] == sum(len(line) + 1 for line in first[:3])
    assert outcome(records[1]) == expected(backend, body(TOOLS))
    assert records[1]["source"]["line"] == len(first) + 2

    text = records_jsonl([body(OPENAI), body(TOOLS)]).replace(b"\n", b"\nnot json\n", 1)
    text += json.dumps({"response": {"status": 500}}).encode() + b"\n"
    records = merged(backend, write(tmp_path / "log.jsonl", text), field="response.body")
    assert [r["source"]["line"] for r in records] == [1, 2, 3, 4]
    assert [r.get("error", {}).get("type") for r in records] == [None, "RecordError", None, "RecordError"]
    assert "no string field 'response.body'" in records[3]["error"]["reason"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_nothing_good_is_dropped(backend: ssedelta.Backend, tmp_path: Path, jobs: int) -> None:
    good = bodies()
    parts = [good[0], invalid_json(good[5]), *good[1:]]
    write(tmp_path / "x" / "mixed.sse", concatenated(parts)[0], ".bz2")
    write(tmp_path / "x" / "one.sse", good[3])
    write(tmp_path / "x" / "zero.sse", b"")
    records = list(iter_merged([str(tmp_path / "x")], jobs=jobs, backend=backend))
    merged_ok = sum("completion" in r for r in records)
    expected_ok = sum("error" not in expected(backend, p) for p in [*parts, good[3]])
    assert merged_ok == expected_ok
    assert len(records) == len(parts) + 2
    assert records[-1] == {
        "source": {"file": str(tmp_path / "x" / "zero.sse"), "stream": 0},
        "chunks": 0,
        "bytes": 0,
        "skipped": "empty",
    }
