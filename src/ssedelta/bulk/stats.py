"""Per-stream statistics as numpy arrays, and their summary."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..stream_format import ANTHROPIC, CHAT, RESPONSES, usage_of_body
from ._optional import require
from .records import Record, is_skipped
from .tasks import Task, read_task

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PERCENTILES = (50, 90, 99)

#: The per-stream values a worker collects, in :class:`StreamStats` field order.
_COLUMNS = (
    "file",
    "stream",
    "format",
    "ok",
    "chunks",
    "nbytes",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "finish_reason",
    "model",
    "error_type",
    "logprob_tokens",
    "mean_logprob",
)

#: The normalised token counts (:class:`ssedelta.Usage`) summed per format.
TOKENS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "total_tokens")


def empty_columns() -> dict[str, list[Any]]:
    """The columns, and ``skipped``: the ``(file, reason)`` of each file in no stream format."""
    return {name: [] for name in (*_COLUMNS, "skipped")}


def stats_batch(batch: Sequence[Task]) -> list[dict[str, list[Any]]]:
    """The per-stream values of each task of ``batch``, as lists (stream numbers from 0 within
    the task)."""
    out = []
    for task in batch:
        columns = empty_columns()
        for record in read_task(task):
            if is_skipped(record):
                columns["skipped"].append((record["source"]["file"], record["skipped"]))
            else:
                add_record(columns, record)
        out.append(columns)
    return out


def add_record(out: dict[str, list[Any]], record: Record) -> None:
    completion = record.get("completion") or record.get("partial") or {}
    usage = completion.get("usage") or {}
    fmt = record.get("format")
    error = record.get("error")
    out["file"].append(record["source"]["file"])
    out["stream"].append(record["source"]["stream"])
    out["format"].append(fmt)
    out["ok"].append(error is None)
    out["chunks"].append(record["chunks"])
    out["nbytes"].append(record["bytes"])
    for key in ("prompt_tokens", "completion_tokens"):
        out[key].append(_number(usage.get(key) if fmt == CHAT else None))
    normalized = usage_of_body(fmt, completion) if fmt is not None else None
    for key in TOKENS:
        out[key].append(_number(getattr(normalized, key) if normalized is not None else None))
    out["finish_reason"].append(_finish_reason(fmt, completion))
    out["model"].append(completion.get("model"))
    out["error_type"].append(error["type"] if error else None)
    logprobs = _token_logprobs(fmt, completion)
    out["logprob_tokens"].append(len(logprobs))
    out["mean_logprob"].append(math.fsum(logprobs) / len(logprobs) if logprobs else float("nan"))


def _token_logprobs(fmt: str | None, completion: dict[str, Any]) -> list[float]:
    """The ``logprob`` of every output token that carries one: in chat, the tokens of every
    choice's ``logprobs.content``; in Responses, those of every ``output_text`` part's
    ``logprobs``. Anthropic streams carry none."""
    if fmt == CHAT:
        lists = [_get(_get(choice, "logprobs"), "content") for choice in completion.get("choices") or ()]
    elif fmt == RESPONSES:
        parts = [part for item in completion.get("output") or () for part in _get(item, "content") or ()]
        lists = [_get(part, "logprobs") for part in parts if _get(part, "type") == "output_text"]
    else:
        return []
    out = []
    for tokens in lists:
        for token in tokens if isinstance(tokens, list) else ():
            value = _get(token, "logprob")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(float(value))
    return out


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def _finish_reason(fmt: str | None, completion: dict[str, Any]) -> Any:
    """Why the stream's output stopped: the first choice's ``finish_reason`` (chat), the
    response's ``status`` (Responses), the message's ``stop_reason`` (Anthropic)."""
    if fmt == RESPONSES:
        return completion.get("status")
    if fmt == ANTHROPIC:
        return completion.get("stop_reason")
    choices = completion.get("choices") or []
    return choices[0].get("finish_reason") if choices and isinstance(choices[0], dict) else None


@dataclass
class StreamStats:
    """One entry per stream (bad ones included, see ``ok``) in every array.

    ``format`` is the stream format (``chat``, ``responses``, ``anthropic``; ``None`` for a
    problem that is no stream's). Token counts are ``NaN`` for streams that reported no usage:
    ``prompt_tokens`` and ``completion_tokens`` are chat's own; ``input_tokens``,
    ``output_tokens``, ``cached_input_tokens``, ``reasoning_tokens`` and ``total_tokens`` the
    usage normalised across formats (:class:`ssedelta.Usage`). ``finish_reason`` is the first
    choice's (chat), the response's ``status`` (Responses) or the ``stop_reason`` (Anthropic);
    for a bad stream, usage, model and finish reason come from its partial result.
    ``logprob_tokens`` counts the output tokens that carry a logprob (chat: every choice's
    ``logprobs.content``; Responses: every ``output_text`` part's ``logprobs``) and
    ``mean_logprob`` is their mean logprob (``NaN`` for a stream without any); ``perplexity`` is
    ``exp(-mean_logprob)``.
    ``files`` counts the input files (skipped ones included) and ``seconds`` the time the reading
    took; ``skipped`` lists the files in no stream format, as ``(file, reason)``.
    """

    file: npt.NDArray[np.object_]
    stream: npt.NDArray[np.int64]
    format: npt.NDArray[np.object_]
    ok: npt.NDArray[np.bool_]
    chunks: npt.NDArray[np.int64]
    nbytes: npt.NDArray[np.int64]
    prompt_tokens: npt.NDArray[np.float64]
    completion_tokens: npt.NDArray[np.float64]
    total_tokens: npt.NDArray[np.float64]
    input_tokens: npt.NDArray[np.float64]
    output_tokens: npt.NDArray[np.float64]
    cached_input_tokens: npt.NDArray[np.float64]
    reasoning_tokens: npt.NDArray[np.float64]
    finish_reason: npt.NDArray[np.object_]
    model: npt.NDArray[np.object_]
    error_type: npt.NDArray[np.object_]
    logprob_tokens: npt.NDArray[np.int64]
    mean_logprob: npt.NDArray[np.float64]
    files: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_lists(cls, columns: dict[str, list[Any]], files: int, seconds: float) -> StreamStats:
        np: Any = require("numpy", "bulk", "stream statistics")
        kinds = {"stream": np.int64, "ok": np.bool_, "chunks": np.int64, "nbytes": np.int64,
                 "logprob_tokens": np.int64, "mean_logprob": np.float64}  # fmt: skip
        arrays = {}
        for name in _COLUMNS:
            if name in kinds:
                arrays[name] = np.asarray(columns[name], dtype=kinds[name])
            elif name.endswith("_tokens"):
                arrays[name] = np.asarray(columns[name], dtype=np.float64)
            else:
                column = np.empty(len(columns[name]), dtype=object)
                column[:] = columns[name]
                arrays[name] = column
        skipped = [tuple(item) for item in columns.get("skipped", ())]
        return cls(**arrays, files=files, seconds=seconds, skipped=skipped)

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def perplexity(self) -> npt.NDArray[np.float64]:
        """``exp(-mean_logprob)`` per stream (``NaN`` for a stream without logprobs)."""
        np: Any = require("numpy", "bulk", "stream statistics")
        with np.errstate(over="ignore"):  # a mean below about -709 gives inf
            return np.exp(-self.mean_logprob)  # type: ignore[no-any-return]

    def summary(self) -> dict[str, Any]:
        """Totals, counts and percentiles, as plain JSON-ready values: ``tokens`` sums each
        normalised count over every stream, ``formats`` gives per stream format its streams,
        ``ok``, ``errors`` and ``tokens``."""
        np: Any = require("numpy", "bulk", "stream statistics")
        total_bytes = int(self.nbytes.sum())
        errors = int((~self.ok).sum())
        usage = {}
        for key in ("prompt_tokens", "completion_tokens", *TOKENS):
            values = getattr(self, key)
            usage[key] = _distribution(np, values[~np.isnan(values)])
        return {
            "files": self.files,
            "streams": len(self),
            "ok": len(self) - errors,
            "errors": errors,
            "skipped": len(self.skipped),
            "error_types": _counts(self.error_type[~self.ok]),
            "chunks": int(self.chunks.sum()),
            "bytes": total_bytes,
            "seconds": round(self.seconds, 6),
            "throughput_mb_s": round(total_bytes / self.seconds / 1e6, 3) if self.seconds > 0 else None,
            "models": _counts(self.model),
            "finish_reasons": _counts(self.finish_reason),
            "usage": usage,
            "tokens": _token_sums(np, self, slice(None)),
            "formats": self._formats(np),
            "chunks_per_stream": _distribution(np, self.chunks),
            "bytes_per_stream": _distribution(np, self.nbytes),
            "logprobs": self._logprobs(np),
        }

    def _logprobs(self, np: Any) -> dict[str, Any]:
        """Over the streams with logprobs: how many, their tokens, and the mean, p50 and p90 of the
        per-stream mean token logprob and perplexity."""
        rows = self.logprob_tokens > 0
        return {
            "streams": int(rows.sum()),
            "tokens": int(self.logprob_tokens[rows].sum()),
            "mean_logprob": _spread(np, self.mean_logprob[rows]),
            "perplexity": _spread(np, self.perplexity[rows]),
        }

    def _formats(self, np: Any) -> dict[str, Any]:
        out = {}
        for fmt in sorted({f for f in self.format if f is not None}):
            rows = self.format == fmt
            ok = int((rows & self.ok).sum())
            count = int(rows.sum())
            out[fmt] = {
                "streams": count,
                "ok": ok,
                "errors": count - ok,
                "tokens": _token_sums(np, self, rows),
            }
        return out


def _token_sums(np: Any, stats: StreamStats, rows: Any) -> dict[str, int | float]:
    """The sum of each normalised count over ``rows`` (streams that reported none left out)."""
    return {key: _plain(np.nansum(getattr(stats, key)[rows])) for key in TOKENS}


def _counts(values: Any) -> dict[str, int]:
    counts = Counter("null" if v is None else str(v) for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _distribution(np: Any, values: Any) -> dict[str, Any]:
    if not len(values):
        return {"streams": 0, "total": 0, "mean": None, "max": None, **{f"p{p}": None for p in PERCENTILES}}
    points = np.percentile(values, PERCENTILES)
    out = {
        "streams": len(values),
        "total": _plain(values.sum()),
        "mean": round(float(values.mean()), 3),
        "max": _plain(values.max()),
    }
    out.update({f"p{p}": round(float(v), 3) for p, v in zip(PERCENTILES, points)})  # noqa: B905
    return out


def _spread(np: Any, values: Any) -> dict[str, float | None]:
    """Mean, p50 and p90 of ``values`` (``None`` when empty, or infinite)."""
    if not len(values):
        return {"mean": None, "p50": None, "p90": None}
    p50, p90 = np.percentile(values, (50, 90))
    out = {"mean": float(values.mean()), "p50": float(p50), "p90": float(p90)}
    return {k: round(v, 6) if math.isfinite(v) else None for k, v in out.items()}


def _plain(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number
