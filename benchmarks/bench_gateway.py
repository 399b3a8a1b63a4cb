"""The gateway tap: CPU per streamed chunk, tapped against forwarded blindly, on the generated ``chat``
stream (600 content deltas).

Two ways the bytes arrive: in 4 KiB pieces (a busy upstream, reads that coalesce) and one piece per
event (a model producing tokens one by one: a proxy reads each event on its own, the costliest case
per chunk). ``blind`` iterates the same pieces and does nothing else; ``tap`` is
``for piece in Tap(pieces)``; ``events`` is ``for raw, chunk in Tap(pieces).iter_events()``; the
``async`` rows do the same with ``AsyncTap`` over an async generator. Each tapped row checks, before
it is timed, that every piece came out unchanged and that the merged completion is the stream's.

Run once each as a smoke test in the normal test run; measure with
``pytest benchmarks/bench_gateway.py --benchmark-enable --benchmark-only --benchmark-group-by=group``.
The logging proxy's CPU per chunk, tap against blind, is ``python -m benchmarks.gateway_proxy``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest

import ssedelta
from ssedelta.gateway import AsyncTap, Tap

from . import corpus, gateway_proxy
from .harness import smoke

PIECINGS = ("4k", "event")
ROWS = [
    pytest.param("blind", "python", id="blind"),
    pytest.param("async-blind", "python", id="async-blind"),
    *(
        pytest.param(
            mode, name, id=f"{mode}-{name}", marks=[pytest.mark.c_extension] if name == "native" else []
        )
        for mode in ("tap", "events", "async-tap")
        for name in ("native", "python")
    ),
]


def pieces_of(data: bytes, piecing: str) -> list[bytes]:
    if piecing == "4k":
        return corpus.split_pieces(data)
    blocks = data.split(b"\n\n")
    return [block + b"\n\n" for block in blocks[:-1]]


async def _agen(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def runner(
    mode: str, pieces: list[bytes], backend: Any, loop: asyncio.AbstractEventLoop
) -> Callable[[], Any]:
    """One pass over the stream: returns what came out and the tap (``None`` when blind)."""
    if mode == "blind":
        return lambda: ([piece for piece in pieces], None)
    if mode == "tap":

        def tapped() -> tuple[list[bytes], Tap]:
            tap = Tap(pieces, backend=backend)
            return [piece for piece in tap], tap

        return tapped
    if mode == "events":

        def events() -> tuple[list[bytes], Tap]:
            tap = Tap(pieces, backend=backend)
            return [raw for raw, _chunk in tap.iter_events()], tap

        return events

    async def forward() -> tuple[list[bytes], AsyncTap | None]:
        if mode == "async-blind":
            return [piece async for piece in _agen(pieces)], None
        tap = AsyncTap(_agen(pieces), backend=backend)
        return [piece async for piece in tap], tap

    return lambda: loop.run_until_complete(forward())


@pytest.mark.parametrize(("mode", "backend_name"), ROWS)
@pytest.mark.parametrize("piecing", PIECINGS)
def test_tap(
    benchmark: Any, request: pytest.FixtureRequest, piecing: str, mode: str, backend_name: str
) -> None:
    try:
        backend = ssedelta.get_backend(backend_name)
    except ImportError:
        pytest.skip("the native core is not built")
    stream = corpus.profile("chat", small=smoke(request.config))
    pieces = pieces_of(stream.data, piecing)
    benchmark.group = f"gateway tap, chat, {piecing} pieces"
    benchmark.extra_info.update(
        mode=mode, backend=backend_name, chunks=stream.chunks, pieces=len(pieces), bytes=len(stream.data)
    )
    loop = asyncio.new_event_loop()
    try:
        run = runner(mode, pieces, backend, loop)
        out, tap = run()  # checked before any timing
        if mode == "events":
            assert b"".join(out) == stream.data
        else:
            assert len(out) == len(pieces) and all(a is b for a, b in zip(out, pieces, strict=True))
        if tap is not None:
            assert tap.completion.to_dict()["choices"] == (stream.expected or {})["choices"]
            assert tap.done_seen and tap.chunks == stream.chunks
        benchmark(run)
    finally:
        loop.close()


def test_proxy_tap_against_blind_smoke() -> None:
    """The proxy comparison of ``python -m benchmarks.gateway_proxy``, tiny: both proxies forward,
    every response is checked byte for byte, every logged completion against the stream."""
    result = gateway_proxy.measure(rounds=1, streams=2, concurrency=2, pace_ms=0, small=True)
    assert result["tap_us_per_chunk"] > 0 and result["blind_us_per_chunk"] > 0
