"""Keys of every length and spacing, and many unknown keys, merged by both backends alike.

The native scanner reads a short compact key (under 24 bytes, its colon right after it, not near
the payload's end) on a fast path and any other key by the general reader; it finds the ``str`` of
an unknown key by a hash of its bytes, first among the keys of its stream, then among those of
streams merged before. The twin, which merges from parsed JSON, is the reference; the native merger
is fed each stream whole and split at random, after other streams that filled its shared keys.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest

import ssedelta
from ssedelta._env import NO_EXTENSIONS

PYTHON = ssedelta.get_backend("python")
HEAD = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m"}


def outcome(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    try:
        for piece in pieces:
            merger.feed(piece)
        return "ok", backend.to_dict(merger.finish())
    except ssedelta.UpstreamError as exc:
        return "upstream", exc.offset, backend.to_dict(exc.partial)
    except ssedelta.StreamFormatError as exc:
        return type(exc).__name__, str(exc), exc.offset, exc.event_index, backend.to_dict(merger.snapshot())


def splits(body: bytes, rng: random.Random) -> list[list[bytes]]:
    cuts = sorted(rng.sample(range(1, len(body)), min(4, len(body) - 1)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return [[body], pieces]


def agree(backend: ssedelta.Backend, body: bytes, rng: random.Random) -> Any:
    expected = outcome(PYTHON, [body])
    for pieces in splits(body, rng):
        assert outcome(backend, pieces) == expected
    return expected


def frame(payloads: list[str]) -> bytes:
    return b"".join(b"data: " + p.encode() + b"\n\n" for p in payloads) + b"data: [DONE]\n\n"


def name(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "_-. ") for _ in range(length))


SPACES = ["", " ", "\t", " \t  "]  # no line break: it would end the data line


def dump(value: Any, rng: random.Random, spaced: bool) -> str:
    """``value`` as JSON, compact or (``spaced``) with random white space around each colon."""
    if isinstance(value, list):
        return "[" + ",".join(dump(item, rng, spaced) for item in value) + "]"
    if not isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    members = []
    for key, item in value.items():
        before, after = (rng.choice(SPACES), rng.choice(SPACES)) if spaced else ("", "")
        members.append(json.dumps(key) + before + ":" + after + dump(item, rng, spaced))
    return "{" + ",".join(members) + "}"


def choice_payload(rng: random.Random, extras: list[tuple[str, Any]], spaced: bool, finish: Any) -> str:
    """A chunk with ``extras`` spread over the delta, the choice and the top level."""
    delta = {"content": rng.choice(["a", "bc", ""]), **dict(extras[:2])}
    choice = {"index": 0, **dict(extras[2:4]), "delta": delta, "finish_reason": finish}
    return dump({**HEAD, "choices": [choice], **dict(extras[4:])}, rng, spaced)


@pytest.mark.parametrize("seed", range(60))
def test_keys_of_every_length_and_spacing(backend, seed):
    rng = random.Random(seed)
    payloads = []
    for k in range(rng.randint(1, 5)):
        spaced = rng.random() < 0.3
        extras = [
            (
                f"x{name(rng, rng.choice([0, 1, 6, 7, 8, 14, 15, 16, 21, 22, 23, 24, 30]))}",
                rng.choice([1, "v", None, {"a": [1, "b"]}, [True]]),
            )
            for _ in range(rng.randint(0, 6))
        ]
        payloads.append(choice_payload(rng, extras, spaced, "stop" if k == 4 else None))
    agree(backend, frame(payloads), rng)


@pytest.mark.parametrize("length", [0, 1, 6, 7, 8, 9, 15, 16, 17, 22, 23, 24, 25, 31, 32, 33])
@pytest.mark.parametrize("tail", [0, 1, 2, 8, 16, 18, 24, 25, 26, 27, 40])
def test_an_unknown_key_near_the_payload_end(backend, length, tail):
    """The last key of a payload, followed by a value of ``tail`` bytes or so: the fast path needs
    the key's colon and two words within the payload."""
    key = ("k" * length)[:length]
    value = "s" * max(tail - 2, 0)
    body = frame(
        [
            json.dumps(
                {**HEAD, "choices": [{"index": 0, "delta": {"content": "a"}}], key: value},
                separators=(",", ":"),
            )
        ]
    )
    result = agree(backend, body, random.Random(length * 100 + tail))
    assert result[0] == "ok"
    assert result[1][key] == value  # unknown top-level keys are the result's own


