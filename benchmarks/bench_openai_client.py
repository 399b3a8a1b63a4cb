"""CPU per chunk of a streamed chat completion read through the official openai client, end to end.

    python -m benchmarks.bench_openai_client [--rounds N] [--out FILE]

A server in another process replays recorded streams on 127.0.0.1 (whole body, 4 KiB writes); the
client reads each stream through ``openai.OpenAI`` and the process CPU time of the client alone
(``time.process_time``: request, socket reads, decoding, merging) is divided by the chunks read.
Three ways to read the same response, and the transport alone:

``sdk iteration``      ``for chunk in client.chat.completions.create(stream=True)`` (pydantic chunks)
``sdk stream helper``  ``client.chat.completions.stream()``, iterated, then ``get_final_completion()``
``ssedelta``           ``ssedelta.openai.stream_chat``, iterated, then ``get_final_completion()``
``transport``          ``with_streaming_response.create(stream=True)``, the raw body read, not decoded
                       (what the request and the socket cost; not a way to get the chunks)

The streams: generated profiles of ``benchmarks.corpus`` (``profile:NAME``) and recorded ones.

Every path's result is checked against ``ssedelta.merge`` of the same bytes before anything is timed.
Run by pytest (the normal test run) it is a smoke test: one round, results checked, nothing saved.
The results are written to ``benchmarks/results/openai-client/``; ``python -m
benchmarks.render_openai_client`` makes the README table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai

import ssedelta
from ssedelta.openai import stream_chat

from .compare import RESULTS_DIR, machine_info, machine_slug, ssedelta_info
from .corpus import REPO_ROOT, profile

RESULTS = RESULTS_DIR / "openai-client"
DATA = REPO_ROOT / "tests" / "data" / "real"
#: Generated profiles (600 content deltas; the same with top-5 logprobs; 3 parallel tool calls) and
#: recorded streams (long content, parallel tool calls, three choices).
STREAMS = (
    "profile:chat",
    "profile:logprobs",
    "profile:tools",
    "openai-python__gpt4o_json_object_long",
    "openai-python__gpt4o_parallel_tool_calls",
    "openai-python__gpt4o_json_schema_n3_choices",
)
WRITE_SIZE = 4096
MESSAGES = [{"role": "user", "content": "Hi"}]


# ------------------------------------------------------------------ the server (its own process)


def _serve(bodies: dict[str, bytes], ready: Any) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        name = (await request.json())["model"]
        data = bodies[name]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(0, len(data), WRITE_SIZE):
            await response.write(data[i : i + WRITE_SIZE])
        await response.write_eof()
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


class Server:
    def __init__(self, bodies: dict[str, bytes]) -> None:
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        self.process = context.Process(target=_serve, args=(bodies, ready), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ready.get(timeout=60)}/v1"

    def close(self) -> None:
        self.process.terminate()
        self.process.join(10)


# ------------------------------------------------------------------ the three ways to read


def sdk_iteration(client: openai.OpenAI, name: str) -> tuple[int, Any]:
    chunks = 0
    content: list[str] = []
    for chunk in client.chat.completions.create(model=name, messages=MESSAGES, stream=True):  # type: ignore[arg-type]
        chunks += 1
        if chunk.choices and chunk.choices[0].index == 0 and chunk.choices[0].delta.content:
            content.append(chunk.choices[0].delta.content)
    return chunks, "".join(content) if content else None


def sdk_stream_helper(client: openai.OpenAI, name: str) -> tuple[int, Any]:
    chunks = 0
    with client.chat.completions.stream(model=name, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        for event in stream:
            chunks += event.type == "chunk"
        completion = stream.get_final_completion()
    return chunks, completion.choices[0].message.content


def ssedelta_stream_chat(client: openai.OpenAI, name: str) -> tuple[int, Any]:
    chunks = 0
    with stream_chat(client, model=name, messages=MESSAGES) as stream:
        for _ in stream:
            chunks += 1
        completion = stream.get_final_completion()
    return chunks, completion


def transport(client: openai.OpenAI, name: str) -> tuple[int, Any]:
    body = bytearray()
    create: Any = client.chat.completions.with_streaming_response.create
    with create(model=name, messages=MESSAGES, stream=True) as response:
        for piece in response.http_response.iter_raw():
            body += piece
    return 0, bytes(body)


PATHS: dict[str, Callable[[openai.OpenAI, str], tuple[int, Any]]] = {
    "sdk iteration": sdk_iteration,
    "sdk stream helper": sdk_stream_helper,
    "ssedelta": ssedelta_stream_chat,
    "transport": transport,
}


def load(name: str) -> bytes:
    if name.startswith("profile:"):
        return profile(name.removeprefix("profile:")).data
    return (DATA / f"{name}.sse").read_bytes()


def check(path: str, name: str, data: bytes, got: tuple[int, Any]) -> None:
    """``got`` (chunks read, and the content or completion made) must match ssedelta's merge."""
    chunks, result = got
    if path == "transport":
        assert result == data, (path, name)
        return
    want = ssedelta.merge(data)
    assert chunks == len(list(ssedelta.iter_chunks(data))), (path, name, chunks)
    if path == "ssedelta":
        assert result == want, (path, name)
    else:
        assert result == want.choices[0].message.content, (path, name)


