"""Event decoder and merger of Responses API streams, pure Python (orjson on the payload bytes).

The merger reads the events with the tokenizer (a run of one-line named blocks as one
:class:`~.._sse_py.NamedRun`, whose event types and offsets are worked out only for the events that
need them) and applies them to the shared :class:`~._state.ResponsesState`; a delta event at the
place of the one before only appends its string. The ``.done`` event of that place that only
replaces the string (:data:`_DONES`), when it carries the string the deltas built, changes nothing
and skips the state. A start event (``response.created``, ``.in_progress``, ...) whose bytes after
the sequence number repeat those of the start event before it, with no lifecycle event between,
changes nothing and skips the state, as in the compiled merger.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .._payload import SKIP, PayloadDecoder, load_payload
from .._schema import SchemaError
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, NamedRun, SSEDecoder
from ..errors import InvalidChunkError, StreamFormatError
from . import _rules as r
from . import models as m
from ._state import ResponsesState, joined

_START_KINDS = frozenset(kind for kind, stage in r.LIFECYCLE.items() if stage is r.START)


def _readers() -> dict[str, tuple[str, str, str | None]]:
    """Delta event type -> (the key of its second index, ``output_index`` again when the slot has
    none; the key of its string; the key of the list it may carry only empty, or ``None``), for
    the kinds a :class:`~._state.Fast` place can have."""
    out: dict[str, tuple[str, str, str | None]] = {}
    for kind, rule in r.EVENT_RULES.items():
        chain = r.SLOTS[rule.slot]
        first, rest = rule.ops[0], rule.ops[1:]
        if first.op is not r.CONCAT or len(chain) > 1:
            continue
        lists = [op.key for op in rest if op.op is r.EXTEND]
        assert len(lists) == len(rest) <= 1, kind  # what the short path checks
        out[kind] = (chain[0][1] if chain else "output_index", first.key, lists[0] if lists else None)
    return out


def _dones() -> dict[str, tuple[str, str]]:
    """Delta event type -> (its ``.done`` event type, the key of the string that event carries),
    where the ``.done`` event only replaces the string at the delta's path in the same slot."""
    out = {}
    for kind in _READERS:
        delta = r.EVENT_RULES[kind]
        done = r.EVENT_RULES.get(kind.removesuffix(".delta") + ".done") if kind.endswith(".delta") else None
        if done is None or done.slot is not delta.slot or len(done.ops) != 1:
            continue
        op = done.ops[0]
        if op.op is r.REPLACE and op.kind is r.STR and op.path == delta.ops[0].path:
            out[kind] = (kind.removesuffix(".delta") + ".done", op.key)
    return out


_READERS = _readers()
_DONES = _dones()
#: The values of a delta's list key that extend nothing.
_NO_LIST: tuple[None, list[Any]] = (None, [])
#: ``{"type":"...","sequence_number":N``: what may differ between two start events that repeat.
_START_HEAD = re.compile(rb'\{"type":"[^"\\]*","sequence_number":-?(?:0|[1-9][0-9]*)')


class EventDecoder(PayloadDecoder):
    """Bytes in, event objects out: ``feed(piece) -> list[event]``, then ``close()``.

    Stops at ``[DONE]``. ``error`` events and ``response.failed`` are events like the others (the
    merger turns them into :class:`UpstreamError`); an ``event: error`` whose data is not a JSON
    object raises it. A bad payload raises the typed stream error after the events before it
    have been returned: at once when none were, else by the next call, and by every call after.
    """

    _sse_class: Any = SSEDecoder

    def __init__(
        self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, max_line_size: int | None = DEFAULT_MAX_LINE_SIZE
    ) -> None:
        super().__init__(max_event_size, max_line_size)
        if self._sse_class is not SSEDecoder:
            self._sse = self._sse_class(max_event_size, max_line_size)

    def _decode_payload(self, payload: bytes, event: str | None, offset: int, index: int) -> Any:
        obj = load_payload(payload, event, offset, index)
        if obj is SKIP or obj is None:
            return obj
        try:
            return m.event_from_dict(obj)
        except (SchemaError, TypeError) as exc:
            raise InvalidChunkError(f"not a Responses API event: {exc}", offset, index) from None


