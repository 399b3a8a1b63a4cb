"""The archive formats, and telling them apart from a file's name and first bytes.

``sse``      raw event-stream bytes: one response body, or many bodies one after the other
``chunks``   JSON Lines, one ``chat.completion.chunk`` object per line
``records``  JSON Lines (or a JSON array, or one JSON object) of records whose field holds an SSE body
``har``      an HTTP Archive: each entry whose response is ``text/event-stream`` is one stream

A file in none of them (a README, a JSON file holding no event stream, an image) is *skipped*, not
reported as a bad stream: :func:`no_stream_reason` is the one rule that tells them apart.
"""

from __future__ import annotations

import re

import orjson

SSE, CHUNKS, RECORDS, HAR = "sse", "chunks", "records", "har"
FORMATS = (SSE, CHUNKS, RECORDS, HAR)
AUTO = "auto"

#: Bytes of the (decompressed) start of a file that :func:`sniff` looks at.
SNIFF_SIZE = 64 * 1024

_HAR_START = re.compile(rb'\{\s*"log"\s*:')
#: A line that starts an event stream: a field ``data``, ``event``, ``id`` or ``retry``, or a comment.
_SSE_LINE = re.compile(rb"(?:data|event|id|retry)(?::|\r|\n|$)|:")
#: A JSON string whose text starts like an event stream (a record's body).
_SSE_STRING = re.compile(rb'"(?:\s|\\[rnt])*(?:data|event|id|retry):')


def sniff(name: str, head: bytes, field: str | None = None) -> str:
    """The format of a file called ``name`` (compression suffix removed) starting with ``head``.

    ``.har`` files, and JSON documents whose first key is ``log``, are HAR. A
    first line that is a JSON object with ``choices`` (or ``object`` set to
    ``chat.completion.chunk``) means chunk lines, unless ``field`` is given;
    any other JSON (an object or an array) means records. Anything else is
    read as an event stream.
    """
    if name.lower().endswith(".har"):
        return HAR
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"["):
        return RECORDS
    if not text.startswith(b"{"):
        return SSE
    if _HAR_START.match(text):
        return HAR
    if field is not None:
        return RECORDS
    return CHUNKS if _is_chunk(text.split(b"\n", 1)[0]) else RECORDS


def no_stream_reason(fmt: str, head: bytes, *, read: bool = False) -> str | None:
    """Why a file of format ``fmt`` starting with ``head`` (its first :data:`SNIFF_SIZE` bytes,
    decompressed) holds no stream, so that bulk reading skips it; ``None`` when it is read.

    A file is skipped when it is empty or white space, or when its start is no stream of its
    format: for ``sse``, the first line that is not blank is no event-stream field (``data``,
    ``event``, ``id``, ``retry``) and no comment (``:``); for ``chunks``, the first line is no
    chunk object; for ``records``, no JSON string in ``head`` starts like an event stream. A file
    that starts like a stream and then breaks is read, and its streams are bad, not skipped.
    ``read=True`` asks again once the whole file has been read without finding a stream: a
    ``records`` file holding no record and a ``har`` file holding no ``text/event-stream`` entry
    are skipped then.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "empty"
    if read:
        if fmt == RECORDS:
            return "no record holding an event stream"
        if fmt == HAR:
            return "no text/event-stream entry"
        return None
    if fmt == SSE and not _SSE_LINE.match(text):
        return "not an event stream, chunk lines, JSON records or a HAR file"
    if fmt == CHUNKS and not _is_chunk(text.split(b"\n", 1)[0].removeprefix(b"data:")):
        return "the first line is no chat completion chunk"
    if fmt == RECORDS and not _SSE_STRING.search(text):
        return "no record holding an event stream"
    return None


def _is_chunk(line: bytes) -> bool:
    try:
        first = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(first, dict) and ("choices" in first or first.get("object") == "chat.completion.chunk")
