"""A snapshot's reader may change what it was given. The merge that goes on must then be the
same on both backends: the native merger keeps no value it handed out as a stand-in for one the
stream sends again (an unknown object repeated on every chunk, a terminal response's items).
Every recorded stream of the three formats is merged with a snapshot after each event whose
every object is changed, and both backends must give the same result."""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

import pytest

import real_streams
import ssedelta
from ssedelta import anthropic, responses
from ssedelta._env import NO_EXTENSIONS

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]


DATA = Path(__file__).resolve().parent / "data"


def recorded(folder: str) -> list[Path]:
    return sorted((DATA / folder).glob("*.sse"))


def change(value: Any, marks: count[int], depth: int = 0, sent: bool = False) -> None:
    """A new key in every object the stream sent that is reachable from ``value``: the objects
    held by the models' extras (the models, and their extras, are the snapshot's own)."""
    if depth > 40:
        return
    if isinstance(value, dict):
        for item in list(value.values()):
            change(item, marks, depth + 1, sent)
        if sent:
            value[f"changed{next(marks)}"] = True
    elif isinstance(value, list):
        for item in value:
            change(item, marks, depth + 1, sent)
    elif hasattr(value, "_keys"):
        for key in value._keys:
            change(getattr(value, key), marks, depth + 1, sent)
        for item in value.extras.values():
            change(item, marks, depth + 1, True)


def events(data: bytes) -> list[bytes]:
    """``data`` cut after each blank line (each event whole, the last piece whatever is left)."""
    out, at = [], 0
    while True:
        end = data.find(b"\n\n", at)
        if end < 0:
            break
        out.append(data[at : end + 2])
        at = end + 2
    if at < len(data):
        out.append(data[at:])
    return out


def outcome(merger: Any, data: bytes) -> Any:
    marks = count()
    try:
        for piece in events(data):
            merger.feed(piece)
            change(merger.snapshot(), marks)
        return ("ok", merger.finish().to_dict())
    except ssedelta.UpstreamError as exc:
        return ("upstream", exc.error, exc.offset, exc.partial.to_dict())
    except ssedelta.SSEDeltaError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "offset", None))


def both(make: Any, data: bytes) -> None:
    native, twin = (outcome(make(ssedelta.get_backend(b)), data) for b in ("native", "python"))
    assert native == twin


@pytest.mark.parametrize("name", real_streams.STREAMS)
def test_chat(name: str) -> None:
    both(lambda backend: backend.DeltaMerger(), real_streams.body(name))


@pytest.mark.parametrize("path", recorded("responses"), ids=lambda p: p.stem)
def test_responses(path: Path) -> None:
    both(lambda backend: responses.merger_class(backend)(), path.read_bytes())


@pytest.mark.parametrize("path", recorded("anthropic"), ids=lambda p: p.stem)
def test_anthropic(path: Path) -> None:
    both(lambda backend: anthropic.for_backend(backend).MessagesMerger(), path.read_bytes())


def test_an_object_repeated_on_every_chunk() -> None:
    head = b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    chunk = (
        head + b'"delta":{"content":"%s"},"finish_reason":null,"filters":{"hate":{"ok":1}}}],"sla":{"a":[1]}}'
    )
    data = b"".join(b"data: " + chunk.replace(b"%s", t) + b"\n\n" for t in (b"a", b"b", b"c"))
    both(lambda backend: backend.DeltaMerger(), data)
