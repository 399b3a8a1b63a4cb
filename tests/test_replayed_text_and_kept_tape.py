"""Streams whose chunks are replayed from templates in a row, and delta strings concatenated into the
message's extras: both backends merge them alike.

While one template serves chunk after chunk, the native scanner keeps its tape and writes only the
spans that moved and the values that vary; a value that differed from the template's last time is
not compared whole first. A delta string the chat models do not name (DeepSeek's
``reasoning_content``, OpenRouter's ``reasoning``) is appended to the text buffer it went to last,
until another merge of that key or Python code reading the extras comes in between. These streams
take turns between shapes (more than the templates kept), vary lengths before and after other
values (so spans move, or move back), send the key as a string, ``null``, a number, an object, a
list, with escapes, in two choices side by side, with snapshots, ``add`` and the extras read or
replaced between chunks, split anywhere.
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

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

FRAGMENTS = ["", "a", "bc", "abc", ' "q" ', "\\", "é", "😀", "\n", "x" * 30]


def value(rng: random.Random) -> Any:
    """What the key ``reasoning`` is sent as: mostly a fragment to concatenate."""
    roll = rng.random()
    if roll < 0.75:
        return rng.choice(FRAGMENTS)
    if roll < 0.82:
        return None
    if roll < 0.87:
        return rng.choice([1, -2.5, 0])
    if roll < 0.92:
        return {"text": rng.choice(FRAGMENTS)}
    if roll < 0.96:
        return [rng.choice(FRAGMENTS)]
    return True


def details(rng: random.Random) -> list[dict[str, Any]]:
    items = [{"type": "reasoning.text", "text": rng.choice(FRAGMENTS), "index": rng.choice([0, 0, 0, 1])}]
    if rng.random() < 0.2:
        items.append({"type": "reasoning.encrypted", "data": rng.choice(FRAGMENTS), "index": 0})
    if rng.random() < 0.1:
        items.append({"type": "reasoning.summary", "summary": "s"})  # no index: appended
    return items


def chunk(rng: random.Random, shape: int, index: int) -> dict[str, Any]:
    """One chunk of shape ``shape`` (0-5: more shapes than the scanner keeps templates of)."""
    delta: dict[str, Any] = {"content": rng.choice(FRAGMENTS) if shape % 2 else ""}
    if shape != 3:
        delta["reasoning"] = value(rng)
    if shape in (1, 4):
        delta["reasoning_details"] = details(rng)
    if shape == 5:
        delta = {"reasoning_content": rng.choice(FRAGMENTS), **delta}
    choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": None}
    if shape in (2, 4):
        choice["native_finish_reason"] = rng.choice([None, None, "stop"])
    top: dict[str, Any] = {"id": "g", "model": rng.choice(["m", "m", "mm"]), "choices": [choice]}
    if shape == 4:
        top["provider"] = rng.choice(["P", "Provider"])
    return top


def stream(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    shapes = rng.sample(range(6), rng.randint(1, 6))
    choices = rng.choice([1, 1, 2])
    ascii_only = rng.random() < 0.5
    shape = shapes[0]
    payloads = []
    for _ in range(rng.randint(2, 50)):
        if rng.random() < 0.2:
            shape = rng.choice(shapes)
        for index in range(choices) if rng.random() < 0.8 else [rng.randrange(choices)]:
            text = json.dumps(chunk(rng, shape, index), separators=(",", ":"), ensure_ascii=ascii_only)
            payloads.append(text.encode("utf-8", "surrogatepass"))
    if rng.random() < 0.05:
        at = rng.randrange(len(payloads))
        payloads[at] = payloads[at][: rng.randrange(len(payloads[at]))]  # cut short: an error
    return payloads


def message_extras(step: str) -> Action:
    """Read the first choice's message extras, change them, or replace them."""

    def act(merger: Any, seen: list[Any]) -> None:
        state = merger._choices.get(0)
        if state is None:
            return
        if step == "read":
            seen.append(sorted(state.message_extras))
        elif step == "change":
            state.message_extras.pop("reasoning", None)
        else:
            state.message_extras = {"reasoning": "r"}

    return act


ACTIONS: dict[str, Action] = {
    "snapshot": snapshot,
    "add": lambda merger, _: merger.add({"id": "g", "choices": [{"index": 0, "delta": {"reasoning": "+"}}]}),
    **{step: message_extras(step) for step in ("read", "change", "replace")},
}


