"""Responses API merge rules on written streams: lifecycle, errors, resumed and sparse streams, bad input."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import ssedelta
from ssedelta import responses
from ssedelta.responses import models as m

ID = "resp_1"


def ev(kind: str, **fields: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def response(status: str = "in_progress", output: list[Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"id": ID, "object": "response", "status": status, "output": output or [], "usage": None, **more}


MESSAGE = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
TEXT_PART = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 7,
    "output_tokens_details": {"reasoning_tokens": 2},
    "total_tokens": 17,
}


def text_stream(*texts: str, terminal: str | None = "response.completed") -> list[bytes]:
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    out = [
        ev("response.created", response=response()),
        ev("response.output_item.added", output_index=0, item=MESSAGE),
        ev("response.content_part.added", **at, part=TEXT_PART),
    ]
    out += [ev("response.output_text.delta", **at, delta=t, logprobs=[]) for t in texts]
    full = "".join(texts)
    done_item = {**MESSAGE, "status": "completed", "content": [{**TEXT_PART, "text": full}]}
    out += [
        ev("response.output_text.done", **at, text=full, logprobs=[]),
        ev("response.content_part.done", **at, part={**TEXT_PART, "text": full}),
        ev("response.output_item.done", output_index=0, item=done_item),
    ]
    if terminal is not None:
        status = {"response.completed": "completed", "response.incomplete": "incomplete"}[terminal]
        out.append(ev(terminal, response=response(status, [done_item], usage=USAGE)))
    return out


def merger(backend: ssedelta.Backend) -> Any:
    return responses.merger_class(backend)()


def test_text_stream_merges(backend: ssedelta.Backend) -> None:
    result = responses.merge(b"".join(text_stream("Hel", "lo")), backend=backend)
    assert result.output_text == "Hello"
    assert result.status == "completed"
    assert isinstance(result.output[0], m.ResponseOutputMessage)  # type: ignore[index]
    assert result.usage == m.ResponseUsage.from_dict(USAGE)


def test_incomplete_is_a_result(backend: ssedelta.Backend) -> None:
    result = responses.merge(b"".join(text_stream("Hel", terminal="response.incomplete")), backend=backend)
    assert result.status == "incomplete"
    assert result.output_text == "Hel"


def test_stream_cut_before_the_end_gives_the_merged_text(backend: ssedelta.Backend) -> None:
    result = responses.merge(b"".join(text_stream("a", "b", terminal=None)[:5]), backend=backend)
    assert result.status == "in_progress"
    assert result.output_text == "ab"


def test_error_event_raises_from_finish_with_partial(backend: ssedelta.Backend) -> None:
    stream = text_stream("Hel", "lo", terminal=None)[:5]
    error = {"type": "server_error", "code": "server_error", "message": "boom", "param": None}
    stream.append(ev("error", sequence_number=5, error=error))
    m_ = merger(backend)
    m_.feed(b"".join(stream))
    assert m_.snapshot().output_text == "Hello"  # snapshot never raises
    with pytest.raises(ssedelta.UpstreamError) as caught:
        m_.finish()
    assert caught.value.error == error
    assert caught.value.partial.output_text == "Hello"
    assert caught.value.event_index == 5
    assert caught.value.offset == b"".join(stream).rindex(b"data: ") + 6


def test_error_event_in_the_sdk_shape(backend: ssedelta.Backend) -> None:
    data = ev("response.created", response=response()) + ev(
        "error", code="rate_limit", message="slow", param=None
    )
    with pytest.raises(ssedelta.UpstreamError, match="slow") as caught:
        responses.merge(data, backend=backend)
    assert caught.value.error["code"] == "rate_limit"


def test_failed_without_error_event(backend: ssedelta.Backend) -> None:
    failed = response("failed", error={"code": "server_error", "message": "it broke"})
    data = ev("response.created", response=response()) + ev("response.failed", response=failed)
    with pytest.raises(ssedelta.UpstreamError, match="it broke") as caught:
        responses.merge(data, backend=backend)
    assert caught.value.error == {"code": "server_error", "message": "it broke"}
    assert caught.value.partial.status == "failed"
    assert caught.value.event_index == 1


def test_failed_keeps_the_items_merged_before(backend: ssedelta.Backend) -> None:
    stream = text_stream("Hi", terminal=None)[:4]
    stream.append(ev("response.failed", response=response("failed", error={"code": "x", "message": "y"})))
    with pytest.raises(ssedelta.UpstreamError) as caught:
        responses.merge(b"".join(stream), backend=backend)
    assert caught.value.partial.output_text == "Hi"


def test_event_error_without_json(backend: ssedelta.Backend) -> None:
    data = ev("response.created", response=response()) + b"event: error\ndata: upstream fell over\n\n"
    with pytest.raises(ssedelta.UpstreamError) as caught:
        responses.merge(data, backend=backend)
    assert caught.value.error == {"message": "upstream fell over"}
    assert caught.value.partial.id == ID


def test_resumed_in_the_middle_of_an_item(backend: ssedelta.Backend) -> None:
    """A stream resumed after ``starting_after``: no created, no output_item.added, no part: the
    deltas make the message and its text part."""
    at = {"item_id": "msg_9", "output_index": 0, "content_index": 0}
    data = ev("response.output_text.delta", **at, delta="lo", logprobs=[]) + ev(
        "response.function_call_arguments.delta", item_id="fc_1", output_index=1, delta='{"a"'
    )
    result = responses.merge(data, backend=backend)
    assert result.id is None
    message, call = result.output  # type: ignore[misc]
    assert isinstance(message, m.ResponseOutputMessage) and message.id == "msg_9"
    assert result.output_text == "lo"
    assert isinstance(call, m.ResponseFunctionToolCall) and call.arguments == '{"a"'


def test_sparse_indexes_keep_their_order(backend: ssedelta.Backend) -> None:
    data = (
        ev("response.output_item.added", output_index=5, item={**MESSAGE, "id": "b"})
        + ev("response.output_item.added", output_index=2, item={**MESSAGE, "id": "a"})
        + ev("response.content_part.added", item_id="a", output_index=2, content_index=3, part=TEXT_PART)
        + ev("response.output_text.delta", item_id="a", output_index=2, content_index=3, delta="x")
        + ev("response.output_text.delta", item_id="a", output_index=2, content_index=1, delta="y")
    )
    result = responses.merge(data, backend=backend)
    assert [item.id for item in result.output] == ["a", "b"]  # type: ignore[union-attr]
    assert [p.text for p in result.output[0].content] == ["y", "x"]  # type: ignore[union-attr]


def test_done_events_replace(backend: ssedelta.Backend) -> None:
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    stream = text_stream("ab", terminal=None)[:4]
    stream.append(ev("response.output_text.done", **at, text="AB", logprobs=[]))
    assert responses.merge(b"".join(stream), backend=backend).output_text == "AB"
    stream.append(ev("response.output_text.delta", **at, delta="C"))
    assert responses.merge(b"".join(stream), backend=backend).output_text == "ABC"


def test_late_done_after_the_item_is_done(backend: ssedelta.Backend) -> None:
    """OpenRouter sends ``reasoning_text.done`` after the item's ``output_item.done``."""
    item = {
        "type": "reasoning",
        "id": "rs",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "ab"}],
    }
    data = ev("response.output_item.done", output_index=0, item=item) + ev(
        "response.reasoning_text.done", item_id="rs", output_index=0, content_index=0, text="abc"
    )
    result = responses.merge(data, backend=backend)
    assert result.output[0].content[0].text == "abc"  # type: ignore[union-attr]


