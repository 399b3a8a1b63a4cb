"""The Responses API and Anthropic Messages mergers against their peers, in one run, saved for the pages.

    python -m benchmarks.formats [--quick] [--no-growth] [--save]

Inputs, each fed in 4 KiB pieces: the generated wire-exact profiles of
:mod:`benchmarks.responses_profiles` (``text``, ``tool``, ``reasoning``) and
:mod:`benchmarks.anthropic_profiles` (``text``, ``tool``, ``thinking``), and the recorded corpora
``tests/data/responses`` and ``tests/data/anthropic`` (every stream that merges without an error).

Rows: ssedelta's merger on the native and on the python backend; the official SDK's own path (its SSE
decoder, event construction and accumulator, as its stream helpers run them; generated profiles only);
a bare ``split`` + ``orjson.loads`` loop (the floor: parses every payload, merges nothing); and, as the
yardstick of the native merge, the native chat merge of the chat profile per chunk. Every row's output
is checked before it is timed (the generated streams against what the generator wrote; on the recorded
streams the two backends must give the same result and the floor as many payloads as the stream has
events); then every row is timed in interleaved rounds (:func:`benchmarks.saved.interleaved`).

The growth series (one tool input or function call's arguments in more and more fragments, the SDK
beside ours) come from :func:`benchmarks.anthropic_profiles.growth_series` and
:func:`benchmarks.responses_profiles.growth_series` (best of 3 rounds each).

``--save`` writes ``benchmarks/results/formats/<date>-<machine>.json``, rendered by
``python -m benchmarks.render_formats``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import anthropic_profiles as ap
from . import responses_profiles as rp
from . import saved
from .corpus import PIECE_SIZE, REPO_ROOT, _sse_events, split_pieces

KIND = "formats"
FORMATS = ("responses", "anthropic")
#: The same four rows in both formats: role -> (responses key, anthropic key)
ROLES = {
    "native": ("ssedelta-native", "ssedelta-native"),
    "twin": ("ssedelta-python", "ssedelta-python"),
    "sdk": ("openai-sdk", "anthropic-sdk"),
    "bare": ("bare", "split-orjson"),
}
LABELS = {
    "native": "ssedelta (native)",
    "twin": "ssedelta (python)",
    "sdk": "the official SDK's path",
    "bare": "bare `split` + `orjson.loads`",
}
SDK_LABELS = {
    "responses": "openai SDK: `SSEDecoder`, `construct_type`, `ResponseStreamState`",
    "anthropic": "anthropic SDK: `SSEDecoder`, `construct_type`, `accumulate_event`",
}
#: native per event against the native chat merge per chunk (text profile); the SDK against native;
#: the twin against the bare loop
TARGETS = {"native_x_chat": 2.0, "sdk_x_native": {"responses": 500.0, "anthropic": 100.0}, "twin_x_bare": 2.0}


def _generated() -> dict[str, list[tuple[str, int, int, dict[str, Callable[[], Any]]]]]:
    """Per format, (profile, events, bytes, role -> checked runner) of each generated profile."""
    out: dict[str, list[tuple[str, int, int, dict[str, Callable[[], Any]]]]] = {f: [] for f in FORMATS}
    for profile in rp.profiles():
        runs = {role: rp.checked(keys[0], profile) for role, keys in ROLES.items()}
        out["responses"].append((profile.name, profile.events, len(profile.data), runs))
    impls = {impl.key: impl for impl in ap.IMPLS}
    for name in ("text", "tool", "thinking"):
        stream = ap.profile(name)
        pieces = stream.pieces
        runs = {}
        for role, keys in ROLES.items():
            impl = impls[keys[1]]
            run = impl.make()
            errors = ap.check(impl, stream, run(pieces))
            if errors:
                raise AssertionError(f"{impl.key} is wrong on anthropic {name}: {errors[:3]}")
            runs[role] = lambda run=run, pieces=pieces: run(pieces)
        out["anthropic"].append((name, stream.events, len(stream.data), runs))
    return out


def _merge_runner(fmt: str, backend_name: str, streams: list[list[bytes]]) -> Callable[[], list[Any]]:
    import ssedelta
    from ssedelta import anthropic, responses

    module = responses if fmt == "responses" else anthropic
    cls = module.merger_class(ssedelta.get_backend(backend_name))

    def one(pieces: list[bytes]) -> Any:
        merger = cls()
        for piece in pieces:
            merger.feed(piece)
        return merger.finish()

    return lambda: [one(p) for p in streams]


def _recorded(fmt: str) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The recorded streams of ``fmt`` that merge without an error: what they are, and the checked
    runners of the native and python mergers and of the bare loop over all of them."""
    import ssedelta

    folder = REPO_ROOT / "tests" / "data" / fmt
    kept: list[list[bytes]] = []
    excluded: list[str] = []
    events = nbytes = 0
    for path in sorted(folder.glob("*.sse")):
        data = path.read_bytes()
        pieces = split_pieces(data, PIECE_SIZE)
        try:
            results = [_merge_runner(fmt, b, [pieces])()[0] for b in ("native", "python")]
        except ssedelta.SSEDeltaError as exc:
            excluded.append(f"{path.stem} ({type(exc).__name__})")
            continue
        native, twin = (r.to_dict() for r in results)
        if native != twin:
            raise AssertionError(f"{fmt} {path.stem}: the native and the python merger differ")
        n = len(_sse_events(data))
        if len(rp.bare_loop(pieces)) != n:
            raise AssertionError(f"{fmt} {path.stem}: the bare loop does not see {n} payloads")
        kept.append(pieces)
        events += n
        nbytes += len(data)
    info = {"streams": len(kept), "events": events, "bytes": nbytes, "excluded": excluded}
    runs = {
        "native": _merge_runner(fmt, "native", kept),
        "twin": _merge_runner(fmt, "python", kept),
        "bare": lambda: [rp.bare_loop(p) for p in kept],
    }
    return info, runs


