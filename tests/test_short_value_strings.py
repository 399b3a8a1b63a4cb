"""Short strings inside unknown values, which the native scanner takes from the strings it shares
across streams (as it does keys): every length around the limit, escapes, non-ASCII, strings that
share a hash with keys and with each other, streams one after another and side by side, and a
result changed by its reader. The twin, which merges parsed JSON, is the reference."""

from __future__ import annotations

import json
import random

import pytest
from tests.test_key_reading import HEAD, agree, colliding, frame, name

import ssedelta

PYTHON = ssedelta.get_backend("python")

AROUND_THE_LIMIT = [name(random.Random(k), k) for k in range(0, 20)]
UNUSUAL = ["sa\\u0066e", "caf\u00e9", "\u00e9", '\\"', "tab\\t", "\U0001f600", "x" * 16, "x" * 17]


def payload(top: dict, choice: dict, delta: dict) -> str:
    return json.dumps(
        {**HEAD, "choices": [{"index": 0, **choice, "delta": {"content": "a", **delta}}], **top},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def raw_payload(value: str) -> str:
    """A chunk whose unknown objects hold the JSON string body ``value`` as written."""
    obj = '{"s":"' + value + '","t":["' + value + '",{"u":"' + value + '"}]}'
    head = json.dumps(HEAD, separators=(",", ":"))[:-1]
    return (
        head + ',"choices":[{"index":0,"cfr":' + obj + ',"delta":{"content":"a","dx":' + obj + "}}],"
        '"pfr":[' + obj + "]}"
    )


@pytest.mark.parametrize("value", AROUND_THE_LIMIT + UNUSUAL)
def test_short_and_long_strings_in_unknown_values(backend, value):
    rng = random.Random(value)
    body = frame([raw_payload(value), raw_payload(value), raw_payload(value + "z")])
    result = agree(backend, body, rng)
    assert result[0] == "ok"
    expected = json.loads('"' + value + '"')
    assert result[1]["pfr"][0]["s"] == expected + "z"
    assert result[1]["choices"][0]["cfr"]["t"] == [expected + "z", {"u": expected + "z"}]


def test_strings_of_one_hash_as_values_and_keys(backend):
    """Values and keys that take the same shared slots, in one stream and in streams in turn."""
    rng = random.Random(3)
    words = colliding(6)
    for round_ in range(4):
        rng.shuffle(words)
        cfr = {w: {words[(k + 1) % 6]: words[(k + 2) % 6]} for k, w in enumerate(words[:4])}
        body = frame(
            [payload({"pfr": [cfr]}, {"cfr": cfr}, {}), payload({}, {"cfr": {words[round_]: "safe"}}, {})]
        )
        result = agree(backend, body, rng)
        assert result[1]["pfr"] == [cfr]
        assert result[1]["choices"][0]["cfr"] == {words[round_]: "safe"}


def side_by_side(backend: ssedelta.Backend) -> list:
    azure = {
        "hate": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": False, "severity": "low"},
    }
    chunk = frame([payload({}, {"cfr": azure}, {"dx": {"severity": "safe"}})])[: -len(b"data: [DONE]\n\n")]
    first, second = backend.DeltaMerger(), backend.DeltaMerger()
    for _ in range(3):
        for merger in (first, second):
            merger.feed(chunk)
        snap = first.snapshot()
        snap.choices[0].extras["cfr"]["hate"]["severity"] = "changed"
        snap.choices[0].message.extras["dx"]["severity"] += "!"
    return [backend.to_dict(first.finish()), backend.to_dict(second.finish())]


def test_streams_merged_side_by_side_and_results_changed(backend):
    """Two mergers fed in turn share strings; a reader changes one's snapshots between chunks."""
    assert side_by_side(backend) == side_by_side(PYTHON)
