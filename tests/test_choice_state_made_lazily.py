"""Parts of a stream's merge state made only when needed: a choice's extras mappings, the header
kept as the payload that held it, the stream's last payload ``[DONE]``. What Python code reads,
sets or replaces there, and what is merged after, is what the twin does with its own state."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ssedelta

PYTHON = ssedelta.get_backend("python")
HEAD = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m", "system_fingerprint": "fp"}


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None, **choice_extra: Any) -> dict[str, Any]:
    return {**HEAD, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **choice_extra}]}


PLAIN = data(chunk({"role": "assistant", "content": "Hi"}))
EXTRA = data(chunk({"content": "!", "reasoning_content": "r"}, "stop", x_choice="v"))


def results(backend: ssedelta.Backend, change: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The completion of PLAIN, ``change`` applied to the choice's state, then EXTRA; on both backends."""
    out = []
    for b in (backend, PYTHON):
        merger = b.DeltaMerger()
        merger.feed(PLAIN)
        change(merger._choices[0])
        merger.feed(EXTRA)
        out.append(merger.finish().to_dict())
    return out[0], out[1]


def test_empty_extras_read_are_kept_and_merged_into(backend):
    def read_and_add(state: Any) -> None:
        assert (state.extras, state.message_extras) == ({}, {})
        assert state.extras is state.extras and state.message_extras is state.message_extras
        state.extras["mine"] = 1
        state.message_extras["also"] = 2

    mine, twin = results(backend, read_and_add)
    assert mine == twin
    assert mine["choices"][0]["mine"] == 1 and mine["choices"][0]["x_choice"] == "v"
    message = mine["choices"][0]["message"]
    assert (message["also"], message["reasoning_content"]) == (2, "r")


def test_extras_replaced_before_any_unknown_key_are_merged_into(backend):
    def replace(state: Any) -> None:
        state.extras = {"old": True}
        state.message_extras = {"kept": "a"}

    mine, twin = results(backend, replace)
    assert mine == twin
    message = mine["choices"][0]["message"]
    assert mine["choices"][0]["old"] is True and (message["kept"], message["reasoning_content"]) == ("a", "r")


def test_a_choice_without_unknown_keys_finishes_with_empty_extras(backend):
    result = backend.merge(PLAIN + data(chunk({}, "stop")))
    assert result.choices[0].extras == {} and result.choices[0].message.extras == {}
    assert result.choices[0].extras is not result.choices[0].message.extras


def header_cases() -> dict[str, list[bytes]]:
    same = data(chunk({"content": "a"}))
    escaped_key = same.replace(b'"content"', b'"c\\u006fntent"')  # a payload the scanner gives up on
    big = {**HEAD, "x_big": "b" * (1 << 17)}
    return {
        # One bytes object whose header is remembered, forgotten (another path merged a chunk)
        # and remembered again.
        "same-object-again": [same, same, escaped_key, same, same],
        "header-changes": [same, data({**chunk({"content": "b"}), "model": "m2"}), same],
        # A header too long to remember, and a large payload whose header is copied out of it.
        "large-header": [data({**big, "choices": [{"index": 0, "delta": {"content": c}}]}) for c in "abc"]
        + [data({**big, "model": "m3", "choices": [{"index": 0, "delta": {"content": "d"}}]})],
        "large-payload-small-header": [data(chunk({"content": c, "x_big": "b" * (1 << 17)})) for c in "ab"]
        + [same],
    }


@pytest.mark.parametrize("name", sorted(header_cases()))
def test_headers_remembered_in_their_payloads_merge_as_the_twin(backend, name):
    pieces = header_cases()[name]
    merger = backend.DeltaMerger()
    for piece in pieces:
        merger.feed(piece)
    assert merger.finish().to_dict() == PYTHON.merge(pieces).to_dict()


@pytest.mark.parametrize(
    "payload", [b"[DONE]", b"[DONE", b"[DONE]]", b"[DONF]", b" [DONE]", b"[done]", b"[DONE]\r"]
)
def test_payloads_like_the_last_one_are_read_as_they_are(backend, payload):
    events = backend.SSEDecoder().feed(b"data: " + payload + b"\n\n" + b"data: " + payload + b"\n\n")
    twin = PYTHON.SSEDecoder().feed(b"data: " + payload + b"\n\n" + b"data: " + payload + b"\n\n")
    assert [(e.data, e.offset, e.data_offset) for e in events] == [
        (e.data, e.offset, e.data_offset) for e in twin
    ]
    assert events[0].data == events[1].data == payload.rstrip(b"\r").decode()


def test_streams_ending_in_done_one_after_another(backend):
    stream = PLAIN + data(chunk({}, "stop")) + b"data: [DONE]\n\n"
    first = [backend.merge(stream).to_dict() for _ in range(3)]
    assert first == [PYTHON.merge(stream).to_dict()] * 3
    merger = backend.DeltaMerger()
    assert merger.feed(stream + data(chunk({"content": "after"}))) == 2
    assert merger.finish().choices[0].message.content == "Hi"


TOP_EXTRA = data({**chunk({"content": "!"}, "stop"), "x_top": "t"})


@pytest.mark.parametrize("replace", [False, True])
def test_top_level_extras_read_or_replaced_before_any_unknown_key(backend, replace):
    out = []
    for b in (backend, PYTHON):
        merger = b.DeltaMerger()
        assert merger._extras == {}
        merger.feed(PLAIN)
        if replace:
            merger._extras = {"old": 1}
        else:
            assert merger._extras is merger._extras
            merger._extras["mine"] = 2
        merger.feed(TOP_EXTRA)
        out.append(merger.finish().to_dict())
    assert out[0] == out[1]
    assert out[0]["x_top"] == "t" and out[0].get("old" if replace else "mine") == (1 if replace else 2)


def test_a_stream_without_unknown_keys_finishes_with_empty_extras(backend):
    merger = backend.DeltaMerger()
    merger.feed(PLAIN)
    first, second = merger.snapshot(), merger.finish()
    assert first.extras == second.extras == {} and first.extras is not second.extras


def test_unknown_header_keys_seen_again_after_a_remembered_header(backend):
    # The unknown keys before "choices" are remembered with the header: the same key again after
    # "choices" in a payload that begins with that header is a duplicate, as in a payload read whole.
    head = b'{"id":"c1","x_a":1,"x_b":"b","object":"chat.completion.chunk","model":"m",'
    pieces = [
        b"data: " + head + b'"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n',
        b"data: " + head + b'"choices":[{"index":0,"delta":{"content":"b"}}],"x_b":"again"}\n\n',
        b"data: " + head + b'"choices":[{"index":0,"delta":{"content":"c"}}],"x_c":3}\n\n',
    ]
    assert backend.merge(pieces).to_dict() == PYTHON.merge(pieces).to_dict()
