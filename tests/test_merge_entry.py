"""``merge`` gives what a merger made with the same options, fed the same pieces, gives: the result,
or the error (type, message, offset), for every kind of source, option and stream ending."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import ssedelta
from ssedelta import chat

HEAD = {"id": "chatcmpl-e", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def frame(*payloads: Any) -> bytes:
    return b"".join(
        b"data: " + (p if isinstance(p, bytes) else json.dumps(p).encode()) + b"\n\n" for p in payloads
    )


def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**HEAD, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


FIRST = choice({"role": "assistant", "content": "Hel"})
LAST = choice({}, "stop")
STREAMS = {
    "two chunks": frame(FIRST, LAST),
    "done": frame(FIRST, LAST, b"[DONE]") + b"data: {not read\n\n",
    "upstream error": frame(FIRST, {"error": {"message": "overloaded", "type": "server_error"}}),
    "bad json": frame(FIRST, b'{"id": 1,'),
    "not a chunk": frame(FIRST, b"[1, 2]"),
    "extras": frame({**FIRST, "x_extra": {"a": [1]}}, {**LAST, "x_extra": {"b": 2}}),
    "two choices": frame(FIRST, {**HEAD, "choices": [{"index": 1, "delta": {"content": "x"}}]}, LAST),
    "cut": frame(FIRST)[:-1] + b'data: {"id"',
    "empty": b"",
}
OPTIONS: list[dict[str, Any]] = [
    {},
    {"max_event_size": 40},
    {"max_line_size": 30},
    {"max_choices": 1},
    {"max_merged_size": 100},
    {"scalar_keys": ["x_extra"]},
    {"append_keys": ("x_extra",)},
    {"max_event_size": None, "max_extras_keys": 1},
]
BAD_OPTIONS: list[dict[str, Any]] = [
    {"max_event_size": -1},
    {"max_choices": "2"},
    {"scalar_keys": 3},
    {"max_line_size": 1.5},
    {"no_such_option": 1},
]


def outcome(run: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        result = run(*args, **kwargs)
    except ssedelta.UpstreamError as exc:
        return "upstream", (str(exc), exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.SSEDeltaError as exc:
        return type(exc).__name__, (str(exc), getattr(exc, "offset", None), getattr(exc, "event_index", None))
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    return "ok", result.to_dict()


def by_merger(backend: ssedelta.Backend, pieces: list[Any], options: dict[str, Any]) -> Any:
    merger = backend.DeltaMerger(**options)
    for piece in pieces:
        merger.feed(piece.encode() if isinstance(piece, str) else piece)
        if merger.done:
            break
    return merger.finish()


def split(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(len(data) + 1), min(3, len(data) + 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def sources(data: bytes, pieces: list[bytes]) -> dict[str, Any]:
    return {
        "bytes": lambda: data,
        "list": lambda: list(pieces),
        "tuple of str": lambda: tuple(p.decode("latin-1") for p in pieces if p.isascii()),
        "generator": lambda: iter(pieces),
        "bytearray": lambda: bytearray(data),
    }


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_merge_is_a_merger_fed_the_pieces(backend, name, options):
    data = STREAMS[name]
    pieces = split(data, random.Random(name))
    for kind, make in sources(data, pieces).items():
        expected_pieces = [data] if kind in ("bytes", "bytearray") else list(make())
        if kind == "tuple of str" and b"".join(pieces) != "".join(expected_pieces).encode():
            continue  # a piece was not ASCII: this source is not the same stream
        expected = outcome(by_merger, backend, expected_pieces, options)
        assert outcome(backend.merge, make(), **options) == expected, kind
        assert outcome(chat.merge, make(), backend=backend, **options) == expected, kind


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=str)
def test_a_bad_option_raises_before_anything_is_read(backend, options):
    def source() -> Any:
        raise AssertionError("read")
        yield b""  # pragma: no cover

    expected = outcome(backend.DeltaMerger, **options)
    assert expected[0] in ("TypeError", "ValueError")
    assert outcome(backend.merge, source(), **options) == expected


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_native_and_twin_merge_alike(name):
    native = pytest.importorskip("ssedelta.chat._merge_c")
    assert ssedelta.get_backend("native").merge is native.merge
    for options in OPTIONS:
        results = [
            outcome(ssedelta.get_backend(b).merge, STREAMS[name], **options) for b in ("native", "python")
        ]
        assert results[0] == results[1], options


def test_an_error_from_the_source_propagates_and_nothing_after_is_read(backend):
    read = []

    def source() -> Any:
        read.append(1)
        yield frame(FIRST)
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        backend.merge(source())
    assert read == [1]


def test_merge_stops_reading_at_done(backend):
    read = []

    def source() -> Any:
        for piece in (frame(FIRST), frame(LAST, b"[DONE]"), b"data: {\n\n"):
            read.append(piece)
            yield piece

    assert backend.merge(source()).choices[0].message.content == "Hel"
    assert len(read) == 2
    assert backend.merge([frame(FIRST, b"[DONE]"), 5]).choices[0].finish_reason is None


def test_the_source_may_be_passed_by_name(backend):
    data = STREAMS["two choices"]
    assert outcome(backend.merge, source=data) == outcome(by_merger, backend, [data], {})
    limited = {"max_choices": 1}
    assert outcome(backend.merge, source=data, **limited) == outcome(by_merger, backend, [data], limited)


@pytest.mark.parametrize("args", [(), (b"", b"")], ids=["none", "two"])
def test_merge_takes_one_source(backend, args):
    with pytest.raises(TypeError):
        backend.merge(*args)
    with pytest.raises(TypeError):
        backend.merge(*args, max_choices=1)
