"""Bulk throughput and peak memory over a generated archive of at least 1 GB.

    python -m benchmarks.bulk_throughput [--gb 1.0] [--repeat 3] [--jobs 1 2] [--save | --json FILE]

Writes the archive to a temporary directory (removed afterwards), then measures:

- the in-memory speed of ``ssedelta.merge`` over every distinct stream body the archive is made of;
- ``ssedelta merge ARCHIVE -o OUT.jsonl --jobs N`` run as a separate process, for each N: the
  throughput (archive bytes over the time the command reports, which excludes interpreter start
  but includes starting the workers), the wall time, the peak RSS of the command summed over its
  worker processes (each process's high-water mark; see :class:`PeakRSS`), and the CPU time of
  the command and its workers (which tells how the jobs would scale on idle cores when the
  machine is shared).

Each figure is the best of ``--repeat`` runs; every run is printed. ``--save`` keeps the results in
``benchmarks/results/bulk/``, where ``python -m benchmarks.render_bulk`` reads them for the README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

import ssedelta

from .bulk_archive import pool, write_archive
from .compare import RESULTS_DIR, machine_info, machine_slug, ssedelta_info

BULK_RESULTS = RESULTS_DIR / "bulk"

SRC = Path(ssedelta.__file__).resolve().parent.parent


def in_memory_speed(bodies: list[bytes], rounds: int) -> float:
    """MB/s of ``ssedelta.merge`` over ``bodies`` (best of ``rounds``)."""
    nbytes = sum(len(b) for b in bodies)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for body in bodies:
            ssedelta.merge(body)
        best = min(best, time.perf_counter() - started)
    return nbytes / best / 1e6


class PeakRSS:
    """The peak memory of a process and its descendants: the sum of each one's high-water mark
    (``VmHWM``; an upper bound of their largest simultaneous total), read every ``interval``
    seconds (the high-water mark misses nothing between two reads). Reads ``/proc`` directly:
    the sampler must not take CPU time from the command it measures. Elsewhere than on Linux,
    the sum of the RSS sampled with psutil."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._pid = pid
        self._interval = interval
        self._marks: dict[int, int] = {}
        self._stop = threading.Event()
        self._proc = os.path.exists(f"/proc/{pid}/status")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._tree(self._pid):
                mark = self._mark(pid)
                if mark is not None:
                    self._marks[pid] = max(self._marks.get(pid, 0), mark)
            time.sleep(self._interval)

    def _tree(self, pid: int) -> list[int]:
        if not self._proc:
            with contextlib.suppress(psutil.Error):
                return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
            return []
        out = [pid]
        for task in out:
            with contextlib.suppress(OSError):
                out.extend(int(c) for c in Path(f"/proc/{task}/task/{task}/children").read_text().split())
        return out

    def _mark(self, pid: int) -> int | None:
        if not self._proc:
            with contextlib.suppress(psutil.Error):
                return int(psutil.Process(pid).memory_info().rss)
            return None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return None

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return sum(self._marks.values())


def run_merge(archive: Path, out: Path, jobs: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "ssedelta.bulk.cli",
        "merge",
        str(archive),
        "-o",
        str(out),
        "-j",
        str(jobs),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    sampler = PeakRSS(process.pid)
    _, err = process.communicate()
    wall = time.perf_counter() - started
    peak = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    match = re.search(r"\d+ merged, (\d+) bad, \d+ skipped \((\d+) streams from .* in ([\d.]+) s", err)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"ssedelta merge failed ({process.returncode}): {err}")
    return {
        "jobs": jobs,
        "streams": int(match[2]),
        "bad": int(match[1]),
        "seconds": float(match[3]),
        "wall_seconds": round(wall, 3),
        "peak_rss_mb": round(peak / 1e6, 1),
        "cpu_seconds": round(cpu, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="archive size in GB (default 1.0)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dir", type=Path, help="where to write the archive (default: a temporary dir)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--save", action="store_true", help=f"also write the results to {BULK_RESULTS}")
    args = parser.parse_args(argv)
    machine = machine_info()
    if args.save:
        args.json = BULK_RESULTS / f"{time.strftime('%Y-%m-%d')}-{machine_slug(machine)}.json"

    with tempfile.TemporaryDirectory(prefix="ssedelta-bulk-", dir=args.dir) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        archive = write_archive(root / "archive", int(args.gb * 1e9))
        print(
            f"archive: {archive.nbytes / 1e9:.2f} GB, {len(archive.files)} files, "
            f"{archive.streams:,} streams (written in {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        memory = in_memory_speed(pool(), args.repeat)
        print(f"in-memory ssedelta.merge ({ssedelta.BACKEND}): {memory:,.0f} MB/s", flush=True)
        runs: dict[int, list[dict[str, Any]]] = {jobs: [] for jobs in args.jobs}
        for _ in range(args.repeat):
            for jobs in args.jobs:
                result = run_merge(archive.root, root / f"out-{jobs}.jsonl", jobs)
                result["mb_s"] = round(archive.nbytes / result["seconds"] / 1e6, 1)
                runs[jobs].append(result)
                print(f"  --jobs {jobs}: {result}", flush=True)
                if result["streams"] + result["bad"] != archive.streams or result["bad"]:
                    raise RuntimeError(f"expected {archive.streams} good streams, got {result}")
            outputs = {(root / f"out-{jobs}.jsonl").read_bytes() for jobs in args.jobs}
            if len(outputs) != 1:
                raise RuntimeError("the outputs of the --jobs values differ")
            del outputs
        best = {jobs: min(rs, key=lambda r: r["seconds"]) for jobs, rs in runs.items()}
        summary: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": machine,
            "ssedelta": ssedelta_info(),
            "archive_gb": round(archive.nbytes / 1e9, 3),
            "files": len(archive.files),
            "streams": archive.streams,
            "in_memory_merge_mb_s": round(memory, 1),
            "best": best,
            "peak_rss_mb": max(r["peak_rss_mb"] for rs in runs.values() for r in rs),
            "runs": runs,
            "load_average": os.getloadavg(),
        }
        if 1 in best:
            summary["jobs1_vs_in_memory"] = round(memory / best[1]["mb_s"], 2)
        if 1 in best and 2 in best:
            summary["speedup_1_to_2"] = round(best[1]["seconds"] / best[2]["seconds"], 2)
            # What two idle cores would give: the --jobs 1 CPU time over half the --jobs 2 CPU time.
            cpu = {jobs: min(r["cpu_seconds"] for r in rs) for jobs, rs in runs.items()}
            summary["cpu_seconds"] = cpu
            summary["speedup_1_to_2_by_cpu"] = round(cpu[1] / (cpu[2] / 2), 2)
        print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
            print(f"saved {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
