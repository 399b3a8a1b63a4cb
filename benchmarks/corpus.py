"""Benchmark inputs: generated OpenAI Chat Completions streams and the recorded real ones.

Every generated stream is wire-exact: compact JSON (``separators=(",", ":")``, ``ensure_ascii=False``),
OpenAI's key order (``id, object, created, model, system_fingerprint, choices[{index, delta, logprobs,
finish_reason}]``), ``data: ...\\n\\n`` framing and a final ``data: [DONE]\\n\\n``. Generation is
deterministic (a seeded :class:`random.Random`), so every run and every machine sees the same bytes.

Each generated :class:`Stream` carries the merged completion the generator expects, built from its own
record of what it emitted (never by running a decoder), in the shape of OpenAI's non-streamed
``chat.completion`` object. Every stream, generated or recorded, also carries a :class:`Reference`
computed by a small, separate reference reader (WHATWG event-stream rules, then ``json.loads``), which the
benchmarks use to check each implementation's output.

Profiles (sizes are the measured sizes; ``small=True`` gives the tenth-size streams of the smoke run):

``chat``      1 choice, 600 content deltas
``tools``     3 parallel tool calls, 40 argument fragments each (id and name on the first fragment only)
``logprobs``  600 content deltas, each with its token logprob and the top 5 alternatives
``multi``     ``n=4``: four choices of 150 deltas each, interleaved
``usage``     ``chat`` with ``stream_options.include_usage``: ``"usage":null`` on every chunk, then the
              ``choices: []`` usage chunk
``long``      one stream of 20,000 content deltas
"""

from __future__ import annotations

import json
import os
import random
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "CASES",
    "PIECE_SIZE",
    "PROFILES",
    "PROVIDER_PROFILES",
    "REAL_SUBSETS",
    "Case",
    "Reference",
    "Stream",
    "canonical_completion",
    "chat_stream",
    "diff",
    "get_case",
    "iter_cases",
    "load_real",
    "multi_stream",
    "profile",
    "project",
    "prune",
    "real_dir",
    "reference",
    "split_pieces",
    "summarize_completion",
    "tools_stream",
]

PIECE_SIZE = 4096
"""Every benchmark feeds its input in pieces of this many bytes (a typical socket read)."""

PROFILE_DESCRIPTIONS = {
    "chat": "1 choice, 600 content deltas",
    "tools": "3 parallel tool calls, 40 argument fragments each",
    "logprobs": "600 content deltas with top-5 logprobs on every token",
    "multi": "n=4, four choices of 150 deltas each, interleaved",
    "usage": "chat with include_usage: usage:null on every chunk, then the choices:[] usage chunk",
    "long": "one stream of 20,000 content deltas",
}
#: Provider shapes (see :mod:`benchmarks.provider_profiles`), 600 deltas each but ``two-chunk``.
PROVIDER_PROFILES = {
    "openai-today": "OpenAI today: service_tier, usage:null and obfuscation on every chunk",
    "deepseek": "DeepSeek / Qwen: reasoning_content, then content",
    "openrouter": "OpenRouter: provider, native_finish_reason, reasoning and reasoning_details",
    "together": "vLLM / Together: choice text and seed, delta token_id",
    "azure": "Azure: per-choice content_filter_results, prompt filter chunk",
    "groq": "Groq: x_groq, delta reasoning with channel, then content",
    "two-chunk": "two chunks: role and content, then finish_reason (set-up cost per stream)",
}
PROFILE_DESCRIPTIONS.update(PROVIDER_PROFILES)
PROFILES = tuple(PROFILE_DESCRIPTIONS)

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DIR_ENV = "SSEDELTA_BENCH_REAL_DIR"

_SEP = (",", ":")
_CREATED = 1_727_346_170

# --------------------------------------------------------------------------------------------------
# Pieces


