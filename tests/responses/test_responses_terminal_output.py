"""The terminal response repeats every item the ``output_item.done`` events put. When its
``output`` does so byte for byte, and each item is still as it was put, the native merger parses
the event without it and keeps its items: the result must be the twin's, and anything else
(an item written otherwise, changed since, one more or one fewer, a second ``output`` or
``response``, invalid JSON around the items) must be read as the twin reads it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from test_responses_differential import outcome

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS
from ssedelta.responses import _state

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]

TEXT = [f"word{k} caf\u00e9 \U0001f6eb, " for k in range(30)]
ARGS = [f'{{\\"k{k}\\": [{k}, \\"v\\u00e9\\"]' for k in range(30)]
MESSAGE = {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "in_progress",
    "arguments": "",
    "call_id": "c1",
    "name": "f",
}
HEAD = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "tools": [], "usage": None}


def _event(kind: str, **fields: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def _args_delta(delta: str) -> bytes:
    """An arguments delta as the API writes it (its escapes kept as they are)."""
    head = b'{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":1,"delta":"'
    return b"event: response.function_call_arguments.delta\ndata: " + head + delta.encode() + b'"}\n\n'


def _items() -> list[dict[str, Any]]:
    text = "".join(TEXT)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    arguments = "".join(orjson.loads(b'"' + a.encode() + b'"') for a in ARGS)
    return [
        {**MESSAGE, "status": "completed", "content": [part]},
        {**CALL, "status": "completed", "arguments": arguments},
    ]


def _body(items: list[dict[str, Any]]) -> list[bytes]:
    """The events up to the terminal one: a message, then a function call, in deltas."""
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    out = [_event("response.created", response={**HEAD, "status": "in_progress", "output": []})]
    out.append(_event("response.output_item.added", output_index=0, item=MESSAGE))
    out.append(_event("response.content_part.added", **at, part=part))
    out += [_event("response.output_text.delta", **at, delta=t, logprobs=[]) for t in TEXT]
    out.append(_event("response.output_text.done", **at, text="".join(TEXT), logprobs=[]))
    out.append(_event("response.output_item.done", output_index=0, item=items[0]))
    out.append(_event("response.output_item.added", output_index=1, item=CALL))
    out += [_args_delta(a) for a in ARGS]
    out.append(
        _event(
            "response.function_call_arguments.done",
            item_id="fc_1",
            output_index=1,
            arguments=items[1]["arguments"],
        )
    )
    out.append(_event("response.output_item.done", output_index=1, item=items[1]))
    return out


def _terminal(kind: str, output: bytes, head: bytes | None = None, tail: bytes = b"") -> bytes:
    head = head if head is not None else orjson.dumps({**HEAD, "status": "completed"})[:-1]
    usage = b',"usage":{"input_tokens":3,"output_tokens":5,"total_tokens":8}'
    payload = (
        b'{"type":"'
        + kind.encode()
        + b'","response":'
        + head
        + b',"output":'
        + output
        + usage
        + b"}"
        + tail
        + b"}"
    )
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def _array(items: list[dict[str, Any]], sep: bytes = b",") -> bytes:
    return b"[" + sep.join(orjson.dumps(i) for i in items) + b"]"


def both(events: list[bytes]) -> tuple[Any, list[Any]]:
    """The outcome on each backend (which must agree), fed whole and in pieces, and the response
    objects the native state's lifecycle read."""
    data = b"".join(events)
    seen: list[Any] = []
    lifecycle = _state.ResponsesState._lifecycle

    def spy(self: Any, obj: dict[str, Any], end: bool, built: Any) -> None:
        seen.append(obj.get("response"))
        lifecycle(self, obj, end, built)

    native = outcome("native", [data])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_state.ResponsesState, "_lifecycle", spy)
        assert outcome("native", [data[i : i + 333] for i in range(0, len(data), 333)]) == native
    assert outcome("python", [data]) == native
    return native, seen


