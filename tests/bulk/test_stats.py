"""Per-stream statistics as numpy arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from archive import bodies, concatenated, expected, write

import ssedelta
from ssedelta.bulk import iter_merged, stream_stats


def test_arrays_match_the_records(backend: ssedelta.Backend, tmp_path: Path) -> None:
    parts = bodies()
    write(tmp_path / "all.sse", concatenated(parts)[0], ".gz")
    write(tmp_path / "bad.sse", b"data: {nope}\n\n")
    stats = stream_stats([str(tmp_path)], jobs=2, backend=backend)
    records = list(iter_merged([str(tmp_path)], jobs=1, backend=backend))
    assert len(stats) == len(records) == len(parts) + 1
    assert stats.chunks.dtype == np.int64 and stats.prompt_tokens.dtype == np.float64
    assert stats.nbytes.tolist() == [r["bytes"] for r in records]
    assert stats.chunks.tolist() == [r["chunks"] for r in records]
    assert stats.stream.tolist() == [r["source"]["stream"] for r in records]
    assert stats.ok.tolist() == ["error" not in r for r in records]
    for i, part in enumerate(parts):
        result = expected(backend, part)
        completion = result.get("completion") or result["partial"]
        usage = completion.get("usage") or {}
        total = stats.total_tokens[i]
        assert (np.isnan(total) and usage.get("total_tokens") is None) or total == usage["total_tokens"]
        assert stats.model[i] == completion["model"]
    assert stats.error_type[-1] == "InvalidJSONError"
    summary = stats.summary()
    assert summary["streams"] == len(parts) + 1 and summary["files"] == 2
    assert summary["bytes"] == int(stats.nbytes.sum())
    usage = summary["usage"]["total_tokens"]
    valid = stats.total_tokens[~np.isnan(stats.total_tokens)]
    assert usage["total"] == int(valid.sum()) and usage["p50"] == round(float(np.median(valid)), 3)


def test_no_streams_gives_empty_arrays(backend: ssedelta.Backend, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    stats = stream_stats([str(tmp_path / "d")], jobs=1, backend=backend)
    assert len(stats) == 0 and stats.summary()["streams"] == 0
