"""Derive ssedelta's expected result for every real stream from the official SDK's result.

Usage (from the repository root; needs only the Python standard library)::

    python tests/data/real/derive_expected.py           # rewrite *.ssedelta.json and DIFFERENCES.md
    python tests/data/real/derive_expected.py --check   # exit 1 if a committed file is out of date

Inputs, in this folder: ``<name>.sse`` (the recorded stream) and ``<name>.expected.json``, the
official openai-python SDK 3.57.0 merge of it (the oracle, see ``PROVENANCE.md``): a completion, or
``{"error": ..., "partial_snapshot": ...}`` when the SDK raised.

Outputs: ``<name>.ssedelta.json`` -- what ``ssedelta.merge()`` must give: the completion's
``to_dict()``, or ``{"error": <error object>, "partial": <partial completion>}`` for a stream that
reports an upstream error -- and ``DIFFERENCES.md``, the table of which transformation changed which
stream. Both are written as ``json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\\n"``.

How a result is derived. ssedelta's code is never run here.

1. Start from the SDK's document (the completion, or the ``partial_snapshot`` of an error record).
2. Apply the shape and merge-rule transformations (``SHAPE`` and ``MERGE_RULES`` below). Each one
   is a rule of DESIGN.md ("Merge semantics") or of ssedelta's output shape where ssedelta
   deliberately differs from the SDK. Each changes only the fields its rule governs. Before it
   changes a value, it asserts that the SDK's value is exactly what the documented SDK behaviour
   predicts (e.g. a role repeated k times is ``"assistant" * k``). The new value comes from
   ``Reference``, a small merger written here from the DESIGN text. Streams are read with the
   independent SSE parser below (``json.loads`` per event).
3. Then the whole document must equal the ``Reference`` merge of the chunks the SDK merged. The
   fields no transformation touched are therefore the SDK's own values, and the two derivations
   check each other.
4. Apply the coverage transformations (``COVERAGE``). They merge the chunks the SDK never merged:
   Azure's ``object:""`` chunks (dropped by its filter), the rest of a stream after the SDK crashed,
   and the chunk carrying an upstream error. Each asserts that the SDK stopped or skipped for the
   documented reason. The document becomes the ``Reference`` merge of every chunk up to ``[DONE]``
   or the error.

A transformation "applies" to a stream when it changed the document. The list per stream is
written to DIFFERENCES.md and checked against ``DIFFERENCES`` in ``tests/real_streams.py`` by the tests.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- reading a stream

_LINE_END = re.compile(rb"\r\n|\r|\n")


def read_events(body: bytes) -> Iterator[tuple[str | None, str]]:
    """The ``(event, data)`` of each dispatched event, by the WHATWG event-stream rules.

    Lines end at CRLF, LF or CR; one leading BOM is skipped; ``:`` lines are comments; ``data``
    lines are joined with ``\\n``; a blank line dispatches only when a data line was seen; an
    unterminated last line and an event without its blank line are never dispatched.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    lines = _LINE_END.split(body)[:-1]
    event: str | None = None
    data: list[str] | None = None
    for raw in lines:
        line = raw.decode("utf-8", "replace")
        if not line:
            if data is not None:
                yield event, "\n".join(data)
            event, data = None, None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data = [*(data or []), value]
        elif name == "event":
            event = value


@dataclass
class Chunk:
    """One payload of the stream: its JSON object, and whether it reports an upstream error."""

    obj: dict[str, Any]
    event: str | None = None
    error: Any = None  # the error object when this chunk ends the stream with an upstream error


def read_chunks(body: bytes) -> list[Chunk]:
    """The chunks up to ``[DONE]`` or to the first upstream error (included)."""
    out: list[Chunk] = []
    for event, data in read_events(body):
        stripped = data.strip()
        if stripped == "[DONE]":
            break
        if not stripped or stripped.startswith(":"):
            continue  # a keep-alive sent as data
        obj = json.loads(data)
        if not isinstance(obj, dict):
            raise ValueError(f"payload is not a JSON object: {data[:80]!r}")
        if event == "error":
            error = obj.get("error", obj)
            out.append(Chunk(obj, event, error or {"message": ""}))
            break
        if obj.get("error"):
            out.append(Chunk(obj, event, obj["error"]))
            break
        out.append(Chunk(obj, event))
    return out


# ---------------------------------------------------------------------------- the DESIGN rules

#: Unknown delta keys whose string values are replaced, never concatenated. DESIGN names
#: ``channel``; ``type`` and ``format`` are the other keys of the same nature that real streams
#: repeat (Groq ``channel``, OpenRouter ``reasoning_details[].type`` / ``.format``); ``id``,
#: ``index``, ``name``, ``role`` and ``status`` complete the set of identity-like keys.
SCALAR_KEYS = frozenset({"channel", "type", "format", "id", "index", "name", "role", "status"})

#: Unknown delta lists that are appended even when their items carry an ``index``: DESIGN names
#: ``annotations`` and ``executed_tools`` as appended lists.
APPEND_KEYS = frozenset({"annotations", "executed_tools"})

TOP_KNOWN = frozenset(
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
        "obfuscation",
    }
)
CHOICE_KNOWN = frozenset({"index", "delta", "logprobs", "finish_reason"})
DELTA_KNOWN = frozenset({"role", "content", "refusal", "tool_calls", "function_call", "audio", "annotations"})
TOP_OPTIONAL = ("service_tier", "system_fingerprint", "usage", "moderation")
MESSAGE_OPTIONAL = ("tool_calls", "annotations", "audio", "function_call")


