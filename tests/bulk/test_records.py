"""Record building: flat rows."""

from __future__ import annotations

import ssedelta
from real_streams import body
from ssedelta.bulk import records


def test_rows_one_per_choice(backend: ssedelta.Backend) -> None:
    completion = backend.merge(body("openai-python__gpt4o_json_schema_n3_choices")).to_dict()
    record = {
        "source": {"file": "f", "stream": 3, "offset": 9},
        "chunks": 5,
        "bytes": 99,
        "completion": completion,
    }
    rows = records.rows(record)
    assert [r["choice_index"] for r in rows] == [0, 1, 2]
    assert [r["content"] for r in rows] == [c["message"]["content"] for c in completion["choices"]]
    assert all(list(r) == [name for name, _ in records.COLUMNS] for r in rows)
    assert rows[0]["total_tokens"] is None or isinstance(rows[0]["total_tokens"], int)
