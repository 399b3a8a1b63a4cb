"""Generated chat streams in the shapes providers send today, wire-exact, and the ratios they are judged by.

Each profile copies the key order and value shapes of a recorded stream in ``tests/data/real``
(named below) and writes 600 deltas (``two-chunk``: two chunks), compact JSON, ``data: `` lines:

``openai-today``  OpenAI 2025: ``service_tier``, ``usage: null`` and a random ``obfuscation`` on every
                  chunk, then the usage chunk (``pydantic-ai__openai_gpt4o_mini_tool_call_obfuscation``)
``deepseek``      ``reasoning_content`` then ``content``, ``usage: null`` on every chunk
                  (``pydantic-ai__deepseek_reasoner_reasoning_content``)
``openrouter``    top-level ``provider``, choice ``native_finish_reason``, delta ``reasoning`` and
                  ``reasoning_details`` on every chunk (``pydantic-ai__openrouter_claude_reasoning_details``)
``together``      choice ``text`` and ``seed``, delta ``token_id`` (vLLM's shape as Together serves it:
                  ``pydantic-ai__hf_together_deepseek_r1_think_tags``)
``azure``         the prompt filter chunk, then per-choice ``content_filter_results`` on every chunk,
                  Azure's alphabetical key order (``quarkus-langchain4j__azure_gpt4o_prompt_filter_results``)
``groq``          ``x_groq`` on the first and last chunk, delta ``reasoning`` with ``channel``, then
                  ``content`` (``pydantic-ai__groq_gpt_oss_reasoning_tool_call``)
``two-chunk``     the shortest stream: role and content in one chunk, the finish reason in the next

``python -m benchmarks.provider_profiles [--save]`` measures, in one run, native µs per chunk per shape
against the plain ``chat`` profile, the twin against a bare ``split`` + ``orjson.loads`` loop, the
recorded streams merged one by one against one ``bytes.count(b"\\n")`` pass (per provider and in all),
and the two-chunk stream in plain chunks; every row's output is checked before it is timed, and the
timings are interleaved (see :func:`benchmarks.saved.interleaved`). ``--save`` writes
``benchmarks/results/providers/<date>-<machine>.json``, which ``python -m benchmarks.render_providers``
renders into the README and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Callable
from typing import Any

from . import saved
from .corpus import PIECE_SIZE, PROVIDER_PROFILES, Stream, _token, _usage, load_real, profile

_SEP = (",", ":")
_CREATED = 1_765_226_419


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("0123456789abcdef", k=n))


def _uuid(rng: random.Random) -> str:
    return "-".join(_hex(rng, k) for k in (8, 4, 4, 4, 12))


def _frame(chunks: list[dict[str, Any]]) -> bytes:
    body = b"".join(
        b"data: " + json.dumps(c, separators=_SEP, ensure_ascii=False).encode() + b"\n\n" for c in chunks
    )
    return body + b"data: [DONE]\n\n"


def _expected(
    head: dict[str, Any], message: dict[str, Any], usage: Any = None, choice_extras: Any = None, **top: Any
) -> dict[str, Any]:
    """The merged completion (``to_dict()``), one choice that finished with ``stop``."""
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    choice.update(choice_extras or {})
    return {**head, "object": "chat.completion", "choices": [choice], "usage": usage, **top}


def _halves(rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    tokens = [_token(rng) for _ in range(n)]
    return tokens[: n // 2], tokens[n // 2 :]


def _openai_head(rng: random.Random, model: str, **more: Any) -> dict[str, Any]:
    """OpenAI's chunk header: id, object, created, model, then ``more``, then system_fingerprint."""
    head = {"id": "chatcmpl-" + _alnum(rng, 29), "object": "chat.completion.chunk", "created": _CREATED}
    return {**head, "model": model, **more, "system_fingerprint": "fp_" + _hex(rng, 10)}


def openai_today(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = _openai_head(rng, "gpt-4o-mini-2024-07-18", service_tier="default")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [choice], "usage": None, "obfuscation": _alnum(rng, rng.randint(1, 16))}

    tokens = [_token(rng) for _ in range(n)]
    usage = _usage(rng, n)
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": t}) for t in tokens]
    chunks.append(chunk({}, "stop"))
    chunks.append({**head, "choices": [], "usage": usage, "obfuscation": _alnum(rng, 10)})
    message = {"role": "assistant", "content": "".join(tokens), "refusal": None}
    return chunks, _expected(head, message, usage)


