"""Merge rules, errors, bad input, replay and usage of Messages streams, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from anthropic_corpus import STREAMS, body, payloads

import ssedelta
from ssedelta import anthropic as sa

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    },
}
END = [
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 5},
    },
    {"type": "message_stop"},
]


def ev(obj: dict[str, Any] | str, name: str | None = None) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj)
    name = name if name is not None else (obj["type"] if isinstance(obj, dict) else None)
    head = b"event: " + name.encode() + b"\n" if name else b""
    return head + b"data: " + data.encode() + b"\n\n"


def stream(*objs: dict[str, Any] | str | bytes) -> bytes:
    return b"".join(o if isinstance(o, bytes) else ev(o) for o in objs)


def start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **d: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": d}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def text_block(index: int, *parts: str) -> list[dict[str, Any]]:
    return [
        start(index, {"type": "text", "text": ""}),
        *(delta(index, type="text_delta", text=p) for p in parts),
        stop(index),
    ]


def fns(backend: ssedelta.Backend) -> sa.Functions:
    return sa.for_backend(backend)


def offset_of(data: bytes, marker: bytes) -> int:
    """The offset of the ``data:`` value of the event that contains ``marker``."""
    return data.rindex(b"data: ", 0, data.index(marker)) + 6


# ------------------------------------------------------------------ merge rules


def test_blocks_are_keyed_by_index_and_sparse(backend: ssedelta.Backend) -> None:
    data = stream(START, *text_block(5, "five"), *text_block(0, "zero"), *text_block(2, "two", "!"), *END)
    message = fns(backend).merge(data)
    assert [b.text for b in message.content] == ["zero", "two!", "five"]
    assert message.stop_reason == "end_turn"
    assert message.usage == sa.Usage(input_tokens=10, output_tokens=5)


def test_interleaved_blocks(backend: ssedelta.Backend) -> None:
    data = stream(
        START,
        start(0, {"type": "text", "text": ""}),
        start(1, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, type="text_delta", text="a"),
        delta(1, type="thinking_delta", thinking="x"),
        delta(0, type="text_delta", text="b"),
        delta(1, type="signature_delta", signature="s1"),
        delta(1, type="signature_delta", signature="s2"),
        stop(0),
        stop(1),
        *END,
    )
    text, thinking = fns(backend).merge(data).content
    assert text == sa.TextBlock(text="ab", type="text")
    assert thinking == sa.ThinkingBlock(thinking="x", signature="s2", type="thinking")


def test_citations_are_appended(backend: ssedelta.Backend) -> None:
    cite = {
        "type": "char_location",
        "cited_text": "c",
        "document_index": 0,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    odd = {"type": "a_future_location", "where": 3}
    data = stream(
        START,
        start(0, {"type": "text", "text": ""}),
        delta(0, type="citations_delta", citation=cite),
        delta(0, type="citations_delta", citation=odd),
        delta(0, type="text_delta", text="t"),
        stop(0),
        *END,
    )
    (block,) = fns(backend).merge(data).content
    assert block.citations == [sa.CitationCharLocation.from_dict(cite), sa.UnknownCitation.from_dict(odd)]
    assert block.to_dict() == {"type": "text", "text": "t", "citations": [cite, odd]}


def test_tool_input_of_every_tool_block_kind(backend: ssedelta.Backend) -> None:
    blocks = []
    for i, kind in enumerate(["tool_use", "server_tool_use", "mcp_tool_use"]):
        blocks += [
            start(i, {"type": kind, "id": f"t{i}", "name": "f", "input": {}}),
            delta(i, type="input_json_delta", partial_json=""),
            delta(i, type="input_json_delta", partial_json='{"a": "x\\'),
            delta(i, type="input_json_delta", partial_json='"y", "n": [1, 2'),
            delta(i, type="input_json_delta", partial_json="]}"),
            stop(i),
        ]
    message = fns(backend).merge(stream(START, *blocks, *END))
    assert [b.input for b in message.content] == [{"a": 'x"y', "n": [1, 2]}] * 3


def test_tool_without_parameters_keeps_its_start_input(backend: ssedelta.Backend) -> None:
    data = stream(
        START,
        start(0, {"type": "tool_use", "id": "t", "name": "now", "input": {}}),
        delta(0, type="input_json_delta", partial_json=""),
        stop(0),
        *END,
    )
    assert fns(backend).merge(data).content[0].input == {}


@pytest.mark.parametrize("text", ['{"a": 1', "[1, 2]", '"just text"', "nul"])
def test_tool_input_that_is_not_a_json_object_stays_text(backend: ssedelta.Backend, text: str) -> None:
    data = stream(
        START,
        start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        delta(0, type="input_json_delta", partial_json=text[:2]),
        delta(0, type="input_json_delta", partial_json=text[2:]),
        stop(0),
        *END,
    )
    assert fns(backend).merge(data).content[0].input == text


def test_unknown_block_and_delta_types_are_kept(backend: ssedelta.Backend) -> None:
    data = stream(
        START,
        start(0, {"type": "hologram", "frames": 2, "caption": "a"}),
        delta(0, type="caption_delta", caption="b", frames=3),
        stop(0),
        {"type": "a_future_event", "x": 1},
        *END,
    )
    (block,) = fns(backend).merge(data).content
    assert isinstance(block, sa.UnknownBlock)
    assert block.to_dict() == {"type": "hologram", "frames": 3, "caption": "ab"}


def test_pings_and_events_without_an_event_line(backend: ssedelta.Backend) -> None:
    """The SDK skips every event without an ``event:`` line (a server or proxy that sends only
    ``data:`` lines gives it nothing); the payload's ``type`` says what an event is, so ours merges it."""
    objs = [START, *text_block(0, "a", "b"), *END]
    data = b"".join(b"data: " + json.dumps(o).encode() + b"\n\n" + ev({"type": "ping"}) for o in objs)
    assert fns(backend).merge(data).content[0].text == "ab"


