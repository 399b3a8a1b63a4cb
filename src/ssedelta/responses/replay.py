"""Streaming a finished ``Response`` again: a cached answer served as a Responses API stream.

The events follow OpenAI's order: ``response.created`` (the response without output or usage,
``in_progress``), then per output item ``output_item.added`` (its streamed strings empty), the
events that stream its parts and strings (in fragments of at most ``fragment_chars`` characters
when given) with their ``*.done`` events, ``output_item.done`` (the item as it is), and last the
terminal event of the response's status (``response.completed``, ``.incomplete`` or ``.failed``)
carrying the whole response. Which strings stream, and by which events, is read from the merge
rule table, so merging the stream gives back the response, and so do its deltas alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from .._schema import Model
from . import _rules as r
from . import models as m
from ._state import _get, _with

__all__ = ["replay_dicts", "replay_sse"]

_TERMINAL = {"incomplete": "response.incomplete", "failed": "response.failed"}


def _streamed() -> tuple[dict[str, list[tuple[tuple[str, ...], str, str]]], dict[str, tuple[str, str, str]]]:
    """From the rule table: per item type, the (path, event prefix, ``.done`` key) of its streamed
    strings; per part type, the (key, event prefix, ``.done`` key) of its text."""
    items: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    parts: dict[str, tuple[str, str, str]] = {}
    for kind, rule in r.EVENT_RULES.items():
        if not kind.endswith(".delta") or rule.ops[0].op is not r.CONCAT:
            continue
        prefix = kind[: -len(".delta")]
        done = r.EVENT_RULES[prefix + ".done"].ops[0].key
        if rule.slot == r.ITEM and rule.item_type is not None:
            items.setdefault(rule.item_type, []).append((rule.ops[0].path, prefix, done))
        elif rule.slot in (r.CONTENT, r.SUMMARY) and rule.part_type is not None:
            parts[rule.part_type] = (rule.ops[0].path[0], prefix, done)
    return items, parts


_ITEM_STRINGS, _PART_TEXT = _streamed()


def replay_dicts(
    response: m.Response | dict[str, Any], *, fragment_chars: int | None = None
) -> Iterator[dict[str, Any]]:
    """The events of ``response`` as plain dicts, numbered by ``sequence_number`` from 0."""
    if fragment_chars is not None and fragment_chars < 1:
        raise ValueError("fragment_chars must be at least 1")
    d = response.to_dict() if isinstance(response, Model) else response
    output = d.get("output") or []
    start = {k: v for k, v in d.items() if k not in ("output", "usage")}
    start.update(status="in_progress", output=[])
    events: list[dict[str, Any]] = [{"type": "response.created", "response": start}]
    for index, item in enumerate(output):
        events.extend(_item_events(index, item, fragment_chars))
    events.append({"type": _TERMINAL.get(d.get("status"), "response.completed"), "response": d})  # type: ignore[arg-type]
    for number, event in enumerate(events):
        event["sequence_number"] = number
        yield event


def replay_sse(
    response: m.Response | dict[str, Any], *, fragment_chars: int | None = None
) -> Iterator[bytes]:
    """The stream of ``response`` as server-sent events (``event:`` and ``data:`` lines), one
    ``bytes`` per event."""
    for event in replay_dicts(response, fragment_chars=fragment_chars):
        yield b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _item_events(index: int, item: dict[str, Any], size: int | None) -> Iterator[dict[str, Any]]:
    kind = item.get("type")
    streamed = [
        (path, prefix, done, _get(item, path))
        for path, prefix, done in (_ITEM_STRINGS.get(kind, ()) if isinstance(kind, str) else ())
    ]
    streamed = [s for s in streamed if isinstance(s[3], str)]
    lists = [key for key in ("content", "summary") if isinstance(item.get(key), list)]
    commands = _get(item, ("action", "commands")) if item.get("type") == "shell_call" else None
    first = dict(item)
    for path, _, _, _ in streamed:
        first = _with(first, path, "")
    for key in lists:
        first[key] = []
    if isinstance(commands, list):
        first = _with(first, ("action", "commands"), [])
    if "status" in item:
        first["status"] = "in_progress"
    where: dict[str, Any] = {"output_index": index}
    if isinstance(item.get("id"), str):
        where["item_id"] = item["id"]
    yield {"type": "response.output_item.added", "output_index": index, "item": first}
    for _path, prefix, done, text in streamed:
        for fragment in _fragments(text, size):
            yield {"type": prefix + ".delta", **where, "delta": fragment}
        yield {"type": prefix + ".done", **where, done: text}
    for key in lists:
        for j, part in enumerate(item[key]):
            yield from _part_events(key, {**where, f"{key}_index": j}, part, size)
    if isinstance(commands, list):
        for j, command in enumerate(commands):
            at = {"output_index": index, "command_index": j}
            yield {"type": "response.shell_call_command.added", **at, "command": ""}
            for fragment in _fragments(command if isinstance(command, str) else "", size):
                yield {"type": "response.shell_call_command.delta", **at, "delta": fragment}
            yield {"type": "response.shell_call_command.done", **at, "command": command}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _part_events(key: str, where: dict[str, Any], part: Any, size: int | None) -> Iterator[dict[str, Any]]:
    added, done = (
        ("response.content_part.added", "response.content_part.done")
        if key == "content"
        else ("response.reasoning_summary_part.added", "response.reasoning_summary_part.done")
    )
    kind = part.get("type") if isinstance(part, dict) else None
    text_rule = _PART_TEXT.get(kind) if isinstance(kind, str) else None
    if text_rule is None or not isinstance(part.get(text_rule[0]), str):
        yield {"type": added, **where, "part": part}
        yield {"type": done, **where, "part": part}
        return
    text_key, prefix, done_key = text_rule
    empty = {**part, text_key: ""}
    annotations = part.get("annotations")
    if isinstance(annotations, list):
        empty["annotations"] = []
    logprobs = part.get("logprobs")
    if isinstance(logprobs, list):
        empty["logprobs"] = []
    yield {"type": added, **where, "part": empty}
    fragments = _fragments(part[text_key], size)
    for i, fragment in enumerate(fragments):
        delta: dict[str, Any] = {"type": prefix + ".delta", **where, "delta": fragment}
        if isinstance(logprobs, list):
            delta["logprobs"] = logprobs if i == len(fragments) - 1 else []
        yield delta
    for k, annotation in enumerate(annotations if isinstance(annotations, list) else ()):
        yield {
            "type": "response.output_text.annotation.added",
            **where,
            "annotation_index": k,
            "annotation": annotation,
        }
    finished: dict[str, Any] = {"type": prefix + ".done", **where, done_key: part[text_key]}
    if isinstance(logprobs, list):
        finished["logprobs"] = logprobs
    yield finished
    yield {"type": done, **where, "part": part}


def _fragments(text: str, size: int | None) -> list[str]:
    if size is None or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]
