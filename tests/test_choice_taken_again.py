"""A chunk's choice is the one its index names in the merger's choices, whichever choice the
chunk before went to and whatever changed the choices in between: choices that alternate, a
payload the fast path hands on, ``add``, a snapshot, and a caller that replaces the choices
between two feeds, on both backends and at any split."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ssedelta


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def chunk(index: int, delta: dict[str, Any], finish: Any = None) -> dict[str, Any]:
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m"}
    return {**head, "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def contents(result: Any) -> dict[int, Any]:
    return {c["index"]: c["message"]["content"] for c in result.to_dict()["choices"]}


#: (index, content) of each chunk: runs of one choice and choices that alternate.
ORDER = [(0, "a"), (0, "b"), (1, "c"), (0, "d"), (1, "e"), (1, "f"), (2, "g"), (0, "h"), (2, "i")]


def expected_contents() -> dict[int, str]:
    out: dict[int, str] = {}
    for index, text in ORDER:
        out[index] = out.get(index, "") + text
    return out


def stream() -> bytes:
    return b"".join(data(chunk(i, {"content": text})) for i, text in ORDER)


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_alternating_choices_at_any_split(backend, size):
    body = stream()
    merger = backend.DeltaMerger()
    for at in range(0, len(body), size):
        merger.feed(body[at : at + size])
    result = merger.finish()
    assert contents(result) == expected_contents()
    twin = ssedelta.get_backend("python").DeltaMerger()
    twin.feed(body)
    assert result.to_dict() == twin.finish().to_dict()


def test_a_payload_the_fast_path_hands_on_between_two_of_the_same_choice(backend):
    escaped = data(chunk(0, {"content": "x"})).replace(b'"content"', b'"cont\\u0065nt"')
    body = data(chunk(0, {"content": "a"})) + escaped + data(chunk(1, {"content": "b"}))
    body += data(chunk(0, {"content": "c"})) + escaped + data(chunk(0, {"content": "d"}))
    merger = backend.DeltaMerger()
    merger.feed(body)
    assert contents(merger.finish()) == {0: "axcxd", 1: "b"}


def merged_with_calls_between(merger: Any) -> list[Any]:
    seen = []
    merger.feed(data(chunk(0, {"content": "a"})) + data(chunk(1, {"content": "b"})))
    merger.add(chunk(1, {"content": "c"}))
    merger.feed(data(chunk(1, {"content": "d"})))
    seen.append(contents(merger.snapshot()))
    merger.feed(data(chunk(1, {"content": "e"})) + data(chunk(0, {"content": "f"})))
    seen.append(contents(merger.snapshot()))
    merger.feed(data(chunk(0, {"content": "g"})))
    seen.append(contents(merger.finish()))
    return seen


def test_add_and_snapshots_between_feeds(backend):
    seen = merged_with_calls_between(backend.DeltaMerger())
    assert seen == [{0: "a", 1: "bcd"}, {0: "af", 1: "bcde"}, {0: "afg", 1: "bcde"}]
    assert seen == merged_with_calls_between(ssedelta.get_backend("python").DeltaMerger())


def merged_with_choices_replaced(merger: Any) -> dict[int, Any]:
    merger.feed(data(chunk(0, {"role": "assistant", "content": "a"})) + data(chunk(0, {"content": "b"})))
    merger._choices.clear()  # a caller starts the choices again
    merger.feed(data(chunk(0, {"content": "c"})))
    merger._choices.pop(0)
    merger.feed(data(chunk(0, {"content": "d"})) + data(chunk(0, {"content": "e"})))
    return contents(merger.finish())


def test_choices_a_caller_replaced_between_feeds(backend):
    result = merged_with_choices_replaced(backend.DeltaMerger())
    assert result == {0: "de"}
    assert result == merged_with_choices_replaced(ssedelta.get_backend("python").DeltaMerger())
