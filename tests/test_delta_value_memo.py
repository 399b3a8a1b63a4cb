"""An unknown delta value repeated with other strings to concatenate: both backends merge it alike.

Providers send one unknown delta value again and again with only its text fragments changed
(OpenRouter's ``reasoning_details``: one typed item whose ``text`` goes on). The native merger
merges such a value once in full and then appends the new fragments only, as long as nothing
else changed what that merge made. These streams repeat a value shape with new fragments, and
mix in what must end that: a value whose other members change, items without a ``type`` (which
go where the item before went), lists that are appended, more fragments than are kept, the key
sent as a string, as ``null`` or as a value the native scanner does not read itself, chunks the
native merger hands to the twin's path, a second key, snapshots, ``add`` and errors.
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

FRAGMENTS = ["", "a", "bc", ' "q" ', "\\", "é", "😀", "\u2028", "\n", "x" * 40]


def shape_value(shape: int, rng: random.Random) -> Any:
    """A value of shape ``shape`` with fresh fragments in the strings a merge concatenates."""

    def text() -> str:
        return rng.choice(FRAGMENTS)

    if shape == 0:  # OpenRouter's reasoning_details
        return [{"type": "reasoning.text", "text": text(), "format": "anthropic-claude-v1", "index": 0}]
    if shape == 1:  # a second item at the same index, of another type
        return [
            {"type": "reasoning.text", "text": text(), "index": 0},
            {"type": "reasoning.encrypted", "data": text(), "index": 0, "n": 1.5, "ok": True},
        ]
    if shape == 2:  # an item without a type: it continues the item the last one at its index went to
        return [{"index": 0, "text": text()}, {"type": "reasoning.summary", "summary": text(), "index": 0}]
    if shape == 3:  # nested objects, scalars of every kind
        return {"a": {"b": text(), "c": 1, "d": None}, "e": [], "f": {}, "g": False, "h": text()}
    if shape == 4:  # lists that are appended
        return {"annotations": [{"url": text()}], "items": [1, text()]}
    if shape == 5:  # a string whose rule is the last value: it changes the value's fixed bytes
        return {"type": text(), "text": text()}
    if shape == 6:  # more fragments than a memo keeps
        return {f"k{i}": text() for i in range(10)}
    if shape == 7:
        return []
    if shape == 8:  # the key's value as a string, concatenated onto what the key holds
        return text()
    if shape == 9:
        return None
    if shape == 10:  # an escaped key: the native scanner has the JSON parser read this value
        return {'k"q': text(), "text": text()}
    return [{"type": "reasoning.text", "text": text(), "index": rng.choice([0, 1])}]


def chunk_of(rng: random.Random, shape: int, key: str) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": rng.choice(FRAGMENTS), key: shape_value(shape, rng)}
    roll = rng.random()
    if roll < 0.08:
        delta["meta"] = shape_value(rng.choice([0, 3]), rng)  # a second unknown key
    elif roll < 0.12:
        delta["audio"] = {"transcript": "t"}  # the native scanner hands this chunk to the twin's path
    choice = {"index": rng.choice([0, 0, 0, 1]), "delta": delta, "finish_reason": None}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


def stream(seed: int) -> tuple[bytes, list[bytes]]:
    """The stream's bytes, and its payloads."""
    rng = random.Random(seed)
    payloads = []
    shape = rng.randrange(12)
    key = rng.choice(["reasoning_details", "reasoning_details", "meta"])
    for _ in range(rng.randint(1, 40)):
        if rng.random() < 0.12:
            shape = rng.randrange(12)
        style = rng.choice([(",", ":"), (", ", ": ")])
        chunk = chunk_of(rng, shape, key)
        payloads.append(json.dumps(chunk, separators=style, ensure_ascii=rng.random() < 0.2))
    if rng.random() < 0.1:
        at = rng.randrange(len(payloads))
        payloads[at] = payloads[at][: rng.randrange(len(payloads[at]))]  # cut short: an error
    encoded = [p.encode("utf-8", "surrogatepass") for p in payloads]
    return b"".join(b"data: " + p + b"\n\n" for p in encoded) + b"data: [DONE]\n\n", encoded


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


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), split_seed=st.integers(0, 2**16), snapshots=st.booleans())
def test_backends_agree_on_repeated_delta_values(seed: int, split_seed: int, snapshots: bool) -> None:
    data, _ = stream(seed)
    pieces = split(data, random.Random(split_seed))
    assert merged(NATIVE, pieces, snapshots) == merged(PYTHON, pieces, snapshots)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), added=st.integers(0, 40))
