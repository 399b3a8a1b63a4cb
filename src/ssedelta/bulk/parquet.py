"""Writing merged records to Parquet (pyarrow, the ``parquet`` extra), in row groups."""

from __future__ import annotations

import os
from typing import Any

from ._optional import require
from .records import COLUMNS, Record, rows

#: Rows buffered before a row group is written.
ROW_GROUP_ROWS = 20_000


def arrow_schema() -> Any:
    pa: Any = require("pyarrow", "parquet", "writing Parquet")
    return pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS])


class ParquetSink:
    """Flat rows (:data:`ssedelta.bulk.records.COLUMNS`), one per choice of each merged record."""

    def __init__(self, path: str | os.PathLike[str], row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self._pa: Any = require("pyarrow", "parquet", "writing Parquet")
        parquet: Any = require("pyarrow.parquet", "parquet", "writing Parquet")
        self._schema = arrow_schema()
        self._writer = parquet.ParquetWriter(os.fspath(path), self._schema)
        self._rows: list[dict[str, Any]] = []
        self._limit = row_group_rows

    def add(self, record: Record) -> None:
        self._rows.extend(rows(record))
        if len(self._rows) >= self._limit:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(self._pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
