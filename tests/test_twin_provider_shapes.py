"""OpenRouter- and Together-shaped streams: the twin's shortcuts for them merge as its general path
and as the native merger do.

The twin merges in place a ``reasoning_details`` fragment that continues the item its index last
went to, a number for an unknown delta key already held, and a null choice extra already held. The
streams here send ``reasoning_details`` items whose ``type`` changes at one index, that have no
``index`` (or one that is not an integer), no ``type`` (or one that is not a string), several items
at once, unknown keys and values of every kind at each level (chunk, choice, delta, item), wrong
types that must fail, with the merge options that give ``reasoning_details`` another rule, with
snapshots, ``add`` and reads between chunks, whole and split anywhere. Each is merged by the
native merger, by the twin, and by the twin with its ``reasoning_details`` shortcut turned off.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from merge_steps import Action, merged_between, snapshot, split
from ssedelta._env import NO_EXTENSIONS
from ssedelta.chat import _merge_py

PYTHON = ssedelta.get_backend("python")
NATIVE = None if NO_EXTENSIONS else ssedelta.get_backend("native")

TYPES = ["reasoning.text"] * 12 + ["reasoning.summary", "reasoning.encrypted", None, None, 5, ""]
VALUES = [None, "", "x", "é\\n", 0, 7, -1.5, True, {}, {"a": "b"}, {"a": {"b": None}}, [], [1],
          [{"index": 0}]]  # fmt: skip
OPTIONS = [{}, {}, {}, {"append_keys": ["reasoning_details"]}, {"scalar_keys": ["reasoning_details", "text"]},
           {"scalar_keys": ["format"]}]  # fmt: skip


def unknown(rng: random.Random, into: dict[str, Any], names: list[str]) -> None:
    """Sometimes one more key of ``names`` with any value."""
    if rng.random() < 0.15:
        into[rng.choice(names)] = rng.choice(VALUES)


def item(rng: random.Random) -> Any:
    """One ``reasoning_details`` item: mostly a text fragment at index 0."""
    if rng.random() < 0.03:
        return rng.choice(["text", 3, None])
    out: dict[str, Any] = {}
    kind = rng.choice(TYPES)
    if kind is not None:
        out["type"] = kind
    field = {"reasoning.summary": "summary", "reasoning.encrypted": "data"}.get(kind, "text")  # type: ignore[arg-type]
    out[field] = rng.choice(["a", "bc", "", "é", None])
    if rng.random() < 0.7:
        out["format"] = rng.choice(["anthropic-claude-v1", "anthropic-claude-v1", "other"])
    roll = rng.random()
    if roll < 0.85:
        out["index"] = rng.choice([0, 0, 0, 1])
    elif roll < 0.93:
        out["index"] = rng.choice(["0", None, 1.0, True])
    unknown(rng, out, ["id", "signature", "status", "extra"])
    return out


def delta(rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": rng.choice(["", "", "a", "é"])}
    roll = rng.random()
    if roll < 0.5:
        text = rng.choice(["r", "st", ""])
        out["reasoning"] = text
        out["reasoning_details"] = [item(rng) for _ in range(rng.choice([1, 1, 1, 1, 2]))]
    elif roll < 0.9:
        out["reasoning"] = None
        out["reasoning_details"] = []
    else:
        out["reasoning_details"] = rng.choice([[], None, [1, 2], "text", [{"type": "x"}]])
    if rng.random() < 0.3:
        out["token_id"] = rng.choice([1, 77, 0, -3, 2.5, True, "9", None])
    if rng.random() < 0.02:
        out[rng.choice(["role", "content"])] = 5  # an error
    unknown(rng, out, ["reasoning", "channel", "extra", "type"])
    return out


def chunk(rng: random.Random, index: int) -> bytes:
    choice: dict[str, Any] = {"index": index, "delta": delta(rng), "finish_reason": None,
                              "native_finish_reason": None, "logprobs": None}  # fmt: skip
    if rng.random() < 0.3:  # Together's choice members
        choice["text"] = rng.choice(["a", ""])
        choice["seed"] = rng.choice([None, None, 7228414683750928000])
    if rng.random() < 0.05:
        choice["finish_reason"] = choice["native_finish_reason"] = "stop"
    unknown(rng, choice, ["native_finish_reason", "seed", "stop_reason", "extra"])
    top: dict[str, Any] = {"id": "gen-1", "provider": rng.choice(["Google", "Google", "Anthropic"]),
                           "model": "anthropic/claude", "object": "chat.completion.chunk", "created": 1,
                           "choices": [choice]}  # fmt: skip
    unknown(rng, top, ["provider", "extra"])
    return json.dumps(top, separators=(",", ":"), ensure_ascii=False).encode()


def stream(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    choices = rng.choice([1, 1, 2])
    return [b"data: " + chunk(rng, rng.randrange(choices)) + b"\n\n" for _ in range(rng.randint(2, 40))]


ADDED = {"id": "g", "choices": [{"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text",
         "text": "+", "index": 0}]}}]}  # fmt: skip


def read(merger: Any, seen: list[Any]) -> None:
    if 0 in merger._choices:
        seen.append(repr(_merge_py.finish_value(_merge_py._Merged(merger._choices[0].message_extras))))


ACTIONS: dict[str, Action] = {"snapshot": snapshot, "add": lambda merger, _: merger.add(ADDED), "read": read}


def merged(backend: Any, pieces: list[bytes], between: dict[int, str], options: dict[str, Any]) -> Any:
    return merged_between(backend, pieces, between, ACTIONS, options, snapshot_on_error=True)


def without_shortcut(item_of: Any, value: Any) -> None:
    return None


STEPS = ["snapshot", "add", "read"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    split_seed=st.integers(0, 2**16),
    steps=st.dictionaries(st.integers(0, 45), st.sampled_from(STEPS), max_size=4),
    whole=st.booleans(),
    options=st.sampled_from(OPTIONS),
)
def test_backends_and_the_general_path_agree(
    seed: int, split_seed: int, steps: dict[int, str], whole: bool, options: dict[str, Any]
) -> None:
    frames = stream(seed)
    pieces = frames if whole else split(b"".join(frames), random.Random(split_seed))
    twin = merged(PYTHON, pieces, steps, options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_merge_py, "_continued", without_shortcut)
        assert merged(PYTHON, pieces, steps, options) == twin
    if NATIVE is not None:
        assert merged(NATIVE, pieces, steps, options) == twin


def test_the_streams_reach_the_shortcut_and_each_way_out() -> None:
    """Over these streams the shortcut merges fragments, and declines for each reason it has: an
    item that is not an object, an index that is not an integer, an index with no item yet, another
    type at the index."""
    served, declined = [0], [0]
    kinds: set[str] = set()
    shortcut = _merge_py._continued

    def counting(acc: Any, value: Any) -> Any:
        slot = shortcut(acc, value)
        if slot is not None:
            served[0] += 1
            return slot
        declined[0] += 1
        if type(value) is not dict:
            kinds.add("not an object")
        elif type(value.get("index")) is not int:
            kinds.add("no integer index")
        elif value["index"] not in acc.last:
            kinds.add("a new index")
        else:
            kinds.add("another type")
        return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_merge_py, "_continued", counting)
        for seed in range(200):
            merged(PYTHON, stream(seed), {}, {})
    assert served[0] > 200
    assert kinds == {"not an object", "no integer index", "a new index", "another type"}


def frame(details: list[Any], **delta: Any) -> bytes:
    body = {"role": "assistant", "content": "", **delta, "reasoning_details": details}
    choice = {"index": 0, "delta": body, "finish_reason": None, "native_finish_reason": None}
    top = {"id": "gen-1", "provider": "Google", "model": "m", "object": "chat.completion.chunk", "created": 1,
           "choices": [choice]}  # fmt: skip
    return b"data: " + json.dumps(top, separators=(",", ":")).encode() + b"\n\n"


def test_a_type_change_at_one_index_starts_a_new_item(backend: Any) -> None:
    """Written out: a summary at index 0, its continuation without a type, an encrypted item at
    index 0, a fragment without a type (continuing the encrypted item), then a summary fragment
    again (continuing the first item)."""
    data = b"".join(
        [
            frame([{"type": "reasoning.summary", "summary": "S1", "format": "f", "index": 0}], reasoning="R"),
            frame([{"summary": "S2", "index": 0}], reasoning="R2"),
            frame([{"type": "reasoning.encrypted", "data": "D1", "index": 0}], reasoning=None),
            frame([{"data": "D2", "index": 0}]),
            frame([{"type": "reasoning.summary", "summary": "S3", "index": 0}], token_id=5),
            frame([], reasoning=None, token_id=6),
        ]
    )
    message = backend.merge(data).to_dict()["choices"][0]["message"]
    assert message["reasoning"] == "RR2"
    assert message["token_id"] == 6
    assert message["reasoning_details"] == [
        {"type": "reasoning.summary", "summary": "S1S2S3", "format": "f", "index": 0},
        {"type": "reasoning.encrypted", "data": "D1D2", "index": 0},
    ]
