"""A merger and what it returns are freed by reference counting alone: no reference cycle is left
for the garbage collector, whose collections would otherwise cost every stream of a bulk job
(a merger made garbage per stream makes the collector run, and traverse it, every few streams).

Streams that end in an error are left out: the merger keeps the exception, whose traceback holds
the frames that refer to the merger."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ssedelta
from ssedelta import anthropic, responses

DATA = Path(__file__).resolve().parent / "data"
FORMATS: dict[str, Callable[[ssedelta.Backend], type[Any]]] = {
    "real": lambda backend: backend.DeltaMerger,
    "responses": responses.merger_class,
    "anthropic": anthropic.merger_class,
}


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def _merge(cls: type[Any], data: bytes) -> bool:
    """Merge ``data`` in pieces, reading a snapshot between them; True when it finished."""
    merger = cls()
    try:
        for piece in _pieces(data, 997):
            merger.feed(piece)
            merger.snapshot()
        result = merger.finish()
    except ssedelta.SSEDeltaError:
        return False
    return result is not None


@pytest.mark.parametrize("folder", sorted(FORMATS))
def test_merging_leaves_nothing_for_the_collector(backend: ssedelta.Backend, folder: str) -> None:
    cls = FORMATS[folder](backend)
    streams = sorted((DATA / folder).glob("*.sse"))
    cycles: dict[str, int] = {}
    finished = 0
    gc.collect()
    gc.disable()
    try:
        for path in streams:
            gc.collect()
            if _merge(cls, path.read_bytes()):
                finished += 1
                found = gc.collect()
                if found:
                    cycles[path.name] = found
            else:
                gc.collect()
    finally:
        gc.enable()
    assert finished >= len(streams) // 2
    assert cycles == {}


@pytest.mark.parametrize("folder", ["responses", "anthropic"])
def test_a_snapshot_read_while_an_event_is_merged_leaves_the_feed_intact(
    backend: ssedelta.Backend, folder: str
) -> None:
    """The merger lends itself to its sink for a feed; a snapshot read from a hook that runs
    inside that feed hands it back as it found it."""
    cls = FORMATS[folder](backend)

    reads = 0

    class Watching(cls):  # type: ignore[misc, valid-type]
        def merge_payload(self, *args: Any) -> Any:
            nonlocal reads
            reads += 1
            self.snapshot()
            return super().merge_payload(*args)

        if hasattr(cls, "merge_object"):  # the entry of a payload the merger parsed itself

            def merge_object(self, *args: Any) -> Any:
                nonlocal reads
                reads += 1
                self.snapshot()
                return super().merge_object(*args)

    for path in sorted((DATA / folder).glob("*.sse"))[:12]:
        data = path.read_bytes()
        outcomes: list[tuple[Any, Any]] = []
        before = reads
        for merger in (cls(), Watching()):
            try:
                counts = [merger.feed(piece) for piece in _pieces(data, 301)]
                outcomes.append((counts, merger.finish().to_dict()))
            except ssedelta.SSEDeltaError as exc:
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1], path.name
        assert reads > before, path.name  # the hook ran inside the feed
