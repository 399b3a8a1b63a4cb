"""Which stream format a byte stream is in, and the format's merger and result.

``chat`` (OpenAI Chat Completions), ``responses`` (OpenAI Responses API) and ``anthropic``
(Anthropic Messages). The format comes from the request path when there is one
(:func:`format_of_path`), else from the stream's first event (:func:`format_of_stream`): its
``event:`` name or its payload's ``type`` (``response.*``: Responses; ``message_start``, ``ping``,
``content_block_*``: Anthropic) or a chat chunk's keys (``object: "chat.completion.chunk"`` or
``choices``). The gateway and the bulk readers both decide with these functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from . import anthropic, responses
from ._backend import Backend
from ._schema import SchemaError
from .chat import models as chat_models
from .usage import Usage

__all__ = [
    "ANTHROPIC",
    "CHAT",
    "FORMATS",
    "RESPONSES",
    "format_of_body",
    "format_of_event",
    "format_of_path",
    "format_of_result",
    "format_of_stream",
    "has_output",
    "merger_class",
    "usage_of_body",
]

CHAT, RESPONSES, ANTHROPIC = "chat", "responses", "anthropic"
FORMATS = (CHAT, RESPONSES, ANTHROPIC)

#: Event types that only Anthropic Messages streams send.
_ANTHROPIC_EVENTS = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    }
)
_DONE = b"[DONE]"


def check_format(value: Any) -> str | None:
    """``value`` if it names a format (or is ``None``); ``ValueError``/``TypeError`` otherwise."""
    if value is None or value in FORMATS:
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise TypeError(f"format must be one of {FORMATS} or None, not {type(value).__name__}")
    raise ValueError(f"unknown stream format {value!r}; expected one of {FORMATS} or None")


def format_of_path(path: str | None) -> str | None:
    """The format a request path asks for (``/v1/chat/completions``, ``/v1/responses``,
    ``/v1/messages``, with any prefix such as ``/openai/deployments/x``; ``/v1/responses/{id}``
    resumes a Responses stream); ``None`` for any other path."""
    if not path:
        return None
    parts = [p for p in path.split("?", 1)[0].split("#", 1)[0].split("/") if p]
    if not parts:
        return None
    if parts[-2:] == ["chat", "completions"]:
        return CHAT
    if parts[-1] == "responses" or (len(parts) >= 2 and parts[-2] == "responses"):
        return RESPONSES
    if parts[-1] == "messages" and "threads" not in parts:
        return ANTHROPIC
    return None


def format_of_event(event: str | None, payload: bytes | bytearray | memoryview) -> str | None:
    """The format one event says: its ``event:`` name, else its JSON payload; ``None`` when
    it says none (a payload that is not an object, an object of no known shape)."""
    if event:
        if event.startswith("response."):
            return RESPONSES
        if event in _ANTHROPIC_EVENTS:
            return ANTHROPIC
    data = bytes(payload).strip()
    if data == _DONE:
        return CHAT
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    kind = obj.get("type")
    if type(kind) is str:
        if kind.startswith("response."):
            return RESPONSES
        if kind in _ANTHROPIC_EVENTS:
            return ANTHROPIC
        if kind == "error":  # a Responses error carries its sequence number, an Anthropic one none
            return RESPONSES if "sequence_number" in obj else ANTHROPIC
    if obj.get("object") == "chat.completion.chunk" or "choices" in obj:
        return CHAT
    return None


class _Unknown:
    """The first event was read and names no format."""


#: What :func:`format_of_stream` returns when the first event names no format.
UNKNOWN: Any = _Unknown()


def format_of_stream(data: bytes | bytearray | memoryview, *, final: bool = False) -> Any:
    """The format the first event of the stream starting with ``data`` says: a name of
    :data:`FORMATS`, :data:`UNKNOWN` when that event names none, or ``None`` when ``data`` holds
    no complete event yet (``final=True``: ``data`` is the whole stream, a last event without
    its blank line counts)."""
    event: str | None = None
    lines: list[bytes] = []
    view = bytes(data)
    if view.startswith(b"\xef\xbb\xbf"):
        view = view[3:]
    for line, complete in _lines(view, final):
        if not complete:
            break
        if not line:
            if lines:
                return format_of_event(event, b"\n".join(lines)) or UNKNOWN
            event = None
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            value = b""
        elif value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            lines.append(value)
        elif name == b"event":
            event = value.decode("utf-8", "replace")
    if final and lines:
        return format_of_event(event, b"\n".join(lines)) or UNKNOWN
    return UNKNOWN if final else None


def _lines(data: bytes, final: bool) -> Iterator[tuple[bytes, bool]]:
    """The lines of ``data`` (CRLF, LF or CR ends) and whether each is complete."""
    i, n = 0, len(data)
    while i < n:
        lf, cr = data.find(b"\n", i), data.find(b"\r", i)
        ends = [e for e in (lf, cr) if e >= 0]
        if not ends:
            yield data[i:], final
            return
        end = min(ends)
        if data[end] == 13:
            if end + 1 == n and not final:  # the LF of a CRLF may follow
                yield data[i:end], False
                return
            step = 2 if end + 1 < n and data[end + 1] == 10 else 1
        else:
            step = 1
        yield data[i:end], True
        i = end + step


def merger_class(fmt: str, backend: Backend) -> Any:
    """The merger class of format ``fmt`` on ``backend``."""
    if fmt == RESPONSES:
        return responses.merger_class(backend)
    if fmt == ANTHROPIC:
        return anthropic.merger_class(backend)
    return backend.DeltaMerger


def format_of_result(result: Any) -> str:
    """The format of a merged result (or of its ``to_dict()``)."""
    if isinstance(result, responses.Response):
        return RESPONSES
    if isinstance(result, anthropic.Message):
        return ANTHROPIC
    if isinstance(result, dict):
        if result.get("object") == "response":
            return RESPONSES
        if result.get("type") == "message":
            return ANTHROPIC
    return CHAT


def format_of_body(body: dict[str, Any]) -> str | None:
    """The format of a non-streamed response body (a ``chat.completion``, a ``response``, a
    ``message``), or ``None``."""
    if isinstance(body.get("choices"), list):
        return CHAT
    if body.get("object") == "response" and isinstance(body.get("output"), list):
        return RESPONSES
    if body.get("type") == "message" and isinstance(body.get("content"), list):
        return ANTHROPIC
    return None


_RESULT_MODELS: dict[str, Any] = {
    CHAT: chat_models.CreateChatCompletionResponse,
    RESPONSES: responses.Response,
    ANTHROPIC: anthropic.Message,
}


def usage_of_body(fmt: str, body: dict[str, Any]) -> Usage | None:
    """The normalised usage of a result body of format ``fmt``; ``None`` when it has none or its
    usage is not in the format's shape."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    try:
        return Usage.of(_RESULT_MODELS[fmt].from_dict({"usage": usage}))
    except (SchemaError, TypeError, ValueError):
        return None