def test_message_delta_replaces_and_never_adds(backend: ssedelta.Backend) -> None:
    first = dict(
        START,
        message=dict(
            START["message"],
            usage={
                "input_tokens": 5,
                "cache_read_input_tokens": 100,
                "output_tokens": 1,
                "service_tier": "standard",
            },
        ),
    )
    d1 = {
        "type": "message_delta",
        "delta": {"stop_reason": "pause_turn", "container": {"id": "c"}},
        "usage": {"output_tokens": 7, "cache_read_input_tokens": 0},
    }
    d2 = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "container": None},
        "usage": {"output_tokens": 9, "input_tokens": None},
    }
    message = fns(backend).merge(stream(first, d1, d2, {"type": "message_stop"}))
    assert message.usage.to_dict() == {
        "input_tokens": 5,
        "cache_read_input_tokens": 0,
        "output_tokens": 9,
        "service_tier": "standard",
    }
    assert message.stop_reason == "end_turn"
    assert message.container == {"id": "c"}
    assert message.stop_details is None


def test_nothing_after_message_stop_is_read(backend: ssedelta.Backend) -> None:
    data = stream(START, *text_block(0, "a"), *END) + b"data: not json\n\n"
    merger = fns(backend).MessagesMerger()
    assert merger.feed(data) == 6
    assert merger.done
    assert (merger.merged, merger.events) == (6, 7)  # the last event was read, not merged
    assert merger.feed(b"data: {}\n\n") == 0
    assert merger.finish().content[0].text == "a"


def test_snapshot_before_anything(backend: ssedelta.Backend) -> None:
    merger = fns(backend).MessagesMerger()
    assert merger.snapshot().content == []
    merger.feed(ev(START)[:20])
    assert merger.snapshot().id is None


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 7):
        yield data[i : i + 7]


@pytest.mark.parametrize("name", STREAMS[:5])
def test_async_functions(backend: ssedelta.Backend, name: str) -> None:
    async def run() -> tuple[Any, list[Any]]:
        message = await fns(backend).amerge(_chunks(body(name)))
        events = [e async for e in fns(backend).aiter_events(_chunks(body(name)))]
        return message, events

    message, events = asyncio.run(run())
    assert message == fns(backend).merge(body(name))
    assert [e.to_dict() for e in events] == payloads(name)


def test_module_functions_use_the_selected_backend() -> None:
    name = STREAMS[0]
    assert sa.merge(body(name)) == sa.for_backend(ssedelta.get_backend("python")).merge(body(name))
    assert sa.MessagesMerger.sse_class is ssedelta.SSEDecoder
    assert len(list(sa.iter_events(body(name)))) == len(payloads(name))


# ------------------------------------------------------------------ error events


ERROR = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
    "request_id": "req_1",
}


