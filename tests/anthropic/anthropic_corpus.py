"""The recorded Messages streams in ``tests/data/anthropic`` and what ssedelta must make of each.

Per stream ``<name>``: ``<name>.sse`` (the recorded body) and ``<name>.expected.json`` (the official
``anthropic`` SDK 2.17.0's merge, the oracle; see ``PROVENANCE.md``). Where ssedelta's merge differs
from the SDK's, ``DIFFERENCES`` names each difference per stream; ``ours()`` derives our expected
result from the SDK's by applying them, reading what they need from the recorded events directly.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "anthropic"

STREAMS: list[str] = sorted(p.name[: -len(".sse")] for p in DATA.glob("*.sse"))

#: Per stream, the ways our result differs from the SDK's (each has a named test).
DIFFERENCES: dict[str, tuple[str, ...]] = {
    "pydantic-pydantic-ai__sonnet45_mcp_tool_use_result": ("mcp_tool_use_input_parsed",),
    "pydantic-pydantic-ai__sonnet46_compaction_delta_iterations": (
        "compaction_delta_applied",
        "usage_keys_of_message_delta_kept",
        "message_delta_keys_kept",
    ),
    "pydantic-pydantic-ai__sonnet5_advisor_tool_result": ("usage_keys_of_message_delta_kept",),
}


@cache
def body(name: str) -> bytes:
    return (DATA / f"{name}.sse").read_bytes()


@cache
def sdk_expected(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.expected.json").read_text("utf-8"))  # type: ignore[no-any-return]


def events(data: bytes) -> list[tuple[str | None, bytes, int]]:
    """(event name, payload, payload offset) of each event of a recorded body (LF framing, one
    ``event:`` and one ``data:`` line per event, as every recording here has)."""
    out = []
    pos = 0
    for block in data.split(b"\n\n"):
        if block:
            name = None
            for line in block.split(b"\n"):
                if line.startswith(b"event: "):
                    name = line[7:].decode()
                elif line.startswith(b"data: "):
                    out.append((name, line[6:], pos + block.index(line) + 6))
        pos += len(block) + 2
    return out


def payloads(name: str) -> list[dict[str, Any]]:
    return [json.loads(p) for _, p, _ in events(body(name))]


def ours(name: str) -> dict[str, Any]:
    """Our expected result: the SDK's with this stream's named differences applied."""
    result = copy.deepcopy(sdk_expected(name))
    objs = payloads(name)
    for difference in DIFFERENCES.get(name, ()):
        if difference == "mcp_tool_use_input_parsed":
            for i, block in enumerate(result["content"]):
                if block["type"] == "mcp_tool_use":
                    text = "".join(
                        o["delta"]["partial_json"]
                        for o in objs
                        if o["type"] == "content_block_delta" and o["index"] == i
                    )
                    block["input"] = json.loads(text)
        elif difference == "compaction_delta_applied":
            for o in objs:
                if o["type"] == "content_block_delta" and o["delta"]["type"] == "compaction_delta":
                    result["content"][o["index"]]["content"] = o["delta"]["content"]
        elif difference == "usage_keys_of_message_delta_kept":
            (delta,) = [o for o in objs if o["type"] == "message_delta"]
            result["usage"].update((k, v) for k, v in delta["usage"].items() if v is not None)
        elif difference == "message_delta_keys_kept":
            (delta,) = [o for o in objs if o["type"] == "message_delta"]
            result.update((k, v) for k, v in delta.items() if k not in ("type", "delta", "usage"))
        else:  # pragma: no cover
            raise AssertionError(difference)
    return result
