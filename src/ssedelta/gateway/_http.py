"""What the proxy changes in headers on the way through, and what it reads from a request."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from multidict import CIMultiDict

#: Headers about one connection, never forwarded (RFC 9110, section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

_JSON_OBJECT_START = re.compile(rb"\s*\{")


def _end_to_end(headers: Any) -> Iterator[tuple[str, str]]:
    listed = {
        token.strip().lower() for value in headers.getall("Connection", ()) for token in value.split(",")
    }
    for name, value in headers.items():
        key = name.lower()
        if key not in HOP_BY_HOP and key not in listed:
            yield name, value


def request_headers(headers: Any, *, identity: bool) -> CIMultiDict[str]:
    """The client's headers for the upstream: without hop-by-hop headers, ``Host`` (the
    upstream's is sent) and ``Content-Length`` (recomputed, same value); with
    ``Accept-Encoding: identity`` when ``identity``."""
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in _end_to_end(headers):
        key = name.lower()
        if key == "host" or key == "content-length" or (identity and key == "accept-encoding"):
            continue
        out.add(name, value)
    if identity:
        out["Accept-Encoding"] = "identity"
    return out


def response_headers(headers: Any) -> CIMultiDict[str]:
    """The upstream's response headers for the client, without hop-by-hop headers."""
    return CIMultiDict(_end_to_end(headers))


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """A ``text/event-stream`` body this proxy can read: not compressed."""
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    return content_type == "text/event-stream" and encoding in ("", "identity")


def inspect_request(body: bytes) -> tuple[str | None, bool]:
    """The ``model`` a JSON request body names, and whether it asks for a stream."""
    if not _JSON_OBJECT_START.match(body):
        return None, False
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, False
    if type(obj) is not dict:
        return None, False
    model = obj.get("model")
    return (model if isinstance(model, str) else None), obj.get("stream") is True


def json_body(body: bytes, headers: Mapping[str, str]) -> Any:
    """The JSON value of a response body (decompressing gzip and deflate), or ``None``."""
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return None
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip", "deflate"):
            body = _inflate(body)
        elif encoding not in ("", "identity"):
            return None
        return orjson.loads(body)
    except (orjson.JSONDecodeError, zlib.error):
        return None


def _inflate(body: bytes) -> bytes:
    try:
        return zlib.decompress(body, 47)  # a gzip or zlib header, detected
    except zlib.error:
        return zlib.decompress(body, -15)  # raw deflate, as some servers send it