def split_pieces(data: bytes, size: int = PIECE_SIZE) -> list[bytes]:
    """``data`` cut into consecutive ``size``-byte pieces (the last one may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


# --------------------------------------------------------------------------------------------------
# Reference reader (not timed; used to check every implementation)

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Reference:
    """What a correct reader finds in one stream, computed by :func:`reference`."""

    events: int  # dispatched events (blocks that carried at least one ``data`` line), ``[DONE]`` included
    payload_bytes: int  # sum of the events' data lengths (UTF-8 bytes, lines joined with ``\\n``)
    newlines: int  # ``data.count(b"\\n")``: the floor check
    blocks: int  # ``len(data.split(b"\\n\\n"))``: the floor check
    chunks: int  # JSON chunk objects before ``[DONE]``
    content_chars: int  # characters of string ``delta.content`` over every choice of every chunk
    tool_fragments: int  # ``delta.tool_calls`` entries
    logprob_tokens: int  # ``logprobs.content`` entries
    has_error: bool  # an ``event: error`` event or a payload with an ``error`` key
    merged: dict[str, Any]  # the part of the merged completion every correct merger agrees on:
    # per choice index its content (string parts joined, plus the text of typed content parts), refusal,
    # last finish_reason and the total length of tool-call and function-call arguments; the last usage


def _sse_events(data: bytes) -> list[tuple[str | None, bytes]]:
    """(event type, data) of every dispatched event, following the WHATWG event-stream rules."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = _LINE_END.split(data)
    lines.pop()  # the text after the last line end is an unterminated line: never processed
    out: list[tuple[str | None, bytes]] = []
    event_type: str | None = None
    data_lines: list[bytes] = []
    seen_data = False
    for line in lines:
        if not line:
            if seen_data:
                out.append((event_type, b"\n".join(data_lines)))
            event_type, data_lines, seen_data = None, [], False
            continue
        if line.startswith(b":"):
            continue
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data_lines.append(value)
            seen_data = True
        elif name == b"event":
            event_type = value.decode("utf-8", "replace") or None
    return out


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # typed content parts (Mistral): the text parts join the content
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return None


def reference(data: bytes) -> Reference:
    """The :class:`Reference` of one stream."""
    events = _sse_events(data)
    chunks = content_chars = tool_fragments = logprob_tokens = 0
    has_error = False
    choices: dict[int, dict[str, Any]] = {}
    usage: Any = None
    for event_type, payload in events:
        if event_type == "error":
            has_error = True
        stripped = payload.strip()
        if stripped == b"[DONE]":
            break
        if not stripped or stripped.startswith(b":"):
            continue
        obj = json.loads(payload)
        if not isinstance(obj, dict):
            continue
        if "error" in obj:
            has_error = True
        chunks += 1
        if obj.get("usage") is not None:
            usage = obj["usage"]
        for choice in obj.get("choices") or ():
            state = choices.setdefault(
                choice.get("index", 0),
                {"content": None, "refusal": None, "finish_reason": None, "tool_argument_chars": 0},
            )
            if choice.get("finish_reason") is not None:
                state["finish_reason"] = choice["finish_reason"]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                content_chars += len(content)
            text = _text_of(content)
            if text is not None:
                state["content"] = (state["content"] or "") + text
            if isinstance(delta.get("refusal"), str):
                state["refusal"] = (state["refusal"] or "") + delta["refusal"]
            function_call = delta.get("function_call") or {}
            if isinstance(function_call.get("arguments"), str):
                state["tool_argument_chars"] += len(function_call["arguments"])
            for call in delta.get("tool_calls") or ():
                tool_fragments += 1
                arguments = (call.get("function") or {}).get("arguments")
                if isinstance(arguments, str):
                    state["tool_argument_chars"] += len(arguments)
            logprobs = choice.get("logprobs") or {}
            logprob_tokens += len(logprobs.get("content") or ())
    merged = {"choices": {i: choices[i] for i in sorted(choices)}, "usage": prune(usage)}
    return Reference(
        events=len(events),
        payload_bytes=sum(len(p) for _, p in events),
        newlines=data.count(b"\n"),
        blocks=len(data.split(b"\n\n")),
        chunks=chunks,
        content_chars=content_chars,
        tool_fragments=tool_fragments,
        logprob_tokens=logprob_tokens,
        has_error=has_error,
        merged=merged,
    )


