"""The differential oracle shared by the fuzz targets and the regression tests.

One fuzz input is two header bytes and a stream: byte 0 chooses how the
stream is split into pieces, byte 1 which resource limits are set (small
ones, so that every limit's error path is reached). Each target feeds the
same pieces to the native core and to the pure-Python twin and requires the
same outcome: the same events, chunks or merged completion, or the same
error class with the same ``offset``, ``event_index`` and limit name, and
the same state afterwards. The merger is also fed the whole stream in one
piece, which must give the same outcome as the split feed.

The ``refeed`` target keeps calling every object after its first error, with
the rest of the pieces and more bytes: each later call must raise that very
exception again on each backend (a failed object), the merger's snapshot must
stay what it was at the error, no event may hold a byte that was not fed at
the offsets it names, and both backends must agree on every call.

Runs without atheris: ``check(target, data)`` raises ``AssertionError`` on a
difference. Importing it needs the native core built.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import ssedelta
from ssedelta.errors import StreamFormatError, UpstreamError

NATIVE = ssedelta.get_backend("native")
PYTHON = ssedelta.get_backend("python")

#: Keyword options for each value of header byte 1 (modulo the table's length).
LIMIT_PROFILES: list[dict[str, int]] = [
    {},
    {"max_event_size": 64},
    {"max_line_size": 40},
    {"max_choices": 2, "max_tool_calls": 2},
    {"max_merged_size": 300},
    {"max_extras_keys": 3},
    {
        "max_event_size": 200,
        "max_line_size": 120,
        "max_choices": 3,
        "max_tool_calls": 3,
        "max_merged_size": 2000,
        "max_extras_keys": 8,
    },
    {"max_event_size": 300, "max_line_size": 300},
]

#: Options each kind of object takes.
SSE_OPTIONS = frozenset({"max_event_size", "max_line_size"})
MERGER_OPTIONS = SSE_OPTIONS | {"max_choices", "max_tool_calls", "max_merged_size", "max_extras_keys"}


def _supported(cls: Any, names: frozenset[str]) -> frozenset[str]:
    ok = set()
    for name in names:
        try:
            cls(**{name: 10})
        except TypeError:
            continue
        ok.add(name)
    return frozenset(ok)


SSE_OPTIONS = _supported(NATIVE.SSEDecoder, SSE_OPTIONS)
MERGER_OPTIONS = _supported(NATIVE.DeltaMerger, MERGER_OPTIONS)


def options_for(profile: int, allowed: frozenset[str]) -> dict[str, int]:
    return {k: v for k, v in LIMIT_PROFILES[profile % len(LIMIT_PROFILES)].items() if k in allowed}


def split(stream: bytes, selector: int) -> list[bytes]:
    """The pieces the stream is fed in, chosen by ``selector`` (0-255)."""
    n = len(stream)
    mode = selector & 3
    if n <= 1 or mode == 0:
        return [stream]
    if mode == 1:
        rng = random.Random(selector * 7919 + n)
        cuts = sorted(rng.sample(range(1, n), min(n - 1, rng.randint(1, 16))))
        return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    size = (selector >> 2) + 1 if mode == 2 else (1 if n <= 4096 else 7)
    return [stream[i : i + size] for i in range(0, n, size)]


class _Key:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def canon(value: Any) -> list[Any]:
    """A flat, exact description of a JSON-like value (types, float reprs, key order), made
    without recursion: merged values may be nested deeper than ``repr`` or ``==`` can go."""
    out: list[Any] = []
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is _Key:
            out.append(("key", repr(v.key)))
        elif kind is dict:
            out.append(("dict", len(v)))
            for k, x in reversed(v.items()):
                stack.append(x)
                stack.append(_Key(k))
        elif kind is list or kind is tuple:
            out.append((kind.__name__, len(v)))
            stack.extend(reversed(v))
        else:
            out.append((kind.__name__, repr(v)))
    return out


def error_key(exc: BaseException, to_dict: Callable[[Any], Any] = PYTHON.to_dict) -> tuple[Any, ...]:
    """What two backends' errors must agree on (``to_dict``: the backend's)."""
    if isinstance(exc, UpstreamError):
        return (
            "UpstreamError",
            canon(exc.error),
            exc.offset,
            exc.event_index,
            canon(to_dict(exc.partial)) if exc.partial is not None else None,
            canon(to_dict(exc.chunk)) if exc.chunk is not None else None,
        )
    if isinstance(exc, StreamFormatError):
        return (type(exc).__name__, exc.offset, exc.event_index, getattr(exc, "limit", None))
    raise exc  # anything else is a crash of its own


def tokenize(backend: ssedelta.Backend, pieces: list[bytes], options: dict[str, int]) -> list[Any]:
    """Per piece: the events (or the error), then the tokenizer's visible state."""
    trace: list[Any] = []
    for method in ("feed", "feed_payloads"):
        decoder = backend.SSEDecoder(**options)
        feed = getattr(decoder, method)
        for piece in pieces:
            try:
                got = feed(piece)
            except StreamFormatError as exc:
                trace.append(error_key(exc))
            else:
                if method == "feed":
                    trace.append(
                        [(e.event, e.payload, e.id, e.retry, e.raw, e.offset, e.data_offset) for e in got]
                    )
                else:
                    trace.append(got)
            trace.append((decoder.last_event_id, decoder.retry, decoder.offset, decoder.events_dispatched))
        try:
            trace.append(decoder.close())
        except StreamFormatError as exc:
            trace.append(error_key(exc))
    return trace


