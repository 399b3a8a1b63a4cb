"""The pass-through taps: same pieces out, the merged completion and the stream's state beside them.

Every stream is cut into random pieces; a tap must yield exactly those piece objects, in order, and know
what a merger knows of the bytes it has let through, at any moment, after the end, and when the consumer
or the source stops early. The end hook runs exactly once in every case.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from gateway_helpers import (
    ERROR_STREAMS,
    Closable,
    agen,
    event_pieces,
    final,
    merged,
    random_pieces,
    run,
)

import ssedelta
from real_streams import STREAMS, body, expected
from ssedelta.gateway import AsyncTap, Tap

PLAIN = "openai-python__gpt4o_plain_content_usage"  # role chunk, 59 content chunks, finish, usage


def check_final_state(tap: Tap | AsyncTap, backend: Any, name: str, pieces: list[bytes]) -> None:
    data = body(name)
    reference = backend.DeltaMerger()
    reference.feed(data)
    assert tap.completion.to_dict() == final(name)
    assert tap.nbytes == len(data)
    assert tap.ended and tap.exhausted and tap.complete
    assert not tap.client_disconnected
    assert tap.events == reference.events and tap.chunks == reference.chunks
    assert tap.done_seen == (reference.done and reference.error is None)
    assert (tap.upstream_error is not None) == (name in ERROR_STREAMS)
    usage = final(name).get("usage")
    assert (tap.usage.to_dict() if tap.usage is not None else None) == usage
    assert tap.decode_error is None and tap.transport_error is None


@pytest.mark.parametrize("name", STREAMS)
def test_pieces_pass_unchanged_while_merged(backend: Any, name: str) -> None:
    pieces = random_pieces(body(name), name)
    tap = Tap(pieces, backend=backend)
    out = list(tap)
    assert len(out) == len(pieces)
    assert all(a is b for a, b in zip(out, pieces, strict=True))
    check_final_state(tap, backend, name, pieces)


@pytest.mark.parametrize("name", STREAMS)
def test_async_pieces_pass_unchanged_while_merged(backend: Any, name: str) -> None:
    pieces = random_pieces(body(name), name)

    async def main() -> tuple[list[bytes], AsyncTap]:
        tap = AsyncTap(agen(pieces), backend=backend)
        return [piece async for piece in tap], tap

    out, tap = run(main())
    assert all(a is b for a, b in zip(out, pieces, strict=True)) and len(out) == len(pieces)
    check_final_state(tap, backend, name, pieces)


def test_completion_is_valid_at_every_moment(backend: Any) -> None:
    pieces = random_pieces(body(PLAIN), "moments", largest=40)
    tap = Tap(pieces, backend=backend)
    seen = b""
    content = ""
    for piece in tap:
        seen += piece
        assert tap.completion.to_dict() == merged(backend, seen)
        now = tap.completion.choices[0].message.content if tap.completion.choices else None
        assert (now or "").startswith(content)
        content = now or ""
        assert not tap.ended
    assert tap.ended and content == final(PLAIN)["choices"][0]["message"]["content"]


# The 0-based event at which each stream first carries output (content, refusal, reasoning, a tool or
# function call, audio), found here by reading the JSON of each event.
OUTPUT_KEYS = ("content", "refusal", "tool_calls", "function_call", "audio", "reasoning_content", "reasoning")
# A content list counts when one of its parts holds text (Mistral's thinking parts nest theirs).


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, list):
        return any(_has_text(v) for v in value)
    if isinstance(value, dict):
        return any(_has_text(v) for k, v in value.items() if k not in ("type", "index"))
    return value is not None


def first_output_event(name: str) -> int:
    for i, block in enumerate(body(name).split(b"\n\n")):
        line = next((x for x in block.split(b"\n") if x.startswith(b"data: {")), None)
        if line is None:
            continue
        for choice in json.loads(line[6:]).get("choices") or ():
            delta = choice.get("delta") or {}
            if any(_has_text(delta.get(key)) for key in OUTPUT_KEYS):
                return i
    raise AssertionError(f"{name} never carries output")


@pytest.mark.parametrize(
    "name",
    [
        PLAIN,  # role chunk with content "" first
        "openai-python__gpt4o_refusal",  # refusal "" in the role chunk
        "openai-python__gpt4o_non_strict_tool_call",  # the role chunk carries the tool call
        "pydantic-ai__deepseek_reasoner_reasoning_content",  # reasoning_content "" then "H"
        "openai-dotnet__gpt4o_audio_preview_audio_output",  # audio after the role chunk
        "pydantic-ai__openrouter_claude_reasoning_details",  # keep-alives, then empty reasoning details
        "pydantic-ai__mistral_magistral_thinking_content_list",  # thinking parts in a content list
        "pydantic-ai__groq_gpt_oss_reasoning_tool_call",  # reasoning with a channel
    ],
)
def test_first_content_time_is_taken_at_the_first_output_event(backend: Any, name: str) -> None:
    pieces = [block for block in event_pieces(body(name))]
    at = first_output_event(name)
    calls: list[int] = []
    tap = Tap(pieces, backend=backend, on_first_content=lambda t: calls.append(t.nbytes))
    for i, _ in enumerate(tap):
        assert (tap.first_content_at is not None) == (i >= at)
    assert calls == [sum(len(p) for p in pieces[: at + 1])]
    assert tap.first_content_at is not None and tap.last_event_at is not None and tap.ended_at is not None
    assert tap.started_at <= tap.first_content_at <= tap.last_event_at <= tap.ended_at
    assert tap.time_to_first_content == tap.first_content_at - tap.started_at


def test_started_at_is_the_given_time(backend: Any) -> None:
    tap = Tap(event_pieces(body(PLAIN)), backend=backend, started_at=12.5)
    list(tap)
    assert tap.started_at == 12.5
    assert tap.time_to_first_content == pytest.approx(tap.first_content_at - 12.5)  # type: ignore[operator]


def test_hooks_each_run_once_in_order(backend: Any) -> None:
    calls: list[Any] = []
    tap = Tap(
        random_pieces(body(PLAIN), "hooks"),
        backend=backend,
        on_first_content=lambda t: calls.append(("first", t.done_seen)),
        on_usage=lambda t: calls.append(("usage", t.usage.to_dict())),  # type: ignore[union-attr]
        on_error=lambda t, e: calls.append(("error", e)),
        on_end=lambda t: calls.append(("end", t.done_seen)),
    )
    list(tap)
    assert calls == [("first", False), ("usage", final(PLAIN)["usage"]), ("end", True)]


@pytest.mark.parametrize("name", ERROR_STREAMS)
def test_upstream_error_calls_the_error_hook(backend: Any, name: str) -> None:
    errors: list[BaseException] = []
    ends: list[bool] = []
    tap = Tap(
        random_pieces(body(name), name),
        backend=backend,
        on_error=lambda t, e: errors.append(e),
        on_end=lambda t: ends.append(t.done_seen),
    )
    list(tap)
    assert len(errors) == 1 and isinstance(errors[0], ssedelta.UpstreamError)
    assert errors[0] is tap.upstream_error is tap.error
    assert errors[0].error == expected(name)["error"]
    assert ends == [False]
    assert tap.completion.to_dict() == final(name)


def test_usage_hook_sees_every_new_usage(backend: Any) -> None:
    def chunk(n: int) -> bytes:
        usage = {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}
        obj = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "usage": usage}
        obj["choices"] = [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    seen: list[Any] = []
    pieces = [chunk(1), chunk(2), b"data: [DONE]\n\n"]
    tap = Tap(pieces, backend=backend, on_usage=lambda t: seen.append(t.usage and t.usage.completion_tokens))
    list(tap)
    assert seen == [1, 2]


# ---------------------------------------------------------------- the consumer stops early


def test_consumer_that_breaks_ends_the_tap_with_a_partial_completion(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))
    source = Closable(pieces)
    ends: list[dict[str, Any]] = []
    tap = Tap(source, backend=backend, on_end=lambda t: ends.append(t.completion.to_dict()))
    for i, _ in enumerate(tap):
        if i == 5:
            break
    # The loop dropped its iterator: that closed it (GeneratorExit) and ended the tap.
    assert len(ends) == 1
    assert ends[0] == merged(backend, b"".join(pieces[:6])) == tap.completion.to_dict()
    assert tap.client_disconnected and not tap.done_seen and source.closed
    tap.close()
    assert len(ends) == 1


def test_close_and_context_manager_end_the_tap_once(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))
    ends: list[int] = []
    with Tap(pieces, backend=backend, on_end=lambda t: ends.append(t.chunks)) as tap:
        iterator = iter(tap)
        next(iterator)
        next(iterator)
        tap.close()
        assert ends == [2] and tap.client_disconnected
        assert list(iterator) == []
    assert ends == [2]


def test_closing_before_iterating_still_ends_the_tap(backend: Any) -> None:
    source = Closable(event_pieces(body(PLAIN)))
    ends: list[Any] = []
    tap = Tap(source, backend=backend, on_end=lambda t: ends.append(t.completion.choices))
    tap.close()
    tap.close()
    assert ends == [[]] and tap.client_disconnected and source.closed and source.pulled == 0


def test_consumer_that_stops_after_done_did_not_disconnect(backend: Any) -> None:
    pieces = [*event_pieces(body(PLAIN)), b": trailing comment\n\n"]
    source = Closable(pieces)
    tap = Tap(source, backend=backend)
    for piece in tap:
        if piece == b"data: [DONE]\n\n":
            break
    assert tap.ended and tap.done_seen and not tap.client_disconnected
    assert tap.completion.to_dict() == final(PLAIN)


def test_source_failure_is_reported_and_reraised(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))
    failure = ConnectionResetError("upstream went away")

    def source() -> Iterator[bytes]:
        yield from pieces[:7]
        raise failure

    errors: list[BaseException] = []
    ends: list[int] = []
    hooks = {"on_error": lambda t, e: errors.append(e), "on_end": lambda t: ends.append(1)}
    tap = Tap(source(), backend=backend, **hooks)
    out = []
    with pytest.raises(ConnectionResetError):
        for piece in tap:
            out.append(piece)
    assert out == pieces[:7]
    assert errors == [failure] and tap.transport_error is failure and tap.error is failure
    assert ends == [1] and not tap.client_disconnected and not tap.complete
    assert tap.completion.to_dict() == merged(backend, b"".join(pieces[:7]))


def test_undecodable_bytes_stop_the_merge_not_the_pieces(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))
    pieces.insert(4, b'data: {"choices": [tru\n\n')
    errors: list[BaseException] = []
    tap = Tap(pieces, backend=backend, on_error=lambda t, e: errors.append(e))
    assert list(tap) == pieces
    assert isinstance(tap.decode_error, ssedelta.InvalidJSONError)
    assert errors == [tap.decode_error] and tap.error is tap.decode_error
    assert tap.completion.to_dict() == merged(backend, b"".join(pieces[:4]))
    assert tap.nbytes == sum(len(p) for p in pieces) and not tap.client_disconnected


def test_str_pieces_pass_as_str(backend: Any) -> None:
    text = body(PLAIN).decode()
    pieces = [text[i : i + 50] for i in range(0, len(text), 50)]
    tap = Tap(pieces, backend=backend)  # type: ignore[arg-type]
    assert list(tap) == pieces
    assert tap.completion.to_dict() == final(PLAIN) and tap.nbytes == len(body(PLAIN))


def test_a_given_merger_is_the_one_fed(backend: Any) -> None:
    merger = backend.DeltaMerger(scalar_keys=["reasoning"])
    tap = Tap(event_pieces(body(PLAIN)), merger=merger)
    list(tap)
    assert tap.merger is merger and merger.done


def test_a_tap_is_iterated_once(backend: Any) -> None:
    tap = Tap(event_pieces(body(PLAIN)), backend=backend)
    list(tap)
    with pytest.raises(RuntimeError):
        iter(tap)
    with pytest.raises(RuntimeError):
        tap.iter_events()


def test_sync_tap_refuses_coroutine_hooks(backend: Any) -> None:
    async def hook(tap: Any) -> None:
        pass

    tap = Tap(event_pieces(body(PLAIN)), backend=backend, on_first_content=hook)
    with pytest.raises(TypeError, match="AsyncTap"):
        list(tap)


# ---------------------------------------------------------------- async: cancellation, aclose, drop


def test_cancelled_consumer_still_runs_the_async_end_hook_once(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))

    async def main() -> None:
        stall = asyncio.Event()
        source_closed = []

        async def source() -> AsyncIterator[bytes]:
            try:
                for piece in pieces[:6]:
                    yield piece
                await stall.wait()
            finally:
                source_closed.append(True)

        ends: list[dict[str, Any]] = []
        got: list[bytes] = []

        async def on_end(tap: AsyncTap) -> None:
            await asyncio.sleep(0)
            ends.append(tap.completion.to_dict())

        tap = AsyncTap(source(), backend=backend, on_end=on_end)

        async def consume() -> None:
            async for piece in tap:
                got.append(piece)

        task = asyncio.ensure_future(consume())
        while len(got) < 6:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got == pieces[:6]
        assert len(ends) == 1 and ends[0] == merged(backend, b"".join(pieces[:6]))
        assert tap.client_disconnected and tap.ended and source_closed == [True]
        await tap.aclose()
        assert len(ends) == 1

    run(main())


def test_async_hooks_are_awaited(backend: Any) -> None:
    async def main() -> list[str]:
        calls: list[str] = []

        def note(label: str) -> Any:
            async def hook(tap: AsyncTap) -> None:
                await asyncio.sleep(0)
                calls.append(label)

            return hook

        pieces = agen(event_pieces(body(PLAIN)))
        hooks = {"on_first_content": note("first"), "on_usage": note("usage"), "on_end": note("end")}
        async for _ in AsyncTap(pieces, backend=backend, **hooks):
            pass
        return calls

    assert run(main()) == ["first", "usage", "end"]


def test_async_aclose_before_and_during_iteration(backend: Any) -> None:
    async def main() -> None:
        source = Closable(event_pieces(body(PLAIN)))
        ends: list[int] = []
        tap = AsyncTap(source, backend=backend, on_end=lambda t: ends.append(t.chunks))
        await tap.aclose()
        assert ends == [0] and source.closed and tap.client_disconnected

        source = Closable(event_pieces(body(PLAIN)))
        ends = []
        async with AsyncTap(source, backend=backend, on_end=lambda t: ends.append(t.chunks)) as tap:
            async for _ in tap:
                if tap.chunks == 3:
                    break
        assert ends == [3] and source.closed and tap.client_disconnected

    run(main())


def test_dropped_async_tap_is_ended_by_the_event_loop(backend: Any) -> None:
    async def main() -> None:
        ended = asyncio.Event()
        tap = AsyncTap(agen(event_pieces(body(PLAIN))), backend=backend, on_end=lambda t: ended.set())
        iterator = tap.__aiter__()
        await iterator.__anext__()
        await iterator.__anext__()
        del iterator
        gc.collect()
        await asyncio.wait_for(ended.wait(), 10)
        assert tap.client_disconnected and tap.chunks == 2

    run(main())


def test_async_source_failure_is_reported_and_reraised(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))

    async def source() -> AsyncIterator[bytes]:
        for piece in pieces[:3]:
            yield piece
        raise TimeoutError("read timed out")

    async def main() -> AsyncTap:
        errors: list[BaseException] = []

        async def on_error(tap: AsyncTap, exc: BaseException) -> None:
            errors.append(exc)

        tap = AsyncTap(source(), backend=backend, on_error=on_error)
        with pytest.raises(TimeoutError):
            async for _ in tap:
                pass
        assert len(errors) == 1 and errors[0] is tap.transport_error
        return tap

    tap = run(main())
    assert tap.ended and not tap.client_disconnected
    assert tap.completion.to_dict() == merged(backend, b"".join(pieces[:3]))


def test_async_tap_takes_a_sync_iterable(backend: Any) -> None:
    pieces = random_pieces(body(PLAIN), "sync")

    async def main() -> list[bytes]:
        return [piece async for piece in AsyncTap(pieces, backend=backend)]

    assert run(main()) == pieces
