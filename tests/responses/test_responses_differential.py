"""Both backends on generated and damaged streams: the same results, errors and byte offsets."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from responses_streams import STREAMS, body, random_pieces

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS

BACKENDS = ("python", "native")
needs_native = pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")


def outcome(backend: str, pieces: list[bytes]) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    try:
        for piece in pieces:
            merger.feed(piece)
        return ("ok", merger.finish().to_dict())
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, str(exc), exc.offset, exc.event_index, merger.snapshot().to_dict())


def damaged(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few bytes changed, removed or repeated, near JSON punctuation where it hurts."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        choice = rng.random()
        if choice < 0.4:
            out[i] = rng.choice(b'{}[]",:0a\n\r \x00\xff')
        elif choice < 0.7:
            del out[i : i + rng.randint(1, 20)]
        else:
            out[i:i] = out[i : i + rng.randint(1, 40)]
    return bytes(out)


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.c_extension
@needs_native
def test_damaged_streams_agree(name: str) -> None:
    rng = random.Random(name)
    for k in range(6):
        data = damaged(body(name), rng)
        pieces = random_pieces(data, (name, k), 512)
        results = [outcome(b, pieces) for b in BACKENDS]
        assert results[0] == results[1]


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.c_extension
@needs_native
def test_replayed_streams_agree(name: str) -> None:
    try:
        original = responses.merge(body(name))
    except ssedelta.UpstreamError as exc:
        original = exc.partial
    rng = random.Random(name)
    data = b"".join(responses.replay_sse(original, fragment_chars=rng.randint(1, 9)))
    pieces = random_pieces(data, name, 97)
    results = [outcome(b, pieces) for b in BACKENDS]
    assert results[0] == results[1]
    assert results[0][0] in ("ok", "upstream")


ODD_VALUES = [None, 0, -1, True, 1.5, "", "x", [], [1], [{}], {}, {"type": 1}, {"type": "x"}, {"x": "y"}]


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """Every (path, value) inside a JSON value, depth first, the value itself first."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _walk(v, (*path, k))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


@pytest.mark.parametrize(
    "name",
    [
        "Mirascope-mirascope__gpt4o_web_search_annotations",
        "vercel-ai__openai_gpt52_shell_calls_with_output",
        "charmbracelet-fantasy__azure_gpt5_mini_reasoning_summary_text",
        "openai-openai-dotnet__gpt4o_mini_code_interpreter_file_citation",
    ],
)
def test_odd_values_anywhere_give_a_result_or_a_typed_error(backend: ssedelta.Backend, name: str) -> None:
    """Each value at every place of every distinct event type, replaced by values of other JSON
    types: the merge gives a result, an upstream error or ``InvalidChunkError``, never anything
    else, and ``snapshot()`` stays a valid response."""
    blocks = [b + b"\n\n" for b in body(name).split(b"\n\n") if b.strip()]
    seen: set[str] = set()
    rng = random.Random(name)
    cls = responses.merger_class(backend)
    for k, block in enumerate(blocks):
        payload = orjson.loads(block.split(b"data: ", 1)[1])
        if payload["type"] in seen:
            continue
        seen.add(payload["type"])
        prefix = b"".join(blocks[:k])
        places = list(_walk(payload))[1:]
        for path, _ in rng.sample(places, min(len(places), 25)):
            for new in ODD_VALUES:
                event = orjson.dumps(_replaced(payload, path, new))
                merger = cls()
                try:
                    merger.feed(prefix + b"data: " + event + b"\n\n")
                    merger.finish()
                except ssedelta.InvalidChunkError as exc:
                    assert exc.offset == len(prefix) + 6 and exc.event_index == k
                except ssedelta.UpstreamError:
                    pass
                merger.snapshot().to_dict()


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.c_extension
@needs_native
def test_both_tokenizers_cut_the_recorded_streams_alike(name: str) -> None:
    """Same events (type, payload, raw bytes, offsets) from both tokenizers, whole and in pieces."""
    for pieces in ([body(name)], random_pieces(body(name), name, 700)):
        events = []
        for backend in BACKENDS:
            decoder = ssedelta.get_backend(backend).SSEDecoder()
            events.append([e for piece in pieces for e in decoder.feed(piece)])
        assert events[0] == events[1]
        assert all(e.event is not None for e in events[0]) == (b"\nevent: " in body(name))
