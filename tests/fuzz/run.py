"""Run the fuzz targets for a fixed time each; exit non-zero on a crash or a backend difference.

    python tests/fuzz/run.py --seconds 15 --replay-sanitized   # the CI smoke run
    python tests/fuzz/run.py --seconds 1200 --keep-corpus .fuzz-corpus
    python tests/fuzz/run.py --seconds 600 --sanitize --keep-corpus .fuzz-corpus

The targets run under atheris against the native core (an in-place build in
``src`` if there is one, else the installed package),
guided by the coverage of the pure-Python twin (the oracle), whose branches
follow the structure of the input. ``--sanitize`` builds a copy of the
native core with ``SSEDELTA_SANITIZE=1`` (AddressSanitizer and
UndefinedBehaviorSanitizer) in a temporary folder and fuzzes that instead,
with the sanitizer runtime preloaded into the interpreter: every input of the
corpus is run first, then mutations of them. GCC's sanitizer runtime takes
over the coverage hooks, so that run is not coverage-guided: grow the corpus
with a plain run first (``--keep-corpus`` keeps it between runs).
``--replay-sanitized`` runs only the committed inputs (``tests/fuzz/crashes``
and ``tests/data/adversarial``, each once) on a sanitizer build, after the
plain runs.

The seed corpus is every real stream in ``tests/data/real`` and every file
of ``tests/data/adversarial``, each under a few framings of the two header
bytes (see ``oracle.py``), and the target's inputs in ``tests/fuzz/crashes``.
A crash input is copied to ``--artifacts`` (default ``fuzz-artifacts/``)
as ``TARGET-PHASE-crash-SHA1``, beside each run's log; the last lines printed
name every finding with libFuzzer's seed, the exception's message and, for an
input of up to 4 KiB, the input in base64, so that the tail of a CI log is
enough to replay it with ``python tests/fuzz/oracle.py TARGET FILE``.
"""

from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = ("tokenizer", "decoder", "merger", "refeed", "todict", "responses", "anthropic")
#: Targets of fuzz_formats.py, seeded with their format's recorded streams.
FORMAT_TARGETS = ("responses", "anthropic")
MAX_LEN = 64 * 1024
#: Inputs up to this size are printed in base64 when they fail, so that a CI log's tail holds them.
MAX_SHOWN = 4096
#: Header bytes each seed is given: (split selector, limit profile).
HEADERS = [(0, 0), (1, 0), (2 + 4 * 12, 0), (3, 0), (1, 1), (5, 2), (9, 3), (13, 4), (17, 5), (21, 6), (6, 7)]


def seed_streams(target: str = "merger") -> list[bytes]:
    if target in FORMAT_TARGETS:
        paths = sorted(glob.glob(os.path.join(ROOT, "tests", "data", target, "*.sse")))
    else:
        paths = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "real", "*.sse")))
        paths += sorted(glob.glob(os.path.join(ROOT, "tests", "data", "adversarial", "*")))
    out = []
    for path in paths:
        if os.path.basename(path).endswith((".py", ".md")):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > MAX_LEN - 2:
            # The first events of a long stream, cut at a blank line.
            cut = data.rfind(b"\n\n", 0, 8 * 1024)
            data = data[: cut + 2] if cut > 0 else data[: 8 * 1024]
        out.append(data)
    return out


def write_seeds(corpus: str, target: str) -> int:
    os.makedirs(corpus, exist_ok=True)
    for path in glob.glob(os.path.join(HERE, "crashes", target + "-*")):  # framed already
        shutil.copy(path, corpus)
    count = 0
    for k, stream in enumerate(seed_streams(target)):
        # Every seed with the plain framing; a rotating few with the other header bytes.
        for h, (selector, profile) in enumerate(HEADERS):
            if h and (k + h) % 4:
                continue
            data = bytes([selector, profile]) + stream
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(corpus, name), "wb") as f:
                f.write(data)
            count += 1
    return count


def sanitized_build(dest: str) -> str:
    """Build the native core with the sanitizers into ``dest``; returns its ``src`` folder."""
    shutil.copytree(
        os.path.join(ROOT, "src"),
        os.path.join(dest, "src"),
        ignore=shutil.ignore_patterns("*.so", "*.c", "__pycache__"),
    )
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, name), dest)
    env = dict(os.environ, SSEDELTA_SANITIZE="1")
    env.pop("SSEDELTA_NO_EXTENSIONS", None)
    proc = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"the sanitizer build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return os.path.join(dest, "src")


def sanitizer_env(src: str) -> dict[str, str]:
    libasan = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return dict(
        os.environ,
        PYTHONPATH=src,
        LD_PRELOAD=libasan,
        ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:handle_abort=1",
        UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1",
        PYTHONMALLOC="malloc",
    )