class ResponsesMerger(ResponsesState):
    """Folds a Responses API stream into one :class:`~ssedelta.responses.models.Response`.

    ``feed`` bytes (or ``add`` events), then ``finish()``; ``snapshot()`` is valid at any moment
    and never raises. The stream ends at ``response.completed``, ``response.incomplete`` (a result
    with ``status: "incomplete"``), ``response.failed`` or ``[DONE]``; nothing after is read. An
    ``error`` event or ``response.failed`` makes ``finish()`` raise :class:`UpstreamError` with
    ``.error`` (the first error reported) and ``.partial`` (the response merged so far).
    """

    _sse_class: Any = SSEDecoder

    def __init__(
        self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, max_line_size: int | None = DEFAULT_MAX_LINE_SIZE
    ) -> None:
        super().__init__()
        self._sse = self._sse_class(max_event_size, max_line_size)
        self._failed: Exception | None = None
        # The bytes after the sequence number of the last start event, and the lifecycle count then.
        self._start_tail: bytes | None = None
        self._start_count = -1

    @property
    def events(self) -> int:
        """Events read from the stream so far."""
        return self._sse.events_dispatched  # type: ignore[no-any-return]

    def feed(self, piece: bytes | bytearray | memoryview) -> int:
        """Merge the events ``piece`` completes; returns how many. A bad event raises a typed
        error; the merger keeps what came before it (``snapshot()``) and raises it again."""
        if self._failed is not None:
            raise self._failed
        if self.done:
            return 0
        try:
            return self._feed(piece)
        except StreamFormatError as exc:
            self._failed = exc
            raise

    def _feed(self, piece: bytes | bytearray | memoryview) -> int:
        merged = 0
        loads = orjson.loads
        # The place of the last delta event (see ResponsesState.fast), or the place a delta event
        # would open (ResponsesState.opening): the next event of that kind there only appends
        # its fragment. ``append`` is set by the first delta appended there, which marks the item
        # to be built again (nothing builds it before the place changes). The keys of the place
        # are read by subscripts (KeyError when one is not there, TypeError when the payload is
        # not an object), the shortest path to them.
        fast_kind = fast_at = fast_sub = append = fragments = fast_item = None
        sub_key = delta_key = ""
        list_key: str | None = None
        place = self.fast or self.opening
        if place is not None:
            fast_kind, fast_at, _, fast_sub, fragments, fast_item = place[:6]
            sub_key, delta_key, list_key = _READERS[fast_kind]
            if fast_sub is None:
                fast_sub = fast_at
        for item in self._sse.feed_named(piece):
            run = item if type(item) is NamedRun else None
            for k, payload in enumerate(item.payloads if run is not None else (item[1],)):
                try:
                    obj = loads(payload)
                except orjson.JSONDecodeError:
                    obj = None
                else:
                    if fast_kind is not None:
                        try:
                            if (
                                obj["type"] == fast_kind
                                and obj["output_index"] is fast_at
                                and obj[sub_key] is fast_sub
                            ):
                                delta = obj[delta_key]
                                if (
                                    type(delta) is str
                                    and "error" not in obj
                                    and (list_key is None or obj.get(list_key) in _NO_LIST)
                                ):
                                    if append is None:
                                        if fragments is None:  # the first delta of an opened place
                                            fragments = self.open_fast()
                                        append = fragments.append
                                        fast_item.model = None  # type: ignore[union-attr]
                                    append(delta)
                                    merged += 1
                                    continue
                        except (KeyError, TypeError):
                            pass
                if run is not None:
                    event, offset, index = run.position(k)
                else:
                    event, _, offset, index = item
                if type(obj) is not dict:
                    merged += self.merge_payload(payload, event, offset, index)
                elif fragments is not None and self._repeats_place(obj):
                    self.fast = None  # as after any event the state merges
                    merged += 1
                else:
                    merged += self._merge_other(obj, payload, event, offset, index)
                if self.done:
                    break
                place = self.fast or self.opening
                if place is None:
                    fast_kind = fragments = None
                else:
                    fast_kind, fast_at, _, fast_sub, fragments, fast_item = place[:6]
                    sub_key, delta_key, list_key = _READERS[fast_kind]
                    if fast_sub is None:
                        fast_sub = fast_at
                    append = None
            if self.done:
                break
        return merged

    def _repeats_place(self, obj: dict[str, Any]) -> bool:
        """Whether ``obj`` is the ``.done`` event of the :attr:`fast` place that only replaces its
        string (:data:`_DONES`) with the string the deltas built, so that it changes nothing."""
        place = self.fast
        if place is None or place.fragments is None or place.kind not in _DONES:
            return False
        kind, key = _DONES[place.kind]
        value = obj.get(key)
        return (
            obj.get("type") == kind
            and obj.get("output_index") is place.output_index
            and (place.sub_key is None or obj.get(place.sub_key) is place.sub)
            and type(value) is str
            and "error" not in obj
            and value == joined(place.fragments)
        )

    def _merge_other(
        self, obj: dict[str, Any], payload: bytes, event: str | None, offset: int, index: int
    ) -> int:
        kind = obj.get("type")
        if type(kind) is str and kind in _START_KINDS:
            return self._merge_start(obj, payload, event, offset, index)
        return self.merge_object(obj, event, offset, index)

    def _merge_start(
        self, obj: dict[str, Any], payload: bytes, event: str | None, offset: int, index: int
    ) -> int:
        head = _START_HEAD.match(payload)
        if head is None:
            return self.merge_object(obj, event, offset, index)
        tail = payload[head.end() :]
        count = self.responses_set
        if count == self._start_count and tail == self._start_tail:
            self.fast = self.opening = None  # as after any event the state merges
            return 1
        merged = self.merge_object(obj, event, offset, index)
        if self.responses_set == count + 1:
            self._start_tail, self._start_count = tail, self.responses_set
        return merged

    def finish(self) -> m.Response:
        """The final response; raises :class:`UpstreamError` (with ``.partial``) if the stream
        reported an error."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            self._sse.close()
        return self.result()
