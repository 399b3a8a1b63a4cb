"""Record building: the fast serialiser equals ``to_dict``; stream renumbering; flat rows."""

from __future__ import annotations

import ssedelta
from real_streams import STREAMS, body
from ssedelta.bulk import _renumbered, _stream_prefix, records
from ssedelta.bulk._plain import plain


def test_plain_equals_to_dict(backend: ssedelta.Backend) -> None:
    logprobs = [name for name in STREAMS if "logprobs" in name]
    assert logprobs
    for name in STREAMS:
        try:
            completion = backend.merge(body(name))
        except ssedelta.UpstreamError as exc:
            completion = exc.partial
        expected = completion.to_dict()
        assert plain(completion) == expected, name
        assert list(plain(completion)) == list(expected)
    built = ssedelta.models.ChatCompletionTokenLogprob(token="a", logprob=-0.5, bytes=[97], top_logprobs=None)
    assert plain(built) == built.to_dict()


def test_renumbering_a_line() -> None:
    name = 'dir/"odd" name.sse'
    record = {"source": {"file": name, "stream": 7, "offset": 10}, "chunks": 1, "bytes": 2, "completion": {}}
    line = records.dumps(record)
    renumbered = _renumbered(line, _stream_prefix(name), 1000)
    assert records.dumps({**record, "source": {**record["source"], "stream": 1007}}) == renumbered


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
