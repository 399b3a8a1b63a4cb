"""The logging proxy's CPU per streamed chunk, with the tap against the same proxy forwarding blindly.

Three processes: a fake upstream serving the generated ``chat`` stream (600 content deltas, OpenAI's
wire format), the proxy process (one :class:`ssedelta.gateway.proxy.Proxy` with the tap and one with
``tap=False``, same code, same process, each on its own port) and this one, the client, which reads
every response and checks its bytes. Rounds alternate between the two proxies; each round's CPU time
of the proxy process (``time.process_time()`` read inside it) is divided by the chunks it forwarded.
Other work on the machine disturbs single rounds by several per cent, so each tap round is compared
with the blind round next to it, and the median of those ratios is reported with its quartiles.
Then a fresh proxy process runs tap rounds with a clock around the tap's own work (making the
observer, each piece, the end of each stream): that figure, a few per cent of noise aside, is what the
tap adds.

By default the upstream writes each event on its own and pauses ``--pace-ms`` between events, as a
model generating tokens does, so that the proxy reads one event at a time (its most expensive case per
chunk); ``--write 4k`` writes 4 KiB pieces back to back instead.

    python -m benchmarks.gateway_proxy [--rounds 30] [--streams 16] [--concurrency 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import corpus

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- child processes


async def _upstream(small: bool, write: str, pace: float) -> None:
    from aiohttp import web

    stream = corpus.profile("chat", small=small)
    if write == "event":
        pieces = [block + b"\n\n" for block in stream.data.split(b"\n\n")[:-1]]
    else:
        pieces = corpus.split_pieces(stream.data)

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
            if pace:
                await asyncio.sleep(pace)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await _until_quit()
    await runner.cleanup()


async def _proxies(upstream: str, backend: str, log: str, timed: bool) -> None:
    from ssedelta.gateway.proxy import Proxy

    spent = _time_the_tap() if timed else [0.0]
    tapped = Proxy(upstream, log, backend=backend)
    blind = Proxy(upstream, log + ".blind", backend=backend, tap=False)
    urls = [await tapped.start(), await blind.start()]
    print(" ".join(urls), flush=True)
    await _until_quit(spent)
    await tapped.close()
    await blind.close()


def _time_the_tap() -> list[float]:
    """Wrap what the proxy does for the tap (making the observer, each piece, the end) in a clock;
    returns the one-element list the seconds spent there accumulate in."""
    from ssedelta.gateway import _observer
    from ssedelta.gateway import proxy as proxy_module

    spent = [0.0]
    clock = time.perf_counter

    def timed(function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += clock() - start

        return wrapper

    observer = _observer.StreamObserver
    observer.__init__ = timed(observer.__init__)  # type: ignore[method-assign]
    observer.observe_batched = timed(observer.observe_batched)  # type: ignore[method-assign]
    proxy_module._log_stream = timed(proxy_module._log_stream)
    return spent


async def _until_quit(spent: list[float] | None = None) -> None:
    """Answer ``cpu`` lines on stdin with this process's CPU time (and the seconds in ``spent``);
    return on ``quit`` or EOF."""
    loop = asyncio.get_running_loop()
    quit_event = asyncio.Event()

    def read() -> None:
        for line in sys.stdin:
            if line.strip() == "cpu":
                print(repr(time.process_time()), repr(spent[0] if spent else 0.0), flush=True)
            else:
                break
        loop.call_soon_threadsafe(quit_event.set)

    threading.Thread(target=read, daemon=True).start()
    await quit_event.wait()


class _Child:
    def __init__(self, *args: str) -> None:
        import ssedelta

        env = dict(os.environ)
        paths = [str(Path(ssedelta.__file__).resolve().parent.parent), str(ROOT)]
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.gateway_proxy", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().strip()
        if not self.first_line:
            raise RuntimeError(f"benchmark child {args} did not start")

    def cpu(self) -> tuple[float, float]:
        """The child's CPU time, and the seconds it spent in the tap when it times it."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("cpu\n")
        self.process.stdin.flush()
        total, tap = self.process.stdout.readline().split()
        return float(total), float(tap)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)


# ---------------------------------------------------------------- the client


