"""Numbers read the same under any process locale, bit for bit as Python's ``float`` reads them.

The comma-decimal locale ``de_DE.UTF-8`` must exist (``.ci/make-locale`` makes it on Debian); the
tests that need it say so when it does not.
"""

from __future__ import annotations

import locale
import math
import struct
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta

COMMA_LOCALE = "de_DE.UTF-8"

#: Numbers that take every path of a native parse: short exact ones, 17+ digit mantissas, large and
#: small exponents, subnormals, the largest double, negative zero, values that round to zero.
NUMBERS = [
    b"-0.10180724412202835",
    b"-1.2345678901234567e-05",
    b"-0.5",
    b"0",
    b"-0",
    b"-0.0",
    b"0e0",
    b"-0E-0",
    b"1.5",
    b"123456789.123456789",
    b"-9007199254740993",
    b"9007199254740993.0",
    b"0.1",
    b"0.30000000000000004",
    b"-12345678901234567890.5",
    b"1e22",
    b"1e23",
    b"1.7976931348623157e308",
    b"2.2250738585072014e-308",
    b"2.2250738585072011e-308",
    b"4.9e-324",
    b"2.4703282292062328e-324",
    b"2.4703282292062327e-324",
    b"1e-400",
    b"-1e-400",
    b"0.000000000000000000000000000000000000000000000000000000000000000000000000000000001",
    b"3.141592653589793238462643383279502884197169399375105820974944592307816406286",
    b"-1.00000000000000011102230246251565404236316680908203125",
    b"1.00000000000000011102230246251565404236316680908203124",
    b"7.2057594037927933e16",
    b"1E+2",
    b"-1e-7",
]


@pytest.fixture
def comma_locale() -> Iterator[None]:
    saved = locale.setlocale(locale.LC_ALL)
    try:
        locale.setlocale(locale.LC_ALL, COMMA_LOCALE)
    except locale.Error:
        pytest.skip(f"the locale {COMMA_LOCALE} is not installed (.ci/make-locale makes it)")
    try:
        assert locale.localeconv()["decimal_point"] == ","
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def bits(value: Any) -> Any:
    return struct.pack("<d", value) if type(value) is float else value


def chunk_with(number: bytes) -> bytes:
    token = (
        b'{"token":"t","logprob":'
        + number
        + b',"bytes":[116],"top_logprobs":[{"token":"t","logprob":'
        + number
    )
    return (
        b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a","x":'
        + number
        + b'},"logprobs":{"content":['
        + token
        + b',"bytes":null}]}]},"finish_reason":null}]}\n\n'
    )


def read_back(backend: ssedelta.Backend, number: bytes) -> Any:
    """The number as the decoder and the merger read it, at each place: bits, or the error."""
    data = chunk_with(number)
    try:
        chunk = backend.ChunkDecoder().feed(data)[0]
        choice = chunk.choices[0]
        token = choice.logprobs.content[0]
        decoded = [bits(choice.delta.extras["x"]), bits(token.logprob), bits(token.top_logprobs[0].logprob)]
    except ssedelta.SSEDeltaError as exc:
        decoded = [type(exc), exc.offset]
    try:
        merged = backend.merge([data]).choices[0]
        token = merged.logprobs.content[0]
        merged_bits = [
            bits(merged.message.extras["x"]),
            bits(token.logprob),
            bits(token.top_logprobs[0].logprob),
        ]
    except ssedelta.SSEDeltaError as exc:
        merged_bits = [type(exc), exc.offset]
    return decoded, merged_bits


def expected(number: bytes) -> Any:
    """What a JSON parser reads: an int where JSON has no fraction or exponent (a float past 64
    bits, as orjson reads it), else the double Python's ``float`` reads."""
    text = number.decode()
    try:
        value = orjson.loads(number)
    except orjson.JSONDecodeError:
        assert math.isinf(float(text))
        return [ssedelta.InvalidJSONError, 6]
    if type(value) is float:
        assert bits(value) == bits(float(text))
    return [bits(value)] * 3


@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_under_a_comma_locale(backend: ssedelta.Backend, comma_locale: None, number: bytes) -> None:
    decoded, merged = read_back(backend, number)
    assert decoded == expected(number)
    assert merged == expected(number)


@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_under_the_c_locale(backend: ssedelta.Backend, number: bytes) -> None:
    assert read_back(backend, number) == (expected(number), expected(number))


def test_infinite_numbers_are_the_same_error(backend: ssedelta.Backend, comma_locale: None) -> None:
    for number in (b"1e400", b"-1.5e309", b"1" + b"0" * 400 + b".0"):
        decoded, merged = read_back(backend, number)
        assert decoded[0] is ssedelta.InvalidJSONError
        assert merged[0] is ssedelta.InvalidJSONError


def json_number() -> st.SearchStrategy[bytes]:
    digits = st.text("0123456789", min_size=1, max_size=25).map(lambda d: d.lstrip("0") or "0")
    fraction = st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=25).map(lambda d: "." + d))
    exponent = st.one_of(
        st.just(""),
        st.builds(
            lambda e, sign, n: e + sign + str(n),
            st.sampled_from("eE"),
            st.sampled_from(["", "+", "-"]),
            st.integers(0, 330),
        ),
    )
    made = st.builds(
        lambda sign, i, f, e: (sign + i + f + e).encode(),
        st.sampled_from(["", "-"]),
        digits,
        fraction,
        exponent,
    )
    reprs = st.floats(allow_nan=False, allow_infinity=False).map(lambda v: repr(v).encode())
    return st.one_of(made, reprs)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=json_number())
def test_generated_numbers_under_a_comma_locale(
    backend: ssedelta.Backend, comma_locale: None, number: bytes
) -> None:
    text = number.decode()
    if text.lstrip("-").isdigit() and len(text.lstrip("-")) > 4000:
        return
    decoded, merged = read_back(backend, number)
    assert decoded == expected(number)
    assert merged == expected(number)