@pytest.mark.parametrize("kind", ["response.completed", "response.incomplete"])
def test_the_repeated_items_are_kept_not_parsed_again(kind: str) -> None:
    items = _items()
    status = kind.rpartition(".")[2]
    head = orjson.dumps({**HEAD, "status": status})[:-1]
    result, seen = both([*_body(items), _terminal(kind, _array(items), head)])
    assert result[0] == "ok"
    assert result[1]["output"] == items
    assert result[1]["status"] == status
    assert result[1]["usage"]["total_tokens"] == 8
    assert seen[-1]["output"] == []  # the terminal's items were not read again


def test_a_failed_response_keeps_them_too() -> None:
    items = _items()
    head = orjson.dumps({**HEAD, "status": "failed", "error": {"code": "x", "message": "boom"}})[:-1]
    result, seen = both([*_body(items), _terminal("response.failed", _array(items), head)])
    assert result[0] == "upstream"
    assert result[1] == {"code": "x", "message": "boom"}
    assert result[4]["output"] == items
    assert seen[-1]["output"] == []


def _changed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [items[0], {**items[1], "status": "incomplete"}]


@pytest.mark.parametrize(
    "output",
    [
        _array(_changed(_items())),  # an item changed
        _array(_items()[:1]),  # one fewer
        _array([*_items(), _items()[0]]),  # one more
        _array(_items()[::-1]),  # in another order
        _array(_items(), b" , "),  # spaced otherwise: the same items
        b"[ " + _array(_items())[1:-1] + b" ]",
        b"[]",
        b"null",
    ],
)
def test_other_outputs_are_read_as_they_are(output: bytes) -> None:
    result, _ = both([*_body(_items()), _terminal("response.completed", output)])
    assert result[0] == "ok"
    # the terminal's items replace those at their index; the others stay
    expected = dict(enumerate(_items()))
    expected.update(enumerate(orjson.loads(output) or ()))
    assert result[1]["output"] == [expected[i] for i in sorted(expected)]


def test_an_item_changed_after_it_was_put_is_read_again() -> None:
    items = _items()
    body = _body(items)
    late = _args_delta("!")
    result, seen = both([*body, late, _terminal("response.completed", _array(items))])
    assert result[0] == "ok"
    assert result[1]["output"] == items
    assert seen[-1]["output"] == items


@pytest.mark.parametrize(
    "terminal",
    [
        # invalid JSON in the array around the repeated items
        _terminal("response.completed", _array(_items())[:-1] + b",]"),
        _terminal("response.completed", b"[," + _array(_items())[1:]),
        _terminal("response.completed", _array(_items()) + b"]"),
        _terminal("response.completed", _array(_items(), b",,")),
        # a second output, a second response, the key written with an escape
        _terminal("response.completed", _array(_items()), tail=b',"x":1'),
        _terminal("response.completed", _array(_items())).replace(
            b',"usage"', b',"output":' + _array(_changed(_items())) + b',"usage"'
        ),
        _terminal("response.completed", _array(_items())).replace(
            b"}\n\n", b',"response":' + orjson.dumps({**HEAD, "status": "completed"}) + b"}\n\n"
        ),
        _terminal("response.completed", _array(_items())).replace(b'"output":[', b'"outp\\u0075t":['),
        # not a terminal event, or not one object
        _terminal("response.in_progress", _array(_items())),
        _terminal("response.completed", _array(_items())).replace(b"}\n\n", b"} \n\n"),
        _terminal("response.completed", _array(_items())).replace(b"}\n\n", b"}x\n\n"),
    ],
)
def test_near_misses_are_read_as_the_twin_reads_them(terminal: bytes) -> None:
    both([*_body(_items()), terminal])


def test_an_item_a_snapshot_handed_out_is_read_again() -> None:
    """A snapshot's reader may change the items it holds: the terminal response's items are then
    read again, not taken for those the state keeps, and both backends give its items."""
    items = _items()
    body, terminal = b"".join(_body(items)), _terminal("response.completed", _array(items))
    results = []
    for name in ("native", "python"):
        merger = responses.merger_class(ssedelta.get_backend(name))()
        merger.feed(body)
        handed = merger.snapshot().output
        handed[1].status = "changed"
        handed[1].extras["changed"] = True
        merger.feed(terminal)
        results.append(merger.finish().to_dict())
    assert results[0] == results[1]
    assert results[0]["output"] == items
