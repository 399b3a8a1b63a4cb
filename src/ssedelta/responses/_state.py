"""The merged state of a Responses API stream, shared by the mergers of both backends.

:class:`ResponsesState` applies the rule table of :mod:`._rules` to each decoded payload. Each
output item is a :class:`Node`: the object as last put, plus what the events merged into it since
(string fragments per path, appended list items, the nodes of keyed list elements). Fragments are
joined only when a snapshot is built, and a node's object is never changed in place (a change
copies the dicts on its path), so a snapshot shares nothing that a later event changes.
An event that puts a value (an item, a part, ...) is applied by a plan made once from its rule
(:data:`_PUTS`); the other rules by their general loop.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from .. import _build_py
from .._payload import SKIP, load_payload
from .._schema import Model, SchemaError
from ..errors import InvalidChunkError, UpstreamError
from . import _rules as r
from . import models as m
from ._rules import CONCAT, CONCAT_EACH, EXTEND, LIST, PUT, SLOTS

_ITEM_UNION = m.Response._spec["output"][2]
#: What a PUT value must be, per slot: a model (or a union of models by ``type``), or ``str``.
_SLOT_MODELS: dict[str, Any] = {
    r.ITEM: _ITEM_UNION,
    r.CONTENT: m.ResponseOutputMessage._spec["content"][2],
    r.SUMMARY: m.ResponseReasoningItemSummary,
    r.ANNOTATION: m.ResponseOutputText._spec["annotations"][2],
    r.COMMAND: str,
    r.SHELL_OUTPUT: m.ResponseFunctionShellCallOutputContent,
}
#: The model of the items of a list value, per payload key.
_LIST_MODELS: dict[str, Any] = {"logprobs": m.Logprob, "output": m.ResponseFunctionShellCallOutputContent}


class _Bad(Exception):
    """A payload that is not a valid event (turned into :class:`InvalidChunkError`)."""


def _check(one: Any, model: Any, value: Any, where: str) -> Any:
    """``value`` converted by ``model`` (a model, a union of models, or ``str``) with ``one`` (see
    :func:`ssedelta._build_py.one`); raises :class:`_Bad`."""
    if model is str:
        if type(value) is not str:
            raise _Bad(f"{where}: expected str, got {type(value).__name__}")
        return value
    try:
        return one(model, value, where)
    except SchemaError as exc:
        raise _Bad(str(exc)) from None
    except TypeError:  # a "type" that cannot be a dict key
        raise _Bad(f"{where}.type: expected str") from None


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if type(obj) is not dict:
            return None
        obj = obj.get(key)
    return obj


def _with(obj: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of ``obj`` (made a dict if it is not one) with ``value`` at ``path``."""
    if not path:
        return value
    out = dict(obj) if type(obj) is dict else {}
    key = path[0]
    out[key] = value if len(path) == 1 else _with(out.get(key), path[1:], value)
    return out


