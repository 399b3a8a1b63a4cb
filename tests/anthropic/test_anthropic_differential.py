"""Generated Messages streams and corrupted recordings: both backends agree, in any split."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from anthropic_corpus import STREAMS, body

import ssedelta
from ssedelta import anthropic as sa

WORDS = ["a", " b", "é", "東京", "🙂", '"', "\\", "\n", "}", "{", " ", "", "x" * 50]


def generate(rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    """A stream of random blocks in random spellings, and the message it must merge to."""
    objs: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    usage = {"input_tokens": rng.randint(1, 9999), "output_tokens": 1, "cache_read_input_tokens": 7}
    head = {"id": "msg_g", "type": "message", "role": "assistant", "model": "m", "content": []}
    objs.append(
        {
            "type": "message_start",
            "message": {**head, "stop_reason": None, "stop_sequence": None, "usage": usage},
        }
    )
    indexes = sorted(rng.sample(range(12), rng.randint(0, 6)))
    for index in indexes:
        kind = rng.choice(["text", "thinking", "tool_use", "server_tool_use", "redacted_thinking", "odd"])
        if kind == "text":
            parts = [rng.choice(WORDS) for _ in range(rng.randint(0, 30))]
            cites = [
                {
                    "type": "char_location",
                    "cited_text": "c",
                    "document_index": i,
                    "start_char_index": 0,
                    "end_char_index": 1,
                }
                for i in range(rng.randint(0, 2))
            ]
            start: dict[str, Any] = {"type": "text", "text": ""}
            if cites:
                start["citations"] = []
            deltas = [{"type": "citations_delta", "citation": c} for c in cites]
            deltas += [{"type": "text_delta", "text": p} for p in parts]
            block = {**start, "text": "".join(parts), **({"citations": cites} if cites else {})}
        elif kind == "thinking":
            parts = [rng.choice(WORDS) for _ in range(rng.randint(0, 30))]
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in parts]
            deltas.append({"type": "signature_delta", "signature": "sig"})
            block = {**start, "thinking": "".join(parts), "signature": "sig"}
        elif kind in ("tool_use", "server_tool_use"):
            value = {"q": "".join(rng.choice(WORDS) for _ in range(rng.randint(0, 20))), "n": [1, 2.5, None]}
            text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, min(20, len(text) - 1))))
            fragments = ["", *(text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True))]
            start = {"type": kind, "id": f"t{index}", "name": "f", "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in fragments]
            block = {**start, "input": value}
        elif kind == "redacted_thinking":
            start = block = {"type": "redacted_thinking", "data": "opaque"}
            deltas = []
        else:
            start = {"type": "odd", "note": "n"}
            deltas = [{"type": "note_delta", "note": rng.choice(WORDS)} for _ in range(3)]
            block = {**start, "note": "n" + "".join(d["note"] for d in deltas)}
        objs.append({"type": "content_block_start", "index": index, "content_block": start})
        objs += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        objs.append({"type": "content_block_stop", "index": index})
        content.append(block)
    # One or two message_delta events: their usage counts replace (and may go down), a nested
    # object and an unknown key included; the event's own unknown keys go to the message.
    end_usage: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for last in [False] * rng.randint(0, 1) + [True]:
        counts: dict[str, Any] = {"output_tokens": rng.randint(1, 999), "cache_read_input_tokens": 0}
        if rng.random() < 0.5:
            counts["cache_creation"] = {"ephemeral_5m_input_tokens": rng.randint(0, 9)}
        if rng.random() < 0.3:
            counts["input_tokens"] = None
        if rng.random() < 0.3:
            counts["odd_count"] = rng.randint(0, 9)
        event = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn" if last else "pause_turn", "stop_sequence": None},
            "usage": counts,
        }
        if rng.random() < 0.3:
            event["trace"] = {"n": rng.randint(0, 9)}
            own.update(trace=event["trace"])
        objs.append(event)
        end_usage.update({k: v for k, v in counts.items() if v is not None})
    objs.append({"type": "message_stop"})
    parts_out = []
    for obj in objs:
        if rng.random() < 0.1:
            parts_out.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        if rng.random() < 0.7:
            payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
            payload = payload[:-1] + " " * rng.randint(0, 12) + "}"
        else:
            payload = json.dumps(obj, ensure_ascii=rng.random() < 0.5)
        parts_out.append(f"event: {obj['type']}\ndata: {payload}\n\n".encode())
    expected = {
        **head,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        **own,
    }
    expected["usage"] = {**usage, **end_usage}
    return b"".join(parts_out), expected


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 30))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def outcome(backend: ssedelta.Backend, parts: list[bytes]) -> Any:
    """The merged message as a dict, or the error's type, offset and event index."""
    merger = sa.for_backend(backend).MessagesMerger()
    try:
        for part in parts:
            merger.feed(part)
            merger.snapshot()
        return merger.finish().to_dict()
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, exc.offset, exc.event_index, merger.snapshot().to_dict())


@pytest.mark.parametrize("seed", range(60))
def test_generated_streams(backend: ssedelta.Backend, seed: int) -> None:
    rng = random.Random(seed)
    data, expected = generate(rng)
    assert json.loads(sa.for_backend(backend).merge(data).to_json()) == expected
    assert outcome(backend, pieces(data, rng)) == expected


@pytest.mark.c_extension
@pytest.mark.parametrize("name", STREAMS)
def test_corrupted_recordings_give_the_same_outcome_on_both_backends(name: str) -> None:
    native, python = ssedelta.get_backend("native"), ssedelta.get_backend("python")
    rng = random.Random(name)
    original = body(name)
    for _ in range(8):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.choice(b'{}[]":,\\\n \xff0a')
        split = pieces(bytes(data), rng)
        assert outcome(native, split) == outcome(python, [bytes(data)])
