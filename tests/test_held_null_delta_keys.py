"""A delta-level unknown key sent as ``null`` on many chunks: both backends merge it alike.

OpenRouter sends ``reasoning: null`` on every answer chunk, DeepSeek ``reasoning_content: null``.
A ``null`` adds the key when the message lacks it and otherwise leaves it as it is; the native
merger remembers that the message holds the key until Python code reads or sets the message's
extras. These streams mix such keys with strings, objects, other keys, chunks merged by ``add``,
snapshots and template replays (the same chunk bytes but for the strings).
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

VALUES = [None, None, None, "t", "", {"a": None}, [], 0, 1.5]


def delta_of(rng: random.Random) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": rng.choice(["x", "", "y"])}
    for key in rng.sample(["reasoning", "reasoning_content", "other"], rng.randint(1, 3)):
        delta[key] = rng.choice(VALUES) if rng.random() < 0.3 else None
    return delta


def frame(delta: dict[str, Any], index: int = 0) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": index, "delta": delta, "finish_reason": None}]}  # fmt: skip
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), snapshots=st.booleans())
def test_backends_agree_on_null_delta_keys_held(seed: int, snapshots: bool) -> None:
    rng = random.Random(seed)
    delta = delta_of(rng)
    frames = []
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.15:
            delta = delta_of(rng)
        delta = {**delta, "content": rng.choice(["x", "", "yy"])}
        frames.append(frame(delta, rng.choice([0, 0, 0, 1])))
    adds = {}
    for _ in range(rng.randint(0, 3)):
        added = {"index": rng.choice([0, 1]), "delta": delta_of(rng)}
        adds[rng.randrange(len(frames))] = {"id": "c", "choices": [added]}
    assert fed(NATIVE, frames, adds, snapshots) == fed(PYTHON, frames, adds, snapshots)


def test_a_null_after_a_value_was_added_leaves_the_value() -> None:
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        for text in ("a", "b", "c"):
            merger.feed(frame({"content": text, "reasoning": None}))
        merger.add({"id": "c", "choices": [{"index": 0, "delta": {"reasoning": "r"}}]})
        for text in ("d", "e"):
            merger.feed(frame({"content": text, "reasoning": None}))
        results.append(merger.finish().to_dict())
    assert results[0] == results[1]
    message = results[0]["choices"][0]["message"]
    assert (message["content"], message["reasoning"]) == ("abcde", "r")


@pytest.mark.parametrize("replace", [False, True])
def test_a_null_after_the_key_was_removed_sets_it_again(replace: bool) -> None:
    # The merge state's message extras, as Python code holding them may change them.
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        for text in ("a", "b", "c"):
            merger.feed(frame({"content": text, "reasoning": None}))
        state = merger._choices[0]
        if replace:
            state.message_extras = {"other": 1}
        else:
            del state.message_extras["reasoning"]
        for text in ("d", "e"):
            merger.feed(frame({"content": text, "reasoning": None}))
        results.append(merger.finish().to_dict())
    assert results[0] == results[1]
    assert "reasoning" in results[0]["choices"][0]["message"]
