"""The readers of each format: each yields the records of one file, streams numbered from 0."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from typing import Any

import orjson

from ..errors import InvalidChunkError, InvalidJSONError, StreamFormatError
from ..stream_format import ANTHROPIC, RESPONSES, format_of_stream
from ._io import Prefixed, Reader, read_fully
from .errors import NoStreamError, RecordError
from .eventstreams import EventStreamReader
from .formats import SNIFF_SIZE
from .jsonvalues import READ_SIZE, JSONCursor
from .records import Record, error_record, stream_record
from .sse import SSEReader, StreamResult, finish_stream


def sse_records(
    f: Reader, name: str, backend: Any, *, start: int = 0, end: int | None = None
) -> Iterator[Record]:
    """The streams of an event-stream file (see :mod:`ssedelta.bulk.sse` for where each ends, and
    :mod:`ssedelta.bulk.eventstreams` for a file that starts with a Responses or Anthropic stream)."""
    for number, result in enumerate(stream_results(f, backend, start=start, end=end)):
        yield stream_record({"file": name, "stream": number, "offset": result.start}, result, backend)


def stream_results(
    f: Reader, backend: Any, *, start: int = 0, end: int | None = None
) -> Iterator[StreamResult]:
    """The streams of event-stream bytes, read by the reader of the first event's format."""
    want = SNIFF_SIZE if end is None else min(SNIFF_SIZE, end - start)
    head = read_fully(f, want) if want > 0 else b""
    fmt = format_of_stream(head, final=len(head) < want or want <= 0)
    reader: Iterator[StreamResult]
    if fmt in (RESPONSES, ANTHROPIC):
        reader = iter(EventStreamReader(Prefixed(head, f), backend, start=start, end=end))
    else:
        reader = iter(SSEReader(Prefixed(head, f), backend, start=start, end=end, done_seen=start > 0))
    return reader


