"""The event that puts a value again once its string is streamed (``reasoning_summary_part.done``,
``content_part.done``, ``output_item.done``): when it carries the value the events built, the
native merger leaves the state as it is; in every other shape it merges it as the twin does. Both
backends must agree, whole and in pieces, with snapshots taken in between or not, and give the
value the events say."""

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

SHORT = ["caf\u00e9 ", '\\"x\\" ', "\U0001f6eb\n"]
LONG = [f'leg{k} LIS\u2014NRT, window \u00e9t\u00e9 / "seat"\n' for k in range(30)]


def _event(kind: str, **fields: Any) -> bytes:
    return _raw(kind, orjson.dumps({"type": kind, **fields}))


def _raw(kind: str, payload: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def _put_done(kind: str, fields: dict[str, Any], key: str, value: dict[str, Any], variant: str) -> bytes:
    """The ``.done`` event putting ``value`` at ``key``, shaped by ``variant``."""
    value = dict(value)
    fields = dict(fields)
    if variant == "other field":
        value["status" if key == "item" else "type"] = "changed"
    elif variant == "other field after":
        value["name" if key == "item" else "lang"] = "g" if key == "item" else "fr"
    elif variant == "other put text":
        value["arguments" if key == "item" else "text"] += "!"
    elif variant == "extra value key":
        value["note"] = "x"
    elif variant == "keys reordered":
        value = dict(reversed(list(value.items())))
    elif variant == "extra event key":
        fields["note"] = "x"
    elif variant == "error key":
        fields["error"] = {"message": "boom"}
    elif variant == "other index":
        fields["output_index"] = 1
    elif variant == "item_id not a string":
        fields["item_id"] = 7
    payload = orjson.dumps({"type": kind, **fields, key: value})
    if variant == "spaced":
        payload = payload.replace(b'","', b'", "')
    elif variant == "escaped":
        payload = payload.replace(b"caf\xc3\xa9", b"caf\\u00e9").replace(b"leg1 ", b"\\u006ceg1 ")
    elif variant == "value key twice":
        text_key = b'"text":' if key == "part" else b'"arguments":'
        payload = payload.replace(text_key, text_key + b'"",' + text_key, 1)
    return _raw(kind, payload)


def summary_stream(fragments: list[str], variant: str) -> tuple[bytes, str]:
    """A reasoning item whose second summary part comes in ``fragments``, then its
    ``reasoning_summary_part.done`` shaped by ``variant``; and the text that part must hold."""
    whole = "".join(fragments)
    item = {"id": "rs_1", "type": "reasoning", "summary": []}
    part: dict[str, Any] = {"type": "summary_text", "text": ""}
    expected = whole
    if variant == "starting string":
        part["text"] = "pre"
        expected = "pre" + whole
    if variant == "other field after":
        part["lang"] = "en"
    at = {"item_id": "rs_1", "output_index": 0, "summary_index": 1}
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=item))
    out.append(_event("response.reasoning_summary_part.added", **at, part=part))
    if variant != "no deltas":
        out += [
            _event("response.reasoning_summary_text.delta", **at, delta=f, obfuscation="ab")
            for f in fragments
        ]
    done_text = expected if variant != "no deltas" else whole
    expected = done_text
    if variant == "other text":
        done_text = expected = whole + "!"
    if variant != "no text done":
        out.append(_event("response.reasoning_summary_text.done", **at, text=done_text))
    if variant == "other put text":
        expected = done_text + "!"
    out.append(
        _put_done("response.reasoning_summary_part.done", at, "part", {**part, "text": done_text}, variant)
    )
    if variant == "deltas after done":
        out.append(_event("response.reasoning_summary_text.delta", **at, delta="+tail", obfuscation="ab"))
        expected += "+tail"
    return b"".join(out), expected


