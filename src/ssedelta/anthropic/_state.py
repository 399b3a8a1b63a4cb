"""The merged state of a Messages stream, shared by the mergers of both backends.

State is kept per block ``index`` in plain lists and dicts: string fragments are appended and
joined once when a message is built, tool input JSON is parsed once, when its block stops. Every
event is checked before it changes anything, so after an error the state holds exactly the events
before it.
"""

from __future__ import annotations

from typing import Any

import orjson

from .. import _build_py
from .._schema import (
    _SCALAR_CHECKS,
    ANY,
    STR,
    TEXT,
    Model,
    SchemaError,
    _convert,
    _json_type,
    scalar_mismatch,
)
from ..errors import InvalidChunkError, InvalidJSONError, UpstreamError
from . import models as m
from ._rules import (
    APPEND,
    CONCAT,
    DELTAS,
    JSON,
    MESSAGE_DELTA_ASSIGNED,
    MESSAGE_DELTA_OWN_KEYS,
    REPLACE,
    STRING_DELTAS,
)

__all__ = ["MessagesState", "decode_event", "error_of", "load_event"]

_SKIP = object()
_DONE = b"[DONE]"

#: Parses a tool-use block's JSON text (once per block; a module global so it can be observed).
parse_input = orjson.loads


class _Bad(Exception):
    """An event that is valid JSON but not a Messages event (becomes InvalidChunkError)."""


class _Concat(list):  # type: ignore[type-arg]
    """String fragments of a block key."""


class _Append(list):  # type: ignore[type-arg]
    """Items appended to a block key's list."""


class _Json(list):  # type: ignore[type-arg]
    """The JSON text fragments of a block's ``input``, not parsed yet (``str``, or UTF-8 ``bytes``
    from the native core)."""


# ------------------------------------------------------------------ payloads


def load_event(payload: bytes, event: str | None, offset: int, index: int) -> Any:
    """The JSON object of one event's payload, ``_SKIP`` for an empty one, ``None`` for ``[DONE]``.

    Raises the typed stream errors for anything else that is not a JSON object, and
    :class:`UpstreamError` for an ``event: error`` whose payload is not one.
    """
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        stripped = payload.strip()
        if not stripped:
            return _SKIP
        if stripped == _DONE:
            return None
        obj = _load_replacing(payload, exc, event, offset, index)
    if type(obj) is not dict:
        if event == "error":
            raise UpstreamError({"message": payload.decode("utf-8", REPLACE)}, offset, index)
        raise InvalidChunkError(f"event payload is not a JSON object but {_json_kind(obj)}", offset, index)
    return obj


def _load_replacing(payload: bytes, exc: Exception, event: str | None, offset: int, index: int) -> Any:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        # Invalid UTF-8 in an otherwise valid payload: read with U+FFFD, as the tokenizer does.
        try:
            return orjson.loads(payload.decode("utf-8", REPLACE))
        except orjson.JSONDecodeError as exc2:
            exc = exc2
    if event == "error":
        raise UpstreamError({"message": payload.decode("utf-8", REPLACE)}, offset, index) from None
    raise InvalidJSONError(f"invalid JSON in data payload: {exc}", offset, index) from None


def _json_kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def error_of(obj: dict[str, Any], event: str | None) -> Any:
    """The error object an ``error`` event reports, else ``None``."""
    if event != "error" and obj.get("type") != "error":
        return None
    error = obj.get("error")
    return error if error else obj


def decode_event(obj: dict[str, Any], offset: int, index: int) -> Model:
    """The event model of a payload object."""
    try:
        return m.event_class(obj.get("type")).from_dict(obj)
    except SchemaError as exc:
        raise InvalidChunkError(f"not a Messages stream event: {exc}", offset, index) from None


def block_index(obj: dict[str, Any]) -> Any:
    return obj.get("index")


def _error_response(obj: dict[str, Any]) -> m.ErrorResponse | None:
    try:
        return m.ErrorResponse.from_dict(obj)
    except SchemaError:
        return None


# ------------------------------------------------------------------ blocks


