"""Streams merged one after another, or side by side, by mergers whose parts are reused from
earlier ones: each result is the twin's, and the finished completion is settled for the
collector as a traversal would settle it."""

from __future__ import annotations

import gc
import json
import random
from typing import Any

import pytest

import ssedelta
from merge_steps import Finalized

PYTHON = ssedelta.get_backend("python")
HEAD = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m", "system_fingerprint": "fp"}


def frame(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
    return {**HEAD, "choices": [choice], **extra}


TWO = frame([chunk({"role": "assistant", "content": "Hi"}), chunk(finish="stop")])


def long_stream(n: int) -> bytes:
    """``n`` chunks of tool call pieces and content: a tape longer than a short stream's."""
    calls = [
        {"index": k, "id": f"call_{k}", "type": "function", "function": {"name": f"f{k}", "arguments": "{"}}
        for k in range(n)
    ]
    first = chunk({"role": "assistant", "tool_calls": calls})
    return frame([first, chunk({"content": "x" * n}), chunk(finish="tool_calls")])


TOKEN = {"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}
WITH_LOGPROBS = {
    **HEAD,
    "choices": [{"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [TOKEN]}}],
}
TWO_CHOICES = [{"index": 1, "delta": {"content": "b"}}, {"index": 0, "delta": {"content": "a"}}]
ESCAPED = frame([chunk({"role": "assist\\u0061nt", "content": "a"}), chunk(finish="st\\u006fp")])

SHAPES = {
    "two": TWO,
    "top-list": frame([chunk({"content": "a"}, x_list=[1, [2]]), chunk(finish="stop")]),
    "choice-dict": frame([{**HEAD, "choices": [{"index": 0, "delta": {"content": "a"}, "x": {"k": [1]}}]}]),
    "delta-list": frame([chunk({"content": "a", "x_parts": [{"t": "a"}]}), chunk({"x_parts": [{"t": "b"}]})]),
    "logprobs": frame([WITH_LOGPROBS]),
    "two-choices": frame([{**HEAD, "choices": TWO_CHOICES}]),
    "tools": long_stream(3),
    "long": long_stream(60),
    "escaped-role": ESCAPED.replace(b"\\\\u", b"\\u"),  # JSON escapes in the payload
    "other-role-finish": frame([chunk({"role": "tool", "content": "a"}), chunk(finish="eos")]),
    "non-ascii-role": frame([chunk({"role": "assistänt", "content": "a"}), chunk(finish="stöp")]),
}


def test_escaped_named_values_are_decoded():
    result = PYTHON.merge(SHAPES["escaped-role"])
    assert result.choices[0].message.role == "assistant" and result.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("seed", range(3))
def test_streams_one_after_another_merge_as_the_twin(backend, seed):
    rng = random.Random(seed)
    names = [rng.choice(sorted(SHAPES)) for _ in range(40)]
    for name in names:
        assert backend.merge(SHAPES[name]).to_dict() == PYTHON.merge(SHAPES[name]).to_dict(), name


def test_mergers_side_by_side_merge_as_the_twin(backend):
    # Mergers made and dropped while others are half fed: what one leaves behind serves the next.
    rng = random.Random(5)
    live: list[tuple[Any, bytes, int]] = []
    for step in range(200):
        if len(live) < 4 and rng.random() < 0.5:
            data = SHAPES[rng.choice(sorted(SHAPES))]
            live.append((backend.DeltaMerger(), data, 0))
            continue
        if not live:
            continue
        k = rng.randrange(len(live))
        merger, data, at = live[k]
        if rng.random() < 0.1:
            del live[k]  # dropped unfinished
            continue
        cut = min(len(data), at + rng.randrange(1, 200))
        merger.feed(data[at:cut])
        if cut == len(data):
            del live[k]
            assert merger.finish().to_dict() == PYTHON.merge(data).to_dict(), step
        else:
            live[k] = (merger, data, cut)


def referents(obj: Any) -> list[Any]:
    return [r for r in gc.get_referents(obj) if not isinstance(r, type)]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_no_untracked_object_of_a_result_refers_to_a_tracked_one(backend, name):
    result = backend.merge(SHAPES[name])
    seen: set[int] = set()
    todo = [result]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        inner = referents(obj)
        if not gc.is_tracked(obj):
            assert not [r for r in inner if gc.is_tracked(r)], (name, type(obj).__name__)
        todo.extend(inner)


def test_a_plain_result_is_untracked_natively(backend):
    result = backend.merge(TWO)
    parts = [result, result.choices, result.choices[0], result.choices[0].message]
    assert [gc.is_tracked(p) for p in parts] == [backend.name == "python"] * 4


def test_a_cycle_through_a_finished_message_is_collected(backend):
    Finalized.seen = []
    message = backend.merge(TWO).choices[0].message
    sentinel = Finalized("message")
    sentinel.ref = message
    message.extras = {"cycle": sentinel}
    assert gc.is_tracked(message)
    del message, sentinel
    gc.collect()
    assert Finalized.seen == ["message"]


def texts() -> list[str]:
    """Strings of every length up to 19 (a word's 8 bytes, and what is left), ASCII or with one
    character outside it at each place."""
    out = []
    for n in range(20):
        base = "abcdefghijklmnopqrstu"[:n]
        out.append(base)
        out += [base[:k] + c + base[k + 1 :] for k in range(n) for c in ("é", "\x7f", "€", "\U0001f600")]
    return out


@pytest.mark.parametrize("text", texts())
def test_strings_of_any_length_and_bytes_are_decoded_as_the_twin_does(backend, text):
    head = {**HEAD, "id": text, "model": text, "system_fingerprint": text}
    first = {
        **head,
        "choices": [{"index": 0, "delta": {"role": text, "content": text}, "finish_reason": text}],
    }
    data = frame([first, {**head, "choices": [{"index": 0, "delta": {"content": text}, "x": text}]}])
    assert backend.merge(data).to_dict() == PYTHON.merge(data).to_dict()
    assert [c.to_dict() for c in backend.iter_chunks(data)] == [c.to_dict() for c in PYTHON.iter_chunks(data)]
