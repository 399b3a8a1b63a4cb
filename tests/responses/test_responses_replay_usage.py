"""A merged Response replayed as a stream merges back to itself; its usage in ``ssedelta.Usage``."""

from __future__ import annotations

import json

import pytest
from responses_streams import STREAMS, body, merged_dict, terminal

import ssedelta
from ssedelta import responses
from ssedelta.responses import models as m

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _merged(backend: ssedelta.Backend, name: str) -> m.Response:
    try:
        return responses.merge(body(name), backend=backend)
    except ssedelta.UpstreamError as exc:
        return exc.partial  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.parametrize("fragment_chars", [None, 7])
def test_replay_merges_back(backend: ssedelta.Backend, name: str, fragment_chars: int | None) -> None:
    original = _merged(backend, name)
    stream = b"".join(responses.replay_sse(original, fragment_chars=fragment_chars))
    assert merged_dict(backend, stream)[0] == original.to_dict()
    numbers = [
        json.loads(line[6:])["sequence_number"] for line in stream.split(b"\n") if line.startswith(b"data: ")
    ]
    assert numbers == list(range(len(numbers)))


@pytest.mark.parametrize("name", STREAMS)
def test_replayed_deltas_alone_rebuild_the_output(backend: ssedelta.Backend, name: str) -> None:
    """Without its ``*.done`` and terminal events the replay still carries every streamed string."""
    original = _merged(backend, name)
    kept = []
    for event in responses.replay_sse(original, fragment_chars=5):
        kind = json.loads(event.split(b"data: ", 1)[1])["type"]
        if not (kind.endswith(".done") or kind in TERMINAL):
            kept.append(event)
    rebuilt = merged_dict(backend, b"".join(kept))[0]
    for ours, theirs in zip(rebuilt["output"], original.to_dict()["output"], strict=True):
        for key in ("arguments", "code", "input"):
            if isinstance(theirs.get(key), str):
                assert ours[key] == theirs[key]
        for key in ("content", "summary"):
            for part, want in zip(ours.get(key) or [], theirs.get(key) or [], strict=True):
                for text_key in ("text", "refusal", "annotations", "logprobs"):
                    if text_key in want:
                        assert part[text_key] == want[text_key]
    assert responses.merge(b"".join(kept), backend=backend).output_text == original.output_text


def test_replay_of_a_response_built_in_code(backend: ssedelta.Backend) -> None:
    built = m.Response(
        id="resp_x",
        status="completed",
        output=[
            m.ResponseOutputMessage(
                id="m",
                role="assistant",
                status="completed",
                content=[m.ResponseOutputText(text="hello", annotations=[])],
            ),
            m.ResponseFunctionToolCall(
                id="fc", call_id="c", name="f", arguments='{"q": 1}', status="completed"
            ),
        ],
    )
    stream = b"".join(responses.replay_sse(built, fragment_chars=2))
    assert stream.count(b"event: response.output_text.delta") == 3
    assert stream.count(b"event: response.function_call_arguments.delta") == 4
    assert responses.merge(stream, backend=backend).to_dict() == built.to_dict()
    with pytest.raises(ValueError, match="fragment_chars"):
        list(responses.replay_sse(built, fragment_chars=0))


def test_usage_is_normalised() -> None:
    name = "DataDog-dd-trace-py__gpt4o_cached_tokens"
    result = responses.merge(body(name))
    usage = ssedelta.Usage.of(result)
    wire = terminal(name)["usage"]  # type: ignore[index]
    assert usage is not None
    assert usage.format == "responses"
    assert usage.input_tokens == wire["input_tokens"]
    assert usage.cached_input_tokens == wire["input_tokens_details"]["cached_tokens"] == 1390
    assert usage.output_tokens == wire["output_tokens"]
    assert usage.reasoning_tokens == wire["output_tokens_details"]["reasoning_tokens"]
    assert usage.total_tokens == wire["total_tokens"]
    assert usage.original is result.usage


def test_usage_of_reasoning_and_of_no_usage(backend: ssedelta.Backend) -> None:
    name = "charmbracelet-fantasy__azure_gpt5_mini_reasoning_summary_text"
    usage = ssedelta.Usage.of(responses.merge(body(name), backend=backend))
    assert (
        usage is not None
        and usage.reasoning_tokens == terminal(name)["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    )  # type: ignore[index]
    assert ssedelta.Usage.of(m.Response(id="r", output=[])) is None