def test_error_event_raises_with_the_partial_message(backend: ssedelta.Backend) -> None:
    prefix = stream(START, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Hel"))
    data = prefix + ev(ERROR) + stream(delta(0, type="text_delta", text="lo"), stop(0), *END)
    merger = fns(backend).MessagesMerger()
    merger.feed(data)
    assert merger.done
    assert merger.snapshot().content[0].text == "Hel"  # never raises
    with pytest.raises(ssedelta.UpstreamError) as info:
        merger.finish()
    assert info.value.error == ERROR["error"]
    assert info.value.offset == len(prefix) + len(b"event: error\ndata: ")
    assert info.value.event_index == 3
    assert info.value.partial == fns(backend).MessagesMerger().snapshot().__class__.from_dict(
        {**{k: v for k, v in START["message"].items()}, "content": [{"type": "text", "text": "Hel"}]}
    )
    assert info.value.chunk == sa.ErrorResponse.from_dict(ERROR)
    assert str(info.value) == "Overloaded"
    with pytest.raises(ssedelta.UpstreamError):
        fns(backend).merge(data)


@pytest.mark.parametrize("payload", ["Internal server error", "[1]"])
def test_error_event_without_an_object(backend: ssedelta.Backend, payload: str) -> None:
    data = stream(START, ev(payload, "error"))
    with pytest.raises(ssedelta.UpstreamError) as info:
        fns(backend).merge(data)
    assert info.value.error == {"message": payload}
    assert info.value.partial.id == "msg_1"


def test_iter_events_raises_after_the_events_before_the_error(backend: ssedelta.Backend) -> None:
    data = stream(START, *text_block(0, "a"), ERROR, *END)
    seen = []
    with pytest.raises(ssedelta.UpstreamError) as info:
        for event in fns(backend).iter_events(data):
            seen.append(event)
    assert [e.type for e in seen] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    ]
    assert info.value.chunk == sa.ErrorResponse.from_dict(ERROR)


# ------------------------------------------------------------------ bad input


BAD = [
    ("not json", b"data: {nope\n\n", ssedelta.InvalidJSONError),
    ("array", b"data: [1, 2]\n\n", ssedelta.InvalidChunkError),
    ("index not int", ev(delta("0", type="text_delta", text="x")), ssedelta.InvalidChunkError),  # type: ignore[arg-type]
    ("no such block", ev(delta(7, type="text_delta", text="x")), ssedelta.InvalidChunkError),
    ("text not str", ev(delta(0, type="text_delta", text=5)), ssedelta.InvalidChunkError),
    ("citation not object", ev(delta(0, type="citations_delta", citation="c")), ssedelta.InvalidChunkError),
    (
        "delta not object",
        ev({"type": "content_block_delta", "index": 0, "delta": "x"}),
        ssedelta.InvalidChunkError,
    ),
    ("second start", ev(start(0, {"type": "text", "text": ""})), ssedelta.InvalidChunkError),
    ("block not object", ev(start(3, "text")), ssedelta.InvalidChunkError),  # type: ignore[arg-type]
    (
        "usage wrong type",
        ev({"type": "message_delta", "delta": {}, "usage": {"output_tokens": "5"}}),
        ssedelta.InvalidChunkError,
    ),
    ("second message_start", ev(START), ssedelta.InvalidChunkError),
]


