"""Chunk decoder and delta merger, pure Python (orjson on the payload bytes).

The merger keeps plain lists and dicts per choice: string fragments are
appended to lists and joined once when a completion is built, so merging is
linear in the stream length and never copies what it already holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from . import models as m
from ._schema import SchemaError
from ._sse_py import DEFAULT_MAX_EVENT_SIZE, SSEDecoder
from .errors import InvalidChunkError, InvalidJSONError, StreamFormatError, UpstreamError

#: Unknown delta keys whose string values are replaced, not concatenated.
DEFAULT_SCALAR_KEYS = frozenset(
    {"channel", "type", "format", "id", "index", "role", "name", "status", "model", "object"}
)

_DONE = b"[DONE]"
_SKIP = object()


# ------------------------------------------------------------------ decoding payloads


def load_payload(payload: bytes, event: str | None, offset: int, index: int) -> Any:
    """The JSON object of one event's payload, ``_SKIP`` for keep-alives, ``None`` for ``[DONE]``.

    Raises :class:`UpstreamError` for ``event: error`` and the typed stream errors
    for anything that is not a JSON object.
    """
    if payload[:1] != b"{":
        stripped = payload.strip()
        if stripped == _DONE:
            return None
        if not stripped or stripped[:1] == b":":
            return _SKIP
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        obj = _load_lenient(payload, exc, offset, index, event)
    if event == "error":
        error = obj.get("error", obj) if type(obj) is dict else obj
        raise UpstreamError(error if error else {"message": ""}, offset, index)
    if type(obj) is not dict:
        raise InvalidChunkError(f"payload is not a JSON object but {_kind(obj)}", offset, index)
    return obj


def _load_lenient(payload: bytes, exc: Exception, offset: int, index: int, event: str | None) -> Any:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        # Invalid UTF-8 inside an otherwise valid payload: decoded with U+FFFD, as the tokenizer does.
        try:
            return orjson.loads(payload.decode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc2:
            exc = exc2
    if event == "error":
        raise UpstreamError({"message": payload.decode("utf-8", "replace")}, offset, index) from None
    raise InvalidJSONError(f"invalid JSON in data payload: {exc}", offset, index) from None


def _kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def decode_chunk(obj: dict[str, Any], offset: int, index: int) -> m.CreateChatCompletionStreamResponse:
    try:
        return m.CreateChatCompletionStreamResponse.from_dict(obj)
    except SchemaError as exc:
        raise InvalidChunkError(f"not a chat completion chunk: {exc}", offset, index) from None


def upstream_error_of(obj: dict[str, Any]) -> Any:
    """The error object of a chunk that reports one (a truthy ``error`` key), else ``None``."""
    error = obj.get("error")
    return error if error else None


class ChunkDecoder:
    """Bytes in, chunk objects out: ``feed(piece) -> list[chunk]``, then ``close()``.

    Stops at ``[DONE]``. An error (invalid JSON, a non-chunk payload, an
    upstream error) is raised after the chunks before it have been returned:
    at once when none were, else by the next call, and by every call after.
    """

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._sse = SSEDecoder(max_event_size)
        self._error: Exception | None = None
        self.done = False

    @property
    def events(self) -> int:
        return self._sse.events_dispatched

    def feed(self, piece: bytes | bytearray | memoryview) -> list[m.CreateChatCompletionStreamResponse]:
        out: list[m.CreateChatCompletionStreamResponse] = []
        if self._error is not None:
            raise self._error
        if self.done:
            return out
        try:
            for event, payload, offset, index in self._sse.feed_payloads(piece):
                obj = load_payload(payload, event, offset, index)
                if obj is _SKIP:
                    continue
                if obj is None:
                    self.done = True
                    break
                chunk = decode_chunk(obj, offset, index)
                error = upstream_error_of(obj)
                if error is not None:
                    raise UpstreamError(error, offset, index, chunk=chunk)
                out.append(chunk)
        except (StreamFormatError, UpstreamError) as exc:
            self._error = exc
            if not out:
                raise
        return out

    def close(self) -> list[m.CreateChatCompletionStreamResponse]:
        if self._error is not None:
            raise self._error
        self._sse.close()
        return []


def header_of(payload: bytes) -> bytes | None:
    """The bytes of ``payload`` before its top-level ``"choices"`` key, when they hold only
    scalar members (so equal bytes in a later chunk mean equal, already merged, members)."""
    end = payload.find(b'"choices":')
    if end > 1 and payload[end - 1] == 44 and payload.count(b"{", 0, end) == 1 and payload.find(b"[", 0, end) < 0:
        return payload[:end]
    return None


# ------------------------------------------------------------------ generic merge rules


class _Str(list):  # type: ignore[type-arg]
    """The fragments of a concatenated string."""


#: Types that accumulate string fragments: ``append(str)`` adds one, :func:`join_text` reads them.
STR_ACCUMULATORS: set[type] = {_Str}


def join_text(parts: Any) -> str:
    if type(parts) is list or type(parts) is _Str:
        return "".join(parts)
    return parts.text()  # type: ignore[no-any-return]


class _Indexed(dict):  # type: ignore[type-arg]
    """List items merged by their ``index``, kept in first-seen order until finished."""


def merge_generic(acc: dict[str, Any], delta: dict[str, Any], scalar: frozenset[str]) -> None:
    """Merge an unknown part of a delta into ``acc`` with the rule table of the design."""
    for key, value in delta.items():
        if value is None:
            if key not in acc:
                acc[key] = None
            continue
        old = acc.get(key)
        kind = type(value)
        if kind is str:
            if key in scalar:
                acc[key] = value
            elif type(old) in STR_ACCUMULATORS:
                old.append(value)
            else:
                acc[key] = _Str((value,))
        elif kind is dict:
            if type(old) is not dict:
                old = acc[key] = {}
            merge_generic(old, value, scalar)
        elif kind is list:
            merge_list(acc, key, value, scalar)
        else:
            acc[key] = value


def merge_list(acc: dict[str, Any], key: str, value: list[Any], scalar: frozenset[str]) -> None:
    old = acc.get(key)
    indexed = bool(value) and all(type(x) is dict and type(x.get("index")) is int for x in value)
    if indexed and (old is None or type(old) is _Indexed or old == []):
        if type(old) is not _Indexed:
            old = acc[key] = _Indexed()
        for item in value:
            slot = old.get(item["index"])
            if slot is None:
                slot = old[item["index"]] = {}
            merge_generic(slot, item, scalar)
    elif type(old) is _Indexed:
        for item in value:
            old[("append", len(old))] = item
    elif type(old) is list:
        old.extend(value)
    else:
        acc[key] = list(value)


def merge_parts(acc: list[Any], parts: list[Any], scalar: frozenset[str]) -> None:
    """Append typed content parts, merging a part into the previous one of the same type."""
    for part in parts:
        if type(part) is dict and acc and type(acc[-1]) is dict and acc[-1].get("type") == part.get("type"):
            last = acc[-1]
            for key, value in part.items():
                if type(value) is list and type(last.get(key)) is _PartList:
                    merge_parts(last[key], value, scalar)
                else:
                    merge_generic(last, {key: value}, scalar)
        elif type(part) is dict:
            fresh: dict[str, Any] = {}
            for key, value in part.items():
                if type(value) is list and all(type(x) is dict and "type" in x for x in value):
                    nested = fresh[key] = _PartList()
                    merge_parts(nested, value, scalar)
                else:
                    merge_generic(fresh, {key: value}, scalar)
            acc.append(fresh)
        else:
            acc.append(part)


class _PartList(list):  # type: ignore[type-arg]
    """A list of typed parts (merged like ``content`` parts)."""


def finish_value(value: Any) -> Any:
    kind = type(value)
    if kind in STR_ACCUMULATORS:
        return join_text(value)
    if kind is dict:
        return {k: finish_value(v) for k, v in value.items()}
    if kind is _Indexed:
        ints = sorted(k for k in value if type(k) is int)
        rest = [k for k in value if type(k) is not int]
        return [finish_value(value[k]) for k in ints] + [value[k] for k in rest]
    if kind is _PartList:
        return [finish_value(v) for v in value]
    return value


# ------------------------------------------------------------------ merge state


class _Tool:
    __slots__ = ("index", "id", "type", "name", "arguments", "extras", "function_extras")

    def __init__(self, index: int | None) -> None:
        self.index = index
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: Any = []
        self.extras: dict[str, Any] = {}
        self.function_extras: dict[str, Any] = {}


class _Choice:
    __slots__ = (
        "index",
        "role",
        "content",
        "refusal",
        "content_parts",
        "tools",
        "tool_at",
        "last_tool",
        "function_call",
        "audio",
        "annotations",
        "logprobs_seen",
        "lp_content",
        "lp_refusal",
        "finish_reason",
        "extras",
        "message_extras",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: Any = None
        self.refusal: Any = None
        self.content_parts: list[Any] | None = None
        self.tools: list[_Tool] = []
        self.tool_at: dict[int, _Tool] = {}
        self.last_tool: _Tool | None = None
        self.function_call: dict[str, Any] | None = None
        self.audio: dict[str, Any] | None = None
        self.annotations: list[Any] | None = None
        self.logprobs_seen = False
        self.lp_content: list[m.ChatCompletionTokenLogprob] | None = None
        self.lp_refusal: list[m.ChatCompletionTokenLogprob] | None = None
        self.finish_reason: str | None = None
        self.extras: dict[str, Any] = {}
        self.message_extras: dict[str, Any] = {}


class _Bad(Exception):
    """A field of a chunk has the wrong type (turned into InvalidChunkError with the offset)."""


def _want(value: Any, kind: type, path: str) -> Any:
    if value is not None and type(value) is not kind:
        raise _Bad(f"{path}: expected {kind.__name__}, got {type(value).__name__}")
    return value


_CHOICE_KNOWN = frozenset({"index", "delta", "logprobs", "finish_reason"})


class DeltaMerger:
    """Folds a stream into one completion: ``feed`` bytes or ``add`` chunks, then ``finish()``.

    ``snapshot()`` is valid at any moment. ``scalar_keys`` extends the set of
    unknown delta keys whose string values replace instead of concatenating.
    """

    def __init__(
        self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, scalar_keys: Iterable[str] = ()
    ) -> None:
        self._sse = SSEDecoder(max_event_size)
        self._scalar = DEFAULT_SCALAR_KEYS | frozenset(scalar_keys)
        self._choices: dict[int, _Choice] = {}
        self._id: str | None = None
        self._model: str | None = None
        self._created: Any = None
        self._service_tier: str | None = None
        self._fingerprint: str | None = None
        self._usage: m.CompletionUsage | None = None
        self._groq_usage: m.CompletionUsage | None = None
        self._moderation: m.ChatCompletionModeration | None = None
        self._extras: dict[str, Any] = {}
        self._error: UpstreamError | None = None
        self._header: bytes | None = None
        self.chunks = 0
        self.done = False

    # -- input

    @property
    def events(self) -> int:
        return self._sse.events_dispatched

    @property
    def error(self) -> UpstreamError | None:
        """The upstream error the stream reported, if any (``finish()`` raises it)."""
        return self._error

    @property
    def usage(self) -> m.CompletionUsage | None:
        return self._usage if self._usage is not None else self._groq_usage

    def feed(self, piece: bytes | bytearray | memoryview) -> int:
        """Merge the chunks ``piece`` completes; returns how many. Nothing is read after
        ``[DONE]`` or an upstream error."""
        if self.done:
            return 0
        merged = 0
        loads = orjson.loads
        merge_chunk = self._merge_chunk
        for event, payload, offset, index in self._sse.feed_payloads(piece):
            obj: Any = None
            if event != "error" and payload[:1] == b"{":
                header = self._header
                try:
                    if header is not None and payload.startswith(header):
                        # Same header bytes as the last chunk: merging them again changes nothing.
                        obj = loads(b"{" + memoryview(payload)[len(header) :])
                        header = None
                    else:
                        obj = loads(payload)
                except orjson.JSONDecodeError:
                    obj = None
            if obj is None:
                try:
                    obj = load_payload(payload, event, offset, index)
                except UpstreamError as exc:
                    self._error = exc
                    self.done = True
                    break
                if obj is _SKIP:
                    continue
                if obj is None:
                    self.done = True
                    break
                header = b""
            try:
                merge_chunk(obj)
            except (_Bad, SchemaError) as exc:
                self._header = None
                raise InvalidChunkError(f"not a chat completion chunk: {exc}", offset, index) from None
            merged += 1
            if "error" in obj and obj["error"]:
                self._error = UpstreamError(obj["error"], offset, index)
                self.done = True
                break
            if header is not None:
                self._header = header_of(payload)
        self.chunks += merged
        return merged

    def add(self, chunk: m.CreateChatCompletionStreamResponse | dict[str, Any]) -> None:
        """Merge one decoded chunk (a chunk object or its dict)."""
        obj = chunk.to_dict() if isinstance(chunk, m.Model) else chunk
        if type(obj) is not dict:
            raise InvalidChunkError("a chunk must be a chunk object or a dict", -1, None)
        self._merge_obj(obj, -1, None)
        error = upstream_error_of(obj)
        if error is not None and self._error is None:
            self._error = UpstreamError(error, -1, None)

    # -- state factories (the native core substitutes its own types)

    def _new_choice(self, index: int) -> Any:
        return _Choice(index)

    def _new_tool(self, index: int | None) -> Any:
        return _Tool(index)

    def _new_text(self) -> Any:
        return []

    def _merge_obj(self, obj: dict[str, Any], offset: int, index: int | None) -> None:
        self._header = None
        try:
            self._merge_chunk(obj)
        except (_Bad, SchemaError) as exc:
            raise InvalidChunkError(f"not a chat completion chunk: {exc}", offset, index) from None
        self.chunks += 1

    def _merge_chunk(self, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            if key == "choices":
                if value:
                    if type(value) is not list:
                        raise _Bad(f"choices: expected list, got {type(value).__name__}")
                    for choice in value:
                        self._merge_choice(choice)
            elif key == "id":
                if not self._id and value is not None:
                    self._id = _want(value, str, "id")
            elif key == "object":
                _want(value, str, "object")
            elif key == "created":
                if value is not None:
                    if type(value) is not int and type(value) is not float:
                        raise _Bad(f"created: expected number, got {type(value).__name__}")
                    if not self._created:
                        self._created = value
            elif key == "model":
                if not self._model and value is not None:
                    self._model = _want(value, str, "model")
            elif key == "system_fingerprint":
                if value is not None:
                    self._fingerprint = _want(value, str, "system_fingerprint")
            elif key == "usage":
                if value is not None:
                    self._usage = m.CompletionUsage.from_dict(value, "usage")
            elif key == "service_tier":
                if not self._service_tier and value is not None:
                    self._service_tier = _want(value, str, "service_tier")
            elif key == "moderation":
                if value is not None:
                    self._moderation = m.ChatCompletionModeration.from_dict(value, "moderation")
            elif key == "obfuscation":
                pass
            elif value is not None or key not in self._extras:
                if key == "x_groq" and type(value) is dict and type(value.get("usage")) is dict:
                    self._groq_usage = m.CompletionUsage.from_dict(value["usage"], "x_groq.usage")
                self._extras[key] = value

    def _merge_choice(self, choice: Any) -> None:
        if type(choice) is not dict:
            raise _Bad(f"choices[]: expected dict, got {type(choice).__name__}")
        index = choice.get("index", 0)
        if type(index) is not int:
            raise _Bad(f"choices[].index: expected int, got {type(index).__name__}")
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = self._new_choice(index)
        delta = choice.get("delta")
        if delta:
            if type(delta) is not dict:
                raise _Bad(f"choices[].delta: expected dict, got {type(delta).__name__}")
            self._merge_delta(state, delta)
        elif delta is not None and type(delta) is not dict:
            raise _Bad(f"choices[].delta: expected dict, got {type(delta).__name__}")
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            state.finish_reason = _want(finish_reason, str, "finish_reason")
        logprobs = choice.get("logprobs")
        if logprobs is not None:
            self._merge_logprobs(state, logprobs)
        if (
            len(choice) != 4
            or "logprobs" not in choice
            or "finish_reason" not in choice
            or "delta" not in choice
            or "index" not in choice
        ):
            extras = state.extras
            for key, value in choice.items():
                if key not in _CHOICE_KNOWN and (value is not None or key not in extras):
                    extras[key] = value

    def _merge_logprobs(self, state: _Choice, logprobs: Any) -> None:
        lp = m.CreateChatCompletionStreamResponseChoicesInnerLogprobs.from_dict(logprobs, "logprobs")
        state.logprobs_seen = True
        if lp.content is not None:
            if state.lp_content is None:
                state.lp_content = []
            state.lp_content.extend(lp.content)
        if lp.refusal is not None:
            if state.lp_refusal is None:
                state.lp_refusal = []
            state.lp_refusal.extend(lp.refusal)

    def _merge_delta(self, state: _Choice, delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key == "content" and type(value) is str:
                content = state.content
                if content is None:
                    content = state.content = self._new_text()
                content.append(value)
                continue
            if value is None:
                if key not in _DELTA_KNOWN and key not in state.message_extras:
                    state.message_extras[key] = None
                continue
            if key == "content":
                if type(value) is str:
                    if state.content is None:
                        state.content = self._new_text()
                    state.content.append(value)
                elif type(value) is list:
                    self._merge_content_parts(state, value)
                else:
                    raise _Bad(f"delta.content: expected str or list, got {type(value).__name__}")
            elif key == "role":
                if state.role is None and _want(value, str, "delta.role"):
                    state.role = value
            elif key == "tool_calls":
                for call in _want(value, list, "delta.tool_calls"):
                    self._merge_tool_call(state, call)
            elif key == "refusal":
                _want(value, str, "delta.refusal")
                if state.refusal is None:
                    state.refusal = self._new_text()
                state.refusal.append(value)
            elif key == "function_call":
                if state.function_call is None:
                    state.function_call = {}
                self._merge_named(state.function_call, _want(value, dict, "delta.function_call"), "name")
            elif key == "audio":
                if state.audio is None:
                    state.audio = {}
                self._merge_named(state.audio, _want(value, dict, "delta.audio"), "id")
            elif key == "annotations":
                if state.annotations is None:
                    state.annotations = []
                state.annotations.extend(_want(value, list, "delta.annotations"))
            else:
                merge_generic(state.message_extras, {key: value}, self._scalar)

    def _merge_named(self, acc: dict[str, Any], value: dict[str, Any], once: str) -> None:
        """``once`` (the name or id) is set once; other strings concatenate, the rest by the table."""
        for key, item in value.items():
            if key == once:
                if item and not acc.get(key):
                    acc[key] = _want(item, str, key)
                elif key not in acc:
                    acc[key] = item
            elif key in _CONCATENATED:
                if item is not None:
                    _want(item, str, key)
                    if type(acc.get(key)) is _Str:
                        acc[key].append(item)
                    else:
                        acc[key] = _Str((item,))
                elif key not in acc:
                    acc[key] = None
            else:
                if key == "expires_at" and item is not None and type(item) is not int:
                    raise _Bad(f"audio.expires_at: expected int, got {type(item).__name__}")
                merge_generic(acc, {key: item}, self._scalar)

    def _merge_content_parts(self, state: _Choice, parts: list[Any]) -> None:
        others = []
        for part in parts:
            if type(part) is dict and part.get("type") == "text" and type(part.get("text")) is str:
                if state.content is None:
                    state.content = self._new_text()
                state.content.append(part["text"])
            else:
                others.append(part)
        if others:
            if state.content_parts is None:
                state.content_parts = []
            merge_parts(state.content_parts, others, self._scalar)

    def _merge_tool_call(self, state: _Choice, call: Any) -> None:
        if type(call) is not dict:
            raise _Bad(f"delta.tool_calls[]: expected dict, got {type(call).__name__}")
        index = call.get("index")
        if index is not None and type(index) is not int:
            raise _Bad(f"delta.tool_calls[].index: expected int, got {type(index).__name__}")
        call_id = _want(call.get("id"), str, "delta.tool_calls[].id")
        tool = state.tool_at.get(index) if index is not None else state.last_tool
        if tool is None or (call_id and tool.id and call_id != tool.id):
            tool = self._new_tool(index)
            state.tools.append(tool)
            if index is not None:
                state.tool_at[index] = tool
        state.last_tool = tool
        for key, value in call.items():
            if key == "index" or value is None:
                continue
            if key == "id":
                if not tool.id:
                    tool.id = value
            elif key == "type":
                if not tool.type:
                    tool.type = _want(value, str, "delta.tool_calls[].type")
            elif key == "function":
                for fkey, fvalue in _want(value, dict, "delta.tool_calls[].function").items():
                    if fkey == "arguments":
                        if fvalue is not None:
                            tool.arguments.append(_want(fvalue, str, "function.arguments"))
                    elif fkey == "name":
                        if fvalue and not tool.name:
                            tool.name = _want(fvalue, str, "function.name")
                    else:
                        merge_generic(tool.function_extras, {fkey: fvalue}, self._scalar)
            else:
                merge_generic(tool.extras, {key: value}, self._scalar)

    # -- output

    def snapshot(self) -> m.CreateChatCompletionResponse:
        """The completion merged so far (``finish_reason`` may be ``None``); never raises."""
        choices = [_build_choice(self._choices[i]) for i in sorted(self._choices)]
        usage = self._usage if self._usage is not None else self._groq_usage
        return m.CreateChatCompletionResponse(
            id=self._id,
            object="chat.completion",
            created=self._created,
            model=self._model,
            choices=choices,
            service_tier=self._service_tier,
            system_fingerprint=self._fingerprint,
            usage=usage,
            moderation=self._moderation,
            extras=dict(self._extras),
        )

    def finish(self) -> m.CreateChatCompletionResponse:
        """The final completion; raises :class:`UpstreamError` (with ``.partial``) if the
        stream reported one."""
        if not self.done:
            self._sse.close()
        completion = self.snapshot()
        if self._error is not None:
            error = self._error
            raise UpstreamError(error.error, error.offset, error.event_index, partial=completion)
        return completion


_CONCATENATED = frozenset({"arguments", "data", "transcript"})
_DELTA_KNOWN = frozenset(
    {"role", "content", "refusal", "tool_calls", "function_call", "audio", "annotations"}
)


def _build_choice(state: _Choice) -> m.CreateChatCompletionResponseChoicesInner:
    extras = {k: finish_value(v) for k, v in state.message_extras.items()}
    if state.content_parts is not None:
        extras["content_parts"] = finish_value(state.content_parts)
    message = m.ChatCompletionResponseMessage(
        role=state.role or "assistant",
        content=join_text(state.content) if state.content is not None else None,
        refusal=join_text(state.refusal) if state.refusal is not None else None,
        tool_calls=[_build_tool(t) for t in _ordered(state.tools)] if state.tools else None,
        annotations=_annotations(state.annotations),
        audio=_audio(state.audio),
        function_call=_function_call(state.function_call),
        extras=extras,
    )
    logprobs = None
    if state.logprobs_seen:
        logprobs = m.CreateChatCompletionResponseChoicesInnerLogprobs(
            content=list(state.lp_content) if state.lp_content is not None else None,
            refusal=list(state.lp_refusal) if state.lp_refusal is not None else None,
        )
    return m.CreateChatCompletionResponseChoicesInner(
        index=state.index,
        message=message,
        logprobs=logprobs,
        finish_reason=state.finish_reason,
        extras=dict(state.extras),
    )


def _ordered(tools: list[_Tool]) -> list[_Tool]:
    if all(t.index is not None for t in tools):
        return sorted(tools, key=lambda t: t.index)  # type: ignore[arg-type,return-value]
    return tools


def _build_tool(tool: _Tool) -> m.ChatCompletionMessageToolCall:
    return m.ChatCompletionMessageToolCall(
        id=tool.id,
        type=tool.type or "function",
        function=m.ChatCompletionMessageToolCallFunction(
            name=tool.name,
            arguments=join_text(tool.arguments),
            extras={k: finish_value(v) for k, v in tool.function_extras.items()},
        ),
        extras={k: finish_value(v) for k, v in tool.extras.items()},
    )


def _annotations(items: list[Any] | None) -> list[Any] | None:
    if items is None:
        return None
    out = []
    for item in items:
        try:
            out.append(m.ChatCompletionResponseMessageAnnotationsInner.from_dict(item))
        except SchemaError:
            out.append(item)
    return out


def _audio(acc: dict[str, Any] | None) -> m.ChatCompletionResponseMessageAudio | None:
    if acc is None:
        return None
    return m.ChatCompletionResponseMessageAudio.from_dict(finish_value(acc))


def _function_call(acc: dict[str, Any] | None) -> m.ChatCompletionResponseMessageFunctionCall | None:
    if acc is None:
        return None
    value = finish_value(acc)
    value.setdefault("arguments", "")
    return m.ChatCompletionResponseMessageFunctionCall.from_dict(value)
