"""Bulk reading of archives mixing chat, Responses and Anthropic streams: each stream is read in its
own format (files, several streams in one file, JSON records, HAR entries), its record says the
format and holds what the format's own merger makes of it, and ``stats`` counts streams and sums
the normalised usage per format."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from archive import har, records_jsonl, write

import ssedelta
from ssedelta.bulk import cli, eventstreams, iter_merged

_spec = importlib.util.spec_from_file_location(
    "format_streams", Path(__file__).resolve().parent.parent / "gateway" / "format_streams.py"
)
assert _spec is not None and _spec.loader is not None
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)

CHAT = [name for fmt, name in fs.STREAMS if fmt == "chat" and name.startswith("openai-python__")][:8]
RESPONSES = [name for fmt, name in fs.STREAMS if fmt == "responses"]
ANTHROPIC = [name for fmt, name in fs.STREAMS if fmt == "anthropic"]


def make_archive(root: Path) -> list[tuple[str, str]]:
    """The folder, and the ``(format, name)`` of each stream in it, in the order bulk reads them
    (files sorted by path, streams in file order)."""
    order: dict[str, list[tuple[str, str]]] = {}

    def put(path: str, streams: list[tuple[str, str]], suffix: str = "") -> None:
        data = b"".join(fs.body(fmt, name) for fmt, name in streams)
        write(root / path, data, suffix)
        order[path + suffix] = streams

    for i, name in enumerate(CHAT):
        put(f"chat/{i:02}.sse", [("chat", name)], ".gz" if i % 2 else "")
    for i, name in enumerate(RESPONSES[:-6]):
        put(f"responses/{i:02}.sse", [("responses", name)], ".zst" if i % 3 == 0 else "")
    for i, name in enumerate(ANTHROPIC[:-6]):
        put(f"anthropic/{i:02}.sse", [("anthropic", name)], ".bz2" if i % 4 == 0 else "")
    # Several streams of a format in one file, split where each ends.
    put("joined/responses.sse", [("responses", n) for n in RESPONSES[-6:-3]])
    put("joined/anthropic.sse", [("anthropic", n) for n in ANTHROPIC[-6:-3]], ".gz")
    mixed = [("chat", CHAT[0]), ("responses", RESPONSES[-3]), ("anthropic", ANTHROPIC[-3])]
    mixed += [("responses", RESPONSES[-2]), ("anthropic", ANTHROPIC[-2]), ("chat", CHAT[1])]
    records = records_jsonl([fs.body(fmt, name) for fmt, name in mixed])
    write(root / "records" / "log.jsonl", records)
    order["records/log.jsonl"] = mixed
    capture = [("anthropic", ANTHROPIC[-1]), ("responses", RESPONSES[-1]), ("chat", CHAT[2])]
    write(root / "capture.har", har([fs.body(fmt, name) for fmt, name in capture]))
    order["capture.har"] = capture
    return [stream for path in sorted(order, key=lambda p: str(root / p)) for stream in order[path]]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]]]:
    root = tmp_path_factory.mktemp("formats")
    return root, make_archive(root)


def check_records(backend: Any, records: list[dict[str, Any]], streams: list[tuple[str, str]]) -> None:
    assert [(r["format"]) for r in records] == [fmt for fmt, _ in streams]
    for record, (fmt, name) in zip(records, streams, strict=True):
        data = fs.body(fmt, name)
        result, error = fs.reference(backend, fmt, data)
        expected = orjson.loads(orjson.dumps(result.to_dict()))
        if error is None:
            assert "error" not in record, (name, record.get("error"))
            assert record["completion"] == expected, name
        else:
            assert record["error"]["type"] == "UpstreamError" and record["partial"] == expected, name
        assert record["bytes"] >= len(data.rstrip()), name


def test_merge_reads_each_stream_in_its_format(
    backend: ssedelta.Backend, archive: Any, tmp_path: Path
) -> None:
    root, streams = archive
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"merged-{jobs}.jsonl"
        cli.main(["merge", str(root), "-o", str(out), "--jobs", jobs, "--backend", backend.name, "-q"])
        errors = tmp_path / f"merged-{jobs}.errors.jsonl"
        outputs.append((out.read_bytes(), errors.read_bytes() if errors.exists() else b""))
    assert outputs[0] == outputs[1]
    records = list(iter_merged([str(root)], jobs=2, backend=backend))
    check_records(backend, records, streams)
    good = [json.loads(line) for line in outputs[0][0].splitlines()]
    assert good == [json.loads(orjson.dumps(r)) for r in records if "error" not in r]


def test_streams_in_one_file_start_where_the_one_before_ends(backend: ssedelta.Backend, archive: Any) -> None:
    root, _ = archive
    path = root / "joined" / "responses.sse"
    records = list(iter_merged([str(path)], jobs=1, backend=backend))
    sizes = [len(fs.body("responses", n)) for n in RESPONSES[-6:-3]]
    assert [r["source"]["offset"] for r in records] == [0, sizes[0], sizes[0] + sizes[1]]
    assert [r["bytes"] for r in records] == sizes


def test_an_anthropic_stream_cut_short_is_reported(backend: ssedelta.Backend, tmp_path: Path) -> None:
    data = fs.body("anthropic", ANTHROPIC[0])
    cut = data.rindex(b"event: message_delta") + 30
    write(tmp_path / "cut.sse", data[:cut])
    (record,) = iter_merged([str(tmp_path)], jobs=1, backend=backend)
    assert record["format"] == "anthropic" and record["error"]["type"] == "TruncatedStreamError"
    merger = ssedelta.anthropic.merger_class(backend)()
    merger.feed(data[: data.rindex(b"event: message_delta")])
    merger.finish()
    assert record["partial"] == orjson.loads(orjson.dumps(merger.snapshot().to_dict()))


def normalized(fmt: str, usage: dict[str, Any] | None) -> dict[str, int | None]:
    """The normalised counts of a recorded usage object, worked out here by each API's rules."""
    keys = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "total_tokens")
    if usage is None:
        return dict.fromkeys(keys)
    if fmt == "chat":
        values = [
            usage.get("prompt_tokens"),
            usage.get("completion_tokens"),
            (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            (usage.get("completion_tokens_details") or {}).get("reasoning_tokens"),
            usage.get("total_tokens"),
        ]
    elif fmt == "responses":
        values = [
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            (usage.get("input_tokens_details") or {}).get("cached_tokens"),
            (usage.get("output_tokens_details") or {}).get("reasoning_tokens"),
            usage.get("total_tokens"),
        ]
    else:
        read = usage.get("cache_read_input_tokens")
        total_input = usage["input_tokens"] + (usage.get("cache_creation_input_tokens") or 0) + (read or 0)
        values = [total_input, usage["output_tokens"], read, None, total_input + usage["output_tokens"]]
    return dict(zip(keys, values, strict=True))


def test_stats_count_and_sum_usage_per_format(
    backend: ssedelta.Backend, archive: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root, streams = archive
    sums: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    for fmt, name in streams:
        counts[fmt] = counts.get(fmt, 0) + 1
        tokens = sums.setdefault(fmt, {})
        for key, value in normalized(fmt, fs.final_usage(fmt, fs.body(fmt, name))).items():
            tokens[key] = tokens.get(key, 0) + (value or 0)
    summaries = []
    for jobs in ("1", "2"):
        cli.main(["stats", str(root), "--json", "--jobs", jobs, "--backend", backend.name, "-q"])
        summaries.append(json.loads(capsys.readouterr().out))
    summary = summaries[0]
    assert {k: v for k, v in summary.items() if k not in ("seconds", "throughput_mb_s")} == {
        k: v for k, v in summaries[1].items() if k not in ("seconds", "throughput_mb_s")
    }
    assert summary["streams"] == len(streams)
    assert {fmt: f["streams"] for fmt, f in summary["formats"].items()} == counts
    for fmt in counts:
        assert summary["formats"][fmt]["tokens"] == sums[fmt], fmt
    overall = {key: sum(s[key] for s in sums.values()) for key in sums["chat"]}
    assert summary["tokens"] == overall
    assert summary["formats"]["responses"]["errors"] == sum(
        1 for fmt, name in streams if fmt == "responses" and fs.reference(backend, fmt, fs.body(fmt, name))[1]
    )
    text = cli.format_summary(summary)
    assert f"anthropic: {counts['anthropic']}" in text and "cached input tokens" in text


def test_parquet_rows_carry_the_format_and_the_merged_object(
    backend: ssedelta.Backend, archive: Any, tmp_path: Path
) -> None:
    root, streams = archive
    out = tmp_path / "merged.parquet"
    cli.main(["merge", str(root), "-o", str(out), "--backend", backend.name, "-q"])
    table = pq.read_table(out).to_pylist()
    rows = [row for row in table if row["format"] != "chat"]
    kept = [
        (fmt, name)
        for fmt, name in streams
        if fmt != "chat" and not fs.reference(backend, fmt, fs.body(fmt, name))[1]
    ]
    assert [row["format"] for row in rows] == [fmt for fmt, _ in kept]
    for row, (fmt, name) in zip(rows, kept, strict=True):
        result, _ = fs.reference(backend, fmt, fs.body(fmt, name))
        assert json.loads(row["result"]) == orjson.loads(orjson.dumps(result.to_dict()))
        usage = normalized(fmt, fs.final_usage(fmt, fs.body(fmt, name)))
        assert row["prompt_tokens"] == usage["input_tokens"]
        assert row["completion_tokens"] == usage["output_tokens"]
        if fmt == "anthropic":
            texts = [b["text"] for b in result.to_dict()["content"] if b["type"] == "text"]
            assert row["content"] == ("".join(texts) if texts else None)
        else:
            assert row["finish_reason"] == result.status
    assert not any(isinstance(v, float) and math.isnan(v) for row in table for v in row.values())


def test_dask_frame_has_the_format_and_the_merged_object(backend: ssedelta.Backend, archive: Any) -> None:
    dask = pytest.importorskip("dask")
    import ssedelta.dask

    root, streams = archive
    with dask.config.set(scheduler="synchronous"):
        bag = ssedelta.dask.read_streams(str(root), backend=backend)
        records = bag.compute()
        frame = ssedelta.dask.to_dataframe(bag).compute()
    assert [r["format"] for r in records] == [fmt for fmt, _ in streams]
    merged = [r for r in records if "completion" in r]
    per_stream = frame.drop_duplicates(["source_file", "source_stream", "source_line", "source_record"])
    assert per_stream["format"].tolist() == [r["format"] for r in merged]
    assert [json.loads(text) for text in per_stream["result"]] == [r["completion"] for r in merged]


@pytest.mark.parametrize("read_size", [1, 7, 4096])
def test_streams_split_alike_whatever_the_read_size(
    backend: ssedelta.Backend, archive: Any, monkeypatch: pytest.MonkeyPatch, read_size: int
) -> None:
    root, _ = archive
    paths = [str(root / "joined" / "responses.sse"), str(root / "joined" / "anthropic.sse.gz")]
    whole = list(iter_merged(paths, jobs=1, backend=backend))
    monkeypatch.setattr(eventstreams, "READ_SIZE", read_size)
    assert list(iter_merged(paths, jobs=1, backend=backend)) == whole
    assert [r["format"] for r in whole] == ["responses"] * 3 + ["anthropic"] * 3


def test_done_after_a_stream_and_a_bad_event_inside_one(backend: ssedelta.Backend, tmp_path: Path) -> None:
    first = fs.body("responses", RESPONSES[1]) + b"data: [DONE]\n\n"
    second = fs.body("anthropic", ANTHROPIC[1])
    at = second.index(b"event: content_block_delta")
    broken = second[:at] + b"data: {broken\n\n" + second[at:]
    third = fs.body("anthropic", ANTHROPIC[2])
    write(tmp_path / "mixed.sse", first + broken + third)
    records = list(iter_merged([str(tmp_path)], jobs=1, backend=backend))
    assert [(r["format"], r["source"]["offset"], r["bytes"]) for r in records] == [
        ("responses", 0, len(first)),
        ("anthropic", len(first), len(broken)),
        ("anthropic", len(first) + len(broken), len(third)),
    ]
    assert "error" not in records[0] and "error" not in records[2]
    error = records[1]["error"]
    assert error["type"] == "InvalidJSONError" and error["offset"] == at + len(b"data: ")
    merger = ssedelta.anthropic.merger_class(backend)()
    merger.feed(second[:at])
    assert records[1]["partial"] == orjson.loads(orjson.dumps(merger.snapshot().to_dict()))
    assert records[2]["completion"] == orjson.loads(
        orjson.dumps(fs.reference(backend, "anthropic", third)[0].to_dict())
    )