def decode(backend: ssedelta.Backend, pieces: list[bytes], options: dict[str, int]) -> list[Any]:
    decoder = backend.ChunkDecoder(**options)
    trace: list[Any] = []
    failed = False
    for piece in [*pieces, b""]:
        try:
            trace.append([canon(backend.to_dict(c)) for c in decoder.feed(piece)])
        except (StreamFormatError, UpstreamError) as exc:
            trace.append(error_key(exc, backend.to_dict))
            failed = True
        trace.append((decoder.done, decoder.events))
    try:
        trace.append(decoder.close())
    except (StreamFormatError, UpstreamError) as exc:
        trace.append(error_key(exc, backend.to_dict))
        assert failed, "close() raised an error feed() never did"
    return trace


def merge(backend: ssedelta.Backend, pieces: list[bytes], options: dict[str, int]) -> tuple[Any, Any]:
    """The first error (or the completion) and the state then, which do not depend on the split;
    and what feeding the pieces after that error does (a merger goes on with the events that
    follow), which does."""
    merger = backend.DeltaMerger(**options)
    first: tuple[Any, ...] | None = None
    later: list[Any] = []
    for piece in pieces:
        try:
            count = merger.feed(piece)
        except (StreamFormatError, UpstreamError) as exc:
            if first is None:
                first = (
                    *error_key(exc, backend.to_dict),
                    canon(backend.to_dict(merger.snapshot())),
                    merger.done,
                )
            else:
                later.append(error_key(exc, backend.to_dict))
        else:
            if first is not None:
                later.append(count)
    try:
        done = ("ok", canon(backend.to_dict(merger.finish())))
    except (StreamFormatError, UpstreamError) as exc:
        done = error_key(exc, backend.to_dict)
    if first is None:
        return (*done, canon(backend.to_dict(merger.snapshot())), merger.done), None
    return first, (later, done, canon(backend.to_dict(merger.snapshot())), merger.chunks)


#: Fed after the stream by the refeed target: an event, a blank line, nothing.
MORE = [b"data: {}\n\n", b"\n\n", b""]


class _Failed:
    """The first error an object raised; every later call must raise the same object."""

    def __init__(self) -> None:
        self.exc: BaseException | None = None

    def saw(self, exc: BaseException, to_dict: Callable[[Any], Any] = PYTHON.to_dict) -> tuple[Any, ...]:
        if self.exc is None:
            self.exc = exc
            return ("error", *error_key(exc, to_dict))
        assert exc is self.exc, f"a failed object raised {exc!r}, not its error {self.exc!r}"
        return ("again",)

    def returned(self) -> None:
        assert self.exc is None, f"a failed object returned instead of raising {self.exc!r}"


def _fed_bytes(event: Any, fed: bytes) -> None:
    assert fed[event.offset : event.offset + len(event.raw)] == event.raw, "an event holds bytes not fed"
    for line in event.payload.split(b"\n"):
        assert line in event.raw, "a payload holds bytes not in its event"


