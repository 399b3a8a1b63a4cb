"""ssedelta.dask on a real LocalCluster with worker processes: the same records as the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_cli import make_archive

import ssedelta
import ssedelta.dask
from ssedelta.bulk import cli

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("dask-archive"))


def test_same_records_as_the_cli(
    backend: ssedelta.Backend, client: object, archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "merged.jsonl"
    cli.main(["merge", str(archive), "-o", str(out), "-q", "-j", "1", "--backend", backend.name])
    from_cli = [json.loads(line) for line in out.read_text().splitlines()]
    errors = [json.loads(line) for line in (tmp_path / "merged.errors.jsonl").read_text().splitlines()]
    bag = ssedelta.dask.read_streams(str(archive), backend=backend)
    assert bag.npartitions == 13
    records = bag.compute()
    assert [r for r in records if "completion" in r] == from_cli
    assert [r for r in records if "error" in r] == errors
    skipped = [Path(r["source"]["file"]).name for r in records if "skipped" in r]
    assert skipped == ["empty.sse", "noise.bin"]
    assert bag.map(lambda r: r["source"]["file"]).distinct().count().compute() == 13


def test_dataframe_matches_the_parquet_output(
    backend: ssedelta.Backend, client: object, archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "merged.parquet"
    paths = [str(archive / "raw" / "*.gz"), str(archive / "capture.har")]
    cli.main(["merge", *paths, "-o", str(out), "-q", "--backend", backend.name])
    frame = ssedelta.dask.to_dataframe(ssedelta.dask.read_streams(paths, backend=backend))
    computed = frame.compute().reset_index(drop=True)
    table = pq.read_table(out).to_pandas()
    assert list(computed.columns) == list(table.columns)
    assert len(computed) == len(table) > 40
    for column in ("source_file", "id", "content", "tool_calls", "finish_reason"):
        assert computed[column].fillna("-").tolist() == table[column].fillna("-").tolist()
    assert computed["total_tokens"].astype("float").fillna(-1).tolist() == (
        table["total_tokens"].astype("float").fillna(-1).tolist()
    )