def deepseek(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = {
        "id": _uuid(rng),
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": "deepseek-reasoner",
        "system_fingerprint": "fp_393bca965e_prod0623_fp8_kvcache",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                "usage": usage}  # fmt: skip

    thinking, answer = _halves(rng, n)
    usage = {
        "prompt_tokens": 6,
        "completion_tokens": n,
        "total_tokens": 6 + n,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(thinking)},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 6,
    }
    chunks = [chunk({"role": "assistant", "content": None, "reasoning_content": ""})]
    chunks += [chunk({"content": None, "reasoning_content": t}) for t in thinking]
    chunks += [chunk({"content": t, "reasoning_content": None}) for t in answer]
    chunks.append(chunk({"content": "", "reasoning_content": None}, "stop", usage))
    message = {"role": "assistant", "content": "".join(answer), "reasoning_content": "".join(thinking)}
    return chunks, _expected(head, message, usage)


def openrouter(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = {
        "id": f"gen-{_CREATED}-{_alnum(rng, 20)}",
        "provider": "Google",
        "model": "anthropic/claude-sonnet-4.5",
        "object": "chat.completion.chunk",
        "created": _CREATED,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish,
                  "logprobs": None}  # fmt: skip
        return {**head, "choices": [choice]}

    def detail(text: str) -> dict[str, Any]:
        return {"type": "reasoning.text", "text": text, "format": "anthropic-claude-v1", "index": 0}

    thinking, answer = _halves(rng, n)
    idle = {"role": "assistant", "content": "", "reasoning": None, "reasoning_details": []}
    chunks = [chunk(idle)]
    chunks += [chunk({"role": "assistant", "content": "", "reasoning": t, "reasoning_details": [detail(t)]})
               for t in thinking]  # fmt: skip
    chunks += [chunk({**idle, "content": t}) for t in answer]
    chunks.append(chunk(idle, "stop"))
    usage = {
        "prompt_tokens": 43,
        "completion_tokens": n,
        "total_tokens": 43 + n,
        "cost": 0.000669,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0, "video_tokens": 0},
        "cost_details": {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": 0.000129,
            "upstream_inference_completions_cost": 0.00054,
        },
        "completion_tokens_details": {"reasoning_tokens": len(thinking), "image_tokens": 0},
    }
    last = chunk({"role": "assistant", "content": ""})
    chunks.append({**last, "usage": usage})
    message = {
        "role": "assistant",
        "content": "".join(answer),
        "reasoning": "".join(thinking),
        "reasoning_details": [detail("".join(thinking))],
    }
    fields = {k: head[k] for k in ("id", "model", "created")}
    return chunks, _expected(fields, message, usage, {"native_finish_reason": "stop"}, provider="Google")


def together(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = {"id": f"oV1nHvx-28Eivz-{_hex(rng, 16)}", "object": "chat.completion.chunk", "created": _CREATED}

    def chunk(text: str, finish: str | None = None, seed: Any = None, usage: Any = None) -> dict[str, Any]:
        delta = {"token_id": rng.randint(1, 120_000), "role": "assistant", "content": text}
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "seed": seed,
                  "delta": delta}  # fmt: skip
        return {**head, "choices": [choice], "model": "deepseek-ai/DeepSeek-R1", "usage": usage}

    tokens = [_token(rng) for _ in range(n)]
    usage = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n, "cached_tokens": 0}
    chunks = [chunk(t) for t in tokens]
    last = chunk("", "stop", 7228414683750928000, usage)
    chunks.append(last)
    token_id = last["choices"][0]["delta"]["token_id"]
    message = {"role": "assistant", "content": "".join(tokens), "token_id": token_id}
    fields = {"id": head["id"], "created": _CREATED, "model": "deepseek-ai/DeepSeek-R1"}
    return chunks, _expected(fields, message, usage, {"text": "", "seed": 7228414683750928000})


_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


