"""Render saved comparison results: every table in docs/benchmarks.md, the merge table in the README.

    python -m benchmarks.render [RESULTS.json] [--stdout]

Without an argument the newest file in ``benchmarks/results/`` is used. Each page's part replaces
whatever is between its ``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers; a page without
them is not changed (and the command fails). ``--stdout`` prints both parts and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .compare import RESULTS_DIR, fmt_ratio, fmt_us
from .corpus import PROVIDER_PROFILES, REPO_ROOT

README = REPO_ROOT / "README.md"
PAGE = REPO_ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

_GROUP_TITLES = {
    "merge": ("SSE bytes → final completion", "what `ssedelta.merge` does"),
    "decode": ("SSE bytes → one object per chunk", "what `ssedelta.iter_chunks` does"),
    "tokenize": ("SSE bytes → events", "what `ssedelta.SSEDecoder` does"),
    "floor": ("Floor: scanning the same bytes once", "no parsing at all, for scale"),
}
_ROW_ORDER = (
    "ssedelta-native", "ssedelta-python", "openai", "httpx-sse", "sseclient-py", "litellm", "orjson-loop",
    "orjson", "msgspec", "pydantic", "bytes.count", "bytes.split",
)  # fmt: skip
_PACKAGES_SHOWN = ("openai", "httpx-sse", "httpx", "sseclient-py", "msgspec", "orjson", "pydantic", "litellm")


def newest(directory: Path, how: str) -> Path:
    """The results file in ``directory`` of the latest run, by the ``date`` it records (the file
    name breaks ties): a checkout's file times say nothing of when a run was made. ``how``: the
    command that saves one, for the error when there is none."""

    def when(path: Path) -> tuple[str, str]:
        return "".join(c for c in str(json.loads(path.read_text()).get("date", "")) if c.isdigit()), path.name

    files = list(directory.glob("*.json"))
    if not files:
        raise SystemExit(f"no results in {directory}; run {how} first")
    return max(files, key=when)


def latest_results() -> Path:
    return newest(RESULTS_DIR, "python -m benchmarks.compare")


def _ratios(results: list[dict[str, Any]]) -> None:
    base = {
        (r["group"], r["case"], r["role"]): r["median_ns"]
        for r in results
        if r.get("median_ns") and r.get("role")
    }
    for r in results:
        if r.get("median_ns"):
            b = base.get((r["group"], r["case"], "sdk"))
            r["vs_sdk"] = b / r["median_ns"] if b else None


def _summarize_errors(errors: list[str], per_stream: bool, limit: int = 4) -> str:
    """The errors of one row, streams with the same problem grouped: ``problem (stream, stream)``."""
    by_problem: dict[str, list[str]] = {}
    for e in errors:
        stream, sep, problem = e.partition(": ")
        if not per_stream or not sep:  # one stream: each line is a problem
            stream, problem = "", e
        if len(problem) > 90:
            problem = problem[:90].rsplit(" ", 1)[0] + " ..."
        by_problem.setdefault(problem, [])
        if stream and stream not in by_problem[problem]:
            by_problem[problem].append(stream)
    parts = []
    for problem, streams in list(by_problem.items())[:limit]:
        where = f" (`{'`, `'.join(streams[:3])}`" + (
            f" and {len(streams) - 3} more" if len(streams) > 3 else ""
        )
        parts.append(f"{problem}" + (where + ")" if streams else ""))
    more = len(by_problem) - limit
    return "; ".join(parts) + (f"; and {more} other problems" if more > 0 else "")


def _group_table(
    doc: dict[str, Any], group: str, notes: list[str], leave_out: Collection[str] = ()
) -> list[str]:
    results = [r for r in doc["results"] if r["group"] == group and r["case"] not in leave_out]
    cases = [c for c in doc["cases"] if any(r["case"] == c for r in results)]
    if not results:
        return []
    throughput = group in ("tokenize", "floor")
    has_sdk = any(r.get("role") == "sdk" for r in results)
    title, what = _GROUP_TITLES[group]
    out = [f"### {title}", ""]
    if throughput:
        out.append(f"µs per chunk · MB/s (median), {what}.")
    elif has_sdk:
        out.append(f"µs per chunk (median), {what}; in brackets: times faster than the openai SDK.")
    else:
        out.append(f"µs per chunk (median), {what}.")
    out.append("")
    out.append("| | " + " | ".join(cases) + " |")
    out.append("|---|" + "---:|" * len(cases))
    keys = sorted({r["impl"] for r in results}, key=lambda k: (*_ROW_ORDER, k).index(k))
    for key in keys:
        row = {r["case"]: r for r in results if r["impl"] == key}
        label = next(iter(row.values()))["label"]
        if key.startswith("ssedelta"):
            label = f"**{label}**"
        cells = []
        for case in cases:
            r = row.get(case)
            if r is None:
                cells.append("")
            elif not r["correct"]:
                notes.append(
                    f"{r['label']} on `{case}`: {_summarize_errors(r['errors'], r.get('streams', 1) > 1)}"
                )
                cells.append(f"wrong[^w{len(notes)}]")
            elif throughput:
                cells.append(f"{fmt_us(r['us_per_chunk'])} · {r['mb_per_s']:,.0f}")
            elif r.get("vs_sdk") and r.get("role") != "sdk":
                cells.append(f"{fmt_us(r['us_per_chunk'])} ({fmt_ratio(r['vs_sdk'])})")
            else:
                cells.append(fmt_us(r["us_per_chunk"]))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def _link(target: str, page: Path) -> str:
    """``target`` (a path from the repository root) as a link from ``page``."""
    return Path(os.path.relpath(REPO_ROOT / target, page.parent)).as_posix()


def _plot(doc: dict[str, Any], page: Path) -> list[str]:
    plot = doc["growth"].get("plot", "docs/growth.png")
    return [f"![µs per chunk against stream length, content and tool arguments]({_link(plot, page)})", ""]


def _growth(doc: dict[str, Any]) -> list[str]:
    growth = doc.get("growth")
    if not growth:
        return []
    out = ["### As a stream grows", "", *_plot(doc, PAGE)]
    sizes = growth["sizes"]
    out.append("µs per chunk (median), SSE bytes → final completion, one stream of *n* deltas.")
    out.append("")
    out.append("| | n = " + " | ".join(f"{n:,}" for n in sizes) + " |")
    out.append("|---|" + "---:|" * len(sizes))
    for s in growth["series"]:
        by_n = {p["deltas"]: p for p in s["points"]}
        cells = []
        for n in sizes:
            p = by_n.get(n)
            cells.append("" if p is None else "wrong" if "errors" in p else fmt_us(p["us_per_chunk"]))
        out.append(f"| {s['label']}, {s['kind']} | " + " | ".join(cells) + " |")
    out.append("")
    sentences = []
    if growth["sdk_cap"] < sizes[-1]:
        sentences.append(
            f"The openai SDK was measured up to {growth['sdk_cap']:,} deltas to keep the run short."
        )
    for s in growth["series"]:
        pts = [p for p in s["points"] if "us_per_chunk" in p]
        if len(pts) >= 2 and s["impl"].startswith("ssedelta"):
            a, b = pts[0], pts[-1]
            sentences.append(
                f"{s['label']}, {s['kind']}: {fmt_us(b['us_per_chunk'])} µs per chunk at {b['deltas']:,} "
                f"deltas against {fmt_us(a['us_per_chunk'])} at {a['deltas']:,}."
            )
    if sentences:
        out += [" ".join(sentences), ""]
    return out


def _cases(doc: dict[str, Any]) -> list[str]:
    parts = []
    for name, c in doc["cases"].items():
        size = f"{c['chunks']:,} chunks, {c['bytes'] / 1e3:,.0f} kB"
        parts.append(f"`{name}` ({c['description']}; {size})")
    return [
        "Inputs: " + ", ".join(parts) + ". The generated streams are byte-for-byte what OpenAI sends "
        "(compact JSON in OpenAI's key order); the recorded ones come from six client projects' test "
        "fixtures (`tests/data/real/PROVENANCE.md`).",
        "",
    ]


def _reproducing(doc: dict[str, Any], source: str) -> list[str]:
    m = doc["machine"]
    pk = doc["packages"]
    sd = doc.get("ssedelta", {})
    backend = sd.get("default_backend", "?")
    native = sd.get("native")
    built = "native core built" if native is True else "native core not built: python backend only"
    versions = ", ".join(f"{name} {pk[name]}" for name in _PACKAGES_SHOWN if pk.get(name))
    absent = [name for name in _PACKAGES_SHOWN if not pk.get(name)]
    s = doc["settings"]
    lines = [
        "### Reproducing",
        "",
        f"Measured on {doc['date'][:10]} on {m['cpu']} ({m['cores']} cores), {m['os']}, {m['python']} "
        f"({m['python_compiler']}), one process, with ssedelta {pk.get('ssedelta')} "
        f"(default backend `{backend}`, {built}) and {versions}"
        + (f"; not installed, so not measured: {', '.join(absent)}" if absent else "")
        + "."
        + (
            " litellm is not in the `bench` extra; it is measured when installed."
            if pk.get("litellm")
            else ""
        ),
        f"Every implementation is run in turn, {s['repetitions']} rounds, the order rotating each round; "
        f"each figure is the median sample (samples of at least {s['target_sample_ms']:g} ms, "
        f"`time.perf_counter_ns`, garbage collector on). Each row's output is checked before it is timed.",
        "",
        "```bash",
        'python -m pip install ".[bench]"',
        "python -m benchmarks.compare"
        + (" --quick" if doc.get("quick") else "")
        + f"    # this run took {max(1, round(doc['elapsed_s'] / 60))} min"
        + ("; without --quick: more rounds, the long profile" if doc.get("quick") else "; --quick: about 1"),
        "python -m benchmarks.render     # rewrites these tables and the README's from the newest results",
        "```",
        "",
        "Each benchmark also runs under pytest-benchmark: once, untimed, in the normal test run, and "
        "measured with `python -m pytest benchmarks --benchmark-enable --benchmark-only "
        "--benchmark-group-by=group`. "
        f"Sources: `benchmarks/` (inputs in `benchmarks/corpus.py`, every row in `benchmarks/impls.py`); "
        f"these numbers: `{source}`.",
        "",
    ]
    return lines


def _generated(source: str) -> str:
    return f"<!-- generated by python -m benchmarks.render from {source}; edit the benchmarks, not this -->"


def _footnotes(notes: list[str]) -> list[str]:
    return [f"[^w{i}]: {note}" for i, note in enumerate(notes, 1)]


def render_summary(doc: dict[str, Any], source: str) -> str:
    """The README's part: the merge table (the provider shapes have a table of their own) and the
    growth plot, with a link to the rest."""
    _ratios(doc["results"])
    m = doc["machine"]
    notes: list[str] = []
    lines = [
        _generated(source),
        "",
        f"One machine's numbers ({m['cpu']}, {m['cores']} cores, {m['python']}), every row reading the "
        "same bytes in 4 KiB pieces, its output checked before it is timed. All the tables, the inputs, "
        f"the method and how to reproduce them: [docs/benchmarks.md]({_link('docs/benchmarks.md', README)}).",
        "",
        *_group_table(doc, "merge", notes, leave_out=PROVIDER_PROFILES),
    ]
    if doc.get("growth"):
        lines += ["µs per chunk as one stream grows to *n* deltas:", "", *_plot(doc, README)]
    lines += _footnotes(notes)
    return "\n".join(lines).rstrip() + "\n"


def render(doc: dict[str, Any], source: str) -> str:
    """docs/benchmarks.md's part: every table, what was measured where, and how to reproduce it."""
    _ratios(doc["results"])
    lines = [
        _generated(source),
        "",
        "Benchmarks are hard, and a project's own benchmarks tend to favour it: these are one machine's "
        "numbers, the ratios between rows matter more than the absolute figures, and the commands below "
        "reproduce them. Every row reads the same bytes, fed in 4 KiB pieces, and its output is checked "
        "before it is timed: a row that gets a case wrong shows *wrong* (with what was wrong) and no number. "
        "What each row runs and how it is checked: the sections after this one.",
        "",
        *_cases(doc),
    ]
    notes: list[str] = []
    for group in ("merge", "decode", "tokenize", "floor"):
        lines += _group_table(doc, group, notes)
    lines += _growth(doc)
    impl_notes = [
        f"- {v['label']}: {v['note']}" for v in doc.get("implementations", {}).values() if v.get("note")
    ]
    if impl_notes:
        lines += ["What the peer rows run:", "", *dict.fromkeys(impl_notes), ""]
    if doc.get("unavailable"):
        lines.append(
            "Not measured in this run: "
            + "; ".join(f"{k} ({v})" for k, v in doc["unavailable"].items())
            + "."
        )
        lines.append("")
    lines += _reproducing(doc, source)
    lines += _footnotes(notes)
    return "\n".join(lines).rstrip() + "\n"


