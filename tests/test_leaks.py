"""Memory: merging and decoding millions of chunks keeps the RSS flat, and errors leave nothing behind.

The long loops run in a child process (a fresh interpreter, so that the RSS reflects only them);
the error paths are checked in this process with ``tracemalloc`` and the count of objects the
garbage collector knows, over many repetitions (a release build of CPython has no
``sys.gettotalrefcount``; where it has, the total reference count is checked too).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import ssedelta

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the RSS from /proc")

_LOOP_SCRIPT = textwrap.dedent(
    """
    import gc, json, os, sys, time
    import ssedelta

    backend = ssedelta.get_backend(sys.argv[1])
    loops = int(sys.argv[2])
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "system_fingerprint": "fp"}
    events = []
    for i in range(600):
        delta = {"content": "tok%d \\u00e9 " % i}
        if i % 50 == 0:
            delta["tool_calls"] = [{"index": i // 50, "id": "call_%d" % i, "type": "function",
                                    "function": {"name": "f", "arguments": "{}"}}]
        if i % 7 == 0:
            delta["reasoning_content"] = "r"
        choice = {"index": i % 2, "delta": delta, "finish_reason": None,
                  "logprobs": {"content": [{"token": "t", "logprob": -0.5, "bytes": [116],
                                            "top_logprobs": []}]} if i % 3 == 0 else None}
        events.append(b"data: " + json.dumps({**head, "choices": [choice]}).encode() + b"\\n\\n")
    stream = b"".join(events) + b'data: {"choices":[],"usage":{"prompt_tokens":1}}\\n\\ndata: [DONE]\\n\\n'
    pieces = [stream[i:i + 4096] for i in range(0, len(stream), 4096)]
    bad = stream[: len(stream) // 2] + b"data: {oops\\n\\n" + stream[len(stream) // 2:]

    def one(k):
        merger = backend.DeltaMerger()
        for piece in pieces:
            merger.feed(piece)
        completion = merger.finish()
        assert len(completion.choices) == 2
        if k % 4 == 0:
            decoder = backend.ChunkDecoder()
            n = 0
            for piece in pieces:
                n += len(decoder.feed(piece))
            assert n == 601, n
        if k % 10 == 0:
            try:
                backend.merge(bad)
            except ssedelta.InvalidJSONError:
                pass
            else:
                raise AssertionError("no error")

    # The first third warms the allocator up (its arenas grow for a while, then stay).
    warm = loops // 3
    started = time.perf_counter()
    for k in range(warm):
        one(k)
    gc.collect()
    before = rss()
    middle = (warm + loops) // 2
    for k in range(warm, middle):
        one(k)
    gc.collect()
    between = rss()
    for k in range(middle, loops):
        one(k)
    gc.collect()
    after = rss()
    print(json.dumps({"before": before, "between": between, "after": after,
                      "seconds": time.perf_counter() - started, "chunks": loops * 601,
                      "measured": (loops - warm) * 601}))
    """
)


@pytest.mark.parametrize(
    ("backend_name", "loops"), [pytest.param("native", 5000, marks=pytest.mark.c_extension), ("python", 300)]
)
def test_rss_stays_flat_over_millions_of_chunks(backend_name, loops):
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("AddressSanitizer holds freed memory back (its quarantine), so the RSS grows")
    if backend_name == "native" and ssedelta.NO_EXTENSIONS:
        pytest.skip("SSEDELTA_NO_EXTENSIONS is set")
    proc = subprocess.run(
        [sys.executable, "-c", _LOOP_SCRIPT, backend_name, str(loops)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    # A leak grows the RSS in both halves of the measured runs, in proportion to them. CPython 3.13
    # grows it by about 1 MiB in each half of the pure-Python loop whatever the number of runs
    # (measured: 0.8 and 1.0 MiB over 100 runs a half, 1.3 and 1.0 MiB over 300). A leak of one
    # object per chunk would be 3 MiB or more per half; a leak per stream is the next test's to find.
    grown = min(result["between"] - result["before"], result["after"] - result["between"])
    assert grown < 2 * 1024 * 1024, result


# ------------------------------------------------------------------ errors raised mid-buffer

HEAD = '"id":"c","object":"chat.completion.chunk","created":1,"model":"m"'


def ev(delta: dict[str, Any], **top: Any) -> bytes:
    extra = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in top.items())
    body = "{" + HEAD + ',"choices":[{"index":0,"delta":' + json.dumps(delta) + "}]" + extra + "}"
    return b"data: " + body.encode() + b"\n\n"


GOOD = ev({"role": "assistant", "content": "a"}) + ev({"content": "b", "reasoning_content": "r"})
TAIL = ev({"content": "never"}) + b"data: [DONE]\n\n"

#: Streams that fail in the middle of a piece, with the options that make them fail (and one that
#: does not, for the paths that succeed).
FAILING: list[tuple[str, bytes, dict[str, Any]]] = [
    ("no-error", GOOD + TAIL, {}),
    ("invalid-json", GOOD + b"data: {oops\n\n" + TAIL, {}),
    ("invalid-utf8-json", GOOD + b'data: {"id":"\xff\n\n' + TAIL, {}),
    ("lone-surrogate", GOOD + ev({"content": "x"}).replace(b'"x"', b'"\\ud800"') + TAIL, {}),
    ("wrong-type", GOOD + ev({"content": 5}) + TAIL, {}),
    ("wrong-type-deep", GOOD + ev({"tool_calls": [{"index": "0"}]}) + TAIL, {}),
    ("not-an-object", GOOD + b"data: [1,2]\n\n" + TAIL, {}),
    ("upstream", GOOD + ev({"content": "!"}, error={"message": "boom"}) + TAIL, {}),
    ("event-error", GOOD + b"event: error\ndata: nope\n\n" + TAIL, {}),
    ("event-too-large", GOOD + ev({"content": "x" * 500}) + TAIL, {"max_event_size": 300}),
    ("line-too-long", GOOD + b": " + b"c" * 500 + b"\n\n" + TAIL, {"max_line_size": 300}),
    ("choices", GOOD + ev({"content": "x"}).replace(b'"index":0', b'"index":1') + TAIL, {"max_choices": 1}),
    (
        "tool-calls",
        GOOD + ev({"tool_calls": [{"index": 0, "id": "a"}, {"index": 1, "id": "b"}]}) + TAIL,
        {"max_tool_calls": 1},
    ),
    ("extras-keys", GOOD + ev({"content": "x", "k1": 1, "k2": {"a": 1}}) + TAIL, {"max_extras_keys": 2}),
    ("merged-size", GOOD + GOOD + TAIL, {"max_merged_size": len(GOOD)}),
]

MERGER_ONLY = {"max_choices", "max_tool_calls", "max_extras_keys", "max_merged_size"}


def exercise(backend: ssedelta.Backend, stream: bytes, options: dict[str, Any]) -> None:
    """Merge and decode ``stream`` (whole, then in two pieces), expecting an error each time."""
    for cut in (len(stream), len(stream) // 2):
        merger = backend.DeltaMerger(**options)
        try:
            merger.feed(stream[:cut])
            merger.feed(stream[cut:])
            merger.finish()
        except (ssedelta.StreamFormatError, ssedelta.UpstreamError) as exc:
            assert exc.offset > 0
        else:
            assert not options and b"{oops" not in stream
        merger.snapshot()
        if options.keys() & MERGER_ONLY:
            continue
        decoder = backend.ChunkDecoder(**options)
        try:
            decoder.feed(stream[:cut])
            decoder.feed(stream[cut:])
            decoder.close()
        except (ssedelta.StreamFormatError, ssedelta.UpstreamError):
            pass
        if "max_line_size" not in options:
            tokenizer = backend.SSEDecoder(**options)
            try:
                tokenizer.feed(stream[:cut])
                tokenizer.feed(stream[cut:])
                tokenizer.close()
            except ssedelta.StreamFormatError:
                pass


def measure(run: Callable[[], None], repeat: int) -> tuple[int, int, int]:
    gc.collect()
    objects = len(gc.get_objects())
    total = getattr(sys, "gettotalrefcount", lambda: 0)()
    traced = tracemalloc.get_traced_memory()[0]
    for _ in range(repeat):
        run()
    gc.collect()
    return (
        len(gc.get_objects()) - objects,
        tracemalloc.get_traced_memory()[0] - traced,
        getattr(sys, "gettotalrefcount", lambda: 0)() - total,
    )


def fill_free_lists(backend: ssedelta.Backend) -> None:
    """Fill the native core's free lists (a few of each object a merger makes per stream, kept for
    the next merger) with objects made while memory is traced. They fill only when that many are
    freed together, and a block of runs that happens to do so would look like a leak. The newest
    are freed first: they are the ones kept."""
    mergers = []
    for _ in range(16):
        merger = backend.DeltaMerger()
        merger.feed(GOOD + GOOD)
        mergers.append(merger)
    del merger
    while mergers:
        mergers.pop()


@pytest.mark.c_extension
@pytest.mark.skipif(ssedelta.NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
@pytest.mark.parametrize(("name", "stream", "options"), FAILING, ids=[case[0] for case in FAILING])
def test_errors_mid_buffer_leave_nothing_behind(name, stream, options):
    # The native core only: the twin is Python code, which cannot lose a reference.
    backend = ssedelta.get_backend("native")

    def run() -> None:
        exercise(backend, stream, options)

    for _ in range(20):  # warm up caches (interned strings, the type cache, free lists)
        run()
    tracemalloc.start()
    try:
        fill_free_lists(backend)
        measure(run, 20)
        # A leak grows in every block of runs; a one-off allocation lands in one block only. CPython
        # 3.10 has such one-offs that 20 runs do not absorb: the per-function opcode cache made at a
        # function's 1024th call, and each function's cached frame, traced once a frame allocated
        # before tracemalloc.start() is replaced by one allocated after (about 2 KiB in all).
        for _ in range(3):
            objects, traced, refs = measure(run, 150)
            if objects < 15 and traced < 1536 and refs < 150:
                break
    finally:
        tracemalloc.stop()
    # A leak of one object per run would be 150 objects, or 2.4 KiB or more, per block.
    assert objects < 15, (name, objects)
    assert traced < 1536, (name, traced)
    assert refs < 150, (name, refs)