# --------------------------------------------------------------------------------------------------
# Streams and cases


@dataclass(frozen=True)
class Stream:
    """One SSE body, its 4 KiB pieces, and what a correct reader makes of it."""

    name: str
    data: bytes
    chunks: int
    expected: dict[str, Any] | None  # generated streams: the merged completion, OpenAI's shape
    ref: Reference
    pieces: tuple[bytes, ...] = field(repr=False, default=())

    @classmethod
    def make(cls, name: str, data: bytes, chunks: int, expected: dict[str, Any] | None) -> Stream:
        ref = reference(data)
        if ref.chunks != chunks:
            raise AssertionError(f"{name}: generator says {chunks} chunks, reference reader {ref.chunks}")
        return cls(name, data, chunks, expected, ref, tuple(split_pieces(data)))


@dataclass(frozen=True)
class Case:
    """What one benchmark processes: one generated stream, or a set of recorded streams in turn."""

    name: str
    streams: tuple[Stream, ...]
    description: str = ""

    @property
    def chunks(self) -> int:
        return sum(s.chunks for s in self.streams)

    @property
    def nbytes(self) -> int:
        return sum(len(s.data) for s in self.streams)


# --------------------------------------------------------------------------------------------------
# Generator

_WORD_TEXT = (
    "the of and to in is that for it as with was on be by this are from at or an have not which but can "
    "all more one time will also about would there their has been if when so what into some than only its "
    "model stream token delta value answer result server client request response example function return "
    "string number object array buffer python parser merge content choice because however therefore "
    "between through during without within another different important following available"
)
_WORDS = tuple(_WORD_TEXT.split())
_PUNCT = (",", ".", ":", ";", "!", "?", "(", ")", "-", "'s", "n't", "1", "2", "42", "2024", "%")
_SPECIAL = (
    '"', ' "', '."', '":', '\\', '\\n', "\n", "\n\n", "\t", "  ", "```", "```\n", "`", "*", "**", "#", "- ",
    "é", " café", " naïve", "ü", " über", "ß", "ñ", " señor", "—", "\u2013", "…", "\u201c", "\u201d", "€",
    " 日本", "語", "中文", " 你好", "世界", " Привет", "мир", " Ελλάδα", " 🙂", "🚀", " Zürich", "\u00a0",
)  # fmt: skip


def _token(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.09:
        return rng.choice(_SPECIAL)
    if r < 0.19:
        return rng.choice(_PUNCT)
    word = rng.choice(_WORDS)
    if rng.random() < 0.25 and len(word) > 4:  # a word split into sub-word pieces
        cut = rng.randint(2, len(word) - 2)
        word = word[:cut] if rng.random() < 0.5 else word[cut:]
    if rng.random() < 0.1:
        word = word.capitalize()
    token = (" " + word) if rng.random() < 0.75 else word
    return token[:8]


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def _header(rng: random.Random) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + _alnum(rng, 29),
        "object": "chat.completion.chunk",
        "created": _CREATED + rng.randint(0, 10_000_000),
        "model": rng.choice(("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14")),
        "system_fingerprint": "fp_" + "".join(rng.choices("0123456789abcdef", k=10)),
    }


def _logprob(rng: random.Random) -> float:
    return round(-rng.expovariate(2.0), rng.randint(4, 10))


