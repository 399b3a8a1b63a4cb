"""The native string scan skips plain ASCII 16 bytes at a time, then a word (8 bytes) at a time
near the payload's end: every byte it must stop at (a quote, a backslash, a control byte, a byte of
a multi-byte character, valid or not) is found at every position relative to a block or a word, and
long strings merge the same on both backends, split anywhere."""

from __future__ import annotations

import json
import random

import orjson
import pytest

import ssedelta
from ssedelta._env import NO_EXTENSIONS

# Pieces a string body stops the word scan at, valid or not.
STOPS = [
    b'"',
    b"\\n",
    b'\\"',
    b"\\\\",
    b"\\u00e9",
    b"\\ud83d\\ude00",
    b"\\ud83d",
    b"\\x",
    b"\x00",
    b"\x1f",
    b"\x7f",  # plain: DEL is allowed in a JSON string
    b"\xc3\xa9",
    b"\xe2\x82\xac",
    b"\xf0\x9f\x99\x82",
    b"\xc3",
    b"\xc3(",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b"\xff",
    b"\x80",
]


def expected_end(data: bytes, start: int) -> int:
    """The closing quote's index of the JSON string opened just before ``start``, or -1, as orjson
    reads it: the first quote that closes a string orjson accepts (none after a refused one)."""
    for j in range(start, len(data)):
        if data[j] == 0x22:
            try:
                if isinstance(orjson.loads(data[start - 1 : j + 1]), str):
                    return j
            except orjson.JSONDecodeError:
                pass
    return -1


native = pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")


@native
@pytest.mark.c_extension
@pytest.mark.parametrize("lead", range(17))
def test_every_stop_at_every_offset_of_a_block(lead: int) -> None:
    from ssedelta._json_c import string_scan

    head = b" " * lead + b'"'
    for stop in STOPS:
        for before in range(0, 42):
            for after in (0, 1, 7, 8, 9, 15, 16, 17, 33):
                body = b"abcdefghijklmnopqrstuvwxyz"[:before] + stop + b"0123456789ABCDEFGH"[:after]
                for tail in (b'"', b'"  ', b""):
                    data = head + body + tail
                    end, _ = string_scan(data, len(head))
                    assert end == expected_end(data, len(head)), data


@native
@pytest.mark.c_extension
@pytest.mark.parametrize("seed", range(12))
def test_random_strings_end_where_orjson_ends_them(seed: int) -> None:
    from ssedelta._json_c import string_body, string_scan

    rng = random.Random(seed)
    for _ in range(300):
        parts = [b"x" * rng.randint(0, 20) for _ in range(rng.randint(1, 5))]
        for _ in range(rng.randint(0, 3)):
            parts.insert(rng.randint(0, len(parts)), rng.choice(STOPS))
        lead = rng.randint(0, 8)
        data = b" " * lead + b'"' + b"".join(parts) + b'"' + b"," * rng.randint(0, 9)
        end, esc = string_scan(data, lead + 1)
        assert end == expected_end(data, lead + 1), data
        if end >= 0:
            body = data[lead + 1 : end]
            assert esc == (b"\\" in body), data
            assert string_body(data[lead : end + 1]) == orjson.loads(data[lead : end + 1]), data


def _stream(texts: list[str]) -> bytes:
    out = []
    for k, text in enumerate(texts):
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": text, "reasoning": text[::-1]},
                         "finish_reason": "stop" if k == len(texts) - 1 else None}],
        }  # fmt: skip
        # Non-ASCII escaped in half the chunks, raw UTF-8 in the others.
        out.append(b"data: " + json.dumps(chunk, ensure_ascii=k % 2 == 0).encode() + b"\n\n")
    return b"".join(out) + b"data: [DONE]\n\n"


@native
@pytest.mark.parametrize("seed", range(30))
def test_long_strings_merge_the_same_on_both_backends(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "b", " ", "\n", '"', "\\", "\x01", "\x7f", "é", "€", "🙂", "/"]
    texts = []
    for _ in range(rng.randint(2, 8)):
        n = rng.randint(0, 70)
        texts.append("".join(rng.choice(alphabet) if rng.random() < 0.15 else "q" for _ in range(n)))
    data = _stream(texts)
    cuts = sorted(rng.sample(range(1, len(data)), 5))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    native, twin = (ssedelta.get_backend(name).merge(pieces) for name in ("native", "python"))
    assert native.to_dict() == twin.to_dict()
    assert native.choices[0].message.content == "".join(texts)
    assert native.choices[0].message.extras["reasoning"] == "".join(t[::-1] for t in texts)


def _outcome(name: str, pieces: list[bytes]) -> object:
    try:
        return repr(ssedelta.get_backend(name).merge(pieces).to_dict())
    except ssedelta.SSEDeltaError as exc:
        return type(exc).__name__, str(exc)


KEY_STOPS = [b"", b"\\n", b'\\"', b"\\u0041", b"\xc3\xa9", b"\x01", b"\x7f", b"\xff", b"\\x"]


@native
@pytest.mark.parametrize("stop", KEY_STOPS)
def test_keys_with_a_byte_to_stop_at_anywhere_merge_the_same(stop: bytes) -> None:
    for where in ("top", "choice", "delta"):
        for before in range(0, 19):
            key = b"k" * before + stop + b"z" * (before % 5)
            member = b'"' + key + b'":"v' + bytes([48 + before % 10]) + b'"'
            bodies = []
            for text in (b"a", b"b"):
                delta = b'{"content":"' + text + b'"' + (b"," + member if where == "delta" else b"") + b"}"
                choice = b'{"index":0,"delta":' + delta + (b"," + member if where == "choice" else b"") + b"}"
                top = b'{"id":"c","model":"m",' + (member + b"," if where == "top" else b"") + b'"choices":['
                bodies.append(b"data: " + top + choice + b"]}\n\n")
            data = b"".join(bodies) * 2 + b"data: [DONE]\n\n"
            for cut in (len(data) // 3, 7):
                pieces = [data[:cut], data[cut:]]
                assert _outcome("native", pieces) == _outcome("python", pieces), (where, key)
