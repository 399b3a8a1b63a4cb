"""Provider extras at every level of a chunk: both backends merge them alike.

Streams of chunks that carry unknown keys at the top level, in choices, deltas, tool calls,
functions and inside ``reasoning_details`` items, with values of every JSON kind (nested objects,
lists with and without ``index``, types changing at one index, numbers of every form, keys that
are escaped, non-ASCII or repeated), sent as providers send them (one shape repeated with other
strings and values in it, which the native merger replays from a template), in random pieces
and sometimes corrupted: the merged completions, the snapshots after each piece and the errors
(class, offset, event index) must be equal.
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

TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", " ", '"', "\\", "\n", "é", "😀", "\u2028", "/", "\x00"]), max_size=6
)
#: Keys of the rule table's scalar and append lists, of reasoning_details items, and keys the
#: native scanner does not read itself (escaped, non-ASCII).
KEYS = st.sampled_from(
    ["type", "id", "index", "text", "data", "format", "channel", "annotations", "meta", "x", "name"] * 4
    + ["ü", 'k"q']
)
NUMBERS = (
    st.integers(-5, 5)
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.5, -0.0, 1e-7, 1e16, 5e-324, 1.7976931348623157e308])
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT


@st.composite
def indexed_items(draw: Any, inner: Any) -> list[Any]:
    """A list of objects that carry an ``index`` (sometimes not all), types changing at one index."""
    items: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        item: dict[str, Any] = {"index": draw(st.sampled_from([0, 0, 1, 2, -1]))}
        kind = draw(st.sampled_from(["reasoning.text", "reasoning.encrypted", None, 3]))
        if kind is not None:
            item["type"] = kind
        item.update(draw(st.dictionaries(KEYS, inner, max_size=2)))
        if draw(st.integers(0, 9)) == 0:
            item["index"] = draw(st.sampled_from([None, "0", 1.0]))
        items.append(item)
    return items


VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3) | indexed_items(inner)
    ),
    max_leaves=10,
)

TOP_KEYS = st.sampled_from(["provider", "prompt_filter_results", "x_meta", "obfuscation", "object"])
CHOICE_KEYS = st.sampled_from(
    ["content_filter_results", "native_finish_reason", "text", "seed", "stop_reason"]
)
DELTA_KEYS = st.sampled_from(
    ["reasoning_details", "token_id", "reasoning", "channel", "meta", "annotations_x"]
)
TOOL_KEYS = st.sampled_from(["extra_content", "x", "type_x"])
FUNCTION_KEYS = st.sampled_from(["x_meta", "strict"])


def extras(keys: Any) -> Any:
    return st.dictionaries(keys, VALUES, max_size=2)


@st.composite
def shapes(draw: Any) -> dict[str, Any]:
    """One chunk: the shape the stream repeats."""
    chunk: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunk.update(draw(extras(TOP_KEYS)))
    choices = []
    for _ in range(draw(st.integers(0, 2))):
        delta: dict[str, Any] = draw(extras(DELTA_KEYS))
        if draw(st.booleans()):
            delta["content"] = draw(TEXT)
        if draw(st.integers(0, 3)) == 0:
            call: dict[str, Any] = {"index": draw(st.integers(0, 1))}
            call.update(draw(extras(TOOL_KEYS)))
            function = {"arguments": draw(TEXT)}
            function.update(draw(extras(FUNCTION_KEYS)))
            call["function"] = function
            delta["tool_calls"] = [call]
        choice: dict[str, Any] = {"index": draw(st.integers(0, 1)), "delta": delta}
        choice.update(draw(extras(CHOICE_KEYS)))
        choice["finish_reason"] = draw(st.sampled_from([None, None, "stop"]))
        choices.append(choice)
    chunk["choices"] = choices
    chunk.update(
        draw(
            st.dictionaries(
                st.sampled_from(["usage", "x_after", "obfuscation"]), st.none() | TEXT, max_size=2
            )
        )
    )
    return chunk


def varied(value: Any, rng: random.Random, fresh: list[Any], p: float = 0.4) -> Any:
    """``value`` with some strings and numbers replaced (the keys and the nesting kept), now and
    then by a value of another kind."""
    if isinstance(value, dict):
        return {k: v if k == "index" else varied(v, rng, fresh, p) for k, v in value.items()}
    if isinstance(value, list):
        return [varied(v, rng, fresh, p) for v in value]
    if rng.random() < p:
        return rng.choice(fresh)
    return value


def chunk_like(shape: dict[str, Any], rng: random.Random, fresh: list[Any]) -> dict[str, Any]:
    """A chunk of ``shape``; the members before ``choices`` mostly the same, as in a stream."""
    out = {}
    for key, value in shape.items():
        out[key] = varied(value, rng, fresh, 0.4 if key == "choices" else 0.05)
    return out


def encode(chunk: Any, style: int) -> bytes:
    if style == 0:
        text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)
    elif style == 1:
        text = json.dumps(chunk, ensure_ascii=True)
    else:
        text = json.dumps(chunk, separators=(", ", " : "), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def streams(draw: Any) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    fresh = draw(st.lists(SCALARS, min_size=1, max_size=4))
    style = draw(st.integers(0, 2))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(shapes())
        for _ in range(draw(st.integers(1, 8))):
            chunk = chunk_like(shape, rng, fresh)
            payload = encode(chunk, style)
            if rng.random() < 0.05:
                # A repeated key: the JSON parser keeps the last value, where it first came.
                payload = payload[:-1] + b',"id":"dup","provider":{"a":1}}'
            parts.append(b"data: " + payload + b"\n\n")
    if draw(st.booleans()):
        parts.append(b"data: [DONE]\n\n")
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1]))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos : pos + 1] = draw(
            st.sampled_from([b"{", b"}", b'"', b"\\", b",", b"\xff", b"1", b"]", b"e"])
        )
    return bytes(data)


def split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = (
        sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 6))))
        if len(data) > 1
        else []
    )
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def merged(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    snapshots = []
    try:
        for piece in pieces:
            merger.feed(piece)
            snapshots.append(merger.snapshot().to_dict())
        return ("ok", merger.finish().to_dict(), snapshots)
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.offset, exc.event_index, exc.partial.to_dict(), snapshots)
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, exc.offset, exc.event_index, merger.snapshot().to_dict(), snapshots)


@settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=streams(), seed=st.integers(0, 2**16))
def test_backends_agree_on_provider_extras(data: bytes, seed: int) -> None:
    pieces = split(data, seed)
    expected = merged(PYTHON, pieces)
    assert merged(NATIVE, pieces) == expected
    assert merged(NATIVE, [data])[:2] == merged(PYTHON, [data])[:2]


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_native_unknown_values_are_the_json_parsers(value: Any) -> None:
    """A value kept whole (a choice-level extra) is the value the JSON parser reads (the twin's is
    orjson's), whatever its form: the same types, the same float bits."""
    for style in range(3):
        chunk = {"choices": [{"index": 0, "delta": {}, "x": value}]}
        data = b"data: " + encode(chunk, style) + b"\n\n"
        got = NATIVE.merge(data).choices[0].extras["x"]
        assert repr(got) == repr(PYTHON.merge(data).choices[0].extras["x"])


@pytest.mark.parametrize("number", [b"-1.5e309", b"2.5E+400", b"1.0e-400", b"-0.5e308"])
def test_numbers_with_a_fraction_and_an_exponent_read_alike(number: bytes) -> None:
    """Out of range after a fraction (an error), or in range: the same in both backends, in a
    logprob token as in an unknown key."""
    token = b'{"token":"t","logprob":' + number + b',"bytes":null,"top_logprobs":[]}'
    for data in (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":['
        + token
        + b"]}}]}\n\n",
        b'data: {"choices":[{"index":0,"delta":{"content":"a","x":' + number + b"}}]}\n\n",
    ):
        assert merged(NATIVE, [data])[:2] == merged(PYTHON, [data])[:2]


def test_chunks_whose_header_changes_every_time_replay_whole_payloads() -> None:
    """Groq's compound models send a new id with every chunk (of another length now and then), so
    no header repeats: the native merger replays whole payloads, and the members before ``choices``
    move with the id; a header seen again in between (the same id twice) changes nothing."""
    ids = ["chatcmpl-a", "chatcmpl-bb", "chatcmpl-ccc", "chatcmpl-ccc", "c", "chatcmpl-dddd"] * 3
    frames = [
        {"id": i, "object": "chat.completion.chunk", "created": 1, "model": "groq/compound",
         "system_fingerprint": None, "choices": [{"index": 0, "delta": {"reasoning": f"<{n}>"},
         "logprobs": None, "finish_reason": None}]}
        for n, i in enumerate(ids)
    ]  # fmt: skip
    data = b"".join(b"data: " + encode(f, 0) + b"\n\n" for f in frames) + b"data: [DONE]\n\n"
    expected = merged(PYTHON, [data])
    assert expected[1]["choices"][0]["message"]["reasoning"] == "".join(f"<{n}>" for n in range(len(ids)))
    assert expected[1]["id"] == "chatcmpl-a"
    assert merged(NATIVE, [data]) == expected
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert merged(NATIVE, pieces) == merged(PYTHON, pieces)
    merger = NATIVE.DeltaMerger()
    merger.feed(data)
    assert merger._sink.scanner.reused >= len(ids) // 2


def test_a_key_repeated_after_choices_ends_the_repeated_header() -> None:
    """A chunk that sends a member before ``choices`` again after it (its last value wins) merges a
    value its header bytes do not show: a later chunk with those header bytes is read whole."""
    head = (
        b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","provider":false,"choices":[]'
    )
    data = (
        b"data: " + head + b"}\n\n"
        + b"data: " + head + b',"id":"dup","provider":{"a":1}}\n\n'
        + b"data: " + head + b"}\n\n"
    )  # fmt: skip
    for backend in (NATIVE, PYTHON):
        assert backend.merge(data).extras == {"provider": False}
        merger = backend.DeltaMerger()
        merger.feed(data[: data.index(b"data:", 10) + 20])
        merger.feed(data[data.index(b"data:", 10) + 20 :])
        assert merger.finish().extras == {"provider": False}