class _Block:
    """One content block: the object ``content_block_start`` sent, and what deltas added per key."""

    __slots__ = ("acc", "start", "stopped")

    def __init__(self, start: Model, stopped: bool = False) -> None:
        self.start = start
        self.acc: dict[str, Any] = {}
        self.stopped = stopped

    @property
    def kind(self) -> Any:
        return getattr(self.start, "type", None)

    def current(self, key: str) -> Any:
        """The value ``key`` had at ``content_block_start``."""
        if key in self.start._spec:
            return getattr(self.start, key)
        return self.start.extras.get(key)

    def plan(self, delta: dict[str, Any]) -> list[tuple[str, str, Any]]:
        """(block key, action, value) for each key of ``delta``; raises ``_Bad`` before any change."""
        kind = delta.get("type")
        if kind is not None and type(kind) is not str:
            raise _Bad(f"delta.type: expected str, got {type(kind).__name__}")
        rules = DELTAS.get(kind) if kind is not None else None
        out = []
        for key, value in delta.items():
            if key == "type":
                continue
            rule = rules.get(key) if rules is not None else None
            if rule is None:
                target, action = key, CONCAT if type(value) is str else REPLACE
            else:
                target, action = rule
            if value is None and action != REPLACE:
                continue
            out.append((target, action, self._checked(target, action, value)))
        return out

    def _checked(self, target: str, action: str, value: Any) -> Any:
        entry = self.start._spec.get(target)
        if action in (CONCAT, JSON):
            if type(value) is not str:
                raise _Bad(f"delta: {target}: expected a string, got {type(value).__name__}")
            if entry is not None and (entry[2] is not None or entry[1] not in (STR, ANY, TEXT)):
                raise _Bad(f"delta: {target} of a {self.kind} block is not a string")
            if action == CONCAT and type(self.acc.get(target)) is not _Concat:
                before = self._value(target)
                if before is not None and type(before) is not str:
                    raise _Bad(f"delta: cannot append text to the {target} of a {self.kind} block")
            return value
        if action == APPEND and type(self.acc.get(target)) is not _Append:
            before = self._value(target)
            if before is not None and type(before) is not list:
                raise _Bad(f"delta: cannot append to the {target} of a {self.kind} block")
        if entry is None or value is None:
            return value
        _bit, kind, sub, is_list = entry
        try:
            if action == APPEND:
                if not is_list:
                    raise _Bad(f"delta: {target} of a {self.kind} block is not a list")
                return _convert(sub, False, value, target) if sub is not None else value
            if sub is not None:
                return _convert(sub, is_list, value, target)
        except SchemaError as exc:
            raise _Bad(f"delta: {exc}") from None
        if not _SCALAR_CHECKS[kind](value):
            raise _Bad(f"delta: {target}: expected {kind}, got {type(value).__name__}")
        return value

    def apply(self, target: str, action: str, value: Any) -> None:
        acc = self.acc.get(target)
        if action == REPLACE:
            self.acc[target] = value
            return
        if action == APPEND:
            if type(acc) is not _Append:
                acc = _Append(self._value(target) or ())
                self.acc[target] = acc
            acc.append(value)
            return
        self.fragments(target, action).append(value)

    def fragments(self, target: str, action: str) -> list[str]:
        """The fragment list of ``target`` for a string action (``CONCAT``, ``JSON``), made when
        ``target`` has none of that kind (for ``CONCAT``, with the value so far)."""
        kind = _Json if action == JSON else _Concat
        acc = self.acc.get(target)
        if type(acc) is not kind:
            acc = kind()
            if kind is _Concat:
                before = self._value(target)  # a string or None: checked by _checked
                if before:
                    acc.append(before)
            self.acc[target] = acc
        return acc

    def _value(self, key: str) -> Any:
        """The value of ``key`` as merged so far."""
        if key in self.acc:
            return _built(self.acc[key])
        return self.current(key)

    def stop(self) -> None:
        """The block is complete: join its text (once) and parse the JSON text of ``input`` (once);
        a JSON object replaces the text, anything else stays text."""
        self.stopped = True
        for key, acc in self.acc.items():
            if type(acc) is _Concat:
                self.acc[key] = "".join(acc)
            elif type(acc) is _Json:
                data = _json_data(acc)
                if not data:
                    value = self.current(key)
                else:
                    try:
                        value = parse_input(data)
                    except orjson.JSONDecodeError:
                        value = None
                    if type(value) is not dict:
                        value = data.decode() if type(data) is bytes else data
                self.acc[key] = value

    def build(self, replaced: Any) -> Model:
        """The block merged so far, made by ``replaced`` (see :func:`ssedelta._build_py.replaced`)."""
        if not self.acc:
            return self.start
        changes = {}
        for key, acc in self.acc.items():
            value = _built(acc)
            if type(acc) is _Json and not value:
                continue  # no JSON text yet: the input content_block_start sent
            changes[key] = value
        return replaced(self.start, changes)  # type: ignore[no-any-return]


