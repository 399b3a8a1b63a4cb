"""The Responses API models: lossless round trips, discriminated lists, unknown types and keys kept."""

from __future__ import annotations

import pickle
import typing

import orjson
import pytest
from responses_streams import STREAMS, blocks, body, expected, payload_of, sdk_raised

import ssedelta
from ssedelta.responses import models as m


def _payloads() -> list[tuple[str, int, bytes]]:
    out = []
    for name in STREAMS:
        for k, block in enumerate(blocks(body(name))):
            payload = payload_of(block)
            if payload is not None and payload != b"[DONE]":
                out.append((name, k, payload))
    return out


PAYLOADS = _payloads()


def test_every_event_payload_round_trips(backend: ssedelta.Backend) -> None:
    kinds = set()
    for name, k, payload in PAYLOADS:
        event = m.event_from_dict(orjson.loads(payload))
        assert event.to_dict() == orjson.loads(payload), (name, k)
        assert type(event).from_json(payload).to_dict() == orjson.loads(payload), (name, k)
        assert not isinstance(event, m.GenericEvent), (name, k)
        kinds.add(type(event).__name__)
    assert len(PAYLOADS) == 6087
    assert {"ResponseTextDeltaEvent", "ResponseCompletedEvent", "ResponseErrorEvent"} <= kinds


@pytest.mark.parametrize("name", [n for n in STREAMS if not sdk_raised(n)])
def test_sdk_results_round_trip(name: str) -> None:
    result = expected(name)
    response = m.Response.from_dict(result)
    assert response.to_dict() == result
    assert not any(isinstance(item, m.GenericOutputItem) for item in response.output or ())


def test_every_event_class_is_named_as_in_the_sdk() -> None:
    """Each event type has the class name the SDK's ``ResponseStreamEvent`` union gives it, but the
    two apply_patch ones (the SDK has no model for them)."""
    from openai.types.responses import response_stream_event

    union = typing.get_args(typing.get_args(response_stream_event.ResponseStreamEvent)[0])
    sdk = {typing.get_args(cls.model_fields["type"].annotation)[0]: cls.__name__ for cls in union}
    ours = {kind: cls.__name__ for kind, cls in m.EVENT_TYPES.items()}
    assert {k: v for k, v in ours.items() if k in sdk} == sdk
    assert set(ours) - set(sdk) == {
        "response.apply_patch_call_operation_diff.delta",
        "response.apply_patch_call_operation_diff.done",
    }


def test_items_are_told_apart_by_type() -> None:
    response = m.Response.from_dict(
        {
            "id": "resp_1",
            "object": "response",
            "output": [
                {
                    "type": "message",
                    "id": "m",
                    "content": [{"type": "output_text", "text": "hi", "annotations": []}],
                },
                {"type": "reasoning", "id": "r", "summary": [{"type": "summary_text", "text": "s"}]},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                {"type": "future_call", "id": "x", "whatever": [1, 2]},
            ],
        }
    )
    message, reasoning, call, future = response.output  # type: ignore[misc]
    assert isinstance(message, m.ResponseOutputMessage)
    assert isinstance(message.content[0], m.ResponseOutputText)  # type: ignore[index]
    assert isinstance(reasoning, m.ResponseReasoningItem)
    assert isinstance(call, m.ResponseFunctionToolCall)
    assert isinstance(future, m.GenericOutputItem)
    assert future.type == "future_call" and future.extras == {"whatever": [1, 2]}
    assert response.output_text == "hi"


def test_unknown_event_types_and_enum_values_are_kept() -> None:
    payload = {"type": "response.future.delta", "sequence_number": 3, "x": {"y": 1}}
    event = m.event_from_dict(payload)
    assert isinstance(event, m.GenericEvent)
    assert event.to_dict() == payload
    done = m.event_from_dict(
        {"type": "response.completed", "response": {"id": "r", "status": "paused", "output": []}}
    )
    assert isinstance(done, m.ResponseCompletedEvent)
    assert done.response.status == "paused"  # type: ignore[union-attr]


def test_wrong_types_raise_schema_errors() -> None:
    with pytest.raises(m.SchemaError, match="output_index"):
        m.event_from_dict({"type": "response.output_text.delta", "output_index": "0", "delta": "x"})
    with pytest.raises(m.SchemaError, match=r"response.usage.input_tokens"):
        m.event_from_dict({"type": "response.completed", "response": {"usage": {"input_tokens": "3"}}})
    with pytest.raises(m.SchemaError):
        m.event_from_dict([1])


def test_error_event_in_both_shapes() -> None:
    nested = m.event_from_dict(
        {"type": "error", "sequence_number": 2, "error": {"code": "c", "message": "no"}}
    )
    flat = m.event_from_dict({"type": "error", "code": "c", "message": "no", "param": None})
    assert isinstance(nested, m.ResponseErrorEvent) and nested.error == {"code": "c", "message": "no"}
    assert isinstance(flat, m.ResponseErrorEvent) and flat.message == "no"


def test_models_pickle_compare_and_have_no_dict() -> None:
    response = m.Response.from_dict(expected("traceloop-openllmetry__gpt41_nano_text"))
    assert pickle.loads(pickle.dumps(response)) == response
    assert not hasattr(response, "__dict__")
    assert "Response(" in repr(response)
    built = m.ResponseOutputText(text="a", annotations=[])
    assert built.to_dict() == {"type": "output_text", "text": "a", "annotations": []}
