"""Cycle collection while archives are read: paused inside, back as it was outside, still run."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from archive import bodies, concatenated, write

import ssedelta
from ssedelta.bulk import collector, iter_merged, write_merged


class Node:
    def __init__(self) -> None:
        self.me = self


def test_iteration_leaves_the_collector_on_between_records(backend: ssedelta.Backend, tmp_path: Path) -> None:
    path = write(tmp_path / "a.sse", concatenated(bodies()[:5])[0])
    seen = [gc.isenabled() for _ in iter_merged([str(path)], jobs=1, backend=backend)]
    assert seen == [True] * 5 and gc.isenabled()


def test_writing_restores_the_collector_state(backend: ssedelta.Backend, tmp_path: Path) -> None:
    path = write(tmp_path / "a.sse", concatenated(bodies()[:5])[0])
    write_merged([str(path)], tmp_path / "out.jsonl", jobs=1, backend=backend)
    assert gc.isenabled()
    gc.disable()
    try:
        write_merged([str(path)], tmp_path / "out.jsonl", jobs=1, backend=backend)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cyclic_garbage_is_collected_while_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "COLLECT_EVERY", 1000)
    monkeypatch.setattr(collector, "_since", 0)
    monkeypatch.setattr(collector, "_young_runs", 0)
    with collector.paused():
        young = weakref.ref(Node())
        collector.account(600)
        assert young() is not None
        collector.account(600)
        assert young() is None
        old = Node()
        gc.collect()  # now in the oldest generation, which young collections leave alone
        ref = weakref.ref(old)
        del old
        for _ in range(collector.FULL_EVERY - 2):
            collector.account(1001)
        assert ref() is not None
        collector.account(1001)
        assert ref() is None
