"""Chunk decoder and delta merger, pure Python (orjson on the payload bytes).

The merger keeps plain lists and dicts per choice: string fragments are
appended to lists and joined once when a completion is built, so merging is
linear in the stream length and never copies what it already holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from .._payload import SKIP, PayloadDecoder, load_payload
from .._rules import APPEND, CONCAT, FIRST, IGNORE, LAST, ONCE, Table
from .._schema import SchemaError
from .._sse_py import (
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    PayloadRun,
    ReentryGuard,
    SSEDecoder,
    limit_value,
)
from ..errors import InvalidChunkError, LimitExceededError, UpstreamError
from . import _rules as chat_rules
from . import models as m

#: Unknown delta keys whose string values are replaced, not concatenated.
DEFAULT_SCALAR_KEYS = frozenset(key for key, rule in chat_rules.EXTRAS.items() if rule == LAST)
#: Unknown delta keys whose lists are appended even when their items carry an ``index``.
DEFAULT_APPEND_KEYS = frozenset(key for key, rule in chat_rules.EXTRAS.items() if rule == APPEND)


#: Defaults of the merger's resource limits (see :class:`DeltaMerger`).
DEFAULT_MAX_CHOICES = 1024
DEFAULT_MAX_TOOL_CALLS = 1024
DEFAULT_MAX_MERGED_SIZE = 256 * 1024 * 1024
DEFAULT_MAX_EXTRAS_KEYS = 10_000


# ------------------------------------------------------------------ decoding payloads


def decode_chunk(obj: dict[str, Any], offset: int, index: int) -> m.CreateChatCompletionStreamResponse:
    try:
        return m.CreateChatCompletionStreamResponse.from_dict(obj)
    except SchemaError as exc:
        raise InvalidChunkError(f"not a chat completion chunk: {exc}", offset, index) from None


def upstream_error_of(obj: dict[str, Any], event: str | None) -> Any:
    """The error a payload reports (a truthy ``error`` key, or any ``event: error``), else ``None``."""
    error = obj.get("error")
    if error:
        return error
    if event == "error":
        return obj if obj else {"message": ""}
    return None


def key_option(name: str, keys: Any) -> tuple[str, ...]:
    """The keys of a ``scalar_keys``/``append_keys`` option: an iterable of ``str`` (not one ``str``)."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)) or not isinstance(keys, Iterable):
        raise TypeError(f"{name} must be an iterable of str, not {type(keys).__name__}")
    out = tuple(keys)
    for key in out:
        if type(key) is not str:
            raise TypeError(f"{name} must hold only str keys, not {type(key).__name__}")
    return out


def merge_rules(scalar_keys: Iterable[str] = (), append_keys: Iterable[str] = ()) -> dict[str, str]:
    """The rules of unknown delta keys: the table's and the keys of the options."""
    table = dict(chat_rules.EXTRAS)
    table.update((key, LAST) for key in key_option("scalar_keys", scalar_keys))
    table.update((key, APPEND) for key in key_option("append_keys", append_keys))
    return table


def put_extra(extras: dict[str, Any], key: str, value: Any, rule: str, count: Callable[[int], None]) -> None:
    """Keep a top-level or choice-level key in ``extras`` by its rule (:data:`LAST`, :data:`FIRST`
    or :data:`IGNORE`); a new key is first counted by ``count(1)`` (which may raise)."""
    if rule == IGNORE:
        return
    if value is None:
        if key in extras:
            return
    elif rule == FIRST and extras.get(key):
        return
    if key not in extras:
        count(1)
    extras[key] = value


DEFAULT_RULES = merge_rules()


class ChunkDecoder(PayloadDecoder):
    """Bytes in, chunk objects out: ``feed(piece) -> list[chunk]``, then ``close()``.

    Stops at ``[DONE]``. An error (invalid JSON, a non-chunk payload, an
    upstream error, a limit) is raised after the chunks before it have been
    returned: at once when none were, else by the next call. The decoder is
    then failed: every later ``feed`` and ``close`` raises the same exception
    again (any other exception that stops a ``feed``, a :exc:`MemoryError`
    say, is raised at once and fails it the same way). A call made while
    another call into the same decoder runs raises :class:`ReentrantCallError`.

    ``max_event_size`` and ``max_line_size`` bound what is buffered (see
    :class:`SSEDecoder`); the objects of one chunk are made from one event,
    so they are bounded by ``max_event_size`` too. Nesting deeper than the
    JSON parser's limit (1024) is :class:`InvalidJSONError`.
    """

    def _decode_payload(self, payload: bytes, event: str | None, offset: int, index: int) -> Any:
        """The chunk of one payload, ``SKIP`` for a keep-alive, ``None`` for ``[DONE]``."""
        obj = load_payload(payload, event, offset, index)
        if obj is SKIP or obj is None:
            return obj
        error = upstream_error_of(obj, event)
        if error is not None:
            try:
                chunk = decode_chunk(obj, offset, index)
            except InvalidChunkError:
                chunk = None
            raise UpstreamError(error, offset, index, chunk=chunk)
        return decode_chunk(obj, offset, index)