def _lines(f: Reader) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for every line of ``f`` (without its line end)."""
    offset = 0
    carry = b""
    while True:
        data = f.read(READ_SIZE)
        if not data:
            if carry:
                yield offset, carry
            return
        buf = carry + data if carry else data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            yield offset + start, buf[start:nl]
            start = nl + 1
        carry = buf[start:]
        offset += start


# ------------------------------------------------------------------ chunk objects, one per line

_DONE_LINES = frozenset({b"[DONE]", b'"[DONE]"', b"data: [DONE]", b"data:[DONE]"})


class _ChunkStream:
    def __init__(self, backend: Any, line: int, offset: int) -> None:
        self.merger = backend.DeltaMerger()
        self.line = line
        self.offset = offset
        self.size = 0
        self.error: StreamFormatError | None = None
        self.last_id: str | None = None
        self.finished = False
        self.events = 0


def chunk_line_records(f: Reader, name: str, backend: Any) -> Iterator[Record]:
    """Chunk objects, one per line (a ``data:`` prefix is allowed), grouped into streams.

    A stream is a run of consecutive lines: a new one starts at a chunk whose non-empty ``id``
    differs from the previous chunk's when that chunk opens a message (a ``role`` in a delta),
    or follows a chunk with a ``finish_reason``, or follows a bad line. A ``[DONE]`` line ends a
    stream. Blank lines are skipped.
    """
    number = 0
    stream: _ChunkStream | None = None

    def close(done: bool) -> Record:
        assert stream is not None
        result = finish_stream(stream.merger, stream.offset, stream.size, stream.error, done, None, False)
        return stream_record({"file": name, "stream": number, "line": stream.line}, result, backend)

    for line_no, (offset, line) in enumerate(_lines(f), 1):
        text = line.strip()
        if not text:
            if stream is not None:
                stream.size += len(line) + 1
            continue
        if text in _DONE_LINES:
            if stream is not None:
                stream.size += len(line) + 1
                yield close(True)
                number += 1
                stream = None
            continue
        if text.startswith(b"data:"):
            text = text[5:].strip()
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            obj = exc
        if stream is not None and type(obj) is dict and _starts_new(stream, obj):
            yield close(False)
            number += 1
            stream = None
        if stream is None:
            stream = _ChunkStream(backend, line_no, offset)
        where = offset - stream.offset
        stream.size += len(line) + 1
        stream.events += 1
        if type(obj) is not dict:
            if stream.error is None:
                message = f"line {line_no}: " + (
                    f"invalid JSON: {obj}" if isinstance(obj, Exception) else "not a JSON object"
                )
                kind = InvalidJSONError if isinstance(obj, Exception) else InvalidChunkError
                stream.error = kind(message, where, stream.events - 1)
            continue
        if stream.error is None and stream.merger.error is None:
            try:
                stream.merger.add(obj)
            except StreamFormatError as exc:
                stream.error = InvalidChunkError(f"line {line_no}: {exc.args[0]}", where, stream.events - 1)
        chunk_id = obj.get("id")
        if isinstance(chunk_id, str) and chunk_id:
            stream.last_id = chunk_id
        stream.finished = stream.finished or _finishes(obj)
    if stream is not None:
        yield close(False)
    elif number == 0:
        yield error_record({"file": name, "stream": 0, "line": 1}, NoStreamError("no chunk in the file", 0))


def _starts_new(stream: _ChunkStream, obj: dict[str, Any]) -> bool:
    chunk_id = obj.get("id")
    if not isinstance(chunk_id, str) or not chunk_id or not stream.last_id or chunk_id == stream.last_id:
        return False
    bad = stream.error is not None or stream.merger.error is not None
    return bad or stream.finished or _opens(obj)


def _opens(obj: dict[str, Any]) -> bool:
    choices = obj.get("choices")
    return type(choices) is list and any(
        type(c) is dict and type(c.get("delta")) is dict and bool(c["delta"].get("role")) for c in choices
    )


def _finishes(obj: dict[str, Any]) -> bool:
    choices = obj.get("choices")
    return type(choices) is list and any(
        type(c) is dict and c.get("finish_reason") is not None for c in choices
    )


# ------------------------------------------------------------------ records holding a body


def _field(record: Any, path: str) -> Any:
    value = record
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def guess_field(record: Any, prefix: str = "") -> str | None:
    """The dotted path of the first string in ``record`` that reads as an event stream."""
    if isinstance(record, dict):
        for key, value in record.items():
            path = f"{prefix}{key}"
            if isinstance(value, str):
                head = value.lstrip()[:8]
                if head.startswith(("data:", "event:", ": ", "id:")):
                    return path
            elif isinstance(value, (dict, list)):
                found = guess_field(value, path + ".")
                if found:
                    return found
    elif isinstance(record, list):
        for i, value in enumerate(record):
            found = guess_field(value, f"{prefix}{i}.") if isinstance(value, (dict, list)) else None
            if found:
                return found
    return None


def _body_records(body: bytes, source: dict[str, Any], number: int, backend: Any) -> Iterator[Record]:
    count = 0
    for result in stream_results(io.BytesIO(body), backend):
        yield stream_record({**source, "stream": number + count, "offset": result.start}, result, backend)
        count += 1
    if not count:
        yield error_record({**source, "stream": number}, NoStreamError("the body holds no stream", 0))


def body_records(f: Reader, name: str, backend: Any, field: str | None, head: bytes) -> Iterator[Record]:
    """Records whose ``field`` (a dotted path; guessed from the records when ``None``) holds an SSE
    body: JSON Lines (``line`` numbers from 1), a JSON array (``record`` numbers from 0) or a
    single JSON object. Nothing when the file holds no record (the file is then skipped)."""
    number = 0
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first_line = text.split(b"\n", 1)[0] if b"\n" in text else None
    json_document = text.startswith(b"[")
    if not json_document and first_line is not None:
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            json_document = True
    items: Iterator[tuple[dict[str, Any], Any]]
    items = _document_items(f, name) if json_document else _line_items(f, name)
    for source, record in items:
        if isinstance(record, Exception):
            yield error_record({**source, "stream": number}, record)
            number += 1
            continue
        path = field or guess_field(record)
        body = _field(record, path) if path else None
        if not isinstance(body, str):
            what = f"no string field {path!r}" if path else "no field holding an event stream (use --field)"
            yield error_record({**source, "stream": number}, RecordError(f"the record has {what}", 0))
            number += 1
            continue
        if field is None:
            field = path
        for out in _body_records(body.encode("utf-8", "surrogatepass"), source, number, backend):
            yield out
            number += 1


def _line_items(f: Reader, name: str) -> Iterator[tuple[dict[str, Any], Any]]:
    for line_no, (_, line) in enumerate(_lines(f), 1):
        if not line.strip():
            continue
        source = {"file": name, "line": line_no}
        try:
            yield source, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield source, RecordError(f"line {line_no}: invalid JSON: {exc}", 0)


def _document_items(f: Reader, name: str) -> Iterator[tuple[dict[str, Any], Any]]:
    index = 0
    try:
        for index, item in enumerate(JSONCursor(f).items()):
            yield {"file": name, "record": index}, item
    except ValueError as exc:
        yield {"file": name, "record": index}, RecordError(str(exc), 0)


# ------------------------------------------------------------------ HTTP archives


def har_records(f: Reader, name: str, backend: Any) -> Iterator[Record]:
    """The entries of a HAR file whose response is ``text/event-stream`` (the body in
    ``response.content.text``, base64-decoded when ``encoding`` says so), in order; nothing when
    there is none (the file is then skipped)."""
    number = 0
    index = -1
    try:
        for index, entry in enumerate(JSONCursor(f).items(("log", "entries"))):
            if not isinstance(entry, dict):
                continue
            response = entry.get("response") or {}
            content = response.get("content") or {} if isinstance(response, dict) else {}
            mime = content.get("mimeType") if isinstance(content, dict) else None
            if not isinstance(mime, str) or "text/event-stream" not in mime.lower():
                continue
            request = entry.get("request")
            url = request.get("url") if isinstance(request, dict) else None
            source = {"file": name, "entry": index, "url": url}
            body = _har_body(content)
            if isinstance(body, Exception):
                yield error_record({**source, "stream": number}, body)
                number += 1
                continue
            for out in _body_records(body, source, number, backend):
                yield out
                number += 1
    except ValueError as exc:
        yield error_record({"file": name, "stream": number, "entry": index + 1}, RecordError(str(exc), 0))
        number += 1


def _har_body(content: dict[str, Any]) -> bytes | Exception:
    text = content.get("text")
    if not isinstance(text, str):
        return RecordError("the entry has no response text", 0)
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError) as exc:
            return RecordError(f"the response text is not valid base64: {exc}", 0)
    return text.encode("utf-8", "surrogatepass")
