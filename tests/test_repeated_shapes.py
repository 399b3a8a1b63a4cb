"""Chunks that repeat an earlier chunk's bytes but for one text string.

The native merger reuses the scan of one of the last four such chunks for them (``reused``
counts how often), from the third chunk of a shape on (the first chunk of a stream and the first
one after it that begins with its header are scanned in full; the scan of the second chunk of a
shape is kept); every stream here is also merged by the twin, whose result, computed chunk by
chunk from parsed JSON, is the reference, and by the native merger fed in one piece and byte by
byte.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

import ssedelta
from ssedelta._env import NO_EXTENSIONS

PYTHON = ssedelta.get_backend("python")


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def stream(*chunks: Any) -> bytes:
    return b"".join(c if isinstance(c, bytes) else data(c) for c in chunks) + b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any], finish: Any = None, fingerprint: str = "fp_a", **top: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "system_fingerprint": fingerprint,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **top,
    }


def outcome(backend: ssedelta.Backend, pieces: list[bytes]) -> Any:
    merger = backend.DeltaMerger()
    try:
        for piece in pieces:
            merger.feed(piece)
        return "ok", backend.to_dict(merger.finish())
    except ssedelta.UpstreamError as exc:
        return "upstream", exc.offset, backend.to_dict(exc.partial)
    except ssedelta.StreamFormatError as exc:
        return type(exc).__name__, exc.offset, exc.event_index, backend.to_dict(merger.snapshot())


def check(body: bytes, reused_at_least: int) -> Any:
    expected = outcome(PYTHON, [body])
    if NO_EXTENSIONS:
        return expected
    native = ssedelta.get_backend("native")
    assert outcome(native, [body]) == expected
    assert outcome(native, [body[i : i + 1] for i in range(len(body))]) == expected
    merger = native.DeltaMerger()
    with contextlib.suppress(ssedelta.StreamFormatError):
        merger.feed(body)
    assert merger._sink.scanner.reused >= reused_at_least
    return expected


TEXTS = ["Hello", "", " wörld", 'quote " and \\ back', "\\u escapes: \u2028 \x01", "😀 and é", "x" * 300]


def test_content_fragments_of_every_kind() -> None:
    result = check(stream(*(chunk({"content": t}) for t in TEXTS)), len(TEXTS) - 3)
    assert result[1]["choices"][0]["message"]["content"] == "".join(TEXTS)


def test_spans_after_the_varying_string_move_with_it() -> None:
    texts = ["a", "bbbb", "", "cc", "d\\e"]
    chunks = [chunk({"content": t}, finish="stop", service_tier="default") for t in texts]
    chunks += [chunk({"content": t}, finish=f"reason-{t}") for t in ["x", "yyy", "zz"]]
    result = check(stream(*chunks), len(texts) - 3)
    assert result[1]["choices"][0]["message"]["content"] == "".join(texts) + "xyyyzz"
    assert (result[1]["choices"][0]["finish_reason"], result[1]["service_tier"]) == ("reason-zz", "default")


def test_refusal_reasoning_and_tool_arguments() -> None:
    parts = ['{"ci', 'ty": ', '"Par', "is", '\\n"}']
    chunks: list[Any] = [chunk({"role": "assistant", "refusal": t}) for t in ["I", " can", "'t", " help"]]
    chunks += [chunk({"reasoning_content": t}) for t in ["th", "ink", "ing", " hard"]]
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}}
    chunks.append(chunk({"tool_calls": [call]}))
    chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": t}}]}) for t in parts]
    result = check(stream(*chunks), 6)
    message = result[1]["choices"][0]["message"]
    assert message["refusal"] == "I can't help"
    assert message["reasoning_content"] == "thinking hard"
    assert message["tool_calls"][0]["function"]["arguments"] == "".join(parts)


def test_header_changes_between_identical_chunks() -> None:
    usage_only = {"id": "chatcmpl-1", "system_fingerprint": "fp_b", "choices": [], "usage": None}
    chunks = [chunk({"content": t}) for t in ["a", "b", "c", "d"]]
    chunks += [usage_only, *(chunk({"content": t}) for t in ["e", "f"])]
    chunks += [chunk({"content": "g"}, fingerprint="fp_c")]
    chunks += [chunk({"content": t}) for t in ["h", "i", "j", "k"]]
    result = check(stream(*chunks), 2)
    assert result[1]["system_fingerprint"] == "fp_a"
    assert result[1]["choices"][0]["message"]["content"] == "abcdefghijk"


@pytest.mark.parametrize(
    "bad",
    [
        b'"abc\x01"',  # a control character
        b'"abc\\q"',  # a bad escape
        b'"abc\xff"',  # not UTF-8
        b'"abc',  # no closing quote
        b'"abc"}',  # one brace too many after it
    ],
)
def test_a_bad_varying_string_is_found_as_in_a_full_scan(bad: bytes) -> None:
    good = [data(chunk({"content": t})) for t in ["one", "two", "three", "four"]]
    broken = good[1].replace(b'"two"', bad)
    result = check(stream(*good, broken, *good), 1)
    assert result[0] != "ok" or result[1]["choices"][0]["message"]["content"] != "onetwothreefour" * 2


def test_limits_count_reused_scans() -> None:
    body = stream(*(chunk({"content": "z" * 10}) for _ in range(50)))
    for backend in ([ssedelta.get_backend("native")] if not NO_EXTENSIONS else []) + [PYTHON]:
        merger = backend.DeltaMerger(max_merged_size=2000)
        with pytest.raises(ssedelta.LimitExceededError) as caught:
            merger.feed(body)
        assert caught.value.limit == "max_merged_size"
    check(body, 40)


def choice_chunk(index: int, text: str) -> dict[str, Any]:
    out = chunk({"content": text})
    out["choices"][0]["index"] = index
    return out


@pytest.mark.parametrize("n", [2, 4, 5])
def test_choices_taking_turns(n: int) -> None:
    chunks = [choice_chunk(i, f"{i}:{r} ") for r in range(6) for i in range(n)]
    result = check(stream(*chunks), len(chunks) - 2 * n if n <= 4 else 0)  # four shapes are kept
    contents = [c["message"]["content"] for c in result[1]["choices"]]
    assert contents == ["".join(f"{i}:{r} " for r in range(6)) for i in range(n)]


def test_tool_calls_taking_turns() -> None:
    calls = [
        {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": f"f{i}", "arguments": ""}}
        for i in range(3)
    ]
    chunks: list[Any] = [chunk({"tool_calls": [call]}) for call in calls]
    chunks += [chunk({"tool_calls": [{"index": i, "function": {"arguments": f"{i}{r}"}}]})
               for r in range(5) for i in range(3)]  # fmt: skip
    result = check(stream(*chunks), 9)
    arguments = [c["function"]["arguments"] for c in result[1]["choices"][0]["message"]["tool_calls"]]
    assert arguments == ["".join(f"{i}{r}" for r in range(5)) for i in range(3)]


def test_payloads_with_nothing_to_record_are_replayed() -> None:
    empty = {"id": None, "object": "chat.completion", "created": None, "model": None, "choices": []}
    assert check(stream(*[{}] * 8), reused_at_least=6) == ("ok", empty)
    assert check(stream(*[{"choices": []}] * 8), reused_at_least=0)[0] == "ok"