def header_of(payload: bytes) -> bytes | None:
    """The bytes of ``payload`` up to its top-level ``"choices":`` key and colon, when the
    members before it are only scalars (so equal bytes in a later chunk mean equal, already
    merged, members, and the ``"choices"`` value starts right after them)."""
    end = payload.find(b'"choices":')
    if (
        end >= 1
        and (end == 1 or payload[end - 1] == 44)
        and payload.count(b"{", 0, end) == 1
        and payload.find(b"[", 0, end) < 0
    ):
        return payload[: end + 10]
    return None


#: A JSON string's body of printable ASCII without escapes, its closing quote and the closing brace.
_PLAIN_STRING = re.compile(rb'[ !#-\[\]-~]*"}')


def tail_of(obj: dict[str, Any], payload: bytes) -> tuple[bytes, bytes | None] | None:
    """The members of ``obj`` after its ``choices`` as ``payload`` ends with them, when it writes
    them as ``orjson`` does: their bytes (with the closing brace), and the start of a last member
    whose rule is to ignore its string value (``obfuscation``), which later chunks may change."""
    keys = list(obj)
    if "choices" not in obj or "error" in obj:
        return None
    rest = keys[keys.index("choices") + 1 :]
    ignored = None
    if rest and _CHUNK_RULE(rest[-1]) == IGNORE and type(obj[rest[-1]]) is str:
        ignored = b"," + orjson.dumps(rest[-1]) + b':"'
        rest.pop()
    try:
        fixed = b"".join(b"," + orjson.dumps(key) + b":" + orjson.dumps(obj[key]) for key in rest)
    except TypeError:  # nested deeper than orjson writes: no tail of its own
        return None
    if ignored is None:
        fixed += b"}"
        return (fixed, None) if payload.endswith(b"]" + fixed) else None
    at = payload.rfind(ignored)
    return (fixed, ignored) if at > 0 and payload.startswith(b"]" + fixed, at - len(fixed) - 1) else None


