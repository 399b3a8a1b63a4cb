"""Generated Responses API streams, wire-exact, and the implementations that merge them.

Each profile is written as OpenAI sends it (``event:`` then ``data:`` lines, compact JSON with OpenAI's
key order, ``sequence_number`` on every event, ``obfuscation`` on every delta, the full response object
on the lifecycle events) and fed in 4 KiB pieces:

``text``       one message whose text comes in 600 deltas
``tool``       one function call whose arguments come in 200 fragments
``reasoning``  a reasoning item with a 3-part summary (300 deltas), then a message (300 deltas)

Implementations: ssedelta's merger on the native and the python backend; the official openai SDK's own
path (its SSE decoder, ``construct_type`` of each event as ``openai.Stream`` runs it, and the
``ResponseStreamState`` accumulator of ``client.responses.stream``); and a bare ``split`` +
``orjson.loads`` loop (the floor: it parses every payload and merges nothing). Each result is checked
against what the generator wrote before anything is timed.

``python -m benchmarks.responses_profiles`` prints µs per event and the ratios (``python -m
benchmarks.formats --save`` measures both formats and saves what the pages show).
"""

from __future__ import annotations

import random
import string
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .corpus import PIECE_SIZE, split_pieces

_RESP_ID = "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef01"
_CREATED = 1_764_180_467


@dataclass(frozen=True)
class Profile:
    name: str
    data: bytes
    events: int
    text: str  # the output_text of the merged response
    arguments: str  # the function call's arguments ("" when none)
    summary: str  # the reasoning summary parts joined

    @property
    def pieces(self) -> list[bytes]:
        return split_pieces(self.data, PIECE_SIZE)