async def _round(url: str, streams: int, concurrency: int, expected: bytes) -> None:
    import aiohttp

    limit = asyncio.Semaphore(concurrency)
    body = json.dumps({"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]})

    async def one(session: aiohttp.ClientSession) -> None:
        async with limit, session.post(url + "/v1/chat/completions", data=body) as response:
            received = bytearray()
            async for piece in response.content.iter_any():
                received += piece
        if bytes(received) != expected:
            raise AssertionError("the proxy changed the stream")

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        await asyncio.gather(*(one(session) for _ in range(streams)))


def measure(
    *,
    rounds: int = 30,
    streams: int = 16,
    concurrency: int = 16,
    write: str = "event",
    pace_ms: float = 1.0,
    backend: str | None = None,
    small: bool = False,
) -> dict[str, Any]:
    """Run the comparison; returns per-round figures and the medians (µs of proxy CPU per chunk)."""
    import ssedelta

    backend = backend or ssedelta.BACKEND
    stream = corpus.profile("chat", small=small)
    # With two cores or more, the proxy gets one to itself; the upstream and the client share another.
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cores) >= 2
    proxy_cpu = ["--cpu", str(cores[0])] if pinned else []
    other_cpu = ["--cpu", str(cores[1])] if pinned else []
    per_chunk: dict[str, list[float]] = {"tap": [], "blind": [], "tap_timed": []}
    with tempfile.TemporaryDirectory() as folder:
        log = str(Path(folder) / "log.jsonl")
        size = ["--small"] if small else []
        pacing = ["--write", write, "--pace-ms", str(pace_ms), *size]
        upstream = _Child("--role", "upstream", *pacing, *other_cpu)
        if pinned:
            os.sched_setaffinity(0, {cores[1]})
        try:
            target = ["--upstream", upstream.first_line, "--backend", backend, "--log", log]
            proxies = _Child("--role", "proxy", *target, *proxy_cpu)
            try:
                urls = dict(zip(("tap", "blind"), proxies.first_line.split(), strict=True))
                for url in urls.values():  # warm-up
                    asyncio.run(_round(url, min(streams, 4), concurrency, stream.data))
                for i in range(rounds):
                    for mode in ("tap", "blind") if i % 2 == 0 else ("blind", "tap"):
                        before, _ = proxies.cpu()
                        asyncio.run(_round(urls[mode], streams, concurrency, stream.data))
                        per_chunk[mode].append((proxies.cpu()[0] - before) / (streams * stream.chunks) * 1e6)
            finally:
                proxies.stop()
            # The same tap rounds again, with a clock around the tap's own work in the proxy.
            target[-1] = log + ".timed"
            timed = _Child("--role", "proxy", "--timed", *target, *proxy_cpu)
            try:
                url = timed.first_line.split()[0]
                asyncio.run(_round(url, min(streams, 4), concurrency, stream.data))
                for _ in range(max(1, rounds // 5)):
                    before = timed.cpu()
                    asyncio.run(_round(url, streams, concurrency, stream.data))
                    after = timed.cpu()
                    per_chunk["tap_timed"].append((after[1] - before[1]) / (streams * stream.chunks) * 1e6)
            finally:
                timed.stop()
            records = [json.loads(line) for line in Path(log).read_text().splitlines()]
        finally:
            upstream.stop()
            if pinned:
                os.sched_setaffinity(0, set(cores))
    expected = stream.expected or {}
    wrong = [r for r in records if _content(r["completion"]) != _content(expected)]
    if wrong or len(records) != min(streams, 4) + rounds * streams:
        raise AssertionError(f"{len(wrong)} of {len(records)} logged completions differ from the stream's")
    tap, blind = statistics.median(per_chunk["tap"]), statistics.median(per_chunk["blind"])
    # Rounds i of both proxies ran back to back: their ratio is the least disturbed by the machine.
    ratios = sorted(t / b for t, b in zip(per_chunk["tap"], per_chunk["blind"], strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {
        "backend": backend,
        "write": write,
        "pace_ms": pace_ms,
        "streams_per_round": streams,
        "concurrency": concurrency,
        "chunks_per_stream": stream.chunks,
        "rounds": per_chunk,
        "tap_us_per_chunk": tap,
        "blind_us_per_chunk": blind,
        "overhead": tap / blind - 1,
        "paired_overhead": quartiles[1] - 1,
        "paired_overhead_quartiles": [quartiles[0] - 1, quartiles[2] - 1],
        "tap_timed_us_per_chunk": statistics.median(per_chunk["tap_timed"]),
        "tap_timed_share": statistics.median(per_chunk["tap_timed"]) / blind,
    }


def _content(completion: dict[str, Any]) -> list[Any]:
    return [(c["message"]["content"], c["finish_reason"]) for c in completion["choices"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gateway_proxy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--role", choices=("client", "upstream", "proxy"), default="client", help=argparse.SUPPRESS
    )
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--timed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=30, help="rounds per proxy (default 30)")
    parser.add_argument("--streams", type=int, default=16, help="streams per round (default 16)")
    parser.add_argument("--concurrency", type=int, default=16, help="streams at a time (default 16)")
    parser.add_argument(
        "--write", choices=("event", "4k"), default="event", help="upstream writes: one event, or 4 KiB"
    )
    parser.add_argument(
        "--pace-ms", type=float, default=1.0, help="upstream pause between writes (default 1 ms)"
    )
    parser.add_argument("--backend", choices=("native", "python"), default=None)
    parser.add_argument("--small", action="store_true", help="tenth-size stream (smoke runs)")
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.role == "upstream":
        asyncio.run(_upstream(args.small, args.write, args.pace_ms / 1000))
        return 0
    if args.role == "proxy":
        asyncio.run(_proxies(args.upstream, args.backend, args.log, args.timed))
        return 0
    result = measure(
        rounds=args.rounds,
        streams=args.streams,
        concurrency=args.concurrency,
        write=args.write,
        pace_ms=args.pace_ms,
        backend=args.backend,
        small=args.small,
    )
    print(
        f"proxy CPU per chunk, {result['backend']} core, upstream writes: {args.write}, "
        f"{args.streams} streams x {result['chunks_per_stream']} chunks per round, {args.rounds} rounds each"
    )
    for mode in ("blind", "tap"):
        figures = ", ".join(f"{x:.2f}" for x in result["rounds"][mode])
        print(f"  {mode:5}  median {result[f'{mode}_us_per_chunk']:.2f} µs  (rounds: {figures})")
    low, high = (100 * x for x in result["paired_overhead_quartiles"])
    print(
        f"  the tap adds {result['overhead'] * 100:+.1f}% (ratio of the medians); "
        f"round by round {result['paired_overhead'] * 100:+.1f}% "
        f"(median; quartiles {low:+.1f}%, {high:+.1f}%)"
    )
    print(
        f"  the tap's own work, timed inside the proxy: {result['tap_timed_us_per_chunk']:.2f} µs per chunk, "
        f"{result['tap_timed_share'] * 100:.1f}% of the blind proxy's CPU per chunk"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
