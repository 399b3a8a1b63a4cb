"""Helpers of the tests that merge a stream step by step, on either backend."""

from __future__ import annotations

from typing import Any


def fed(backend: Any, frames: list[bytes], adds: dict[int, dict[str, Any]], snapshots: bool) -> Any:
    """Feed ``frames`` one by one to a new merger, ``add`` the chunk ``adds[k]`` after frame ``k``,
    and take a snapshot after each frame when ``snapshots``: (the result, the snapshots), as dicts."""
    merger = backend.DeltaMerger()
    seen = []
    for k, data in enumerate(frames):
        merger.feed(data)
        if k in adds:
            merger.add(adds[k])
        if snapshots:
            seen.append(merger.snapshot().to_dict())
    return merger.finish().to_dict(), seen


class Finalized:
    """Adds its name to ``seen`` when it is freed, so a test can tell whether a cycle through it
    was collected (reset ``Finalized.seen`` first)."""

    seen: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.ref: Any = None

    def __del__(self) -> None:
        Finalized.seen.append(self.name)
