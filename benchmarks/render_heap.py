"""Render saved heap-benchmark results into the README and docs/benchmarks.md.

    python -m benchmarks.render_heap [RESULTS.json] [--stdout]

Without an argument the newest file in ``benchmarks/results/heap/`` is used; the tables replace whatever
is between ``<!-- heap:start -->`` and ``<!-- heap:end -->`` in both pages.
"""

from __future__ import annotations

from typing import Any

from . import saved
from .compare import TIMES, fmt_us
from .render import PAGE, README

KIND = "heap"
MODULE = "render_heap"
AT_MOST = "\u2264"


def _size(entry: dict[str, Any]) -> str:
    return "none" if entry["size"] == 0 else f"{entry['size']:,}"


def _table(doc: dict[str, Any], full: bool) -> list[str]:
    profiles = list(doc["sizes"][0]["profiles"])
    head = "| long-lived objects alive |"
    rule = "|---:|"
    for name in profiles:
        if full:
            head += f" {name}: ssedelta µs/chunk | {name}: msgspec µs/chunk |"
            rule += "---:|---:|"
        head += f" {name}: ssedelta {TIMES} msgspec |"
        rule += "---:|"
    if full:
        head += " tracked (measured) | full collections |"
        rule += "---:|---:|"
    lines = [head, rule]
    for entry in doc["sizes"]:
        cells = [_size(entry)]
        for name in profiles:
            row = entry["profiles"][name]
            if full:
                cells += [fmt_us(row["ssedelta"]), fmt_us(row["msgspec"])]
            cells.append(f"{row['ratio']:.2f}{TIMES}")
        if full:
            cells += [f"{entry['tracked']:,}", f"{entry['full_collections']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _worst(doc: dict[str, Any]) -> str:
    w = doc["worst"]
    verdict = "met" if w["ratio"] <= doc["target"] else "missed"
    return (
        f"Worst ratio: {w['ratio']:.2f}{TIMES} (`{w['profile']}`, heap {_size(w)}); "
        f"target {AT_MOST} {doc['target']:g}{TIMES} at every size: {verdict}."
    )


def render_headline(doc: dict[str, Any], source: str) -> str:
    """The README's table: the ratio at each heap size, on each profile."""
    link = f"[{doc['date'][:10]}, how](docs/benchmarks.md#decoding-in-a-gateway-sized-heap)"
    sizes = doc["sizes"]
    lines = [
        saved.generated(MODULE, source),
        f"| `list(iter_chunks(...))` {TIMES} msgspec Structs (`gc=False`), "
        f"long-lived objects alive ({link}) | " + " | ".join(_size(e) for e in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in sizes[0]["profiles"]:
        lines.append(
            f"| `{name}` | " + " | ".join(f"{e['profiles'][name]['ratio']:.2f}{TIMES}" for e in sizes) + " |"
        )
    return "\n".join(lines) + "\n\n"  # a blank line ends the table before the end marker


def render(doc: dict[str, Any], source: str) -> str:
    """docs/benchmarks.md's table: both rows' µs per chunk and the ratio at each heap size."""
    m = doc["machine"]
    s = doc["settings"]
    lines = [
        saved.generated(MODULE, source),
        "",
        *_table(doc, full=True),
        "",
        _worst(doc),
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['python']}, {doc['date'][:10]}; each heap size in a fresh "
        f"process, median of {s['rounds']} interleaved rounds of samples of at least "
        f"{s['target_sample_ms']:g} ms; *full collections* counts the collector's full passes during the "
        f"timed rounds. Source: `benchmarks/heap.py`; these numbers: `{source}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return saved.render_main(MODULE, KIND, {README: render_headline, PAGE: render}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
