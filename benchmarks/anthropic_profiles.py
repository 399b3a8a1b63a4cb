"""Anthropic Messages benchmark: generated wire-exact streams, the implementations compared, a runner.

Every generated stream is what ``POST /v1/messages`` with ``"stream": true`` sends: ``event:`` and
``data:`` lines, compact JSON in the API's key order with the run of spaces the API puts before the
closing brace, a ``ping`` after the first block starts. Generation is deterministic. Each stream
carries the merged message the generator expects, built from its own record of what it emitted.

Profiles (``small=True`` gives the tenth-size streams of the smoke run):

``text``      one text block of 600 ``text_delta`` events
``tool``      a short text block, then a ``tool_use`` whose input comes in 200 ``input_json_delta`` fragments
``thinking``  a thinking block of 300 ``thinking_delta`` events and its signature, then 300 text deltas
``growth``    a 64 KiB tool input in 4,000 fragments (``growth_stream`` makes other sizes)

Implementations (each is fed the stream in 4 KiB pieces and returns the merged message as a dict):
ssedelta's ``MessagesMerger`` on each backend; the official SDK's own path (its ``SSEDecoder``, event
construction as ``Stream.__stream__`` does it, then ``accumulate_event`` and ``build_events`` as
``MessageStream`` runs them); a bare ``split`` + ``orjson.loads`` loop (the floor: no merging).

``python -m benchmarks.anthropic_profiles`` prints µs per event and the ratios (``python -m
benchmarks.formats --save`` measures both formats and saves what the pages show).
"""

from __future__ import annotations

import json
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .corpus import PIECE_SIZE, split_pieces

__all__ = ["IMPLS", "PROFILES", "AnthropicStream", "growth_stream", "profile"]

_WORDS = [
    "the",
    "model",
    "reads",
    "every",
    "event",
    "of",
    "the",
    "stream",
    "and",
    "merges",
    "its",
    "deltas",
    "into",
    "one",
    "message",
    "while",
    "a",
    "gateway",
    "forwards",
    "bytes",
    "unchanged",
    "counts",
    "tokens",
    "for",
    "billing",
    "and",
    "logs",
    "the",
    "answer",
    "café",
    "naïve",
    "東京",
    "🙂",
]


@dataclass(frozen=True)
class AnthropicStream:
    name: str
    data: bytes
    events: int  # data payloads, pings included
    expected: dict[str, Any]  # the merged message (``to_dict()`` / ``model_dump(exclude_unset=True)``)

    @property
    def pieces(self) -> list[bytes]:
        return split_pieces(self.data, PIECE_SIZE)


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parts: list[bytes] = []
        self.events = 0

    def emit(self, obj: dict[str, Any]) -> None:
        payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        payload = payload[:-1] + " " * self.rng.randint(0, 14) + "}"
        self.parts.append(f"event: {obj['type']}\ndata: {payload}\n\n".encode())
        self.events += 1

    def ping(self) -> None:
        self.parts.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        self.events += 1


def _text(rng: random.Random) -> str:
    word = rng.choice(_WORDS)
    if rng.random() < 0.05:
        word += rng.choice(['"', "\n", "\\", "."])
    return " " + word


def _fragments(rng: random.Random, text: str, n: int) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def _tool_input(rng: random.Random, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {"query": "", "filters": {"limit": 10, "tags": []}}
    n = 0
    while len(orjson.dumps(out)) < size:
        out["filters"]["tags"].append(" ".join(rng.choice(_WORDS) for _ in range(6)))
        n += 1
    out["query"] = "find the " + rng.choice(_WORDS)
    return out


def _stream(name: str, blocks: list[tuple[str, Any]], seed: int) -> AnthropicStream:
    """``blocks``: ("text", [fragments]), ("thinking", ([fragments], signature)), ("tool", (input, n))."""
    rng = random.Random(seed)
    w = _Writer(rng)
    usage_start = {
        "input_tokens": 1234,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2048,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 1,
        "service_tier": "standard",
    }
    head = {
        "model": "claude-sonnet-4-5-20250929",
        "id": "msg_01" + "".join(rng.choice("abcdefghijkLMNOPQ0123456789") for _ in range(22)),
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage_start,
    }
    w.emit({"type": "message_start", "message": head})
    content: list[dict[str, Any]] = []
    for index, (kind, spec) in enumerate(blocks):
        if kind == "text":
            w.emit(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            for fragment in spec:
                w.emit(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": fragment},
                    }
                )
            content.append({"type": "text", "text": "".join(spec)})
        elif kind == "thinking":
            fragments, signature = spec
            start = {"type": "thinking", "thinking": "", "signature": ""}
            w.emit({"type": "content_block_start", "index": index, "content_block": start})
            for fragment in fragments:
                delta = {"type": "thinking_delta", "thinking": fragment}
                w.emit({"type": "content_block_delta", "index": index, "delta": delta})
            w.emit(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": signature},
                }
            )
            content.append({"type": "thinking", "thinking": "".join(fragments), "signature": signature})
        else:
            tool_input, n = spec
            tool_id = "toolu_01" + "".join(rng.choice("abcdefXYZ0123456789") for _ in range(22))
            block = {"type": "tool_use", "id": tool_id, "name": "search_documents", "input": {}}
            w.emit({"type": "content_block_start", "index": index, "content_block": block})
            for fragment in ["", *_fragments(rng, json.dumps(tool_input, ensure_ascii=False), n - 1)]:
                delta = {"type": "input_json_delta", "partial_json": fragment}
                w.emit({"type": "content_block_delta", "index": index, "delta": delta})
            content.append({**block, "input": tool_input})
        if index == 0:
            w.ping()
        w.emit({"type": "content_block_stop", "index": index})
    stop_reason = "tool_use" if blocks[-1][0] == "tool" else "end_turn"
    usage_end = {"input_tokens": 1234, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048}
    usage_end["output_tokens"] = 17 + w.events
    w.emit(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage_end,
        }
    )
    w.emit({"type": "message_stop"})
    expected = {**head, "content": content, "stop_reason": stop_reason, "stop_details": None}
    expected["usage"] = {**usage_start, **usage_end}
    return AnthropicStream(name, b"".join(w.parts), w.events, expected)