def test_annotations_logprobs_refusal_summary(backend: ssedelta.Backend) -> None:
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    lp = {"token": "a", "logprob": -0.1, "bytes": [97], "top_logprobs": []}
    citation = {"type": "url_citation", "url": "u", "title": "t", "start_index": 0, "end_index": 1}
    data = (
        ev("response.output_item.added", output_index=0, item=MESSAGE)
        + ev("response.content_part.added", **at, part=TEXT_PART)
        + ev("response.output_text.delta", **at, delta="a", logprobs=[lp])
        + ev("response.output_text.delta", **at, delta="b", logprobs=[lp])
        + ev("response.output_text.annotation.added", **at, annotation_index=0, annotation=citation)
        + ev(
            "response.content_part.added",
            **{**at, "content_index": 1},
            part={"type": "refusal", "refusal": ""},
        )
        + ev("response.refusal.delta", **{**at, "content_index": 1}, delta="no")
        + ev(
            "response.output_item.added",
            output_index=1,
            item={"type": "reasoning", "id": "rs", "summary": []},
        )
        + ev(
            "response.reasoning_summary_part.added",
            item_id="rs",
            output_index=1,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        + ev(
            "response.reasoning_summary_text.delta", item_id="rs", output_index=1, summary_index=0, delta="th"
        )
        + ev(
            "response.reasoning_summary_text.delta",
            item_id="rs",
            output_index=1,
            summary_index=0,
            delta="ink",
        )
    )
    result = responses.merge(data, backend=backend).to_dict()
    text, refusal = result["output"][0]["content"]
    assert text == {"type": "output_text", "text": "ab", "annotations": [citation], "logprobs": [lp, lp]}
    assert refusal == {"type": "refusal", "refusal": "no"}
    assert result["output"][1]["summary"] == [{"type": "summary_text", "text": "think"}]


def test_done_ends_the_stream_and_keep_alives_are_skipped(backend: ssedelta.Backend) -> None:
    stream = text_stream("a", terminal=None)
    data = b": keep-alive\n\n" + b"".join(stream[:4]) + b"data: \n\ndata: [DONE]\n\n" + b"data: {not json\n\n"
    m_ = merger(backend)
    m_.feed(data)
    assert m_.done
    assert m_.finish().output_text == "a"


def test_nothing_is_read_after_the_terminal_event(backend: ssedelta.Backend) -> None:
    data = b"".join(text_stream("a")) + b"data: {not json\n\n"
    assert responses.merge(data, backend=backend).output_text == "a"


def test_add_merges_event_objects_and_dicts(backend: ssedelta.Backend) -> None:
    stream = text_stream("Hel", "lo")
    fed = responses.merge(b"".join(stream), backend=backend)
    added = merger(backend)
    for k, event in enumerate(responses.iter_events(b"".join(stream), backend=backend)):
        added.add(event if k % 2 else event.to_dict())
    assert added.finish() == fed


# ---------------------------------------------------------------- bad input


def _bad(
    backend: ssedelta.Backend, good: bytes, bad_payload: bytes, error: type[Exception], match: str
) -> None:
    data = good + b"data: " + bad_payload + b"\n\n"
    m_ = merger(backend)
    with pytest.raises(error, match=match) as caught:
        m_.feed(data)
    assert caught.value.offset == len(good) + 6  # type: ignore[attr-defined]
    assert caught.value.event_index == good.count(b"\n\n")  # type: ignore[attr-defined]
    # What came before is kept and well-formed; the merger stays failed.
    assert m_.snapshot() == responses.merge(good, backend=backend)
    with pytest.raises(error):
        m_.feed(b"")
    with pytest.raises(error):
        m_.finish()


GOOD = b"".join(text_stream("Hel", terminal=None)[:4])
AT = b'"item_id":"msg_1","output_index":0,"content_index":0'


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"[1, 2]", "not a JSON object but an array"),
        (b'"text"', "not a JSON object but a string"),
        (b"null", "not a JSON object but null"),
        (b"12", "not a JSON object but a number"),
    ],
)
def test_non_object_payload(backend: ssedelta.Backend, payload: bytes, match: str) -> None:
    _bad(backend, GOOD, payload, ssedelta.InvalidChunkError, match)


