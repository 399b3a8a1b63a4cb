"""The pure-Python merger skips a start event that repeats the one before it byte for byte after
the sequence number: the skipped event must be one the rule table would not change anything with,
so the result equals that of the same events added one by one (``add`` never skips)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ssedelta.responses import _merge_py
from ssedelta.responses.models import Response

ITEM = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}


def _payload(kind: str, seq: bytes, rest: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","sequence_number":' + seq + b"," + rest + b"}"


def _response(**fields: Any) -> bytes:
    return b'"response":' + orjson.dumps({"id": "r", "status": "in_progress", "output": [], **fields})


def _merged(payloads: list[bytes]) -> tuple[Response, int, Response]:
    """(fed, lifecycle calls while fed, added one by one)."""
    merger = _merge_py.ResponsesMerger()
    calls = []
    lifecycle = merger._lifecycle

    def counted(obj: dict[str, Any], end: bool, built: Any) -> None:
        calls.append(obj["type"])
        lifecycle(obj, end, built)

    merger._lifecycle = counted  # type: ignore[method-assign]
    merger.feed(b"".join(b"data: " + p + b"\n\n" for p in payloads))
    added = _merge_py.ResponsesMerger()
    for p in payloads:
        added.add(orjson.loads(p))
    return merger.snapshot(), len(calls), added.snapshot()


def test_a_repeated_start_is_skipped() -> None:
    rest = _response(output=[ITEM], model="m")
    fed, calls, added = _merged(
        [_payload("response.created", b"0", rest), _payload("response.in_progress", b"1", rest)]
    )
    assert calls == 1
    assert fed.to_dict() == added.to_dict()
    assert fed.model == "m" and fed.output[0].to_dict() == ITEM


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"1", b"1.0"),  # equal as numbers, not as JSON values
        (b"true", b"1"),
        (b"1.0", b"1e0"),
        (b'"a"', b'"\\u0061"'),  # the same string written otherwise
    ],
)
def test_values_equal_in_python_but_written_otherwise_are_merged(first: bytes, second: bytes) -> None:
    def start(kind: str, seq: bytes, value: bytes) -> bytes:
        return _payload(kind, seq, b'"response":{"id":"r","output":[],"note":' + value + b"}")

    fed, calls, added = _merged(
        [start("response.created", b"0", first), start("response.in_progress", b"1", second)]
    )
    assert calls == 2
    assert fed.to_dict() == added.to_dict()
    assert orjson.dumps(fed.to_dict()["note"]) == orjson.dumps(orjson.loads(second))


def test_a_start_after_another_lifecycle_event_is_merged() -> None:
    first, second = _response(model="a"), _response(model="b")
    payloads = [
        _payload("response.created", b"0", first),
        _payload("response.queued", b"1", second),
        _payload("response.in_progress", b"2", first),
    ]
    fed, calls, added = _merged(payloads)
    assert calls == 3
    assert fed.model == added.model == "a"


def test_an_odd_sequence_number_and_a_second_type_key() -> None:
    rest = _response(output=[ITEM])
    delta = b'"output_index":0,"content_index":0,"delta":"x","type":"response.output_text.delta"'
    payloads = [
        _payload("response.created", b"-3", rest),
        _payload("response.in_progress", b"2.5", rest),  # the head ends at "2": the tail differs
        _payload("response.queued", b"7", rest),  # differs from the one before: merged
        _payload("response.created", b"8", rest),  # repeats it: skipped
        _payload("response.in_progress", b"9", delta),  # a delta: the last "type" is the event's
        _payload("response.in_progress", b"10", delta),
    ]
    fed, calls, added = _merged(payloads)
    assert calls == 3
    assert fed.to_dict() == added.to_dict()
    assert fed.output[0].content[0].text == "xx"


def test_a_repeated_start_ends_a_delta_run() -> None:
    rest = _response(output=[ITEM])
    part = b'"output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}'
    delta = b'"output_index":0,"content_index":0,"delta":"y"'
    payloads = [
        _payload("response.created", b"0", rest),
        _payload("response.content_part.added", b"1", part),
        _payload("response.output_text.delta", b"2", delta),
        _payload("response.in_progress", b"3", rest),
        _payload("response.output_text.delta", b"4", delta),
    ]
    fed, calls, added = _merged(payloads)
    assert calls == 1
    assert fed.to_dict() == added.to_dict()
    assert fed.output[0].content[0].text == "yy"
