"""The objects in a delta: both backends merge them alike.

``annotations`` are appended. The legacy ``function_call`` and ``audio`` are merged by their
tables (``FUNCTION_CALL``, ``AUDIO``): a name or an id set once (the first non-empty string),
``arguments``, ``data`` and ``transcript`` concatenated, any other key by its value. A ``content``
sent as a list of typed parts (Mistral's ``text`` and ``thinking`` parts) has its text parts
appended to the content, and its other parts merged into the previous part of the same type, their
nested part lists likewise. The native scanner reads all of these itself; what it must refuse (a
wrong type, a repeated key, an ``expires_at`` that is not an integer) takes the twin's path, which
raises the same error at the same offset. These streams mix every value kind of every key, repeat
chunks (so that the native merger replays a template with new strings), and cut the bytes anywhere.
"""

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

FRAGMENTS = ["", "a", "bc", ' "q" ', "\\", "é", "😀", "\u2028", "\n", '{"x": [1, 2]}']
MISSING = object()
ONCE_VALUES = ["", None, "f", "get_weather", "é", MISSING]
OTHER_VALUES = [None, 0, -3, 1.5, True, "s", [], [1, "a"], {}, {"k": "v", "n": {"m": None}}, 10**20]
EXPIRES = [1729000000, None, 0, MISSING]
WRONG = [1, 1.5, True, [], {}, "x"]  # a value of a wrong type for some key


def named_value(kind: str, rng: random.Random, wrong: bool) -> dict[str, Any]:
    keys = ["name", "arguments"] if kind == "function_call" else ["id", "data", "transcript", "expires_at"]
    value: dict[str, Any] = {}
    for key in rng.sample(keys, rng.randint(0, len(keys))):
        if key in ("name", "id"):
            picked: Any = rng.choice(ONCE_VALUES)
        elif key == "expires_at":
            picked = rng.choice(EXPIRES)
        else:
            picked = rng.choice([*FRAGMENTS, None, MISSING])
        if picked is not MISSING:
            value[key] = picked
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        value[rng.choice(["x", "index", "type", "status", "nested"])] = rng.choice(OTHER_VALUES)
    if wrong:
        value[rng.choice(keys)] = rng.choice(WRONG)
    return value


PART_TYPES = ["text", "thinking", "te\\u0078t", "image_url", None, 3]


ANNOTATION = {
    "type": "url_citation",
    "url_citation": {"url": "u", "title": "é", "start_index": 0, "end_index": 1},
}


def part(rng: random.Random, depth: int = 0) -> Any:
    """A content part: typed text, thinking with a nested list of parts, or something odd."""
    kind = rng.choice(PART_TYPES)
    if rng.random() < 0.05:
        return rng.choice(["x", 1, None, []])
    value: dict[str, Any] = {} if kind is None else {"type": kind}
    if kind == "thinking" and depth < 3:
        value["thinking"] = [part(rng, depth + 1) for _ in range(rng.choice([0, 1, 1, 2]))]
    else:
        value[rng.choice(["text", "text", "url", "data"])] = rng.choice([*FRAGMENTS, None, 7, {"u": "v"}])
    if rng.random() < 0.1:
        value["extra"] = rng.choice(OTHER_VALUES)
    return value


def content(rng: random.Random) -> Any:
    if rng.random() < 0.15:
        return rng.choice([None, "plain", ""])
    return [part(rng) for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))]


def chunk(delta: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-x",
        "choices": [{"index": index, "delta": delta, "finish_reason": None}],
    }


def encode(obj: dict[str, Any], style: int) -> bytes:
    if style == 0:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps(obj, ensure_ascii=True).encode()