def test_a_chunk_added_between_feeds_is_merged_alike(seed: int, added: int) -> None:
    """``add`` merges a chunk by the twin's rules into the state a memo was made from."""
    _, payloads = stream(seed)
    rng = random.Random(seed)
    chunk = chunk_of(rng, rng.randrange(12), "reasoning_details")
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        try:
            for k, payload in enumerate(payloads):
                merger.feed(b"data: " + payload + b"\n\n")
                if k == added % len(payloads):
                    merger.add(chunk)
            results.append(("ok", merger.finish().to_dict()))
        except ssedelta.SSEDeltaError as exc:
            results.append((type(exc).__name__, str(exc)))
    assert results[0] == results[1]


def test_openrouter_reasoning_details_are_merged_again_by_the_memo() -> None:
    rng = random.Random(5)
    texts = [rng.choice(FRAGMENTS) for _ in range(30)]
    chunks = [
        {"id": "g", "choices": [{"index": 0, "delta": {"content": "", "reasoning": t, "reasoning_details": [
            {"type": "reasoning.text", "text": t, "format": "anthropic-claude-v1", "index": 0}]}}]}
        for t in texts
    ]  # fmt: skip
    data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.repeated == len(texts) - 1
    message = merger.finish().to_dict()["choices"][0]["message"]
    expected = {"type": "reasoning.text", "text": "".join(texts), "format": "anthropic-claude-v1", "index": 0}
    assert message["reasoning_details"] == [expected]
    assert message == PYTHON.merge(data).to_dict()["choices"][0]["message"]


@pytest.mark.parametrize("between", ["twin", "add", "native"])
def test_a_fingerprint_after_choices_changed_on_another_path_is_set_again(between: str) -> None:
    """Azure's key order (``choices`` first): the last ``system_fingerprint`` wins, whichever path
    merged the chunk that changed it."""

    def chunk(fingerprint: str, delta: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"delta": delta, "index": 0}], "id": "c", "system_fingerprint": fingerprint}

    def frame(c: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(c).encode() + b"\n\n"

    other = chunk(
        "fp_b", {"content": "x", "audio": {"transcript": "t"}} if between == "twin" else {"content": "x"}
    )
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        merger.feed(b"".join(frame(chunk("fp_a", {"content": t})) for t in "abc"))
        if between == "add":
            merger.add(other)
        else:
            merger.feed(frame(other))
        merger.feed(frame(chunk("fp_a", {"content": "d"})))
        assert merger.snapshot().system_fingerprint == "fp_a"
        merger.feed(frame(chunk("fp_a", {"content": "e"})))
        results.append(merger.finish().to_dict())
    assert results[0] == results[1]
    assert results[0]["system_fingerprint"] == "fp_a"


def test_a_template_that_refused_a_payload_is_not_replayed() -> None:
    """A template slot that refused a payload half-way (here a payload with an escaped key, whose
    tokens it cannot replay) kept the old payload with the new spans: a later payload matching
    the old one took its content from the wrong bytes."""
    _, payloads = stream(429236929)
    data = b"".join(b"data: " + payloads[i] + b"\n\n" for i in (0, 1, 2, 10, 19, 20, 21))
    assert NATIVE.merge(data).to_dict() == PYTHON.merge(data).to_dict()
