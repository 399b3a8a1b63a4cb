"""A repeated unknown delta value whose payload's tape a template gave: both backends merge it alike.

When a chunk's tape comes from a template, the native scanner has compared the unknown value with
the template's, string by string; when the template's value is the memo's but inside the memo's
concatenated strings, the memo is applied without comparing the value again, provided the value's
other strings (an item's ``type`` or ``format``) are the template's. These streams hold one shape
long enough for templates to be taken and vary what must end that: the other strings (other bytes
of the same length, other lengths, escapes), the fragments (the template's own text again, with and
without escapes), the JSON style, the key order, a second item, and errors.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

FRAGMENTS = ["a", "bc", "cb", ' "q" ', "\\", "é", "😀", "\n", "", "x" * 20]
KINDS = ["reasoning.text", "reasoning.txet", "reasoning.summary", 'r"q', "é"]
FORMATS = ["anthropic-claude-v1", "anthropic-claude-v2", "openai\\v1", None]


def details(rng: random.Random, kind: str, fmt: str | None, text: str, second: bool) -> list[dict[str, Any]]:
    item: dict[str, Any] = {"type": kind, "text": text}
    if fmt is not None:
        item["format"] = fmt
    item["index"] = 0
    items = [item]
    if second:
        items.append({"type": "reasoning.summary", "summary": text[::-1], "index": 1})
    if rng.random() < 0.05:
        items.reverse()
    return items


def stream(seed: int) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    kind, fmt, second = rng.choice(KINDS), rng.choice(FORMATS), rng.random() < 0.3
    style = rng.choice([(",", ":"), (", ", ": ")])
    ascii_only = rng.random() < 0.3
    text = rng.choice(FRAGMENTS)
    payloads = []
    for _ in range(rng.randint(2, 40)):
        roll = rng.random()
        if roll < 0.05:
            kind = rng.choice(KINDS)
        elif roll < 0.1:
            fmt = rng.choice(FORMATS)
        elif roll < 0.12:
            second = not second
        elif roll < 0.14:
            style = rng.choice([(",", ":"), (", ", ": ")])
        elif roll < 0.16:
            ascii_only = not ascii_only
        if rng.random() < 0.6:  # else the same fragment again: the template's own string
            text = rng.choice(FRAGMENTS)
        delta: dict[str, Any] = {
            "content": "",
            "reasoning": text,
            "reasoning_details": details(rng, kind, fmt, text, second),
        }
        if rng.random() < 0.05:
            delta = {"reasoning_details": delta["reasoning_details"], "content": "x"}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        chunk = {
            "id": "g",
            "provider": "P",
            "model": "m",
            "object": "chat.completion.chunk",
            "created": 1,
            "choices": [choice],
        }
        payloads.append(json.dumps(chunk, separators=style, ensure_ascii=ascii_only))
    if rng.random() < 0.1:
        at = rng.randrange(len(payloads))
        payloads[at] = payloads[at][: rng.randrange(len(payloads[at]))]  # cut short: an error
    encoded = [p.encode("utf-8", "surrogatepass") for p in payloads]
    return b"".join(b"data: " + p + b"\n\n" for p in encoded), encoded


def merged(backend: ssedelta.Backend, pieces: list[bytes], snapshots: bool) -> Any:
    merger = backend.DeltaMerger()
    seen = []
    try:
        for piece in pieces:
            merger.feed(piece)
            if snapshots:
                seen.append(merger.snapshot().to_dict())
        return ("ok", merger.finish().to_dict(), seen)
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, exc.offset, exc.event_index, merger.snapshot().to_dict(), seen)


def split(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), split_seed=st.integers(0, 2**16), snapshots=st.booleans())
def test_backends_agree_on_values_a_template_compared(seed: int, split_seed: int, snapshots: bool) -> None:
    data, _ = stream(seed)
    pieces = split(data, random.Random(split_seed))
    assert merged(NATIVE, pieces, snapshots) == merged(PYTHON, pieces, snapshots)


def frame(texts: list[str], kinds: list[str]) -> bytes:
    chunks = [
        {"id": "g", "choices": [{"index": 0, "delta": {"content": "", "reasoning_details": [
            {"type": k, "text": t, "format": "f\\n", "index": 0}]}}]}
        for t, k in zip(texts, kinds, strict=True)
    ]  # fmt: skip
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


def test_the_memo_is_applied_without_a_second_comparison_when_the_template_compared_the_value() -> None:
    texts = ["a", '"b"', "a", "\\", "é", "a", "ccc", "a"]
    data = frame(texts, ["reasoning.text"] * len(texts))
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    scanner = merger._sink.scanner
    # The first chunk makes the memo; the second is the first of its shape after a header the
    # scanner holds, the third the second, which becomes a template: from the fourth on, the template
    # compared every value (the sixth is the template's value itself).
    assert scanner.repeated == len(texts) - 1
    assert scanner.repeated_shaped == len(texts) - 3
    item = merger.finish().to_dict()["choices"][0]["message"]["reasoning_details"]
    assert item == [{"type": "reasoning.text", "text": "".join(texts), "format": "f\\n", "index": 0}]
    assert PYTHON.merge(data).to_dict()["choices"][0]["message"]["reasoning_details"] == item


def test_another_type_of_the_same_length_ends_the_memo() -> None:
    texts = ["a", "b", "c", "d", "e", "f"]
    kinds = ["reasoning.text"] * 4 + ["reasoning.txet"] * 2
    data = frame(texts, kinds)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.repeated_shaped == 1  # the fourth chunk; the fifth has another type
    assert merger.finish().to_dict() == PYTHON.merge(data).to_dict()
