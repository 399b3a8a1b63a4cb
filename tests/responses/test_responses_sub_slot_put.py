"""An event that puts a list element below the item (a content part, a summary part, an
annotation) replaces the element at its index and keeps the others, whether the item's object
already held the list, held it shorter, or had it merged into since."""

from __future__ import annotations

from typing import Any

import orjson

import ssedelta
from ssedelta import responses


def _merged(backend: ssedelta.Backend, events: list[dict[str, Any]]) -> dict[str, Any]:
    merger = responses.merger_class(backend)()
    merger.feed(b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events))
    return merger.snapshot().to_dict()["output"][0]  # type: ignore[no-any-return]


def _text(text: str, *annotations: dict[str, Any]) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": list(annotations)}


def _item(*content: dict[str, Any]) -> dict[str, Any]:
    added = {"id": "m", "type": "message", "role": "assistant", "content": list(content)}
    return {"type": "response.output_item.added", "output_index": 0, "item": added}


def _part(index: int, part: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.content_part.added", "output_index": 0, "content_index": index, "part": part}


def _delta(index: int, delta: str) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "output_index": 0, "content_index": index, "delta": delta}


URL = {"type": "url_citation", "url": "https://a.example", "start_index": 0, "end_index": 1}
FILE = {"type": "file_citation", "file_id": "f", "index": 0}


def _annotation(index: int, annotation: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "response.output_text.annotation.added",
        "output_index": 0,
        "content_index": 0,
        "annotation_index": index,
        "annotation": annotation,
    }


def test_a_part_over_one_the_item_held(backend: ssedelta.Backend) -> None:
    item = _merged(backend, [_item(_text("a"), _text("b")), _part(1, _text("c"))])
    assert item["content"] == [_text("a"), _text("c")]


def test_a_part_past_the_end_and_deltas_into_it(backend: ssedelta.Backend) -> None:
    events = [_item(_text("a")), _delta(0, "+"), _part(2, _text("c")), _delta(2, "d"), _delta(0, "!")]
    item = _merged(backend, events)
    assert [part["text"] for part in item["content"]] == ["a+!", "cd"]


def test_a_part_over_one_merged_into(backend: ssedelta.Backend) -> None:
    item = _merged(backend, [_item(_text("a")), _delta(0, "+"), _part(0, _text("new"))])
    assert item["content"] == [_text("new")]


def test_annotations_over_the_held_ones(backend: ssedelta.Backend) -> None:
    events = [_item(_text("a", URL, URL)), _annotation(1, FILE), _annotation(3, FILE), _delta(0, "b")]
    item = _merged(backend, events)
    assert item["content"] == [_text("ab", URL, FILE, FILE)]
