"""Render saved provider-profile results into the README (a headline table) and docs/benchmarks.md.

    python -m benchmarks.render_providers [RESULTS.json] [--stdout]

Without an argument the newest file in ``benchmarks/results/providers/`` is used; the tables replace
whatever is between ``<!-- providers:start -->`` and ``<!-- providers:end -->`` in both pages.
"""

from __future__ import annotations

from typing import Any

from . import saved
from .compare import TIMES, fmt_ratio, fmt_us
from .render import PAGE, README

AT_MOST = "\u2264"
KIND = "providers"
MODULE = "render_providers"


def _measured(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    s = doc["settings"]
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['python']}, ssedelta's {doc['ssedelta'].get('default_backend')} "
        f"core, {doc['date'][:10]}; median of {s['rounds']} interleaved rounds of samples of at least "
        f"{s['target_sample_ms']:g} ms, every row's output checked before it is timed"
    )


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "missed"


def _targets(doc: dict[str, Any]) -> list[str]:
    """One sentence per target: the worst case against it."""
    t = doc["targets"]
    profiles = {k: v for k, v in doc["profiles"].items() if k != "two-chunk"}
    worst_plain = max(profiles.items(), key=lambda kv: kv[1]["x_plain"])
    worst_twin = max(profiles.items(), key=lambda kv: kv[1]["twin_x_bare"])
    out = [
        f"native merge {AT_MOST} {t['x_plain']:g}{TIMES} the plain shape per chunk: "
        f"{_verdict(worst_plain[1]['x_plain'], t['x_plain'])} (worst `{worst_plain[0]}`, "
        f"{fmt_ratio(worst_plain[1]['x_plain'])})",
        f"twin {AT_MOST} {t['twin_x_bare']:g}{TIMES} a bare `split` + `orjson.loads` loop: "
        f"{_verdict(worst_twin[1]['twin_x_bare'], t['twin_x_bare'])} (worst `{worst_twin[0]}`, "
        f"{fmt_ratio(worst_twin[1]['twin_x_bare'])})",
        f"two-chunk stream {AT_MOST} {t['two_chunk_in_plain_chunks']:g} plain chunks: "
        f"{_verdict(doc['two_chunk']['in_plain_chunks'], t['two_chunk_in_plain_chunks'])} "
        f"({doc['two_chunk']['in_plain_chunks']:.1f})",
    ]
    if "all" in doc["providers"]:
        x = doc["providers"]["all"]["x_count"]
        out.append(
            f"recorded corpus {AT_MOST} {t['x_count']:g}{TIMES} `bytes.count`: "
            f"{_verdict(x, t['x_count'])} ({fmt_ratio(x)})"
        )
    return out


def render_headline(doc: dict[str, Any], source: str) -> str:
    """The README's table: native per chunk against the plain shape, the twin against the bare loop."""
    rows = {name: row for name, row in doc["profiles"].items() if name != "two-chunk"}
    link = f"[{doc['date'][:10]}, every shape and provider](docs/benchmarks.md#provider-profiles)"
    lines = [
        saved.generated(MODULE, source),
        f"| chat streams in today's provider shapes ({link}) | " + " | ".join(rows) + " |",
        "|---|" + "---:|" * len(rows),
        "| native merge, µs per chunk | " + " | ".join(fmt_us(r["native"]) for r in rows.values()) + " |",
        f"| native {TIMES} the plain `chat` shape | "
        + " | ".join(fmt_ratio(r["x_plain"]) for r in rows.values())
        + " |",
        f"| twin {TIMES} a bare `split` + `orjson.loads` loop | "
        + " | ".join(fmt_ratio(r["twin_x_bare"]) for r in rows.values())
        + " |",
    ]
    return "\n".join(lines) + "\n\n"  # a blank line ends the table before the end marker


def render(doc: dict[str, Any], source: str) -> str:
    """docs/benchmarks.md's tables: every profile, the two-chunk stream, the recorded corpus by provider."""
    t = doc["targets"]
    descriptions = doc.get("descriptions", {})
    lines = [
        saved.generated(MODULE, source),
        "",
        f"| profile | what every chunk carries | chunks | native µs/chunk | {TIMES} plain (target {AT_MOST} "
        f"{t['x_plain']:g}{TIMES}) | twin µs/chunk | bare `split`+`orjson.loads` µs/chunk "
        f"| twin {TIMES} bare (target {AT_MOST} "
        f"{t['twin_x_bare']:g}{TIMES}) | `iter_chunks` native µs/chunk |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in doc["profiles"].items():
        lines.append(
            f"| `{name}` | {descriptions.get(name, '')} | {row['chunks']:,} | {fmt_us(row['native'])} | "
            f"{fmt_ratio(row['x_plain'])} | {fmt_us(row['twin'])} | {fmt_us(row['bare'])} | "
            f"{fmt_ratio(row['twin_x_bare'])} | {fmt_us(row['decode'])} |"
        )
    two = doc["two_chunk"]
    lines += [
        "",
        f"The two-chunk stream, whole (`DeltaMerger()`, `feed`, `finish`): {fmt_us(two['merge_us'])} µs, "
        f"{two['in_plain_chunks']:.1f} plain chunks merged "
        f"(target {AT_MOST} {t['two_chunk_in_plain_chunks']:g}); "
        f"decoded with `iter_chunks`: {fmt_us(two['decode_us'])} µs, {two['decode_in_plain_chunks']:.1f} "
        "plain chunks decoded.",
        "",
    ]
    if doc["providers"]:
        lines += [
            "The recorded streams (`tests/data/real`, those without an upstream error), merged stream by "
            'stream by the native core, against one `bytes.count(b"\\n")` pass over the same bytes, per '
            f"provider (target for all of them: {AT_MOST} {t['x_count']:g}{TIMES}):",
            "",
            "| provider | streams | chunks | kB | native µs/chunk | `bytes.count` µs/chunk "
            f"| {TIMES} `bytes.count` |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for provider, row in doc["providers"].items():
            name = "**all**" if provider == "all" else provider
            lines.append(
                f"| {name} | {row['streams']} | {row['chunks']:,} | {row['bytes'] / 1e3:,.0f} | "
                f"{fmt_us(row['native'])} | {fmt_us(row['count'])} | {fmt_ratio(row['x_count'])} |"
            )
        lines.append("")
    lines += [
        "Targets: " + "; ".join(_targets(doc)) + ".",
        "",
        f"{_measured(doc)}. Source: `benchmarks/provider_profiles.py`; these numbers: `{source}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return saved.render_main(MODULE, KIND, {README: render_headline, PAGE: render}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
