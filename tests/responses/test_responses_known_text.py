"""Events after a run of deltas that carry the string the deltas built (``*.done``, the terminal
response): the native merger parses them without that string, and must give what the twin gives,
whatever else the payload holds where that string appears."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from test_responses_differential import outcome

from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

FRAGMENTS = [f' word{k} caf\u00e9 \u2014 \U0001f6eb "quoted"\n' for k in range(40)]
TEXT = "".join(FRAGMENTS)
AT = {"item_id": "msg_1", "output_index": 0, "content_index": 0}


def _event(kind: str, **fields: Any) -> bytes:
    payload = orjson.dumps({"type": kind, **fields})
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def stream(done_text: str, extra: dict[str, Any] | None = None, raw_done: bytes | None = None) -> bytes:
    """A message whose text comes in deltas; ``output_text.done`` carries ``done_text`` (and
    ``extra`` keys), or is the payload ``raw_done``; then the item and the terminal response."""
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=item))
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    out.append(_event("response.content_part.added", **AT, part=part))
    out += [_event("response.output_text.delta", **AT, delta=f, logprobs=[]) for f in FRAGMENTS]
    if raw_done is not None:
        out.append(b"event: response.output_text.done\ndata: " + raw_done + b"\n\n")
    else:
        out.append(_event("response.output_text.done", **AT, text=done_text, logprobs=[], **(extra or {})))
    done_item = {**item, "status": "completed", "content": [{**part, "text": done_text}], **(extra or {})}
    out.append(_event("response.output_item.done", output_index=0, item=done_item))
    return b"".join(out)


def both(data: bytes) -> Any:
    pieces = [data[i : i + 700] for i in range(0, len(data), 700)]
    native, twin = outcome("native", pieces), outcome("python", pieces)
    assert native == twin
    return native


def test_the_done_text_equal_to_the_deltas() -> None:
    result = both(stream(TEXT))
    assert result[0] == "ok"
    assert result[1]["output"][0]["content"][0]["text"] == TEXT


@pytest.mark.parametrize("change", [TEXT[:-1], TEXT + "!", TEXT.replace("word7", "word8"), ""])
def test_a_done_text_that_differs_replaces_it(change: str) -> None:
    result = both(stream(change))
    assert result[1]["output"][0]["content"][0]["text"] == change


@pytest.mark.parametrize(
    "extra",
    [
        {"copy": TEXT},  # the same string twice
        {TEXT: 1},  # as a key
        {"nested": {TEXT: [TEXT]}},
        {"wrapped": '"' + TEXT + '"'},  # inside a longer string, between escaped quotes
        {"mark": "ssedelta-known"},
        {"mark": "\x00ssedelta-known"},
    ],
)
def test_the_string_elsewhere_in_the_payload(extra: dict[str, Any]) -> None:
    result = both(stream(TEXT, extra))
    assert result[0] == "ok"
    content = result[1]["output"][0]
    assert content["content"][0]["text"] == TEXT
    assert {k: content[k] for k in extra} == extra


def test_escaped_differently_is_parsed_as_it_is() -> None:
    done = orjson.dumps({"type": "response.output_text.done", **AT, "text": TEXT, "logprobs": []})
    escaped = done.replace("\u00e9".encode(), b"\\u00e9")
    assert escaped != done
    result = both(stream(TEXT, raw_done=escaped))
    assert result[1]["output"][0]["content"][0]["text"] == TEXT


@pytest.mark.parametrize(
    "raw_done",
    [
        # the string as a value, then the payload broken after it
        orjson.dumps({"type": "response.output_text.done", **AT, "text": TEXT})[:-1] + b",}",
        # invalid UTF-8 outside the string
        orjson.dumps({"type": "response.output_text.done", **AT, "text": TEXT, "x": "a"}).replace(
            b'"a"', b'"\xff"'
        ),
        # the string where a key goes
        orjson.dumps({"type": "response.output_text.done", **AT, TEXT: "text"}),
    ],
)
def test_bad_or_odd_payloads_holding_the_string(raw_done: bytes) -> None:
    both(stream(TEXT, raw_done=raw_done))


@pytest.mark.parametrize(
    "first",
    [{"wrapped": '"' + TEXT + '"'}, {TEXT: 1}, {"nested": {TEXT: [TEXT]}}, {"list": [TEXT, TEXT]}],
)
def test_the_string_elsewhere_before_the_text(first: dict[str, Any]) -> None:
    done = orjson.dumps({"type": "response.output_text.done", **first, **AT, "text": TEXT, "logprobs": []})
    result = both(stream(TEXT, raw_done=done))
    assert result[0] == "ok"
    assert result[1]["output"][0]["content"][0]["text"] == TEXT
