"""``merge`` called again and again, as the native one keeps the merger of a finished call for the
next: each call gives what a new merger fed the same pieces gives (the result, or the error with its
offset), whatever the streams before it were, however they ended, and whatever the source runs
meanwhile; a result handed out never changes afterwards."""

from __future__ import annotations

import gc
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ssedelta
from ssedelta._env import NO_EXTENSIONS
from ssedelta.chat import _merge_py

NO_NATIVE = pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")

HEAD = {"id": "chatcmpl-k", "object": "chat.completion.chunk", "created": 5, "model": "m1"}
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def frame(*payloads: Any, done: bool = True) -> bytes:
    body = b"".join(
        b"data: " + (p if isinstance(p, bytes) else json.dumps(p).encode()) + b"\n\n" for p in payloads
    )
    return body + (b"data: [DONE]\n\n" if done else b"")


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> dict[str, Any]:
    return {**HEAD, **top, "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


FIRST = chunk({"role": "assistant", "content": "Hi"})
LAST = chunk(finish="stop")
TOOL = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
STREAMS = {
    "two": frame(FIRST, LAST),
    # Each sets what the ones without it must not keep: a merger's fields, the choice's, extras.
    "fingerprint": frame(chunk({"content": "a"}, system_fingerprint="fp_1"), chunk(finish="length")),
    "other header": frame(
        chunk({"content": "b"}, id="c2", model="m2", created=9), chunk(finish="stop", id="c2")
    ),
    "tier": frame(chunk({"content": "c"}, service_tier="flex"), LAST),
    "usage": frame(FIRST, LAST, {**HEAD, "choices": [], "usage": USAGE}),
    "top extras": frame(chunk({"content": "d"}, x_top={"k": [1]}), chunk(finish="stop", x_top={"j": 2})),
    "choice extras": frame({**HEAD, "choices": [{"index": 0, "delta": {"content": "e"}, "x_c": "v"}]}, LAST),
    "delta extras": frame(
        chunk({"content": "f", "reasoning_content": "r"}), chunk({"reasoning_content": "s"})
    ),
    "tool": frame(
        chunk({"tool_calls": [TOOL]}), chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]})
    ),
    "two choices": frame(FIRST, {**HEAD, "choices": [{"index": 1, "delta": {"content": "x"}}]}, LAST),
    "logprobs": frame(
        {
            **HEAD,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "a"},
                    "logprobs": {
                        "content": [{"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}]
                    },
                }
            ],
        }
    ),
    # Chunks the native scanner leaves to the twin's path.
    "twice a key": frame(
        b'{"id": "a", "id": "b", "choices": [{"index": 0, "delta": {"content": "a"}}]}', LAST
    ),
    "logprob extras": frame(
        {
            **HEAD,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "a"},
                    "logprobs": {
                        "content": [{"token": "a", "logprob": -1, "bytes": None, "top_logprobs": [], "x": 1}]
                    },
                }
            ],
        },
        LAST,
    ),
    "no done": frame(FIRST, LAST, done=False),
    "bom": b"\xef\xbb\xbf" + frame(FIRST, LAST),
    "event id and comment": b": hi\nid: 7\nretry: 5\n" + frame(FIRST, LAST),
    "empty": b"",
    # Errors: the merger they leave is not kept, the next call is as a new merger's.
    "upstream error": frame(FIRST, {"error": {"message": "overloaded", "type": "server_error"}}),
    "bad json": frame(FIRST, b'{"id": 1,'),
    "not a chunk": frame(FIRST, b"[1, 2]"),
    "cut": frame(FIRST, done=False) + b'data: {"id"',
    "bad utf-8": frame(FIRST, b'{"id": "\xff"}'),
    "carried": frame(FIRST, done=False) + b"data: " + json.dumps(LAST).encode() + b"\n",
}
NAMES = sorted(STREAMS)


