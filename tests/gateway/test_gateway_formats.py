"""Taps over Responses and Anthropic streams (and chat, for the detection): the recorded streams of
all three formats pass unchanged, in the format the path or the first event names, and merge as
each format's own merger merges them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from format_streams import PATHS, STREAMS, body, final_usage, has_output_delta, payloads, reference
from gateway_helpers import agen, random_pieces, run

from ssedelta import UpstreamError, Usage, anthropic, responses
from ssedelta.gateway import AsyncTap, Tap, replay_sse
from ssedelta.stream_format import format_of_path, format_of_stream

IDS = [f"{fmt}:{name}" for fmt, name in STREAMS]
NEW_FORMATS = [(fmt, name) for fmt, name in STREAMS if fmt != "chat"]
NEW_IDS = [f"{fmt}:{name}" for fmt, name in NEW_FORMATS]


def tapped(tap: Any) -> bytes:
    return b"".join(tap)


@pytest.mark.parametrize(("fmt", "name"), NEW_FORMATS, ids=NEW_IDS)
def test_tap_merges_each_recorded_stream_as_its_package_does(backend: Any, fmt: str, name: str) -> None:
    data = body(fmt, name)
    pieces = random_pieces(data, name, largest=700)
    errors: list[BaseException] = []
    usages: list[Any] = []
    tap = Tap(
        pieces,
        backend=backend,
        path=PATHS[fmt],
        on_error=lambda t, exc: errors.append(exc),
        on_usage=lambda t: usages.append(t.usage),
    )
    out = list(tap)
    assert out == pieces and all(a is b for a, b in zip(out, pieces, strict=True))
    result, error = reference(backend, fmt, data)
    assert tap.format == fmt
    assert tap.result.to_dict() == result.to_dict() == tap.completion.to_dict()
    assert type(tap.result) is type(result)
    assert tap.nbytes == len(data) and tap.complete and tap.decode_error is None
    if error is None:
        assert tap.upstream_error is None and errors == [] and tap.done_seen
    else:
        assert isinstance(tap.upstream_error, UpstreamError) and tap.upstream_error.error == error.error
        assert errors == [tap.upstream_error] and not tap.done_seen
    raw_usage = final_usage(fmt, data)
    assert (tap.usage.to_dict() if tap.usage is not None else None) == raw_usage
    assert tap.normalized_usage == Usage.of(result)
    if raw_usage is not None:
        assert usages and usages[-1] is not None and usages[-1].to_dict() == raw_usage
    if has_output_delta(fmt, data):
        assert tap.time_to_first_content is not None and tap.time_to_first_content >= 0
    else:
        assert tap.time_to_first_content is None


def test_normalized_usage_reads_the_recorded_counts() -> None:
    """Worked by hand from two recordings' last usage objects."""
    cached = body("responses", "DataDog-dd-trace-py__gpt4o_cached_tokens")
    usage = final_usage("responses", cached)
    assert usage is not None
    tap = Tap([cached])
    list(tap)
    n = tap.normalized_usage
    assert n is not None and n.format == "responses"
    assert (n.input_tokens, n.output_tokens, n.total_tokens) == (
        usage["input_tokens"],
        usage["output_tokens"],
        usage["total_tokens"],
    )
    assert n.cached_input_tokens == usage["input_tokens_details"]["cached_tokens"] > 0
    read = body("anthropic", "traceloop-openllmetry__sonnet35_prompt_cache_read")
    usage = final_usage("anthropic", read)
    assert usage is not None
    tap = Tap([read])
    list(tap)
    n = tap.normalized_usage
    assert n is not None and n.format == "anthropic"
    parts = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    assert n.input_tokens == parts and n.cached_input_tokens == usage["cache_read_input_tokens"] > 0
    assert n.total_tokens == parts + usage["output_tokens"]