def test_invalid_json(backend: ssedelta.Backend) -> None:
    _bad(backend, GOOD, b'{"type": "response.output_text.delta", ', ssedelta.InvalidJSONError, "invalid JSON")


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b'{"delta":"x"}', "type: expected str"),
        (b'{"type":["x"]}', "type: expected str"),
        (b'{"type":"response.output_text.delta",' + AT + b',"delta":5}', "delta: expected str"),
        (
            b'{"type":"response.output_text.delta","output_index":"0","content_index":0,"delta":"x"}',
            "output_index: expected int",
        ),
        (
            b'{"type":"response.output_text.delta","output_index":0,"delta":"x"}',
            "content_index: expected int",
        ),
        (
            b'{"type":"response.output_text.delta",' + AT + b',"delta":"x","logprobs":{}}',
            "logprobs: expected list",
        ),
        (
            b'{"type":"response.output_text.delta",' + AT + b',"delta":"x","logprobs":[{"token":1}]}',
            r"logprobs\[0\].token",
        ),
        (b'{"type":"response.output_text.done",' + AT + b',"text":["x"]}', "text: expected str"),
        (b'{"type":"response.output_item.added","output_index":1,"item":"x"}', "item: expected an object"),
        (
            b'{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","arguments":5}}',
            "item.arguments",
        ),
        (b'{"type":"response.output_item.added","output_index":1,"item":{"type":{}}}', "item.type"),
        (
            b'{"type":"response.content_part.added",' + AT + b',"part":{"type":"output_text","text":1}}',
            "part.text",
        ),
        (b'{"type":"response.completed","response":[]}', "response: expected dict"),
        (
            b'{"type":"response.completed","response":{"usage":{"input_tokens":"1"}}}',
            "response.usage.input_tokens",
        ),
        (
            b'{"type":"response.completed","response":{"output":[{"type":"message","content":"x"}]}}',
            r"response.output\[0\].content",
        ),
        (
            b'{"type":"response.shell_call_output_content.delta","output_index":0,"command_index":0,"delta":"x"}',
            "delta: expected an object of strings",
        ),
    ],
)
def test_wrong_types(backend: ssedelta.Backend, payload: bytes, match: str) -> None:
    _bad(backend, GOOD, payload, ssedelta.InvalidChunkError, match)


