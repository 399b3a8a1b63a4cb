"""What the benchmarks that save their own results share: where the files go, what each records about
the machine, timing by interleaved rounds, and rendering between a page's markers.

Each kind of result lives in ``benchmarks/results/<kind>/<date>-<machine>.json`` (the machine named as
:func:`benchmarks.compare.machine_slug` names it); the newest file of a kind is what its renderer
writes into the README and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .compare import RESULTS_DIR, calibrate, machine_info, machine_slug, sample, ssedelta_info
from .corpus import REPO_ROOT
from .impls import package_versions
from .render import newest, write_section


def parser(
    kind: str, module: str, doc: str | None, *, rounds: int, target_ms: float, quick_ms: float
) -> argparse.ArgumentParser:
    """The options every saved benchmark takes: ``--quick``, ``--rounds``, ``--target-ms``, ``--save``,
    ``--output``; ``rounds`` and ``target_ms`` are a full run's defaults, ``quick_ms`` a quick one's."""
    out = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{module}", description=(doc or "").split("\n")[0]
    )
    out.add_argument("--quick", action="store_true", help=f"3 rounds of {quick_ms:g} ms samples")
    out.add_argument("--rounds", type=int, help=f"interleaved rounds (default {rounds}, quick 3)")
    out.add_argument(
        "--target-ms", type=float, help=f"minimum sample duration (default {target_ms:g}, quick {quick_ms:g})"
    )
    out.add_argument("--save", action="store_true", help=f"write benchmarks/results/{kind}/<date>-<cpu>.json")
    out.add_argument("--output", type=Path, help="write the results here instead")
    out.set_defaults(full_rounds=rounds, full_ms=target_ms, quick_ms=quick_ms)
    return out


def settings(args: argparse.Namespace, piece_size: int) -> dict[str, Any]:
    """The rounds and sample duration ``args`` ask for, as the ``settings`` of a results file."""
    return {
        "rounds": args.rounds or (3 if args.quick else args.full_rounds),
        "target_sample_ms": args.target_ms or (args.quick_ms if args.quick else args.full_ms),
        "piece_size": piece_size,
        "quick": args.quick,
    }


def start(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A results document's header, logged as the run starts."""
    doc = header(kind, settings)
    log(f"{doc['machine']['cpu']}, {doc['machine']['cores']} cores; ssedelta {doc['ssedelta']}")
    return doc


def finish(kind: str, doc: dict[str, Any], args: argparse.Namespace) -> None:
    """Save ``doc`` when ``args`` ask for it."""
    if args.save or args.output:
        log(f"saved {save(kind, doc, args.output)}")


def results_dir(kind: str) -> Path:
    return RESULTS_DIR / kind


def header(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The part of every results file that says what was measured where."""
    return {
        "kind": kind,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "packages": package_versions(),
        "ssedelta": ssedelta_info(),
        "settings": settings,
        "load_average": list(os.getloadavg()),
    }


def save(kind: str, doc: dict[str, Any], output: Path | None = None) -> Path:
    """Write ``doc`` to ``output`` or to ``benchmarks/results/<kind>/<date>-<machine>.json``."""
    path = output or results_dir(kind) / f"{time.strftime('%Y-%m-%d')}-{machine_slug(doc['machine'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return path


def latest(kind: str) -> Path:
    """The newest results file of ``kind``."""
    return newest(results_dir(kind), "its benchmark with --save")


def source(path: Path) -> str:
    """``path`` as the pages name it: from the repository root when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path.name


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    rounds: int,
    target_ms: float,
    progress: bool = True,
    collect: bool = True,
) -> dict[str, dict[str, float]]:
    """The median and the best nanoseconds per call of each function over ``rounds`` samples.

    Each sample is as many back-to-back calls as last ``target_ms`` (with ``collect``, a full
    collection runs before it; the collector stays on during it); within a round every function
    takes one sample, the order rotating each round, so that a slow phase of a shared machine hits
    all of them alike."""
    loops = {key: calibrate(fn, int(target_ms * 1e6))[0] for key, fn in fns.items()}
    samples: dict[str, list[float]] = {key: [] for key in fns}
    keys = list(fns)
    gc.collect()
    started = time.perf_counter()
    for r in range(rounds):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            samples[key].append(sample(fns[key], loops[key]) if collect else _sample(fns[key], loops[key]))
        if progress:
            log(f"  round {r + 1}/{rounds} done ({time.perf_counter() - started:.0f} s)")
    return {
        key: {"median_ns": statistics.median(s), "min_ns": min(s), "loops": loops[key]}
        for key, s in samples.items()
    }


def _sample(fn: Callable[[], Any], loops: int) -> float:
    """Nanoseconds per run over ``loops`` back-to-back runs, the collector left as it is."""
    t0 = time.perf_counter_ns()
    for _ in range(loops):
        fn()
    return (time.perf_counter_ns() - t0) / loops


START = "<!-- {}:start -->"
END = "<!-- {}:end -->"


def generated(module: str, source_name: str) -> str:
    return (
        f"<!-- generated by python -m benchmarks.{module} from {source_name}; "
        "edit the benchmarks, not this -->"
    )


def render_main(
    module: str, kind: str, parts: dict[Path, Callable[[dict[str, Any], str], str]], argv: list[str] | None
) -> int:
    """The command line of a renderer: each page of ``parts`` gets what its function makes of the newest
    (or the named) results file of ``kind``, between its ``<!-- kind:start -->`` and ``end`` markers."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}")
    parser.add_argument("results", nargs="?", type=Path, help="results file (default: the newest)")
    parser.add_argument("--stdout", action="store_true", help="print the sections, write nothing")
    args = parser.parse_args(argv)
    path = args.results or latest(kind)
    doc = json.loads(path.read_text())
    name = source(path)
    start, end = START.format(kind), END.format(kind)
    status = 0
    for page, render in parts.items():
        part = render(doc, name)
        if args.stdout:
            print(part)
        elif write_section(page, start, end, part):
            log(f"wrote the {kind} section of {page} from {name}")
        else:
            log(f"{page} has no {start} / {end} markers: nothing written")
            status = 1
    return status