@pytest.mark.parametrize(("fmt", "name"), STREAMS, ids=IDS)
def test_format_from_the_first_event_without_a_path(fmt: str, name: str) -> None:
    data = body(fmt, name)
    tap = Tap(random_pieces(data, "first " + name, largest=60))
    assert b"".join(tap) == data
    assert tap.format == fmt
    assert tap.result.to_dict() == reference(tap.backend, fmt, data)[0].to_dict()


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("/v1/chat/completions", "chat"),
        ("/v1/responses", "responses"),
        ("/v1/messages", "anthropic"),
        ("/openai/v1/responses", "responses"),
        ("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "chat"),
        ("/v1/responses/resp_123?stream=true", "responses"),
        ("/anthropic/v1/messages", "anthropic"),
        ("/v1/completions", None),
        ("/v1/threads/thread_1/messages", None),
        ("/", None),
        ("", None),
    ],
)
def test_format_of_path(path: str, fmt: str | None) -> None:
    assert format_of_path(path) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"event: response.created\ndata: {}\n\n", "responses"),
        (b'data: {"type":"response.output_text.delta","delta":"x"}\n\n', "responses"),
        (b"event: ping\ndata: {}\n\n", "anthropic"),
        (b'data: {"type": "message_start", "message": {}}\n\n', "anthropic"),
        (b'data: {"type":"content_block_delta","index":0}\r\n\r\n', "anthropic"),
        (b'data: {"object":"chat.completion.chunk"}\n\n', "chat"),
        (b'data: {"id":"x","choices":[]}\n\n', "chat"),
        (b"data: [DONE]\n\n", "chat"),
        (b': keep-alive\n\nid: 1\n\ndata: {"type":"response.completed"}\n\n', "responses"),
        (b'\xef\xbb\xbfevent: message_start\ndata: {"type":"message_start"}\n\n', "anthropic"),
        (b'data: {"type":"error","sequence_number":1,"error":{}}\n\n', "responses"),
        (b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error"}}\n\n', "anthropic"),
    ],
)
def test_format_of_the_first_event(head: bytes, fmt: str) -> None:
    assert format_of_stream(head) == fmt
    assert format_of_stream(head[:-1]) is None  # the event is not complete yet
    assert format_of_stream(head[:-1], final=True) == fmt


def test_an_event_of_no_known_shape_is_read_as_chat(backend: Any) -> None:
    data = b'data: {"hello": 1}\n\ndata: {"type":"response.created"}\n\n'
    tap = Tap([data], backend=backend)
    assert b"".join(tap) == data and tap.format == "chat"


def test_the_format_option_overrides_the_path_and_the_first_event(backend: Any) -> None:
    data = body("anthropic", "pydantic-pydantic-ai__sonnet45_single_delta_text")
    tap = Tap([data], backend=backend, path="/v1/chat/completions")
    list(tap)
    assert tap.format == "chat"  # the path wins over the first event
    tap = Tap([data], backend=backend, path="/v1/chat/completions", format="anthropic")
    list(tap)
    assert tap.format == "anthropic"
    assert tap.result.to_dict() == anthropic.merge(data).to_dict()
    with pytest.raises(ValueError, match="unknown stream format"):
        Tap([data], format="gemini")
    with pytest.raises(TypeError, match="path"):
        Tap([data], path=b"/v1/messages")  # type: ignore[arg-type]


def test_state_before_the_first_event(backend: Any) -> None:
    data = body("responses", "Mirascope-mirascope__gpt4o_refusal")
    cut = data.index(b"\n\n") - 3
    tap = Tap([b": hello\n\n", data[:cut], data[cut:]], backend=backend)
    iterator = iter(tap)
    next(iterator)
    next(iterator)
    assert tap.format is None and tap.result is None and tap.usage is None and tap.events == 0
    assert tap.nbytes == 9 + cut and tap.completion.to_dict()["choices"] == []
    list(iterator)
    assert tap.format == "responses" and tap.nbytes == len(data) + 9
    assert tap.result.to_dict() == responses.merge(data, backend=backend).to_dict()


def test_a_stream_without_any_event_ends_as_an_empty_chat_completion(backend: Any) -> None:
    tap = Tap([b": keep-alive\n\n", b": keep"], backend=backend)
    list(tap)
    assert tap.format == "chat" and tap.result.to_dict() == backend.DeltaMerger().snapshot().to_dict()


