"""Per-event inspection and rewriting, and encoding chunks back to server-sent events.

``iter_events()`` cuts the stream at event boundaries: joined, the raw segments are the stream byte for
byte, whatever it holds (comments, a BOM, CRLF line ends, bytes after ``[DONE]``, an unterminated
tail); each event that is a chunk comes with the chunk a decoder gives. ``to_sse()`` / ``encode_sse``
write a chunk back in OpenAI's compact form, equal in value to the original JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import orjson
import pytest
from gateway_helpers import ERROR_STREAMS, agen, event_pieces, final, merged, random_pieces, run

import ssedelta
from real_streams import STREAMS, body, expected, line_ends, payloads
from ssedelta.gateway import DONE_EVENT, AsyncTap, Tap, encode_sse

PLAIN = "openai-python__gpt4o_plain_content_usage"


def original_chunks(name: str) -> list[Any]:
    """The JSON of each chunk event as sent, the one carrying an upstream error included."""
    chunks = [json.loads(p) for p in payloads(body(name))]
    if name in ERROR_STREAMS:
        chunks.append({**expected(name)["partial"], "error": expected(name)["error"]})
    return chunks


@pytest.mark.parametrize("name", STREAMS)
def test_events_rebuild_the_stream_and_carry_its_chunks(backend: Any, name: str) -> None:
    data = body(name)
    tap = Tap(random_pieces(data, name, largest=500), backend=backend)
    segments = list(tap.iter_events())
    assert b"".join(raw for raw, _ in segments) == data
    chunks = [(raw, chunk) for raw, chunk in segments if chunk is not None]
    sent = original_chunks(name)
    if name in ERROR_STREAMS:
        assert [c.to_dict() for _, c in chunks[:-1]] == sent[:-1]
        assert chunks[-1][1].to_dict()["error"] == expected(name)["error"]
    else:
        assert [c.to_dict() for _, c in chunks] == sent
    for raw, chunk in chunks:
        try:
            assert backend.ChunkDecoder().feed(raw) == [chunk]
        except ssedelta.UpstreamError as exc:
            assert exc.chunk == chunk
    assert tap.completion.to_dict() == final(name)
    assert tap.nbytes == len(data) and tap.ended and not tap.client_disconnected


def test_async_events(backend: Any) -> None:
    data = body(PLAIN)

    async def main() -> tuple[list[Any], AsyncTap]:
        tap = AsyncTap(agen(random_pieces(data, "async-events")), backend=backend)
        return [segment async for segment in tap.iter_events()], tap

    segments, tap = run(main())
    assert b"".join(raw for raw, _ in segments) == data
    assert [c.to_dict() for _, c in segments if c is not None] == original_chunks(PLAIN)
    assert tap.completion.to_dict() == final(PLAIN) and tap.done_seen


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_every_byte_survives_odd_framing(backend: Any, size: int) -> None:
    lf = body(PLAIN)
    data = (
        b"\xef\xbb\xbf: hello\r\n\r\nretry: 100\r\n\r\n"
        + line_ends(lf, b"\r\n")
        + b"data: after the end\r\n\r\n: tail\r\n"
        + b'data: {"unterminated'
    )
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    segments = list(Tap(pieces, backend=backend).iter_events())
    assert b"".join(raw for raw, _ in segments) == data
    assert [c.to_dict() for _, c in segments if c is not None] == original_chunks(PLAIN)
    # The LF of a CRLF split from its CR may start the next segment instead of ending the last one.
    assert segments[-1][0] in (b': tail\r\ndata: {"unterminated', b'\n: tail\r\ndata: {"unterminated')
    assert segments[-1][1] is None


def test_keep_alives_are_handed_out_before_the_next_event(backend: Any) -> None:
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        yield b": keep-alive\n\n"
        pulled.append(1)
        yield b": keep"
        pulled.append(2)
        yield b"-alive\n\n" + event_pieces(body(PLAIN))[0]

    events = Tap(source(), backend=backend).iter_events()
    assert next(events) == (b": keep-alive\n\n", None) and pulled == []
    assert next(events) == (b": keep-alive\n\n", None) and pulled == [1, 2]
    raw, chunk = next(events)
    assert raw == event_pieces(body(PLAIN))[0]
    assert chunk is not None and chunk.choices[0].delta.role == "assistant"


def test_rewriting_events_leaves_the_tap_reading_the_original(backend: Any) -> None:
    tap = Tap(random_pieces(body(PLAIN), "rewrite"), backend=backend)
    out = []
    for raw, chunk in tap.iter_events():
        if chunk is None or not chunk.choices or chunk.choices[0].delta.content is None:
            out.append(raw)  # pass through
        elif chunk.choices[0].delta.content == "":
            continue  # drop
        else:
            chunk.choices[0].delta.content = chunk.choices[0].delta.content.upper()  # replace
            out.append(chunk.to_sse())
    rewritten = ssedelta.get_backend(backend.name).merge(b"".join(out))
    content = final(PLAIN)["choices"][0]["message"]["content"]
    assert rewritten.choices[0].message.content == content.upper()
    assert tap.completion.choices[0].message.content == content


def test_an_oversized_event_stops_the_merge_and_passes_through(backend: Any) -> None:
    pieces = event_pieces(body(PLAIN))
    big = b'data: {"choices":[],"x":"' + b"y" * 5000 + b'"}\n\n'
    data = b"".join(pieces[:3]) + big + b"".join(pieces[3:])
    tap = Tap(random_pieces(data, "big", largest=700), backend=backend, max_event_size=1024)
    segments = list(tap.iter_events())
    assert b"".join(raw for raw, _ in segments) == data
    assert isinstance(tap.decode_error, ssedelta.EventTooLargeError)
    assert tap.completion.to_dict() == merged(backend, b"".join(pieces[:3]))
    assert sum(chunk is not None for _, chunk in segments) == 3


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize("name", STREAMS)
def test_encoding_a_decoded_chunk_gives_back_its_json(backend: Any, name: str) -> None:
    texts = payloads(body(name))
    chunks = []
    with pytest.raises(ssedelta.UpstreamError) if name in ERROR_STREAMS else nullcontext():
        chunks.extend(backend.iter_chunks(body(name)))
    assert len(chunks) == len(texts)
    for chunk, text in zip(chunks, texts, strict=True):
        event = chunk.to_sse()
        assert event == encode_sse(chunk) == encode_sse(chunk.to_dict())
        assert event.startswith(b"data: ") and event.endswith(b"\n\n")
        payload = event[6:-2]
        assert b"\n" not in payload and b"\r" not in payload
        assert json.loads(payload) == json.loads(text)
        assert payload == orjson.dumps(orjson.loads(payload))  # compact
        decoded = backend.ChunkDecoder().feed(event)
        assert [c.to_dict() for c in decoded] == [json.loads(text)]


def test_encode_sse_forms(backend: Any) -> None:
    assert encode_sse({"a": "é\u2028", "b": [1, 2.5]}) == 'data: {"a":"é\u2028","b":[1,2.5]}\n\n'.encode()
    error = encode_sse({"error": {"message": "boom"}}, event="error")
    assert error == b'event: error\ndata: {"error":{"message":"boom"}}\n\n'
    (event,) = backend.SSEDecoder().feed(error)
    assert event.event == "error" and event.json() == {"error": {"message": "boom"}}
    with pytest.raises(ValueError):
        encode_sse({}, event="a\nb")
    decoder = backend.ChunkDecoder()
    assert decoder.feed(DONE_EVENT) == [] and decoder.done
