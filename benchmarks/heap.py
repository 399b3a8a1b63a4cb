"""Decoding to objects in a process that holds a gateway-sized heap, against msgspec Structs (``gc=False``).

    python -m benchmarks.heap [--quick] [--sizes 0 30000 100000 330000] [--save]

A gateway keeps long-lived state (sessions, their histories, caches) alive while it decodes streams.
Every object the decoder builds that the cyclic garbage collector tracks makes the collector's full
passes walk that heap more often, so keeping the chunks of a stream (``list(ssedelta.iter_chunks(...))``)
costs more as the heap grows; msgspec's ``gc=False`` Structs are never tracked. For each heap size a
fresh process:

1. loads the inputs (the generated ``chat`` and ``logprobs`` profiles, fed in 4 KiB pieces) and checks
   both rows' output (chunk count, content characters, logprob tokens) before anything is timed;
2. moves everything alive so far out of the collector's sight (``gc.freeze``: modules and inputs);
3. builds the heap: sessions, each a slotted object holding a list of its messages and a dict of
   settings holding a list, four tracked objects a session, ``size // 4`` of them (the count of
   tracked objects measured with ``gc.get_objects`` is recorded);
4. times both rows on both profiles in interleaved rounds (the order rotating each round), with the
   automatic collector on and never run by hand between samples, as in a gateway (its passes, wherever
   they fall, are what is measured; samples are long enough to hold several): ssedelta's native
   ``iter_chunks`` keeping every chunk, and a split on blank lines + ``msgspec.json.Decoder(Chunk)``
   with the Structs of :mod:`benchmarks.msgspec_schema` keeping every chunk.

The figure is µs per chunk (median sample); the ratio is ssedelta's over msgspec's, same heap, same
process, same round (target: at most 1.0 at every size, on both profiles). ``--save`` writes
``benchmarks/results/heap/<date>-<machine>.json``, rendered by ``python -m benchmarks.render_heap``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from typing import Any

from . import saved
from .corpus import PIECE_SIZE, REPO_ROOT, profile

KIND = "heap"
SIZES = (0, 30_000, 100_000, 330_000)
PROFILES = ("chat", "logprobs")
#: key -> (implementation key in the decode group of :mod:`benchmarks.impls`, label)
ROWS = {
    "ssedelta": ("ssedelta-native", "ssedelta native `iter_chunks`"),
    "msgspec": ("msgspec", "msgspec Structs, `gc=False`"),
}
TARGET = 1.0


class Session:
    """What a gateway holds per client: an id, the conversation so far, some settings."""

    __slots__ = ("id", "messages", "settings")

    def __init__(self, i: int) -> None:
        self.id = f"sess_{i:08d}"
        self.messages = [f"message {i}", i]
        self.settings = {"model": "gpt-4o", "limits": [i, i * 2]}


def build_heap(size: int) -> list[Session]:
    """About ``size`` tracked objects: ``size // 4`` sessions of four (the session, its list of messages,
    its settings dict, which holds a list and so is tracked, and that list)."""
    return [Session(i) for i in range(size // 4)]


def child(size: int, rounds: int, target_ms: float) -> dict[str, Any]:
    """The measurements at one heap size, in this process."""
    from .impls import IMPLS

    streams = {name: profile(name) for name in PROFILES}
    fns = {}
    for name, stream in streams.items():
        for key, (impl_key, _) in ROWS.items():
            (impl,) = [i for i in IMPLS if i.key == impl_key and i.group == "decode"]
            errors = impl.check(impl.make(stream)(), stream)
            if errors:
                raise AssertionError(f"{impl_key} is wrong on {name}: {errors[:3]}")
            fns[f"{name}/{key}"] = impl.make(stream)
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        before = len(gc.get_objects())
        heap = build_heap(size)
        gc.collect()
        tracked = len(gc.get_objects()) - before
        full_before = gc.get_stats()[2]["collections"]
        # no collection before each sample: the collector's own passes, wherever they fall, are what
        # is measured (interleaved() collects once, before the first round)
        timed = saved.interleaved(fns, rounds=rounds, target_ms=target_ms, progress=False, collect=False)
        full = gc.get_stats()[2]["collections"] - full_before - 1
        assert len(heap) == size // 4  # alive to the end
    finally:
        gc.unfreeze()
    out: dict[str, Any] = {
        "size": size,
        "tracked": tracked,
        "frozen": frozen,
        "full_collections": full,
        "profiles": {},
    }
    for name, stream in streams.items():
        row = {key: timed[f"{name}/{key}"]["median_ns"] / 1000 / stream.chunks for key in ROWS}
        row["ratio"] = row["ssedelta"] / row["msgspec"]
        row["chunks"] = stream.chunks
        out["profiles"][name] = row
    return out


def run(sizes: list[int], rounds: int, target_ms: float) -> list[dict[str, Any]]:
    """Each heap size in a fresh process (so one size's heap leaves nothing behind for the next)."""
    out = []
    for size in sizes:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.heap", "--child", str(size), "--rounds", str(rounds),
             "--target-ms", str(target_ms)],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"heap size {size}: {done.stderr}")
        result = json.loads(done.stdout)
        out.append(result)
        cells = ", ".join(
            f"{name} {r['ssedelta']:.3f} vs {r['msgspec']:.3f} µs/chunk ({r['ratio']:.2f}x)"
            for name, r in result["profiles"].items()
        )
        saved.log(f"  {result['tracked']:>7,} tracked: {cells} ({time.perf_counter() - started:.0f} s)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = saved.parser(KIND, "heap", __doc__, rounds=7, target_ms=300.0, quick_ms=30.0)
    parser.add_argument("--sizes", type=int, nargs="+", help=f"tracked objects (default {SIZES})")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = saved.settings(args, PIECE_SIZE)
    rounds, target_ms = settings["rounds"], settings["target_sample_ms"]
    if args.child is not None:
        print(json.dumps(child(args.child, rounds, target_ms)))
        return 0
    sizes = args.sizes or list(SIZES)
    doc = saved.start(KIND, settings)
    started = time.perf_counter()
    doc["sizes"] = run(sizes, rounds, target_ms)
    worst_size, worst_profile = max(
        ((s, name) for s in doc["sizes"] for name in s["profiles"]),
        key=lambda sp: sp[0]["profiles"][sp[1]]["ratio"],
    )
    doc["worst"] = {
        "size": worst_size["size"],
        "tracked": worst_size["tracked"],
        "profile": worst_profile,
        "ratio": worst_size["profiles"][worst_profile]["ratio"],
    }
    doc["rows"] = {key: label for key, (_, label) in ROWS.items()}
    doc["target"] = TARGET
    doc["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(f"worst ratio: {doc['worst']['ratio']:.2f}x ({worst_profile}, {worst_size['tracked']:,} tracked)")
    saved.finish(KIND, doc, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
