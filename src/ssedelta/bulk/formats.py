"""The archive formats, and telling them apart from a file's name and first bytes.

``sse``      raw event-stream bytes: one response body, or many bodies one after the other
``chunks``   JSON Lines, one ``chat.completion.chunk`` object per line
``records``  JSON Lines (or a JSON array, or one JSON object) of records whose field holds an SSE body
``har``      an HTTP Archive: each entry whose response is ``text/event-stream`` is one stream
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
    line = text.split(b"\n", 1)[0]
    try:
        first = orjson.loads(line)
    except orjson.JSONDecodeError:
        return RECORDS
    if isinstance(first, dict) and ("choices" in first or first.get("object") == "chat.completion.chunk"):
        return CHUNKS
    return RECORDS