def test_event_too_large(backend: ssedelta.Backend) -> None:
    m_ = responses.merger_class(backend)(max_event_size=100)
    with pytest.raises(ssedelta.EventTooLargeError):
        m_.feed(ev("response.output_text.delta", output_index=0, content_index=0, delta="x" * 200))


def test_decoder_returns_events_before_the_error(backend: ssedelta.Backend) -> None:
    decoder = responses.decoder_class(backend)()
    events = decoder.feed(GOOD + b"data: [1]\n\n")
    assert [type(e).__name__ for e in events] == [
        "ResponseCreatedEvent",
        "ResponseOutputItemAddedEvent",
        "ResponseContentPartAddedEvent",
        "ResponseTextDeltaEvent",
    ]
    with pytest.raises(ssedelta.InvalidChunkError) as caught:
        decoder.feed(b"")
    assert caught.value.offset == len(GOOD) + 6
    with pytest.raises(ssedelta.InvalidChunkError, match="output_index"):
        list(
            responses.iter_events(
                b'data: {"type":"response.output_text.delta","output_index":"x"}\n\n', backend=backend
            )
        )


def test_unknown_event_types_change_nothing(backend: ssedelta.Backend) -> None:
    data = (
        GOOD
        + ev("response.future_thing.delta", output_index=0, delta="zzz")
        + ev("response.web_search_call.searching", output_index=0, item_id="msg_1")
    )
    assert responses.merge(data, backend=backend) == responses.merge(GOOD, backend=backend)


def test_interleaved_deltas_go_to_their_own_places(backend: ssedelta.Backend) -> None:
    """Runs of deltas take a shortcut; deltas that alternate between places, change kind or carry
    logprobs must land exactly where the slow path puts them."""
    lp = {"token": "x", "logprob": -1.0, "bytes": [120], "top_logprobs": []}
    call = {"type": "function_call", "id": "fc", "call_id": "c", "name": "f", "arguments": ""}
    parts = [
        ev("response.output_item.added", output_index=0, item=call),
        ev("response.output_item.added", output_index=1, item={**call, "id": "fc2"}),
    ]
    want = {0: "", 1: ""}
    for k in range(40):
        i = (k // 3) % 2
        parts.append(ev("response.function_call_arguments.delta", item_id="fc", output_index=i, delta=str(k)))
        want[i] += str(k)
    at = {"item_id": "m", "output_index": 2, "content_index": 0}
    for k in range(6):
        extra = {"logprobs": [lp]} if k % 2 else {}
        parts.append(ev("response.output_text.delta", **at, delta=f"t{k}", **extra))
        parts.append(ev("response.output_text.delta", **{**at, "content_index": 1}, delta=f"u{k}"))
    data = b"".join(parts)
    for pieces in ([data], [bytes([b]) for b in data]):
        m_ = merger(backend)
        for piece in pieces:
            m_.feed(piece)
        result = m_.finish().to_dict()
        assert [result["output"][i]["arguments"] for i in (0, 1)] == [want[0], want[1]]
        text, other = result["output"][2]["content"]
        assert text == {"type": "output_text", "text": "t0t1t2t3t4t5", "logprobs": [lp, lp, lp]}
        assert other == {"type": "output_text", "text": "u0u1u2u3u4u5"}


def test_a_bad_delta_after_a_run_of_good_ones(backend: ssedelta.Backend) -> None:
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    good = GOOD + ev("response.output_text.delta", **at, delta="x")
    for bad in (
        b'{"type":"response.output_text.delta","item_id":"msg_1","output_index":true,"content_index":0,"delta":"y"}',
        b'{"type":"response.output_text.delta",' + AT + b',"delta":null}',
        b'{"type":"response.output_text.delta",' + AT + b',"delta":"y","logprobs":7}',
    ):
        _bad(backend, good, bad, ssedelta.InvalidChunkError, "not a Responses API event")


@pytest.mark.parametrize("good", [b"", ev("response.created", response=response())])
def test_payload_without_type_before_any_delta(backend: ssedelta.Backend, good: bytes) -> None:
    _bad(backend, good, b'{"delta":"x"}', ssedelta.InvalidChunkError, "type: expected str")
