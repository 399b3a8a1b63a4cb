"""Archives as Dask collections, so the bulk job runs on a cluster (the ``dask`` extra).

>>> import ssedelta.dask
>>> bag = ssedelta.dask.read_streams("s3://bucket/captures/**/*.sse.gz")      # doctest: +SKIP
>>> bag.filter(lambda r: "error" not in r).count().compute()                   # doctest: +SKIP
>>> frame = ssedelta.dask.to_dataframe(bag)                                     # doctest: +SKIP

The records are those of :func:`ssedelta.bulk.iter_merged` (and of ``ssedelta merge``), in the
same order: one partition per file, files sorted by path. Workers read the files themselves,
through ``fsspec``, with the backend named in each task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._backend import Backend
from .bulk import formats
from .bulk._optional import require
from .bulk.records import COLUMNS, Record, rows
from .bulk.tasks import Options, Task, read_task

__all__ = ["read_streams", "to_dataframe"]

_PURPOSE = "ssedelta.dask"


def read_streams(
    urlpath: str | Sequence[str],
    *,
    format: str = formats.AUTO,
    field: str | None = None,
    backend: str | Backend | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """A ``dask.bag.Bag`` of one record per stream of the files ``urlpath`` names.

    ``urlpath`` is a path, a glob or a directory (read recursively; names starting with ``.``
    skipped), local or any URL fsspec knows (``s3://...`` with ``storage_options``), or a list
    of them. Local files are named by their path, others by their URL. ``format``, ``field`` and
    ``backend`` are those of :func:`ssedelta.bulk.iter_merged`.
    """
    bag: Any = require("dask.bag", "dask", _PURPOSE)
    fsspec: Any = require("fsspec", "dask", _PURPOSE)
    fs, paths = _files(fsspec, urlpath, storage_options or {})
    local = "file" in _protocols(fs)
    name = backend.name if isinstance(backend, Backend) else backend
    options = Options(format, field, name or "")
    tasks = [Task(path, path if local else fs.unstrip_protocol(path), options) for path in paths]
    if not tasks:
        return bag.from_sequence([], npartitions=1)
    return bag.from_sequence(tasks, npartitions=len(tasks)).map_partitions(_read_partition, fs)


def to_dataframe(streams: Any) -> Any:
    """A ``dask.dataframe.DataFrame`` of the merged records of ``streams`` (a bag from
    :func:`read_streams`): the flat columns ``ssedelta merge`` writes to Parquet, one row per
    choice of a chat stream and one per Responses or Anthropic stream, with its ``format`` and
    its merged object as JSON (``result``). Bad streams and skipped files are left out (filter
    the bag on ``"error" in record`` or ``"skipped" in record`` to see them)."""
    pandas: Any = require("pandas", "dask", _PURPOSE)
    require("dask.dataframe", "dask", _PURPOSE)
    kinds = {"int64": "Int64", "string": "object"}
    meta = pandas.DataFrame({name: pandas.Series(dtype=kinds[kind]) for name, kind in COLUMNS})
    return streams.filter(_is_merged).map(rows).flatten().to_dataframe(meta=meta)


def _read_partition(tasks: Sequence[Task], fs: Any) -> list[Record]:
    out: list[Record] = []
    for task in tasks:
        out.extend(read_task(task, lambda path: fs.open(path, "rb")))
    return out


def _is_merged(record: Record) -> bool:
    return "completion" in record


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _files(
    fsspec: Any, urlpath: str | Sequence[str], storage_options: dict[str, Any]
) -> tuple[Any, list[str]]:
    urls = [urlpath] if isinstance(urlpath, str) else list(urlpath)
    fs, _, _ = fsspec.core.get_fs_token_paths(urls[0], mode="rb", storage_options=storage_options)
    found: dict[str, None] = {}
    for url in urls:
        for path in sorted(fs.expand_path(url, recursive=True)):
            if fs.isfile(path) and not any(part.startswith(".") for part in path.split("/")[-1:]):
                found[path] = None
    return fs, list(found)
