"""Chunks replayed from a template whose choice carries the same unknown object every time (Azure's
``content_filter_results``), a delta number that changes every time (Together's ``token_id``) and
the top-level members after ``choices``: both backends merge them alike.

The native merger does not set such an object again while the chunk's bytes of it are the
template's and the choice's extras were not read, replaced or merged for that key since; it reads
a plain integer in a replayed chunk without a call. These streams send that key as the usual
object, another object, ``{}``, a string, ``null``, a number, an object the scanner hands to the
parser (more than 16 keys), in one or two choices, with numbers of every form (invalid ones too)
and empty or changing top-level members, with snapshots, ``add`` and the extras read, changed,
emptied or replaced between chunks, whole and split anywhere.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import ssedelta
from merge_steps import Action, backends_agree, merged_between, snapshot
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")

SAFE = {"filtered": False, "severity": "safe"}
FILTERS = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
OTHER = {"hate": {"filtered": True, "severity": "high"}, "self_harm": SAFE}
MANY = {f"k{k}": k for k in range(17)}  # more keys than the scanner checks itself
NUMBERS = ["7", "77041", "0", "-0", "-12", "1.5", "2e3", "-1E-2", "123456789012345678", "1234567890123456789",
           "01", "1.", "-", "1e", "00", "- 1", "9" * 30]  # fmt: skip
VALID_NUMBERS = NUMBERS[:10]


def filters(rng: random.Random) -> Any:
    """What ``content_filter_results`` is sent as: mostly the same object."""
    roll = rng.random()
    if roll < 0.7:
        return FILTERS
    return rng.choice([OTHER, {}, "text", None, 3, MANY, [1, "a"], {"hate": SAFE}])


def payload(rng: random.Random, index: int, invalid: bool) -> bytes:
    numbers = NUMBERS if invalid else VALID_NUMBERS
    choice = {"content_filter_results": filters(rng), "delta": {"content": rng.choice(["", "a", "bc", "é"]),
              "token_id": 0}, "finish_reason": None, "index": index, "logprobs": None}  # fmt: skip
    if rng.random() < 0.2:
        del choice["content_filter_results"]
    top: dict[str, Any] = {"choices": [choice]}
    top["created"] = rng.choice([1765226419, 1765226419, 0])
    top["id"] = rng.choice(["chatcmpl-1", "chatcmpl-1", "", "chatcmpl-2"])
    top["model"] = rng.choice(["gpt", "gpt", ""])
    top["system_fingerprint"] = rng.choice(["fp_1", "fp_1", "fp_2"])
    if rng.random() < 0.1:
        top["x_after"] = rng.choice([1, {"a": 1}, None])
    text = json.dumps(top, separators=(",", ":"), ensure_ascii=False)
    return text.replace('"token_id":0', '"token_id":' + rng.choice(numbers)).encode()


def stream(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    choices = rng.choice([1, 1, 2])
    invalid = rng.random() < 0.1
    return [
        payload(rng, index, invalid)
        for _ in range(rng.randint(2, 40))
        for index in (range(choices) if rng.random() < 0.8 else [rng.randrange(choices)])
    ]


def choice_extras(step: str) -> Action:
    """Read, change, empty or replace the first choice's extras."""

    def act(merger: Any, seen: list[Any]) -> None:
        state = merger._choices.get(0)
        if state is None:
            return
        if step == "read":
            seen.append(json.dumps(state.extras, sort_keys=True))
        elif step == "change":
            state.extras["content_filter_results"] = "mine"
        elif step == "pop":
            state.extras.pop("content_filter_results", None)
        else:
            state.extras = {"content_filter_results": {"old": 1}}

    return act


ADDED = {"id": "g", "choices": [{"index": 0, "delta": {}, "content_filter_results": {"x": 1}}]}
ACTIONS: dict[str, Action] = {
    "snapshot": snapshot,
    "add": lambda merger, _: merger.add(ADDED),
    **{step: choice_extras(step) for step in ("read", "change", "pop", "replace")},
}