def stream(seed: int) -> bytes:
    rng = random.Random(seed)
    style = rng.randint(0, 1)
    shapes = [
        rng.choice(["function_call", "audio", "content", "annotations"]) for _ in range(rng.randint(1, 2))
    ]
    out = []
    for _ in range(rng.randint(1, 12)):
        delta: dict[str, Any] = {}
        if rng.random() < 0.2:
            delta["role"] = "assistant"
        for kind in shapes:
            if kind == "content":
                delta[kind] = content(rng)
            elif kind == "annotations":
                delta[kind] = rng.choice([None, [], "x", [ANNOTATION], [ANNOTATION, 1, None], [{"k": [{}]}]])
            elif rng.random() < 0.9:
                delta[kind] = None if rng.random() < 0.05 else named_value(kind, rng, rng.random() < 0.04)
        payload = encode(chunk(delta, rng.choice([0, 0, 0, 1])), style).replace(b"\\\\u0078", b"\\u0078")
        if rng.random() < 0.05 and b'"name":' in payload:  # a repeated key: the twin's path
            payload = payload.replace(b'"name":', b'"name":"dup","name":', 1)
        repeat = rng.choice([1, 1, 2, 4])  # the same shape again, for the template
        out.extend([b"data: " + payload + b"\n\n"] * repeat)
    if rng.random() < 0.05:
        at = rng.randrange(len(out))
        out[at] = out[at][: len(out[at]) // 2] + b"\n\n"
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def split(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 6))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def merged(backend: ssedelta.Backend, pieces: list[bytes], snapshot_at: int) -> Any:
    merger = backend.DeltaMerger()
    seen = None
    try:
        for k, piece in enumerate(pieces):
            merger.feed(piece)
            if k == snapshot_at:
                seen = merger.snapshot().to_dict()
        return ("ok", seen, merger.finish().to_dict())
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, str(exc), exc.offset, exc.event_index, seen, merger.snapshot().to_dict())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(0, 2**16))
def test_backends_agree_on_named_objects(seed: int, cut: int) -> None:
    data = stream(seed)
    rng = random.Random(cut)
    pieces = split(data, rng)
    at = rng.randint(-1, len(pieces))
    native = merged(NATIVE, pieces, at)
    assert native == merged(PYTHON, pieces, at)
    assert without_snapshot(native) == without_snapshot(merged(PYTHON, [data], -1))


def without_snapshot(result: Any) -> Any:
    """A merge's result without the snapshot taken on the way (which depends on the pieces)."""
    return result[:1] + result[2:] if result[0] == "ok" else result[:4] + result[5:]


def deltas_of(kind: str, values: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + encode(chunk({kind: v}), 0) + b"\n\n" for v in values) + b"data: [DONE]\n\n"


def test_function_call_fragments_are_concatenated_and_the_name_set_once() -> None:
    args = ['{"lo', 'cation"', ': "Paris', ', \\"FR\\""}']
    data = deltas_of(
        "function_call",
        [{"name": "", "arguments": ""}, {"name": "get_weather", "arguments": ""}]
        + [{"arguments": a} for a in args]
        + [{"name": "other", "arguments": None}],
    )
    for backend in (NATIVE, PYTHON):
        merger = backend.DeltaMerger()
        merger.feed(data)
        message = merger.finish().choices[0].message
        assert message.function_call.name == "get_weather"
        assert message.function_call.arguments == "".join(args)
    native = NATIVE.DeltaMerger()
    native.feed(data)
    assert native._sink.scanner.slow == 0  # read by the native scanner, not the twin's path


def test_audio_data_and_transcript_are_concatenated() -> None:
    parts = [("UklG", "Hel"), ("RiQA", "lo "), ("AABX", "wörld")]
    data = deltas_of(
        "audio",
        [{"id": "audio_1", "data": d, "transcript": t, "expires_at": 1729000000} for d, t in parts]
        + [{"id": "audio_2", "custom": {"k": [1]}}],
    )
    for backend in (NATIVE, PYTHON):
        audio = backend.merge(data).choices[0].message.audio
        assert audio.id == "audio_1"
        assert audio.data == "UklGRiQAAABX"
        assert audio.transcript == "Hello wörld"
        assert audio.expires_at == 1729000000
        assert audio.extras == {"custom": {"k": [1]}}
    native = NATIVE.DeltaMerger()
    native.feed(data)
    assert native._sink.scanner.slow == 0


@pytest.mark.parametrize("bad", [b"1.5", b"true", b'"soon"', b"[]"])
def test_an_expires_at_that_is_not_an_integer_is_refused_alike(bad: bytes) -> None:
    data = deltas_of("audio", [{"id": "a", "data": "x"}]).replace(
        b'"data":"x"', b'"data":"x","expires_at":' + bad
    )
    errors = []
    for backend in (NATIVE, PYTHON):
        with pytest.raises(ssedelta.InvalidChunkError) as caught:
            backend.merge(data)
        errors.append((str(caught.value), caught.value.offset, caught.value.event_index))
    assert errors[0] == errors[1]
    assert "expires_at" in errors[0][0]


def test_thinking_parts_are_merged_into_one_and_text_parts_go_to_the_content() -> None:
    words = ["Okay", ", the", " user", ' said \\"hi\\"']
    data = b"".join(
        b"data: "
        + encode(chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": w}]}]}), 0)
        + b"\n\n"
        for w in words
    ) + b"".join(
        b"data: " + encode(chunk({"content": [{"type": "text", "text": w}]}), 0) + b"\n\n"
        for w in ["Hel", "lo"]
    )
    for backend in (NATIVE, PYTHON):
        message = backend.merge(data).choices[0].message
        assert message.content == "Hello"
        assert message.extras["content_parts"] == [
            {"type": "thinking", "thinking": [{"type": "text", "text": "".join(words)}]}
        ]
    native = NATIVE.DeltaMerger()
    native.feed(data)
    assert native._sink.scanner.slow == 0
