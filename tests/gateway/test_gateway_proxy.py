"""``ssedelta proxy`` end to end over loopback: a fake upstream replaying the recorded streams (real
sockets, random write sizes, small pauses), the proxy, and the official openai SDK as the client.

The client must receive the upstream's bytes unchanged and parse them as usual; the log must hold, per
request, the right merged completion and the right account of what happened (client gone, upstream
broken or reporting an error, proxy shut down).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from gateway_helpers import CLEAN_STREAMS, ERROR_STREAMS, final, merged, run
from gateway_upstream import FakeUpstream, RecordingTransport
from multidict import CIMultiDict

from real_streams import STREAMS, body, expected, payloads
from ssedelta.gateway.proxy import Proxy

PLAIN = "openai-python__gpt4o_plain_content_usage"
MESSAGES = [{"role": "user", "content": "Hi"}]


class Harness:
    def __init__(self, backend: Any, log: Path, **options: Any) -> None:
        self.backend = backend
        self.log = log
        self.options = options
        self.records: dict[str, dict[str, Any]] = {}
        self._arrived: dict[str, asyncio.Event] = {}

    def _on_record(self, record: dict[str, Any]) -> None:
        self.records[record["id"]] = record
        self._arrived.setdefault(record["id"], asyncio.Event()).set()

    async def record(self, request_id: str) -> dict[str, Any]:
        """The log line of ``request_id``, once the proxy has written it."""
        await self._arrived.setdefault(request_id, asyncio.Event()).wait()
        return self.records[request_id]

    def log_lines(self) -> dict[str, dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return {line["id"]: line for line in lines}


@asynccontextmanager
async def harness(
    backend: Any, tmp_path: Path, upstream: str | None = None, **options: Any
) -> AsyncIterator[Any]:
    h = Harness(backend, tmp_path / "proxy.jsonl", **options)
    h.upstream = FakeUpstream()
    await h.upstream.start()
    shutdown_timeout = options.pop("shutdown_timeout", 5.0)
    h.proxy = Proxy(upstream or h.upstream.url, h.log, backend=backend, on_record=h._on_record, **options)
    h.url = await h.proxy.start(shutdown_timeout=shutdown_timeout)
    h.transport = RecordingTransport()
    h.http = httpx2.AsyncClient(transport=h.transport, timeout=20)
    h.client = openai.AsyncOpenAI(
        base_url=h.url + "/v1", api_key="sk-test", max_retries=0, http_client=h.http
    )
    try:
        yield h
    finally:
        await h.client.close()
        await h.proxy.close()
        await h.upstream.close()


async def sdk_stream(
    h: Any, model: str, request_id: str, stop_after: int | None = None, **headers: str
) -> list[Any]:
    """Stream ``model`` with the SDK, reading every chunk (or ``stop_after`` chunks, then closing);
    ``X_Fake_Seed="1"`` sends the header ``X-Fake-Seed: 1``."""
    extra = {"X-Request-Id": request_id, **{k.replace("_", "-"): v for k, v in headers.items()}}
    stream = await h.client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, extra_headers=extra
    )
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
        if stop_after is not None and len(chunks) == stop_after:
            await stream.close()
            break
    return chunks


async def raw_post(h: Any, model: str, request_id: str, **headers: str) -> tuple[int, httpx2.Headers, bytes]:
    """POST a streaming request with plain httpx and read the whole response body as it comes."""
    request = {"model": model, "messages": MESSAGES, "stream": True}
    extra = {"X-Request-Id": request_id, **{k.replace("_", "-"): v for k, v in headers.items()}}
    async with (
        httpx2.AsyncClient(timeout=20) as client,
        client.stream("POST", h.url + "/v1/chat/completions", json=request, headers=extra) as response,
    ):
        data = b"".join([piece async for piece in response.aiter_raw()])
        return response.status_code, response.headers, data


def reference(backend: Any, data: bytes) -> Any:
    merger = backend.DeltaMerger()
    merger.feed(data)
    return merger


def check_stream_record(h: Any, record: dict[str, Any], name: str, request_id: str) -> None:
    data = body(name)
    ref = reference(h.backend, data)
    assert record["id"] == request_id
    assert (record["method"], record["path"], record["status"]) == ("POST", "/v1/chat/completions", 200)
    assert record["model"] == "replay/" + name and record["stream"] is True
    assert record["completion"] == final(name)
    assert record["usage"] == final(name).get("usage")
    assert record["done_seen"] == (bool(ref.done) and ref.error is None)
    assert record["events"] == ref.events
    assert record["bytes_in"] == record["bytes_out"] == len(data)
    assert record["client_disconnected"] is False and record["proxy_error"] is None
    if name in ERROR_STREAMS:
        assert record["upstream_error"] == str(ref.error) and record["upstream_error"]
    else:
        assert record["upstream_error"] is None
    assert record["ttft_ms"] is not None and 0 <= record["ttft_ms"] <= record["total_ms"]
    assert record["request_bytes"] == len(h.transport.sent[request_id])


def test_every_recorded_stream_through_the_proxy(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            limit = asyncio.Semaphore(8)

            async def one(name: str) -> None:
                async with limit:
                    request_id = f"sdk-{name}"
                    if name in ERROR_STREAMS:
                        with pytest.raises(openai.APIError) as raised:
                            await sdk_stream(h, "replay/" + name, request_id, X_Fake_Seed=name)
                        assert raised.value.message == str(reference(backend, body(name)).error)
                        # The SDK stops at the error event: read the rest with plain httpx too.
                        status, _, data = await raw_post(h, "replay/" + name, f"raw-{name}")
                        assert status == 200 and data == body(name)
                        assert body(name).startswith(bytes(h.transport.bodies[request_id]))
                    else:
                        chunks = await sdk_stream(h, "replay/" + name, request_id, X_Fake_Seed=name)
                        assert len(chunks) == len(payloads(body(name)))
                        assert bytes(h.transport.bodies[request_id]) == body(name)
                    check_stream_record(h, await h.record(request_id), name, request_id)

            await asyncio.gather(*(one(name) for name in STREAMS))
            # What the upstream got is what the client sent, asking for an uncompressed stream.
            for received in h.upstream.received:
                request_id = CIMultiDict(received["headers"])["X-Request-Id"]
                if request_id.startswith("sdk-"):
                    assert received["body"] == h.transport.sent[request_id]
                    headers = CIMultiDict(received["headers"])
                    assert headers["Authorization"] == "Bearer sk-test"
                    assert headers["Accept-Encoding"] == "identity"
        # Every line of the log file, as written.
        lines = h.log_lines()
        assert len(lines) == len(STREAMS) + len(ERROR_STREAMS)
        for name in STREAMS:
            assert lines[f"sdk-{name}"] == h.records[f"sdk-{name}"]

    run(main())


def test_fifty_simultaneous_streams(backend: Any, tmp_path: Path) -> None:
    names = [CLEAN_STREAMS[i % len(CLEAN_STREAMS)] for i in range(50)]

    async def main() -> None:
        async with harness(backend, tmp_path) as h:

            async def one(i: int, name: str) -> None:
                request_id = f"c{i}"
                chunks = await sdk_stream(
                    h, "replay/" + name, request_id, X_Fake_Seed=str(i), X_Fake_Wait_For="50"
                )
                assert len(chunks) == len(payloads(body(name)))
                assert bytes(h.transport.bodies[request_id]) == body(name)

            await asyncio.gather(*(one(i, name) for i, name in enumerate(names)))
            assert h.upstream.most_in_progress == 50
            for i, name in enumerate(names):
                check_stream_record(h, await h.record(f"c{i}"), name, f"c{i}")
        assert len(h.log_lines()) == 50

    run(main())


def test_client_disconnect_while_the_upstream_waits(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            chunks = await sdk_stream(h, "replay/" + PLAIN, "gone", stop_after=10, X_Fake_Hang_After="10")
            assert len(chunks) == 10
            record = await h.record("gone")
            sent = b"".join(block + b"\n\n" for block in body(PLAIN).split(b"\n\n")[:10])
            assert record["client_disconnected"] is True and record["done_seen"] is False
            assert record["completion"] == merged(backend, sent)
            assert record["bytes_in"] == record["bytes_out"] == len(sent)
            assert record["upstream_error"] is None and record["usage"] is None
            while not h.upstream.disconnected:  # the proxy let go of the upstream too
                await asyncio.sleep(0.01)

    run(main())


def test_client_disconnect_while_streaming(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            chunks = await sdk_stream(h, "replay/" + PLAIN, "left", stop_after=80, X_Fake_Endless="1")
            received = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            record = await h.record("left")
            assert record["client_disconnected"] is True and record["done_seen"] is False
            content = record["completion"]["choices"][0]["message"]["content"]
            assert content.startswith(final(PLAIN)["choices"][0]["message"]["content"])
            assert content.startswith(received) and len(content) >= len(received)
            assert record["bytes_out"] <= record["bytes_in"]
            while not h.upstream.disconnected:
                await asyncio.sleep(0.01)

    run(main())


def test_upstream_dying_mid_stream(backend: Any, tmp_path: Path) -> None:
    cut = len(body(PLAIN)) // 2 + 7  # inside an event

    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            with pytest.raises(openai.APIConnectionError):
                await sdk_stream(h, "replay/" + PLAIN, "died", X_Fake_Die_After=str(cut))
            assert bytes(h.transport.bodies["died"]) == body(PLAIN)[:cut]
            record = await h.record("died")
            assert record["upstream_error"] and "Payload" in record["upstream_error"]
            assert record["client_disconnected"] is False and record["done_seen"] is False
            assert record["bytes_in"] == record["bytes_out"] == cut
            assert record["completion"] == merged(backend, body(PLAIN)[:cut])
            # The proxy keeps working.
            assert len(await sdk_stream(h, "replay/" + PLAIN, "after")) == len(payloads(body(PLAIN)))

    run(main())


def test_upstream_error_event(backend: Any, tmp_path: Path) -> None:
    name = "pydantic-ai__groq_gpt_oss_event_error_tool_use_failed"

    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            with pytest.raises(openai.APIError) as raised:
                await sdk_stream(h, "replay/" + name, "error")
            record = await h.record("error")
            assert record["upstream_error"] == raised.value.message == expected(name)["error"]["message"]
            assert record["completion"] == expected(name)["partial"]
            assert record["done_seen"] is False and record["client_disconnected"] is False

    run(main())


def test_non_streamed_completion_passes_untouched(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            completion = await h.client.chat.completions.create(
                model="json/" + PLAIN, messages=MESSAGES, extra_headers={"X-Request-Id": "plain"}
            )
            wanted = expected(PLAIN)["choices"][0]["message"]["content"]
            assert completion.choices[0].message.content == wanted
            record = await h.record("plain")
            assert record["stream"] is False and record["status"] == 200
            assert record["completion"] == expected(PLAIN) and record["usage"] == expected(PLAIN)["usage"]
            assert record["ttft_ms"] is None and record["events"] == 0
            # The client asked for gzip: the upstream got that request and its gzip body went back as is.
            headers = CIMultiDict(h.upstream.received[-1]["headers"])
            assert "gzip" in headers["Accept-Encoding"]
            async with httpx2.AsyncClient() as client:
                request = {"model": "json/" + PLAIN, "messages": MESSAGES}
                response = await client.post(h.url + "/v1/chat/completions", json=request)
                assert response.headers["Content-Encoding"] == "gzip"
                assert record["bytes_out"] == int(response.headers["Content-Length"])
                assert response.json() == expected(PLAIN)

    run(main())


def test_error_status_passes_untouched(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            with pytest.raises(openai.RateLimitError) as raised:
                await sdk_stream(h, "status/429", "limited")
            assert raised.value.status_code == 429 and raised.value.message.endswith("fake error 429")
            record = await h.record("limited")
            assert record["status"] == 429 and record["upstream_error"] == "fake error 429"
            assert record["stream"] is False and record["completion"] is None

    run(main())


def test_requests_are_forwarded_unchanged(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            payload = b"\x00\x01 not JSON \xff"
            headers = {
                "X-Request-Id": "echo",
                "Authorization": "Bearer sk-x",
                "X-Custom": "a, b",
                "Content-Type": "application/octet-stream",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "dropped",
                "Accept-Encoding": "br",
            }
            async with httpx2.AsyncClient() as client:
                response = await client.post(
                    h.url + "/v1/files/x?q=a%20b&s=%2F&q=2", content=payload, headers=headers
                )
                echo = response.json()
                assert response.headers["X-Fake-Echo"] == "1" and response.headers["Set-Cookie"] == "a=1"
                got = CIMultiDict(echo["headers"])
                assert echo["method"] == "POST" and echo["path"] == "/v1/files/x?q=a%20b&s=%2F&q=2"
                assert base64.b64decode(echo["body"]) == payload
                for name in ("Authorization", "X-Custom", "Content-Type", "Accept-Encoding"):
                    assert got[name] == headers[name]
                assert "X-Hop" not in got and got["Host"] == h.upstream.url.removeprefix("http://")
                assert got["Content-Length"] == str(len(payload))
                for method in ("GET", "DELETE"):
                    response = await client.request(
                        method, h.url + "/v1/models?limit=2", headers={"X-Request-Id": method}
                    )
                    echo = response.json()
                    assert (echo["method"], echo["path"], echo["body"]) == (method, "/v1/models?limit=2", "")
            record = await h.record("echo")
            summary = (record["method"], record["path"], record["status"], record["model"])
            assert summary == ("POST", "/v1/files/x", 200, None)
            assert record["request_bytes"] == len(payload) and record["stream"] is False
            assert (await h.record("GET"))["request_bytes"] == 0

    run(main())


def test_an_upstream_path_prefix_is_kept(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        upstream = FakeUpstream()
        await upstream.start()
        try:
            async with harness(backend, tmp_path, upstream=upstream.url + "/openai/") as h:
                async with httpx2.AsyncClient() as client:
                    echo = (await client.get(h.url + "/v1/models")).json()
                assert echo["path"] == "/openai/v1/models"
        finally:
            await upstream.close()

    run(main())


def test_broken_requests_leave_the_proxy_working(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path, max_request_size=4096) as h:
            # Not HTTP at all.
            reader, writer = await asyncio.open_connection("127.0.0.1", int(h.url.rsplit(":", 1)[1]))
            writer.write(b"\x16\x03\x01 definitely not HTTP\r\n\r\n")
            assert (await reader.read(12))[8:] == b" 400"
            writer.close()
            # Too large a body.
            async with httpx2.AsyncClient() as client:
                response = await client.post(
                    h.url + "/v1/chat/completions", content=b"x" * 5000, headers={"X-Request-Id": "big"}
                )
                assert response.status_code == 413 and response.json()["error"]["type"] == "proxy_error"
            assert (await h.record("big"))["proxy_error"]
            # A stream that cannot be decoded still passes through, and is logged as broken.
            bad = (
                'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n'
                'data: {"choices": nope}\n\n'
                "data: [DONE]\n\n"
            )
            async with httpx2.AsyncClient() as client:
                request = {"model": "sse/raw", "stream": True, "messages": MESSAGES, "x_sse": bad}
                response = await client.post(
                    h.url + "/v1/chat/completions", json=request, headers={"X-Request-Id": "bad"}
                )
                assert response.content == bad.encode()
            record = await h.record("bad")
            assert "invalid JSON" in record["upstream_error"] and record["done_seen"] is False
            assert record["completion"]["choices"][0]["message"]["content"] == "ok"
            # And a normal stream after all that.
            assert len(await sdk_stream(h, "replay/" + PLAIN, "fine")) == len(payloads(body(PLAIN)))
            check_stream_record(h, await h.record("fine"), PLAIN, "fine")

    run(main())


def test_unreachable_upstream_gives_502(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with harness(backend, tmp_path, upstream=f"http://127.0.0.1:{port}") as h:
            with pytest.raises(openai.APIStatusError) as raised:
                await sdk_stream(h, "replay/" + PLAIN, "nowhere")
            assert raised.value.status_code == 502
            record = await h.record("nowhere")
            assert record["status"] == 502 and "Connect" in record["upstream_error"]

    run(main())


def test_shutdown_with_a_stream_in_flight(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path, shutdown_timeout=0.2) as h:
            stream = await h.client.chat.completions.create(
                model="replay/" + PLAIN,
                messages=MESSAGES,
                stream=True,
                extra_headers={"X-Request-Id": "inflight", "X-Fake-Hang-After": "5"},
            )
            got = [await stream.__anext__() for _ in range(5)]
            await h.proxy.close()
            record = await h.record("inflight")
            assert record["proxy_error"] and record["client_disconnected"] is False
            first_five = b"".join(block + b"\n\n" for block in body(PLAIN).split(b"\n\n")[:5])
            assert record["completion"] == merged(backend, first_five)
            assert len(got) == 5
            with pytest.raises(openai.APIConnectionError):
                async for _ in stream:
                    pass
            assert h.log_lines()["inflight"] == record
            with pytest.raises(httpx2.ConnectError):
                async with httpx2.AsyncClient() as client:
                    await client.get(h.url + "/v1/models")

    run(main())


def test_blind_forwarding(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path, tap=False) as h:
            assert len(await sdk_stream(h, "replay/" + PLAIN, "blind")) == len(payloads(body(PLAIN)))
            assert bytes(h.transport.bodies["blind"]) == body(PLAIN)
            record = await h.record("blind")
            assert record["stream"] is True and record["completion"] is None
            assert record["bytes_in"] == record["bytes_out"] == len(body(PLAIN))

    run(main())


def test_a_cached_completion_served_as_a_stream(backend: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            for name in CLEAN_STREAMS:
                chunks = await sdk_stream(h, "cached/" + name, f"cached-{name}")
                record = await h.record(f"cached-{name}")
                assert record["completion"] == expected(name) and record["done_seen"] is True
                for choice in expected(name)["choices"]:
                    deltas = [
                        c.choices[0].delta
                        for c in chunks
                        if c.choices and c.choices[0].index == choice["index"]
                    ]
                    text = "".join(d.content for d in deltas if isinstance(d.content, str))
                    assert text == (choice["message"]["content"] or "")

    run(main())
