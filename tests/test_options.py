"""Every option of every public class is checked when the object is made, with an error naming it.

Limits take an ``int >= 0`` or ``None`` (no limit): anything else is a ``TypeError`` (a ``bool``, a
float, an ``int`` subclass or an object with ``__index__`` included, so that reading a limit never
runs the caller's code) or a ``ValueError`` (a negative number). ``max_event_size=None`` turns the
event limit off on every class and in every function.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import ssedelta
from ssedelta.gateway import AsyncTap, Tap

LIMITS_OF = {
    "SSEDecoder": ["max_event_size", "max_line_size"],
    "ChunkDecoder": ["max_event_size", "max_line_size"],
    "DeltaMerger": [
        "max_event_size",
        "max_line_size",
        "max_choices",
        "max_tool_calls",
        "max_merged_size",
        "max_extras_keys",
    ],
}


class Index:
    def __index__(self) -> int:
        return 5


class IntSubclass(int):
    pass


BAD_LIMITS = [
    pytest.param(-1, ValueError, id="negative"),
    pytest.param(-(2**70), ValueError, id="huge-negative"),
    pytest.param(1.5, TypeError, id="float"),
    pytest.param(10.0, TypeError, id="whole-float"),
    pytest.param(True, TypeError, id="bool"),
    pytest.param("100", TypeError, id="str"),
    pytest.param(b"1", TypeError, id="bytes"),
    pytest.param(Index(), TypeError, id="index-object"),
    pytest.param(IntSubclass(5), TypeError, id="int-subclass"),
    pytest.param([1], TypeError, id="list"),
]

CASES = [(cls, name) for cls, names in LIMITS_OF.items() for name in names]


@pytest.mark.parametrize(("value", "error"), BAD_LIMITS)
@pytest.mark.parametrize(("cls", "name"), CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_a_bad_limit_is_refused_when_the_object_is_made(backend, cls, name, value, error):
    with pytest.raises(error, match=name):
        getattr(backend, cls)(**{name: value})


@pytest.mark.parametrize(("value", "error"), BAD_LIMITS)
@pytest.mark.parametrize("name", LIMITS_OF["DeltaMerger"])
def test_the_functions_refuse_a_bad_limit_before_reading(backend, name, value, error):
    def never() -> Any:
        raise AssertionError("the source was read")
        yield b""  # pragma: no cover

    with pytest.raises(error, match=name):
        backend.merge(never(), **{name: value})
    if name in LIMITS_OF["ChunkDecoder"]:
        with pytest.raises(error, match=name):
            backend.iter_chunks(never(), **{name: value})
        with pytest.raises(error, match=name):
            backend.aiter_chunks(never(), **{name: value})
    with pytest.raises(error, match=name):
        asyncio.run(backend.amerge(never(), **{name: value}))


@pytest.mark.parametrize(("cls", "name"), CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_good_limits_are_kept(backend, cls, name):
    for value in (0, 1, 2**70, None):
        getattr(backend, cls)(**{name: value})


def test_the_event_limit_is_read_only(backend):
    decoder = backend.SSEDecoder(max_event_size=100)
    with pytest.raises(AttributeError):
        decoder.max_event_size = None
    assert decoder.max_event_size == 100


def test_unknown_options_are_refused(backend):
    for make in (backend.SSEDecoder, backend.ChunkDecoder, backend.DeltaMerger):
        with pytest.raises(TypeError, match="max_events_size"):
            make(max_events_size=10)


@pytest.mark.parametrize("name", ["scalar_keys", "append_keys"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("reasoning", id="one-str"),
        pytest.param(b"reasoning", id="bytes"),
        pytest.param(5, id="int"),
        pytest.param(None, id="none"),
        pytest.param(["ok", 5], id="int-key"),
        pytest.param([b"k"], id="bytes-key"),
        pytest.param([type("S", (str,), {})("k")], id="str-subclass-key"),
    ],
)
def test_key_options_take_an_iterable_of_str(backend, name, value):
    with pytest.raises(TypeError, match=name):
        backend.DeltaMerger(**{name: value})


def test_key_options_take_any_iterable_of_str(backend):
    merger = backend.DeltaMerger(scalar_keys=iter(["note"]), append_keys=("items",))
    merger.feed(
        b'data: {"choices":[{"index":0,"delta":{"note":"a","items":[{"index":0,"v":1}]}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"note":"b","items":[{"index":0,"v":2}]}}]}\n\n'
    )
    extras = merger.finish().choices[0].message.extras
    assert extras == {"note": "b", "items": [{"index": 0, "v": 1}, {"index": 0, "v": 2}]}


# ---------------------------------------------------------------------------------------------
# max_event_size=None


BIG = 17 * 1024 * 1024  # past the 16 MiB default


BIG_PAYLOAD = b'{"choices":[{"index":0,"delta":{"content":"' + b"x" * BIG + b'"}}]}'


def big_stream() -> bytes:
    return b"data: " + BIG_PAYLOAD + b"\n\ndata: [DONE]\n\n"


def test_max_event_size_none_turns_the_limit_off(backend):
    stream = big_stream()
    with pytest.raises(ssedelta.EventTooLargeError):
        backend.merge(stream)
    assert len(backend.merge(stream, max_event_size=None).choices[0].message.content) == BIG
    (chunk,) = backend.iter_chunks(stream, max_event_size=None)
    assert len(chunk.choices[0].delta.content) == BIG
    decoder = backend.SSEDecoder(max_event_size=None)
    assert decoder.max_event_size is None
    assert [e.payload for e in decoder.feed(stream)] == [BIG_PAYLOAD, b"[DONE]"]
    tap = Tap([stream[: BIG // 2], stream[BIG // 2 :]], backend=backend, max_event_size=None)
    list(tap)
    assert tap.decode_error is None and len(tap.completion.choices[0].message.content) == BIG
    tap = Tap([stream], backend=backend)  # the default stays 16 MiB
    list(tap)
    assert isinstance(tap.decode_error, ssedelta.EventTooLargeError)


# ---------------------------------------------------------------------------------------------
# The taps


def pieces() -> list[bytes]:
    return [b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n']


TAP_BAD = [
    pytest.param({"backend": "fast"}, ValueError, "backend", id="backend-name"),
    pytest.param({"backend": 5}, TypeError, "backend", id="backend-int"),
    pytest.param({"merger": "m"}, TypeError, "merger", id="merger-str"),
    pytest.param({"merger": object()}, TypeError, "merger", id="merger-object"),
    pytest.param({"started_at": "now"}, TypeError, "started_at", id="started-at-str"),
    pytest.param({"started_at": True}, TypeError, "started_at", id="started-at-bool"),
    pytest.param({"max_event_size": -5}, ValueError, "max_event_size", id="max-event-size-negative"),
    pytest.param({"max_event_size": 1.0}, TypeError, "max_event_size", id="max-event-size-float"),
    pytest.param({"on_end": 5}, TypeError, "on_end", id="on-end"),
    pytest.param({"on_error": "log"}, TypeError, "on_error", id="on-error"),
    pytest.param({"on_usage": 1}, TypeError, "on_usage", id="on-usage"),
    pytest.param({"on_first_content": []}, TypeError, "on_first_content", id="on-first-content"),
]


@pytest.mark.parametrize(("options", "error", "name"), TAP_BAD)
@pytest.mark.parametrize("cls", [Tap, AsyncTap])
def test_a_tap_checks_its_options(cls, options, error, name):
    with pytest.raises(error, match=name if name != "backend" else "backend|native"):
        cls(pieces(), **options)


@pytest.mark.parametrize("cls", [Tap, AsyncTap])
@pytest.mark.parametrize("source", [b"data: x\n\n", "data: x\n\n", bytearray(b"x"), 5, None])
def test_a_tap_source_is_an_iterable_of_pieces(cls, source):
    with pytest.raises(TypeError, match="source"):
        cls(source)


def test_a_tap_takes_good_options(backend):
    merger = backend.DeltaMerger()
    tap = Tap(pieces(), merger=merger, started_at=3, max_event_size=0 + 1000, on_end=print)
    assert tap.merger is merger and tap.started_at == 3
    tap = Tap(pieces(), backend=backend, started_at=2.5, max_event_size=None)
    assert list(tap) == pieces() and tap.completion.choices[0].message.content == "a"
