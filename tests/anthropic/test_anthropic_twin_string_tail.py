"""The twin's read of a string delta that follows one of the same block and kind, against the
native core: after such a delta, a payload with the same head is taken as one string token and
its closing braces; every other tail (spacing inside, a bad string, a key after the string, bytes
after the braces) must go through the general path with the same result, error and byte offsets.
"""

from __future__ import annotations

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
    1: b'{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":',
    2: b'{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":',
}
#: (tail after the head, the text it adds when it merges)
CLEAN = [
    (b'"Hi"}}', "Hi"),
    (b'" a\\"b"}   }', ' a"b'),
    (b'"}\\\\"}}', "}\\"),
    (b'"\\ud83d\\ude00"} }', "\U0001f600"),
    (b'""}}', ""),
]
#: tails the token read must not take for a clean one
ODD = [
    b' "x"}}',
    b'"x" }}',
    b'"x"}\t}',
    b'"x"},}',
    b'"x","y":1}}',
    b'"x"}} ',
    b'"x"}}}',
    b'"x"}',
    b'"\\x41"}}',
    b'"\\ud83d"}}',
    b'"a\x01b"}}',
    b'"a\xffb"}}',
    b'"a"b"}}',
    b'"a\\"}}',
    b"5}}",
    b"null}}",
    b'"unterminated}}',
]


def opening() -> list[bytes]:
    message = {"id": "m", "type": "message", "role": "assistant", "model": "x", "content": []}
    starts = {1: {"type": "text", "text": ""}, 2: {"type": "tool_use", "id": "t", "name": "f", "input": {}}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    events += [{"type": "content_block_start", "index": i, "content_block": b} for i, b in starts.items()]
    return [orjson.dumps(e) for e in events]


def stream(rng: random.Random) -> tuple[bytes, dict[int, str]]:
    frames = [(b"", p) for p in opening()]
    texts = {1: "", 2: ""}
    for _ in range(rng.randint(2, 30)):
        index = rng.choice(list(HEADS))
        tail, text = rng.choice(CLEAN)
        frames.append((b"event: content_block_delta\n", HEADS[index] + tail))
        texts[index] += text
        if rng.random() < 0.3:
            frames.append((b"event: content_block_delta\n", HEADS[index] + rng.choice(ODD)))
        if rng.random() < 0.03:
            frames.append((b"event: error\n", HEADS[index] + rng.choice(CLEAN + [(t, "") for t in ODD])[0]))
    frames.append((b"event: message_stop\n", b'{"type":"message_stop"}'))
    return b"".join(e + b"data: " + p + b"\n\n" for e, p in frames), texts


def outcome(backend: str, parts: list[bytes]) -> Any:
    merger = sa.merger_class(ssedelta.get_backend(backend))()
    try:
        for part in parts:
            merger.feed(part)
        return ("ok", merger.finish().to_dict(), merger.merged)
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.offset, exc.event_index, exc.partial.to_dict())
    except ssedelta.StreamFormatError as exc:
        return (type(exc).__name__, str(exc), exc.offset, exc.event_index, merger.snapshot().to_dict())


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("seed", range(40))
def test_clean_tails_merge_the_written_text(backend: ssedelta.Backend, seed: int) -> None:
    rng = random.Random(f"clean{seed}")
    frames = [(b"", p) for p in opening()]
    texts = {1: "", 2: ""}
    for _ in range(rng.randint(1, 40)):
        index = rng.choice(list(HEADS))
        tail, text = rng.choice(CLEAN)
        frames.append((b"", HEADS[index] + tail))
        texts[index] += text
    data = b"".join(e + b"data: " + p + b"\n\n" for e, p in frames)
    merger = sa.merger_class(backend)()
    for part in pieces(data, rng):
        merger.feed(part)
    content = merger.finish().to_dict()["content"]
    assert content[0]["text"] == texts[1]
    assert content[1]["input"] == (texts[2] or {})


@pytest.mark.parametrize("seed", range(150))
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_native)])
def test_odd_tails_agree_with_the_native_core(seed: int, mark: int) -> None:
    rng = random.Random(f"odd{seed}")
    data, _ = stream(rng)
    for parts in ([data], pieces(data, rng), pieces(data, rng)):
        assert outcome("native", parts) == outcome("python", parts)