@pytest.mark.parametrize(("label", "bad", "error"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_typed_error_with_its_offset(
    backend: ssedelta.Backend, label: str, bad: bytes, error: type[Exception]
) -> None:
    prefix = stream(START, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="ok"))
    data = prefix + bad + stream(delta(0, type="text_delta", text="more"), stop(0), *END)
    for size in (len(data), 1, 5):
        merger = fns(backend).MessagesMerger()
        with pytest.raises(error) as info:
            for i in range(0, len(data), size):
                merger.feed(data[i : i + size])
        assert info.value.offset == len(prefix) + bad.index(b"data: ") + 6
        assert info.value.event_index == 3
        assert merger.snapshot().content[0].text == "ok"  # the events before it, nothing of it
        with pytest.raises(error):
            merger.feed(b"")
        with pytest.raises(error):
            merger.finish()
    with pytest.raises(error):
        fns(backend).merge(data)


def test_delta_after_its_block_stopped(backend: ssedelta.Backend) -> None:
    data = stream(START, *text_block(0, "a"), delta(0, type="text_delta", text="late"), *END)
    with pytest.raises(ssedelta.InvalidChunkError) as info:
        fns(backend).merge(data)
    assert info.value.offset == offset_of(data, b"late")


def test_text_onto_a_field_that_is_not_text(backend: ssedelta.Backend) -> None:
    data = stream(
        START,
        start(0, {"type": "text", "text": "", "citations": []}),
        delta(0, type="odd_delta", citations="x"),
        *END,
    )
    with pytest.raises(ssedelta.InvalidChunkError):
        fns(backend).merge(data)


def test_event_size_limit(backend: ssedelta.Backend) -> None:
    data = stream(START, *text_block(0, "x" * 5000), *END)
    with pytest.raises(ssedelta.EventTooLargeError):
        fns(backend).merge(data, max_event_size=1000)


def test_invalid_utf8_is_read_with_replacement(backend: ssedelta.Backend) -> None:
    bad = b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\xffb"}}\n\n'
    data = stream(START, start(0, {"type": "text", "text": ""})) + bad + stream(stop(0), *END)
    assert fns(backend).merge(data).content[0].text == "a\ufffdb"


# ------------------------------------------------------------------ replay


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.parametrize("fragment_chars", [None, 7])
def test_replay_merges_back_to_an_equal_message(
    backend: ssedelta.Backend, name: str, fragment_chars: int | None
) -> None:
    message = fns(backend).merge(body(name))
    replayed = b"".join(sa.replay_sse(message, fragment_chars=fragment_chars))
    again = fns(backend).merge(replayed)
    assert again == message
    assert again.usage == message.usage


def test_replay_fragments() -> None:
    message = sa.Message.from_dict(
        {
            **START["message"],
            "content": [
                {"type": "text", "text": "abcdefghij"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {"k": 1}},
            ],
        }
    )
    events = list(sa.replay_dicts(message, fragment_chars=4))
    texts = [e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"]
    assert texts == ["abcd", "efgh", "ij"]
    jsons = [
        e["delta"]["partial_json"] for e in events if e.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert "".join(jsons) == '{"k":1}'
    assert next(e["type"] for e in events) == "message_start"
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]
    with pytest.raises(ValueError):
        list(sa.replay_dicts(message, fragment_chars=0))


# ------------------------------------------------------------------ normalised usage


def test_normalised_usage_counts_every_input_token(backend: ssedelta.Backend) -> None:
    name = "traceloop-openllmetry__sonnet35_prompt_cache_read"
    message = fns(backend).merge(body(name))
    u = payloads(name)[0]["message"]["usage"]
    out = next(o for o in payloads(name) if o["type"] == "message_delta")["usage"]["output_tokens"]
    assert u["cache_read_input_tokens"] > 0
    usage = ssedelta.Usage.of(message)
    total_in = u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
    assert usage == ssedelta.Usage(
        format="anthropic",
        input_tokens=total_in,
        output_tokens=out,
        cached_input_tokens=u["cache_read_input_tokens"],
        cache_write_input_tokens=u["cache_creation_input_tokens"],
        reasoning_tokens=None,
        total_tokens=total_in + out,
    )
    assert usage.original is message.usage


def test_normalised_usage_of_the_oldest_shape(backend: ssedelta.Backend) -> None:
    message = fns(backend).merge(body("traceloop-openllmetry__haiku3_legacy_usage"))
    usage = ssedelta.Usage.of(message)
    assert usage.cached_input_tokens is None and usage.cache_write_input_tokens is None
    assert usage.input_tokens == message.usage.input_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_normalised_usage_without_usage() -> None:
    assert ssedelta.Usage.of(sa.Message()) is None


# ------------------------------------------------------------------ the byte-level path of frequent deltas


def api_bytes(obj: dict[str, Any], pad: int) -> bytes:
    """``obj`` as the API writes it: compact JSON, ``pad`` spaces before the closing brace."""
    payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return ev(payload[:-1] + " " * pad + "}", obj["type"])


def test_any_spelling_of_the_frequent_deltas_merges_the_same(backend: ssedelta.Backend) -> None:
    texts = ["a", "", "}", '"}}', "\\", "\n", "é東🙂", "a} }", " " * 3]
    fragments = ['{"k', '": "', "v}", '"}', ""]
    objs = [
        START,
        start(0, {"type": "text", "text": ""}),
        *(delta(0, type="text_delta", text=t) for t in texts),
        stop(0),
        start(1, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        *(delta(1, type="input_json_delta", partial_json=f) for f in fragments),
        stop(1),
        *END,
    ]
    compact = b"".join(api_bytes(o, pad) for pad, o in enumerate(objs))
    spaced = b"".join(ev(json.dumps(o)) for o in objs)
    reordered = b"".join(ev(json.dumps(dict(reversed(o.items())))) for o in objs)
    results = [fns(backend).merge(data) for data in (compact, spaced, reordered)]
    assert results[0].content[0].text == "".join(texts)
    assert results[0].content[1].input == {"k": "v}"}
    assert results[0] == results[1] == results[2]


NEAR_MISSES = [
    # (payload after the text block's first delta, the text it adds or None for an error)
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b"}\t}', "b"),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b" }  }', "b"),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b","x":"c"}  }', "b"),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b"},"y":1}', "b"),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}  }', None),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b}  }', None),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b"}', None),
    (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\xff"}  }', "\ufffd"),
    (b'{"type":"content_block_delta","index":00,"delta":{"type":"text_delta","text":"b"}  }', None),
]


