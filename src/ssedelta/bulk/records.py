"""The records bulk processing yields: one per stream, merged or in error, with where it came from.

A merged stream::

    {"source": {"file": "logs/a.sse.gz", "stream": 0, "offset": 0}, "format": "chat",
     "chunks": 42, "bytes": 9120, "completion": {...}}

``format`` is the stream's format, read from its first event: ``chat`` (``completion`` is the
merged chat completion), ``responses`` (the Responses API ``response``; ``chunks`` counts events)
or ``anthropic`` (the Messages ``message``; ``chunks`` counts events); ``None`` in a record for
a problem that is no stream's.

A bad one (``partial`` is what was merged before the problem, ``None`` when nothing was)::

    {"source": {...}, "format": "chat", "chunks": 7, "bytes": 1630,
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
from ..stream_format import ANTHROPIC, RESPONSES, usage_of_body
from .sse import StreamResult

Record = dict[str, Any]


def stream_record(source: dict[str, Any], result: StreamResult, backend: Any) -> Record:
    """The record of a stream ``backend`` (a :class:`ssedelta.Backend`) merged."""
    completion = backend.to_dict(result.completion) if result.completion is not None else None
    fmt = result.format
    if result.error is None:
        return {
            "source": source,
            "format": fmt,
            "chunks": result.chunks,
            "bytes": result.size,
            "completion": completion,
        }
    return {
        "source": source,
        "format": fmt,
        "chunks": result.chunks,
        "bytes": result.size,
        "error": error_info(result.error, source),
        "partial": completion,
    }


def error_record(source: dict[str, Any], error: Exception) -> Record:
    """A record for a problem that is not a stream's (an unreadable file, a bad JSON record)."""
    return {
        "source": source,
        "format": None,
        "chunks": 0,
        "bytes": 0,
        "error": error_info(error, source),
        "partial": None,
    }


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

#: The flat columns and their Arrow types, in order: one row per choice of each merged chat
#: stream, one row per Responses or Anthropic stream.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_file", "string"),
    ("source_stream", "int64"),
    ("source_offset", "int64"),
    ("source_line", "int64"),
    ("source_record", "int64"),
    ("format", "string"),
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
    ("result", "string"),
)


def rows(record: Record) -> list[dict[str, Any]]:
    """The flat rows of a merged record: for a chat stream one per choice (one with empty choice
    columns when the completion has no choice), for a Responses or Anthropic stream one.
    ``tool_calls`` and ``function_call`` are JSON text, ``result`` the whole merged object's;
    token counts are the usage normalised across formats (``prompt_tokens`` its input tokens,
    ``completion_tokens`` its output tokens)."""
    source = record["source"]
    fmt = record.get("format")
    completion = record.get("completion") or {}
    usage = usage_of_body(fmt, completion) if fmt is not None else None
    base = {
        "source_file": source.get("file"),
        "source_stream": source.get("stream"),
        "source_offset": source.get("offset"),
        "source_line": source.get("line"),
        "source_record": source.get("record", source.get("entry")),
        "format": fmt,
        "id": completion.get("id"),
        "model": completion.get("model"),
        "created": _int(completion.get("created", completion.get("created_at"))),
        "system_fingerprint": completion.get("system_fingerprint"),
        "service_tier": completion.get("service_tier"),
        "prompt_tokens": usage.input_tokens if usage is not None else None,
        "completion_tokens": usage.output_tokens if usage is not None else None,
        "total_tokens": usage.total_tokens if usage is not None else None,
        "reasoning_tokens": usage.reasoning_tokens if usage is not None else None,
        "cached_tokens": usage.cached_input_tokens if usage is not None else None,
        "chunks": record.get("chunks"),
        "bytes": record.get("bytes"),
        "result": _json(completion),
    }
    if fmt == RESPONSES:
        parts = _responses_parts(completion)
    elif fmt == ANTHROPIC:
        parts = [_anthropic_parts(completion)]
    else:
        parts = [_chat_parts(choice) for choice in completion.get("choices") or [{}]]
    return [{name: {**base, **part}[name] for name, _ in COLUMNS} for part in parts]


def _chat_parts(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message") or {}
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    return {
        "choice_index": choice.get("index"),
        "role": message.get("role"),
        "finish_reason": choice.get("finish_reason"),
        "content": message.get("content") if isinstance(message.get("content"), str) else None,
        "refusal": message.get("refusal"),
        "reasoning": reasoning if isinstance(reasoning, str) else None,
        "tool_calls": _json(message.get("tool_calls")),
        "function_call": _json(message.get("function_call")),
    }


def _responses_parts(response: dict[str, Any]) -> list[dict[str, Any]]:
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    calls: list[Any] = []
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                if part.get("type") == "output_text":
                    texts.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusals.append(part.get("refusal") or "")
        elif kind == "reasoning":
            reasoning.extend(s.get("text") or "" for s in item.get("summary") or ())
        elif kind == "function_call":
            calls.append(item)
    return [
        {
            "choice_index": None,
            "role": "assistant" if texts or refusals else None,
            "finish_reason": response.get("status"),
            "content": "".join(texts) if texts else None,
            "refusal": "".join(refusals) if refusals else None,
            "reasoning": "\n\n".join(reasoning) if reasoning else None,
            "tool_calls": _json(calls) if calls else None,
            "function_call": None,
        }
    ]


def _anthropic_parts(message: dict[str, Any]) -> dict[str, Any]:
    blocks = message.get("content") or ()
    texts = [b.get("text") or "" for b in blocks if b.get("type") == "text"]
    thinking = [b.get("thinking") or "" for b in blocks if b.get("type") == "thinking"]
    calls = [b for b in blocks if b.get("type") == "tool_use"]
    return {
        "choice_index": None,
        "role": message.get("role"),
        "finish_reason": message.get("stop_reason"),
        "content": "".join(texts) if texts else None,
        "refusal": None,
        "reasoning": "\n\n".join(thinking) if thinking else None,
        "tool_calls": _json(calls) if calls else None,
        "function_call": None,
    }


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