def _json_data(acc: _Json) -> str | bytes:
    """The JSON text of a block key's fragments, which are ``str`` or (from the native core) UTF-8
    ``bytes``: ``bytes`` when they all are (so the parser reads them without encoding them again)."""
    if len(acc) == 1:
        return acc[0]  # type: ignore[no-any-return]
    try:
        return "".join(acc)
    except TypeError:
        pass
    try:
        return b"".join(acc)
    except TypeError:
        return "".join(f.decode() if type(f) is bytes else f for f in acc)


def _built(acc: Any) -> Any:
    tp = type(acc)
    if tp is _Concat:
        return "".join(acc)
    if tp is _Json:
        data = _json_data(acc)
        return data.decode() if type(data) is bytes else data
    if tp is _Append:
        return list(acc)
    return acc


# ------------------------------------------------------------------ the state


class MessagesState:
    """The message merged from the events applied so far.

    :meth:`merge_payload` applies one payload; :meth:`fragments` gives the list a string delta
    of a block may append its string to directly, :meth:`stop_block` stops a block.
    """

    #: Builds the models (:mod:`ssedelta._build_py` or its native twin: the same objects).
    _build: Any = _build_py

    def __init__(self) -> None:
        self._started = False
        self._message: m.Message | None = None
        self._usage: m.Usage | None = None
        self._blocks: dict[int, _Block] = {}
        #: (the bytes before the string of the last string delta, as the API writes them; the
        #: fragment list it went to): a delta that starts so only appends its string there.
        self._fast: tuple[bytes, list[str]] | None = None
        self._error: UpstreamError | None = None
        #: Events merged so far (pings and other events that change nothing included).
        self.merged = 0
        #: ``True`` once ``message_stop``, ``[DONE]`` or an ``error`` event ended the stream.
        self.done = False

    @property
    def error(self) -> UpstreamError | None:
        """The upstream error the stream reported, if any (``finish()`` raises it)."""
        return self._error

    @property
    def usage(self) -> m.Usage | None:
        """The usage merged so far."""
        return self._usage

    def fragments(self, index: Any, delta_type: Any, first: bool = False) -> list[str] | None:
        """The fragment list a ``content_block_delta`` of ``delta_type`` (a string delta of
        :data:`STRING_DELTAS`) at block ``index`` appends its string to, when the block has one;
        with ``first``, also the list a first such delta of an open block makes, when the general
        path would accept a string there. ``None`` otherwise (nothing changed)."""
        block = self._blocks.get(index) if type(index) is int else None
        rule = STRING_DELTAS.get(delta_type) if type(delta_type) is str else None
        if block is None or rule is None:
            return None
        _key, target, action = rule
        acc = block.acc.get(target)
        if type(acc) is (_Json if action == JSON else _Concat):
            return acc
        if not first or block.stopped:
            return None
        try:
            block._checked(target, action, "")
        except _Bad:
            return None
        return block.fragments(target, action)

    def stop_block(self, index: Any) -> bool:
        """Apply a ``content_block_stop`` of block ``index``; ``False`` (nothing changed) when no
        block has that index."""
        block = self._blocks.get(index) if type(index) is int else None
        if block is None:
            return False
        block.stop()
        return True

    @staticmethod
    def _fast_head(obj: dict[str, Any], acc: list[str]) -> tuple[bytes, list[str]]:
        """(the bytes the API writes before the string of the string delta ``obj``, the fragment
        list its string went to): a payload that starts so is a delta of the same block and kind."""
        delta = obj["delta"]
        head = b'{"type":"content_block_delta","index":%d,"delta":{"type":"%s","%s":' % (
            obj["index"],
            delta["type"].encode(),
            STRING_DELTAS[delta["type"]][0].encode(),
        )
        return head, acc

    def merge_payload(self, obj: Any, payload: bytes, event: str | None, offset: int, index: int) -> bool:
        """Apply one event's payload (``obj``: its JSON value when it parsed, else ``None``);
        whether it was an event. Raises the typed stream error for one that is not a Messages
        stream event."""
        if obj is None:
            try:
                obj = load_event(payload, event, offset, index)
            except UpstreamError as exc:
                self._error = exc
                self.done = True
                return True
            if obj is _SKIP:
                return False
            if obj is None:
                self.done = True
                return False
        elif type(obj) is not dict:
            if event == "error":
                self._error = UpstreamError({"message": payload.decode("utf-8", REPLACE)}, offset, index)
                self.done = True
                return True
            raise InvalidChunkError(
                f"event payload is not a JSON object but {_json_kind(obj)}", offset, index
            )
        error = error_of(obj, event)
        if error is not None:
            self._error = UpstreamError(error, offset, index, chunk=_error_response(obj))
            self.done = True
            return True
        try:
            self._merge_event(obj)
        except _Bad as exc:
            raise InvalidChunkError(f"not a Messages stream event: {exc}", offset, index) from None
        except SchemaError as exc:
            raise InvalidChunkError(f"not a Messages stream event: {exc}", offset, index) from None
        return True

    def _merge_event(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "content_block_delta":
            block = self._block_at(obj.get("index"), kind)
            if block.stopped:
                raise _Bad(f"content_block_delta for index {block_index(obj)} after its content_block_stop")
            delta = obj.get("delta")
            if type(delta) is not dict:
                raise _Bad(f"delta: expected an object, got {type(delta).__name__}")
            for target, action, value in block.plan(delta):
                block.apply(target, action, value)
            if len(delta) == 2:
                acc = self.fragments(obj["index"], delta.get("type"))
                if acc is not None:
                    self._fast = self._fast_head(obj, acc)
        elif kind == "content_block_start":
            start = self._build.from_dict(m.RawContentBlockStartEvent, obj)
            index = start.index
            if type(index) is not int or start.content_block is None:
                raise _Bad("content_block_start needs an integer index and a content_block")
            if index in self._blocks:
                raise _Bad(f"a second content_block_start for index {index}")
            self._blocks[index] = _Block(start.content_block)
        elif kind == "content_block_stop":
            self._block_at(obj.get("index"), kind).stop()
        elif kind == "message_start":
            self._message_start(obj)
        elif kind == "message_delta":
            self._message_delta(obj)
        elif kind == "message_stop":
            self.done = True
        # ping and unknown event types change nothing

    def _block_at(self, index: Any, kind: str) -> _Block:
        block = self._blocks.get(index) if type(index) is int else None
        if block is None:
            raise _Bad(f"{kind} for index {index!r}, which no content_block_start opened")
        return block

    def _message_start(self, obj: dict[str, Any]) -> None:
        message = obj.get("message")
        if type(message) is not dict:
            raise _Bad(f"message_start: message: expected an object, got {type(message).__name__}")
        if self._started:
            raise _Bad("a second message_start")
        build = self._build
        head = dict(message)
        content = head.pop("content", None)
        usage = head.pop("usage", None)
        # One build of the message without its content and usage (the content the blocks hold,
        # the usage the state keeps), and one of each of those.
        parsed = build.from_dict(m.Message, head)
        _bit, _kind, sub, is_list = m.Message._spec["content"]
        blocks = self._field(sub, is_list, content, "content") if content is not None else None
        usage = build.from_dict(m.Usage, usage, "usage") if usage is not None else None
        self._started = True
        self._message = parsed
        self._usage = usage
        for i, block in enumerate(blocks or ()):
            self._blocks[i] = _Block(block, stopped=True)

    def _field(self, sub: Any, is_list: bool, value: Any, path: str) -> Any:
        """``value`` converted by a model field's ``sub`` (a list of them with ``is_list``)."""
        one = self._build.one
        if not is_list:
            return one(sub, value, path)
        if type(value) is not list:
            raise SchemaError(f"expected array, got {_json_type(value)}", path)
        return [one(sub, item, f"{path}[{i}]") for i, item in enumerate(value)]

    def _values(self, cls: type[Model], items: dict[str, Any], path: str) -> dict[str, Any]:
        """``items`` converted and checked as ``cls.from_dict`` converts and checks its keys, without
        building a ``cls``."""
        spec = cls._spec
        out = {}
        for key, value in items.items():
            entry = spec.get(key)
            if entry is not None and value is not None:
                _bit, kind, sub, is_list = entry
                if sub is not None:
                    value = self._field(sub, is_list, value, f"{path}.{key}" if path else key)
                elif not _SCALAR_CHECKS[kind](value):
                    value = scalar_mismatch(kind, value, f"{path}.{key}" if path else key)
            out[key] = value
        return out

    def _message_delta(self, obj: dict[str, Any]) -> None:
        delta = obj.get("delta")
        changes: dict[str, Any] = {}
        if delta is None:
            for key in MESSAGE_DELTA_ASSIGNED:
                changes[key] = None
        elif type(delta) is not dict:
            raise SchemaError(f"expected an object, got {_json_type(delta)}", "delta")
        else:
            for key in MESSAGE_DELTA_ASSIGNED:
                changes[key] = delta.get(key)
            for key, value in delta.items():
                if value is not None and key not in MESSAGE_DELTA_ASSIGNED:
                    changes[key] = value
        # Only the keys that change are checked (as the message's keys, at their place in the
        # event), then set on a copy of the message (of the usage).
        changes = self._values(m.Message, changes, "delta")
        own = {}
        for key, value in obj.items():
            if value is not None and key not in MESSAGE_DELTA_OWN_KEYS:
                own[key] = value
        if own:
            changes.update(self._values(m.Message, own, ""))
        usage = self._usage
        counts = obj.get("usage")
        if counts is not None:
            if type(counts) is not dict:
                raise SchemaError(f"expected an object, got {_json_type(counts)}", "usage")
            given = {}
            for key, value in counts.items():
                if value is not None:
                    given[key] = value
            if usage is None:
                usage = self._build.from_dict(m.Usage, given, "usage")
            else:
                usage = self._build.replaced(usage, self._values(m.Usage, given, "usage"))
        self._message = self._build.replaced(self._current_message(), changes)
        self._usage = usage

    def _current_message(self) -> m.Message:
        """The message's own keys merged so far (built when first needed)."""
        if self._message is None:
            self._message = self._build.from_dict(m.Message, {})
        return self._message

    # -- output

    def snapshot(self) -> m.Message:
        """The message merged so far; never raises."""
        blocks = self._blocks
        replaced = self._build.replaced
        changes: dict[str, Any] = {"content": [blocks[i].build(replaced) for i in sorted(blocks)]}
        if self._usage is not None:
            changes["usage"] = self._usage
        return replaced(self._current_message(), changes)  # type: ignore[no-any-return]

    def result(self) -> m.Message:
        """The final message (the JSON of blocks left open is parsed too); raises
        :class:`UpstreamError` (with ``.partial``) if the stream reported one."""
        for block in self._blocks.values():
            block.stop()
        message = self.snapshot()
        if self._error is not None:
            e = self._error
            raise UpstreamError(e.error, e.offset, e.event_index, partial=message, chunk=e.chunk)
        return message