def _split(page: Path, start: str, end: str) -> tuple[str, str, str] | None:
    """``page`` as the text before ``start``, between the markers and after ``end``; ``None`` when
    it has no such markers."""
    text = page.read_text() if page.exists() else ""
    if not (start in text and end in text and text.index(start) < text.index(end)):
        return None
    head, rest = text.split(start, 1)
    inside, tail = rest.split(end, 1)
    return head, inside, tail


def section(page: Path, start: str, end: str) -> str:
    """What is between the ``start`` and ``end`` markers of ``page`` (empty when it has none)."""
    parts = _split(page, start, end)
    return parts[1].removeprefix("\n") if parts else ""


def write_section(page: Path, start: str, end: str, part: str) -> bool:
    """Put ``part`` between the ``start`` and ``end`` markers of ``page``; ``False`` (and nothing
    written) when it has no such markers."""
    parts = _split(page, start, end)
    if parts is None:
        return False
    head, _, tail = parts
    page.write_text(f"{head}{start}\n{part}{end}{tail}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?", type=Path, help="results file (default: the newest)")
    parser.add_argument("--stdout", action="store_true", help="print the section, write nothing")
    args = parser.parse_args(argv)
    path = args.results or latest_results()
    doc = json.loads(path.read_text())
    try:
        source = str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        source = path.name
    parts = {README: render_summary(doc, source), PAGE: render(doc, source)}
    status = 0
    for page, part in parts.items():
        if args.stdout:
            print(part)
        elif write_section(page, START, END, part):
            print(f"wrote the benchmark tables of {page} from {source}", file=sys.stderr)
        else:
            print(f"{page} has no {START} / {END} markers: nothing written", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