def run_target(
    target: str, seconds: int, corpus: list[str], env: dict[str, str], work: str, args: argparse.Namespace
) -> list[str]:
    """One libFuzzer run; the summaries of what it found (none: nothing)."""
    phase = "fuzz" if seconds > 0 else "replay"
    out = os.path.join(work, f"out-{phase}-{target}")
    os.makedirs(out, exist_ok=True)
    options = [f"-max_total_time={seconds}"] if seconds > 0 else ["-runs=0"]
    command = [
        sys.executable,
        os.path.join(HERE, "fuzz_formats.py" if target in FORMAT_TARGETS else "fuzz_target.py"),
        target,
        *options,
        f"-max_len={MAX_LEN}",
        "-timeout=60",
        "-report_slow_units=60",  # a slow input (a busy machine, the sanitizers) is no finding; a hang is
        "-rss_limit_mb=6144",
        f"-seed={args.seed}",
        "-print_final_stats=1",
        f"-artifact_prefix={out}/",
        *corpus,
    ]
    started = time.monotonic()
    what = f"for {seconds} s" if seconds > 0 else "over its inputs once"
    print(f"fuzzing {target} {what} ...", flush=True)
    proc = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, errors="replace")
    took = time.monotonic() - started
    stats = dict(
        line[6:].split(":", 1)
        for line in proc.stderr.splitlines()
        if line.startswith("stat::") and ":" in line[6:]
    )
    cov = [line for line in proc.stderr.splitlines() if line.startswith("#") and "cov:" in line]
    print(
        f"  {target}: exit {proc.returncode} after {took:.0f} s; "
        f"{stats.get('number_of_executed_units', '?').strip()} inputs run, "
        f"{stats.get('new_units_added', '?').strip()} new; " + (cov[-1].split("exec/s")[0] if cov else ""),
        flush=True,
    )
    os.makedirs(args.artifacts, exist_ok=True)
    with open(os.path.join(args.artifacts, f"{target}-{phase}.log"), "w") as f:
        f.write(proc.stdout + proc.stderr)
    crashes = sorted(glob.glob(os.path.join(out, "*")))
    if proc.returncode == 0 and not crashes:
        return []
    print(proc.stdout[-6000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
    seed = next((line for line in proc.stderr.splitlines() if line.startswith("INFO: Seed:")), "")
    found = [f"{target} ({phase}): exit {proc.returncode}; {seed}; {_finding(proc.stdout + proc.stderr)}"]
    for path in crashes:
        saved = os.path.join(args.artifacts, f"{target}-{phase}-{os.path.basename(path)}")
        shutil.copy(path, saved)
        with open(path, "rb") as f:
            data = f.read()
        found.append(f"  saved {saved} ({len(data)} bytes)")
        if len(data) <= MAX_SHOWN:
            found.append("  base64: " + base64.b64encode(data).decode())
    return found


def _finding(log: str) -> str:
    """What a libFuzzer log says went wrong: the Python exception's message, or the error line."""
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if "Uncaught Python exception" in line:
            message = []
            for later in lines[k + 1 :]:
                if later.startswith("Traceback"):
                    break
                message.append(later)
            return "\n".join(message)[:3000]
        if ("ERROR: " in line and ("Sanitizer" in line or "libFuzzer" in line)) or "runtime error:" in line:
            return line.strip()
    return "no exception or signal in the log"


def committed_inputs(folder: str, target: str) -> None:
    """The committed regression inputs of ``target`` and the adversarial files (one framing)."""
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(HERE, "crashes", target + "-*")):
        shutil.copy(path, folder)
    for k, path in enumerate(sorted(glob.glob(os.path.join(ROOT, "tests", "data", "adversarial", "*.sse")))):
        with open(path, "rb") as f:
            data = f.read()
        selector, profile = HEADERS[k % len(HEADERS)]
        if len(data) > 32768:
            selector = 0  # one piece: the largest files take seconds each on a sanitizer build
        elif len(data) > 8192 and selector & 3 >= 2:
            selector = 1  # a few cuts: thousands of tiny pieces of a large file take minutes here
        with open(os.path.join(folder, os.path.basename(path)), "wb") as f:
            f.write(bytes([selector, profile]) + data)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30, help="time per target (default 30; 0: no fuzzing)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--sanitize", action="store_true", help="fuzz a sanitizer build of the native core")
    parser.add_argument(
        "--replay-sanitized", action="store_true", help="then run the committed inputs on a sanitizer build"
    )
    parser.add_argument("--keep-corpus", metavar="DIR", help="keep (and reuse) the corpus in DIR/TARGET")
    parser.add_argument("--artifacts", default="fuzz-artifacts", help="where logs and crash inputs go")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer -seed (0: random)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="ssedelta-fuzz-")
    try:
        plain = dict(os.environ)
        plain.pop("SSEDELTA_NO_EXTENSIONS", None)
        if glob.glob(os.path.join(ROOT, "src", "ssedelta", "chat", "_merge_c*.so")):
            plain["PYTHONPATH"] = os.path.join(ROOT, "src")  # an in-place build; else the installed one
        where = subprocess.run(
            [sys.executable, "-c", "import ssedelta; print(ssedelta.__file__, ssedelta.BACKEND)"],
            env=plain,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"ssedelta: {where}", flush=True)
        sanitized = None
        if args.sanitize or args.replay_sanitized:
            print("building the native core with the sanitizers ...", flush=True)
            sanitized = sanitizer_env(sanitized_build(os.path.join(work, "build")))
        found: list[str] = []
        if args.seconds > 0:
            for target in args.targets:
                corpus = os.path.join(
                    args.keep_corpus or work, target if args.keep_corpus else "corpus-" + target
                )
                seeds = os.path.join(work, "seeds-" + target)
                write_seeds(seeds, target)
                os.makedirs(corpus, exist_ok=True)
                env = sanitized if args.sanitize and sanitized is not None else plain
                found += run_target(target, args.seconds, [corpus, seeds], env, work, args)
        if args.replay_sanitized and sanitized is not None:
            for target in args.targets:
                folder = os.path.join(work, "committed-" + target)
                committed_inputs(folder, target)
                found += run_target(target, 0, [folder], sanitized, work, args)
        if found:
            print(
                "FAILED: a crash or a backend difference; replay an input with"
                " `python tests/fuzz/oracle.py TARGET FILE`",
                file=sys.stderr,
            )
            print("\n".join(found), file=sys.stderr)
            return 1
        print("no crash and no backend difference")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
