"""The recorded Responses API streams in ``tests/data/responses`` and helpers to read them.

Each ``<name>.sse`` is a recorded body and ``<name>.expected.json`` the official openai SDK's
result (or the exception it raised); see ``PROVENANCE.md`` there. The helpers here read the
bodies with ``json`` and plain byte splitting, independently of the code under test.
"""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import ssedelta
from ssedelta import responses

DATA = Path(__file__).resolve().parent.parent / "data" / "responses"

STREAMS: list[str] = sorted(p.name[: -len(".sse")] for p in DATA.glob("*.sse"))

TERMINAL = ("response.completed", "response.incomplete", "response.failed")

#: Keys the SDK's ``parse_response`` adds that no stream carries.
SDK_ONLY_KEYS = ("parsed", "parsed_arguments")


@cache
def body(name: str) -> bytes:
    return (DATA / f"{name}.sse").read_bytes()


@cache
def expected(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.expected.json").read_text("utf-8"))  # type: ignore[no-any-return]


def sdk_raised(name: str) -> bool:
    e = expected(name)
    return "error" in e and "partial_snapshot" in e


def blocks(data: bytes) -> list[bytes]:
    """The event blocks of a body (LF line ends, as every recorded body has), each with its blank line."""
    return [b + b"\n\n" for b in data.split(b"\n\n") if b.strip()]


def payload_of(block: bytes) -> bytes | None:
    for line in block.split(b"\n"):
        if line.startswith(b"data: "):
            return line[6:]
    return None


def events(name: str) -> list[dict[str, Any]]:
    """The JSON payloads of a stream, in order (``[DONE]`` left out)."""
    out = []
    for block in blocks(body(name)):
        payload = payload_of(block)
        if payload is not None and payload != b"[DONE]":
            out.append(json.loads(payload))
    return out


def terminal(name: str) -> dict[str, Any] | None:
    """The ``response`` of the stream's terminal event, parsed with ``json``."""
    for event in events(name):
        if event["type"] in TERMINAL:
            return event["response"]  # type: ignore[no-any-return]
    return None


def without_sdk_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_sdk_keys(v) for k, v in value.items() if k not in SDK_ONLY_KEYS}
    if isinstance(value, list):
        return [without_sdk_keys(v) for v in value]
    return value


def random_pieces(data: bytes, seed: object, largest: int = 300) -> list[bytes]:
    rng = random.Random(str(seed))
    pieces, i = [], 0
    while i < len(data):
        n = rng.randint(1, largest)
        pieces.append(data[i : i + n])
        i += n
    return pieces


def merged_dict(
    backend: ssedelta.Backend, source: Any
) -> tuple[dict[str, Any], ssedelta.UpstreamError | None]:
    """The merged response as a dict, and the upstream error ``merge`` raised (its partial is the result)."""
    try:
        return responses.merge(source, backend=backend).to_dict(), None
    except ssedelta.UpstreamError as exc:
        return exc.partial.to_dict(), exc


def streamed_values(event: dict[str, Any], response: dict[str, Any]) -> list[tuple[str, Any]]:
    """What a delta event builds, read from a (terminal) response by hand: (where, value) pairs."""
    kind = event["type"]
    output = response.get("output") or []
    i = event.get("output_index")
    if not isinstance(i, int) or i >= len(output):
        return []
    item = output[i]
    at = f"output[{i}]"
    if kind in ("response.output_text.delta", "response.reasoning_text.delta"):
        j = event["content_index"]
        return [(f"{at}.content[{j}].text", item["content"][j]["text"])]
    if kind == "response.refusal.delta":
        j = event["content_index"]
        return [(f"{at}.content[{j}].refusal", item["content"][j]["refusal"])]
    if kind == "response.output_text.annotation.added":
        j = event["content_index"]
        return [(f"{at}.content[{j}].annotations", item["content"][j]["annotations"])]
    if kind == "response.reasoning_summary_text.delta":
        j = event["summary_index"]
        return [(f"{at}.summary[{j}].text", item["summary"][j]["text"])]
    if kind in ("response.function_call_arguments.delta", "response.mcp_call_arguments.delta"):
        return [(f"{at}.arguments", item["arguments"])]
    if kind == "response.code_interpreter_call_code.delta":
        return [(f"{at}.code", item["code"])]
    if kind == "response.apply_patch_call_operation_diff.delta":
        return [(f"{at}.operation.diff", item["operation"]["diff"])]
    if kind == "response.shell_call_command.delta":
        j = event["command_index"]
        return [(f"{at}.action.commands[{j}]", item["action"]["commands"][j])]
    if kind == "response.shell_call_output_content.delta":
        j = event["command_index"]
        entry = item["output"][j]
        return [(f"{at}.output[{j}].{k}", entry[k]) for k in event["delta"]]
    return []


def value_at(response: dict[str, Any], where: str) -> Any:
    """The value at a path such as ``output[0].content[1].text`` of a response dict."""
    value: Any = response
    for step in where.replace("[", ".[").split("."):
        if not step:
            continue
        if step.startswith("["):
            index = int(step[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value