class IndexedList(list):  # type: ignore[type-arg]
    """A delta list whose items are merged by their ``index``."""


def last_non_null(acc: dict[str, Any], key: str, value: Any) -> None:
    if value is not None or key not in acc:
        acc[key] = copy.deepcopy(value)


def merge_unknown(acc: dict[str, Any], key: str, value: Any) -> None:
    """The delta rule table: strings concatenated (``SCALAR_KEYS``: last value), objects merged key
    by key, lists of objects with an ``index`` merged by index, other lists appended, numbers and
    booleans last value; ``null`` never erases a value."""
    if value is None:
        acc.setdefault(key, None)
        return
    old = acc.get(key)
    if isinstance(value, str):
        acc[key] = old + value if isinstance(old, str) and key not in SCALAR_KEYS else value
    elif isinstance(value, dict):
        if not isinstance(old, dict):
            old = acc[key] = {}
        for k, v in value.items():
            merge_unknown(old, k, v)
    elif isinstance(value, list):
        indexed = (
            key not in APPEND_KEYS
            and bool(value)
            and all(isinstance(x, dict) and type(x.get("index")) is int for x in value)
        )
        if indexed and (old is None or old == [] or isinstance(old, IndexedList)):
            if not isinstance(old, IndexedList):
                old = acc[key] = IndexedList()
            for item in value:
                slot = next((s for s in old if s.get("index") == item["index"]), None)
                if slot is None:
                    slot = {}
                    old.append(slot)
                for k, v in item.items():
                    merge_unknown(slot, k, v)
        elif isinstance(old, list):
            old.extend(copy.deepcopy(value))
        else:
            acc[key] = copy.deepcopy(value)
    else:
        acc[key] = value


def is_part_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, dict) and "type" in x for x in value)


def merge_parts(acc: list[Any], parts: list[Any]) -> None:
    """Typed content parts in arrival order; a part of the same type as the previous one is merged
    into it (nested part lists the same way, other keys by the delta rule table)."""
    for part in parts:
        if (
            isinstance(part, dict)
            and acc
            and isinstance(acc[-1], dict)
            and acc[-1].get("type") == part.get("type")
        ):
            last = acc[-1]
            for k, v in part.items():
                if is_part_list(v) and is_part_list(last.get(k)):
                    merge_parts(last[k], v)
                else:
                    merge_unknown(last, k, v)
        elif isinstance(part, dict):
            fresh: dict[str, Any] = {}
            for k, v in part.items():
                if isinstance(v, list) and v and is_part_list(v):
                    fresh[k] = []
                    merge_parts(fresh[k], v)
                else:
                    merge_unknown(fresh, k, v)
            acc.append(fresh)
        else:
            acc.append(copy.deepcopy(part))


@dataclass
class ToolRef:
    index: int | None
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    function_extras: dict[str, Any] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        function = {"name": self.name, "arguments": self.arguments, **plain(self.function_extras)}
        return {"id": self.id, "type": self.type or "function", "function": function, **plain(self.extras)}


@dataclass
class ChoiceRef:
    index: int
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    content_parts: list[Any] | None = None
    tools: list[ToolRef] = field(default_factory=list)
    tool_at: dict[int, ToolRef] = field(default_factory=dict)
    last_tool: ToolRef | None = None
    function_call: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    annotations: list[Any] | None = None
    logprobs: dict[str, Any] | None = None
    finish_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    message_extras: dict[str, Any] = field(default_factory=dict)


def concat(old: str | None, value: str) -> str:
    return value if old is None else old + value


def merge_named(acc: dict[str, Any], value: dict[str, Any], once: str) -> None:
    """``function_call`` / ``audio``: ``once`` (name / id) set once, arguments, data and transcript
    concatenated, anything else by the delta rule table."""
    for k, v in value.items():
        if k == once:
            if v and not acc.get(k):
                acc[k] = v
            else:
                acc.setdefault(k, v)
        elif k in ("arguments", "data", "transcript"):
            if v is None:
                acc.setdefault(k, None)
            else:
                acc[k] = concat(acc.get(k), v)
        else:
            merge_unknown(acc, k, v)