def _logprob_entry(rng: random.Random, token: str) -> dict[str, Any]:
    top = [{"token": token, "logprob": _logprob(rng), "bytes": list(token.encode())}]
    while len(top) < 5:
        alt = _token(rng)
        top.append({"token": alt, "logprob": _logprob(rng), "bytes": list(alt.encode())})
    top.sort(key=lambda t: -t["logprob"])
    return {"token": token, "logprob": top[[t["token"] for t in top].index(token)]["logprob"],
            "bytes": list(token.encode()), "top_logprobs": top}  # fmt: skip


class _Writer:
    """Serialises chunks and frames them, exactly as OpenAI's servers do."""

    def __init__(self, header: dict[str, Any], usage_key: bool = False) -> None:
        self.header = header
        self.usage_key = usage_key
        self.parts: list[bytes] = []
        self.chunks = 0

    def chunk(self, choices: list[dict[str, Any]], usage: Any = None) -> None:
        obj = dict(self.header)
        obj["choices"] = choices
        if self.usage_key:
            obj["usage"] = usage
        self.parts.append(b"data: " + json.dumps(obj, separators=_SEP, ensure_ascii=False).encode() + b"\n\n")
        self.chunks += 1

    def done(self) -> bytes:
        self.parts.append(b"data: [DONE]\n\n")
        return b"".join(self.parts)


def _choice(index: int, delta: dict[str, Any], logprobs: Any = None, finish: str | None = None) -> dict:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


def _completion(header: dict[str, Any], choices: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
    return {
        "id": header["id"],
        "object": "chat.completion",
        "created": header["created"],
        "model": header["model"],
        "choices": choices,
        "usage": usage,
        "system_fingerprint": header["system_fingerprint"],
    }


def _usage(rng: random.Random, completion_tokens: int) -> dict[str, Any]:
    prompt = rng.randint(20, 2000)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_stream(
    n_deltas: int, *, seed: int = 1, logprobs: bool = False, usage: bool = False, name: str = "chat"
) -> Stream:
    """One choice of ``n_deltas`` content deltas (optionally with top-5 logprobs, or the usage chunk)."""
    rng = random.Random(f"{name}:{seed}:{n_deltas}")
    header = _header(rng)
    w = _Writer(header, usage_key=usage)
    first_lp = {"content": [], "refusal": None} if logprobs else None
    w.chunk([_choice(0, {"role": "assistant", "content": "", "refusal": None}, first_lp)])
    tokens: list[str] = []
    entries: list[dict[str, Any]] = []
    for _ in range(n_deltas):
        token = _token(rng)
        tokens.append(token)
        lp = None
        if logprobs:
            entry = _logprob_entry(rng, token)
            entries.append(entry)
            lp = {"content": [entry], "refusal": None}
        w.chunk([_choice(0, {"content": token}, lp)])
    w.chunk([_choice(0, {}, None, "stop")])
    final_usage = None
    if usage:
        final_usage = _usage(rng, n_deltas)
        w.chunk([], final_usage)
    message = {"role": "assistant", "content": "".join(tokens), "refusal": None}
    merged_lp = {"content": entries, "refusal": None} if logprobs else None
    expected = _completion(
        header,
        [{"index": 0, "message": message, "logprobs": merged_lp, "finish_reason": "stop"}],
        final_usage,
    )
    return Stream.make(name, w.done(), w.chunks, expected)


_TOOL_NAMES = ("get_weather", "search_documents", "get_stock_price", "create_calendar_event", "lookup")


def _arguments(rng: random.Random, approx_len: int) -> str:
    """A JSON arguments object of roughly ``approx_len`` characters (quotes, escapes, non-ASCII)."""
    args: dict[str, Any] = {}
    while len(json.dumps(args, ensure_ascii=False)) < approx_len:
        key = rng.choice(("location", "query", "unit", "ticker", "title", "notes", "limit", "tags"))
        key = f"{key}_{len(args)}" if key in args else key
        kind = rng.random()
        if kind < 0.6:
            args[key] = "".join(_token(rng) for _ in range(rng.randint(2, 8))).strip()
        elif kind < 0.8:
            args[key] = rng.randint(0, 10_000)
        else:
            args[key] = [_token(rng).strip() or "x" for _ in range(rng.randint(1, 3))]
    return json.dumps(args, ensure_ascii=False)


def _fragments(rng: random.Random, text: str, n: int) -> list[str]:
    """``text`` cut into exactly ``n`` non-empty fragments (``n`` may exceed what 1-8 chars allow)."""
    if n >= len(text):
        text = text + " " * (n - len(text))
        return list(text)
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def tools_stream(n_calls: int = 3, n_fragments: int = 40, *, seed: int = 1, name: str = "tools") -> Stream:
    """``n_calls`` parallel tool calls of ``n_fragments`` argument fragments each, one call after the
    other, the way OpenAI streams them: the first fragment of a call carries ``index``, ``id``, ``type``,
    ``function.name`` and empty ``arguments``; the next ones only ``index`` and an ``arguments`` piece."""
    rng = random.Random(f"{name}:{seed}:{n_calls}:{n_fragments}")
    header = _header(rng)
    w = _Writer(header)
    w.chunk([_choice(0, {"role": "assistant", "content": None})])
    calls = []
    for k in range(n_calls):
        call_id = "call_" + _alnum(rng, 24)
        fn_name = _TOOL_NAMES[k % len(_TOOL_NAMES)]
        first = {
            "index": k,
            "id": call_id,
            "type": "function",
            "function": {"name": fn_name, "arguments": ""},
        }
        w.chunk([_choice(0, {"tool_calls": [first]})])
        frags = _fragments(rng, _arguments(rng, n_fragments * 4), n_fragments)
        for frag in frags:
            w.chunk([_choice(0, {"tool_calls": [{"index": k, "function": {"arguments": frag}}]})])
        calls.append(
            {"id": call_id, "type": "function", "function": {"name": fn_name, "arguments": "".join(frags)}}
        )
    w.chunk([_choice(0, {}, None, "tool_calls")])
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}
    expected = _completion(
        header, [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}], None
    )
    return Stream.make(name, w.done(), w.chunks, expected)


