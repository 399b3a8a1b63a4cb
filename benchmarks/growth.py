"""Cost per chunk as one stream grows, from 100 to 20,000 deltas.

    python -m benchmarks.growth [--quick]      # prints a table and writes docs/growth.png

Chat Completions, two shapes of stream: content (one choice, ``n`` content deltas) and tool arguments
(one tool call whose arguments come in ``n`` fragments). Each is merged from SSE bytes fed in 4 KiB
pieces to the final completion by ssedelta (native and python) and by the openai SDK's path (its SSE
decoder, chunk construction and ``ChatCompletionStreamState``); for tool arguments also with the call
declared as a strict function tool, as ``client.chat.completions.stream(tools=[...])`` does, which makes
the SDK parse the partial arguments again on every chunk. The SDK's runs stop at a size cap so that the
whole benchmark stays within its time budget; the plot says where.

The event formats, one tool input growing to 64 KiB in 4,000 fragments: an Anthropic ``tool_use``
block's ``input_json_delta`` fragments (the anthropic SDK's ``accumulate_event`` path parses the partial
JSON again on every fragment) and a Responses ``function_call``'s argument deltas (the openai SDK's
``ResponseStreamState`` path), each beside ssedelta's mergers (see ``anthropic_profiles`` and
``responses_profiles`` for the implementations).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import corpus
from .compare import calibrate, sample
from .impls import IMPLS, Impl, _check_completion, _openai_chunks, _to_dict_pydantic, run_checked

DEFAULT_PLOT = corpus.REPO_ROOT / "docs" / "growth.png"
SIZES = (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000)
QUICK_SIZES = (100, 300, 1000, 3000, 10_000, 20_000)
SDK_CAP = 10_000
QUICK_SDK_CAP = 1000
KINDS = ("content", "tool arguments")
#: The event formats' panels: kind -> (what a point's size counts, sizes, quick sizes).
FORMAT_KINDS = {
    "anthropic tool input": (250, 500, 1000, 2000, 4000),
    "responses function arguments": (250, 500, 1000, 2000, 4000),
}
FORMAT_QUICK_SIZES = (250, 1000, 4000)

_STRICT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
    },
}


def _merge_openai_strict(stream: corpus.Stream) -> Callable[[], Any]:
    from openai.lib.streaming.chat._completions import (
        ChatCompletionStreamState,
        _is_valid_chat_completion_chunk_weak,
    )

    pieces = stream.pieces

    def run() -> Any:
        state: Any = ChatCompletionStreamState(input_tools=[_STRICT_TOOL])  # type: ignore[list-item]
        for chunk in _openai_chunks(pieces):
            if _is_valid_chat_completion_chunk_weak(chunk):
                state.handle_chunk(chunk)
        return state.get_final_completion()

    return run


def _series_impls() -> list[tuple[Impl, tuple[str, ...]]]:
    merge = {i.key: i for i in IMPLS if i.group == "merge"}
    sdk = merge["openai"]
    strict = Impl(
        "openai-strict-tool",
        "merge",
        "openai SDK, strict tool",
        _merge_openai_strict,
        _check_completion(_to_dict_pydantic, usage="never"),
        sdk.available,
        note="ChatCompletionStreamState(input_tools=[a strict function tool])",
    )
    return [
        (merge["ssedelta-native"], KINDS),
        (merge["ssedelta-python"], KINDS),
        (sdk, KINDS),
        (strict, ("tool arguments",)),
    ]


def _stream(kind: str, n: int) -> corpus.Stream:
    if kind == "content":
        return corpus.chat_stream(n, name="growth")
    return corpus.tools_stream(1, n, name="growth")


def _format_cells(kind: str, n: int) -> list[tuple[str, str, int, int, Callable[[], Any], list[str]]]:
    """(impl key, label, events, bytes, runner, errors) of each implementation on the ``kind``
    stream of ``n`` fragments (about 16 bytes each: 4,000 make 64 KiB)."""
    out = []
    ours = {"ssedelta-native": "ssedelta (native)", "ssedelta-python": "ssedelta (python)"}
    if kind == "anthropic tool input":
        from . import anthropic_profiles as ap

        stream = ap.growth_stream(n * 65536 // 4000, n)
        for impl in ap.IMPLS:
            if impl.as_dict is None:
                continue
            run = impl.make()
            errors = ap.check(impl, stream, run(stream.pieces))
            key = "anthropic" if impl.key == "anthropic-sdk" else impl.key
            runner = lambda r=run, p=stream.pieces: r(p)  # noqa: E731
            out.append((key, ours.get(key, impl.label), stream.events, len(stream.data), runner, errors))
        return out
    from . import responses_profiles as rp

    profile = rp.tool_profile(n)
    for key, (label, make, _) in rp.IMPLS.items():
        if key == "bare":
            continue
        run = make(profile)
        errors = rp.check(key, run(), profile)
        label = ours.get(key, label)
        key = "openai" if key == "openai-sdk" else key
        out.append((key, label, profile.events, len(profile.data), run, errors))
    return out


def run(*, quick: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Check every (size, implementation) once, then time them all round-robin, as ``compare`` does,
    so that a busy phase of the machine does not land on one size only."""
    sizes = QUICK_SIZES if quick else SIZES
    cap = QUICK_SDK_CAP if quick else SDK_CAP
    reps = 3 if quick else 5
    target_ns = int((5 if quick else 20) * 1e6)
    series: dict[tuple[str, str], dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    impls = []
    for impl, kinds in _series_impls():
        reason = impl.available()
        if reason:
            unavailable[impl.key] = reason
        else:
            impls.append((impl, kinds))
    log(f"growth: sizes {sizes[0]}..{sizes[-1]}, openai SDK up to {cap}; checking and calibrating")
    started = time.perf_counter()
    cells: list[tuple[dict[str, Any], Callable[[], Any], int, int]] = []
    for n in sizes:
        for kind in KINDS:
            stream = _stream(kind, n)
            case = corpus.Case(f"{kind} {n}", (stream,))
            for impl, kinds in impls:
                if kind not in kinds or (impl.key.startswith("openai") and n > cap):
                    continue
                s = series.setdefault(
                    (kind, impl.key), {"kind": kind, "impl": impl.key, "label": impl.label, "points": []}
                )
                runner, errors = run_checked(impl, case)
                point: dict[str, Any] = {"deltas": n, "chunks": stream.chunks, "bytes": len(stream.data)}
                s["points"].append(point)
                if errors:
                    point["errors"] = errors
                    log(f"  wrong: {impl.key} on {kind} {n}: {errors[0]}")
                    continue
                loops, one = calibrate(runner, target_ns)
                # runs of a second or more (the SDK on the largest streams) get 3 samples
                cells.append((point, runner, loops, reps if one < 1e9 else min(reps, 3)))
    for kind, kind_sizes in FORMAT_KINDS.items():
        for n in FORMAT_QUICK_SIZES if quick else kind_sizes:
            for key, label, events, nbytes, runner, errors in _format_cells(kind, n):
                s = series.setdefault((kind, key), {"kind": kind, "impl": key, "label": label, "points": []})
                point = {"deltas": n, "chunks": events, "bytes": nbytes}
                s["points"].append(point)
                if errors:
                    point["errors"] = errors
                    log(f"  wrong: {key} on {kind} {n}: {errors[0]}")
                    continue
                loops, one = calibrate(runner, target_ns)
                cells.append((point, runner, loops, reps if one < 1e9 else min(reps, 3)))
    gc.collect()
    gc.freeze()
    log(f"  timing {len(cells)} cells ({time.perf_counter() - started:.0f} s)")
    samples: dict[int, list[float]] = {id(p): [] for p, *_ in cells}
    for rep in range(reps):
        shift = (rep * len(cells)) // reps
        for point, runner, loops, max_reps in cells[shift:] + cells[:shift]:
            if (rep * max_reps) // reps != ((rep + 1) * max_reps) // reps:
                samples[id(point)].append(sample(runner, loops))
        log(f"  round {rep + 1}/{reps} done ({time.perf_counter() - started:.0f} s)")
    for point, *_ in cells:
        median = statistics.median(samples[id(point)])
        point["median_ns"] = round(median, 1)
        point["us_per_chunk"] = median / 1000 / point["chunks"]
    return {
        "sizes": list(sizes),
        "format_sizes": list(FORMAT_QUICK_SIZES if quick else next(iter(FORMAT_KINDS.values()))),
        "sdk_cap": cap,
        "repetitions": reps,
        "unavailable": unavailable,
        "series": list(series.values()),
    }


def text_table(growth: dict[str, Any]) -> str:
    lines = ["growth: µs per chunk (event), SSE bytes to the final result, as one stream grows"]
    for kind in (*KINDS, *FORMAT_KINDS):
        rows = [s for s in growth["series"] if s["kind"] == kind]
        if not rows:
            continue
        sizes = growth["sizes"] if kind in KINDS else growth.get("format_sizes", [])
        lines.append(f"  {kind:<40}" + "".join(f"{n:>10,}" for n in sizes))
        for s in rows:
            by_n = {p["deltas"]: p for p in s["points"]}
            cells = []
            for n in sizes:
                p = by_n.get(n)
                cells.append("—" if p is None else "wrong" if "errors" in p else f"{p['us_per_chunk']:,.2f}")
            lines.append(f"  {s['label']:<40}" + "".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


_COLORS = {
    "ssedelta-native": "#1b7837",
    "ssedelta-python": "#5aae61",
    "openai": "#c51b7d",
    "openai-strict-tool": "#e9a3c9",
    "anthropic": "#d95f02",
}


def plot(growth: dict[str, Any], path: Path, machine: dict[str, Any] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [*KINDS, *(k for k in FORMAT_KINDS if any(s["kind"] == k for s in growth["series"]))]
    rows = (len(kinds) + 1) // 2
    fig, grid = plt.subplots(
        rows, 2, figsize=(11, 5 * rows), sharey=True, layout="constrained", squeeze=False
    )
    axes = [ax for row in grid for ax in row]
    cap = growth["sdk_cap"]
    for ax, kind in zip(axes, kinds, strict=False):
        for s in (s for s in growth["series"] if s["kind"] == kind):
            pts = [p for p in s["points"] if "us_per_chunk" in p]
            if not pts:
                continue
            ax.plot(
                [p["deltas"] for p in pts],
                [p["us_per_chunk"] for p in pts],
                marker="o",
                markersize=3.5,
                label=s["label"],
                color=_COLORS.get(s["impl"]),
                linestyle="--" if s["impl"] == "openai-strict-tool" else "-",
            )
        if kind in KINDS and cap < growth["sizes"][-1]:
            ax.axvline(cap, color="#999999", linewidth=0.8, linestyle=":")
            ax.annotate(
                f"openai SDK measured up to\n{cap:,} deltas (run-time budget)",
                xy=(cap, 0.55),
                xycoords=("data", "axes fraction"),
                xytext=(-4, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
                color="#555555",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        if kind in KINDS:
            ax.set_title(f"Chat Completions {kind}: one stream of n deltas", fontsize=10)
        else:
            ax.set_title(f"{kind}: n fragments (4,000 = 64 KiB)", fontsize=10)
        ax.set_xlabel("deltas in the stream")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[len(kinds) :]:
        ax.set_visible(False)
    for row in grid:
        row[0].set_ylabel("µs per chunk or event (median)")
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=4, fontsize=8)
    title = "Cost per chunk as a stream grows (SSE bytes in 4 KiB pieces → final result)"
    if machine:
        title += f"\n{machine['cpu']}, {machine['cores']} cores, {machine['python']}"
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from .compare import machine_info

    parser = argparse.ArgumentParser(prog="python -m benchmarks.growth", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, the SDK only up to 1,000 deltas")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="where to write the plot")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning, module="pydantic")
    growth = run(quick=args.quick, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(text_table(growth))
    plot(growth, args.plot, machine_info())
    print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
