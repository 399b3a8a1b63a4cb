"""Streaming a finished completion again: a cached answer served as a stream.

The chunks follow OpenAI's shape: per choice a role chunk, the text (in fragments of at most
``fragment_chars`` characters when given), tool calls one after the other (id, type and name on
the first fragment), then a chunk with the ``finish_reason`` and the logprobs; last a chunk with
``choices: []`` carrying the usage and the completion's keys outside the schema (an ``error`` the
original stream reported among them), then ``[DONE]``. Merging them gives back the completion.

Not representable in chunks, so not given back as they were: tool calls of type ``custom``, and
list-valued ``content`` in a completion that was not built by merging (its text joins
``content``, its other parts go to the ``content_parts`` extra, as when merging a stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import anthropic, responses
from .. import stream_format as sf
from .._schema import Model
from ..chat import models as m
from .encode import DONE_EVENT, encode_sse

__all__ = ["replay_chunks", "replay_dicts", "replay_sse"]

_COMPLETION_KEYS = frozenset(
    {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "service_tier",
        "system_fingerprint",
        "usage",
        "moderation",
    }
)
_MESSAGE_KEYS = frozenset(
    {"role", "content", "refusal", "tool_calls", "function_call", "audio", "annotations", "content_parts"}
)
_CHOICE_KEYS = frozenset({"index", "message", "logprobs", "finish_reason"})
_CALL_KEYS = frozenset({"id", "type", "function"})


def replay_dicts(
    completion: m.CreateChatCompletionResponse | dict[str, Any],
    *,
    usage: bool = True,
    fragment_chars: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The chunks of ``completion`` as plain dicts (without ``[DONE]``)."""
    if fragment_chars is not None and fragment_chars < 1:
        raise ValueError("fragment_chars must be at least 1")
    c = completion.to_dict() if isinstance(completion, Model) else completion
    header = _header(c)
    emitted = False
    for choice in sorted(c.get("choices") or (), key=lambda choice: choice.get("index") or 0):
        for choice_delta in _choice_deltas(choice, fragment_chars):
            emitted = True
            yield {**header, "choices": [choice_delta]}
    # The completion's unknown keys go last: "last non-null value" is their merge rule, and an
    # error the stream reported has to come after the text that preceded it.
    tail = {k: v for k, v in c.items() if k not in _COMPLETION_KEYS}
    if usage and c.get("usage") is not None:
        tail["usage"] = c["usage"]
    if c.get("moderation") is not None:
        tail["moderation"] = c["moderation"]
    if tail or not emitted:
        yield {**header, "choices": [], **tail}


def replay_chunks(
    completion: m.CreateChatCompletionResponse | dict[str, Any],
    *,
    usage: bool = True,
    fragment_chars: int | None = None,
) -> list[m.CreateChatCompletionStreamResponse]:
    """The chunks of ``completion`` as chunk objects (``[DONE]`` is not a chunk)."""
    return [
        m.CreateChatCompletionStreamResponse.from_dict(d)
        for d in replay_dicts(completion, usage=usage, fragment_chars=fragment_chars)
    ]


def replay_sse(
    completion: m.CreateChatCompletionResponse | responses.Response | anthropic.Message | dict[str, Any],
    *,
    usage: bool = True,
    fragment_chars: int | None = None,
) -> Iterator[bytes]:
    """The stream of ``completion`` as server-sent events, one ``bytes`` per event.

    A chat completion gives chunks ending with ``data: [DONE]``; ``usage=False`` leaves the
    usage chunk out (as for a request without ``stream_options.include_usage``). A Responses
    ``Response`` or an Anthropic ``Message`` (or its dict: ``"object": "response"``,
    ``"type": "message"``) gives that format's events (:func:`ssedelta.responses.replay_sse`,
    :func:`ssedelta.anthropic.replay_sse`), whose usage is always sent."""
    fmt = sf.format_of_result(completion)
    if fmt == sf.RESPONSES:
        return responses.replay_sse(completion, fragment_chars=fragment_chars)  # type: ignore[arg-type]
    if fmt == sf.ANTHROPIC:
        return anthropic.replay_sse(completion, fragment_chars=fragment_chars)  # type: ignore[arg-type]
    return _chat_sse(completion, usage, fragment_chars)  # type: ignore[arg-type]


def _chat_sse(
    completion: m.CreateChatCompletionResponse | dict[str, Any], usage: bool, fragment_chars: int | None
) -> Iterator[bytes]:
    for d in replay_dicts(completion, usage=usage, fragment_chars=fragment_chars):
        yield encode_sse(d)
    yield DONE_EVENT


def _header(c: dict[str, Any]) -> dict[str, Any]:
    header = {"id": c.get("id"), "object": "chat.completion.chunk", "created": c.get("created")}
    header["model"] = c.get("model")
    for key in ("service_tier", "system_fingerprint"):
        if c.get(key) is not None:
            header[key] = c[key]
    return header


def _choice_deltas(choice: dict[str, Any], size: int | None) -> Iterator[dict[str, Any]]:
    index = choice.get("index") or 0
    message = choice.get("message") or {}
    for delta in _message_deltas(message, size):
        yield {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
    last: dict[str, Any] = {"index": index, "delta": {}, "logprobs": choice.get("logprobs")}
    last["finish_reason"] = choice.get("finish_reason")
    last.update((k, v) for k, v in choice.items() if k not in _CHOICE_KEYS)
    yield last


def _message_deltas(message: dict[str, Any], size: int | None) -> Iterator[dict[str, Any]]:
    first: dict[str, Any] = {}
    if message.get("role") is not None:
        first["role"] = message["role"]
    first.update((k, v) for k, v in message.items() if k not in _MESSAGE_KEYS)
    yield first
    if message.get("content_parts") is not None:
        yield {"content": message["content_parts"]}
    for key in ("content", "refusal"):
        text = message.get(key)
        if isinstance(text, str):
            for fragment in _fragments(text, size):
                yield {key: fragment}
        elif text is not None:
            yield {key: text}
    function_call = message.get("function_call")
    if function_call is not None:
        for i, fragment in enumerate(_fragments(function_call.get("arguments") or "", size)):
            if i == 0:
                yield {"function_call": {**function_call, "arguments": fragment}}
            else:
                yield {"function_call": {"arguments": fragment}}
    for position, call in enumerate(message.get("tool_calls") or ()):
        yield from _tool_call_deltas(position, call, size)
    for key in ("audio", "annotations"):
        if message.get(key) is not None:
            yield {key: message[key]}


def _tool_call_deltas(position: int, call: dict[str, Any], size: int | None) -> Iterator[dict[str, Any]]:
    function = call.get("function")
    arguments = (function or {}).get("arguments") or ""
    for i, fragment in enumerate(_fragments(arguments, size)):
        if i == 0:
            fragment_call: dict[str, Any] = {"index": position}
            fragment_call.update((k, call[k]) for k in ("id", "type") if k in call)
            if function is not None:
                fragment_call["function"] = {**function, "arguments": fragment}
            fragment_call.update((k, v) for k, v in call.items() if k not in _CALL_KEYS)
        else:
            fragment_call = {"index": position, "function": {"arguments": fragment}}
        yield {"tool_calls": [fragment_call]}


def _fragments(text: str, size: int | None) -> list[str]:
    if size is None or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]