def outcome(run: Any, *args: Any) -> tuple[str, Any]:
    try:
        result = run(*args)
    except ssedelta.UpstreamError as exc:
        return "upstream", (str(exc), exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.SSEDeltaError as exc:
        return type(exc).__name__, (str(exc), getattr(exc, "offset", None), getattr(exc, "event_index", None))
    return "ok", result.to_dict()


def by_new_merger(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    for piece in pieces:
        merger.feed(piece)
        if merger.done:
            break
    return merger.finish()


def split(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(len(data) + 1), min(rng.randrange(4), len(data) + 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def check_sequence(backend: ssedelta.Backend, steps: list[tuple[str, list[bytes]]]) -> None:
    for k, (name, pieces) in enumerate(steps):
        expected = outcome(by_new_merger, backend, pieces)
        assert outcome(backend.merge, pieces) == expected, (k, name)


@pytest.mark.parametrize("seed", range(4))
def test_streams_of_any_shape_and_ending_in_sequence_merge_as_a_new_merger(backend, seed):
    rng = random.Random(seed)
    steps = [(name, split(STREAMS[name], rng)) for name in (rng.choice(NAMES) for _ in range(80))]
    check_sequence(backend, steps)


@pytest.mark.parametrize("before", NAMES)
@pytest.mark.parametrize("after", NAMES)
def test_each_stream_after_each_other_merges_as_a_new_merger(backend, before, after):
    check_sequence(
        backend, [(before, [STREAMS[before]]), (after, [STREAMS[after]]), (after, [STREAMS[after]])]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.randoms(use_true_random=False)), min_size=2, max_size=8))
def test_random_sequences_and_splits_merge_as_a_new_merger(backend, steps):
    check_sequence(backend, [(s, split(STREAMS[s], rng)) for s, rng in steps])


@pytest.mark.c_extension
@NO_NATIVE
def test_native_and_twin_merge_a_sequence_alike():
    rng = random.Random(11)
    native, python = ssedelta.get_backend("native"), ssedelta.get_backend("python")
    for name in (rng.choice(NAMES) for _ in range(100)):
        pieces = split(STREAMS[name], rng)
        assert outcome(native.merge, pieces) == outcome(python.merge, pieces), name


def test_a_result_does_not_change_as_later_streams_are_merged(backend):
    kept = [
        backend.merge(STREAMS[name]) for name in NAMES if outcome(backend.merge, STREAMS[name])[0] == "ok"
    ]
    frozen = [result.to_dict() for result in kept]
    for name in NAMES * 2:
        outcome(backend.merge, STREAMS[name])
    assert [result.to_dict() for result in kept] == frozen


def test_a_merge_run_by_the_source_of_another_gives_each_its_own_result(backend):
    inner: list[Any] = []

    def source() -> Any:
        yield STREAMS["fingerprint"][:40]
        inner.append(backend.merge(STREAMS["usage"]))  # the outer call's merger is taken meanwhile
        yield STREAMS["fingerprint"][40:]

    outer = backend.merge(source())
    assert outer.to_dict() == by_new_merger(backend, [STREAMS["fingerprint"]]).to_dict()
    assert inner[0].to_dict() == by_new_merger(backend, [STREAMS["usage"]]).to_dict()
    assert backend.merge(STREAMS["two"]).to_dict() == by_new_merger(backend, [STREAMS["two"]]).to_dict()


def test_a_source_that_raises_midway_leaves_nothing_for_the_next_call(backend):
    def source() -> Any:
        yield frame(FIRST, done=False) + b'data: {"id"'  # a chunk merged, an unfinished event carried
        raise OSError("connection reset")

    for name in NAMES:
        with pytest.raises(OSError):
            backend.merge(source())
        assert outcome(backend.merge, [STREAMS[name]]) == outcome(by_new_merger, backend, [STREAMS[name]]), (
            name
        )


def test_a_call_with_options_between_calls_without(backend):
    first = backend.merge(STREAMS["top extras"])
    with pytest.raises(ssedelta.LimitExceededError):
        backend.merge(STREAMS["two choices"], max_choices=1)
    assert (
        backend.merge(STREAMS["two choices"]).to_dict()
        == by_new_merger(backend, [STREAMS["two choices"]]).to_dict()
    )
    assert first.to_dict() == by_new_merger(backend, [STREAMS["top extras"]]).to_dict()


def test_nothing_of_a_merged_stream_is_held_after_the_call(backend):
    result = backend.merge(STREAMS["top extras"])
    value = result.extras["x_top"]
    assert gc.get_referrers(value) == [result.extras]
    assert gc.get_referrers(result.choices[0].message) == [result.choices[0]]


def test_the_counts_the_limits_bound_start_again_with_each_call(backend):
    # Each stream keeps under the limits; all of them together would not.
    keys = frame(chunk({"content": "a"}, **{f"x_{k}": k for k in range(200)}))
    tools = frame(chunk({"tool_calls": [{**TOOL, "index": k, "id": f"call_{k}"} for k in range(64)]}))
    for _ in range(_merge_py.DEFAULT_MAX_EXTRAS_KEYS // 200 + 1):
        assert backend.merge(keys).extras["x_199"] == 199
    for _ in range(_merge_py.DEFAULT_MAX_TOOL_CALLS // 64 + 1):
        assert len(backend.merge(tools).choices[0].message.tool_calls) == 64


@pytest.mark.c_extension
@NO_NATIVE
def test_the_bytes_merged_count_starts_again_with_each_call():
    piece = chunk({"content": "a" * (_merge_py.DEFAULT_MAX_MERGED_SIZE // 32)})
    large = frame(piece, piece)  # a sixteenth of the limit in two events
    native = ssedelta.get_backend("native")
    for _ in range(17):
        assert native.merge(large).choices[0].finish_reason is None