def merged(backend: Any, pieces: list[bytes], between: dict[int, str]) -> Any:
    return merged_between(backend, pieces, between, ACTIONS)


test_backends_agree = backends_agree(stream, ACTIONS)


def azure(text: str, cfr: Any = FILTERS, **more: Any) -> bytes:
    choice = {"content_filter_results": cfr, "delta": {"content": text}, "finish_reason": None, "index": 0}
    chunk = {"choices": [choice], "created": 1, "id": "c", "model": "m", "system_fingerprint": "fp", **more}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


@pytest.mark.parametrize("between", ["change", "pop", "replace", "string", "parsed", "other", "add"])
def test_what_comes_between_two_replayed_objects_is_merged_over(between: str) -> None:
    """Each way the choice's object can change between two chunks that send the template's bytes of
    it again: the second sets it again, as the twin's merge does."""
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        for text in "abcd":
            merger.feed(azure(text))
        state = merger._choices[0]
        if between == "change":
            state.extras["content_filter_results"] = "mine"
        elif between == "pop":
            del state.extras["content_filter_results"]
        elif between == "replace":
            state.extras = {}
        elif between == "add":
            merger.add({"id": "c", "choices": [{"index": 0, "delta": {}, "content_filter_results": [1]}]})
        else:
            merger.feed(azure("e", {"string": "s", "parsed": MANY, "other": OTHER}[between]))
        for text in "fg":
            merger.feed(azure(text))
        results.append(merger.finish().to_dict())
    assert results[0]["choices"][0]["content_filter_results"] == FILTERS
    assert results[0] == results[1]


def test_a_replayed_object_handed_out_is_set_anew() -> None:
    """An object a snapshot handed out may be changed by its reader: the next chunk that sends it
    again sets a new one, which later replayed chunks then keep."""
    merger = NATIVE.DeltaMerger()
    merger.feed(b"".join(azure(t) for t in "abcdef"))
    assert merger._sink.scanner.reused >= 3
    first = merger.snapshot().choices[0].extras["content_filter_results"]
    first["changed"] = True
    merger.feed(b"".join(azure(t) for t in "ghijkl"))
    assert merger._sink.scanner.reused >= 6
    done = merger.finish()
    assert done.choices[0].extras["content_filter_results"] == FILTERS
    assert done.choices[0].extras["content_filter_results"] is not first
    assert done.choices[0].message.content == "abcdefghijkl"


@pytest.mark.parametrize("number", NUMBERS)
def test_a_replayed_number_is_read_as_the_parser_reads_it(number: str) -> None:
    def frame(text: str, n: str) -> bytes:
        choice = f'{{"index":0,"text":"{text}","delta":{{"token_id":{n},"content":"{text}"}}}}'
        return f'data: {{"id":"t","choices":[{choice}]}}\n\n'.encode()

    data = frame("a", "1") + frame("b", "22") + frame("c", "333") + frame("d", number) + frame("e", "5")
    for pieces in ([data], [data[k : k + 37] for k in range(0, len(data), 37)]):
        assert merged(NATIVE, pieces, {}) == merged(PYTHON, pieces, {})


def test_a_chunk_scanned_whole_sets_the_object_again() -> None:
    """A chunk no template serves (after a chunk the parser merged, which leaves no header to
    compare with) with another object at the same place of its tape: set, though the last chunk
    replayed had the template's bytes there."""
    results = []
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        merger.feed(b"".join(azure(t) for t in "abcd"))
        merger.feed(b'data:  {"choices":[]}\n\n')  # not the scanner's: it begins with a space
        merger.feed(azure("e", OTHER))
        results.append(merger.snapshot().to_dict())
    assert results[0]["choices"][0]["content_filter_results"] == OTHER
    assert results[0] == results[1]