def _where(item: Any, k: int) -> tuple[int, int]:
    """The data offset and event index of the ``k``-th payload of a :meth:`feed_runs` item."""
    if type(item) is PayloadRun:
        return item.position(k)
    return item[2], item[3]


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
    """List items merged by (``index``, ``type``), kept in first-seen order until finished.

    Keys are ``(index, type)`` (``type`` is ``None`` for an item started by a fragment
    without a string ``type``) and ``("append", n)`` for items without an ``index``
    appended later; ``last`` maps each index to the key of the item its latest
    fragment went to."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[int, tuple[Any, Any]] = {}


class _Merged(dict):  # type: ignore[type-arg]
    """An object built by merging (plain dicts and lists are values as received)."""


class _PartList(list):  # type: ignore[type-arg]
    """A list of typed parts (merged like ``content`` parts)."""


#: Objects nested deeper than this inside a delta replace the previous value instead of merging.
MAX_MERGE_DEPTH = 32


def merge_generic(acc: dict[str, Any], delta: dict[str, Any], rules: dict[str, str], depth: int = 0) -> int:
    """Merge an unknown part of a delta into ``acc`` with the rule table of the design.

    Returns how many entries it added (keys of ``acc`` and of the objects merged inside
    it, and items of lists merged by (``index``, ``type``)): what ``max_extras_keys`` counts."""
    added = 0
    for key, value in delta.items():
        kind = type(value)
        if kind is str:
            if key in rules and rules[key] == LAST:
                if key not in acc:
                    added += 1
                acc[key] = value
            else:
                old: Any = acc.get(key)
                if type(old) in STR_ACCUMULATORS:
                    old.append(value)
                else:
                    if old is None and key not in acc:
                        added += 1
                    acc[key] = _Str((value,))
        elif value is None:
            if key not in acc:
                acc[key] = None
                added += 1
        elif kind is dict and depth < MAX_MERGE_DEPTH and rules.get(key) != LAST:
            old = acc.get(key)
            if type(old) is not _Merged:
                if old is None and key not in acc:
                    added += 1
                old = acc[key] = _Merged()
            added += merge_generic(old, value, rules, depth + 1)
        elif kind is list and rules.get(key) != LAST:
            added += merge_list(acc, key, value, rules, depth)
        else:
            if key not in acc:
                added += 1
            acc[key] = value
    return added


def merge_list(acc: dict[str, Any], key: str, value: list[Any], rules: dict[str, str], depth: int = 0) -> int:
    old = acc.get(key)
    added = 1 if old is None and key not in acc else 0
    if rules.get(key) == APPEND:
        if type(old) is list:
            old.extend(value)
        else:
            acc[key] = list(value)
        return added
    indexed = bool(value) and all(type(x) is dict and type(x.get("index")) is int for x in value)
    if indexed and depth < MAX_MERGE_DEPTH and (old is None or type(old) is _Indexed or old == []):
        if type(old) is not _Indexed:
            old = acc[key] = _Indexed()
        added += merge_indexed(old, value, rules, depth)
    elif type(old) is _Indexed:
        for item in value:
            old[("append", len(old))] = item
        added += len(value)
    elif type(old) is list:
        old.extend(value)
    else:
        acc[key] = list(value)
    return added


def merge_indexed(acc: _Indexed, items: list[Any], rules: dict[str, str], depth: int) -> int:
    """Merge the items of a list keyed by (``index``, ``type``), objects with an integer ``index``
    each: a new ``type`` at an index starts a new item; a fragment without a string ``type``
    continues the item the latest fragment at its index went to (or starts one)."""
    added = 0
    last = acc.last
    for item in items:
        index = item["index"]
        kind = item.get("type")
        key = (index, kind) if type(kind) is str else last.get(index, (index, None))
        last[index] = key
        slot = acc.get(key)
        if slot is None:
            slot = acc[key] = _Merged()
            added += 1
        added += merge_generic(slot, item, rules, depth + 1)
    return added


def _continued(acc: _Indexed, item: Any) -> _Merged | None:
    """The item of ``acc`` that :func:`merge_indexed` would merge ``item`` into when that is the
    item the latest fragment at its index went to, else ``None``."""
    if type(item) is dict:
        index = item.get("index")
        if type(index) is int:
            key = acc.last.get(index)
            if key is not None:
                kind = item.get("type")
                if type(kind) is not str or key[1] == kind:
                    return acc.get(key)
    return None


def merge_parts(acc: list[Any], parts: list[Any], rules: dict[str, str], depth: int = 0) -> int:
    """Append typed content parts, merging a part into the previous one of the same type.
    Returns how many entries it added inside the parts (as :func:`merge_generic` counts)."""
    added = 0
    for part in parts:
        if type(part) is not dict or depth >= MAX_MERGE_DEPTH:
            acc.append(part)
        elif acc and type(acc[-1]) is _Merged and acc[-1].get("type") == part.get("type"):
            last = acc[-1]
            for key, value in part.items():
                if type(value) is list and type(last.get(key)) is _PartList:
                    added += merge_parts(last[key], value, rules, depth + 1)
                else:
                    added += merge_generic(last, {key: value}, rules, depth + 1)
        else:
            fresh = _Merged()
            for key, value in part.items():
                if type(value) is list and all(type(x) is dict and "type" in x for x in value):
                    nested = fresh[key] = _PartList()
                    added += 1 + merge_parts(nested, value, rules, depth + 1)
                else:
                    added += merge_generic(fresh, {key: value}, rules, depth + 1)
            acc.append(fresh)
    return added


def finish_value(value: Any) -> Any:
    """The plain JSON value of merged state (a fresh copy of everything merging may still change)."""
    kind = type(value)
    if kind in STR_ACCUMULATORS:
        return join_text(value)
    if kind is _Merged:
        return {k: finish_value(v) for k, v in value.items()}
    if kind is _Indexed:
        # Sorted by index; the items at one index stay in arrival order (the sort is stable).
        keyed = sorted((k for k in value if type(k[0]) is int), key=lambda k: k[0])
        rest = [k for k in value if type(k[0]) is not int]
        return [finish_value(value[k]) for k in keyed] + [value[k] for k in rest]
    if kind is _PartList:
        return [finish_value(v) for v in value]
    if kind is list:
        return list(value)
    return value


# ------------------------------------------------------------------ merge state


class _Tool:
    __slots__ = ("arguments", "extras", "function_extras", "id", "index", "name", "type")

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
        "annotations",
        "audio",
        "content",
        "content_parts",
        "extras",
        "finish_reason",
        "function_call",
        "index",
        "last_tool",
        "logprobs_seen",
        "lp_content",
        "lp_refusal",
        "message_extras",
        "refusal",
        "role",
        "tool_at",
        "tools",
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

    def built_logprobs(self) -> m.CreateChatCompletionResponseChoicesInnerLogprobs:
        """The finished choice's logprobs."""
        return m.CreateChatCompletionResponseChoicesInnerLogprobs(
            content=list(self.lp_content) if self.lp_content is not None else None,
            refusal=list(self.lp_refusal) if self.lp_refusal is not None else None,
        )


class _Bad(Exception):
    """A field of a chunk has the wrong type (turned into InvalidChunkError with the offset)."""


class _Limit(Exception):
    """A chunk goes past a limit of the merger (turned into LimitExceededError with the offset)."""

    def __init__(self, name: str, value: int, what: str) -> None:
        super().__init__(f"more than {name}={value} {what}")
        self.name = name
        self.value = value

    def error(self, offset: int, index: int | None) -> LimitExceededError:
        return LimitExceededError(str(self), offset, index, self.name, self.value)


def _want(value: Any, kind: type, path: str) -> Any:
    if value is not None and type(value) is not kind:
        raise _Bad(f"{path}: expected {kind.__name__}, got {type(value).__name__}")
    return value


_CHOICE_KNOWN = frozenset(chat_rules.CHOICE.keys)
_CHOICE_NKNOWN = len(_CHOICE_KNOWN)
#: The keys of choices (in order) and those among them that are not in the table (at most
#: MAX_SHAPES key lists are kept).
_CHOICE_EXTRAS: dict[tuple[str, ...], tuple[str, ...]] = {}
MAX_SHAPES = 256
#: The chunk's string fields (by the rule of the table: the first non-empty or the last non-null
#: value), and the merger's attribute of each.
_STRING_FIELDS = {
    "id": "_id",
    "model": "_model",
    "service_tier": "_service_tier",
    "system_fingerprint": "_fingerprint",
}
_CHUNK_RULE = chat_rules.CHUNK.keys.get
_CHOICE_RULE = chat_rules.CHOICE.keys.get
_CHOICE_LAST = chat_rules.CHOICE.unknown == LAST


