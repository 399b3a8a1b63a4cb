"""Replayed chunks whose unchanged values are compared in runs, after a header compared once: both
backends merge them alike.

The native scanner compares the values a replayed payload sends as its template did together with
the bytes up to the next value that changed, or up to the payload's end; a template made after a
header hit does not compare the header again; a delta object or array merged again by its memo (an
empty ``reasoning_details`` list included) takes one step from the apply loop. These streams take
Together's and OpenRouter's shapes (changed and unchanged values taking turns) and vary what must
end a run or a template: a key renamed between two values, other bytes after the last value, the
header's id or whitespace, escapes, values that are the template's again, a value cut short, with
snapshots, ``add`` and the extras read or replaced between chunks, split anywhere.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import ssedelta
from merge_steps import Action, backends_agree, snapshot
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

TEXTS = ["", "a", "bc", ' "q" ', "\\", "é", "😀", "\n", "x" * 30]


def together(
    text: str, token: Any, seed_key: str, tail: dict[str, Any], content: str = "content"
) -> dict[str, Any]:
    delta = {"token_id": token, "role": "assistant", content: text}
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": None, seed_key: None,
              "delta": delta}  # fmt: skip
    return {"id": "t-1", "object": "chat.completion.chunk", "created": 1, "choices": [choice],
            "model": "m", "usage": None, **tail}  # fmt: skip


def openrouter(text: str, details: list[Any], head_id: str, provider: str = "P") -> dict[str, Any]:
    delta = {"role": "assistant", "content": "", "reasoning": text or None, "reasoning_details": details}
    choice = {"index": 0, "delta": delta, "finish_reason": None, "native_finish_reason": None,
              "logprobs": None}  # fmt: skip
    return {"id": head_id, "provider": provider, "model": "m", "object": "chat.completion.chunk",
            "created": 1, "choices": [choice]}  # fmt: skip


def stream(seed: int) -> list[bytes]:
    """Payloads that keep one of two shapes for a while, changing one thing now and then."""
    rng = random.Random(seed)
    shape = rng.random() < 0.5
    text, token, seed_key, head_id = rng.choice(TEXTS), 7, "seed", "g-1"
    tail: dict[str, Any] = {}
    style = (",", ":")
    kind = "reasoning.text"
    provider = "P"
    payloads = []
    for _ in range(rng.randint(2, 40)):
        roll = rng.random()
        if roll < 0.06:
            seed_key = rng.choice(["seed", "sEed", "seeds"])  # the bytes between two values
        elif roll < 0.1:
            tail = rng.choice([{}, {"x": 1}, {"x": [1, "é"]}])  # the bytes after the last value
        elif roll < 0.14:
            head_id = rng.choice(["g-1", "g-2", "g-10"])  # the header
            provider = rng.choice(["P", "Q", "PQ"])
        elif roll < 0.16:
            style = rng.choice([(",", ":"), (", ", ": ")])
        elif roll < 0.2:
            kind = rng.choice(["reasoning.text", "reasoning.summary"])
        elif roll < 0.22:
            shape = not shape
        if rng.random() < 0.5:  # else the template's values again
            text = rng.choice(TEXTS)
        if rng.random() < 0.3:
            token = rng.choice([7, 12, -3, 120000, "7", None])
        if shape:
            chunk = together(text, token, seed_key, tail)
        else:
            details = [] if rng.random() < 0.4 else [{"type": kind, "text": text, "index": 0}]
            chunk = openrouter(text, details, head_id, provider)
        payloads.append(json.dumps(chunk, separators=style, ensure_ascii=rng.random() < 0.3))
    if rng.random() < 0.1:
        at = rng.randrange(len(payloads))
        payloads[at] = payloads[at][: rng.randrange(len(payloads[at]))]  # cut short: an error
    return [p.encode("utf-8", "surrogatepass") for p in payloads]


def extras(step: str) -> Action:
    """Read the first choice's and its message's extras, or replace them."""

    def act(merger: Any, seen: list[Any]) -> None:
        state = merger._choices.get(0)
        if state is None:
            return
        if step == "read":
            seen.append((sorted(state.extras), sorted(state.message_extras)))
        else:
            state.extras = {"text": "r"}
            state.message_extras = {"reasoning_details": [{"index": 0, "text": "r"}]}

    return act


ADDED = {"id": "g", "choices": [{"index": 0, "text": "+", "delta": {"reasoning": "+"}}]}
ACTIONS: dict[str, Action] = {
    "snapshot": snapshot,
    "add": lambda merger, _: merger.add(ADDED),
    "read": extras("read"),
    "replace": extras("replace"),
}


test_backends_agree = backends_agree(stream, ACTIONS)


def frames_of(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks)


def test_a_key_renamed_between_two_values_like_the_templates_is_merged() -> None:
    chunks = [together(t, 5, "seed", {}) for t in ["a", "b", "c", "d"]]
    chunks.append(together("e", 5, "sEed", {}))  # the seed and role as the template's, another key
    chunks.append(together("f", 6, "seed", {}))
    data = frames_of(chunks)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.reused >= 2
    choice = merger.finish().to_dict()["choices"][0]
    assert choice["message"]["content"] == "abcdef"
    assert choice["seed"] is None
    assert choice["sEed"] is None
    assert choice["text"] == "f"
    assert choice["message"]["token_id"] == 6
    assert PYTHON.merge(data).to_dict() == merger.finish().to_dict()


def test_a_key_renamed_after_values_like_the_templates_and_before_a_new_one_is_merged() -> None:
    chunks = [together(t, 5, "seed", {}) for t in ["a", "b", "c", "d"]]
    chunks.append(together("e", 5, "seed", {}, "cOntent"))  # the role as the template's, then another key
    chunks.append(together("f", 5, "seed", {}))
    data = frames_of(chunks)
    result = NATIVE.merge(data).to_dict()
    message = result["choices"][0]["message"]
    assert message["content"] == "abcdf"
    assert message["cOntent"] == "e"
    assert PYTHON.merge(data).to_dict() == result


@pytest.mark.parametrize("tail", [{"x": 1}, {"x": "é"}, {"usage2": None}])
def test_other_bytes_after_the_last_value_like_the_templates_are_merged(tail: dict[str, Any]) -> None:
    chunks = [together(t, 5, "seed", {}) for t in ["a", "b", "c", "d"]]
    chunks.append(together("d", 5, "seed", tail))  # every value the template's, then another key
    data = frames_of(chunks)
    result = NATIVE.merge(data).to_dict()
    assert result["choices"][0]["message"]["content"] == "abcdd"
    for key, value in tail.items():
        assert result[key] == value
    assert PYTHON.merge(data).to_dict() == result


def test_payloads_after_a_new_header_are_read_and_their_templates_replayed() -> None:
    ids = ["g-1"] * 5 + ["g-2"] * 5 + ["g-1"] * 5
    texts = [f"t{k}" for k in range(len(ids))]
    chunks = [openrouter(t, [], i) for t, i in zip(texts, ids, strict=True)]
    data = frames_of(chunks)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.reused >= 6
    result = merger.finish().to_dict()
    assert result["id"] == "g-1"
    assert result["choices"][0]["message"]["reasoning"] == "".join(texts)
    assert result["choices"][0]["message"]["reasoning_details"] == []
    assert PYTHON.merge(data).to_dict() == result


def test_an_empty_list_sent_on_every_chunk_is_merged_again_by_its_memo() -> None:
    texts = [f"t{k}" for k in range(8)]
    chunks = [openrouter(t, [], "g") for t in texts]
    chunks.append(openrouter("u", [{"type": "reasoning.text", "text": "u", "index": 0}], "g"))
    data = frames_of(chunks)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    scanner = merger._sink.scanner
    # The first chunk makes the memo; from the fourth on, a template compared the list.
    assert scanner.repeated_shaped >= len(texts) - 3
    message = merger.finish().to_dict()["choices"][0]["message"]
    assert message["reasoning_details"] == [{"type": "reasoning.text", "text": "u", "index": 0}]
    assert message["reasoning"] == "".join(texts) + "u"
    assert PYTHON.merge(data).to_dict()["choices"][0]["message"] == message
