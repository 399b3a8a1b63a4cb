"""Render saved Responses / Anthropic results into the README (a headline table) and docs/benchmarks.md.

    python -m benchmarks.render_formats [RESULTS.json] [--stdout]

Without an argument the newest file in ``benchmarks/results/formats/`` is used; the tables replace
whatever is between ``<!-- formats:start -->`` and ``<!-- formats:end -->`` in both pages.
"""

from __future__ import annotations

from typing import Any

from . import saved
from .compare import TIMES, fmt_ratio, fmt_us
from .render import PAGE, README

KIND = "formats"
MODULE = "render_formats"
AT_MOST = "\u2264"
AT_LEAST = "\u2265"
TITLES = {"responses": "Responses", "anthropic": "Messages"}


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def _targets(doc: dict[str, Any]) -> list[str]:
    t = doc["targets"]
    out = []
    text = {fmt: rows["text"] for fmt, rows in doc["generated"].items() if "text" in rows}
    for fmt, row in text.items():
        out.append(
            f"{TITLES[fmt]} native {AT_MOST} {t['native_x_chat']:g}{TIMES} the chat merge on `text`: "
            f"{_verdict(row['native_x_chat'] <= t['native_x_chat'])} ({fmt_ratio(row['native_x_chat'])})"
        )
    for fmt, rows in doc["generated"].items():
        least = min(rows.items(), key=lambda kv: kv[1]["sdk_x_native"])
        target = t["sdk_x_native"][fmt]
        out.append(
            f"{TITLES[fmt]} {AT_LEAST} {target:g}{TIMES} faster than the SDK: "
            f"{_verdict(least[1]['sdk_x_native'] >= target)} (least `{least[0]}`, "
            f"{fmt_ratio(least[1]['sdk_x_native'])})"
        )
    rows = [
        (f"{TITLES[f]} `{n}`", r["twin_x_bare"]) for f, p in doc["generated"].items() for n, r in p.items()
    ]
    worst = max(rows, key=lambda r: r[1])
    out.append(
        f"twin {AT_MOST} {t['twin_x_bare']:g}{TIMES} the bare loop: {_verdict(worst[1] <= t['twin_x_bare'])} "
        f"(worst {worst[0]}, {fmt_ratio(worst[1])})"
    )
    return out


def render_headline(doc: dict[str, Any], source: str) -> str:
    """The README's table: each generated profile's native µs per event and its ratios."""
    rows = [
        (f"{TITLES[fmt]} `{name}`", row)
        for fmt, profiles in doc["generated"].items()
        for name, row in profiles.items()
    ]
    link = f"[{doc['date'][:10]}, every row](docs/benchmarks.md#responses-api-and-anthropic-messages)"
    lines = [
        saved.generated(MODULE, source),
        f"| Responses and Messages streams ({link}) | " + " | ".join(name for name, _ in rows) + " |",
        "|---|" + "---:|" * len(rows),
        "| native merge, µs per event | "
        + " | ".join(fmt_us(r["us_per_event"]["native"]) for _, r in rows)
        + " |",
        f"| native {TIMES} the native chat merge per chunk | "
        + " | ".join(fmt_ratio(r["native_x_chat"]) for _, r in rows)
        + " |",
        "| times faster than the official SDK's path | "
        + " | ".join(fmt_ratio(r["sdk_x_native"]) for _, r in rows)
        + " |",
        f"| twin {TIMES} a bare `split` + `orjson.loads` loop | "
        + " | ".join(fmt_ratio(r["twin_x_bare"]) for _, r in rows)
        + " |",
    ]
    return "\n".join(lines) + "\n\n"  # a blank line ends the table before the end marker


