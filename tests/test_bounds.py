"""Resource bounds: each limit is configurable, has a safe default and raises a typed error.

Every test runs on both backends. The errors are :class:`LimitExceededError` (the event size
cap keeps its own subclass, :class:`EventTooLargeError`) naming the option in ``limit``, with
the stream ``offset`` and ``event_index`` of what went past it. The quantities that need no
limit of their own (index values, nesting depth, merge depth) are tested here too.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import ssedelta
from ssedelta import EventTooLargeError, InvalidJSONError, LimitExceededError, StreamFormatError
from ssedelta._sse_py import DEFAULT_MAX_EVENT_SIZE
from ssedelta.chat._merge_py import (
    DEFAULT_MAX_CHOICES,
    DEFAULT_MAX_EXTRAS_KEYS,
    DEFAULT_MAX_MERGED_SIZE,
    DEFAULT_MAX_TOOL_CALLS,
    MAX_MERGE_DEPTH,
)

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def event(obj: Any) -> bytes:
    payload = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
    return b"data: " + payload + b"\n\n"


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**HEAD, "choices": list(choices), **top}


def choice(index: int = 0, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}


def tool(index: int, call_id: str | None = None, args: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id is not None:
        call["id"] = call_id
        call["type"] = "function"
        call["function"]["name"] = "f"
    return call


def stream_of(*events: bytes) -> tuple[bytes, list[int]]:
    """The stream and the data offset of each event in it."""
    offsets, at = [], 0
    for e in events:
        offsets.append(at + 6)
        at += len(e)
    return b"".join(events) + b"data: [DONE]\n\n", offsets


def merge_error(backend: ssedelta.Backend, stream: bytes, **options: Any) -> tuple[LimitExceededError, Any]:
    merger = backend.DeltaMerger(**options)
    with pytest.raises(LimitExceededError) as info:
        merger.feed(stream)
        merger.finish()
    return info.value, merger.snapshot()


def check(exc: BaseException, limit: str, value: int, offset: int, index: int | None) -> None:
    assert type(exc) is (EventTooLargeError if limit == "max_event_size" else LimitExceededError)
    assert isinstance(exc, StreamFormatError)
    assert (exc.limit, exc.value, exc.offset, exc.event_index) == (limit, value, offset, index)
    assert limit in str(exc)


def one_byte_at_a_time(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


# ------------------------------------------------------------------ the error type


def test_limit_error_class_and_pickling():
    assert issubclass(LimitExceededError, StreamFormatError)
    assert issubclass(EventTooLargeError, LimitExceededError)
    assert ssedelta.LimitExceededError is LimitExceededError
    exc = LimitExceededError("too many", 12, 3, "max_choices", 2)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.limit, copy.value, copy.offset, copy.event_index, str(copy)) == (
        "max_choices",
        2,
        12,
        3,
        str(exc),
    )
    old_style = EventTooLargeError("big", 5, 1)
    assert old_style.limit == "max_event_size"
    assert pickle.loads(pickle.dumps(old_style)).limit == "max_event_size"


def test_event_too_large_names_its_limit(backend):
    with pytest.raises(EventTooLargeError) as info:
        backend.merge(event(chunk(choice(content="x" * 500))), max_event_size=100)
    check(info.value, "max_event_size", 100, 0, 0)


@pytest.mark.parametrize(
    "option", ["max_line_size", "max_choices", "max_tool_calls", "max_merged_size", "max_extras_keys"]
)
def test_limit_options_are_checked(backend, option):
    with pytest.raises(TypeError):
        backend.DeltaMerger(**{option: "10"})
    with pytest.raises(TypeError):
        backend.DeltaMerger(**{option: 1.5})
    with pytest.raises(ValueError):
        backend.DeltaMerger(**{option: -1})
    backend.DeltaMerger(**{option: None})  # no limit
    backend.DeltaMerger(**{option: 10**30})  # as good as none


def test_defaults():
    assert DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024
    assert DEFAULT_MAX_CHOICES == 1024
    assert DEFAULT_MAX_TOOL_CALLS == 1024
    assert DEFAULT_MAX_MERGED_SIZE == 256 * 1024 * 1024
    assert DEFAULT_MAX_EXTRAS_KEYS == 10_000


# ------------------------------------------------------------------ line size


def test_line_longer_than_max_line_size(backend):
    good = event(chunk(choice(content="hi")))
    assert len(good) < 200
    stream = good + b": " + b"c" * 300 + b"\ndata: {}\n\n"
    for pieces in ([stream], one_byte_at_a_time(stream)):
        decoder = backend.SSEDecoder(max_line_size=200)
        got = []
        with pytest.raises(LimitExceededError) as info:
            for piece in [*pieces, b""]:
                got.extend(decoder.feed(piece))
        assert [e.payload for e in got] == [good[6:-2]]
        check(info.value, "max_line_size", 200, len(good), 1)
        with pytest.raises(LimitExceededError):
            decoder.feed(b"data: {}\n\n")  # and every call after
    with pytest.raises(LimitExceededError) as info:
        backend.merge(stream, max_line_size=200)
    check(info.value, "max_line_size", 200, len(good), 1)
    with pytest.raises(LimitExceededError) as info:
        list(backend.iter_chunks(stream, max_line_size=200))
    check(info.value, "max_line_size", 200, len(good), 1)


def test_line_too_long_is_raised_before_the_line_ends(backend):
    decoder = backend.ChunkDecoder(max_line_size=1000)
    fed = 0
    with pytest.raises(LimitExceededError) as info:
        for _ in range(100):
            decoder.feed(b"data: " if fed == 0 else b"x" * 100)
            fed += 1
    assert fed <= 12  # bounded memory: it stops about one limit's worth into the line
    check(info.value, "max_line_size", 1000, 0, 0)


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_line_size_counts_without_the_line_end(backend, eol):
    line = b"data: " + b"y" * 94  # 100 bytes
    stream = line + eol + eol
    (e,) = backend.SSEDecoder(max_line_size=100).feed(stream)
    assert e.payload == b"y" * 94
    with pytest.raises(LimitExceededError) as info:
        backend.SSEDecoder(max_line_size=99).feed(stream)
    check(info.value, "max_line_size", 99, 0, 0)


def test_line_size_default_is_the_event_size(backend):
    decoder = backend.SSEDecoder()
    assert decoder.max_line_size is None
    big = b"data: " + b"z" * (2 * 1024 * 1024) + b"\n\n"  # one 2 MiB line is fine by default
    assert len(decoder.feed(big)[0].payload) == 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("max_event", "max_line", "first"),
    [(200, 120, "max_line_size"), (150, 400, "max_event_size"), (126, 120, "max_event_size")],
)
def test_line_and_event_limits_the_one_passed_first_wins_whatever_the_split(
    backend, max_event, max_line, first
):
    # One block: a 50-byte comment line, then a 300-byte data line. The line limit is passed
    # at byte 51 + max_line, the event limit at byte max_event.
    stream = b":" + b"c" * 49 + b"\n" + b"data: " + b"d" * 294 + b"\n\n"
    outcomes = set()
    for size in (1, 7, 64, 100, len(stream)):
        pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
        decoder = backend.SSEDecoder(max_event_size=max_event, max_line_size=max_line)
        with pytest.raises(LimitExceededError) as info:
            for piece in pieces:
                decoder.feed(piece)
        outcomes.add((info.value.limit, info.value.offset))
    assert outcomes == {(first, 0 if first == "max_event_size" else 51)}


# ------------------------------------------------------------------ choices


def test_max_choices(backend):
    events = [event(chunk(choice(i, content=str(i)))) for i in range(3)]
    stream, offsets = stream_of(*events)
    exc, snapshot = merge_error(backend, stream, max_choices=2)
    check(exc, "max_choices", 2, offsets[2], 2)
    assert [c.message.content for c in snapshot.choices] == ["0", "1"]
    result = backend.merge(stream, max_choices=3)
    assert len(result.choices) == 3


def test_max_choices_counts_distinct_indexes_only(backend):
    events = [event(chunk(choice(i % 2, content="a"))) for i in range(50)]
    stream, _ = stream_of(*events)
    result = backend.merge(stream, max_choices=2)
    assert [c.message.content for c in result.choices] == ["a" * 25, "a" * 25]


def test_max_choices_within_one_chunk_and_by_default(backend):
    many = chunk(*[choice(i, content="x") for i in range(DEFAULT_MAX_CHOICES + 1)])
    stream, offsets = stream_of(event(many))
    exc, snapshot = merge_error(backend, stream)
    check(exc, "max_choices", DEFAULT_MAX_CHOICES, offsets[0], 0)
    assert len(snapshot.choices) == DEFAULT_MAX_CHOICES  # merged up to the limit
    assert len(backend.merge(stream, max_choices=None).choices) == DEFAULT_MAX_CHOICES + 1


@pytest.mark.parametrize("index", [10**12, -(10**12), 2**63 - 1, -(2**63)])
def test_choice_index_values_are_keys_not_allocations(backend, index):
    stream, _ = stream_of(
        event(chunk(choice(index, role="assistant", content="a"))), event(chunk(choice(0, content="b")))
    )
    result = backend.merge(stream, max_choices=2)
    assert sorted([c.index for c in result.choices]) == sorted([index, 0])
    assert {c.index: c.message.content for c in result.choices} == {index: "a", 0: "b"}


# ------------------------------------------------------------------ tool calls


def test_max_tool_calls_counts_all_choices(backend):
    events = [
        event(chunk(choice(0, tool_calls=[tool(0, "call_a", "{")]))),
        event(chunk(choice(1, tool_calls=[tool(0, "call_b", "[")]))),
        event(chunk(choice(0, tool_calls=[tool(0, args="}")]))),  # continues call_a
        event(chunk(choice(0, tool_calls=[tool(1, "call_c")]))),
    ]
    stream, offsets = stream_of(*events)
    exc, snapshot = merge_error(backend, stream, max_tool_calls=2)
    check(exc, "max_tool_calls", 2, offsets[3], 3)
    assert [[t.function.arguments for t in c.message.tool_calls] for c in snapshot.choices] == [["{}"], ["["]]
    assert len(backend.merge(stream, max_tool_calls=3).choices[0].message.tool_calls) == 2


def test_a_new_id_at_a_used_index_is_a_new_tool_call(backend):
    events = [event(chunk(choice(0, tool_calls=[tool(0, f"call_{i}", "{}")]))) for i in range(4)]
    stream, offsets = stream_of(*events)
    exc, _ = merge_error(backend, stream, max_tool_calls=3)
    check(exc, "max_tool_calls", 3, offsets[3], 3)


@pytest.mark.parametrize("index", [10**12, -5, 2**63 - 1])
def test_tool_call_index_values_are_keys_not_allocations(backend, index):
    stream, _ = stream_of(
        event(chunk(choice(0, tool_calls=[tool(index, "call_a", '{"a":')]))),
        event(chunk(choice(0, tool_calls=[tool(index, args="1}")]))),
    )
    (call,) = backend.merge(stream, max_tool_calls=1).choices[0].message.tool_calls
    assert (call.id, call.function.arguments) == ("call_a", '{"a":1}')


def test_default_max_tool_calls(backend):
    calls = [tool(i, f"c{i}") for i in range(DEFAULT_MAX_TOOL_CALLS + 1)]
    stream, offsets = stream_of(event(chunk(choice(0, tool_calls=calls))))
    exc, _ = merge_error(backend, stream)
    check(exc, "max_tool_calls", DEFAULT_MAX_TOOL_CALLS, offsets[0], 0)


# ------------------------------------------------------------------ merged size


def test_max_merged_size(backend):
    events = [event(chunk(choice(0, content="abcdefghij"))) for _ in range(10)]
    stream, offsets = stream_of(*events)
    payload = len(events[0]) - 8
    limit = 4 * payload + 5
    for pieces in ([stream], one_byte_at_a_time(stream)):
        merger = backend.DeltaMerger(max_merged_size=limit)
        with pytest.raises(LimitExceededError) as info:
            for piece in pieces:
                merger.feed(piece)
        check(info.value, "max_merged_size", limit, offsets[4], 4)
        # The payload that went past the limit is not merged.
        assert merger.snapshot().choices[0].message.content == "abcdefghij" * 4
        assert merger.chunks == 4
    assert backend.merge(stream, max_merged_size=10 * payload + len(b"[DONE]")).choices[0].message.content
    with pytest.raises(LimitExceededError):
        backend.merge(stream, max_merged_size=10 * payload + len(b"[DONE]") - 1)


def test_past_the_merged_size_every_later_payload_raises(backend):
    piece = event(chunk(choice(content="x" * 100)))
    merger = backend.DeltaMerger(max_merged_size=2 * (len(piece) - 8) + 10)
    fed = 0
    with pytest.raises(LimitExceededError):
        for _ in range(10):
            merger.feed(piece)
            fed += 1
    assert fed == 2
    for _ in range(3):
        with pytest.raises(LimitExceededError):
            merger.feed(piece)
    assert merger.snapshot().choices[0].message.content == "x" * 200


def test_keep_alive_payloads_count_toward_the_merged_size(backend):
    stream = b"data: : ping\n\n" * 10 + event(chunk(choice(content="a")))
    with pytest.raises(LimitExceededError) as info:
        backend.merge(stream, max_merged_size=50)
    check(info.value, "max_merged_size", 50, 8 * 14 + 6, 8)


def test_merged_size_bounds_a_stream_that_never_ends(backend):
    merger = backend.DeltaMerger(max_merged_size=100_000)
    piece = event(chunk(choice(content="x" * 200)))
    with pytest.raises(LimitExceededError):
        for _ in range(10_000):
            merger.feed(piece)
    assert len(merger.snapshot().choices[0].message.content) < 100_000


def test_add_is_not_limited_by_the_merged_size(backend):
    merger = backend.DeltaMerger(max_merged_size=10)
    merger.add(chunk(choice(content="a" * 100)))
    assert merger.finish().choices[0].message.content == "a" * 100


# ------------------------------------------------------------------ extras keys


def test_max_extras_keys_top_level(backend):
    events = [event(chunk(choice(content="a"), **{f"x_{i}": i})) for i in range(4)]
    stream, offsets = stream_of(*events)
    exc, snapshot = merge_error(backend, stream, max_extras_keys=3)
    check(exc, "max_extras_keys", 3, offsets[3], 3)
    assert list(snapshot.extras) == ["x_0", "x_1", "x_2"]
    assert backend.merge(stream, max_extras_keys=4).extras == {f"x_{i}": i for i in range(4)}


def test_repeated_keys_are_counted_once(backend):
    events = [
        event(chunk(choice(content="a", reasoning_content="r", channel="c"), provider="p", n_ctx=i))
        for i in range(100)
    ]
    stream, _ = stream_of(*events)
    result = backend.merge(stream, max_extras_keys=4)
    assert result.choices[0].message.extras == {"reasoning_content": "r" * 100, "channel": "c"}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda i: choice(content="a", **{f"k{i}": "s"}), id="delta-string"),
        pytest.param(lambda i: choice(content="a", **{f"k{i}": None}), id="delta-null"),
        pytest.param(lambda i: choice(content="a", meta={f"k{i}": 1}), id="delta-nested-object"),
        pytest.param(
            lambda i: choice(content="a", details=[{"index": i, "t": "x"}]), id="delta-indexed-list"
        ),
        pytest.param(lambda i: {**choice(content="a"), f"k{i}": 1}, id="choice"),
        pytest.param(lambda i: choice(tool_calls=[{**tool(0, "c"), f"k{i}": 1}]), id="tool-call"),
        pytest.param(
            lambda i: choice(tool_calls=[{"index": 0, "function": {f"k{i}": [1]}}]), id="tool-function"
        ),
        pytest.param(lambda i: choice(content=[{"type": "image", f"k{i}": 1}]), id="content-parts"),
        pytest.param(lambda i: choice(function_call={"name": "f", f"k{i}": 1}), id="function-call"),
    ],
)
def test_max_extras_keys_everywhere(backend, make):
    stream, _ = stream_of(*[event(chunk(make(i))) for i in range(40)])
    with pytest.raises(LimitExceededError) as info:
        backend.merge(stream, max_extras_keys=20)
    assert info.value.limit == "max_extras_keys"
    backend.merge(stream, max_extras_keys=None)


def test_one_chunk_with_many_keys_by_default(backend):
    many = {f"k{i}": i for i in range(DEFAULT_MAX_EXTRAS_KEYS + 1)}
    stream, offsets = stream_of(event(chunk(choice(content="a", meta=many))))
    exc, _ = merge_error(backend, stream)
    check(exc, "max_extras_keys", DEFAULT_MAX_EXTRAS_KEYS, offsets[0], 0)


def test_extras_keys_limit_on_add(backend):
    merger = backend.DeltaMerger(max_extras_keys=2)
    merger.add(chunk(choice(content="a"), a=1, b=2))
    with pytest.raises(LimitExceededError) as info:
        merger.add(chunk(choice(content="a"), c=3))
    check(info.value, "max_extras_keys", 2, -1, None)


# ------------------------------------------------------------------ bounded without a limit of their own


def test_nesting_up_to_the_parser_limit_is_kept_and_deeper_is_invalid_json(backend):
    def stream_with(depth: int) -> bytes:
        inner = b"[" * depth + b"]" * depth
        return b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a","deep":' + inner + b"}}]}\n\n"

    result = backend.merge(stream_with(1020))  # the payload itself is 1024 deep
    deep = result.choices[0].message.extras["deep"]
    depth = 0
    while deep:
        deep = deep[0]
        depth += 1
    assert depth == 1019
    with pytest.raises(InvalidJSONError) as info:
        backend.merge(stream_with(1021))
    assert (info.value.offset, info.value.event_index) == (6, 0)
    with pytest.raises(InvalidJSONError):
        list(backend.iter_chunks(stream_with(1021)))


def test_merge_depth_is_capped(backend):
    def nested(depth: int, leaf: Any) -> Any:
        value = leaf
        for _ in range(depth):
            value = {"k": value}
        return value

    stream, _ = stream_of(
        event(chunk(choice(content="a", meta=nested(MAX_MERGE_DEPTH + 5, "x")))),
        event(chunk(choice(content="a", meta=nested(MAX_MERGE_DEPTH + 5, "y")))),
    )
    meta = backend.merge(stream).choices[0].message.extras["meta"]
    for _ in range(MAX_MERGE_DEPTH):
        meta = meta["k"]
    assert meta == nested(5, "y")  # merged down to the cap, replaced below it


_BIG_INDEX_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import ssedelta
    backend = ssedelta.get_backend(sys.argv[1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stream = b"".join(
        b'data: {"choices":[{"index":%d,"delta":{"content":"a","tool_calls":[{"index":%d,"id":"c%d",'
        b'"function":{"arguments":"{}"}}],"details":[{"index":%d,"t":"x"}]}}]}\\n\\n' % (i, i, i, i)
        for i in (10**12, 10**15, 2**62, -(2**62))
    )
    result = backend.merge(stream)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert len(result.choices) == 4, result
    assert grown < 50_000, grown  # KiB
    print("ok")
    """
)


def test_huge_index_values_do_not_allocate(backend):
    proc = subprocess.run(
        [sys.executable, "-c", _BIG_INDEX_SCRIPT, backend.name], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
