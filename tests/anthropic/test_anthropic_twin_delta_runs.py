"""The twin reads a run of string deltas of one block and kind (the head of the last one, one
JSON string, the closing braces) with one parse of all their strings. Runs that hold odd members
(a string only the next one closes, leading spaces, raw newlines, bad escapes or UTF-8, strings
that join into other JSON values, other closings, an ``error`` event, a duplicated key) must
merge, fail and snapshot as the native core does, in any split, and as the events read one by
one say.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import anthropic as sa
from ssedelta._env import NO_EXTENSIONS

needs_native = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

HEADS = {
    0: b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":',
    1: b'{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":',
}
CLOSINGS = [b"}}", b"} }", b"}" + b" " * 14 + b"}", b"}" + b" " * 40 + b"}"]
#: What may follow a head: strings alone, and pieces that are JSON only together with others.
BODIES = [
    b'"plain"',
    b'" caf\xc3\xa9 \xf0\x9f\x99\x82"',
    b'"esc \\" \\\\ \\n \\u00e9 \\ud83d\\ude00"',
    b'""',
    b' "lead"',
    b'\n"raw newline before"',
    b'"a","',
    b'b"',
    b'"a", "b"',
    b'["a"',
    b'"b"], "c"',
    b'"x\ny"',
    b'"\\x"',
    b'"\\ud83d"',
    b'"bad \xff utf8"',
    b'"a"b"',
    b'"unterminated\\"',
    b'"a","text":"b"',
    b'"a","partial_json":"b"',
    b'"a"},"type":"message_stop"',
    b'"a"},"index":0,"x":"',
    b"5",
]
#: Bodies that are one JSON array of strings only when joined, as they come in a run.
PAIRS = [(b'"a","', b'b"'), (b'["a"', b'"b"], "c"'), (b'"a","', b'"b"], "c"')]


def _one_string(body: bytes) -> bool:
    try:
        return type(orjson.loads(body)) is str
    except orjson.JSONDecodeError:
        return False


#: The bodies that are one JSON string on one line (a payload with one of them is a string delta;
#: a raw newline would end the ``data:`` line).
STRINGS = [b for b in BODIES if _one_string(b) and b"\n" not in b]


def opening() -> list[bytes]:
    message = {"id": "m", "type": "message", "role": "assistant", "model": "x", "content": []}
    starts = {0: {"type": "text", "text": ""}, 1: {"type": "tool_use", "id": "t", "name": "f", "input": {}}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    events += [{"type": "content_block_start", "index": i, "content_block": b} for i, b in starts.items()]
    return [b"event: %s\ndata: %s\n\n" % (e["type"].encode(), orjson.dumps(e)) for e in events]


def frame(payload: bytes, name: bytes = b"content_block_delta") -> bytes:
    return b"event: " + name + b"\ndata: " + payload + b"\n\n"


def run_stream(rng: random.Random, bodies: list[bytes]) -> bytes:
    """Runs of deltas of the two blocks, each started by a delta the general path reads."""
    frames = opening()
    for _ in range(rng.randint(1, 6)):
        index = rng.choice(list(HEADS))
        frames.append(frame(HEADS[index] + b'"first"}}'))
        for _ in range(rng.randint(1, 12)):
            pair = rng.choice(PAIRS) if bodies is BODIES and rng.random() < 0.1 else [rng.choice(bodies)]
            frames += [frame(HEADS[index] + body + rng.choice(CLOSINGS)) for body in pair]
            if rng.random() < 0.02:
                frames.append(frame(HEADS[index] + b'"e"}}', b"error"))
            if rng.random() < 0.05:
                frames.append(b'event: ping\ndata: {"type": "ping"}\n\n')
    frames.append(frame(b'{"type":"message_stop"}', b"message_stop"))
    return b"".join(frames)


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def outcome(backend: str, parts: list[bytes]) -> Any:
    """Each piece's count and snapshot, then the result or the error (with the snapshot then)."""
    merger = sa.merger_class(ssedelta.get_backend(backend))()
    steps = []
    try:
        for part in parts:
            steps.append((merger.feed(part), merger.snapshot().to_dict()))
        return steps, ("ok", merger.finish().to_dict(), merger.merged)
    except ssedelta.UpstreamError as exc:
        return steps, ("upstream", exc.error, exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.StreamFormatError as exc:
        return steps, (type(exc).__name__, str(exc), exc.offset, exc.event_index, merger.snapshot().to_dict())


@pytest.mark.parametrize("seed", range(200))
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_runs_with_odd_members_agree_with_the_native_core(seed: int, mark: int) -> None:
    rng = random.Random(f"runs{seed}")
    data = run_stream(rng, BODIES)
    for parts in ([data], pieces(data, rng), pieces(data, rng), [data[i : i + 1] for i in range(len(data))]):
        assert outcome("python", parts) == outcome("native", parts)


def test_a_run_broken_in_the_middle_keeps_the_deltas_before_it(backend: ssedelta.Backend) -> None:
    """Two bodies that parse as two strings only when joined: the first payload is bad JSON."""
    data = b"".join(opening()) + b"".join(
        frame(HEADS[0] + body + b"}}") for body in (b'"first"', b'"ok"', b'"a","', b'b"', b'"after"')
    )
    merger = sa.merger_class(backend)()
    with pytest.raises(ssedelta.InvalidJSONError) as info:
        merger.feed(data)
    bad = frame(HEADS[0] + b'"a","}}')
    assert info.value.offset == data.index(bad) + len(b"event: content_block_delta\ndata: ")
    assert info.value.event_index == 5
    assert merger.snapshot().content[0].text == "firstok"


@pytest.mark.parametrize("seed", range(60))
def test_runs_of_strings_merge_what_each_payload_says(backend: ssedelta.Backend, seed: int) -> None:
    """Every body here is one JSON string: the block gets each payload's string, read alone."""
    rng = random.Random(f"clean{seed}")
    data = run_stream(rng, STRINGS).replace(b"event: error\n", b"event: content_block_delta\n")
    expected = {0: "", 1: ""}
    for block in data.split(b"\n\n")[3:-1]:
        obj = json.loads(block.split(b"data: ", 1)[1])
        if obj["type"] == "content_block_delta":
            expected[obj["index"]] += next(v for k, v in obj["delta"].items() if k != "type")
    merger = sa.merger_class(backend)()
    texts: list[tuple[str, Any]] = []
    for part in pieces(data, rng):
        merger.feed(part)
        content = merger.snapshot().content
        if len(content) == 2:
            texts.append((content[0].text, content[1].input))
    message = merger.finish()
    assert message.content[0].text == expected[0]
    assert message.content[1].input == (expected[1] or {})
    # Mid-block, a snapshot holds the tool input received so far as text.
    for text, tool_input in texts:
        assert expected[0].startswith(text)
        assert tool_input == {} or expected[1].startswith(tool_input)
