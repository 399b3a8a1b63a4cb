"""Every implementation the benchmarks compare, with the check of its output.

Groups (each compares implementations on the same input, a stream fed in 4 KiB pieces):

``tokenize``  SSE bytes -> event objects
``decode``    SSE bytes -> one object per ``chat.completion.chunk``
``merge``     SSE bytes -> the final, merged ``chat.completion``
``floor``     what the same bytes cost to scan at memory speed

An :class:`Impl` turns a :class:`~benchmarks.corpus.Stream` into a zero-argument function (everything
that can be prepared ahead, such as building a decoder class or a msgspec ``Decoder``, is done before;
per-stream state, such as a new tokenizer, is created inside). Its ``check`` compares that function's
result with what the stream is known to hold and returns the differences; an empty list means correct.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import orjson

from .corpus import Case, Stream, canonical_completion, diff, project, prune, summarize_completion

__all__ = [
    "GROUPS",
    "IMPLS",
    "Impl",
    "case_errors",
    "case_runner",
    "impls_for",
    "orjson_merge",
    "package_versions",
    "run_checked",
]

GROUPS = {
    "tokenize": "SSE bytes to event objects",
    "decode": "SSE bytes to one object per chunk",
    "merge": "SSE bytes to the final completion",
    "floor": "memory-speed floor over the same bytes",
}


@dataclass(frozen=True)
class Impl:
    key: str  # stable identifier, used in results files
    group: str
    label: str  # shown in tables
    make: Callable[[Stream], Callable[[], Any]]
    check: Callable[[Any, Stream], list[str]]
    available: Callable[[], str | None]  # None when usable, otherwise the reason it is not
    role: str = ""  # "sdk" or "python": the rows the ratios are taken against
    slow_import: bool = False  # left out of smoke runs
    native: bool = False  # needs the compiled core
    note: str = ""


# --------------------------------------------------------------------------------------------------
# Availability


def _importable(module: str) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an installed but broken package counts as unavailable
            return f"{module} is not importable ({type(exc).__name__}: {exc})"
        return None

    return check


def _ssedelta(name: str, attr: str) -> Any:
    import ssedelta

    return getattr(ssedelta.get_backend(name), attr)


def _ssedelta_available(name: str, attr: str) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            import ssedelta

            backend = ssedelta.get_backend(name)
        except ImportError as exc:
            return f"ssedelta {name} backend not available ({exc})"
        if not hasattr(backend, attr):
            return f"ssedelta {name} backend has no {attr} yet"
        return None

    return check


# --------------------------------------------------------------------------------------------------
# Checks


def _check_events(count: Callable[[Any], tuple[int, int]]) -> Callable[[Any, Stream], list[str]]:
    """Events: how many were dispatched and the total size of their data."""

    def check(result: Any, stream: Stream) -> list[str]:
        n, size = count(result)
        errors = []
        if n != stream.ref.events:
            errors.append(f"{n} events, expected {stream.ref.events}")
        if size != stream.ref.payload_bytes:
            errors.append(f"{size} bytes of event data, expected {stream.ref.payload_bytes}")
        return errors

    return check


def _count_str_events(events: Sequence[Any]) -> tuple[int, int]:
    return len(events), sum(len(e.data.encode()) for e in events)


def _count_ssedelta_events(events: Sequence[Any]) -> tuple[int, int]:
    return len(events), sum(len(e.payload) for e in events)


def _summary_attr(chunks: Iterable[Any]) -> tuple[int, int, int, int]:
    n = content = tools = tokens = 0
    for chunk in chunks:
        n += 1
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            if delta is not None:
                text = getattr(delta, "content", None)
                if isinstance(text, str):
                    content += len(text)
                tools += len(getattr(delta, "tool_calls", None) or ())
            logprobs = getattr(choice, "logprobs", None)
            if logprobs is not None:
                tokens += len(getattr(logprobs, "content", None) or ())
    return n, content, tools, tokens


def _summary_dict(chunks: Iterable[dict[str, Any]]) -> tuple[int, int, int, int]:
    n = content = tools = tokens = 0
    for chunk in chunks:
        n += 1
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str):
                content += len(text)
            tools += len(delta.get("tool_calls") or ())
            tokens += len((choice.get("logprobs") or {}).get("content") or ())
    return n, content, tools, tokens


def _check_chunks(summary: Callable[[Any], tuple[int, int, int, int]]) -> Callable[[Any, Stream], list[str]]:
    """Chunk objects: how many, and the content characters, tool-call fragments and logprob tokens."""

    def check(result: Any, stream: Stream) -> list[str]:
        got = summary(result)
        ref = stream.ref
        want = (ref.chunks, ref.content_chars, ref.tool_fragments, ref.logprob_tokens)
        names = ("chunks", "content characters", "tool-call fragments", "logprob tokens")
        return [f"{g} {name}, expected {w}" for g, w, name in zip(got, want, names, strict=True) if g != w]

    return check


def _check_completion(
    to_dict: Callable[[Any], dict[str, Any]], *, usage: str = "always", exact: bool = False
) -> Callable[[Any, Stream], list[str]]:
    """A merged completion. Generated streams: every field of the expected completion, normalised by
    :func:`~benchmarks.corpus.canonical_completion` (``exact``: the whole dict, absent and ``null``
    keys alike, nothing else). Recorded streams: per choice the content, refusal, finish reason and
    total tool-call argument length, and the last usage sent (see
    :attr:`~benchmarks.corpus.Reference.merged`); usage is compared only where the stream sent one.
    ``usage="if-sent"`` leaves usage out when the stream sent none (an estimate is no error), and
    ``usage="never"`` leaves it out altogether."""

    def check(result: Any, stream: Stream) -> list[str]:
        got = to_dict(result)
        if stream.expected is not None:
            compare_usage = usage == "always" or (usage == "if-sent" and stream.expected["usage"] is not None)
            if exact and compare_usage:
                return diff(prune(got), prune(stream.expected))
            got_c = canonical_completion(got, with_usage=compare_usage)
            want_c = canonical_completion(stream.expected, with_usage=compare_usage)
            if compare_usage:
                got_c["usage"] = project(got_c["usage"], want_c["usage"])
            return diff(got_c, want_c)
        summary = summarize_completion(got)
        want = dict(stream.ref.merged)
        if usage == "never" or want["usage"] is None:
            summary.pop("usage")
            want.pop("usage")
        elif not exact:
            summary["usage"] = project(summary["usage"], want["usage"])
        return diff(summary, want)

    return check


# --------------------------------------------------------------------------------------------------
# Framing shared by the hand-written rows: split on blank lines, take the data field


def _payloads(pieces: Iterable[bytes]) -> Iterable[bytes]:
    """The ``data`` of every event up to ``[DONE]``, for LF-framed streams (what OpenAI sends).

    The common event, one ``data: ...`` line, is sliced out directly; other blocks (comments, ``event:``
    lines, several ``data`` lines) are read line by line."""
    buf = b""
    for piece in pieces:
        buf += piece
        if b"\n\n" not in buf:
            continue
        *blocks, buf = buf.split(b"\n\n")
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                payload = block[6:]
            else:
                lines = [
                    line[5:].removeprefix(b" ")
                    for line in block.split(b"\n")
                    if line[:5] == b"data:" or line == b"data"
                ]
                if not lines:
                    continue
                payload = b"\n".join(lines)
            if payload == b"[DONE]":
                return
            if not payload or payload[:1] == b":":
                continue
            yield payload


# --------------------------------------------------------------------------------------------------
# tokenize


def _tok_ssedelta(name: str) -> Callable[[Stream], Callable[[], Any]]:
    def make(stream: Stream) -> Callable[[], Any]:
        decoder_class = _ssedelta(name, "SSEDecoder")
        pieces = stream.pieces

        def run() -> list[Any]:
            decoder = decoder_class()
            out: list[Any] = []
            for piece in pieces:
                out += decoder.feed(piece)
            out += decoder.close()
            return out

        return run

    return make


def _tok_openai(stream: Stream) -> Callable[[], Any]:
    from openai._streaming import SSEDecoder

    pieces = stream.pieces
    return lambda: list(SSEDecoder().iter_bytes(iter(pieces)))


def _tok_httpx_sse(stream: Stream) -> Callable[[], Any]:
    import httpx
    from httpx_sse import EventSource

    pieces = stream.pieces
    headers = [("content-type", "text/event-stream")]

    def run() -> list[Any]:
        response = httpx.Response(200, headers=headers, content=iter(pieces))
        return list(EventSource(response).iter_sse())

    return run


def _tok_sseclient(stream: Stream) -> Callable[[], Any]:
    from sseclient import SSEClient

    pieces = stream.pieces
    return lambda: list(SSEClient(iter(pieces)).events())


# --------------------------------------------------------------------------------------------------
# decode


def _dec_ssedelta(name: str) -> Callable[[Stream], Callable[[], Any]]:
    def make(stream: Stream) -> Callable[[], Any]:
        iter_chunks = _ssedelta(name, "iter_chunks")
        pieces = stream.pieces
        return lambda: list(iter_chunks(pieces))

    return make


def _openai_chunks(pieces: Iterable[bytes]) -> Iterable[Any]:
    """What ``openai.Stream`` does for each event of a chat completions stream: its SSE decoder, stop at
    ``[DONE]``, ``json.loads``, raise on an ``error`` payload, ``construct_type(ChatCompletionChunk)``."""
    from openai._exceptions import APIError
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.types.chat import ChatCompletionChunk

    for sse in SSEDecoder().iter_bytes(iter(pieces)):
        if sse.data.startswith("[DONE]"):
            break
        data = sse.json()
        if isinstance(data, dict) and data.get("error"):
            raise APIError(message=str(data["error"]), request=None, body=data["error"])  # type: ignore[arg-type]
        yield construct_type(type_=ChatCompletionChunk, value=data)


def _dec_openai(stream: Stream) -> Callable[[], Any]:
    pieces = stream.pieces
    return lambda: list(_openai_chunks(pieces))


def _dec_orjson(stream: Stream) -> Callable[[], Any]:
    pieces = stream.pieces
    loads = orjson.loads
    return lambda: [loads(p) for p in _payloads(pieces)]


def _dec_msgspec(stream: Stream) -> Callable[[], Any]:
    from .msgspec_schema import decoder

    decode = decoder.decode
    pieces = stream.pieces
    return lambda: [decode(p) for p in _payloads(pieces)]


def _dec_pydantic(stream: Stream) -> Callable[[], Any]:
    from openai.types.chat import ChatCompletionChunk

    validate = ChatCompletionChunk.model_validate
    loads = orjson.loads
    pieces = stream.pieces
    return lambda: [validate(loads(p)) for p in _payloads(pieces)]


# --------------------------------------------------------------------------------------------------
# merge


def _merge_ssedelta(name: str) -> Callable[[Stream], Callable[[], Any]]:
    def make(stream: Stream) -> Callable[[], Any]:
        merge = _ssedelta(name, "merge")
        pieces = stream.pieces
        return lambda: merge(pieces)

    return make


def _merge_openai(stream: Stream) -> Callable[[], Any]:
    """``client.chat.completions.stream()`` without the HTTP: the chunks as ``openai.Stream`` builds them,
    the chunk filter of ``ChatCompletionStream``, ``ChatCompletionStreamState.handle_chunk`` for each,
    then ``get_final_completion()``. That raises ``LengthFinishReasonError`` when a choice finished with
    ``length``; the completion it carries is taken as the result then."""
    from openai import LengthFinishReasonError
    from openai.lib.streaming.chat._completions import (
        ChatCompletionStreamState,
        _is_valid_chat_completion_chunk_weak,
    )

    pieces = stream.pieces

    def run() -> Any:
        state: Any = ChatCompletionStreamState()
        for chunk in _openai_chunks(pieces):
            if _is_valid_chat_completion_chunk_weak(chunk):
                state.handle_chunk(chunk)
        try:
            return state.get_final_completion()
        except LengthFinishReasonError as exc:
            return exc.completion

    return run


def _import_litellm() -> Any:
    # litellm fetches its model price list over the network at import unless told to use its copy
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def _importable_litellm() -> str | None:
    try:
        _import_litellm()
    except Exception as exc:
        return f"litellm is not importable ({type(exc).__name__}: {exc})"
    return None


def _merge_litellm(stream: Stream) -> Callable[[], Any]:
    """litellm's assembly of a streamed response: a ``ModelResponseStream`` per chunk (as its stream
    wrapper builds them from the decoded JSON), then ``litellm.stream_chunk_builder`` over the list."""
    litellm = _import_litellm()
    from litellm.types.utils import ModelResponseStream

    loads = orjson.loads
    pieces = stream.pieces

    def run() -> Any:
        chunks = [ModelResponseStream(**loads(p)) for p in _payloads(pieces)]
        return litellm.stream_chunk_builder(chunks=chunks)

    return run


def _merge_orjson(stream: Stream) -> Callable[[], Any]:
    pieces = stream.pieces
    return lambda: orjson_merge(pieces)


def orjson_merge(pieces: Iterable[bytes]) -> dict[str, Any]:
    """A competent pure-Python merger: split on blank lines, ``orjson.loads`` each payload, fold the
    deltas into per-choice state (text parts and tool-call argument parts collected in lists and joined
    once at the end), then build the completion dict."""
    loads = orjson.loads
    top: dict[str, Any] = {}
    fingerprint = usage = None
    choices: dict[int, dict[str, Any]] = {}
    for payload in _payloads(pieces):
        obj = loads(payload)
        if not top:
            top = {"id": obj.get("id"), "created": obj.get("created"), "model": obj.get("model")}
        if obj.get("system_fingerprint") is not None:
            fingerprint = obj["system_fingerprint"]
        if obj.get("usage") is not None:
            usage = obj["usage"]
        for choice in obj.get("choices") or ():
            index = choice.get("index", 0)
            st = choices.get(index)
            if st is None:
                st = choices[index] = {
                    "role": None, "content": [], "refusal": [], "tools": {}, "finish": None,
                    "lp": None, "lp_content": [], "lp_refusal": [], "fc": None,
                }  # fmt: skip
            delta = choice.get("delta")
            if delta:
                if "content" in delta and delta["content"] is not None:
                    content = delta["content"]
                    if type(content) is not str:  # typed content parts (Mistral): keep the text
                        content = "".join(p.get("text", "") for p in content if p.get("type") == "text")
                    st["content"].append(content)
                if delta.get("role"):
                    st["role"] = delta["role"]
                if "refusal" in delta and delta["refusal"] is not None:
                    st["refusal"].append(delta["refusal"])
                if delta.get("tool_calls"):
                    tools = st["tools"]
                    for call in delta["tool_calls"]:
                        k = call.get("index", 0)
                        fn = call.get("function") or {}
                        tool = tools.get(k)
                        if tool is None:
                            tool = tools[k] = {
                                "id": call.get("id"),
                                "type": call.get("type") or "function",
                                "name": fn.get("name"),
                                "args": [],
                            }
                        else:
                            tool["id"] = tool["id"] or call.get("id")
                            tool["name"] = tool["name"] or fn.get("name")
                        if fn.get("arguments"):
                            tool["args"].append(fn["arguments"])
                if delta.get("function_call"):
                    fc = st["fc"] = st["fc"] or {"name": None, "args": []}
                    fc["name"] = fc["name"] or delta["function_call"].get("name")
                    if delta["function_call"].get("arguments"):
                        fc["args"].append(delta["function_call"]["arguments"])
            if choice.get("finish_reason") is not None:
                st["finish"] = choice["finish_reason"]
            logprobs = choice.get("logprobs")
            if logprobs is not None:
                st["lp"] = True
                if logprobs.get("content"):
                    st["lp_content"] += logprobs["content"]
                if logprobs.get("refusal"):
                    st["lp_refusal"] += logprobs["refusal"]
    out_choices = []
    for index in sorted(choices):
        st = choices[index]
        message: dict[str, Any] = {
            "role": st["role"] or "assistant",
            "content": "".join(st["content"]) if st["content"] else None,
            "refusal": "".join(st["refusal"]) if st["refusal"] else None,
        }
        if st["tools"]:
            message["tool_calls"] = [
                {
                    "id": t["id"],
                    "type": t["type"],
                    "function": {"name": t["name"], "arguments": "".join(t["args"])},
                }
                for _, t in sorted(st["tools"].items())
            ]
        if st["fc"]:
            message["function_call"] = {"name": st["fc"]["name"], "arguments": "".join(st["fc"]["args"])}
        logprobs = None
        if st["lp"]:
            logprobs = {"content": st["lp_content"] or None, "refusal": st["lp_refusal"] or None}
        out_choices.append(
            {"index": index, "message": message, "logprobs": logprobs, "finish_reason": st["finish"]}
        )
    return {
        **top,
        "object": "chat.completion",
        "choices": out_choices,
        "usage": usage,
        "system_fingerprint": fingerprint,
    }


# --------------------------------------------------------------------------------------------------
# floor


def _floor_count(stream: Stream) -> Callable[[], Any]:
    data = stream.data
    return lambda: data.count(b"\n")


def _floor_split(stream: Stream) -> Callable[[], Any]:
    data = stream.data
    return lambda: data.split(b"\n\n")


def _check_count(result: Any, stream: Stream) -> list[str]:
    return [] if result == stream.ref.newlines else [f"{result} newlines, expected {stream.ref.newlines}"]


def _check_split(result: Any, stream: Stream) -> list[str]:
    want = stream.ref.blocks
    return [] if len(result) == want else [f"{len(result)} blocks, expected {want}"]


# --------------------------------------------------------------------------------------------------
# The table

_sdk = _importable("openai")


def _to_dict_ssedelta(c: Any) -> dict[str, Any]:
    return c.to_dict()


def _to_dict_pydantic(c: Any) -> dict[str, Any]:
    with warnings.catch_warnings():  # the SDK's models warn when a field holds an unexpected type
        warnings.simplefilter("ignore")
        return c.model_dump()


def _identity(c: Any) -> Any:
    return c


def _ssedelta_rows(
    group: str,
    attr: str,
    make: Callable[[str], Callable[[Stream], Callable[[], Any]]],
    check: Callable[[Any, Stream], list[str]],
) -> list[Impl]:
    return [
        Impl(
            f"ssedelta-{name}",
            group,
            f"ssedelta ({name})",
            make(name),
            check,
            _ssedelta_available(name, attr),
            role="python" if name == "python" else "",
            native=name == "native",
        )
        for name in ("native", "python")
    ]


IMPLS: tuple[Impl, ...] = (
    # tokenize
    *_ssedelta_rows("tokenize", "SSEDecoder", _tok_ssedelta, _check_events(_count_ssedelta_events)),
    Impl(
        "openai", "tokenize", "openai SDK SSEDecoder", _tok_openai, _check_events(_count_str_events), _sdk,
        role="sdk", note="openai._streaming.SSEDecoder().iter_bytes(pieces)",
    ),
    Impl(
        "httpx-sse", "tokenize", "httpx-sse", _tok_httpx_sse, _check_events(_count_str_events),
        _importable("httpx_sse"),
        note="httpx_sse.EventSource(httpx.Response(200, content=iter(pieces))).iter_sse(): its public "
        "API, so httpx's incremental UTF-8 text decoding is included",
    ),
    Impl(
        "sseclient-py", "tokenize", "sseclient-py", _tok_sseclient, _check_events(_count_str_events),
        _importable("sseclient"), note="sseclient.SSEClient(iter(pieces)).events()",
    ),
    # decode
    *_ssedelta_rows("decode", "iter_chunks", _dec_ssedelta, _check_chunks(_summary_attr)),
    Impl(
        "openai", "decode", "openai SDK (Stream: json.loads + construct_type)", _dec_openai,
        _check_chunks(_summary_attr), _sdk, role="sdk",
        note="SSEDecoder, json.loads, construct_type(type_=ChatCompletionChunk): what openai.Stream does",
    ),
    Impl(
        "orjson", "decode", "orjson.loads (dicts)", _dec_orjson, _check_chunks(_summary_dict),
        _importable("orjson"), note="split on blank lines, orjson.loads of each payload",
    ),
    Impl(
        "msgspec", "decode", "msgspec Structs", _dec_msgspec, _check_chunks(_summary_attr),
        _importable("msgspec"),
        note="split on blank lines, msgspec.json.Decoder(Chunk) with Structs for the chunk schema "
        "(unknown keys dropped)",
    ),
    Impl(
        "pydantic", "decode", "pydantic model_validate", _dec_pydantic, _check_chunks(_summary_attr), _sdk,
        note="split on blank lines, orjson.loads, openai's ChatCompletionChunk.model_validate",
    ),
    # merge
    *_ssedelta_rows("merge", "merge", _merge_ssedelta, _check_completion(_to_dict_ssedelta, exact=True)),
    Impl(
        "openai", "merge", "openai SDK ChatCompletionStreamState", _merge_openai,
        _check_completion(_to_dict_pydantic, usage="never"), _sdk, role="sdk",
        note="the decode row, then ChatCompletionStreamState.handle_chunk per chunk and "
        "get_final_completion(); usage is not compared (it keeps the last chunk's, even null)",
    ),
    Impl(
        "litellm", "merge", "litellm stream_chunk_builder", _merge_litellm,
        _check_completion(_to_dict_pydantic, usage="if-sent"), _importable_litellm, slow_import=True,
        note="ModelResponseStream(**orjson.loads(payload)) per chunk, then litellm.stream_chunk_builder; "
        "where the stream sent no usage, its token-count estimate is not compared",
    ),
    Impl(
        "orjson-loop", "merge", "pure-Python orjson loop", _merge_orjson,
        _check_completion(_identity, exact=True),
        _importable("orjson"),
        note="split(b'\\n\\n') + orjson.loads + dict merge, parts joined once (benchmarks/impls.py)",
    ),
    # floor
    Impl("bytes.count", "floor", 'bytes.count(b"\\n")', _floor_count, _check_count, lambda: None),
    Impl("bytes.split", "floor", 'bytes.split(b"\\n\\n")', _floor_split, _check_split, lambda: None),
)  # fmt: skip


def impls_for(group: str) -> list[Impl]:
    return [i for i in IMPLS if i.group == group]


def case_runner(impl: Impl, case: Case) -> Callable[[], list[Any]]:
    """One function that runs ``impl`` over every stream of ``case`` and returns the results in order."""
    fns = [impl.make(s) for s in case.streams]
    if len(fns) == 1:
        (fn,) = fns
        return lambda: [fn()]
    return lambda: [f() for f in fns]


def case_errors(impl: Impl, case: Case, results: Sequence[Any]) -> list[str]:
    """What ``impl`` got wrong on ``case`` (``results`` from :func:`case_runner`), per stream."""
    errors = []
    multi = len(case.streams) > 1
    for stream, result in zip(case.streams, results, strict=True):
        for e in impl.check(result, stream):
            errors.append(f"{stream.name}: {e}" if multi else e)
    return errors


def run_checked(impl: Impl, case: Case) -> tuple[Callable[[], list[Any]], list[str]]:
    """The runner of ``impl`` on ``case`` and what it got wrong, stream by stream (one run, untimed).
    An exception counts as a wrong result on that stream."""
    errors: list[str] = []
    prefix = "{}: " if len(case.streams) > 1 else ""
    for stream in case.streams:
        try:
            result = impl.make(stream)()
        except Exception as exc:
            errors.append(prefix.format(stream.name) + f"raises {type(exc).__name__}: {_short(exc)}")
            continue
        errors += [prefix.format(stream.name) + e for e in impl.check(result, stream)]
    return case_runner(impl, case), errors


def _short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------
# Versions

PACKAGES = (
    "ssedelta", "openai", "httpx-sse", "httpx", "sseclient-py", "msgspec", "orjson", "pydantic",
    "pydantic-core", "jiter", "litellm", "pytest-benchmark", "matplotlib", "Cython",
)  # fmt: skip


def package_versions() -> dict[str, str | None]:
    """The installed version of every package the benchmarks touch (``None``: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out["ssedelta"] is None:  # run from a source tree without an install
        try:
            import ssedelta

            out["ssedelta"] = f"{ssedelta.__version__} (source tree)"
        except ImportError:
            pass
    return out


def json_default(value: Any) -> Any:
    """For ``json.dumps`` of results: everything unknown becomes its ``str``."""
    return str(value)
