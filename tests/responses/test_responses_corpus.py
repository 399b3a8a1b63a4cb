"""Every recorded Responses API stream, merged on both backends and checked against the SDK's result.

Where ours differs from the official SDK's result, or the SDK raised, a named test below says
what differs and why ours is right.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from responses_streams import (
    STREAMS,
    TERMINAL,
    blocks,
    body,
    events,
    expected,
    merged_dict,
    payload_of,
    random_pieces,
    sdk_raised,
    streamed_values,
    terminal,
    value_at,
    without_sdk_keys,
)

import ssedelta
from ssedelta import responses
from ssedelta._env import NO_EXTENSIONS
from ssedelta.responses import models as m

SDK_OK = [name for name in STREAMS if not sdk_raised(name)]

#: Streams whose request asked for a JSON schema: the SDK dumps ``text.format.schema`` as
#: ``schema_`` (the attribute name its pydantic model gives the key), a key no server sent.
SCHEMA_RENAMED = {
    "Mirascope-mirascope__gpt4o_refusal",
    "Mirascope-mirascope__gpt4o_text_then_tool_call",
    "Mirascope-mirascope__gpt4o_two_messages",
    "charmbracelet-fantasy__openai_gpt4o_mini_structured_object",
}


def sdk_result_as_sent(name: str) -> dict[str, Any]:
    """The SDK's result with its two additions to the wire undone: the ``parsed``/``parsed_arguments``
    keys of ``parse_response`` and the ``schema_`` rename (each has its own test below)."""
    result = without_sdk_keys(expected(name))
    if name in SCHEMA_RENAMED:
        fmt = result["text"]["format"]
        result["text"]["format"] = {("schema" if k == "schema_" else k): v for k, v in fmt.items()}
    return result  # type: ignore[no-any-return]


def test_the_corpus_is_there() -> None:
    assert len(STREAMS) == 41
    assert len(SDK_OK) == 36


@pytest.mark.parametrize("name", SDK_OK)
def test_merge_equals_the_sdk_result(backend: ssedelta.Backend, name: str) -> None:
    result, error = merged_dict(backend, body(name))
    assert error is None
    assert result == sdk_result_as_sent(name)


@pytest.mark.parametrize("name", STREAMS)
def test_random_splits_merge_the_same(backend: ssedelta.Backend, name: str) -> None:
    whole = merged_dict(backend, body(name))[0]
    for seed in range(3):
        assert merged_dict(backend, random_pieces(body(name), (name, seed)))[0] == whole
    assert merged_dict(backend, [bytes([b]) for b in body(name)[:4000]] + [body(name)[4000:]])[0] == whole


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
def test_backends_agree(name: str) -> None:
    results = {
        b: merged_dict(ssedelta.get_backend(b), random_pieces(body(name), name, 64))[0]
        for b in ("python", "native")
    }
    assert results["python"] == results["native"]


@pytest.mark.parametrize("name", STREAMS)
def test_async_merge_and_events(backend: ssedelta.Backend, name: str) -> None:
    async def source() -> Any:
        for piece in random_pieces(body(name), name):
            yield piece

    async def run() -> dict[str, Any]:
        try:
            return (await responses.amerge(source(), backend=backend)).to_dict()
        except ssedelta.UpstreamError as exc:
            return exc.partial.to_dict()  # type: ignore[no-any-return]

    assert asyncio.run(run()) == merged_dict(backend, body(name))[0]
    decoded = list(responses.iter_events(random_pieces(body(name), name), backend=backend))
    assert [e.to_dict() for e in decoded] == events(name)


@pytest.mark.parametrize("name", STREAMS)
def test_merged_strings_equal_the_terminal_response(backend: ssedelta.Backend, name: str) -> None:
    """Fed everything before the terminal event, the merger holds the text, arguments, code,
    diffs, commands and annotations the terminal response carries, at every place a delta built."""
    final = terminal(name)
    before = b"".join(b for b in blocks(body(name)) if not _is_terminal(b))
    merger = responses.merger_class(backend)()
    merger.feed(before)
    snapshot = merger.snapshot().to_dict()
    checked = 0
    for event in events(name):
        if final is None or not final.get("output"):
            break
        for where, value in streamed_values(event, final):
            assert value_at(snapshot, where) == value, where
            checked += 1
    has_deltas = any(e["type"].endswith(".delta") for e in events(name))
    assert checked > 0 or not has_deltas or not (final and final.get("output"))


@pytest.mark.parametrize("name", STREAMS)
def test_deltas_alone_rebuild_the_strings(backend: ssedelta.Backend, name: str) -> None:
    """With every ``*.done`` and terminal event removed, the deltas rebuild what the terminal
    response (or, without one, the ``*.done`` events) says."""
    final = terminal(name) or merged_dict(backend, body(name))[0]
    kept = [b for b in blocks(body(name)) if not _is_done_or_terminal(b)]
    result, _ = merged_dict(backend, b"".join(kept))
    for event in events(name):
        for where, value in streamed_values(event, final):
            assert value_at(result, where) == value, where


@pytest.mark.parametrize("name", STREAMS)
def test_snapshot_at_every_event_is_a_valid_response(backend: ssedelta.Backend, name: str) -> None:
    merger = responses.merger_class(backend)()
    previous_text = ""
    for block in blocks(body(name)):
        merger.feed(block)
        snapshot = merger.snapshot()
        assert isinstance(snapshot, m.Response)
        assert m.Response.from_dict(snapshot.to_dict()) == snapshot
        text = snapshot.output_text
        if merger.done:
            break
        # Until the terminal event, text only grows (a ``.done`` replaces it with the same text).
        assert text.startswith(previous_text)
        previous_text = text


def test_snapshots_are_independent_of_later_events(backend: ssedelta.Backend) -> None:
    name = "vercel-ai__openai_gpt52_shell_calls_with_output"
    parts = blocks(body(name))
    merger = responses.merger_class(backend)()
    taken = []
    for block in parts:
        merger.feed(block)
        snapshot = merger.snapshot()
        taken.append((snapshot, snapshot.to_json()))
    for snapshot, as_json in taken:
        assert snapshot.to_json() == as_json


# ---------------------------------------------------------------- where the SDK differs


def test_sdk_adds_parsed_keys_no_stream_carries() -> None:
    """``parse_response`` adds ``parsed: null`` to output_text parts and ``parsed_arguments: null``
    to function calls; no server sends them, so ours has neither."""
    name = "Mirascope-mirascope__gpt4o_parallel_tool_calls"
    sdk = expected(name)
    assert all("parsed_arguments" in item for item in sdk["output"] if item["type"] == "function_call")
    ours = responses.merge(body(name)).to_dict()
    assert not any("parsed_arguments" in item for item in ours["output"])
    assert ours == without_sdk_keys(sdk)


@pytest.mark.parametrize("name", sorted(SCHEMA_RENAMED))
def test_sdk_renames_the_json_schema_key(backend: ssedelta.Backend, name: str) -> None:
    """The SDK dumps ``text.format.schema`` as ``schema_``; the stream sent ``schema``, and so does ours."""
    assert "schema_" in expected(name)["text"]["format"]
    ours = merged_dict(backend, body(name))[0]
    assert "schema" in ours["text"]["format"] and "schema_" not in ours["text"]["format"]
    assert ours["text"] == terminal(name)["text"]  # type: ignore[index]


@pytest.mark.parametrize(
    "name",
    [
        "DataDog-dd-trace-py__gpt4o_incomplete_max_output_tokens",
        "Mirascope-mirascope__gpt4o_incomplete_max_output_tokens",
    ],
)
def test_incomplete_is_a_result_where_the_sdk_raises(backend: ssedelta.Backend, name: str) -> None:
    """A stream ending in ``response.incomplete`` (``max_output_tokens``) carries the whole truncated
    response; the SDK raises ``Didn't receive a response.completed event``. Ours returns it."""
    assert expected(name)["error"]["stage"] == "get_final_response"
    result, error = merged_dict(backend, body(name))
    assert error is None
    assert result["status"] == "incomplete"
    assert result["incomplete_details"] == {"reason": "max_output_tokens"}
    assert result == terminal(name)
    # The text the SDK had merged before it gave up is ours too.
    sdk_text = expected(name)["partial_snapshot"]["output"][0]["content"][0]["text"]
    assert result["output"][0]["content"][0]["text"] == sdk_text