@pytest.mark.parametrize("key", ["x\\u0061", "caf\u00e9", 'a\\"b', "tab\\tkey", "new\nline"])
def test_keys_the_fast_path_does_not_take(backend, key):
    raw = "{" + '"id":"c1","choices":[{"index":0,"delta":{"content":"a"}}],"' + key + '":1}'
    agree(backend, frame([raw]), random.Random(3))


def colliding(n: int) -> list[str]:
    """``n`` keys of one length with the same first, middle and last byte: one hash for all."""
    return [f"a{i:04d}m{i:04d}z" for i in range(n)]


@pytest.mark.parametrize("n", [2, 40, 70, 140])
def test_many_keys_and_keys_of_one_hash(backend, n):
    """More keys than a scanner keeps (64) and than its table has slots (128), all in one probe
    chain or spread, at every level, merged over several chunks."""
    rng = random.Random(n)
    keys = colliding(n) if n % 20 else [name(rng, rng.randint(1, 20)) for _ in range(n)]
    keys = list(dict.fromkeys(keys))
    payloads = []
    for k in range(3):
        top = {key: k for key in keys[k::3]}
        inner = {key: [k] for key in keys[::5]}
        delta = {"content": str(k), **{key: {"t": k} for key in keys[::7]}}
        choice = {"index": 0, "delta": delta, **inner}
        payloads.append(json.dumps({**HEAD, "choices": [choice], **top}, separators=(",", ":")))
    result = agree(backend, frame(payloads), rng)
    assert result[0] == "ok"
    assert {k: result[1][k] for k in keys[0::3]} == {k: 0 for k in keys[0::3]}


def test_streams_that_share_slots_one_after_another(backend):
    """Streams whose keys take the same shared slots in turn: each key is its own in every result."""
    rng = random.Random(7)
    for round_ in range(6):
        keys = [f"k{round_}_{i}" for i in range(300)] + colliding(5)
        rng.shuffle(keys)
        body = frame(
            [
                json.dumps(
                    {
                        **HEAD,
                        "choices": [{"index": 0, "delta": {"content": "a"}}],
                        **{key: i for i, key in enumerate(keys[:50])},
                    },
                    separators=(",", ":"),
                ),
                json.dumps({**HEAD, "choices": [], **{key: -i for i, key in enumerate(keys[50:90])}}),
            ]
        )
        result = agree(backend, body, rng)
        expected = {**{k: i for i, k in enumerate(keys[:50])}, **{k: -i for i, k in enumerate(keys[50:90])}}
        assert {k: result[1][k] for k in expected} == expected


@pytest.mark.skipif(NO_EXTENSIONS, reason="the native scanner's counters")
def test_compact_and_spaced_keys_are_merged_by_the_scanner():
    native = ssedelta.get_backend("native")
    rng = random.Random(11)
    extras = [
        ("x_short", 1),
        ("x_fifteen_bytes", {"a": 1}),
        ("x_sixteen__bytes", "s"),
        ("x_twenty_three___bytes", 2),
        ("x" * 40, [1]),
    ]
    for spaced in (False, True):
        body = frame([choice_payload(rng, extras, spaced, None) for _ in range(3)])
        merger = native.DeltaMerger()
        merger.feed(body)
        assert (merger._sink.scanner.fast, merger._sink.scanner.slow) == (3, 0)
        assert outcome(native, [body]) == outcome(PYTHON, [body])
