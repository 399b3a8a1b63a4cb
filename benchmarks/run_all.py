"""Re-run every saved benchmark, then re-render every table of the README and of the docs.

    python -m benchmarks.run_all [--quick] [--skip NAME ...] [--only NAME ...] [--render-only]

Each benchmark runs in its own process, one after the other (they would only slow each other down on
a shared machine), and saves its results under ``benchmarks/results/``; then every renderer writes
its tables from the newest results of its kind. A benchmark that fails stops the run before anything
is rendered.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .corpus import REPO_ROOT

#: name -> (the command's arguments after ``python -m``, its ``--quick`` arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "compare": (["benchmarks.compare"], ["--quick"]),
    "providers": (["benchmarks.provider_profiles", "--save"], ["--quick"]),
    "formats": (["benchmarks.formats", "--save"], ["--quick"]),
    "heap": (["benchmarks.heap", "--save"], ["--quick"]),
    "openai-client": (["benchmarks.bench_openai_client"], ["--rounds", "2"]),
    "bulk": (["benchmarks.bulk_throughput", "--save"], ["--repeat", "1"]),
}
RENDERERS = (
    "benchmarks.render",
    "benchmarks.render_providers",
    "benchmarks.render_formats",
    "benchmarks.render_heap",
    "benchmarks.render_openai_client",
    "benchmarks.render_bulk",
)


def _run(args: list[str]) -> None:
    print(f"$ python -m {' '.join(args)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"python -m {' '.join(args)} failed ({done.returncode})")
    print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick mode")
    parser.add_argument(
        "--skip", nargs="+", choices=list(BENCHMARKS), default=[], help="benchmarks to leave out"
    )
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="only these benchmarks")
    parser.add_argument("--render-only", action="store_true", help="re-render from the saved results")
    args = parser.parse_args(argv)
    if not args.render_only:
        for name, (command, quick) in BENCHMARKS.items():
            if name in args.skip or (args.only and name not in args.only):
                continue
            _run(command + (quick if args.quick else []))
    for renderer in RENDERERS:
        _run([renderer])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