class Node:
    """One item (or keyed list element) and what was merged into it since it was put."""

    __slots__ = ("base", "extended", "lists", "model", "texts")

    def __init__(self, base: Any, model: Any = None) -> None:
        self.base = base
        self.model = model  # the built object, while nothing changed since
        self.texts: dict[tuple[str, ...], list[str]] = {}
        self.extended: dict[tuple[str, ...], list[Any]] = {}
        self.lists: dict[tuple[str, ...], dict[int, Node]] = {}

    def build(self) -> Any:
        """The merged value (a dict, or a string for a string element); shares nothing that changes."""
        base = self.base
        if not (self.texts or self.lists or self.extended):
            return base
        texts = self.texts
        if () in texts:
            return joined(texts[()])
        out = dict(base) if type(base) is dict else {}
        for path, fragments in texts.items():
            out = _with(out, path, joined(fragments))
        for path, items in self.extended.items():
            out = _with(out, path, list(items))
        for path, children in self.lists.items():
            existing = _get(base, path)
            merged = dict(enumerate(existing)) if type(existing) is list else {}
            for index, child in children.items():
                merged[index] = child.build()
            out = _with(out, path, [merged[i] for i in sorted(merged)])
        return out

    def child(self, path: tuple[str, ...], index: int, part_type: str | None) -> Node:
        children = self.lists.get(path)
        if children is None:
            children = self.lists[path] = {}
        node = children.get(index)
        if node is None:
            existing = _get(self.base, path)
            if type(existing) is list and 0 <= index < len(existing):
                node = Node(existing[index])
            else:
                node = Node({"type": part_type} if part_type is not None else {})
            children[index] = node
        return node

    def fragments(self, path: tuple[str, ...]) -> list[str]:
        """The fragments of the string at ``path`` (the string there when the first came first)."""
        fragments = self.texts.get(path)
        if fragments is None:
            start = _get(self.base, path) if path else self.base
            fragments = self.texts[path] = [start] if type(start) is str and start else []
        return fragments

    def concat(self, path: tuple[str, ...], fragment: str) -> None:
        self.fragments(path).append(fragment)

    def extend(self, path: tuple[str, ...], items: list[Any]) -> None:
        existing = self.extended.get(path)
        if existing is None:
            start = _get(self.base, path)
            existing = self.extended[path] = list(start) if type(start) is list else []
        existing.extend(items)

    def replace(self, path: tuple[str, ...], value: Any) -> None:
        self.base = _with(self.base, path, value)
        for store in (self.texts, self.extended, self.lists):
            store.pop(path, None)


def joined(fragments: list[str]) -> str:
    """The fragments as one string, which then replaces them in the list."""
    if len(fragments) == 1:
        return fragments[0]
    text = "".join(fragments)
    fragments[:] = [text]  # the next snapshot joins only what came since
    return text