def test_resumed_stream_without_created(backend: ssedelta.Backend) -> None:
    """A background stream resumed with ``starting_after`` begins at ``response.in_progress``; the SDK
    raises at its first event. Ours merges it: the result is the completed response."""
    name = "openai-openai-dotnet__gpt41_mini_background_resume_starting_after"
    assert expected(name)["error"]["events_accepted"] == 0
    assert events(name)[0]["type"] == "response.in_progress"
    result, error = merged_dict(backend, body(name))
    assert error is None
    assert result == terminal(name)
    assert result["output"][0]["content"][0]["text"].startswith("Sure! Here")


def test_output_item_whose_call_id_changes(backend: ssedelta.Backend) -> None:
    """A ``tool_search_call`` whose ``call_id`` differs between ``output_item.added`` and ``.done``:
    the SDK raises ``Completed output item identity changed``. ``.done`` replaces the item, so ours
    holds the final call_id, as the completed response does."""
    name = "vercel-ai__openai_gpt54_tool_search_call_id_changes"
    added, done = (e["item"] for e in events(name) if e["type"].startswith("response.output_item."))
    assert added["call_id"] != done["call_id"]
    result, error = merged_dict(backend, body(name))
    assert error is None
    assert result["output"][0]["call_id"] == done["call_id"]
    assert result == terminal(name)


