"""The native JSON primitives (``ssedelta._json_c``) against orjson: strings and numbers."""

from __future__ import annotations

import math
import random

import orjson
import pytest

from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

PIECES = [
    b"a",
    b" ",
    b"\\n",
    b'\\"',
    b"\\\\",
    b"\\/",
    b"\\t",
    b"\\u00e9",
    b"\\ud83d\\ude00",
    b"\xc3\xa9",
    b"\xf0\x9f\x99\x82",
]
BAD = [
    b"\\ud83d",
    b"\\ude00",
    b"\\x",
    b"\\u12g4",
    b"\x01",
    b"\x7f\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b'"',
]


def loads(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


@pytest.mark.parametrize("seed", range(40))
def test_strings_read_as_orjson_reads_them(seed: int) -> None:
    from ssedelta._json_c import string_body

    rng = random.Random(seed)
    for _ in range(200):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.4:
            parts.insert(rng.randint(0, len(parts)), rng.choice(BAD))
        data = b'"' + b"".join(parts) + b'"'
        assert string_body(data) == loads(data), data


@pytest.mark.parametrize("escape", [b"\\n", b'\\"', b"\\\\", b"\\u00e9", b"\\ud83d\\ude00", b"\\u0041"])
def test_an_escape_at_every_offset_of_the_words_copied(escape: bytes) -> None:
    """Plain runs (ASCII and multi-byte) of every length up to three words, an escape after
    each, and the same again: the bytes before each escape are copied a word at a time."""
    from ssedelta._json_c import string_body

    for before in range(25):
        for after in range(17):
            for plain in (b"abcdefgh", b"\xc3\xa9\xf0\x9f\x99\x82xyz"):
                run = (plain * 4)[:before]
                tail = (plain * 3)[:after]
                data = b'"' + run + escape + tail + escape + run + b'"'
                if loads(data) is None:  # a multi-byte character cut by the run's length
                    continue
                assert string_body(data) == loads(data), data


@pytest.mark.parametrize("seed", range(20))
def test_numbers_read_as_orjson_reads_them(seed: int) -> None:
    from ssedelta._json_c import number

    rng = random.Random(seed)
    for _ in range(500):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        text = rng.choice(["", "-"]) + digits.lstrip("0") or "0"
        if rng.random() < 0.6:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        if rng.random() < 0.5:
            text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 330))
        data = text.encode()
        expected = loads(data)
        got = number(data)
        if expected is None:  # out of a double's range, as orjson reads it
            assert got is None or math.isinf(got), data
        elif text.lstrip("-").isdigit() and len(text.lstrip("-")) > 18:
            assert got is None, data  # a long integer is left to a JSON parser
        else:
            assert got == expected and type(got) is type(expected), data


def test_numbers_do_not_read_the_locale() -> None:
    from ssedelta._json_c import number

    assert number(b"1.5") == 1.5
    assert number(b"123456789012345678901234567890.5e-3") == float("123456789012345678901234567890.5e-3")
    assert number(b"1,5") is None
    assert number(b"01") is None
    assert number(b"1.") is None