def _header(status: str) -> dict[str, Any]:
    return {
        "id": _RESP_ID,
        "object": "response",
        "created_at": _CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-5-2025-08-07",
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "safety_identifier": None,
        "service_tier": "auto",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: list[bytes] = []

    def event(self, kind: str, **fields: Any) -> None:
        payload = {"type": kind, "sequence_number": len(self.out), **fields}
        if kind.endswith(".delta"):
            payload["obfuscation"] = "".join(self.rng.choices(string.ascii_letters + string.digits, k=12))
        self.out.append(b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n")

    def start(self) -> None:
        self.event("response.created", response=_header("in_progress"))
        self.event("response.in_progress", response=_header("in_progress"))

    def completed(self, output: list[Any], output_tokens: int) -> bytes:
        usage = {
            "input_tokens": 812,
            "input_tokens_details": {"cached_tokens": 512},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 812 + output_tokens,
        }
        self.event("response.completed", response={**_header("completed"), "output": output, "usage": usage})
        return b"".join(self.out)

    def message(self, index: int, fragments: list[str]) -> dict[str, Any]:
        item_id = f"msg_{index}a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"
        item = {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
        at = {"item_id": item_id, "output_index": index, "content_index": 0}
        self.event("response.output_item.added", output_index=index, item=item)
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        self.event("response.content_part.added", **at, part=part)
        for fragment in fragments:
            self.event("response.output_text.delta", **at, delta=fragment, logprobs=[])
        text = "".join(fragments)
        self.event("response.output_text.done", **at, text=text, logprobs=[])
        self.event("response.content_part.done", **at, part={**part, "text": text})
        done = {**item, "status": "completed", "content": [{**part, "text": text}]}
        self.event("response.output_item.done", output_index=index, item=done)
        return done

    def function_call(self, index: int, fragments: list[str]) -> dict[str, Any]:
        item_id = f"fc_{index}a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": "call_8f2kQ0cX1vN7Lr3ZpY4wT9uB",
            "name": "search_flights",
        }
        self.event("response.output_item.added", output_index=index, item=item)
        for fragment in fragments:
            self.event(
                "response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=fragment
            )
        arguments = "".join(fragments)
        self.event(
            "response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=arguments
        )
        done = {**item, "status": "completed", "arguments": arguments}
        self.event("response.output_item.done", output_index=index, item=done)
        return done

    def reasoning(self, index: int, parts: list[list[str]]) -> dict[str, Any]:
        item_id = f"rs_{index}a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"
        item = {"id": item_id, "type": "reasoning", "summary": []}
        self.event("response.output_item.added", output_index=index, item=item)
        summary = []
        for k, fragments in enumerate(parts):
            at = {"item_id": item_id, "output_index": index, "summary_index": k}
            self.event(
                "response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""}
            )
            for fragment in fragments:
                self.event("response.reasoning_summary_text.delta", **at, delta=fragment)
            text = "".join(fragments)
            self.event("response.reasoning_summary_text.done", **at, text=text)
            self.event(
                "response.reasoning_summary_part.done", **at, part={"type": "summary_text", "text": text}
            )
            summary.append({"type": "summary_text", "text": text})
        encrypted = "".join(self.rng.choices(string.ascii_letters + string.digits, k=1200))
        done = {**item, "summary": summary, "encrypted_content": "gAAAAB" + encrypted}
        self.event("response.output_item.done", output_index=index, item=done)
        return done


_WORDS = ["the", "of", "flight", "fare", "Lisbon", "Tokyo", "window", "aisle", "seat", "layover", "direct"]
_WORDS += ["price", "\u00e9t\u00e9", "caf\u00e9", "\u2014", "\U0001f6eb"]


def _tokens(rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        word = rng.choice(_WORDS)
        out.append(word if i == 0 else (" " + word if rng.random() < 0.85 else ",\n" + word))
    return out


def _argument_fragments(rng: random.Random, n: int) -> list[str]:
    """About 2 KiB of arguments in ``n`` fragments, more past 200 fragments (16 bytes a fragment)."""
    legs = [
        {
            "from": rng.choice(["LIS", "NRT", "JFK"]),
            "to": rng.choice(["SFO", "CDG"]),
            "date": f"2026-0{k % 9 + 1}-1{k % 9}",
        }
        for k in range(40 if n <= 200 else n // 3)
    ]
    text = orjson.dumps({"query": "cheapest direct flight, window seat", "legs": legs}).decode()
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def text_profile(n: int = 600, seed: int = 1) -> Profile:
    w = _Writer(random.Random(seed))
    w.start()
    fragments = _tokens(w.rng, n)
    message = w.message(0, fragments)
    data = w.completed([message], n)
    return Profile("text", data, len(w.out), "".join(fragments), "", "")


def tool_profile(n: int = 200, seed: int = 2) -> Profile:
    w = _Writer(random.Random(seed))
    w.start()
    fragments = _argument_fragments(w.rng, n)
    call = w.function_call(0, fragments)
    data = w.completed([call], n)
    return Profile("tool", data, len(w.out), "", "".join(fragments), "")


def reasoning_profile(n: int = 300, seed: int = 3) -> Profile:
    w = _Writer(random.Random(seed))
    w.start()
    parts = [_tokens(w.rng, n // 3) for _ in range(3)]
    reasoning = w.reasoning(0, parts)
    fragments = _tokens(w.rng, n)
    message = w.message(1, fragments)
    data = w.completed([reasoning, message], 2 * n)
    summary = "".join("".join(p) for p in parts)
    return Profile("reasoning", data, len(w.out), "".join(fragments), "", summary)


def profiles(small: bool = False) -> list[Profile]:
    k = 10 if small else 1
    return [text_profile(600 // k), tool_profile(200 // k), reasoning_profile(300 // k)]


# --------------------------------------------------------------------------------------------------
# Implementations: a profile -> a zero-argument function; and the check of its result


def _ssedelta(backend: str) -> Callable[[Profile], Callable[[], Any]]:
    def make(profile: Profile) -> Callable[[], Any]:
        import ssedelta
        from ssedelta import responses

        cls = responses.merger_class(ssedelta.get_backend(backend))
        pieces = profile.pieces

        def run() -> Any:
            merger = cls()
            for piece in pieces:
                merger.feed(piece)
            return merger.finish()

        return run

    return make


def _openai_sdk(profile: Profile) -> Callable[[], Any]:
    """``client.responses.stream(...)`` without the HTTP: ``openai.Stream``'s SSE decoder and its rules
    (stop at ``[DONE]``, raise on an ``error`` key, ``construct_type`` as ``ResponseStreamEvent``), then
    ``ResponseStreamState.handle_event`` per event; the result is what ``get_final_response()`` returns."""
    from openai._exceptions import APIError
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    pieces = profile.pieces

    def run() -> Any:
        state: Any = ResponseStreamState(input_tools=omit, text_format=omit)
        for sse in SSEDecoder().iter_bytes(iter(pieces)):
            if sse.data.startswith("[DONE]"):
                break
            data = sse.json()
            if isinstance(data, dict) and data.get("error"):
                raise APIError(message=str(data["error"]), request=None, body=data["error"])  # type: ignore[arg-type]
            state.handle_event(construct_type(type_=ResponseStreamEvent, value=data))
        return state._completed_response

    return run


def bare_loop(pieces: Iterable[bytes]) -> list[Any]:
    """Split on blank lines, slice out the ``data: `` line, ``orjson.loads`` it: no merging."""
    loads = orjson.loads
    out = []
    buf = b""
    for piece in pieces:
        buf += piece
        *blocks, buf = buf.split(b"\n\n")
        for block in blocks:
            start = block.find(b"data: ")
            if start >= 0:
                out.append(loads(block[start + 6 :]))
    return out


def _bare(profile: Profile) -> Callable[[], Any]:
    pieces = profile.pieces
    return lambda: bare_loop(pieces)


def _summary_of(response: Any) -> tuple[str, str, str]:
    """(output_text, arguments, reasoning summary) of a ssedelta or an SDK response."""
    text, arguments, summary = "", "", ""
    for item in response.output:
        if item.type == "message":
            text += "".join(part.text for part in item.content if part.type == "output_text")
        elif item.type == "function_call":
            arguments += item.arguments
        elif item.type == "reasoning":
            summary += "".join(part.text for part in item.summary)
    return text, arguments, summary


def check(key: str, result: Any, profile: Profile) -> list[str]:
    if key == "bare":
        return [] if len(result) == profile.events else [f"{len(result)} payloads, expected {profile.events}"]
    got = _summary_of(result)
    want = (profile.text, profile.arguments, profile.summary)
    names = ("text", "arguments", "summary")
    return [
        f"{n}: {len(g)} chars, expected {len(w)}" for n, g, w in zip(names, got, want, strict=True) if g != w
    ]


#: key -> (label, make, needs the native core)
IMPLS: dict[str, tuple[str, Callable[[Profile], Callable[[], Any]], bool]] = {
    "ssedelta-native": ("ssedelta ResponsesMerger (native tokenizer)", _ssedelta("native"), True),
    "ssedelta-python": ("ssedelta ResponsesMerger (pure Python)", _ssedelta("python"), False),
    "openai-sdk": ("openai SDK: Stream + ResponseStreamState", _openai_sdk, False),
    "bare": ("bare split + orjson.loads", _bare, False),
}


def checked(key: str, profile: Profile) -> Callable[[], Any]:
    """The runner of ``key`` on ``profile``, after one checked run (``AssertionError`` when wrong)."""
    run = IMPLS[key][1](profile)
    errors = check(key, run(), profile)
    assert not errors, f"{key} is wrong on {profile.name}: {errors}"
    return run


GROWTH_FRAGMENTS = (250, 500, 1000, 2000, 4000)


def growth_series(sizes: Iterable[int] = GROWTH_FRAGMENTS) -> dict[str, list[tuple[int, float]]]:
    """Per implementation, (fragments, µs per event) for one function call whose arguments come in
    that many fragments (4,000 fragments: about 64 KiB of arguments): linear merging keeps it flat."""
    from .anthropic_profiles import interleaved

    keys = [k for k in IMPLS if k != "bare"]
    out: dict[str, list[tuple[int, float]]] = {k: [] for k in keys}
    for n in sizes:
        profile = tool_profile(n)
        timed = interleaved({k: checked(k, profile) for k in keys}, 0.1, 3)
        for key, seconds in timed.items():
            out[key].append((n, seconds / profile.events * 1e6))
    return out


def measure(small: bool = False, rounds: int = 7) -> dict[str, Any]:
    """Every profile and the growth curve, as the saved document."""
    from .anthropic_profiles import measure_profiles, results_doc

    def runs_of(profile: Profile) -> dict[str, Callable[[], Any]]:
        return {key: checked(key, profile) for key in IMPLS}

    streams = {p.name: p for p in profiles(small)}
    rows = measure_profiles(streams, runs_of, sdk="openai-sdk", floor="bare", rounds=rounds)
    growth = growth_series() if not small else {}
    return results_doc(
        "responses",
        rows,
        {key: label for key, (label, _, _) in IMPLS.items()},
        growth={key: [{"events": n, "us_per_event": us} for n, us in pts] for key, pts in growth.items()},
    )


def main() -> int:
    from .anthropic_profiles import print_doc

    print_doc(measure(), "one function call's arguments in N fragments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