def refeed(backend: ssedelta.Backend, pieces: list[bytes], options: dict[str, int]) -> list[Any]:
    """Each call's outcome when every object is fed on after its first error."""
    sse_options = {k: v for k, v in options.items() if k in SSE_OPTIONS}
    fed = b"".join([*pieces, *MORE])
    trace: list[Any] = []
    for method in ("feed", "feed_payloads"):
        decoder = backend.SSEDecoder(**sse_options)
        failed = _Failed()
        for piece in [*pieces, *MORE]:
            try:
                got = getattr(decoder, method)(piece)
            except StreamFormatError as exc:
                trace.append(failed.saw(exc))
                continue
            failed.returned()
            if method == "feed":
                for event in got:
                    _fed_bytes(event, fed)
                got = [(e.event, e.payload, e.id, e.retry, e.offset) for e in got]
            trace.append(got)
        for _ in range(2):
            try:
                trace.append(decoder.close())
            except StreamFormatError as exc:
                trace.append(failed.saw(exc))
    # The chunks themselves are the decoder target's to compare: here, how many each call gives.
    chunks = backend.ChunkDecoder(**sse_options)
    failed = _Failed()
    for piece in [*pieces, *MORE]:
        try:
            trace.append(len(chunks.feed(piece)))
        except (StreamFormatError, UpstreamError) as exc:
            trace.append(failed.saw(exc, backend.to_dict))
    merger = backend.DeltaMerger(**{k: v for k, v in options.items() if k in MERGER_OPTIONS})
    failed = _Failed()
    at_error: Any = None
    for piece in [*pieces, *MORE]:
        try:
            trace.append(merger.feed(piece))
        except (StreamFormatError, UpstreamError) as exc:
            trace.append(failed.saw(exc))
            if at_error is None:
                at_error = (canon(backend.to_dict(merger.snapshot())), merger.chunks)
    for _ in range(2):
        try:
            merger.finish()
            trace.append("ok")
        except UpstreamError as exc:
            assert failed.exc is None or exc is failed.exc
            trace.append(("UpstreamError", exc.offset, exc.event_index))
        except StreamFormatError as exc:
            trace.append(failed.saw(exc))
    end = (canon(backend.to_dict(merger.snapshot())), merger.chunks)
    if at_error is not None:
        assert end == at_error, "the merger merged after its error"
    trace.append(end)
    return trace


def check_refeed(data: bytes) -> None:
    if len(data) < 2:
        return
    pieces = split(data[2:], data[0])
    options = options_for(data[1], MERGER_OPTIONS)
    _same("refeed trace", refeed(NATIVE, pieces, options), refeed(PYTHON, pieces, options), data)


def merge_counts(backend: ssedelta.Backend, pieces: list[bytes], options: dict[str, int]) -> tuple[Any, ...]:
    merger = backend.DeltaMerger(**options)
    try:
        for piece in pieces:
            merger.feed(piece)
    except (StreamFormatError, UpstreamError):
        pass
    return (merger.chunks, merger.events)


def _same(what: str, native: Any, python: Any, data: bytes) -> None:
    if native != python:
        raise AssertionError(
            f"{what} differs for input {data[:200]!r}...\nnative: {native!r}\npython: {python!r}"
        )


def _same_trace(
    what: str, run: Callable[[ssedelta.Backend, list[bytes], dict[str, int]], Any], data: bytes
) -> None:
    if len(data) < 2:
        return
    pieces = split(data[2:], data[0])
    options = options_for(data[1], SSE_OPTIONS)
    _same(what, run(NATIVE, pieces, options), run(PYTHON, pieces, options), data)


def check_tokenizer(data: bytes) -> None:
    _same_trace("tokenizer trace", tokenize, data)


def check_decoder(data: bytes) -> None:
    _same_trace("decoder trace", decode, data)


def check_merger(data: bytes) -> None:
    if len(data) < 2:
        return
    stream = data[2:]
    pieces = split(stream, data[0])
    options = options_for(data[1], MERGER_OPTIONS)
    native = merge(NATIVE, pieces, options)
    _same("merge outcome", native, merge(PYTHON, pieces, options), data)
    _same("merge outcome (one piece vs pieces)", native[0], merge(NATIVE, [stream], options)[0], data)
    _same("merge counts", merge_counts(NATIVE, pieces, options), merge_counts(PYTHON, pieces, options), data)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "tokenizer": check_tokenizer,
    "decoder": check_decoder,
    "merger": check_merger,
    "refeed": check_refeed,
}

from todict_mutations import check_todict  # noqa: E402  # to_dict on changed models

TARGETS["todict"] = check_todict


def check(target: str, data: bytes) -> None:
    TARGETS[target](data)


def main(argv: list[str]) -> int:
    """``python tests/fuzz/oracle.py TARGET FILE...``: replay saved inputs; exit 1 on a difference."""
    if len(argv) < 2 or argv[0] not in TARGETS:
        print(f"usage: oracle.py {{{','.join(TARGETS)}}} FILE...")
        return 2
    status = 0
    for path in argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            check(argv[0], data)
        except AssertionError as exc:
            print(f"{path}: {exc}")
            status = 1
        else:
            print(f"{path}: same")
    return status


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