class Reference:
    """The merged completion of a list of chunk objects, by the "Merge semantics" of DESIGN.md."""

    def __init__(self) -> None:
        self.top: dict[str, Any] = {"id": None, "model": None, "created": None, "service_tier": None}
        self.fingerprint: str | None = None
        self.usage: Any = None
        self.groq_usage: Any = None
        self.moderation: Any = None
        self.extras: dict[str, Any] = {}
        self.choices: dict[int, ChoiceRef] = {}

    @classmethod
    def of(cls, chunks: list[dict[str, Any]]) -> dict[str, Any]:
        ref = cls()
        for obj in chunks:
            ref.add(obj)
        return ref.doc()

    def add(self, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            if key in ("id", "model", "created", "service_tier"):
                # the first non-empty value; a stream that only sends "" / 0 keeps it
                if value is not None and not self.top[key]:
                    self.top[key] = value
            elif key == "system_fingerprint":
                if value is not None:
                    self.fingerprint = value
            elif key == "usage":
                if value is not None:
                    self.usage = copy.deepcopy(value)
            elif key == "moderation":
                if value is not None:
                    self.moderation = copy.deepcopy(value)
            elif key not in TOP_KNOWN:
                last_non_null(self.extras, key, value)
                if key == "x_groq" and isinstance(value, dict) and isinstance(value.get("usage"), dict):
                    self.groq_usage = copy.deepcopy(value["usage"])
        for choice in obj.get("choices") or []:
            self.add_choice(choice)

    def add_choice(self, choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        state = self.choices.setdefault(index, ChoiceRef(index))
        delta = choice.get("delta")
        if delta:
            self.add_delta(state, delta)
        if choice.get("finish_reason") is not None:
            state.finish_reason = choice["finish_reason"]
        logprobs = choice.get("logprobs")
        if logprobs is not None:
            if state.logprobs is None:
                state.logprobs = {"content": None, "refusal": None}
            for key in ("content", "refusal"):
                if logprobs.get(key) is not None:
                    state.logprobs[key] = [*(state.logprobs[key] or []), *copy.deepcopy(logprobs[key])]
        for key, value in choice.items():
            if key not in CHOICE_KNOWN:
                last_non_null(state.extras, key, value)

    def add_delta(self, state: ChoiceRef, delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key not in DELTA_KNOWN:
                merge_unknown(state.message_extras, key, value)
            elif value is None:
                continue
            elif key == "role":
                if value and state.role is None:
                    state.role = value
            elif key == "content":
                if isinstance(value, str):
                    state.content = concat(state.content, value)
                else:
                    others = []
                    for part in value:
                        if (
                            isinstance(part, dict)
                            and part.get("type") == "text"
                            and isinstance(part.get("text"), str)
                        ):
                            state.content = concat(state.content, part["text"])
                        else:
                            others.append(part)
                    if others:
                        if state.content_parts is None:
                            state.content_parts = []
                        merge_parts(state.content_parts, others)
            elif key == "refusal":
                state.refusal = concat(state.refusal, value)
            elif key == "tool_calls":
                for call in value:
                    self.add_tool_call(state, call)
            elif key == "function_call":
                if state.function_call is None:
                    state.function_call = {}
                merge_named(state.function_call, value, "name")
            elif key == "audio":
                if state.audio is None:
                    state.audio = {}
                merge_named(state.audio, value, "id")
            elif key == "annotations":
                state.annotations = [*(state.annotations or []), *copy.deepcopy(value)]

    def add_tool_call(self, state: ChoiceRef, call: dict[str, Any]) -> None:
        """Keyed by ``index``; a new ``id`` at an index holding another id starts a new call; without
        ``index`` a fragment continues the last call unless it brings a new ``id``."""
        index = call.get("index")
        call_id = call.get("id")
        tool = state.tool_at.get(index) if index is not None else state.last_tool
        if tool is None or (call_id and tool.id and call_id != tool.id):
            tool = ToolRef(index)
            state.tools.append(tool)
            if index is not None:
                state.tool_at[index] = tool
        state.last_tool = tool
        for key, value in call.items():
            if key == "index":
                continue
            if key == "id":
                if value and not tool.id:
                    tool.id = value
            elif key == "type":
                if value and not tool.type:
                    tool.type = value
            elif key == "function" and isinstance(value, dict):
                for fkey, fvalue in value.items():
                    if fkey == "arguments":
                        if fvalue is not None:
                            tool.arguments += fvalue
                    elif fkey == "name":
                        if fvalue and not tool.name:
                            tool.name = fvalue
                    else:
                        merge_unknown(tool.function_extras, fkey, fvalue)
            elif key != "function":
                merge_unknown(tool.extras, key, value)

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.top["id"],
            "object": "chat.completion",
            "created": self.top["created"],
            "model": self.top["model"],
            "choices": [choice_doc(self.choices[i]) for i in sorted(self.choices)],
        }
        usage = self.usage if self.usage is not None else self.groq_usage
        optional = {
            "service_tier": self.top["service_tier"],
            "system_fingerprint": self.fingerprint,
            "usage": usage,
            "moderation": self.moderation,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        out.update(plain(self.extras))
        return out


def plain(value: Any) -> Any:
    """A deep copy with the merge containers turned back into plain JSON values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def choice_doc(state: ChoiceRef) -> dict[str, Any]:
    tools = state.tools
    if all(t.index is not None for t in tools):
        tools = sorted(tools, key=lambda t: t.index)  # type: ignore[arg-type,return-value]
    function_call = None
    if state.function_call is not None:
        function_call = {"arguments": "", **plain(state.function_call)}
    optional = {
        "tool_calls": [t.doc() for t in tools] or None,
        "annotations": plain(state.annotations),
        "audio": plain(state.audio),
        "function_call": function_call,
    }
    message: dict[str, Any] = {
        "role": state.role or "assistant",
        "content": state.content,
        "refusal": state.refusal,
        **{k: v for k, v in optional.items() if v is not None},
        **plain(state.message_extras),
    }
    if state.content_parts is not None:
        message["content_parts"] = plain(state.content_parts)
    return {
        "index": state.index,
        "message": message,
        "finish_reason": state.finish_reason,
        "logprobs": plain(state.logprobs),
        **plain(state.extras),
    }


# ---------------------------------------------------------------------------- the SDK's view


class Mismatch(AssertionError):
    """The SDK's value is not what its documented behaviour predicts, or the derivation is incomplete."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Mismatch(message)


@dataclass
class Context:
    name: str
    sdk: dict[str, Any]  # the SDK file as committed
    chunks: list[Chunk]  # every chunk up to [DONE] or the upstream error (included)
    #: what is merged into the document so far: position -> chunk object (a crash chunk the SDK
    #: merged only in part is there as the part it merged)
    merged: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def sdk_error(self) -> dict[str, Any] | None:
        return self.sdk["error"] if "partial_snapshot" in self.sdk else None

    @property
    def sdk_chunks(self) -> list[dict[str, Any]]:
        return [self.merged[i] for i in sorted(self.merged)]

    def reference(self) -> dict[str, Any]:
        return Reference.of(self.sdk_chunks)

    def reference_state(self) -> Reference:
        ref = Reference()
        for obj in self.sdk_chunks:
            ref.add(obj)
        return ref

    def choice_chunks(self, index: int) -> list[dict[str, Any]]:
        """The choice objects with ``index`` in the chunks the SDK merged, in order."""
        return [c for obj in self.sdk_chunks for c in obj.get("choices") or [] if c.get("index", 0) == index]


def sdk_merged(chunks: list[Chunk], sdk: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """What the SDK's ``ChatCompletionStream`` merged: chunks with ``object == "chat.completion.chunk"``
    only, never the error chunk, and only the ``chunks_accepted`` first ones when it raised.

    A tool call without ``index`` makes it raise after it merged that chunk's choices (message and
    ``finish_reason``) but before ``logprobs``, ``usage`` and ``system_fingerprint``: that part is
    included.
    """
    kept = [
        i for i, c in enumerate(chunks) if c.error is None and c.obj.get("object") == "chat.completion.chunk"
    ]
    if "partial_snapshot" not in sdk:
        return {i: chunks[i].obj for i in kept}
    accepted = sdk["error"]["chunks_accepted"]
    merged = {i: chunks[i].obj for i in kept[:accepted]}
    if sdk["error"]["stage"] == "accumulate" and sdk["error"]["type"] == "builtins.TypeError":
        crash = chunks[kept[accepted]].obj
        if any(c.get("index") is None for d in deltas(crash) for c in d.get("tool_calls") or []):
            choices = [{k: v for k, v in c.items() if k != "logprobs"} for c in crash["choices"]]
            merged[kept[accepted]] = {"choices": choices}
    return merged


# ---------------------------------------------------------------------------- transformations

Transform = Callable[[dict[str, Any], Context], dict[str, Any]]


@dataclass
class Transformation:
    name: str
    rule: str  # the DESIGN rule (or output shape) it follows
    sdk: str  # what the SDK does instead
    function: Transform


SHAPE: list[Transformation] = []
MERGE_RULES: list[Transformation] = []
COVERAGE: list[Transformation] = []


def transformation(
    group: list[Transformation], name: str, rule: str, sdk: str
) -> Callable[[Transform], Transform]:
    def register(function: Transform) -> Transform:
        group.append(Transformation(name, rule, sdk, function))
        return function

    return register


def messages(doc: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    for choice in doc["choices"]:
        yield choice["index"], choice, choice["message"]


def ref_choice(ref: dict[str, Any], index: int) -> dict[str, Any]:
    return next(c for c in ref["choices"] if c["index"] == index)


# -- shape


@transformation(
    SHAPE,
    "drop_sdk_only_keys",
    "Output shape: known optional keys (top level `service_tier`, `system_fingerprint`, `usage`, "
    "`moderation`; message `tool_calls`, `annotations`, `audio`, `function_call`) appear only when not "
    "null; `audio` holds the keys its deltas sent; final tool calls carry no `index`; there is no "
    "`parsed` / `parsed_arguments`.",
    "Writes every optional key, null included, and every `audio` field once a later chunk is merged; "
    "keeps the tool-call `index`; adds `parsed` (message) and `parsed_arguments` (tool-call function) "
    "for its structured-output helpers.",
)
def drop_sdk_only_keys(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    for key in TOP_OPTIONAL:
        if key in doc and doc[key] is None:
            del doc[key]
    for index, _, message in messages(doc):
        message.pop("parsed", None)
        for key in MESSAGE_OPTIONAL:
            if key in message and message[key] is None:
                del message[key]
        if isinstance(message.get("audio"), dict):
            sent = {k for c in ctx.choice_chunks(index) for k in (c.get("delta") or {}).get("audio") or {}}
            for key in [k for k, v in message["audio"].items() if v is None and k not in sent]:
                del message["audio"][key]
        for call in message.get("tool_calls") or []:
            call.pop("index", None)
            call.get("function", {}).pop("parsed_arguments", None)
    return doc


@transformation(
    SHAPE,
    "required_keys_always_present",
    "Output shape: every choice has `index`, `message`, `finish_reason`, `logprobs`; every message has "
    "`role`, `content` and `refusal` (null until a fragment arrives).",
    "Dumps with `exclude_unset`: a key no chunk sent is missing (e.g. `logprobs` for providers that never "
    "send it; in a snapshot taken right after the first chunk also `refusal`).",
)
def required_keys_always_present(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    for _, choice, message in messages(doc):
        choice.setdefault("finish_reason", None)
        choice.setdefault("logprobs", None)
        message.setdefault("content", None)
        message.setdefault("refusal", None)
    return doc


@transformation(
    SHAPE,
    "tool_call_type_defaults_to_function",
    'Output shape: a final tool call always has `id` (null when never sent), `type` (`"function"` when '
    "never sent) and `function` with `name` and `arguments`.",
    "Keeps only the keys the fragments sent (Mistral's 2024 stream sends neither `id` nor `type`).",
)
def tool_call_type_defaults_to_function(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    for _, _, message in messages(doc):
        for call in message.get("tool_calls") or []:
            if call.get("type") is None:
                call["type"] = "function"
            call.setdefault("id", None)
    return doc


@transformation(
    SHAPE,
    "role_defaults_to_assistant",
    'Output shape: a message whose deltas never sent a `role` has `role: "assistant"`.',
    "Leaves `role` null (or missing) when no delta sent one (Groq compound).",
)
def role_defaults_to_assistant(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    for index, _, message in messages(doc):
        if message.get("role") is None:
            expect(
                not any((c.get("delta") or {}).get("role") for c in ctx.choice_chunks(index)),
                "a role was sent",
            )
            message["role"] = "assistant"
    return doc


@transformation(
    SHAPE,
    "length_is_not_an_error",
    "`finish_reason` is an open string; `length` is a normal end: `merge()` returns the completion.",
    "`get_final_completion()` raises `LengthFinishReasonError` for any choice with `finish_reason: length`, "
    "even without `response_format` (its merged message is in `partial_snapshot`).",
)
def length_is_not_an_error(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    # The document already is the snapshot; this transformation changes the record, not the document
    # (see ``derive``), and is listed when the SDK raised for that reason.
    return doc


# -- merge rules, over the chunks the SDK merged


@transformation(
    MERGE_RULES,
    "role_set_once",
    "`role` is set once, never concatenated (a repeated identical value is not doubled).",
    'Concatenates a role sent in every delta: `"assistantassistant..."`.',
)
def role_set_once(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    for index, _, message in messages(doc):
        ours = ref_choice(ref, index)["message"]["role"]
        if message["role"] != ours:
            sent = [
                c["delta"]["role"] for c in ctx.choice_chunks(index) if (c.get("delta") or {}).get("role")
            ]
            expect(
                len(sent) > 1 and message["role"] == "".join(sent),
                f"choice {index}: role {message['role']!r}",
            )
            message["role"] = ours
    return doc


@transformation(
    MERGE_RULES,
    "new_tool_id_starts_new_call",
    "Tool calls are keyed by `index`; a fragment with a new `id` at an index already holding a different "
    "id starts a new call (Ollama, Cerebras reuse index 0).",
    "Merges every fragment with the same `index` into one call: ids, names and arguments of the two calls "
    'are concatenated (`"nonUsefulToolnonUsefulTool"`, arguments `"{}{}"`).',
)
def new_tool_id_starts_new_call(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    state = ctx.reference_state()
    for index, _, message in messages(doc):
        tools = state.choices[index].tools
        indexes = sorted({t.index for t in tools if t.index is not None})
        if any(t.index is None for t in tools) or len(indexes) == len(tools):
            continue
        expect(
            len(message["tool_calls"]) == len(indexes),
            f"choice {index}: SDK has {len(message['tool_calls'])} calls",
        )
        fragments = [
            c for ch in ctx.choice_chunks(index) for c in (ch.get("delta") or {}).get("tool_calls") or []
        ]
        for call, at in zip(message["tool_calls"], indexes, strict=True):
            sent = [f for f in fragments if f.get("index") == at]
            joined = {
                "id": "".join(f.get("id") or "" for f in sent),
                "name": "".join((f.get("function") or {}).get("name") or "" for f in sent),
                "arguments": "".join((f.get("function") or {}).get("arguments") or "" for f in sent),
            }
            got = {
                "id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
            }
            expect(got == joined, f"choice {index}: SDK tool call {got!r}")
        message["tool_calls"] = ref_choice(ctx.reference(), index)["message"]["tool_calls"]
    return doc


@transformation(
    MERGE_RULES,
    "usage_last_non_null",
    "Usage: the last non-null `usage`, so a usage followed by chunks without one survives.",
    "Takes `usage` from the last chunk, so a later `usage: null` (or a chunk without the key) erases it.",
)
def usage_last_non_null(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    ours = [c["usage"] for c in ctx.sdk_chunks if c.get("usage") is not None]
    if doc.get("usage") != (ours[-1] if ours else None):
        expect(doc.get("usage") == ctx.sdk_chunks[-1].get("usage"), f"usage {doc.get('usage')!r}")
        if ours:
            doc["usage"] = copy.deepcopy(ours[-1])
        else:
            doc.pop("usage", None)
    if ours:
        expect(doc["usage"] == ref.get("usage"), "usage differs from the reference")
    return doc


@transformation(
    MERGE_RULES,
    "groq_usage_fallback",
    "Groq's `x_groq.usage` is the usage when no top-level `usage` comes.",
    "Ignores `x_groq.usage` (and keeps `x_groq` from the first chunk only).",
)
def groq_usage_fallback(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    top = [c["usage"] for c in ctx.sdk_chunks if c.get("usage") is not None]
    if not top and ref.get("usage") is not None:
        expect("usage" not in doc, f"usage {doc.get('usage')!r}")
        groq = [
            c["x_groq"]["usage"]
            for c in ctx.sdk_chunks
            if isinstance((c.get("x_groq") or {}).get("usage"), dict)
        ]
        expect(bool(groq) and groq[-1] == ref["usage"], "x_groq usage")
        doc["usage"] = copy.deepcopy(groq[-1])
    return doc


@transformation(
    MERGE_RULES,
    "provider_keys_last_non_null",
    "Top-level and choice-level unknown keys: last non-null value wins.",
    "Keeps top-level unknown keys from the first chunk only, and choice-level ones from the chunk where "
    "the choice first appears; later values are lost.",
)
def provider_keys_last_non_null(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    first = ctx.sdk_chunks[0]
    for key in sorted(set(ref) - set(TOP_KNOWN) | {k for k in doc if k not in TOP_KNOWN}):
        if doc.get(key, ...) != ref.get(key, ...):
            expect(doc.get(key, ...) == first.get(key, ...), f"top-level {key}: {doc.get(key, ...)!r}")
            doc[key] = copy.deepcopy(ref[key])
    for index, choice, _ in messages(doc):
        ours = ref_choice(ref, index)
        seen = ctx.choice_chunks(index)[0]
        for key in sorted({k for k in ours if k not in CHOICE_KNOWN and k != "message"}):
            if choice.get(key, ...) != ours[key]:
                expect(
                    choice.get(key, ...) == seen.get(key, ...),
                    f"choice {index} {key}: {choice.get(key, ...)!r}",
                )
                choice[key] = copy.deepcopy(ours[key])
    return doc


def walk_differences(
    sdk: Any, ours: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """Leaf paths where two JSON values differ (dicts by key, lists by position)."""
    if isinstance(sdk, dict) and isinstance(ours, dict):
        for key in sorted(set(sdk) | set(ours)):
            yield from walk_differences(sdk.get(key, ...), ours.get(key, ...), (*path, key))
    elif isinstance(sdk, list) and isinstance(ours, list) and len(sdk) == len(ours):
        for i, (a, b) in enumerate(zip(sdk, ours, strict=True)):
            yield from walk_differences(a, b, (*path, i))
    elif sdk != ours or type(sdk) is not type(ours):
        yield path, sdk, ours


def get(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def put(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    get(obj, path[:-1])[path[-1]] = copy.deepcopy(value)


@transformation(
    MERGE_RULES,
    "delta_scalar_keys",
    "Unknown delta strings are concatenated, except keys known to be scalars (`channel`, `type`, `format`, "
    "...): last value.",
    'Concatenates every unknown string but `type`: Groq\'s `channel` becomes `"analysisanalysis..."`, '
    'OpenRouter\'s `reasoning_details[].format` `"anthropic-claude-v1anthropic-claude-v1..."`.',
)
def delta_scalar_keys(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    for index, _, message in messages(doc):
        ours = ref_choice(ref, index)["message"]
        for key in [k for k in ours if k not in DELTA_KNOWN]:
            for path, sdk_value, our_value in list(
                walk_differences(message.get(key, ...), ours[key], (key,))
            ):
                if path[-1] in SCALAR_KEYS and isinstance(sdk_value, str) and isinstance(our_value, str):
                    times = len(sdk_value) // max(len(our_value), 1)
                    expect(
                        times > 1 and sdk_value == our_value * times,
                        f"choice {index} {path}: {sdk_value[:40]!r}",
                    )
                    put(message, path, our_value)
    return doc


@transformation(
    MERGE_RULES,
    "delta_numbers_last_value",
    "Unknown delta numbers and booleans: last value.",
    "Sums numbers sent in several deltas (Together's `delta.token_id`).",
)
def delta_numbers_last_value(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    for index, _, message in messages(doc):
        ours = ref_choice(ref, index)["message"]
        for key, value in ours.items():
            if key in DELTA_KNOWN or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if message.get(key) != value:
                sent = [
                    c["delta"][key]
                    for c in ctx.choice_chunks(index)
                    if (c.get("delta") or {}).get(key) is not None
                ]
                expect(
                    message.get(key) == sum(sent) and sent[-1] == value,
                    f"choice {index} {key}: {message.get(key)!r}",
                )
                message[key] = value
    return doc


@transformation(
    MERGE_RULES,
    "executed_tools_appended",
    "Unknown delta lists named as appended lists (`annotations`, `executed_tools`) are appended, even when "
    "their items carry an `index`.",
    "Merges list items by their `index`: Groq sends the same executed tool twice (started, then finished "
    "with its output), so its `arguments` are concatenated twice into one entry.",
)
def executed_tools_appended(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    for index, _, message in messages(doc):
        ours = ref_choice(ref, index)["message"]
        for key in sorted(APPEND_KEYS - DELTA_KNOWN):
            if key in ours and message.get(key) != ours[key]:
                expect(len(message[key]) < len(ours[key]), f"choice {index} {key}: {len(message[key])} items")
                message[key] = copy.deepcopy(ours[key])
    return doc


@transformation(
    MERGE_RULES,
    "content_parts",
    "List-valued `content` (Mistral's typed parts): text parts join `content`; every other part is kept in "
    "arrival order in the message's `content_parts` extra (consecutive parts of one type merged).",
    "Silently drops a list-valued `content` that follows a string `content` (type mismatch), losing the "
    "thinking parts.",
)
def content_parts(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ref = ctx.reference()
    for index, _, message in messages(doc):
        ours = ref_choice(ref, index)["message"]
        if "content_parts" in ours:
            expect("content_parts" not in message, f"choice {index}: SDK has content_parts")
            strings = [
                c["delta"]["content"]
                for c in ctx.choice_chunks(index)
                if isinstance((c.get("delta") or {}).get("content"), str)
            ]
            expect(
                message["content"] == "".join(strings), f"choice {index}: content is not the string fragments"
            )
            message["content"] = ours["content"]
            message["content_parts"] = copy.deepcopy(ours["content_parts"])
    return doc


# -- coverage: chunks the SDK never merged


def grow(doc: dict[str, Any], ctx: Context, positions: list[int]) -> dict[str, Any]:
    expect(doc == ctx.reference(), f"{ctx.name}: the document is not the reference merge before growing")
    ctx.merged.update({i: ctx.chunks[i].obj for i in positions})
    return ctx.reference()


def crash_position(ctx: Context) -> int | None:
    """Where the SDK crashed while merging (the chunk it could not merge), if it did."""
    error = ctx.sdk_error
    if error is None or error["stage"] != "accumulate":
        return None
    kept = [
        i
        for i, c in enumerate(ctx.chunks)
        if c.error is None and c.obj.get("object") == "chat.completion.chunk"
    ]
    return kept[error["chunks_accepted"]]


@transformation(
    COVERAGE,
    "azure_filter_chunks_kept",
    'Azure filter chunks (`object:""`, `choices:[]`, missing `delta`) never overwrite real values; their '
    "filter results are kept as extras (`prompt_filter_results`, choice `content_filter_results`, ...), "
    "last non-null value wins.",
    "`ChatCompletionStream` drops every chunk whose `object` is not `chat.completion.chunk`.",
)
def azure_filter_chunks_kept(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    end = crash_position(ctx)
    dropped = [
        i
        for i, c in enumerate(ctx.chunks)
        if c.error is None and c.obj.get("object") != "chat.completion.chunk" and (end is None or i < end)
    ]
    return grow(doc, ctx, dropped) if dropped else doc


def resume_after_crash(
    doc: dict[str, Any], ctx: Context, stage_error: str, cause: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    end = crash_position(ctx)
    if end is None or ctx.sdk_error["type"] != stage_error or not cause(ctx.chunks[end].obj):  # type: ignore[index]
        return doc
    rest = [i for i, c in enumerate(ctx.chunks) if c.error is None]
    return grow(doc, ctx, rest)


def deltas(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [c.get("delta") or {} for c in obj.get("choices") or []]


@transformation(
    COVERAGE,
    "chunks_without_choices",
    "Chunks with no `choices` key at all (OpenAI's audio streams send them, carrying only `obfuscation`) "
    "never crash and never overwrite real values.",
    "Raises `TypeError: 'NoneType' object is not iterable` at the first such chunk; the rest of the stream "
    "(audio data, usage, `expires_at`) is never merged.",
)
def chunks_without_choices(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return resume_after_crash(doc, ctx, "builtins.TypeError", lambda obj: "choices" not in obj)


@transformation(
    COVERAGE,
    "tool_calls_without_index",
    "A tool-call fragment with no `index` continues the last open call when it has no `id` or the same "
    "`id`, and starts a new call when its `id` is new (Gemini, Mistral).",
    "Raises `TypeError: list indices must be integers or slices, not NoneType`.",
)
def tool_calls_without_index(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return resume_after_crash(
        doc,
        ctx,
        "builtins.TypeError",
        lambda obj: any(c.get("index") is None for d in deltas(obj) for c in d.get("tool_calls") or []),
    )


@transformation(
    COVERAGE,
    "annotations_appended",
    "`annotations` deltas are appended (they carry no `index`), however many chunks send them.",
    "Raises ``RuntimeError: Expected list delta entry to have an `index` key`` when a second chunk "
    "sends annotations.",
)
def annotations_appended(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return resume_after_crash(
        doc, ctx, "builtins.RuntimeError", lambda obj: any(d.get("annotations") for d in deltas(obj))
    )


@transformation(
    COVERAGE,
    "upstream_error_chunk_merged",
    "An upstream error (an `error` object in a payload, or an `event: error` event) is merged like any "
    "chunk (its usage, choices and unknown keys -- `error` itself included -- count), then reported with "
    "`.error` and `.partial`.",
    "Raises `APIError` before merging the chunk: its usage, choices and keys are lost.",
)
def upstream_error_chunk_merged(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    errors = [i for i, c in enumerate(ctx.chunks) if c.error is not None]
    if not errors:
        return doc
    expect(
        ctx.sdk_error is not None and ctx.sdk_error["type"] == "openai.APIError", "SDK did not raise APIError"
    )
    expect(ctx.sdk_error["body"] == ctx.chunks[errors[0]].error, "SDK error body differs")  # type: ignore[index]
    return grow(doc, ctx, errors)


# ---------------------------------------------------------------------------- derivation


@dataclass
class Derived:
    result: dict[str, Any]
    applied: list[str]


def stream_names(folder: Path = HERE) -> list[str]:
    return sorted(p.name[: -len(".sse")] for p in folder.glob("*.sse"))


def derive(name: str, folder: Path = HERE) -> Derived:
    sdk = json.loads((folder / f"{name}.expected.json").read_text("utf-8"))
    chunks = read_chunks((folder / f"{name}.sse").read_bytes())
    merged = sdk_merged(chunks, sdk)
    ctx = Context(name, sdk, chunks, merged)
    doc = copy.deepcopy(sdk.get("partial_snapshot", sdk))
    applied: list[str] = []
    length_error = ctx.sdk_error is not None and ctx.sdk_error["type"] == "openai.LengthFinishReasonError"
    for step in SHAPE + MERGE_RULES:
        before = copy.deepcopy(doc)
        doc = step.function(doc, ctx)
        if doc != before or (step.name == "length_is_not_an_error" and length_error):
            applied.append(step.name)
    if length_error:
        expect(
            any(c["finish_reason"] == "length" for c in doc["choices"]),
            "LengthFinishReasonError without length",
        )
    reference = ctx.reference()
    if doc != reference:
        paths = [p for p, _, _ in walk_differences(doc, reference)]
        raise Mismatch(
            f"{name}: after the merge rules the document still differs from the reference at {paths[:8]}"
        )
    for step in COVERAGE:
        before = copy.deepcopy(doc)
        doc = step.function(doc, ctx)
        if doc != before:
            applied.append(step.name)
    expect(doc == Reference.of([c.obj for c in chunks]), f"{name}: not every chunk was merged")
    errors = [c.error for c in chunks if c.error is not None]
    if errors:
        return Derived({"error": errors[0], "partial": doc}, applied)
    expect(
        ctx.sdk_error is None or length_error or applied[-1] in {t.name for t in COVERAGE},
        f"{name}: SDK error unexplained",
    )
    return Derived(doc, applied)


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


DECISIONS = """\
## Readings of DESIGN.md made here

Where DESIGN.md could be read more than one way, the expected files follow these readings:

1. **`executed_tools` is appended even though Groq's items carry an `index`.** DESIGN's rule table says
   "lists of objects that carry an `index` (`reasoning_details`) are merged by index ...; other lists
   (`annotations`, `executed_tools`) are appended". Groq's `executed_tools` items carry `index: 0`, and
   Groq sends the same tool twice (started, then finished with `output` and `search_results`). The
   expected file follows the explicit naming: two entries, as sent. Merging by index would concatenate
   the `arguments` string twice, which is what the SDK does.
2. **The payload of an `event: error` event is merged like a chunk.** DESIGN: "an upstream error
   mid-stream (an `error` object in a payload, or an `event: error` event) is merged like any chunk".
   Groq's error event payload is `{"error": {...}}`. Merged like a chunk, its only key is a top-level
   unknown key, so the partial completion carries `error` as an extra, exactly as the OpenRouter
   error chunk's `error` key does.
3. **Choice-level and top-level extras are replaced whole, not merged key by key.** Azure's two
   asynchronous-filter chunks carry different `content_filter_results` keys. Last non-null value wins,
   so the second chunk's object replaces the first one's.
4. **Scalar delta keys.** DESIGN names `channel` and says "…". The expected files treat `channel`,
   `type`, `format`, `id`, `index`, `name`, `role` and `status` as scalars. Of these, only `channel`
   and `format` change a real stream's result; `type` is replaced by the SDK as well.
5. **A tool call whose `type` was never sent gets `type: "function"`, and its `id` stays null.**
   Mistral's 2024 stream sends neither. DESIGN does not say which default to use. The final
   `ChatCompletionMessageToolCall` schema requires `type`, and a streamed chat tool call with a
   `function` object is a function call.
6. **The SDK error record of a stream with `finish_reason: length` becomes a plain completion.** The
   record's `partial_snapshot` is already the full merge: `LengthFinishReasonError` is raised only by
   `get_final_completion()`, after every chunk was merged.
7. **What the SDK merged before it crashed is its partial snapshot.** When the SDK raised while merging,
   the transformations are checked against the chunks it had merged. For Mistral's tool call without
   `index`, that includes the crashing chunk's message and `finish_reason`: the SDK raises only after
   merging them, and before merging that chunk's `usage`. The coverage transformation then merges the
   rest of the stream by the DESIGN rules. Differences that would only show in the chunks after the
   crash (for example the role repeated on every OpenRouter chunk) are part of that transformation.

## SDK behaviours these streams do not show

DESIGN.md also corrects these SDK behaviours (see `reference/chat-stream-schema.md` section 5), but no
recorded stream here triggers them, so no transformation or test names them:

- duplicated logprobs of a choice that first appears after the first chunk (n > 1 with logprobs);
- a tool-call `id` or `function.name` repeated in every fragment of one call (concatenated);
- `system_fingerprint` erased by a later chunk sending `null`;
- `finish_reason` other than `length` raising (`content_filter`);
- choices first seen out of order (`IndexError`).
"""


def differences_md(derived: dict[str, Derived]) -> str:
    steps = SHAPE + MERGE_RULES + COVERAGE
    lines = [
        "# Where our expected results differ from the official SDK's, and why",
        "",
        "Generated by `derive_expected.py` (do not edit by hand). Each `<name>.ssedelta.json` is the",
        "SDK's `<name>.expected.json` with the transformations below applied. Each one is a rule of",
        'DESIGN.md ("Merge semantics") or of ssedelta\'s output shape. `tests/test_real_streams.py` names',
        "each one in a test that checks the SDK's value and ours on a stream where it applies.",
        "",
        "## Transformations",
        "",
        "| transformation | our rule | what the SDK does |",
        "|---|---|---|",
    ]
    for step in steps:
        lines.append(f"| `{step.name}` | {step.rule} | {step.sdk} |")
    lines += ["", "## Per stream", "", "| stream | transformations applied |", "|---|---|"]
    for name, item in derived.items():
        lines.append(f"| `{name}` | {', '.join(f'`{a}`' for a in item.applied) or '(none)'} |")
    lines += ["", DECISIONS]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    derived = {name: derive(name) for name in stream_names()}
    outputs = {f"{name}.ssedelta.json": dumps(item.result) for name, item in derived.items()}
    outputs["DIFFERENCES.md"] = differences_md(derived)
    stale = []
    for filename, text in outputs.items():
        path = HERE / filename
        if not path.exists() or path.read_text("utf-8") != text:
            stale.append(filename)
            if not check:
                path.write_text(text, "utf-8")
    if check and stale:
        print("out of date:", *stale, sep="\n  ")
        return 1
    print(f"{len(derived)} streams; {'checked' if check else 'written'}; {len(stale)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