def merged(backend: Any, pieces: list[bytes], between: dict[int, str], options: dict[str, Any]) -> Any:
    return merged_between(backend, pieces, between, ACTIONS, options)


STEPS = ["snapshot", "add", "read", "change", "replace"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    split_seed=st.integers(0, 2**16),
    steps=st.dictionaries(st.integers(0, 60), st.sampled_from(STEPS), max_size=4),
    scalar=st.booleans(),
    whole=st.booleans(),
)
def test_backends_agree(seed: int, split_seed: int, steps: dict[int, str], scalar: bool, whole: bool) -> None:
    payloads = stream(seed)
    frames = [b"data: " + p + b"\n\n" for p in payloads]
    pieces = frames if whole else split(b"".join(frames), random.Random(split_seed))
    options = {"scalar_keys": ("reasoning",)} if scalar else {}
    assert merged(NATIVE, pieces, steps, options) == merged(PYTHON, pieces, steps, options)


def frames_of(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


def test_a_delta_string_is_concatenated_across_replayed_chunks() -> None:
    texts = ["a", "bc", "\\", "é", "", "x" * 30, "d", '"q"']
    data = frames_of([{"id": "g", "choices": [{"index": 0, "delta": {"content": "", "reasoning_content": t}}]}
                      for t in texts])  # fmt: skip
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.reused >= len(texts) - 3  # the chunks after the first of a shape
    message = merger.finish().to_dict()["choices"][0]["message"]
    assert message["reasoning_content"] == "".join(texts)
    assert message == PYTHON.merge(data).to_dict()["choices"][0]["message"]


@pytest.mark.parametrize("between", ["replace", "set", "number", "object"])
def test_what_comes_between_two_fragments_of_a_delta_string_ends_its_buffer(between: str) -> None:
    def frame(reasoning: Any) -> bytes:
        return frames_of(
            [{"id": "g", "choices": [{"index": 0, "delta": {"content": "", "reasoning": reasoning}}]}]
        )

    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        for text in ("a", "b", "c", "d"):
            merger.feed(frame(text))
        if between == "replace":
            merger._choices[0].message_extras = {"reasoning": "R"}
        elif between == "set":
            merger._choices[0].message_extras["reasoning"] = "R"
        else:
            merger.feed(frame(7 if between == "number" else {"k": "v"}))
        for text in ("e", "f"):
            merger.feed(frame(text))
        message = merger.finish().to_dict()["choices"][0]["message"]
        # A fragment after a value that is not concatenated text (a plain string too) starts the
        # text again: appended to the buffer of "abcd", the fragments would be lost.
        assert message["reasoning"] == "ef"


def test_spans_move_back_when_the_values_before_them_are_the_templates_again() -> None:
    texts = ["aaaa", "b", "aaaa", "ccccccc", "aaaa", "", "aaaa"]
    choices = [
        {
            "index": 0,
            "delta": {"content": t, "reasoning": "r", "x": t},
            "native_finish_reason": None,
            "logprobs": None,
        }
        for t in texts
    ]
    chunks = [{"id": "g", "choices": [c]} for c in choices]
    data = frames_of(chunks)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.reused >= len(texts) - 3
    message = merger.finish().to_dict()["choices"][0]["message"]
    assert (message["content"], message["reasoning"], message["x"]) == (
        "".join(texts),
        "r" * len(texts),
        "".join(texts),
    )
    assert message == PYTHON.merge(data).to_dict()["choices"][0]["message"]


def test_reasoning_details_items_are_finished_in_index_order_then_appended_ones() -> None:
    items = [
        [{"type": "reasoning.text", "text": "b", "index": 1}],
        [{"type": "reasoning.summary", "summary": "s"}],
        [{"type": "reasoning.text", "text": "a", "index": 0}],
        [{"type": "reasoning.encrypted", "data": "e", "index": 0}],
        [{"type": "reasoning.text", "text": "c", "index": 1}],
    ]
    data = frames_of(
        [{"id": "g", "choices": [{"index": 0, "delta": {"reasoning_details": d}}]} for d in items]
    )
    expected = [
        {"type": "reasoning.text", "text": "a", "index": 0},
        {"type": "reasoning.encrypted", "data": "e", "index": 0},
        {"type": "reasoning.text", "text": "bc", "index": 1},
        {"type": "reasoning.summary", "summary": "s"},
    ]
    for backend in (NATIVE, PYTHON):
        assert backend.merge(data).to_dict()["choices"][0]["message"]["reasoning_details"] == expected
