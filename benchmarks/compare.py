"""Compare ssedelta with its peers in one process and save the results.

    python -m benchmarks.compare            # full run (a few minutes on 2 cores)
    python -m benchmarks.compare --quick    # about a minute: fewer repetitions, no ``long`` profile
    python -m benchmarks.render             # the saved results as the README's Performance section

Method. Every implementation of a group (see :mod:`benchmarks.impls`) processes the same input: one
generated stream per profile, or a set of recorded streams, each fed in 4 KiB pieces. Each is first run
once and its output checked; one that is wrong on a case is recorded as wrong, with what was wrong, and
not timed. Then, repetition after repetition, every implementation of every group is timed in turn
(the order rotates each repetition), so that a slow phase of the machine hits all of them alike. One
sample is ``loops`` back-to-back runs timed with :func:`time.perf_counter_ns`; ``loops`` is calibrated
so a sample lasts at least the target time. When every cell's samples would exceed the time budget, the
most expensive cells get 3 samples, in evenly spaced rounds. The reported figure is the median sample over all
repetitions, divided by ``loops`` and by the number of chunks (µs per chunk) or into the bytes (MB/s).
The garbage collector stays on (it is part of what object-heavy code costs) and runs before each sample;
what is alive before the timed rounds start (modules, inputs) is frozen out of its sight (``gc.freeze``).

The results file (``benchmarks/results/<date>-<machine>.json``) records the machine (CPU model,
cores), the OS, the Python build and the version of every package involved.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import corpus
from .impls import GROUPS, IMPLS, Impl, json_default, package_versions, run_checked

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = 1


# --------------------------------------------------------------------------------------------------
# Machine


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return " ".join(m.group(1).split())
    return platform.processor() or platform.machine()


def os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text()
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', text, re.MULTILINE)
        if m:
            return f"{m.group(1)} (Linux {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def machine_info() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "arch": platform.machine(),
        "os": os_name(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": " ".join(platform.python_build()),
        "python_compiler": platform.python_compiler(),
    }


def machine_slug(machine: dict[str, Any]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", machine["cpu"].lower()).strip("-")
    slug = re.sub(r"-(cpu|processor)(-|$)", r"\2", slug)
    return f"{slug[:40].strip('-')}-{machine['cores']}c"


def ssedelta_info() -> dict[str, Any]:
    try:
        import ssedelta
    except ImportError as exc:
        return {"importable": False, "error": str(exc)}
    native: str | bool
    try:
        ssedelta.get_backend("native")
        native = True
    except ImportError as exc:
        native = f"not built ({exc})"
    return {"importable": True, "default_backend": ssedelta.BACKEND, "native": native}


# --------------------------------------------------------------------------------------------------
# Timing


def calibrate(fn: Callable[[], Any], target_ns: int) -> tuple[int, int]:
    """(loops, ns of one run): how many back-to-back runs make a sample of at least ``target_ns``."""
    t0 = time.perf_counter_ns()
    fn()
    one = max(time.perf_counter_ns() - t0, 1)
    if one >= target_ns:
        return 1, one
    loops = max(1, math.ceil(target_ns / one))
    t0 = time.perf_counter_ns()  # once more at the estimated count: the first run is often cold
    for _ in range(loops):
        fn()
    one = max((time.perf_counter_ns() - t0) // loops, 1)
    return max(1, math.ceil(target_ns / one)), one


def sample(fn: Callable[[], Any], loops: int) -> float:
    """Nanoseconds per run, over ``loops`` back-to-back runs."""
    gc.collect()
    t0 = time.perf_counter_ns()
    for _ in range(loops):
        fn()
    return (time.perf_counter_ns() - t0) / loops


class Entry:
    """One (group, case, implementation) cell while it is being measured."""

    def __init__(self, impl: Impl, case: corpus.Case) -> None:
        self.impl = impl
        self.case = case
        self.errors: list[str] = []
        self.runner: Callable[[], Any] | None = None
        self.loops = 1
        self.cost_ns = 0.0
        self.max_samples = 0
        self.samples: list[float] = []

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.impl.group,
            "case": self.case.name,
            "impl": self.impl.key,
            "label": self.impl.label,
            "role": self.impl.role,
            "correct": not self.errors,
            "chunks": self.case.chunks,
            "bytes": self.case.nbytes,
            "streams": len(self.case.streams),
        }
        if self.errors:
            out["errors"] = self.errors
            return out
        median = statistics.median(self.samples)
        out.update(
            loops=self.loops,
            samples_ns=[round(s, 1) for s in self.samples],
            median_ns=round(median, 1),
            min_ns=round(min(self.samples), 1),
            us_per_chunk=median / 1000 / self.case.chunks,
            mb_per_s=self.case.nbytes / (median / 1e9) / 1e6,
        )
        return out


def measure(
    cases: list[corpus.Case],
    groups: list[str],
    *,
    reps: int,
    target_ms: float,
    budget_s: float,
    min_reps: int = 3,
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Check every (case, implementation) once, then time the correct ones round-robin.

    Every cell gets ``reps`` samples unless that would take more than ``budget_s``: then the most
    expensive cells (the SDK on long streams) get ``min_reps``, spread evenly over the rounds."""
    unavailable: dict[str, str] = {}
    impls: list[Impl] = []
    for impl in IMPLS:
        if impl.group not in groups:
            continue
        reason = impl.available()
        if reason:
            unavailable[f"{impl.group}/{impl.key}"] = reason
            continue
        impls.append(impl)

    entries: list[Entry] = []
    target_ns = int(target_ms * 1e6)
    log("checking every implementation once on every case, and calibrating")
    for case in cases:
        for impl in impls:
            entry = Entry(impl, case)
            runner, entry.errors = run_checked(impl, case)
            if not entry.errors:
                entry.runner = runner
                entry.loops, one = calibrate(runner, target_ns)
                entry.cost_ns = entry.loops * one
                entry.max_samples = reps
            else:
                log(f"  wrong: {impl.group}/{impl.key} on {case.name}: {entry.errors[0]}")
            entries.append(entry)

    timed = [e for e in entries if e.runner is not None]

    def total_ns() -> float:
        return sum(e.cost_ns * e.max_samples for e in timed)

    for e in sorted(timed, key=lambda e: -e.cost_ns):
        if total_ns() <= budget_s * 1e9:
            break
        e.max_samples = min(reps, min_reps)
    # Everything alive now (modules, inputs) is moved out of the collector's sight, so the collection
    # before each sample only walks what the runs themselves leave behind.
    gc.collect()
    gc.freeze()
    n_samples = sum(e.max_samples for e in timed)
    log(f"timing {len(timed)} cells, {n_samples} samples, about {total_ns() / 1e9:.0f} s")
    started = time.perf_counter()
    for rep in range(reps):
        for case in cases:
            for group in groups:
                cell = [e for e in timed if e.case is case and e.impl.group == group]
                if not cell:
                    continue
                shift = rep % len(cell)
                for e in cell[shift:] + cell[:shift]:
                    # a cell with fewer samples than rounds takes them in evenly spaced rounds
                    if (rep * e.max_samples) // reps != ((rep + 1) * e.max_samples) // reps:
                        assert e.runner is not None
                        e.samples.append(sample(e.runner, e.loops))
        log(f"  round {rep + 1}/{reps} done ({time.perf_counter() - started:.0f} s)")
    return [e.record() for e in entries], unavailable


