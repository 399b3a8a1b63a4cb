"""Helpers of the tests that merge a stream step by step, on either backend."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssedelta

#: What a test does between two pieces: given the merger and the list of what it read.
Action = Callable[[Any, list[Any]], None]


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


def split(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` cut at up to 8 random places."""
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def snapshot(merger: Any, seen: list[Any]) -> None:
    seen.append(merger.snapshot().to_dict())


def merged_between(
    backend: Any,
    pieces: list[bytes],
    between: dict[int, str],
    actions: dict[str, Action],
    options: dict[str, Any] | None = None,
    snapshot_on_error: bool = False,
) -> Any:
    """Merge ``pieces`` with a new merger; after piece ``k``, run ``actions[between[k]]``. The
    outcome: ``("ok", result, seen)``, or the error's type, message and offset (then the snapshot
    after it, when ``snapshot_on_error``) and ``seen``, results as dicts."""
    merger = backend.DeltaMerger(**(options or {}))
    seen: list[Any] = []
    try:
        for k, piece in enumerate(pieces):
            merger.feed(piece)
            step = between.get(k)
            if step is not None:
                actions[step](merger, seen)
        return ("ok", merger.finish().to_dict(), seen)
    except ssedelta.SSEDeltaError as exc:
        failed = (type(exc).__name__, str(exc), getattr(exc, "offset", None))
        if snapshot_on_error:
            failed += (merger.snapshot().to_dict(),)
        return (*failed, seen)


class Finalized:
    """Adds its name to ``seen`` when it is freed, so a test can tell whether a cycle through it
    was collected (reset ``Finalized.seen`` first)."""

    seen: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.ref: Any = None

    def __del__(self) -> None:
        Finalized.seen.append(self.name)


def backends_agree(stream: Callable[[int], list[bytes]], actions: dict[str, Action]) -> Callable[..., None]:
    """A hypothesis test: the payloads ``stream(seed)`` as ``data:`` frames, fed whole or cut at random
    places, with up to four of ``actions`` between pieces, merge alike on both backends."""

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        seed=st.integers(0, 2**32),
        split_seed=st.integers(0, 2**16),
        steps=st.dictionaries(st.integers(0, 60), st.sampled_from(list(actions)), max_size=4),
        whole=st.booleans(),
    )
    def test(seed: int, split_seed: int, steps: dict[int, str], whole: bool) -> None:
        frames = [b"data: " + p + b"\n\n" for p in stream(seed)]
        pieces = frames if whole else split(b"".join(frames), random.Random(split_seed))
        native, python = ssedelta.get_backend("native"), ssedelta.get_backend("python")
        expected = merged_between(python, pieces, steps, actions)
        assert merged_between(native, pieces, steps, actions) == expected

    return test