def call_stream(fragments: list[str], variant: str) -> tuple[bytes, str]:
    """A function call whose arguments come in ``fragments``, then its ``output_item.done`` (the
    item as added, with the arguments) shaped by ``variant``; and the arguments it must hold."""
    whole = "".join(fragments)
    item: dict[str, Any] = {"id": "fc_1", "type": "function_call", "status": "completed", "arguments": ""}
    item.update(call_id="call_1", name="f")
    expected = whole
    if variant == "starting string":
        item["arguments"] = "pre"
        expected = "pre" + whole
    at = {"item_id": "fc_1", "output_index": 0}
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=item))
    if variant != "no deltas":
        out += [_event("response.function_call_arguments.delta", **at, delta=f) for f in fragments]
    done_text = expected if variant != "no deltas" else whole
    expected = done_text
    if variant == "other text":
        done_text = expected = whole[:-1]
    if variant != "no text done":
        out.append(_event("response.function_call_arguments.done", **at, arguments=done_text))
    fields: dict[str, Any] = {"output_index": 0}
    if variant == "other put text":
        expected = done_text + "!"
    out.append(
        _put_done("response.output_item.done", fields, "item", {**item, "arguments": done_text}, variant)
    )
    if variant == "deltas after done":
        out.append(_event("response.function_call_arguments.delta", **at, delta="+tail"))
        expected += "+tail"
    return b"".join(out), expected


LOGPROB = {"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}


def message_stream(fragments: list[str], variant: str) -> tuple[bytes, str]:
    """A message whose text comes in ``fragments``, then ``output_text.done`` (its ``logprobs``
    shaped by ``variant`` too) and ``content_part.done`` shaped by ``variant``; and the text."""
    whole = "".join(fragments)
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    part: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    expected = whole
    if variant == "starting string":
        part["text"] = "pre"
        expected = "pre" + whole
    elif variant == "other field after":
        part["lang"] = "en"
    elif variant == "part without logprobs":
        del part["logprobs"]
    elif variant == "part logprobs null":
        part["logprobs"] = None
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=item))
    out.append(_event("response.content_part.added", **at, part=part))
    logprobs = [LOGPROB] if variant == "delta logprobs" else []
    if variant != "no deltas":
        out += [_event("response.output_text.delta", **at, delta=f, logprobs=logprobs) for f in fragments]
    done_text = expected if variant != "no deltas" else whole
    expected = done_text
    if variant == "other text":
        done_text = expected = whole + "!"
    done: dict[str, Any] = {**at, "text": done_text, "logprobs": []}
    if variant == "done logprobs null":
        done["logprobs"] = None
    elif variant == "done logprobs missing":
        del done["logprobs"]
    elif variant == "done logprobs":
        done["logprobs"] = [LOGPROB]
    elif variant == "done logprobs spaced":
        done["logprobs"] = "SPACED"
    if variant != "no text done":
        payload = orjson.dumps({"type": "response.output_text.done", **done})
        out.append(_raw("response.output_text.done", payload.replace(b'"SPACED"', b"[ ]")))
    if variant == "other put text":
        expected = done_text + "!"
    merged = {**part, "text": done_text}
    if variant == "done logprobs":
        merged["logprobs"] = [LOGPROB]
    out.append(_put_done("response.content_part.done", at, "part", merged, variant))
    if variant == "deltas after done":
        out.append(_event("response.output_text.delta", **at, delta="+tail", logprobs=[]))
        expected += "+tail"
    return b"".join(out), expected


VARIANTS = [
    "equal",
    "other text",
    "other field",
    "other field after",
    "other put text",
    "extra value key",
    "keys reordered",
    "extra event key",
    "error key",
    "other index",
    "item_id not a string",
    "spaced",
    "escaped",
    "value key twice",
    "starting string",
    "no deltas",
    "no text done",
    "deltas after done",
]
MESSAGE_VARIANTS = [
    "part without logprobs",
    "part logprobs null",
    "delta logprobs",
    "done logprobs null",
    "done logprobs missing",
    "done logprobs",
    "done logprobs spaced",
]


def _merged(backend: str, pieces: list[bytes], snapshots: bool) -> Any:
    merger = responses.merger_class(ssedelta.get_backend(backend))()
    seen = []
    try:
        for piece in pieces:
            merger.feed(piece)
            if snapshots:
                seen.append(merger.snapshot().to_dict())
        return merger.finish().to_dict(), seen
    except ssedelta.UpstreamError as exc:
        return exc.error, exc.partial.to_dict(), seen