def measure(*, rounds: int, target_ms: float, growth: bool) -> dict[str, Any]:
    started = time.perf_counter()
    generated = _generated()
    fns: dict[str, Callable[[], Any]] = {}
    for fmt, profiles in generated.items():
        for name, _, _, runs in profiles:
            fns.update({f"{fmt}:{name}/{role}": run for role, run in runs.items()})
    recorded: dict[str, Any] = {}
    for fmt in FORMATS:
        info, runs = _recorded(fmt)
        if info["streams"]:
            recorded[fmt] = info
            fns.update({f"{fmt}:recorded/{role}": run for role, run in runs.items()})
    chat_run, chat_chunks = ap.chat_native_runner()
    fns["chat"] = chat_run
    saved.log(f"checked {len(fns)} rows; timing them in {rounds} interleaved rounds")
    timed = saved.interleaved(fns, rounds=rounds, target_ms=target_ms)
    chat_us = timed["chat"]["median_ns"] / 1000 / chat_chunks
    out: dict[str, Any] = {"chat_native_us_per_chunk": chat_us, "generated": {}, "recorded": {}}
    for fmt, profiles in generated.items():
        rows = {}
        for name, events, nbytes, runs in profiles:
            us = {role: timed[f"{fmt}:{name}/{role}"]["median_ns"] / 1000 / events for role in runs}
            rows[name] = {
                "events": events,
                "bytes": nbytes,
                "us_per_event": us,
                "native_x_chat": us["native"] / chat_us,
                "sdk_x_native": us["sdk"] / us["native"],
                "sdk_x_twin": us["sdk"] / us["twin"],
                "twin_x_bare": us["twin"] / us["bare"],
            }
        out["generated"][fmt] = rows
    for fmt, info in recorded.items():
        us = {
            role: timed[f"{fmt}:recorded/{role}"]["median_ns"] / 1000 / info["events"]
            for role in ROLES
            if role != "sdk"
        }
        out["recorded"][fmt] = {
            **info,
            "us_per_event": us,
            "native_x_chat": us["native"] / chat_us,
            "twin_x_bare": us["twin"] / us["bare"],
        }
    if growth:
        saved.log("growth: the anthropic tool input, then the responses function call arguments")
        out["growth"] = {
            "anthropic": {"unit": "µs per fragment", "x": "events", "series": ap.growth_series()},
            "responses": {"unit": "µs per event", "x": "fragments", "series": rp.growth_series()},
        }
    out.update(
        roles=LABELS,
        sdk=SDK_LABELS,
        targets=TARGETS,
        timings=timed,
        elapsed_s=round(time.perf_counter() - started, 1),
    )
    return out


def table(doc: dict[str, Any]) -> str:
    lines = [f"native chat merge: {doc['chat_native_us_per_chunk']:.3f} µs per chunk"]
    for fmt, rows in doc["generated"].items():
        for name, row in rows.items():
            us = row["us_per_event"]
            lines.append(
                f"{fmt:<10} {name:<10} native {us['native']:7.3f}  twin {us['twin']:7.2f}  "
                f"sdk {us['sdk']:8.1f}  bare {us['bare']:6.2f} µs/event; "
                f"native/chat {row['native_x_chat']:.2f}x, "
                f"sdk/native {row['sdk_x_native']:.0f}x, twin/bare {row['twin_x_bare']:.2f}x"
            )
    for fmt, row in doc["recorded"].items():
        us = row["us_per_event"]
        lines.append(
            f"{fmt:<10} recorded ({row['streams']} streams, {row['events']} events) "
            f"native {us['native']:.3f}  twin {us['twin']:.2f}  bare {us['bare']:.2f} µs/event; "
            f"twin/bare {row['twin_x_bare']:.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = saved.parser(KIND, "formats", __doc__, rounds=7, target_ms=20.0, quick_ms=5.0)
    parser.add_argument("--no-growth", action="store_true", help="skip the growth series")
    args = parser.parse_args(argv)
    settings = saved.settings(args, PIECE_SIZE)
    doc = saved.start(KIND, settings)
    doc.update(
        measure(rounds=settings["rounds"], target_ms=settings["target_sample_ms"], growth=not args.no_growth)
    )
    print(table(doc))
    saved.finish(KIND, doc, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
