"""Every recorded Messages stream, merged on both backends, against the official SDK's result."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from anthropic_corpus import DIFFERENCES, STREAMS, body, events, ours, payloads, sdk_expected

import ssedelta
from ssedelta import anthropic as sa


def fns(backend: ssedelta.Backend) -> sa.Functions:
    return sa.for_backend(backend)


def as_json(message: sa.Message) -> Any:
    return json.loads(message.to_json())


def random_pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 40))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def test_the_sdk_is_the_installed_package_not_this_subpackage() -> None:
    import anthropic

    assert Path(anthropic.__file__).parent.parent.name == "site-packages"
    assert sa.__name__ == "ssedelta.anthropic"
    assert not hasattr(anthropic, "MessagesMerger")


def test_the_corpus_is_complete() -> None:
    assert len(STREAMS) == 30
    assert set(DIFFERENCES) <= set(STREAMS)


@pytest.mark.parametrize("name", STREAMS)
def test_merges_to_the_expected_message(backend: ssedelta.Backend, name: str) -> None:
    assert as_json(fns(backend).merge(body(name))) == ours(name)


@pytest.mark.parametrize("name", STREAMS)
def test_random_splits_give_the_same_message(backend: ssedelta.Backend, name: str) -> None:
    data = body(name)
    whole = fns(backend).merge(data)
    rng = random.Random(name)
    for _ in range(5):
        merger = fns(backend).MessagesMerger()
        for piece in random_pieces(data, rng):
            merger.feed(piece)
            merger.snapshot()
        assert merger.finish() == whole
        assert merger.finish().to_dict() == whole.to_dict()


@pytest.mark.parametrize("name", STREAMS)
def test_every_event_payload_round_trips(backend: ssedelta.Backend, name: str) -> None:
    decoded = list(fns(backend).iter_events(body(name)))
    assert [e.to_dict() for e in decoded] == payloads(name)
    for event in decoded:
        assert type(event).from_json(event.to_json()) == event


@pytest.mark.parametrize("name", STREAMS)
def test_usage_is_the_last_value_of_each_counter(backend: ssedelta.Backend, name: str) -> None:
    objs = payloads(name)
    expected = dict(objs[0]["message"]["usage"])
    for o in objs:
        if o["type"] == "message_delta":
            expected.update((k, v) for k, v in o["usage"].items() if v is not None)
    assert fns(backend).merge(body(name)).usage.to_dict() == expected


def test_usage_counts_may_go_down(backend: ssedelta.Backend) -> None:
    name = "pydantic-pydantic-ai__sonnet46_compaction_delta_iterations"
    assert payloads(name)[0]["message"]["usage"]["cache_read_input_tokens"] == 55096
    usage = fns(backend).merge(body(name)).usage
    assert usage.cache_read_input_tokens == 0
    assert usage.input_tokens == 181
    assert usage.cache_creation == sa.CacheCreation(ephemeral_1h_input_tokens=0, ephemeral_5m_input_tokens=0)


# ------------------------------------------------------------------ where the SDK's result differs


def test_mcp_tool_use_input_parsed(backend: ssedelta.Backend) -> None:
    """The non-beta SDK tracks tool input only for ``tool_use`` and ``server_tool_use`` blocks, so it
    leaves the ``mcp_tool_use`` input ``{}`` although the stream sent it in ``input_json_delta``
    events (its own beta accumulator parses it). The input the model gave is the right one."""
    name = "pydantic-pydantic-ai__sonnet45_mcp_tool_use_result"
    assert sdk_expected(name)["content"][1]["input"] == {}
    block = fns(backend).merge(body(name)).content[1]
    assert isinstance(block, sa.MCPToolUseBlock)
    assert block.input == {
        "repoName": "pydantic/pydantic-ai",
        "question": "What is this repository about? What are its main features and purpose?",
    }


def test_compaction_delta_applied(backend: ssedelta.Backend) -> None:
    """The non-beta SDK does not know ``compaction_delta`` and keeps ``content: null``; the summary
    the server sent is the block's content (the beta accumulator replaces it the same way)."""
    name = "pydantic-pydantic-ai__sonnet46_compaction_delta_iterations"
    assert sdk_expected(name)["content"][0]["content"] is None
    block = fns(backend).merge(body(name)).content[0]
    assert isinstance(block, sa.CompactionBlock)
    assert block.content is not None
    assert block.content.startswith("The user provided a very long context")
    assert block.content.endswith("Next step: Say hello to the user.")


