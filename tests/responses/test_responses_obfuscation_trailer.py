"""Delta events end with an ``obfuscation`` string that changes from event to event but keeps its
length. The native merger checks the bytes after the delta string against the last event's, the
obfuscation string read a word at a time when it is as long as last time: every spelling of it
(escapes, a quote, a control byte, non-ASCII, other lengths) must merge, or fail, as the twin has it."""

from __future__ import annotations

import random

import orjson
import pytest
from test_responses_differential import outcome

from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

AT = b'"item_id":"msg_1","output_index":0,"content_index":0'
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Obfuscation values as written between the quotes (valid JSON unless noted), and odd lengths.
ODD = [
    b'abc\\"defgh12',  # an escaped quote
    b"abc\\\\defgh12",  # an escaped backslash
    b"abc\\u00e9fgh1",  # a unicode escape
    "abcdéfghij1".encode(),  # non-ASCII
    b'abcd"fghij12',  # a bare quote: invalid
    b"abcd\x01fghij1",  # a control byte: invalid
    b"abcd\x7ffghij1",  # DEL: valid
    b'abcdefgh\\"12',  # the same, in the second word
    b'abcdefghi"12',
    b"abcdefgh\x0112",
    "abcdefghi\u00e91".encode(),
    b"abcdefg",  # shorter than a word
    b"abcdefgh",
    b"abcdefghijklmnop",
    b"abcdefghijklmnopq",  # longer than two words
    b"",
]


def _head() -> bytes:
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    events = [
        {"type": "response.created", "response": {"id": "r", "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": part,
        },
    ]
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def _delta(seq: int, text: str, obfuscation: bytes) -> bytes:
    payload = (
        b'{"type":"response.output_text.delta","sequence_number":' + str(seq).encode() + b"," + AT
        + b',"delta":' + orjson.dumps(text) + b',"logprobs":[],"obfuscation":"' + obfuscation + b'"}'
    )  # fmt: skip
    return b"event: response.output_text.delta\ndata: " + payload + b"\n\n"


def _stream(rng: random.Random, length: int, odd_share: float) -> tuple[bytes, str]:
    out, text = [_head()], ""
    for seq in range(3, rng.randint(4, 60)):
        fragment = rng.choice(["a", " word", "caf\u00e9", "\U0001f6eb", '"q"', "\n"])
        if rng.random() < odd_share:
            obfuscation = rng.choice(ODD)
        else:
            obfuscation = "".join(rng.choice(ALNUM) for _ in range(length)).encode()
        out.append(_delta(seq, fragment, obfuscation))
        text += fragment
    return b"".join(out), text


@pytest.mark.parametrize("length", [1, 7, 8, 12, 16, 17])
def test_obfuscation_strings_of_one_length(length: int) -> None:
    rng = random.Random(length)
    for _ in range(20):
        data, text = _stream(rng, length, 0.0)
        result = outcome("native", [data])
        assert result[0] == "ok"
        assert result[1]["output"][0]["content"][0]["text"] == text
        assert outcome("python", [data]) == result


@pytest.mark.parametrize("seed", range(40))
def test_odd_obfuscation_strings_among_them(seed: int) -> None:
    rng = random.Random(seed)
    data, _ = _stream(rng, rng.choice([8, 12, 16]), 0.25)
    cuts = sorted(rng.sample(range(1, len(data)), min(6, len(data) - 1)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert outcome("native", pieces) == outcome("python", pieces) == outcome("python", [data])
