"""A ``content`` sent as typed parts (Mistral's ``thinking`` parts, a word in each chunk) is a
value the native merger's templates let vary: a chunk with the template's bytes but for that
list is replayed, the list checked as a scan checks it (an array, valid JSON). Whatever comes in
its place (parts of another shape, another type, invalid JSON, more keys than a limit allows),
both backends merge the same or raise the same error at the same offset."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

NATIVE = ssedelta.get_backend("native") if not NO_EXTENSIONS else None
PYTHON = ssedelta.get_backend("python")


def frame(content: Any) -> bytes:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "magistral",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def frame_raw(content: bytes) -> bytes:
    """A frame whose content is ``content`` as it is (maybe not JSON)."""
    return frame("@").replace(b'"@"', content)


def thinking(text: str) -> list[dict[str, Any]]:
    return [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]


WORDS = ["Okay", ", the", " user", ' said "hi"', "é😀", "", "\\n", " done"]


def outcome(backend: Any, pieces: list[bytes], options: dict[str, Any] | None = None) -> Any:
    merger = backend.DeltaMerger(**(options or {}))
    try:
        for piece in pieces:
            merger.feed(piece)
        return ("ok", merger.finish().to_dict())
    except ssedelta.SSEDeltaError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "offset", None), merger.snapshot().to_dict())


def test_thinking_parts_are_replayed_from_a_template() -> None:
    data = b"".join(frame(thinking(w)) for w in WORDS)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    message = merger.finish().choices[0].message
    assert message.extras["content_parts"] == [
        {"type": "thinking", "thinking": [{"type": "text", "text": "".join(WORDS)}]}
    ]
    scanner = merger._sink.scanner
    assert scanner.slow == 0
    assert scanner.reused >= len(WORDS) - 3  # all but the chunks that made the template
    assert outcome(NATIVE, [data]) == outcome(PYTHON, [data])


#: What may come where a template holds a list of parts.
OTHERS = [
    b"[]",
    b"[ ]",
    b'[{"type":"text","text":"plain"}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"}]},{"type":"text","text":"t"}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a\\u00e9"}]}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":7}]}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"}],"x":1}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"}]}',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"}]},]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a\\q"}]}]',
    b'[{"type":"thinking","thinking":[{"type":"text","text":"a"}],"type":"x"}]',
    b'{"type":"thinking","thinking":[{"type":"text","text":"a"}]}',
    b'"text"',
    b"null",
    b"7",
    b"[1, 2]",
    b'[{"type":"thinking","thinking":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]',
]


@pytest.mark.parametrize("other", OTHERS)
def test_any_value_in_place_of_the_parts(other: bytes) -> None:
    data = b"".join(frame(thinking(w)) for w in WORDS[:4]) + frame_raw(other) + frame(thinking("after"))
    expected = outcome(PYTHON, [data])
    assert outcome(NATIVE, [data]) == expected
    pieces = [data[i : i + 11] for i in range(0, len(data), 11)]
    assert outcome(NATIVE, pieces) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(OTHERS) + len(WORDS) - 1), min_size=1, max_size=10),
    limit=st.sampled_from([None, 2, 3, 5]),
    seed=st.integers(0, 2**16),
)
def test_backends_agree_on_parts_and_limits(picks: list[int], limit: int | None, seed: int) -> None:
    """Thinking parts mixed with the values above, under a limit on the extras' entries (which
    a list of parts counts into), in random pieces."""
    frames = [frame(thinking(w)) for w in WORDS[:3]]
    for k in picks:
        frames.append(frame(thinking(WORDS[k])) if k < len(WORDS) else frame_raw(OTHERS[k - len(WORDS)]))
    data = b"".join(frames)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    options = {} if limit is None else {"max_extras_keys": limit}
    assert outcome(NATIVE, pieces, options) == outcome(PYTHON, pieces, options)


@pytest.mark.parametrize("limit", [20, 35, 50, 70])
def test_a_longer_list_of_parts_counts_against_the_limit(limit: int) -> None:
    """A replayed list with more parts of new types than the limit on the extras' entries allows
    (which the template's list is far from): the limit is raised at that chunk, as the twin raises it."""
    many = [{"type": f"t{k}"} for k in range(100)]
    data = b"".join(frame(thinking(w)) for w in WORDS[:4]) + frame(many) + frame(thinking("after"))
    options = {"max_extras_keys": limit}
    expected = outcome(PYTHON, [data], options)
    assert expected[0] == "LimitExceededError"
    assert outcome(NATIVE, [data], options) == expected