def test_error_event_then_failed(backend: ssedelta.Backend) -> None:
    """An ``error`` event (the error nested under ``error``, as servers send it) then
    ``response.failed``: the SDK raises ``APIError`` at the error event and never reads the failed
    response. Ours raises ``UpstreamError`` with that error object, and its partial is the failed
    response (``status: failed``, the response's ``error``)."""
    name = "vercel-ai__openai_gpt5_nano_error_insufficient_quota"
    sdk = expected(name)
    assert sdk["error"]["type"] == "openai.APIError"
    with pytest.raises(ssedelta.UpstreamError) as caught:
        responses.merge(body(name), backend=backend)
    assert caught.value.error == sdk["error"]["body"]
    assert str(caught.value) == sdk["error"]["message"]
    assert caught.value.event_index == 2
    partial = caught.value.partial.to_dict()
    assert partial == terminal(name)
    assert partial["status"] == "failed"
    assert partial["error"]["code"] == "insufficient_quota"
    offset = body(name).index(b'{"type":"error"')
    assert caught.value.offset == offset


def _kind(block: bytes) -> str | None:
    payload = payload_of(block)
    try:
        return json.loads(payload)["type"]  # type: ignore[arg-type,no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def _is_terminal(block: bytes) -> bool:
    return _kind(block) in TERMINAL


def _is_done_or_terminal(block: bytes) -> bool:
    kind = _kind(block)
    return kind is not None and (kind.endswith(".done") or kind in TERMINAL)


def test_sdk_writes_whole_numbers_as_floats() -> None:
    """The SDK's model declares ``created_at``, ``temperature`` and ``top_p`` as floats, so its dump
    turns the wire's ``1763474589`` into ``1763474589.0``; ours keeps the number as sent."""
    name = "vercel-ai__lmstudio_gemma_text"
    wire = terminal(name)
    assert wire is not None and type(wire["created_at"]) is int
    assert type(expected(name)["created_at"]) is float
    ours = responses.merge(body(name)).to_dict()
    assert type(ours["created_at"]) is int and ours["created_at"] == wire["created_at"]