def _index(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int:
        raise _Bad(f"{key}: expected int, got {type(value).__name__}")
    return value


def upstream_error_of(obj: dict[str, Any]) -> Any:
    """The error an ``error`` event reports: its nested ``error`` object (as servers send it) or,
    in the SDK's shape, the event itself."""
    error = obj.get("error")
    if type(error) is dict and error:
        return error
    return obj


class Fast(NamedTuple):
    """Where the last delta event went: the next event of the same ``kind`` at the same place
    (``output_index``, and ``sub_key`` = ``sub`` when the slot has a second index) only appends
    its string to ``fragments`` (and must :meth:`ResponsesState.touch` the item). ``node`` holds
    the string (at ``path``); before the first fragment (:attr:`ResponsesState.opening`)
    ``fragments`` is ``None`` and :meth:`ResponsesState.open_fast` makes it."""

    kind: str
    output_index: int
    sub_key: str | None
    sub: int | None
    fragments: list[str] | None
    item: Node
    node: Node
    path: tuple[str, ...]


def _make_fast(*fields: Any) -> Fast:
    """``Fast(*fields)`` without the Python-level ``__new__`` of a named tuple."""
    return _tuple_new(Fast, fields)  # type: ignore[no-any-return]


_tuple_new: Any = tuple.__new__


def _opened_by() -> dict[tuple[str, str], str]:
    """(slot, ``type`` of the value an event puts there) -> the delta event that streams that
    value's string, when exactly one does (and a payload scan can follow it: one index at most)."""
    found: dict[tuple[str, str], list[str]] = {}
    for kind, rule in r.EVENT_RULES.items():
        if rule.ops[0].op is not r.CONCAT or len(r.SLOTS[rule.slot]) > 1:
            continue
        value_type = rule.item_type if rule.slot is r.ITEM else rule.part_type
        if value_type is not None:
            found.setdefault((rule.slot, value_type), []).append(kind)
    return {key: kinds[0] for key, kinds in found.items() if len(kinds) == 1}


#: Derived from :data:`._rules.EVENT_RULES`: after an event puts a value of this type in this slot,
#: the next event is most often the first delta of its string.
OPENED_BY = _opened_by()
#: The same, with the path of that string: (slot, ``type``) -> (delta event type, path).
_OPENINGS = {key: (kind, r.EVENT_RULES[kind].ops[0].path) for key, kind in OPENED_BY.items()}


class _Put(NamedTuple):
    """A rule whose one op puts a value, as :meth:`ResponsesState._put` applies it."""

    rule: r.Rule
    key: str  # the payload key of the value
    model: Any  # what the value must be (see _SLOT_MODELS)
    index_keys: tuple[str, ...]  # the payload keys of the slot's indexes, in order
    lists: tuple[tuple[str, ...], ...]  # the path of each index's list


#: event type -> how it puts its value, for the rules that put one (derived from the rule table).
_PUTS = {
    kind: _Put(
        rule,
        rule.ops[0].key,
        _SLOT_MODELS[rule.slot],
        tuple(key for _, key in SLOTS[rule.slot]),
        tuple(path for path, _ in SLOTS[rule.slot]),
    )
    for kind, rule in r.EVENT_RULES.items()
    if rule.ops[0].op is PUT
}
# A rule that puts a value does nothing else (so _apply never puts one).
assert all(len(rule.ops) == 1 for rule in r.EVENT_RULES.values() if any(op.op is PUT for op in rule.ops))


class ResponsesState:
    """The response merged from the events applied so far.

    :meth:`merge_payload` applies one payload (its bytes, as the tokenizer gives them) by the
    rule table; :attr:`fast` then says where a following delta event of the same kind may
    append its string directly. Every event is checked before it changes anything.
    """

    #: Builds the models (:mod:`ssedelta._build_py` or its native twin: the same objects).
    _build: Any = _build_py

    def __init__(self) -> None:
        self._response: m.Response | None = None
        self._items: dict[int, Node] = {}
        self._error: UpstreamError | None = None
        self._rules = r.EVENT_RULES
        #: Set after a delta event (see :class:`Fast`); ``None`` after any other.
        self.fast: Fast | None = None
        #: Set after an event that put a value whose string a delta event streams (see
        #: :data:`OPENED_BY`): where the first of those deltas would go (``fragments`` ``None``).
        self.opening: Fast | None = None
        #: ``True`` once the stream ended (a terminal event or ``[DONE]``): nothing more is read.
        self.done = False
        #: How many lifecycle events set the response so far.
        self.responses_set = 0

    @property
    def error(self) -> UpstreamError | None:
        """The upstream error the stream reported, if any (``finish()`` raises it)."""
        return self._error

    def item_node(self, output_index: int) -> Node | None:
        """The node of the item at ``output_index``, if any (read by the compiled merger)."""
        return self._items.get(output_index)

    def top_response(self) -> m.Response | None:
        """The response the last lifecycle event set, if any (read by the compiled merger)."""
        return self._response

    def item_count(self) -> int:
        """How many items the state holds."""
        return len(self._items)

    def touch(self) -> None:
        """Fragments were appended to :attr:`fast`: its item's object must be built again."""
        if self.fast is not None:
            self.fast.item.model = None

    def open_fast(self) -> list[str]:
        """Make :attr:`opening` the :attr:`fast` place, as its first delta event would, and
        return its fragments (to append the first one to)."""
        place = self.opening
        assert place is not None
        self.opening = None
        fragments = place.node.fragments(place.path)
        place.item.model = None
        # Made whole rather than by _replace, which costs several times more.
        self.fast = _make_fast(
            place.kind,
            place.output_index,
            place.sub_key,
            place.sub,
            fragments,
            place.item,
            place.node,
            place.path,
        )
        return fragments

    def merge_payload(self, payload: bytes, event: str | None, offset: int, index: int) -> int:
        """Apply one event's payload; 1 when it was an event, 0 when it was skipped (an empty
        payload, an error in no event shape) or ended the stream (``[DONE]``).
        Raises the typed stream error for a payload that is not a Responses API event."""
        if payload[:1] == b"{":
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError:
                obj = self._load(payload, event, offset, index)
        else:
            obj = self._load(payload, event, offset, index)
        if obj is SKIP:
            return 0
        if obj is None:
            self.done = True
            return 0
        return self.merge_object(obj, event, offset, index)

    def merge_object(
        self, obj: dict[str, Any], event: str | None, offset: int, index: int, built: Any = None
    ) -> int:
        """Apply one decoded payload object (see :meth:`merge_payload`). ``built``, for a
        lifecycle event, is the model its ``response`` builds, when the caller built it."""
        if event == "error" and type(obj.get("type")) is not str:  # an error in no event shape
            self._report(upstream_error_of(obj), offset, index)
            return 0
        try:
            self._merge(obj, offset, index, built)
        except _Bad as exc:
            raise InvalidChunkError(f"not a Responses API event: {exc}", offset, index) from None
        return 1

    def _load(self, payload: bytes, event: str | None, offset: int, index: int) -> Any:
        try:
            return load_payload(payload, event, offset, index)
        except UpstreamError as exc:  # an ``event: error`` without a JSON object
            if self._error is None:
                self._error = exc
            return SKIP

    def add(self, event: Model | dict[str, Any]) -> None:
        """Merge one event (an event object or its dict)."""
        obj = event.to_dict() if isinstance(event, Model) else event
        if type(obj) is not dict:
            raise InvalidChunkError("an event must be an event object or a dict", -1, None)
        try:
            self._merge(obj, -1, None)
        except _Bad as exc:
            raise InvalidChunkError(f"not a Responses API event: {exc}", -1, None) from None

    def _merge(self, obj: dict[str, Any], offset: int, index: int | None, built: Any = None) -> None:
        kind = obj.get("type")
        if type(kind) is not str:
            raise _Bad(f"type: expected str, got {type(kind).__name__}")
        self.fast = self.opening = None
        put = _PUTS.get(kind)
        rule = self._rules.get(kind) if put is None else None
        if put is not None:
            self._put(put, obj)
        elif rule is not None:
            self._apply(kind, rule, obj)
        else:
            stage = r.LIFECYCLE.get(kind)
            if stage is r.ERROR:
                self._report(upstream_error_of(obj), offset, index)
            elif stage is not None:
                self._lifecycle(obj, stage is r.END, built)
                if kind == "response.failed":
                    error = obj["response"].get("error")
                    self._report(error or {"message": "response failed"}, offset, index)
        if kind != "error" and obj.get("error"):  # a payload reporting an error in any other shape
            self._report(obj["error"], offset, index)

    def _report(self, error: Any, offset: int, index: int | None) -> None:
        if self._error is None:
            self._error = UpstreamError(error, offset, index)

    def _lifecycle(self, obj: dict[str, Any], end: bool, built: Any) -> None:
        response = obj.get("response")
        if type(response) is not dict:
            raise _Bad(f"response: expected dict, got {type(response).__name__}")
        try:
            model = built if built is not None else self._build.from_dict(m.Response, response, "response")
        except SchemaError as exc:
            raise _Bad(str(exc)) from None
        except TypeError:
            raise _Bad("response.output[].type: expected str") from None
        items = self._items
        for i, item in enumerate(model.output or ()):
            if end or i not in items:
                items[i] = Node(response["output"][i], item)
        self._response = model
        self.responses_set += 1
        if end:
            self.done = True

    def _put(self, put: _Put, obj: dict[str, Any]) -> None:
        """:meth:`_apply` of a rule that only puts a value: the same checks, in the same order, and
        the same changes, without the general loops."""
        output_index = obj.get("output_index")
        if type(output_index) is not int:
            raise _Bad(f"output_index: expected int, got {type(output_index).__name__}")
        index_keys = put.index_keys
        keys = None
        if index_keys:
            keys = []
            for key in index_keys:  # (a list comprehension is a call of its own)
                keys.append(_index(obj, key))
        value = obj.get(put.key)
        model = _check(self._build.one, put.model, value, put.key)
        rule = put.rule
        items = self._items
        sub_key = sub = None
        holder: Node | None
        if keys is None:  # the item itself
            holder = new = items[output_index] = Node(value, model)
        else:
            holder = items.get(output_index)
            if holder is None:
                holder = items[output_index] = _missing_item(rule, obj)
            holder.model = None
            parent = holder
            lists = put.lists
            if len(lists) > 1:
                parent = holder.child(lists[0], keys[0], rule.part_type)
            children = parent.lists.get(lists[-1])
            if children is None:
                children = parent.lists[lists[-1]] = {}
            new = children[keys[-1]] = Node(value)
            sub_key, sub = index_keys[0], keys[0]
        if type(value) is dict:
            value_type = value.get("type")
            if type(value_type) is str:
                opened = _OPENINGS.get((rule.slot, value_type))
                if opened is not None:
                    kind, path = opened
                    self.opening = _make_fast(kind, output_index, sub_key, sub, None, holder, new, path)

    def _apply(self, kind: str, rule: r.Rule, obj: dict[str, Any]) -> None:
        """Apply a rule that does not put a value (those are :meth:`_put`'s)."""
        # Everything is checked before anything changes: a bad event leaves the state as it was.
        output_index = _index(obj, "output_index")
        chain = SLOTS[rule.slot]
        keys = []
        for _, key in chain:
            keys.append(_index(obj, key))
        values: list[Any] = []
        for op in rule.ops:
            value = obj.get(op.key)
            if op.op is CONCAT:
                if type(value) is not str:
                    raise _Bad(f"{op.key}: expected str, got {type(value).__name__}")
            elif op.op is CONCAT_EACH:
                if type(value) is not dict or any(
                    type(v) is not str for v in value.values() if v is not None
                ):
                    raise _Bad(f"{op.key}: expected an object of strings")
            elif value is None:  # a REPLACE or EXTEND without its key changes nothing
                pass
            elif op.kind is LIST:
                if type(value) is not list:
                    raise _Bad(f"{op.key}: expected list, got {type(value).__name__}")
                model = _LIST_MODELS[op.key]
                for k, v in enumerate(value):
                    _check(self._build.one, model, v, f"{op.key}[{k}]")
            elif type(value) is not str:
                raise _Bad(f"{op.key}: expected str, got {type(value).__name__}")
            values.append(value)

        items = self._items
        item = items.get(output_index)
        if item is None:
            item = items[output_index] = _missing_item(rule, obj)
        item.model = None
        node = item
        # Index loops: a zip() with strict=True costs more than the rest of a short event.
        for k in range(len(chain)):
            node = node.child(chain[k][0], keys[k], rule.part_type)
        ops = rule.ops
        for k in range(len(ops)):
            op, value = ops[k], values[k]
            if op.op is CONCAT:
                node.concat(op.path, value)
            elif value is None:
                pass
            elif op.op is EXTEND:
                if value:
                    node.extend(op.path, value)
            elif op.op is CONCAT_EACH:
                for key, fragment in value.items():
                    if fragment is not None:
                        node.concat((key,), fragment)
            else:
                node.replace(op.path, value)
        first = rule.ops[0]
        if first.op is CONCAT and len(chain) <= 1:
            sub_key, sub = (chain[0][1], keys[0]) if chain else (None, None)
            fragments = node.texts[first.path]
            self.fast = _make_fast(kind, output_index, sub_key, sub, fragments, item, node, first.path)

    def snapshot(self) -> m.Response:
        """The response merged so far; never raises."""
        items = self._items
        one = self._build.one
        output = [_build_item(one, items[i]) for i in sorted(items)]
        top = self._response
        if top is None:
            return m.Response(output=output)
        return self._build.replaced(top, {"output": output})  # type: ignore[no-any-return]

    def result(self) -> m.Response:
        """The final response; raises :class:`UpstreamError` (with ``.partial``) if the stream
        reported an error."""
        response = self.snapshot()
        error = self._error
        if error is not None:
            raise UpstreamError(error.error, error.offset, error.event_index, partial=response)
        return response


def _missing_item(rule: r.Rule, obj: dict[str, Any]) -> Node:
    """The item an event into a slot of an item the stream never put makes (a stream resumed in
    the middle of the item): its ``type`` from the rule, its ``id`` from the event's ``item_id``."""
    base: dict[str, Any] = {"type": rule.item_type} if rule.item_type is not None else {}
    if type(obj.get("item_id")) is str:
        base["id"] = obj["item_id"]
    return Node(base)


def _build_item(one: Any, node: Node) -> Any:
    model = node.model
    if model is None:
        model = node.model = one(_ITEM_UNION, node.build(), "output[]")
    return model
