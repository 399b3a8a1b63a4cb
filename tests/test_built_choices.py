"""The finished choice of every kind of stream: tool calls (ordered by index, or in arrival order
when one has none), their extras and their function's, annotations (as models, or as they came
when they are not one), audio, a legacy function call and content parts. Each is checked against
the value written out here, and both backends build equal objects of the same classes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import ssedelta
from real_streams import STREAMS, body
from ssedelta._env import NO_EXTENSIONS
from ssedelta.chat import _merge_py
from ssedelta.chat import models as m


def sse(*deltas: dict[str, Any], finish: str = "stop", choice_extras: dict[str, Any] | None = None) -> bytes:
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    out = []
    for delta in deltas:
        choice = {"index": 0, "delta": delta, "finish_reason": None, **(choice_extras or {})}
        out.append({**head, "choices": [choice]})
    out.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in out) + b"data: [DONE]\n\n"


def call(index: int | None, **fields: Any) -> dict[str, Any]:
    return {"tool_calls": [({"index": index} if index is not None else {}) | fields]}


CASES: dict[str, tuple[bytes, dict[str, Any]]] = {
    "tools by index": (
        sse(
            {"role": "assistant"},
            call(1, id="b", type="function", function={"name": "g", "arguments": ""}),
            call(0, id="a", type="function", function={"name": "f", "arguments": '{"x"'}),
            call(1, function={"arguments": "{}"}),
            call(0, function={"arguments": ":1}"}),
        ),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
    ),
    "tools without index, in arrival order, type defaulted": (
        sse(
            call(None, id="z", function={"name": "late", "arguments": "{}"}),
            call(None, id="y", function={"name": "early", "arguments": "[]"}),
        ),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {"id": "z", "type": "function", "function": {"name": "late", "arguments": "{}"}},
                {"id": "y", "type": "function", "function": {"name": "early", "arguments": "[]"}},
            ],
        },
    ),
    "tool and function extras, merged as delta keys": (
        sse(
            call(
                0,
                id="a",
                type="function",
                function={"name": "f", "arguments": "", "strict": True},
                cache={"n": 1},
            ),
            call(0, function={"arguments": "{}", "note": "a"}, cache={"m": 2}, note="x"),
            call(0, function={"note": "b"}, note="y"),
        ),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": "a",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}", "strict": True, "note": "ab"},
                    "cache": {"n": 1, "m": 2},
                    "note": "xy",
                }
            ],
        },
    ),
    "annotations, one not a model": (
        sse(
            {"content": "see"},
            {"annotations": [{"type": "url_citation", "url_citation": {"url": "u", "start_index": 0}}]},
            {"annotations": [{"type": "url_citation", "url_citation": "not an object"}]},
        ),
        {
            "role": "assistant",
            "content": "see",
            "refusal": None,
            "annotations": [
                {"type": "url_citation", "url_citation": {"url": "u", "start_index": 0}},
                {"type": "url_citation", "url_citation": "not an object"},
            ],
        },
    ),
    "audio": (
        sse({"audio": {"id": "au", "transcript": "he"}}, {"audio": {"transcript": "llo", "data": "AAA"}}),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "audio": {"id": "au", "transcript": "hello", "data": "AAA"},
        },
    ),
    "function call without arguments": (
        sse({"function_call": {"name": "f"}}),
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "function_call": {"name": "f", "arguments": ""},
        },
    ),
    "content parts after message extras": (
        sse(
            {"reasoning_content": "th", "content": [{"type": "text", "text": "a"}]},
            {"reasoning_content": "ink", "content": [{"type": "text", "text": "b"}]},
        ),
        None,  # the parts' merge is the rule table's: both backends must agree
    ),
}


def by_class(value: Any) -> Any:
    """``value`` with each model replaced by its class name and its fields, recursively."""
    if isinstance(value, list):
        return [by_class(v) for v in value]
    if isinstance(value, dict):
        return {k: by_class(v) for k, v in value.items()}
    if hasattr(value, "_keys"):
        fields = {k: by_class(getattr(value, k)) for k in value._keys}
        return (type(value).__name__, fields, by_class(value.extras), sorted(value.fields_set))
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_finished_choice(backend: ssedelta.Backend, name: str) -> None:
    data, expected = CASES[name]
    done = backend.merge([data])
    choice = done.choices[0]
    assert type(choice.message) is m.ChatCompletionResponseMessage
    if expected is not None:
        assert choice.message.to_dict() == expected
    for tool in choice.message.tool_calls or ():
        assert type(tool) is m.ChatCompletionMessageToolCall
        assert type(tool.function) is m.ChatCompletionMessageToolCallFunction
    if name == "annotations, one not a model":
        first, second = choice.message.annotations
        assert type(first) is m.ChatCompletionResponseMessageAnnotationsInner
        assert type(first.url_citation) is m.ChatCompletionResponseMessageAnnotationsInnerUrlCitation
        assert type(second) is dict
    if name == "audio":
        assert type(choice.message.audio) is m.ChatCompletionResponseMessageAudio
    if name == "function call without arguments":
        assert type(choice.message.function_call) is m.ChatCompletionResponseMessageFunctionCall


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@pytest.mark.parametrize("name", list(CASES))
def test_backends_build_the_same_objects(name: str) -> None:
    data, _ = CASES[name]
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    native, twin = (ssedelta.get_backend(b).merge(pieces) for b in ("native", "python"))
    assert by_class(native) == by_class(twin)
    assert native == twin


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@pytest.mark.parametrize("name", STREAMS)
def test_recorded_streams_built_natively(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The native core builds every recorded stream's choices itself: with the twin's builders
    made to fail, its result is the twin's, object for object."""
    data = body(name)
    twin = ssedelta.get_backend("python")
    try:
        expected = twin.merge([data])
    except ssedelta.UpstreamError as exc:
        expected = exc
    for builder in ("_build_choice", "_build_tool", "_annotations", "_audio", "_function_call"):
        monkeypatch.setattr(_merge_py, builder, _fails)
    rng = random.Random(name)
    cuts = sorted(rng.sample(range(1, len(data)), min(8, len(data) - 1)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    try:
        native = ssedelta.get_backend("native").merge(pieces)
    except ssedelta.UpstreamError as exc:
        assert isinstance(expected, ssedelta.UpstreamError)
        assert (str(exc), exc.offset) == (str(expected), expected.offset)
        native, expected = exc.partial, expected.partial
    assert by_class(native) == by_class(expected)


def _fails(*args: Any) -> Any:
    raise AssertionError("the native core called the twin's builder")