# ------------------------------------------------------------------ first output


def has_output(fmt: str, result: Any) -> bool:
    """Whether a result merged so far holds generated output: text, a refusal, reasoning or
    thinking, tool call arguments or input (for chat also a tool call's start and audio)."""
    if fmt == RESPONSES:
        return any(_item_has_output(item) for item in result.output or ())
    if fmt == ANTHROPIC:
        return any(_block_has_output(block) for block in result.content or ())
    return _chat_has_output(result)


#: Chat message keys outside the schema whose text is generated output (reasoning models).
OUTPUT_EXTRAS = ("reasoning_content", "reasoning", "thinking", "content_parts")


def _chat_has_output(completion: chat_models.CreateChatCompletionResponse) -> bool:
    for choice in completion.choices or ():
        message = choice.message
        if message is None:
            continue
        if message.content or message.refusal or message.tool_calls or message.function_call:
            return True
        if message.audio is not None:
            return True
        extras = message.extras
        if extras and any(extras.get(key) for key in OUTPUT_EXTRAS):
            return True
    return False


#: Keys of Responses output items that deltas build: arguments, tool input, code, a patch's
#: diff, shell commands and output.
_ITEM_OUTPUT_KEYS = frozenset({"arguments", "input", "code", "diff", "commands", "stdout", "stderr"})


def _item_has_output(item: Any) -> bool:
    content = getattr(item, "content", None)
    if isinstance(content, list):
        for part in content:
            if getattr(part, "text", None) or getattr(part, "refusal", None):
                return True
    if any(getattr(part, "text", None) for part in getattr(item, "summary", None) or ()):
        return True
    if item.type in ("message", "reasoning"):
        return False
    return _built_by_deltas(item.to_dict())


def _built_by_deltas(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` (an item's dict) holds a non-empty string under a key deltas build."""
    if depth > 4:
        return False
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in _ITEM_OUTPUT_KEYS and inner and (isinstance(inner, str) or _has_text(inner)):
                return True
            if isinstance(inner, (dict, list)) and _built_by_deltas(inner, depth + 1):
                return True
    elif isinstance(value, list):
        return any(_built_by_deltas(inner, depth + 1) for inner in value)
    return False


def _has_text(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, str) and v for v in value)


def _block_has_output(block: Any) -> bool:
    return any(getattr(block, key, None) for key in ("text", "thinking", "input"))
