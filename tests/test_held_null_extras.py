"""A choice-level unknown key sent as ``null`` on every chunk: both backends merge it alike.

vLLM and Together send ``seed: null`` (and ``stop_reason: null``) on every chunk; the last non-null
value wins, so once the key is held a ``null`` leaves it as it is, and the native merger remembers
that it holds the key until Python code reads or sets the choice's extras. These streams mix such
keys with values, other keys, chunks merged by ``add`` (which reads the extras), snapshots and
splits.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from merge_steps import fed
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

VALUES = [None, None, None, 7, "s", {"a": None}, [], 0, ""]


def chunk_of(rng: random.Random) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": rng.choice([0, 0, 0, 1]), "text": rng.choice(["a", "b"])}
    for key in rng.sample(["seed", "stop_reason", "other"], rng.randint(1, 3)):
        choice[key] = rng.choice(VALUES) if rng.random() < 0.3 else None
    choice["delta"] = {"content": rng.choice(["x", "", "y"])}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), snapshots=st.booleans())
def test_backends_agree_on_null_extras_held(seed: int, snapshots: bool) -> None:
    rng = random.Random(seed)
    shape = chunk_of(rng)
    payloads = []
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.15:
            shape = chunk_of(rng)
        chunk = json.loads(json.dumps(shape))
        chunk["choices"][0]["delta"]["content"] = rng.choice(["x", "", "yy"])
        payloads.append(json.dumps(chunk, separators=(",", ":")).encode())
    adds = {rng.randrange(len(payloads)): chunk_of(rng) for _ in range(rng.randint(0, 3))}
    frames = [b"data: " + payload + b"\n\n" for payload in payloads]
    assert fed(NATIVE, frames, adds, snapshots) == fed(PYTHON, frames, adds, snapshots)


def test_a_null_after_the_extras_were_replaced_sets_the_key_again() -> None:
    def frame(seed: Any) -> bytes:
        chunk = {"id": "c", "choices": [{"index": 0, "seed": seed, "delta": {"content": "x"}}]}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        for _ in range(4):
            merger.feed(frame(None))
        merger.add({"id": "c", "choices": [{"index": 0, "seed": 5, "delta": {}}]})
        for _ in range(3):
            merger.feed(frame(None))
        results.append(merger.finish().to_dict())
    assert results[0] == results[1]
    assert results[0]["choices"][0]["seed"] == 5
