"""Unknown choice keys whose string value changes on every chunk (vLLM's choice ``text``) and
unknown delta keys whose number does (its ``token_id``): the newest value is the one read,
whenever it is read (a snapshot, the finished completion), whatever came in between (another
key's value, a value of another kind, ``null``, a chunk merged on the other path), and both
backends agree on every stream and split."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS

KEYS = ["text", "stop_reason", "seed", "d:token_id", "d:n"]  # "d:": a key of the delta


def frame(chunk: dict[str, Any], duplicate: bool = False) -> bytes:
    payload = json.dumps(chunk, ensure_ascii=False).encode()
    if duplicate:  # a repeated key: merged on the path that parses the whole payload
        payload = payload[:-1] + b', "id": "c1"}'
    return b"data: " + payload + b"\n\n"


def chunk(choices: dict[int, dict[str, Any]], content: str = "x") -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": i,
                "delta": {"content": content, **{k[2:]: v for k, v in extras.items() if k.startswith("d:")}},
                **{k: v for k, v in extras.items() if not k.startswith("d:")},
                "finish_reason": None,
            }
            for i, extras in choices.items()
        ],
    }


def last_non_null(updates: list[dict[str, Any]]) -> dict[str, Any]:
    """The extras the rule table gives unknown choice keys: each key's last value that is not
    ``null``, ``null`` when it never had another; keys in the order they came first."""
    out: dict[str, Any] = {}
    for update in updates:
        for key, value in update.items():
            if value is not None or key not in out:
                out[key] = value
    return out


UPDATES = [
    {"text": "a"},
    {"text": 'b\\"c'},
    {"text": "é😀", "stop_reason": "s1"},
    {"text": None},
    {"stop_reason": "s2"},
    {"text": {"o": [1, "two"]}},
    {"text": "d\n"},
    {"text": 7, "stop_reason": None},
    {"text": ""},
    {"text": "last", "stop_reason": "s3"},
]


def test_the_newest_choice_string_is_read_at_every_point(backend: ssedelta.Backend) -> None:
    merger = backend.DeltaMerger()
    for k, update in enumerate(UPDATES):
        merger.feed(frame(chunk({0: update}), duplicate=k == 6))
        if k % 3 == 2:
            read = merger.snapshot().to_dict()["choices"][0]["text"]
            assert read == last_non_null(UPDATES[: k + 1])["text"]
    done = merger.finish().to_dict()["choices"][0]
    expected = last_non_null(UPDATES)
    assert {key: done[key] for key in expected} == expected == {"text": "last", "stop_reason": "s3"}


def test_strings_of_two_choices_in_one_piece(backend: ssedelta.Backend) -> None:
    merger = backend.DeltaMerger()
    body = b"".join(
        frame(chunk({0: {"text": f"a{k}"}, 1: {"text": f"b{k}", "stop_reason": f"r{k}"}})) for k in range(5)
    )
    merger.feed(body)
    choices = merger.finish().to_dict()["choices"]
    assert [(c["text"], c.get("stop_reason")) for c in choices] == [("a4", None), ("b4", "r4")]


TOKEN_IDS = [
    {"d:token_id": 5},
    {"d:token_id": -17, "d:n": 2},
    {"d:token_id": None},
    {"d:n": 1e300},
    {"d:token_id": 2.5e-3},
]


def test_the_newest_delta_number_is_read_at_every_point(backend: ssedelta.Backend) -> None:
    merger = backend.DeltaMerger()
    for k, update in enumerate(TOKEN_IDS):
        merger.feed(frame(chunk({0: update}), duplicate=k == 3))
        if k % 2:
            expected = {key[2:]: v for key, v in last_non_null(TOKEN_IDS[: k + 1]).items()}
            message = merger.snapshot().to_dict()["choices"][0]["message"]
            assert {key: message[key] for key in expected} == expected
    message = merger.finish().to_dict()["choices"][0]["message"]
    assert (message["token_id"], message["n"]) == (2.5e-3, 1e300)


VALUES = st.none() | st.integers(-3, 10**6) | st.text(alphabet='ab"\\é\n', max_size=4) | st.just({"o": 1})
CHOICE_EXTRAS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.dictionaries(st.integers(0, 1), CHOICE_EXTRAS, max_size=2),
            st.integers(0, 9),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**16),
)
def test_backends_agree_on_changing_choice_strings(
    steps: list[tuple[dict[int, Any], int]], seed: int
) -> None:
    """Chunks in random pieces, read now and then (snapshots), some merged on the other path."""
    rng = random.Random(seed)
    pieces: list[tuple[bytes, bool]] = [(frame(chunk(c), duplicate=flag == 0), flag < 4) for c, flag in steps]

    def run(backend: ssedelta.Backend) -> list[Any]:
        merger = backend.DeltaMerger()
        seen = []
        body = b""
        for data, read in pieces:
            body += data
            if read or rng.random() < 0.5:
                merger.feed(body)
                body = b""
                seen.append(merger.snapshot().to_dict() if read else None)
        merger.feed(body)
        seen.append(merger.finish().to_dict())
        return seen

    state = rng.getstate()
    native = run(ssedelta.get_backend("native"))
    rng.setstate(state)
    assert native == run(ssedelta.get_backend("python"))


def test_values_of_large_payloads_are_built_at_once(backend: ssedelta.Backend) -> None:
    """A payload larger than those kept for later (64 KiB): its values are the newest all the same."""
    big = "é" * 40_000
    merger = backend.DeltaMerger()
    merger.feed(frame(chunk({0: {"text": "a", "d:token_id": 1}})))
    merger.feed(frame(chunk({0: {"text": "b", "d:token_id": 2}})))
    merger.feed(frame(chunk({0: {"text": big, "d:token_id": 3}}, content=big)))
    done = merger.finish().to_dict()["choices"][0]
    assert (done["text"], done["message"]["token_id"]) == (big, 3)
    merger = backend.DeltaMerger()
    merger.feed(frame(chunk({0: {"text": big, "d:token_id": 3}}, content=big)))
    merger.feed(frame(chunk({0: {"text": "a", "d:token_id": 1}})))
    done = merger.finish().to_dict()["choices"][0]
    assert (done["text"], done["message"]["token_id"]) == ("a", 1)
