"""Archives made in the tests, and what bulk reading must make of each stream in them."""

from __future__ import annotations

import base64
import bz2
import gzip
import json
import lzma
from pathlib import Path
from typing import Any

import zstandard

import ssedelta
from real_streams import STREAMS, body

COMPRESSORS = {
    "": lambda data: data,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}

#: Streams whose chunks all carry one id and open with a role: grouping chunk lines by id
#: gives back exactly their stream.
SINGLE_ID_STREAMS = [name for name in STREAMS if name.startswith(("openai-python__", "openai-node__"))]


def bodies() -> list[bytes]:
    """Every recorded stream, as recorded (a few end in ``data: [DONE]`` with no line end)."""
    return [body(name) for name in STREAMS]


def expected(backend: ssedelta.Backend, data: bytes) -> dict[str, Any]:
    """What merging ``data`` alone gives: ``{"completion": ...}`` or ``{"error": type, "offset",
    "event_index", "partial"}``."""
    merger = backend.DeltaMerger()
    try:
        merger.feed(data)
    except ssedelta.StreamFormatError as exc:
        return {"error": type(exc).__name__, "offset": exc.offset, "event_index": exc.event_index,
                "partial": merger.snapshot().to_dict()}  # fmt: skip
    try:
        return {"completion": merger.finish().to_dict()}
    except ssedelta.UpstreamError as exc:
        return {"error": "UpstreamError", "offset": exc.offset, "event_index": exc.event_index,
                "partial": exc.partial.to_dict()}  # fmt: skip


def outcome(record: dict[str, Any]) -> dict[str, Any]:
    """A record in the shape of :func:`expected`."""
    if "error" not in record:
        return {"completion": record["completion"]}
    error = record["error"]
    return {"error": error["type"], "offset": error["offset"], "event_index": error["event_index"],
            "partial": record["partial"]}  # fmt: skip


def write(path: Path, data: bytes, suffix: str = "") -> Path:
    target = path.with_name(path.name + suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(COMPRESSORS[suffix](data))
    return target


def concatenated(parts: list[bytes]) -> tuple[bytes, list[int]]:
    """The parts one after the other, and the offset of each."""
    offsets, at = [], 0
    for part in parts:
        offsets.append(at)
        at += len(part)
    return b"".join(parts), offsets


def chunk_lines(data: bytes) -> list[bytes]:
    """The JSON payload of every chunk event of a recorded stream (one ``data:`` line each)."""
    out = []
    for line in data.splitlines():
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload.startswith(b"{"):
                out.append(payload)
    return out


def records_jsonl(items: list[bytes], field: str = "response.body") -> bytes:
    lines = []
    for i, data in enumerate(items):
        record: dict[str, Any] = {"request_id": i, "status": 200}
        node = record
        keys = field.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = data.decode()
        lines.append(json.dumps(record).encode())
    return b"\n".join(lines) + b"\n"


def har(items: list[bytes], *, base64_bodies: bool = True) -> bytes:
    entries = []
    for i, data in enumerate(items):
        content: dict[str, Any] = {"size": len(data), "mimeType": "text/event-stream; charset=utf-8"}
        if base64_bodies:
            content.update(text=base64.b64encode(data).decode(), encoding="base64")
        else:
            content["text"] = data.decode()
        entries.append({
            "startedDateTime": "2025-01-01T00:00:00Z",
            "request": {"method": "POST", "url": f"https://api.example/v1/chat/completions?n={i}"},
            "response": {"status": 200, "content": content},
        })  # fmt: skip
        entries.append({
            "request": {"method": "GET", "url": "https://api.example/v1/models"},
            "response": {"status": 200, "content": {"mimeType": "application/json", "text": "{}"}},
        })  # fmt: skip
    document = {"log": {"version": "1.2", "creator": {"name": "tests"}, "pages": [], "entries": entries}}
    return json.dumps(document, indent=1).encode()