def _growth(doc: dict[str, Any]) -> list[str]:
    growth = doc.get("growth")
    if not growth:
        return []
    labels = {"ssedelta-native": "ssedelta (native)", "ssedelta-python": "ssedelta (python)",
              "anthropic-sdk": "anthropic SDK", "openai-sdk": "openai SDK", "split-orjson": "bare loop",
              "bare": "bare loop"}  # fmt: skip
    what = {
        "anthropic": "one `tool_use` block whose input grows from 4 to 64 KiB, in 62.5 fragments per KiB",
        "responses": "one function call whose arguments come in more and more fragments",
    }
    out = []
    for fmt, g in growth.items():
        series = g["series"]
        sizes = [n for n, _ in next(iter(series.values()))]
        out += [
            f"{TITLES[fmt]}, as a stream grows: {what[fmt]}; {g['unit']}.",
            "",
            "| | " + " | ".join(f"{n:,} {g['x']}" for n in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
        ]
        for key, points in series.items():
            out.append(f"| {labels.get(key, key)} | " + " | ".join(fmt_us(us) for _, us in points) + " |")
        out.append("")
    return out


def render(doc: dict[str, Any], source: str) -> str:
    """docs/benchmarks.md's tables: every row on every profile, the recorded corpora, the growth."""
    t = doc["targets"]
    m = doc["machine"]
    s = doc["settings"]
    roles = doc["roles"]
    lines = [saved.generated(MODULE, source), ""]
    for fmt, rows in doc["generated"].items():
        lines += [
            f"{TITLES[fmt]}, µs per event (median); the SDK row is {doc['sdk'][fmt]}.",
            "",
            "| stream | "
            + " | ".join(roles[r] for r in ("native", "twin", "sdk", "bare"))
            + f" | native {TIMES} chat per chunk (target {AT_MOST} {t['native_x_chat']:g}{TIMES} on `text`) "
            f"| SDK {TIMES} native (target {AT_LEAST} {t['sdk_x_native'][fmt]:g}{TIMES}) | SDK {TIMES} twin "
            f"| twin {TIMES} bare (target {AT_MOST} {t['twin_x_bare']:g}{TIMES}) |",
            "|---|" + "---:|" * 8,
        ]
        for name, row in rows.items():
            us = row["us_per_event"]
            lines.append(
                f"| `{name}` ({row['events']:,} events, {row['bytes'] / 1e3:,.0f} kB) | "
                + " | ".join(fmt_us(us[r]) for r in ("native", "twin", "sdk", "bare"))
                + f" | {fmt_ratio(row['native_x_chat'])} | {fmt_ratio(row['sdk_x_native'])} | "
                f"{fmt_ratio(row['sdk_x_twin'])} | {fmt_ratio(row['twin_x_bare'])} |"
            )
        lines.append("")
    if doc["recorded"]:
        lines += [
            "The recorded corpora (`tests/data/responses`, `tests/data/anthropic`), every stream that merges "
            "without an error, stream by stream, µs per event (median):",
            "",
            "| corpus | streams | events | kB | "
            + " | ".join(roles[r] for r in ("native", "twin", "bare"))
            + f" | native {TIMES} chat per chunk | twin {TIMES} bare |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for fmt, row in doc["recorded"].items():
            us = row["us_per_event"]
            lines.append(
                f"| {TITLES[fmt]} | {row['streams']} | {row['events']:,} | {row['bytes'] / 1e3:,.0f} | "
                + " | ".join(fmt_us(us[r]) for r in ("native", "twin", "bare"))
                + f" | {fmt_ratio(row['native_x_chat'])} | {fmt_ratio(row['twin_x_bare'])} |"
            )
        lines.append("")
        excluded = [
            f"{TITLES[f]}: {', '.join(r['excluded'])}" for f, r in doc["recorded"].items() if r["excluded"]
        ]
        if excluded:
            lines += ["Left out (merging them raises): " + "; ".join(excluded) + ".", ""]
    lines += _growth(doc)
    lines += [
        "Targets: " + "; ".join(_targets(doc)) + ".",
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['python']}, ssedelta's {doc['ssedelta'].get('default_backend')} "
        f"core, {doc['date'][:10]}; the native chat merge of the `chat` profile: "
        f"{fmt_us(doc['chat_native_us_per_chunk'])} µs per chunk. Median of {s['rounds']} interleaved rounds "
        f"of samples of at least {s['target_sample_ms']:g} ms (the growth series: best of 3), every row's "
        "output checked before it is timed. Sources: `benchmarks/formats.py`, "
        f"`benchmarks/responses_profiles.py`, `benchmarks/anthropic_profiles.py`; these numbers: `{source}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return saved.render_main(MODULE, KIND, {README: render_headline, PAGE: render}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