def growth_stream(size: int, fragments: int, seed: int = 4) -> AnthropicStream:
    """One ``tool_use`` block whose input is ``size`` bytes of JSON in ``fragments`` fragments."""
    rng = random.Random(seed)
    return _stream(f"growth-{size}", [("tool", (_tool_input(rng, size), fragments))], seed)


def profile(name: str, small: bool = False) -> AnthropicStream:
    scale = 10 if small else 1
    rng = random.Random(name)
    if name == "text":
        return _stream(name, [("text", [_text(rng) for _ in range(600 // scale)])], 1)
    if name == "tool":
        text = [_text(rng) for _ in range(12)]
        return _stream(name, [("text", text), ("tool", (_tool_input(rng, 1600 // scale), 200 // scale))], 2)
    if name == "thinking":
        thinking = [_text(rng) for _ in range(300 // scale)]
        signature = "".join(rng.choice("ABCDEFabcdef0123456789+/") for _ in range(344))
        text = [_text(rng) for _ in range(300 // scale)]
        return _stream(name, [("thinking", (thinking, signature)), ("text", text)], 3)
    if name == "growth":
        return growth_stream(64 * 1024 // scale, 4000 // scale)
    raise ValueError(name)


PROFILES = ("text", "tool", "thinking", "growth")


# --------------------------------------------------------------------------------------------------
# Implementations: pieces -> the merged message as a dict


def _ssedelta(backend_name: str) -> Callable[[list[bytes]], Any]:
    import ssedelta
    from ssedelta import anthropic

    merger_class = anthropic.merger_class(ssedelta.get_backend(backend_name))

    def run(pieces: list[bytes]) -> Any:
        merger = merger_class()
        for piece in pieces:
            merger.feed(piece)
        return merger.finish()

    return run


def _anthropic_sdk() -> Callable[[list[bytes]], Any]:
    """``client.messages.stream(...)`` without the HTTP: ``Stream.__stream__``'s SSE decoder and its
    rules (skip ``ping`` and events without a type, raise on ``error``, ``construct_type`` of each
    event), then what ``MessageStream.__stream__`` does per event (``accumulate_event``,
    ``build_events``); the result is what ``get_final_message()`` returns."""
    from anthropic._models import construct_type
    from anthropic._streaming import SSEDecoder
    from anthropic.lib.streaming._messages import accumulate_event, build_events
    from anthropic.types import RawMessageStreamEvent

    def run(pieces: list[bytes]) -> Any:
        snapshot: Any = None
        json_bufs: dict[int, bytes] = {}
        for sse in SSEDecoder().iter_bytes(iter(pieces)):
            # Stream.__stream__
            if sse.event == "ping" or sse.event is None:
                continue
            if sse.event == "error":
                raise RuntimeError(sse.data)
            if not sse.data:
                continue
            event = construct_type(type_=RawMessageStreamEvent, value=sse.json())
            # MessageStream.__stream__
            if snapshot is None and event.type != "message_start":
                continue
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
            build_events(event=event, message_snapshot=snapshot)
        assert snapshot is not None
        return snapshot

    return run


def _ssedelta_dict(result: Any) -> dict[str, Any]:
    return result.to_dict()  # type: ignore[no-any-return]


def _sdk_dict(result: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return result.model_dump(mode="json", exclude_unset=True)  # type: ignore[no-any-return]


def _payloads(pieces: Iterable[bytes]) -> Iterable[bytes]:
    """The data of every ``event:`` + ``data:`` block (what Anthropic sends), split on blank lines."""
    tail = b""
    for piece in pieces:
        blocks = (tail + piece).split(b"\n\n")
        tail = blocks.pop()
        for block in blocks:
            yield block[block.index(b"data: ") + 6 :]


def _split_orjson() -> Callable[[list[bytes]], Any]:
    def run(pieces: list[bytes]) -> Any:
        loads = orjson.loads
        return [loads(p) for p in _payloads(pieces)]

    return run


@dataclass(frozen=True)
class Impl:
    key: str
    label: str
    make: Callable[[], Callable[[list[bytes]], Any]]
    #: The merged message as a dict, for the check (outside the timed run); ``None``: the floor,
    #: which merges nothing and is checked by its event count.
    as_dict: Callable[[Any], dict[str, Any]] | None = _ssedelta_dict
    native: bool = False


IMPLS = (
    Impl("ssedelta-native", "ssedelta (native)", lambda: _ssedelta("native"), native=True),
    Impl("ssedelta-python", "ssedelta (pure Python)", lambda: _ssedelta("python")),
    Impl("anthropic-sdk", "anthropic SDK accumulate_event path", _anthropic_sdk, _sdk_dict),
    Impl("split-orjson", "split + orjson.loads (no merge)", _split_orjson, None),
)


def check(impl: Impl, stream: AnthropicStream, result: Any) -> list[str]:
    """What is wrong with ``result`` (empty when correct)."""
    if impl.as_dict is None:
        return [] if len(result) == stream.events else [f"{len(result)} payloads, expected {stream.events}"]
    merged = impl.as_dict(result)
    if merged == stream.expected:
        return []
    keys = sorted(k for k in set(merged) | set(stream.expected) if merged.get(k) != stream.expected.get(k))
    return [f"{impl.key} differs on {stream.name} at {keys}"]


# --------------------------------------------------------------------------------------------------
# Runner


def _calls_for(fn: Callable[[], Any], min_time: float) -> int:
    """How many calls of ``fn`` last about ``min_time`` seconds."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t
        if elapsed >= min_time / 4 or n > 1 << 20:
            return max(1, int(n * min_time / max(elapsed, 1e-9)))
        n *= 4


def _interleaved(
    fns: dict[str, Callable[[], Any]], min_time: float = 0.15, rounds: int = 7
) -> dict[str, float]:
    """Seconds per call of each function: the best of ``rounds`` rounds, the functions taking turns
    within each round (so a change in machine load hits them all alike)."""
    counts = {key: _calls_for(fn, min_time) for key, fn in fns.items()}
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for key, fn in fns.items():
            n = counts[key]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            best[key] = min(best[key], (time.perf_counter() - t) / n)
    return best


def chat_native_runner() -> tuple[Callable[[], None], int]:
    """The native chat merge of the chat profile (600 content deltas) fed in 4 KiB pieces, and its
    chunk count: the yardstick the other formats' native merge per event is held against."""
    import ssedelta

    from .corpus import profile as chat_profile

    stream = chat_profile("chat")
    pieces = split_pieces(stream.data)
    merger_class = ssedelta.get_backend("native").DeltaMerger

    def run() -> None:
        merger = merger_class()
        for piece in pieces:
            merger.feed(piece)
        merger.finish()

    return run, stream.ref.chunks


def interleaved(
    fns: dict[str, Callable[[], Any]], min_time: float = 0.15, rounds: int = 7
) -> dict[str, float]:
    """Seconds per call of each function (see ``_interleaved``)."""
    return _interleaved(fns, min_time, rounds)


GROWTH_KIB = (4, 8, 16, 32, 64)


def growth_series_keys() -> list[str]:
    return [impl.key for impl in IMPLS]


def growth_series(kib_sizes: Iterable[int] = GROWTH_KIB) -> dict[str, list[tuple[int, float]]]:
    """Per implementation, (fragments, µs per fragment) for one tool input of each size in KiB, cut in
    62.5 fragments per KiB (64 KiB: 4,000 fragments): linear merging keeps the cost per fragment flat."""
    impls = [(impl, impl.make()) for impl in IMPLS]
    out: dict[str, list[tuple[int, float]]] = {impl.key: [] for impl in IMPLS}
    for kib in kib_sizes:
        stream = growth_stream(kib * 1024, kib * 1000 // 16)
        pieces = stream.pieces
        for impl, run in impls:
            errors = check(impl, stream, run(pieces))
            assert not errors, errors
        timed = _interleaved({i.key: lambda r=run, p=pieces: r(p) for i, run in impls}, 0.1, 3)
        for key, seconds in timed.items():
            out[key].append((stream.events, seconds / stream.events * 1e6))
    return out


def measure_profiles(
    streams: dict[str, Any],
    runs_of: Callable[[Any], dict[str, Callable[[], Any]]],
    *,
    sdk: str,
    twin: str = "ssedelta-python",
    native: str = "ssedelta-native",
    floor: str,
    min_time: float = 0.15,
    rounds: int = 7,
) -> list[dict[str, Any]]:
    """One row per stream: µs per event of every implementation and of the native chat merge per
    chunk, all timed in the same interleaved rounds, and the ratios the targets are stated in."""
    chat_run, chat_chunks = chat_native_runner()
    rows = []
    for name, stream in streams.items():
        runs = runs_of(stream)
        runs["chat"] = chat_run
        timed = _interleaved(runs, min_time, rounds)
        chat = timed.pop("chat") / chat_chunks * 1e6
        us = {key: t / stream.events * 1e6 for key, t in timed.items()}
        row: dict[str, Any] = {
            "profile": name,
            "events": stream.events,
            "bytes": len(stream.data),
            "us_per_event": us,
            "chat_native_us_per_chunk": chat,
        }
        if native in us:
            row["native_x_chat"] = us[native] / chat
        if native in us and sdk in us:
            row["sdk_x_native"] = us[sdk] / us[native]
        if twin in us and sdk in us:
            row["sdk_x_twin"] = us[sdk] / us[twin]
        if twin in us and floor in us:
            row["twin_x_bare"] = us[twin] / us[floor]
        if native in us and floor in us:
            row["native_x_bare"] = us[native] / us[floor]
        rows.append(row)
    return rows


def results_doc(fmt: str, rows: list[dict[str, Any]], labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The saved form of a run: what was measured, on what, with which packages."""
    import datetime as dt
    import os

    from .compare import machine_info, ssedelta_info
    from .impls import package_versions

    return {
        "schema": 1,
        "format": fmt,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks." + fmt + "_profiles", *sys.argv[1:]]),
        "machine": machine_info(),
        "packages": package_versions(),
        "ssedelta": ssedelta_info(),
        "settings": {
            "piece_size": PIECE_SIZE,
            "timer": "time.perf_counter",
            "statistic": "best of the interleaved rounds (every implementation and the chat merge "
            "take turns in each round)",
        },
        "implementations": labels,
        "load_average_after": os.getloadavg(),
        "rows": rows,
        **extra,
    }


def print_rows(rows: list[dict[str, Any]], sdk_label: str) -> None:
    for row in rows:
        print(f"\n{row['profile']}: {row['events']} events, {row['bytes']} bytes")
        for key, us in row["us_per_event"].items():
            print(f"  {key:16s} {us:8.3f} µs/event")
        print(f"  native chat merge {row['chat_native_us_per_chunk']:.3f} µs/chunk (same rounds)")
        for key, text in (
            ("native_x_chat", "native / chat per chunk"),
            ("sdk_x_native", f"{sdk_label} / native"),
            ("sdk_x_twin", f"{sdk_label} / twin"),
            ("twin_x_bare", "twin / bare split+orjson"),
            ("native_x_bare", "native / bare split+orjson"),
        ):
            if key in row:
                print(f"  {text:30s} {row[key]:8.2f}x")


def measure(small: bool = False, rounds: int = 7) -> dict[str, Any]:
    """Every profile and the growth curve, as the saved document."""
    impls = [(impl, impl.make()) for impl in IMPLS]

    def runs_of(stream: AnthropicStream) -> dict[str, Callable[[], Any]]:
        pieces = stream.pieces
        runs = {}
        for impl, run in impls:
            errors = check(impl, stream, run(pieces))
            if errors:
                raise AssertionError(f"{impl.key} is wrong on {stream.name}: {errors}")
            runs[impl.key] = lambda r=run, p=pieces: r(p)
        return runs

    streams = {name: profile(name, small) for name in PROFILES}
    rows = measure_profiles(streams, runs_of, sdk="anthropic-sdk", floor="split-orjson", rounds=rounds)
    growth = growth_series() if not small else {}
    return results_doc(
        "anthropic",
        rows,
        {impl.key: impl.label for impl in IMPLS},
        growth={key: [{"events": n, "us_per_event": us} for n, us in pts] for key, pts in growth.items()},
    )


def print_doc(doc: dict[str, Any], growth_title: str) -> None:
    """A measured document as the per-format commands print it: the rows, then the growth series."""
    print_rows(doc["rows"], "SDK")
    print(f"\ngrowth: {growth_title}, µs per event")
    for key, points in doc["growth"].items():
        print(f"  {key:16s} " + "  ".join(f"{p['events']:5d}: {p['us_per_event']:8.2f}" for p in points))


def main() -> int:
    print_doc(measure(), "one tool input of N KiB in N*62.5 fragments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