@pytest.mark.parametrize("fmt", ["responses", "anthropic"])
def test_bad_bytes_stop_the_merging_not_the_stream(backend: Any, fmt: str) -> None:
    name = next(n for f, n in NEW_FORMATS if f == fmt and reference(backend, f, body(f, n))[1] is None)
    data = body(fmt, name)
    blocks = data.split(b"\n\n")
    head = b"\n\n".join(blocks[:4]) + b"\n\n"
    broken = head + b"data: {not json\n\n" + data[len(head) :]
    errors: list[BaseException] = []
    tap = Tap(random_pieces(broken, fmt, 50), backend=backend, on_error=lambda t, e: errors.append(e))
    assert b"".join(tap) == broken
    assert tap.decode_error is not None and errors == [tap.decode_error] and tap.upstream_error is None
    package = responses if fmt == "responses" else anthropic
    merger = package.merger_class(backend)()
    merger.feed(head)
    assert tap.result.to_dict() == merger.snapshot().to_dict()
    assert tap.nbytes == len(broken)


@pytest.mark.parametrize(("fmt", "name"), NEW_FORMATS[::4], ids=NEW_IDS[::4])
def test_async_tap(backend: Any, fmt: str, name: str) -> None:
    data = body(fmt, name)
    pieces = random_pieces(data, "async " + name, 400)
    ends: list[Any] = []

    async def main() -> bytes:
        tap = AsyncTap(agen(pieces), backend=backend, on_end=lambda t: ends.append(t.result))
        return b"".join([piece async for piece in tap])

    assert run(main()) == data
    assert len(ends) == 1 and ends[0].to_dict() == reference(backend, fmt, data)[0].to_dict()


@pytest.mark.parametrize(("fmt", "name"), NEW_FORMATS[1::3], ids=NEW_IDS[1::3])
def test_iter_events_hands_out_the_format_s_events(backend: Any, fmt: str, name: str) -> None:
    data = body(fmt, name)
    tap = Tap(random_pieces(data, "events " + name, 300), backend=backend)
    segments = list(tap.iter_events())
    assert b"".join(raw for raw, _ in segments) == data
    events = [event for _, event in segments if event is not None]
    sent = payloads(data)
    assert [e.to_dict() for e in events] == [obj for _, obj in sent][: len(events)]
    assert len(events) >= len(sent) - 1  # at most a last error event is left undecoded


@pytest.mark.parametrize(("fmt", "name"), NEW_FORMATS[::5], ids=NEW_IDS[::5])
def test_replay_sse_streams_each_result_type_again(backend: Any, fmt: str, name: str) -> None:
    result, _ = reference(backend, fmt, body(fmt, name))
    for given in (result, result.to_dict()):
        replayed = b"".join(replay_sse(given, fragment_chars=7))
        tap = Tap([replayed], backend=backend)
        list(tap)
        assert tap.format == fmt
        assert orjson.loads(orjson.dumps(tap.result.to_dict())) == result.to_dict()


def test_memoryview_and_str_pieces_before_the_first_event(backend: Any) -> None:
    data = body("anthropic", "traceloop-openllmetry__sonnet37_thinking")
    views = [memoryview(data[i : i + 3]) for i in range(0, len(data), 3)]
    tap = Tap(views, backend=backend)  # type: ignore[arg-type]
    assert sum(len(piece) for piece in tap) == len(data)
    assert tap.format == "anthropic"
    assert tap.result.to_dict() == reference(backend, "anthropic", data)[0].to_dict()
    text = body("responses", "Mirascope-mirascope__gpt4o_two_messages").decode()
    tap = Tap([text[i : i + 50] for i in range(0, len(text), 50)], backend=backend)  # type: ignore[arg-type]
    list(tap.iter_events())
    assert tap.format == "responses" and tap.nbytes == len(text.encode())
    assert tap.result.to_dict() == reference(backend, "responses", text.encode())[0].to_dict()