CASES = [
    *((make, v) for make in (summary_stream, call_stream, message_stream) for v in VARIANTS),
    *((message_stream, v) for v in MESSAGE_VARIANTS),
]


@pytest.mark.parametrize("fragments", [SHORT, LONG], ids=["short", "long"])
@pytest.mark.parametrize(("make", "variant"), CASES, ids=[f"{m.__name__}-{v}" for m, v in CASES])
def test_put_done_events(make: Any, fragments: list[str], variant: str) -> None:
    data, expected = make(fragments, variant)
    rng = random.Random(variant)
    cuts = sorted(rng.sample(range(1, len(data)), 6))
    for pieces in ([data], [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]):
        assert outcome("native", pieces) == outcome("python", pieces)
    events = [block + b"\n\n" for block in data.split(b"\n\n") if block]
    for snapshots in (False, True):
        native, twin = (_merged(b, events, snapshots) for b in ("native", "python"))
        assert native == twin
    result = native[-2] if variant == "error key" else native[0]
    item = result["output"][0]
    if variant == "other index":
        assert len(result["output"]) == 2
    if make is call_stream:
        assert item["arguments"] == expected
        assert item["status"] == ("changed" if variant == "other field" else "completed")
        assert item["name"] == ("g" if variant == "other field after" else "f")
    elif make is message_stream:
        part = item["content"][0]
        assert part["text"] == expected
        assert part["type"] == ("changed" if variant == "other field" else "output_text")
        assert part.get("lang") == ("fr" if variant == "other field after" else None)
        logprobs = {"part without logprobs": None, "part logprobs null": None, "done logprobs": [LOGPROB]}
        assert part.get("logprobs") == logprobs.get(variant, [])
    else:
        part = item["summary"][-1]
        assert part["text"] == expected
        assert part["type"] == ("changed" if variant == "other field" else "summary_text")
        assert part.get("lang") == ("fr" if variant == "other field after" else None)


def test_an_equal_part_done_keeps_the_merged_part() -> None:
    """The path is taken: after an equal ``reasoning_summary_part.done`` the native state still
    holds the part the deltas built (the twin puts a new one); the results are equal."""
    data, expected = summary_stream(LONG, "equal")
    events = [block + b"\n\n" for block in data.split(b"\n\n") if block]
    kept = []
    for backend in ("native", "python"):
        merger = responses.merger_class(ssedelta.get_backend(backend))()
        for block in events[:-1]:
            merger.feed(block)
        merger.snapshot()
        before = merger._items[0].lists[("summary",)][1]
        merger.feed(events[-1])
        kept.append(merger._items[0].lists[("summary",)][1] is before)
        assert merger.finish().output[0].summary[-1].text == expected
    assert kept == [True, False]


def _generated(rng: random.Random) -> bytes:
    """A reasoning item with a few summary parts, each part's events in a random shape (one of
    them sometimes repeated somewhere among them)."""
    out = [_event("response.created", response={"id": "r", "status": "in_progress", "output": []})]
    out.append(
        _event(
            "response.output_item.added",
            output_index=0,
            item={"id": "rs", "type": "reasoning", "summary": []},
        )
    )
    for k in range(rng.randint(1, 3)):
        variant = rng.choice(VARIANTS)
        data, _ = summary_stream(rng.choice([SHORT, LONG])[: rng.randint(0, 30)] or ["x"], variant)
        blocks = [b + b"\n\n" for b in data.split(b"\n\n") if b][2:]  # without created / item added
        blocks = [b.replace(b'"summary_index":1', b'"summary_index":%d' % k) for b in blocks]
        if rng.random() < 0.3:
            blocks.insert(rng.randrange(len(blocks) + 1), blocks[rng.randrange(len(blocks))])
        out += blocks
    out.append(_event("response.completed", response={"id": "r", "status": "completed"}))
    return b"".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_generated_streams_agree(seed: int) -> None:
    rng = random.Random(seed)
    data = _generated(rng)
    for size in (1 << 20, rng.randint(20, 400)):
        pieces = [data[i : i + size] for i in range(0, len(data), size)]
        assert outcome("native", pieces) == outcome("python", pieces)