def multi_stream(n_choices: int = 4, n_deltas: int = 150, *, seed: int = 1, name: str = "multi") -> Stream:
    """``n`` choices streamed interleaved, one choice per chunk: each choice's role chunk comes first
    (choice ``i`` never before choice ``i - 1``), then its content deltas mixed with the other choices',
    then its own finish chunk."""
    rng = random.Random(f"{name}:{seed}:{n_choices}:{n_deltas}")
    header = _header(rng)
    w = _Writer(header)
    tokens: list[list[str]] = [[] for _ in range(n_choices)]
    started = [False] * n_choices
    left = [n_deltas] * n_choices
    open_choices = list(range(n_choices))
    while open_choices:
        # choices start in index order (as OpenAI's do), then interleave at random
        i = rng.choice([c for c in open_choices if c == 0 or started[c - 1]])
        if not started[i]:
            started[i] = True
            w.chunk([_choice(i, {"role": "assistant", "content": "", "refusal": None})])
        elif left[i]:
            token = _token(rng)
            tokens[i].append(token)
            left[i] -= 1
            w.chunk([_choice(i, {"content": token})])
        else:
            w.chunk([_choice(i, {}, None, "stop")])
            open_choices.remove(i)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": "".join(tokens[i]), "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
        for i in range(n_choices)
    ]
    return Stream.make(name, w.done(), w.chunks, _completion(header, choices, None))


