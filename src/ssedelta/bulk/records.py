"""The records bulk processing yields: one per stream, merged or in error, with where it came from.

A merged stream::

    {"source": {"file": "logs/a.sse.gz", "stream": 0, "offset": 0},
     "chunks": 42, "bytes": 9120, "completion": {...}}

A bad one (``partial`` is what was merged before the problem, ``None`` when nothing was)::

    {"source": {...}, "chunks": 7, "bytes": 1630,
     "error": {"reason": "...", "type": "InvalidJSONError", "offset": 1204, "file_offset": 1204,
               "event_index": 7},
     "partial": {...}}

``source`` holds ``file`` and ``stream`` (the stream's number in its file, from 0), then where the
stream starts: ``offset`` (bytes into the decompressed file), or for record-based files ``line``
(JSON Lines, from 1), ``record`` (JSON arrays, from 0) or ``entry`` (HAR, from 0, plus ``url``),
with ``offset`` then counting inside that record's body. In ``error``, ``offset`` counts from the
stream's first byte, ``file_offset`` from the file's (when the stream is a byte range of it), and
``event_index`` is the event's number in the stream; an upstream error adds ``upstream_error``, the
error object the stream sent.

A file in no stream format (see :func:`ssedelta.bulk.formats.no_stream_reason`) gives one record
that is neither, and is not a stream::

    {"source": {"file": "notes/README.md", "stream": 0}, "chunks": 0, "bytes": 0,
     "skipped": "not an event stream, chunk lines, JSON records or a HAR file"}
"""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import StreamFormatError, UpstreamError
from .sse import StreamResult

Record = dict[str, Any]


def stream_record(source: dict[str, Any], result: StreamResult, backend: Any) -> Record:
    """The record of a stream ``backend`` (a :class:`ssedelta.Backend`) merged."""
    completion = backend.to_dict(result.completion) if result.completion is not None else None
    if result.error is None:
        return {"source": source, "chunks": result.chunks, "bytes": result.size, "completion": completion}
    return {
        "source": source,
        "chunks": result.chunks,
        "bytes": result.size,
        "error": error_info(result.error, source),
        "partial": completion,
    }


def error_record(source: dict[str, Any], error: Exception) -> Record:
    """A record for a problem that is not a stream's (an unreadable file, a bad JSON record)."""
    return {"source": source, "chunks": 0, "bytes": 0, "error": error_info(error, source), "partial": None}


def skipped_record(name: str, reason: str) -> Record:
    """The record of a file skipped because it holds no stream (``reason`` says why)."""
    return {"source": {"file": name, "stream": 0}, "chunks": 0, "bytes": 0, "skipped": reason}


def error_info(error: Exception, source: dict[str, Any]) -> dict[str, Any]:
    offset = getattr(error, "offset", None)
    if isinstance(error, UpstreamError):
        message = error.args[0] if error.args else "upstream error"
        reason = f"upstream error: {message}"
    elif isinstance(error, StreamFormatError):
        reason = str(error.args[0])
    else:
        reason = str(error) or type(error).__name__
    info: dict[str, Any] = {"reason": reason, "type": type(error).__name__}
    if isinstance(offset, int) and offset >= 0:
        info["offset"] = offset
        if "line" not in source and "record" not in source and "entry" not in source:
            info["file_offset"] = source.get("offset", 0) + offset
    else:
        info["offset"] = None
    info["event_index"] = getattr(error, "event_index", None)
    if isinstance(error, UpstreamError):
        info["upstream_error"] = error.error
    return info


def is_error(record: Record) -> bool:
    return "error" in record


def is_skipped(record: Record) -> bool:
    return "skipped" in record


def dumps(record: Record) -> bytes:
    """One JSON Lines line (with its ``\\n``)."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


# ------------------------------------------------------------------ flat rows (Parquet, DataFrames)

#: The flat columns and their Arrow types, in order: one row per choice of each merged stream.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_file", "string"),
    ("source_stream", "int64"),
    ("source_offset", "int64"),
    ("source_line", "int64"),
    ("source_record", "int64"),
    ("id", "string"),
    ("model", "string"),
    ("created", "int64"),
    ("system_fingerprint", "string"),
    ("service_tier", "string"),
    ("choice_index", "int64"),
    ("role", "string"),
    ("finish_reason", "string"),
    ("content", "string"),
    ("refusal", "string"),
    ("reasoning", "string"),
    ("tool_calls", "string"),
    ("function_call", "string"),
    ("prompt_tokens", "int64"),
    ("completion_tokens", "int64"),
    ("total_tokens", "int64"),
    ("reasoning_tokens", "int64"),
    ("cached_tokens", "int64"),
    ("chunks", "int64"),
    ("bytes", "int64"),
)


def rows(record: Record) -> list[dict[str, Any]]:
    """The flat rows of a merged record: one per choice (one with empty choice columns when the
    completion has no choice). ``tool_calls`` and ``function_call`` are JSON text."""
    source = record["source"]
    completion = record.get("completion") or {}
    usage = completion.get("usage") or {}
    base = {
        "source_file": source.get("file"),
        "source_stream": source.get("stream"),
        "source_offset": source.get("offset"),
        "source_line": source.get("line"),
        "source_record": source.get("record", source.get("entry")),
        "id": completion.get("id"),
        "model": completion.get("model"),
        "created": _int(completion.get("created")),
        "system_fingerprint": completion.get("system_fingerprint"),
        "service_tier": completion.get("service_tier"),
        "prompt_tokens": _int(usage.get("prompt_tokens")),
        "completion_tokens": _int(usage.get("completion_tokens")),
        "total_tokens": _int(usage.get("total_tokens")),
        "reasoning_tokens": _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens")),
        "cached_tokens": _int((usage.get("prompt_tokens_details") or {}).get("cached_tokens")),
        "chunks": record.get("chunks"),
        "bytes": record.get("bytes"),
    }
    choices = completion.get("choices") or [{}]
    out = []
    for choice in choices:
        message = choice.get("message") or {}
        reasoning = message.get("reasoning_content", message.get("reasoning"))
        row = dict(base)
        row.update(
            choice_index=choice.get("index"),
            role=message.get("role"),
            finish_reason=choice.get("finish_reason"),
            content=message.get("content") if isinstance(message.get("content"), str) else None,
            refusal=message.get("refusal"),
            reasoning=reasoning if isinstance(reasoning, str) else None,
            tool_calls=_json(message.get("tool_calls")),
            function_call=_json(message.get("function_call")),
        )
        out.append({name: row[name] for name, _ in COLUMNS})
    return out


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