class DeltaMerger:
    """Folds a stream into one completion: ``feed`` bytes or ``add`` chunks, then ``finish()``.

    ``snapshot()`` is valid at any moment. ``scalar_keys`` extends the set of
    unknown delta keys whose values replace the previous one instead of
    concatenating; ``append_keys`` the set of keys whose lists are appended
    instead of merged by (``index``, ``type``).

    Resource limits (``None`` turns one off); going past one raises
    :class:`LimitExceededError` naming it in ``limit``, with the ``offset`` and
    ``event_index`` of the chunk's payload (``-1`` and ``None`` for ``add``):

    - ``max_event_size`` (16 MiB), ``max_line_size`` (``None``: bounded by the
      event size): what the tokenizer buffers (see :class:`SSEDecoder`).
    - ``max_choices`` (1024): distinct choice ``index`` values.
    - ``max_tool_calls`` (1024): tool calls, all choices together.
    - ``max_merged_size`` (256 MiB): the total size of the ``data`` payloads
      read from the stream (keep-alives and payloads that failed included);
      everything merged is made from those bytes, so this bounds the
      completion too. The payload that goes past it is not merged.
    - ``max_extras_keys`` (10,000): entries kept for unknown keys, all
      together: the keys of every extras mapping (top level, choice, message,
      tool call, function), of the objects merged inside them and the items of
      lists merged by (``index``, ``type``).

    A chunk that goes past a count limit may be partly merged (as one with a
    wrong type is); ``snapshot()`` still returns what was merged. Index values
    are map keys (an ``index`` of 10**12 allocates nothing), and merging
    objects inside a delta stops at ``MAX_MERGE_DEPTH`` levels.

    After an error raised by ``feed`` (invalid JSON, a payload that is not a
    chunk, a limit, or any other exception that stops it midway) the merger
    is failed: every later ``feed``, ``add`` and ``finish`` raises the same
    exception again, while ``snapshot()`` keeps returning what was merged
    before it. An upstream error in the stream is no failure: the stream
    ended there (``done``) and ``finish()`` raises it with the partial result.
    An error raised by ``add`` concerns the chunk given: the merger stays
    usable. A call made while another call into the same merger runs raises
    :class:`ReentrantCallError` and changes nothing. Every option is checked
    when the merger is made (``TypeError``/``ValueError`` naming it).
    """

    def __init__(
        self,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        scalar_keys: Iterable[str] = (),
        append_keys: Iterable[str] = (),
        *,
        max_line_size: int | None = DEFAULT_MAX_LINE_SIZE,
        max_choices: int | None = DEFAULT_MAX_CHOICES,
        max_tool_calls: int | None = DEFAULT_MAX_TOOL_CALLS,
        max_merged_size: int | None = DEFAULT_MAX_MERGED_SIZE,
        max_extras_keys: int | None = DEFAULT_MAX_EXTRAS_KEYS,
    ) -> None:
        self._sse = self._sse_class(max_event_size, max_line_size)
        self._guard = ReentryGuard("DeltaMerger")
        self._set_options(
            scalar_keys, append_keys, max_choices, max_tool_calls, max_merged_size, max_extras_keys
        )
        self._choices: dict[int, _Choice] = {}
        self._extras: dict[str, Any] = {}

    # A merger is made per stream: what starts at a default is a class attribute until it is
    # first set, so that making one sets only what it needs of its own.
    _sse_class: type[SSEDecoder] = SSEDecoder
    _failed: BaseException | None = None
    _max_choices = DEFAULT_MAX_CHOICES
    _max_tool_calls = DEFAULT_MAX_TOOL_CALLS
    _max_merged_size = DEFAULT_MAX_MERGED_SIZE
    _max_extras_keys = DEFAULT_MAX_EXTRAS_KEYS
    _rules: dict[str, str] = DEFAULT_RULES  # never changed: a merger with other keys has its own
    _tool_count = 0
    _extras_keys = 0
    _read_size = 0
    _id: str | None = None
    _model: str | None = None
    _created: Any = None
    _service_tier: str | None = None
    _fingerprint: str | None = None
    _usage: m.CompletionUsage | None = None
    _groq_usage: m.CompletionUsage | None = None
    _moderation: m.ChatCompletionModeration | None = None
    _error: UpstreamError | None = None
    _header: bytes | None = None
    _tail: tuple[bytes, bytes | None] | None = None
    _ending: bytes | None = None
    chunks = 0
    done = False

    def _set_options(
        self,
        scalar_keys: Iterable[str],
        append_keys: Iterable[str],
        max_choices: int | None,
        max_tool_calls: int | None,
        max_merged_size: int | None,
        max_extras_keys: int | None,
    ) -> None:
        """Check the merge options and set those that differ from the class defaults."""
        if not (
            max_choices is DEFAULT_MAX_CHOICES
            and max_tool_calls is DEFAULT_MAX_TOOL_CALLS
            and max_merged_size is DEFAULT_MAX_MERGED_SIZE
            and max_extras_keys is DEFAULT_MAX_EXTRAS_KEYS
        ):
            self._max_choices = limit_value("max_choices", max_choices)
            self._max_tool_calls = limit_value("max_tool_calls", max_tool_calls)
            self._max_merged_size = limit_value("max_merged_size", max_merged_size)
            self._max_extras_keys = limit_value("max_extras_keys", max_extras_keys)
        if type(scalar_keys) is not tuple or type(append_keys) is not tuple or scalar_keys or append_keys:
            self._rules = merge_rules(scalar_keys, append_keys)

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
        data = piece if type(piece) is bytes else bytes(piece)  # a wrong type fails nothing
        if self._failed is not None:
            raise self._failed
        if self.done:
            return 0
        with self._guard:
            try:
                return self._feed(data)
            except BaseException as exc:
                self._failed = exc
                raise

    def _feed(self, piece: bytes | bytearray | memoryview) -> int:
        merged = 0
        loads = orjson.loads
        # Every payload the tokenizer completes counts toward max_merged_size, merged or not
        # (as in the native merger): a whole run at once, unless it goes past the limit.
        read = self._read_size
        items = self._sse.feed_runs(piece)
        j = 0
        try:
            for j, item in enumerate(items):  # noqa: B007  # j is read when an error stops the loop
                if type(item) is PayloadRun:
                    event = None
                    payloads: Any = item
                    read += item.nbytes
                else:
                    event = item[0]
                    payloads = (item[1],)
                    read += len(item[1])
                too_much = None
                if read > self._max_merged_size:
                    payloads, too_much = self._up_to_limit(item, payloads, read)
                for k, payload in enumerate(payloads):
                    if event is None and payload and payload[0] == 123:
                        header = self._header
                        tail = 0
                        if header is not None and payload.startswith(header):
                            # The header bytes of the last chunk again (merging them again changes
                            # nothing): when "choices" is the last member (but for a null usage)
                            # only it needs reading.
                            ending = self._ending
                            if ending is not None:
                                tail = len(ending) - 1 if payload.endswith(ending) else 0
                            else:
                                tail = self._tail_size(payload)
                            start = len(header)
                            # The slice is one level less deep than the payload: one that may be
                            # nested as deep as the parser's limit is read whole.
                            if len(payload) > 2000 and payload.count(b"[") + payload.count(b"{") > 1000:
                                tail = 0
                        if tail:
                            try:
                                choices = loads(payload[start:-tail])  # a copy costs less than a memoryview
                            except orjson.JSONDecodeError:
                                pass
                            else:
                                try:
                                    if type(choices) is list:
                                        for choice in choices:
                                            self._merge_choice(choice)
                                    else:
                                        self._merge_choices(choices)
                                except (_Bad, SchemaError) as exc:
                                    raise InvalidChunkError(
                                        f"not a chat completion chunk: {exc}", *_where(item, k)
                                    ) from None
                                except _Limit as exc:
                                    raise exc.error(*_where(item, k)) from None
                                merged += 1
                                continue
                        try:
                            obj = loads(payload)
                        except orjson.JSONDecodeError:
                            pass
                        else:
                            if "error" not in obj:
                                try:
                                    self._merge_chunk(obj)
                                except (_Bad, SchemaError) as exc:
                                    self._header = None
                                    raise InvalidChunkError(
                                        f"not a chat completion chunk: {exc}", *_where(item, k)
                                    ) from None
                                except _Limit as exc:
                                    self._header = None
                                    raise exc.error(*_where(item, k)) from None
                                merged += 1
                                self._header = header_of(payload)
                                if self._header is not None:
                                    # No tail as orjson writes the members after "choices": one
                                    # may repeat a key before it, so the header bytes do not
                                    # say what was merged.
                                    self._tail = kept = tail_of(obj, payload)
                                    if kept is None:
                                        self._header = None
                                    else:  # what the payload ends with when no member is ignored
                                        self._ending = b"]" + kept[0] if kept[1] is None else None
                                continue
                    self._header = None
                    status = self._merge_payload(payload, event, *_where(item, k))
                    merged += status & 1
                    if status & 2:
                        return merged
                if too_much is not None:
                    raise too_much
            return merged
        except BaseException:
            read += sum(item.nbytes if type(item) is PayloadRun else len(item[1]) for item in items[j + 1 :])
            raise
        finally:
            # Chunks merged before an error count too: they are in the state.
            self.chunks += merged
            self._read_size = read

    def _tail_size(self, payload: bytes) -> int:
        """How many bytes follow the ``choices`` array of ``payload`` when they are the last
        chunk's (an ignored string member at the end may differ), else 0."""
        tail = self._tail
        if tail is None:
            return 1 if payload.endswith(b"]}") else (14 if payload.endswith(b'],"usage":null}') else 0)
        fixed, ignored = tail
        if ignored is None:
            return len(fixed) if payload.endswith(fixed) and payload[-len(fixed) - 1] == 93 else 0
        at = payload.rfind(ignored)
        if at <= len(fixed) or not _PLAIN_STRING.fullmatch(payload, at + len(ignored)):
            return 0
        if payload[at - len(fixed) - 1] != 93 or not payload.startswith(fixed, at - len(fixed)):
            return 0
        return len(payload) - at + len(fixed)

    def _up_to_limit(self, item: Any, payloads: Any, read: int) -> tuple[list[bytes], LimitExceededError]:
        """The payloads of ``item`` before the one that takes the stream past ``max_merged_size``
        (``read`` counts them all), and the error for that one."""
        read -= sum(map(len, payloads))
        for k, payload in enumerate(payloads):
            read += len(payload)
            if read > self._max_merged_size:
                return list(payloads[:k]), self._too_much(*_where(item, k))
        raise AssertionError("no payload goes past the limit")

    def _too_much(self, offset: int, index: int) -> LimitExceededError:
        """The error for the payload that takes the stream past ``max_merged_size``."""
        return LimitExceededError(
            f"data payloads larger than max_merged_size={self._max_merged_size} bytes in all",
            offset,
            index,
            "max_merged_size",
            self._max_merged_size,
        )

    def _merge_payload(self, payload: bytes, event: str | None, offset: int, index: int) -> int:
        """Merge one payload by the general rules: bit 0 of the result is set when a chunk
        was merged, bit 1 when the stream ended (``[DONE]`` or an upstream error)."""
        try:
            obj = load_payload(payload, event, offset, index)
        except UpstreamError as exc:
            self._error = exc
            self.done = True
            return 2
        if obj is SKIP:
            return 0
        if obj is None:
            self.done = True
            return 2
        try:
            self._merge_chunk(obj)
        except (_Bad, SchemaError) as exc:
            raise InvalidChunkError(f"not a chat completion chunk: {exc}", offset, index) from None
        except _Limit as exc:
            raise exc.error(offset, index) from None
        error = upstream_error_of(obj, event)
        if error is not None:
            self._error = UpstreamError(error, offset, index)
            self.done = True
            return 3
        return 1

    def add(self, chunk: m.CreateChatCompletionStreamResponse | dict[str, Any]) -> None:
        """Merge one decoded chunk (a chunk object or its dict)."""
        if self._failed is not None:
            raise self._failed
        obj = chunk.to_dict() if isinstance(chunk, m.Model) else chunk
        if type(obj) is not dict:
            raise InvalidChunkError("a chunk must be a chunk object or a dict", -1, None)
        with self._guard:
            self._merge_obj(obj, -1, None)
            error = upstream_error_of(obj, None)
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
        except _Limit as exc:
            raise exc.error(offset, index) from None
        self.chunks += 1

    def _merge_choices(self, choices: Any) -> None:
        if choices is not None:
            if type(choices) is not list:
                raise _Bad(f"choices: expected list, got {type(choices).__name__}")
            for choice in choices:
                self._merge_choice(choice)

    def _merge_chunk(self, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            if key == "choices":
                self._merge_choices(value)
            elif key in _STRING_FIELDS:
                if value is not None:
                    _want(value, str, key)
                    attr = _STRING_FIELDS[key]
                    if _CHUNK_RULE(key) == LAST or not getattr(self, attr):
                        setattr(self, attr, value)
            elif key == "object":
                _want(value, str, "object")
            elif key == "created":
                if value is not None:
                    if type(value) is not int:
                        if type(value) is not float or not value.is_integer():
                            raise _Bad(f"created: expected int, got {type(value).__name__}")
                        value = int(value)  # as the models read a Count
                    if _CHUNK_RULE(key) == LAST or not self._created:
                        self._created = value
            elif key == "usage":
                if value is not None:
                    self._usage = m.CompletionUsage.from_dict(value, "usage")
            elif key == "moderation":
                if value is not None:
                    self._moderation = m.ChatCompletionModeration.from_dict(value, "moderation")
            else:
                if key == "x_groq" and type(value) is dict and type(value.get("usage")) is dict:
                    self._groq_usage = m.CompletionUsage.from_dict(value["usage"], "x_groq.usage")
                put_extra(
                    self._extras, key, value, _CHUNK_RULE(key, chat_rules.CHUNK.unknown), self._add_keys
                )

    def _add_keys(self, added: int) -> None:
        self._extras_keys += added
        if self._extras_keys > self._max_extras_keys:
            raise _Limit("max_extras_keys", self._max_extras_keys, "entries for unknown keys")

    def _merge_choice(self, choice: Any) -> None:
        """Merge one choice and its delta (the commonest choice, one more ``content`` fragment of a
        choice that has text already, and the delta's commonest keys here, every other key by
        :meth:`_merge_delta_key` and :meth:`_merge_extra`)."""
        if type(choice) is not dict:
            raise _Bad(f"choices[]: expected dict, got {type(choice).__name__}")
        delta = choice.get("delta")
        if len(choice) == 4 and type(delta) is dict and len(delta) == 1:
            content = delta.get("content")
            if (
                type(content) is str
                and choice.get("logprobs", 0) is None
                and choice.get("finish_reason", 0) is None
            ):
                index = choice.get("index")
                state = self._choices.get(index) if type(index) is int else None
                if state is not None and state.content is not None:
                    state.content.append(content)
                    return
        index = choice.get("index", 0)
        if type(index) is not int:
            raise _Bad(f"choices[].index: expected int, got {type(index).__name__}")
        state = self._choices.get(index)
        if state is None:
            if len(self._choices) >= self._max_choices:
                raise _Limit("max_choices", self._max_choices, "choices")
            state = self._choices[index] = self._new_choice(index)
        if type(delta) is dict:
            for key, value in delta.items():
                if key == "content" and type(value) is str:
                    content = state.content
                    if content is None:
                        content = state.content = self._new_text()
                    content.append(value)
                elif key == "role" and type(value) is str:
                    if value and state.role is None:
                        state.role = value
                elif key in _DELTA_KNOWN:
                    if value is not None:
                        self._merge_delta_key(state, key, value)
                else:
                    # The commonest values of unknown keys, merged here as merge_generic would: one
                    # more fragment of reasoning, a number, a value that changes nothing, one more
                    # fragment of the item a list merged by (index, type) was last continuing.
                    extras = state.message_extras
                    old: Any = extras.get(key)
                    kind = type(value)
                    if kind is str:
                        if type(old) in STR_ACCUMULATORS and key not in self._rules:
                            old.append(value)
                            continue
                    elif value is None:
                        if old is not None or key in extras:
                            continue
                    elif kind is list:
                        if type(old) is _Indexed and key not in self._rules:
                            if not value:
                                continue
                            if len(value) == 1:
                                slot = _continued(old, value[0])
                                if slot is not None:
                                    added = merge_generic(slot, value[0], self._rules, 1)
                                    if added:
                                        self._add_keys(added)
                                    continue
                        elif not value and type(old) is list and key not in self._rules:
                            continue
                    elif kind is int and (old is not None or key in extras):
                        extras[key] = value  # the last value
                        continue
                    self._merge_extra(extras, key, value)
        elif delta is not None:
            raise _Bad(f"choices[].delta: expected dict, got {type(delta).__name__}")
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            state.finish_reason = _want(finish_reason, str, "finish_reason")
        logprobs = choice.get("logprobs")
        if logprobs is not None:
            self._merge_logprobs(state, logprobs)
        if len(choice) > _CHOICE_NKNOWN or not choice.keys() <= _CHOICE_KNOWN:
            keys = tuple(choice)
            unknown = _CHOICE_EXTRAS.get(keys)
            if unknown is None:
                unknown = tuple(key for key in keys if key not in _CHOICE_KNOWN)
                if len(_CHOICE_EXTRAS) < MAX_SHAPES:
                    _CHOICE_EXTRAS[keys] = unknown
            extras = state.extras
            for key in unknown:
                value = choice[key]
                if value is None:
                    if key in extras:  # put_extra keeps the value it has, whatever the rule
                        continue
                elif _CHOICE_LAST and key in extras and _CHOICE_RULE(key) is None:
                    extras[key] = value  # the commonest: a key of every chunk, last non-null value
                    continue
                put_extra(extras, key, value, _CHOICE_RULE(key, chat_rules.CHOICE.unknown), self._add_keys)

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

    def _merge_delta_key(self, state: _Choice, key: str, value: Any) -> None:
        """Merge the non-null value of a delta key the models have a field for."""
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
            if type(value) is not str:
                _want(value, str, "delta.role")
            if value and state.role is None:
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
                state.function_call = _Merged()
            self._merge_named(
                state.function_call, _want(value, dict, "delta.function_call"), chat_rules.FUNCTION_CALL
            )
        elif key == "audio":
            if state.audio is None:
                state.audio = _Merged()
            self._merge_named(state.audio, _want(value, dict, "delta.audio"), chat_rules.AUDIO)
        elif key == "annotations":
            if state.annotations is None:
                state.annotations = []
            state.annotations.extend(_want(value, list, "delta.annotations"))

    def _merge_extra(self, extras: dict[str, Any], key: str, value: Any) -> None:
        """Merge the value of an unknown delta key into ``extras`` by the rules of
        :func:`merge_generic`, its commonest cases here."""
        kind = type(value)
        if value is None:
            if key not in extras:
                extras[key] = None
                self._add_keys(1)
            return
        if kind is int or kind is float or kind is bool:
            new = key not in extras
            extras[key] = value  # the last value
            if new:
                self._add_keys(1)
            return
        if kind is list and key not in self._rules and type(extras.get(key)) is _Indexed:
            for item in value:
                if type(item) is not dict or type(item.get("index")) is not int:
                    break
            else:  # more items merged by (index, type)
                added = merge_indexed(extras[key], value, self._rules, 0)
                if added:
                    self._add_keys(added)
                return
        added = merge_generic(extras, {key: value}, self._rules)
        if added:
            self._add_keys(added)

    def _merge_named(self, acc: dict[str, Any], value: dict[str, Any], table: Table) -> None:
        """An object of ``table``'s keys set once (a name or an id) and concatenated; other keys
        by the rules of unknown delta keys."""
        for key, item in value.items():
            rule = table.keys.get(key)
            if rule == ONCE:
                if (_want(item, str, key) and not acc.get(key)) or key not in acc:
                    acc[key] = item
            elif rule == CONCAT:
                if item is not None:
                    _want(item, str, key)
                    old: Any = acc.get(key)
                    if type(old) in STR_ACCUMULATORS:
                        old.append(item)
                    else:
                        acc[key] = _Str((item,))
                elif key not in acc:
                    acc[key] = None
            else:
                if key == "expires_at" and item is not None and type(item) is not int:
                    raise _Bad(f"audio.expires_at: expected int, got {type(item).__name__}")
                added = merge_generic(acc, {key: item}, self._rules)
                if added:
                    self._add_keys(added)

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
            added = merge_parts(state.content_parts, others, self._rules)
            if added:
                self._add_keys(added)

    def _merge_tool_call(self, state: _Choice, call: Any) -> None:
        if type(call) is not dict:
            raise _Bad(f"delta.tool_calls[]: expected dict, got {type(call).__name__}")
        index = call.get("index")
        if index is not None and type(index) is not int:
            raise _Bad(f"delta.tool_calls[].index: expected int, got {type(index).__name__}")
        call_id = call.get("id")
        if call_id is not None and type(call_id) is not str:
            raise _Bad(f"delta.tool_calls[].id: expected str, got {type(call_id).__name__}")
        tool = state.tool_at.get(index) if index is not None else state.last_tool
        if tool is None or (call_id and tool.id and call_id != tool.id):
            if self._tool_count >= self._max_tool_calls:
                raise _Limit("max_tool_calls", self._max_tool_calls, "tool calls")
            self._tool_count += 1
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
                if _want(value, str, "delta.tool_calls[].type") and not tool.type:
                    tool.type = value
            elif key == "function":
                if type(value) is not dict:
                    raise _Bad(f"delta.tool_calls[].function: expected dict, got {type(value).__name__}")
                for fkey, fvalue in value.items():
                    if fkey == "arguments":
                        if type(fvalue) is str:
                            tool.arguments.append(fvalue)
                        elif fvalue is not None:
                            raise _Bad(f"function.arguments: expected str, got {type(fvalue).__name__}")
                    elif fkey == "name":
                        if _want(fvalue, str, "function.name") and not tool.name:
                            tool.name = fvalue
                    else:
                        added = merge_generic(tool.function_extras, {fkey: fvalue}, self._rules)
                        if added:
                            self._add_keys(added)
            else:
                added = merge_generic(tool.extras, {key: value}, self._rules)
                if added:
                    self._add_keys(added)

    # -- output

    def snapshot(self) -> m.CreateChatCompletionResponse:
        """The completion merged so far (``finish_reason`` may be ``None``); never raises."""
        self._header = None  # the values it holds may be changed: the next chunk's are merged anew
        choices = [_build_choice(self._choices[i]) for i in sorted(self._choices)]
        usage = self._usage if self._usage is not None else self._groq_usage
        completion = m.CreateChatCompletionResponse(
            id=self._id,
            object="chat.completion",
            created=self._created,
            model=self._model,
            choices=choices,
            service_tier=self._service_tier,
            system_fingerprint=self._fingerprint,
            usage=usage,
            moderation=self._moderation,
        )
        completion.extras = dict(self._extras)
        return completion

    def finish(self) -> m.CreateChatCompletionResponse:
        """The final completion; raises :class:`UpstreamError` (with ``.partial``) if the
        stream reported one, and the error of a failed merger."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            with self._guard:
                self._sse.close()
        completion = self.snapshot()
        if self._error is not None:
            error = self._error
            raise UpstreamError(error.error, error.offset, error.event_index, partial=completion)
        return completion


_DELTA_KNOWN = frozenset(chat_rules.DELTA.keys)


def _build_choice(state: _Choice) -> m.CreateChatCompletionResponseChoicesInner:
    extras = {k: finish_value(v) for k, v in state.message_extras.items()}
    if state.content_parts is not None:
        extras["content_parts"] = [finish_value(part) for part in state.content_parts]
    message = m.ChatCompletionResponseMessage(
        role=state.role or "assistant",
        content=join_text(state.content) if state.content is not None else None,
        refusal=join_text(state.refusal) if state.refusal is not None else None,
        tool_calls=[_build_tool(t) for t in _ordered(state.tools)] if state.tools else None,
        annotations=_annotations(state.annotations),
        audio=_audio(state.audio),
        function_call=_function_call(state.function_call),
    )
    message.extras = extras
    logprobs = state.built_logprobs() if state.logprobs_seen else None
    choice = m.CreateChatCompletionResponseChoicesInner(
        index=state.index, message=message, logprobs=logprobs, finish_reason=state.finish_reason
    )
    choice.extras = dict(state.extras)
    return choice


def _ordered(tools: list[_Tool]) -> list[_Tool]:
    if all(t.index is not None for t in tools):
        return sorted(tools, key=lambda t: t.index)  # type: ignore[arg-type,return-value]
    return tools


def _build_tool(tool: _Tool) -> m.ChatCompletionMessageToolCall:
    function = m.ChatCompletionMessageToolCallFunction(name=tool.name, arguments=join_text(tool.arguments))
    function.extras = {k: finish_value(v) for k, v in tool.function_extras.items()}
    call = m.ChatCompletionMessageToolCall(id=tool.id, type=tool.type or "function", function=function)
    call.extras = {k: finish_value(v) for k, v in tool.extras.items()}
    return call


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