def measure(rounds: int, streams: tuple[str, ...] = STREAMS, chunks_per_round: int = 2000) -> dict[str, Any]:
    """Client CPU per chunk of each path on each stream, best of ``rounds`` rounds of about
    ``chunks_per_round`` chunks (the stream read as many times as it takes)."""
    bodies = {name: load(name) for name in streams}
    server = Server(bodies)
    try:
        client = openai.OpenAI(base_url=server.url, api_key="sk-bench", max_retries=0)
        results: dict[str, dict[str, Any]] = {}
        for name, data in bodies.items():
            row: dict[str, Any] = {"chunks": len(list(ssedelta.iter_chunks(data))), "bytes": len(data)}
            for path, read in PATHS.items():
                check(path, name, data, read(client, name))  # also warms the connection up
                repeats = max(1, chunks_per_round // row["chunks"])
                best = float("inf")
                for _ in range(rounds):
                    started = time.process_time()
                    for _ in range(repeats):
                        read(client, name)
                    best = min(best, (time.process_time() - started) / repeats)
                row[path] = {"us_per_chunk": best / row["chunks"] * 1e6, "us_per_stream": best * 1e6}
            results[name] = row
    finally:
        server.close()
    for row in results.values():
        for path in ("sdk iteration", "sdk stream helper"):
            row[path]["vs_ssedelta"] = row[path]["us_per_chunk"] / row["ssedelta"]["us_per_chunk"]
            floor = row["transport"]["us_per_chunk"]
            beyond = row["ssedelta"]["us_per_chunk"] - floor
            row[path]["vs_ssedelta_beyond_transport"] = (row[path]["us_per_chunk"] - floor) / beyond
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="best of this many rounds (default 5)")
    parser.add_argument(
        "--out", type=Path, help="results file (default: results/openai-client/DATE-MACHINE.json)"
    )
    args = parser.parse_args(argv)
    machine = machine_info()
    doc = {
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "ssedelta": ssedelta_info(),
        "openai": openai.__version__,
        "rounds": args.rounds,
        "write_size": WRITE_SIZE,
        "streams": measure(args.rounds),
    }
    out = args.out or RESULTS / f"{doc['date']}-{machine_slug(machine)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def test_openai_client_paths() -> None:
    """One round on one stream: every path reads the right chunks and completion (no timing)."""
    name = "openai-python__gpt4o_parallel_tool_calls"
    row = measure(1, (name,), chunks_per_round=1)[name]
    assert set(PATHS) <= row.keys()
    assert all(row[path]["us_per_chunk"] > 0 for path in PATHS)


if __name__ == "__main__":
    raise SystemExit(main())