@pytest.mark.parametrize(("payload", "adds"), NEAR_MISSES)
def test_payloads_that_almost_look_like_the_frequent_delta(
    backend: ssedelta.Backend, payload: bytes, adds: str | None
) -> None:
    head = stream(START, start(0, {"type": "text", "text": ""})) + api_bytes(
        delta(0, type="text_delta", text="a"), 3
    )
    data = head + b"event: content_block_delta\ndata: " + payload + b"\n\n" + stream(stop(0), *END)
    if adds is None:
        with pytest.raises(ssedelta.StreamFormatError) as info:
            fns(backend).merge(data)
        assert info.value.offset == len(head) + len(b"event: content_block_delta\ndata: ")
    else:
        assert fns(backend).merge(data).content[0].text == "a" + adds


def test_a_long_tool_input_is_parsed_once_and_snapshots_hold_its_text(
    backend: ssedelta.Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool_input = {"items": [{"n": i, "s": f'value {i} \u00e9"\\'} for i in range(400)]}
    text = json.dumps(tool_input)
    fragments = [text[i : i + 5] for i in range(0, len(text), 5)]
    assert len(fragments) > 2000
    parsed: list[str] = []

    def counting(data: str | bytes) -> Any:
        parsed.append(data if type(data) is str else data.decode())  # the native core's are UTF-8 bytes
        return orjson.loads(data)

    monkeypatch.setattr(sa._state, "parse_input", counting)
    merger = fns(backend).MessagesMerger()
    merger.feed(stream(START, start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}})))
    for n, fragment in enumerate(fragments, 1):
        merger.feed(api_bytes(delta(0, type="input_json_delta", partial_json=fragment), n % 9))
        if n % 500 == 0:
            assert merger.snapshot().content[0].input == "".join(fragments[:n])
    assert parsed == []
    merger.feed(stream(stop(0), *END))
    assert parsed == [text]
    assert merger.finish().content[0].input == tool_input
    assert len(parsed) == 1


@pytest.mark.parametrize(
    ("odd_delta", "fails"),
    [
        ({"type": "odd_delta", "note": "more", "tags": "x"}, True),  # text onto a list
        ({"type": "odd_delta", "label": "more", "note": 5}, False),  # a number replaces
        ({"type": "citations_delta", "citation": {"type": "char_location"}, "note": "s"}, False),
        ({"type": "citations_delta", "note": "s", "label": {"type": "x"}}, False),
        ({"type": "citations_delta", "note": "s", "citation": {"type": "x"}, "tags": 5, "label": []}, False),
        ({"type": "citations_delta", "note": "s", "citation": "c"}, False),  # unknown block: kept as sent
        ({"type": "text_delta", "note": "s", "text": 5}, True),
    ],
)
def test_a_delta_that_fails_changes_nothing(
    backend: ssedelta.Backend, odd_delta: dict[str, Any], fails: bool
) -> None:
    merger = fns(backend).MessagesMerger()
    merger.feed(stream(START, start(0, {"type": "odd", "note": "n", "tags": [], "label": "l"})))
    before = merger.snapshot()
    if fails:
        with pytest.raises(ssedelta.InvalidChunkError):
            merger.feed(ev(delta(0, **odd_delta)))
        assert merger.snapshot() == before
    else:
        merger.feed(ev(delta(0, **odd_delta)))
        assert merger.snapshot().content[0].extras["note"] in ("ns", 5)


def test_appending_to_a_value_that_is_not_a_list(backend: ssedelta.Backend) -> None:
    data = stream(
        START,
        start(0, {"type": "odd", "citations": "l"}),
        delta(0, type="citations_delta", citation={"type": "x"}),
    )
    with pytest.raises(ssedelta.InvalidChunkError):
        fns(backend).merge(data)