def azure(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = {
        "created": _CREATED,
        "id": "chatcmpl-" + _alnum(rng, 29),
        "model": "gpt-4o-2024-08-06",
        "object": "chat.completion.chunk",
        "system_fingerprint": "fp_ee1d74bde0",
    }

    def chunk(filters: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"content_filter_results": filters, "delta": delta, "finish_reason": finish, "index": 0,
                  "logprobs": None}  # fmt: skip
        return {"choices": [choice], **head}

    prompt_filter = [{"prompt_index": 0, "content_filter_results": _FILTERS}]
    tokens = [_token(rng) for _ in range(n)]
    empty = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    chunks = [{**empty, "prompt_filter_results": prompt_filter}]
    chunks.append(chunk({}, {"content": "", "refusal": None, "role": "assistant"}))
    chunks += [chunk(_FILTERS, {"content": t}) for t in tokens]
    chunks.append(chunk({}, {}, "stop"))
    message = {"role": "assistant", "content": "".join(tokens), "refusal": None}
    fields = {k: head[k] for k in ("id", "created", "model", "system_fingerprint")}
    return chunks, _expected(
        fields, message, None, {"content_filter_results": {}}, prompt_filter_results=prompt_filter
    )


def groq(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = {
        "id": "chatcmpl-" + _uuid(rng),
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": "openai/gpt-oss-120b",
        "system_fingerprint": "fp_" + _hex(rng, 10),
    }
    request = "req_" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=26))

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **more}  # fmt: skip

    thinking, answer = _halves(rng, n)
    usage = {
        "queue_time": 0.00491786,
        "prompt_tokens": 304,
        "prompt_time": 0.01460151,
        "completion_tokens": n,
        "completion_time": 0.11216431,
        "total_tokens": 304 + n,
        "total_time": 0.12676582,
        "completion_tokens_details": {"reasoning_tokens": len(thinking)},
    }
    chunks = [chunk({"role": "assistant", "content": ""}, x_groq={"id": request, "seed": 1367355884})]
    chunks += [chunk({"reasoning": t, "channel": "analysis"}) for t in thinking]
    chunks += [chunk({"content": t}) for t in answer]
    final_groq = {"id": request, "usage": usage}
    chunks.append(chunk({}, "stop", x_groq=final_groq, usage=usage))
    message = {"role": "assistant", "content": "".join(answer), "reasoning": "".join(thinking)}
    message["channel"] = "analysis"
    fields = {k: head[k] for k in ("id", "created", "model", "system_fingerprint")}
    return chunks, _expected(fields, message, usage, x_groq=final_groq)


def two_chunk(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    head = _openai_head(rng, "gpt-4o-2024-08-06")
    text = _token(rng)
    chunks = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "logprobs": None,
                              "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]},
    ]  # fmt: skip
    fields = {k: head[k] for k in ("id", "created", "model", "system_fingerprint")}
    return chunks, _expected(fields, {"role": "assistant", "content": text})


_MAKERS: dict[str, Callable[[int, random.Random], tuple[list[dict[str, Any]], dict[str, Any]]]] = {
    "openai-today": openai_today,
    "deepseek": deepseek,
    "openrouter": openrouter,
    "together": together,
    "azure": azure,
    "groq": groq,
    "two-chunk": two_chunk,
}


def provider_stream(name: str, n_deltas: int = 600, *, seed: int = 1) -> Stream:
    """The generated stream of provider profile ``name``."""
    chunks, expected = _MAKERS[name](n_deltas, random.Random(f"{name}:{seed}:{n_deltas}"))
    return Stream.make(name, _frame(chunks), len(chunks), expected)


# --------------------------------------------------------------------------------------------------
# Recorded streams by provider

_PROVIDERS = (
    ("openrouter", "openrouter"),
    ("azure", "azure"),
    ("groq", "groq"),
    ("deepseek", "deepseek"),
    ("qwen", "qwen"),
    ("mistral", "mistral"),
    ("vllm", "vllm"),
    ("together", "together"),
    ("novita", "novita"),
    ("cerebras", "cerebras"),
    ("zai", "z.ai"),
    ("snowflake", "snowflake"),
    ("openai", "openai"),
)


def provider_of(name: str) -> str:
    """The provider a recorded stream's file name names (``openai`` for the SDKs' own recordings)."""
    for needle, provider in _PROVIDERS:
        if needle in name.split("__", 1)[-1]:
            return provider
    return "openai" if name.startswith("openai-") else "other"


# --------------------------------------------------------------------------------------------------
# The ratios

KIND = "providers"

#: What each profile's row times: (label, implementation key, group) of :mod:`benchmarks.impls`.
_ROWS = (
    ("native", "ssedelta-native", "merge"),
    ("twin", "ssedelta-python", "merge"),
    ("bare", "orjson", "decode"),
    ("decode", "ssedelta-native", "decode"),
)

#: The targets the ratios are held to (``docs/benchmarks.md``).
TARGETS = {"x_plain": 2.0, "twin_x_bare": 2.0, "x_count": 3.0, "two_chunk_in_plain_chunks": 15.0}


def _runner(key: str, group: str, stream: Stream) -> Callable[[], Any]:
    """The run of implementation ``key`` of ``group`` on ``stream``, after one checked run."""
    from .impls import IMPLS

    (impl,) = [i for i in IMPLS if i.key == key and i.group == group]
    errors = impl.check(impl.make(stream)(), stream)
    if errors:
        raise AssertionError(f"{key} ({group}) is wrong on {stream.name}: {errors[:3]}")
    return impl.make(stream)


