"""The first delta after the event that put its item or part (an opened place), and the ``.done``
event that repeats the string the deltas built: both backends must agree, in every shape around
the fast paths (a starting string, a missing key, another spelling, an extra key, a snapshot in
between, more deltas after the ``.done``), and give the value the events say."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from test_responses_differential import outcome

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

SHORT = ['{"q":', ' "caf\u00e9', ' \\"x\\"', ' \U0001f6eb"}']
LONG = [f'{{"leg{k}": "LIS\\u2014NRT", "seat": "window \u00e9t\u00e9"}}\n' for k in range(30)]


def _event(kind: str, **fields: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def _raw(kind: str, payload: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def call_stream(fragments: list[str], variant: str) -> tuple[bytes, str]:
    """A function call whose arguments come in ``fragments``, its ``.done`` event shaped by
    ``variant``; and the arguments the merged item must hold."""
    whole = "".join(fragments)
    item: dict[str, Any] = {"id": "fc_1", "type": "function_call", "status": "in_progress", "arguments": ""}
    item.update(call_id="call_1", name="f")
    expected = whole
    if variant == "missing key":
        del item["arguments"]
    if variant == "starting string":
        item["arguments"] = "pre"
        expected = "pre" + whole
    at = {"item_id": "fc_1", "output_index": 0}
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=item))
    if variant != "no deltas":
        out += [_event("response.function_call_arguments.delta", **at, delta=f) for f in fragments]
    done: dict[str, Any] = {**at, "arguments": expected}
    if variant == "other string":
        done["arguments"] = expected = whole + "!"
    elif variant == "extra key":
        done["note"] = "x"
    elif variant == "other index":
        done["output_index"] = 1
    elif variant == "no deltas":
        expected = whole
        done["arguments"] = whole
    if variant == "other spelling":
        raw = orjson.dumps({"type": "response.function_call_arguments.done", **done})
        raw = raw.replace("\u00e9".encode(), b"\\u00e9").replace(b"LIS", b"\\u004cIS")
        out.append(_raw("response.function_call_arguments.done", raw))
    else:
        out.append(_event("response.function_call_arguments.done", **done))
    if variant == "deltas after done":
        out.append(_event("response.function_call_arguments.delta", **at, delta="+tail"))
        expected += "+tail"
    return b"".join(out), expected


def summary_stream(fragments: list[str], variant: str) -> tuple[bytes, str]:
    """A reasoning item whose second summary part comes in ``fragments`` (the ``.done`` event
    shaped by ``variant``); and the text that part must hold."""
    whole = "".join(fragments)
    item = {"id": "rs_1", "type": "reasoning", "summary": []}
    part: dict[str, Any] = {"type": "summary_text", "text": ""}
    expected = whole
    if variant == "missing key":
        del part["text"]
    if variant == "starting string":
        part["text"] = "pre"
        expected = "pre" + whole
    at = {"item_id": "rs_1", "output_index": 0, "summary_index": 1}
    out = [_event("response.output_item.added", output_index=0, item=item)]
    out.append(_event("response.reasoning_summary_part.added", **at, part=part))
    if variant != "no deltas":
        out += [
            _event("response.reasoning_summary_text.delta", **at, delta=f, obfuscation="ab")
            for f in fragments
        ]
    done: dict[str, Any] = {**at, "text": expected}
    if variant == "other string":
        done["text"] = expected = whole[:-1]
    elif variant == "extra key":
        done["obfuscation"] = "x"
    elif variant == "other index":
        done["summary_index"] = 0
    elif variant == "no deltas":
        expected = done["text"] = whole
    if variant == "other spelling":
        raw = orjson.dumps({"type": "response.reasoning_summary_text.done", **done}).replace(b"/", b"\\/")
        raw = raw.replace(b'"q', b'"\\u0071')
        out.append(_raw("response.reasoning_summary_text.done", raw))
    else:
        out.append(_event("response.reasoning_summary_text.done", **done))
    if variant == "deltas after done":
        out.append(_event("response.reasoning_summary_text.delta", **at, delta="+tail"))
        expected += "+tail"
    return b"".join(out), expected


VARIANTS = [
    "equal",
    "other string",
    "other spelling",
    "extra key",
    "other index",
    "missing key",
    "starting string",
    "no deltas",
    "deltas after done",
]


def _merged(backend: str, pieces: list[bytes], snapshots: bool) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    seen = []
    for piece in pieces:
        merger.feed(piece)
        if snapshots:
            seen.append(merger.snapshot().to_dict())
    return merger.finish().to_dict(), seen


@pytest.mark.parametrize("make", [call_stream, summary_stream], ids=["call", "summary"])
@pytest.mark.parametrize("fragments", [SHORT, LONG], ids=["short", "long"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_opened_places_and_done_events(make: Any, fragments: list[str], variant: str) -> None:
    data, expected = make(fragments, variant)
    rng = random.Random(variant)
    cuts = sorted(rng.sample(range(1, len(data)), 6))
    for pieces in ([data], [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]):
        native, twin = outcome("native", pieces), outcome("python", pieces)
        assert native == twin
    for snapshots in (False, True):
        events = [block + b"\n\n" for block in data.split(b"\n\n") if block]
        native, twin = (_merged(b, events, snapshots) for b in ("native", "python"))
        assert native == twin
    item = native[0]["output"][0]
    got = item["arguments"] if make is call_stream else item["summary"][-1]["text"]
    assert got == expected