@cache
def profile(name: str, small: bool = False) -> Stream:
    """The generated stream of profile ``name`` (cached). ``small``: a tenth of the size (smoke runs)."""
    f = 10 if small else 1
    if name == "chat":
        return chat_stream(600 // f, name=name)
    if name == "tools":
        return tools_stream(3, 40 // f, name=name)
    if name == "logprobs":
        return chat_stream(600 // f, logprobs=True, name=name)
    if name == "multi":
        return multi_stream(4, 150 // f, name=name)
    if name == "usage":
        return chat_stream(600 // f, usage=True, name=name)
    if name == "long":
        return chat_stream(20_000 // f, name=name)
    if name in PROVIDER_PROFILES:
        from .provider_profiles import provider_stream

        return provider_stream(name, 600 // f)
    raise KeyError(f"unknown profile {name!r}; expected one of {PROFILES}")


# --------------------------------------------------------------------------------------------------
# Recorded streams

REAL_SUBSETS = {
    "real": "every recorded stream without an upstream error in it: OpenAI, Azure, Groq, DeepSeek, "
    "Mistral, OpenRouter, vLLM and more",
    "real-openai": "the recorded OpenAI text, tool-call and logprobs streams (api.openai.com, no audio)",
}


def real_dir() -> Path:
    """Where the recorded streams are read from: ``tests/data/real`` (or ``$SSEDELTA_BENCH_REAL_DIR``)."""
    override = os.environ.get(REAL_DIR_ENV)
    return Path(override) if override else REPO_ROOT / "tests" / "data" / "real"


def _is_openai_text(name: str) -> bool:
    return name.startswith(("openai-python__", "openai-node__")) or "__openai_" in name


@cache
def _real_streams() -> tuple[Stream, ...]:
    folder = real_dir()
    if not folder.is_dir():
        return ()
    out = []
    for path in sorted(folder.glob("*.sse")):
        data = path.read_bytes()
        ref = reference(data)
        out.append(Stream(path.stem, data, ref.chunks, None, ref, tuple(split_pieces(data))))
    return tuple(out)


SMOKE_REAL_MAX_BYTES = 16 * 1024


def load_real(subset: str = "real", small: bool = False) -> tuple[Stream, ...]:
    """The recorded streams of ``subset`` (see :data:`REAL_SUBSETS`); empty when the folder is missing.
    ``small``: only the streams of at most 16 KiB (smoke runs)."""
    streams = [s for s in _real_streams() if not s.ref.has_error]
    if small:
        streams = [s for s in streams if len(s.data) <= SMOKE_REAL_MAX_BYTES]
    if subset == "real-openai":
        streams = [s for s in streams if _is_openai_text(s.name)]
    elif subset != "real":
        raise KeyError(f"unknown real subset {subset!r}; expected one of {tuple(REAL_SUBSETS)}")
    return tuple(streams)


def get_case(name: str, small: bool = False) -> Case | None:
    """A profile or a real subset as a :class:`Case`; ``None`` when the recorded streams are missing."""
    if name in REAL_SUBSETS:
        streams = load_real(name, small)
        return Case(name, streams, REAL_SUBSETS[name]) if streams else None
    return Case(name, (profile(name, small),), PROFILE_DESCRIPTIONS[name])


CASES = (*PROFILES, *REAL_SUBSETS)

# --------------------------------------------------------------------------------------------------
# Comparing merged completions


def prune(value: Any) -> Any:
    """``value`` without ``None``-valued keys, recursively, an object left empty by that counting as
    ``None`` too (so absent, ``null`` and ``{"x": null}`` compare equal)."""
    if isinstance(value, dict):
        out = {k: v for k, v in ((k, prune(v)) for k, v in value.items()) if v is not None}
        return out or None
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def canonical_completion(d: dict[str, Any], *, with_usage: bool = True) -> dict[str, Any]:
    """The fields of a merged ``chat.completion`` dict that the benchmarks compare, normalised: tool calls
    reduced to ``id``/``type``/``function``, an empty ``tool_calls`` list is ``None``, logprobs entries
    reduced to their spec fields, usage without ``None`` values."""

    def logprob_list(entries: Sequence[dict[str, Any]] | None) -> list[Any] | None:
        if entries is None:
            return None
        return [
            {
                "token": e.get("token"),
                "logprob": e.get("logprob"),
                "bytes": e.get("bytes"),
                "top_logprobs": [
                    {"token": t.get("token"), "logprob": t.get("logprob"), "bytes": t.get("bytes")}
                    for t in e.get("top_logprobs") or ()
                ],
            }
            for e in entries
        ]

    choices = []
    for c in sorted(d.get("choices") or (), key=lambda c: c.get("index", 0)):
        m = c.get("message") or {}
        calls = [
            {
                "id": t.get("id"),
                "type": t.get("type"),
                "function": {
                    "name": (t.get("function") or {}).get("name"),
                    "arguments": (t.get("function") or {}).get("arguments"),
                },
            }
            for t in m.get("tool_calls") or ()
        ]
        lp = c.get("logprobs")
        choices.append(
            {
                "index": c.get("index"),
                "finish_reason": c.get("finish_reason"),
                "message": {
                    "role": m.get("role"),
                    "content": m.get("content"),
                    "refusal": m.get("refusal"),
                    "tool_calls": calls or None,
                },
                "logprobs": None
                if lp is None
                else {"content": logprob_list(lp.get("content")), "refusal": logprob_list(lp.get("refusal"))},
            }
        )
    out = {
        "id": d.get("id"),
        "object": d.get("object"),
        "created": d.get("created"),
        "model": d.get("model"),
        "system_fingerprint": d.get("system_fingerprint"),
        "choices": choices,
    }
    if with_usage:
        out["usage"] = prune(d.get("usage"))
    return out


def project(value: Any, like: Any) -> Any:
    """``value`` reduced to the keys ``like`` has, recursively: keys a merger adds on its own (an
    estimate's extra detail fields) are not compared, every key the stream sent is."""
    if isinstance(value, dict) and isinstance(like, dict):
        return {k: project(value.get(k), v) for k, v in like.items()}
    return value


def summarize_completion(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` (a merged completion dict) in the form of :attr:`Reference.merged`."""
    choices = {}
    for c in d.get("choices") or ():
        m = c.get("message") or {}
        choices[c.get("index", 0)] = {
            "content": _text_of(m.get("content")),
            "refusal": m.get("refusal"),
            "finish_reason": c.get("finish_reason"),
            "tool_argument_chars": sum(
                len((t.get("function") or {}).get("arguments") or "") for t in m.get("tool_calls") or ()
            )
            + len((m.get("function_call") or {}).get("arguments") or ""),
        }
    return {"choices": {i: choices[i] for i in sorted(choices)}, "usage": prune(d.get("usage"))}


def diff(actual: Any, expected: Any, path: str = "", limit: int = 3) -> list[str]:
    """Up to ``limit`` human-readable differences between two JSON-like values."""
    out: list[str] = []

    def walk(a: Any, e: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(e, dict):
            for k in list(e) + [k for k in a if k not in e]:
                walk(a.get(k), e.get(k), f"{p}.{k}")
        elif isinstance(a, list) and isinstance(e, list):
            if len(a) != len(e):
                out.append(f"{p or '.'}: {len(a)} items, expected {len(e)}")
                return
            for i, (x, y) in enumerate(zip(a, e, strict=True)):
                walk(x, y, f"{p}[{i}]")
        elif a != e:
            ra, re_ = repr(a), repr(e)
            if len(ra) > 60 or len(re_) > 60:
                ra, re_ = ra[:57] + "...", re_[:57] + "..."
            out.append(f"{p or '.'}: {ra} != expected {re_}")

    walk(actual, expected, path)
    return out


def iter_cases(names: Iterable[str], small: bool = False) -> list[Case]:
    """The :class:`Case` objects of ``names`` that are available (real subsets need the recorded streams)."""
    return [c for c in (get_case(n, small) for n in names) if c is not None]