def _all(fns: list[Callable[[], Any]]) -> Callable[[], Any]:
    return lambda: [f() for f in fns]


def measure(*, rounds: int = 11, target_ms: float = 20.0) -> dict[str, Any]:
    """Every ratio of the provider profiles and of the recorded corpus, in one run."""
    started = time.perf_counter()
    streams = [profile("chat"), *(provider_stream(name) for name in PROVIDER_PROFILES)]
    fns: dict[str, Callable[[], Any]] = {}
    for stream in streams:
        for label, key, group in _ROWS:
            fns[f"{stream.name}/{label}"] = _runner(key, group, stream)
    groups: dict[str, list[Stream]] = {}
    real = load_real("real")
    for stream in real:
        groups.setdefault(provider_of(stream.name), []).append(stream)
    if real:
        groups["all"] = list(real)
    for provider, members in groups.items():
        fns[f"real:{provider}/native"] = _all([_runner("ssedelta-native", "merge", s) for s in members])
        fns[f"real:{provider}/count"] = _all([_runner("bytes.count", "floor", s) for s in members])
    saved.log(f"checked {len(fns)} rows; timing them in {rounds} interleaved rounds")
    timed = saved.interleaved(fns, rounds=rounds, target_ms=target_ms)

    def us(key: str, chunks: int) -> float:
        return timed[key]["median_ns"] / 1000 / chunks

    profiles: dict[str, Any] = {}
    for stream in streams:
        row: dict[str, Any] = {"chunks": stream.chunks, "bytes": len(stream.data)}
        row.update({label: us(f"{stream.name}/{label}", stream.chunks) for label, _, _ in _ROWS})
        profiles[stream.name] = row
    base = profiles["chat"]
    for row in profiles.values():
        row["x_plain"] = row["native"] / base["native"]
        row["twin_x_bare"] = row["twin"] / row["bare"]
    two = profiles["two-chunk"]
    providers: dict[str, Any] = {}
    for provider in sorted(groups, key=lambda p: (p == "all", p)):
        members = groups[provider]
        chunks = sum(s.chunks for s in members)
        native, count = us(f"real:{provider}/native", chunks), us(f"real:{provider}/count", chunks)
        providers[provider] = {
            "streams": len(members),
            "chunks": chunks,
            "bytes": sum(len(s.data) for s in members),
            "native": native,
            "count": count,
            "x_count": native / count,
        }
    return {
        "profiles": profiles,
        "descriptions": {"chat": "plain OpenAI 2024 chunks", **PROVIDER_PROFILES},
        "two_chunk": {
            "merge_us": two["native"] * 2,
            "in_plain_chunks": two["native"] * 2 / base["native"],
            "decode_us": two["decode"] * 2,
            "decode_in_plain_chunks": two["decode"] * 2 / base["decode"],
        },
        "providers": providers,
        "targets": TARGETS,
        "timings": timed,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def table(result: dict[str, Any]) -> str:
    """The results as plain text."""
    lines = [
        f"{'profile':<13} {'native':>8} {'x plain':>8} {'twin':>8} {'bare':>8} {'twin/bare':>9}  µs per chunk"
    ]
    for name, row in result["profiles"].items():
        lines.append(
            f"{name:<13} {row['native']:>8.3f} {row['x_plain']:>8.2f} {row['twin']:>8.2f} "
            f"{row['bare']:>8.2f} {row['twin_x_bare']:>9.2f}"
        )
    two = result["two_chunk"]
    lines += [
        "",
        f"two-chunk stream: {two['merge_us']:.2f} µs = {two['in_plain_chunks']:.1f} plain chunks merged; "
        f"decoded (iter_chunks): {two['decode_us']:.2f} µs = "
        f"{two['decode_in_plain_chunks']:.1f} plain chunks",
        "",
        f"{'recorded':<12} {'streams':>7} {'chunks':>7} {'native':>8} {'count':>8} {'x count':>8}",
    ]
    for provider, row in result["providers"].items():
        lines.append(
            f"{provider:<12} {row['streams']:>7} {row['chunks']:>7} {row['native']:>8.3f} "
            f"{row['count']:>8.4f} {row['x_count']:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = saved.parser(
        KIND, "provider_profiles", __doc__, rounds=11, target_ms=20.0, quick_ms=5.0
    ).parse_args(argv)
    settings = saved.settings(args, PIECE_SIZE)
    doc = saved.start(KIND, settings)
    doc.update(measure(rounds=settings["rounds"], target_ms=settings["target_sample_ms"]))
    print(table(doc))
    saved.finish(KIND, doc, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