@pytest.mark.parametrize(
    "name",
    [
        "pydantic-pydantic-ai__sonnet46_compaction_delta_iterations",
        "pydantic-pydantic-ai__sonnet5_advisor_tool_result",
    ],
)
def test_usage_keys_of_message_delta_kept(backend: ssedelta.Backend, name: str) -> None:
    """The SDK copies only the usage keys it models from ``message_delta`` and drops ``iterations``
    (the per-iteration breakdown billing needs with compaction and advisors). Unknown keys are kept."""
    assert "iterations" not in sdk_expected(name)["usage"]
    usage = fns(backend).merge(body(name)).usage
    (delta,) = [o for o in payloads(name) if o["type"] == "message_delta"]
    assert usage.extras["iterations"] == delta["usage"]["iterations"]
    assert len(usage.extras["iterations"]) >= 2


def test_message_delta_keys_kept(backend: ssedelta.Backend) -> None:
    """The SDK drops the ``context_management`` key a ``message_delta`` carries (its beta message
    model has it as a field); unknown keys are never lost."""
    name = "pydantic-pydantic-ai__sonnet46_compaction_delta_iterations"
    assert "context_management" not in sdk_expected(name)
    message = fns(backend).merge(body(name))
    assert message.extras["context_management"] == {"applied_edits": []}


@pytest.mark.parametrize("name", STREAMS)
def test_equal_to_the_sdk_where_no_difference_is_named(backend: ssedelta.Backend, name: str) -> None:
    if name in DIFFERENCES:
        assert as_json(fns(backend).merge(body(name))) != sdk_expected(name)
    else:
        assert as_json(fns(backend).merge(body(name))) == sdk_expected(name)


# ------------------------------------------------------------------ tool input parsed once


@pytest.mark.parametrize("name", STREAMS)
def test_tool_input_is_parsed_once_per_block(
    backend: ssedelta.Backend, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objs = payloads(name)
    with_json = {
        o["index"]
        for o in objs
        if o["type"] == "content_block_delta"
        and o["delta"]["type"] == "input_json_delta"
        and o["delta"]["partial_json"]
    }
    parsed: list[str] = []

    def counting(text: str) -> Any:
        parsed.append(text)
        return orjson.loads(text)

    monkeypatch.setattr(sa._state, "parse_input", counting)
    merger = fns(backend).MessagesMerger()
    for _, payload, _ in events(body(name)):  # one event per piece, a snapshot after each
        merger.feed(b"data: " + payload + b"\n\n")
        merger.snapshot()
    merger.finish()
    assert len(parsed) == len(with_json)


def test_snapshot_mid_block_holds_the_json_text_so_far(backend: ssedelta.Backend) -> None:
    name = "Mirascope-mirascope__sonnet4_text_then_parallel_tool_use"
    evs = events(body(name))
    objs = payloads(name)
    index = next(o["index"] for o in objs if o.get("content_block", {}).get("type") == "tool_use")
    fragments = [
        o["delta"]["partial_json"] for o in objs if o["type"] == "content_block_delta" and o["index"] == index
    ]
    assert len(fragments) >= 3
    merger = fns(backend).MessagesMerger()
    seen = 0
    for (_, payload, _), o in zip(evs, objs, strict=True):
        merger.feed(b"data: " + payload + b"\n\n")
        if o["type"] == "content_block_delta" and o["index"] == index:
            seen += 1
            text = "".join(fragments[:seen])
            block = merger.snapshot().content[index]
            assert block.input == (text if text else {})
            if seen == 2:
                break
    final = merger.finish()  # the stream was cut inside the block: the text does not parse
    assert final.content[index].input == "".join(fragments[:2])
