"""Start events (``response.created``, ``.queued``, ``.in_progress``) that repeat the one before
byte for byte after the sequence number change nothing; the native merger skips them. Both
backends must agree however the repeated events interleave with others."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from test_responses_differential import outcome

from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

ITEM = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant"}
PART = {"type": "output_text", "annotations": [], "text": "hi"}


def _payload(kind: str, seq: int, rest: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","sequence_number":' + str(seq).encode() + b"," + rest + b"}"


def _block(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def _response(status: str, output: list[Any], **more: Any) -> bytes:
    return b'"response":' + orjson.dumps({"id": "r", "status": status, "output": output, **more})


def both(events: list[bytes]) -> Any:
    data = b"".join(_block(e) for e in events)
    pieces = [data[i : i + 97] for i in range(0, len(data), 97)]
    native, twin = outcome("native", pieces), outcome("python", pieces)
    assert native == twin
    return native


def test_the_same_response_twice() -> None:
    rest = _response("in_progress", [{**ITEM, "content": [PART]}])
    result = both([_payload("response.created", 0, rest), _payload("response.in_progress", 1, rest)])
    assert result[0] == "ok"
    assert result[1]["output"][0]["content"][0]["text"] == "hi"


def test_a_repeated_start_after_the_item_changed() -> None:
    rest = _response("in_progress", [{**ITEM, "content": [PART]}])
    delta = b'"output_index":0,"content_index":0,"delta":" there"'
    events = [
        _payload("response.created", 0, rest),
        _payload("response.output_text.delta", 1, delta),
        _payload("response.in_progress", 2, rest),
        _payload("response.output_text.delta", 3, delta),
        _payload("response.queued", 4, rest),
    ]
    result = both(events)
    assert result[1]["output"][0]["content"][0]["text"] == "hi there there"


def test_a_different_start_between_two_equal_ones() -> None:
    first = _response("queued", [], model="a")
    second = _response("in_progress", [], model="b")
    result = both(
        [
            _payload("response.created", 0, first),
            _payload("response.in_progress", 1, second),
            _payload("response.in_progress", 2, first),
        ]
    )
    assert result[1]["status"] == "queued" and result[1]["model"] == "a"


def test_a_start_whose_last_type_key_is_a_delta() -> None:
    # The parser keeps the last "type": the first event is a delta, and so is its repetition.
    rest = b'"output_index":0,"content_index":0,"delta":"x","type":"response.output_text.delta"'
    events = [
        _payload("response.created", 0, _response("in_progress", [{**ITEM, "content": [PART]}])),
        _payload("response.in_progress", 1, rest),
        _payload("response.in_progress", 2, rest),
    ]
    result = both(events)
    assert result[1]["output"][0]["content"][0]["text"] == "hix" + "x"


def test_a_start_with_an_error_repeated() -> None:
    rest = _response("in_progress", []) + b',"error":{"message":"boom"}'
    result = both([_payload("response.created", 0, rest), _payload("response.in_progress", 1, rest)])
    assert result[0] == "upstream"