# --------------------------------------------------------------------------------------------------
# Report


def ratios(results: list[dict[str, Any]]) -> None:
    """Add ``vs_sdk`` and ``vs_python`` to every timed result: the SDK row's (or ssedelta-python's)
    time divided by this row's, in the same group and case. Above 1 means faster than that row."""
    base: dict[tuple[str, str, str], float] = {}
    for r in results:
        if r.get("median_ns") and r["role"]:
            base[(r["group"], r["case"], r["role"])] = r["median_ns"]
    for r in results:
        if not r.get("median_ns"):
            continue
        for role, key in (("sdk", "vs_sdk"), ("python", "vs_python")):
            b = base.get((r["group"], r["case"], role))
            r[key] = b / r["median_ns"] if b else None


def fmt_us(us: float) -> str:
    if us >= 100:
        return f"{us:,.0f}"
    if us >= 10:
        return f"{us:.1f}"
    if us >= 1:
        return f"{us:.2f}"
    return f"{us:.3f}"


TIMES = "\u00d7"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}{TIMES}"
    if x >= 10:
        return f"{x:.1f}{TIMES}"
    return f"{x:.2f}{TIMES}"


def text_table(results: list[dict[str, Any]], case_order: list[str]) -> str:
    lines = []
    for group, title in GROUPS.items():
        rows = [r for r in results if r["group"] == group]
        if not rows:
            continue
        lines.append("")
        lines.append(f"{group}: {title}")
        header = "  " + " ".join(
            (
                f"{'case':<12}",
                f"{'implementation':<48}",
                f"{'µs/chunk':>10}",
                f"{'MB/s':>9}",
                "   vs SDK",
                "   vs py",
            )
        )
        lines.append(header)
        lines.append("  " + "-" * (len(header) - 2))
        for case in case_order:
            for r in (r for r in rows if r["case"] == case):
                label = r["label"][:48]
                if not r["correct"]:
                    lines.append(f"  {case:<12} {label:<48} {'wrong: ' + r['errors'][0][:60]}")
                    continue
                lines.append(
                    f"  {case:<12} {label:<48} {fmt_us(r['us_per_chunk']):>10} {r['mb_per_s']:>9,.0f} "
                    f"{fmt_ratio(r.get('vs_sdk')):>9} {fmt_ratio(r.get('vs_python')):>8}"
                )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about a minute: 3 repetitions, no long profile")
    parser.add_argument("--reps", type=int, help="repetitions (default 11, quick 3)")
    parser.add_argument("--target-ms", type=float, help="minimum sample duration (default 20, quick 5)")
    parser.add_argument(
        "--budget-s",
        type=float,
        help="time for the timed rounds (default 200, quick 30): beyond it "
        "the most expensive cells get 3 samples",
    )
    parser.add_argument("--cases", nargs="+", choices=corpus.CASES, help="cases to run (default: all)")
    parser.add_argument("--groups", nargs="+", choices=list(GROUPS), help="groups to run (default: all)")
    parser.add_argument("--no-growth", action="store_true", help="skip the growth benchmark")
    parser.add_argument("--plot", type=Path, default=None, help="growth plot path (default docs/growth.png)")
    parser.add_argument("--output", type=Path, help="results file (default: benchmarks/results/)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--versions", action="store_true", help="print machine and package versions, exit")
    args = parser.parse_args(argv)

    machine = machine_info()
    packages = package_versions()
    if args.versions:
        print(json.dumps({"machine": machine, "packages": packages, "ssedelta": ssedelta_info()}, indent=2))
        return 0

    warnings.filterwarnings("ignore", category=UserWarning, module="pydantic")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    reps = args.reps or (3 if args.quick else 11)
    target_ms = args.target_ms or (5.0 if args.quick else 20.0)
    case_names = args.cases or [c for c in corpus.CASES if not (args.quick and c == "long")]
    groups = args.groups or list(GROUPS)
    started = time.perf_counter()

    cases = corpus.iter_cases(case_names)
    missing = sorted(set(case_names) - {c.name for c in cases})
    if missing:
        log(f"no recorded streams in {corpus.real_dir()}: skipping {', '.join(missing)}")
    log(f"{machine['cpu']}, {machine['cores']} cores; {machine['python']}; ssedelta {ssedelta_info()}")
    budget_s = args.budget_s or (30.0 if args.quick else 200.0)
    results, unavailable = measure(cases, groups, reps=reps, target_ms=target_ms, budget_s=budget_s, log=log)
    ratios(results)

    growth = None
    if not args.no_growth:
        from . import growth as growth_mod

        growth = growth_mod.run(quick=args.quick, log=log)
        plot_path = args.plot or growth_mod.DEFAULT_PLOT
        growth_mod.plot(growth, plot_path, machine)
        try:
            growth["plot"] = str(plot_path.resolve().relative_to(corpus.REPO_ROOT))
        except ValueError:
            growth["plot"] = str(plot_path)
        log(f"growth plot written to {plot_path}")

    elapsed = time.perf_counter() - started
    now = dt.datetime.now(dt.timezone.utc)
    doc = {
        "schema": SCHEMA,
        "date": now.isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.compare", *(sys.argv[1:] if argv is None else argv)]),
        "quick": args.quick,
        "elapsed_s": round(elapsed, 1),
        "machine": machine,
        "packages": packages,
        "ssedelta": ssedelta_info(),
        "settings": {
            "repetitions": reps,
            "target_sample_ms": target_ms,
            "piece_size": corpus.PIECE_SIZE,
            "gc": "enabled; gc.freeze() before the timed rounds, gc.collect() before each sample",
            "timer": "time.perf_counter_ns",
            "statistic": "median sample",
            "timing_budget_s": budget_s,
        },
        "cases": {
            c.name: {
                "description": c.description,
                "streams": len(c.streams),
                "chunks": c.chunks,
                "bytes": c.nbytes,
            }
            for c in cases
        },
        "implementations": {
            f"{i.group}/{i.key}": {"label": i.label, "note": i.note} for i in IMPLS if i.group in groups
        },
        "unavailable": unavailable,
        "results": results,
        "growth": growth,
    }
    print(f"\n{machine['cpu']} ({machine['cores']} cores), {machine['os']}, {machine['python']}")
    print("µs/chunk and MB/s: median; vs SDK / vs py: the openai SDK's (ssedelta python's) time ÷ this row's")
    print(text_table(results, [c.name for c in cases]))
    if unavailable:
        print("\nnot measured: " + "; ".join(f"{k} ({v})" for k, v in unavailable.items()))
    if growth:
        from .growth import text_table as growth_table

        print("\n" + growth_table(growth))
    print(f"\ntotal time {elapsed:.0f} s")
    if not args.no_save:
        path = args.output or RESULTS_DIR / f"{now:%Y-%m-%d}-{machine_slug(machine)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=json_default) + "\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
