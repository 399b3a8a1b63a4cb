"""A fake OpenAI-compatible upstream on 127.0.0.1 that replays the recorded streams, and a client
transport that keeps the raw bytes the official SDK reads.

The request's ``model`` picks what the upstream answers:

``replay/<name>``  ``tests/data/real/<name>.sse`` as ``text/event-stream``, written in pieces of random
                   sizes (1 to 1500 bytes) with small random pauses (``X-Fake-Seed`` seeds them); with
                   ``X-Fake-Wait-For: N`` nothing is written before N replays are in progress; with
                   ``X-Fake-Die-After: N`` the connection is closed after the first N bytes; with
                   ``X-Fake-Hang-After: N`` nothing more is sent after the first N events (until the client
                   goes away); with ``X-Fake-Endless: 1`` the stream never ends: after its chunks (without
                   ``[DONE]``), content chunks keep coming until the client goes away
``json/<name>``    the expected merged completion of ``<name>`` as a non-streamed ``application/json`` body
                   (gzip-compressed when the request accepts gzip)
``cached/<name>``  the expected merged completion of ``<name>`` streamed again (``replay_sse``)
``sse/raw``        the request's ``x_sse`` field (text) as the ``text/event-stream`` body
``responses/<name>``, ``anthropic/<name>``
                   ``tests/data/<format>/<name>.sse`` as ``text/event-stream``, in pieces of random sizes
                   (1 to 1500 bytes, seeded by the name)
``responses-json/<name>``, ``anthropic-json/<name>``
                   that stream's merged result as a non-streamed ``application/json`` body
``status/<code>``  an OpenAI-style error body with that status
anything else      the request echoed back as JSON: method, path with query, headers, body (base64)
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import random
from typing import Any

import httpx2
from aiohttp import web
from format_streams import body as format_body
from format_streams import reference as format_reference
from gateway_helpers import pieces_from

from real_streams import body, expected, is_upstream_error
from ssedelta import get_backend
from ssedelta.gateway import replay_sse


class FakeUpstream:
    def __init__(self) -> None:
        self.url = ""
        self.received: list[dict[str, Any]] = []
        self.disconnected = 0  # endless or hanging streams whose client went away
        self.in_progress = 0
        self.most_in_progress = 0
        self._gathered = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            {
                "method": request.method,
                "path": request.raw_path,
                "headers": list(request.headers.items()),
                "body": raw,
            }
        )
        model = ""
        fields: dict[str, Any] = {}
        if raw.startswith(b"{"):
            fields = json.loads(raw)
            model = fields.get("model", "")
        kind, _, name = model.partition("/")
        if kind == "replay":
            self.in_progress += 1
            self.most_in_progress = max(self.most_in_progress, self.in_progress)
            try:
                return await self.replay(request, name)
            finally:
                self.in_progress -= 1
        if kind in ("responses", "anthropic"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for piece in pieces_from(format_body(kind, name), random.Random(name), 1500):
                await response.write(piece)
                await asyncio.sleep(0)
            await response.write_eof()
            return response
        if kind in ("responses-json", "anthropic-json"):
            fmt = kind.partition("-")[0]
            result, _ = format_reference(get_backend("python"), fmt, format_body(fmt, name))
            return web.json_response(result.to_dict())
        if kind in ("cached", "sse"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            events = replay_sse(expected(name)) if kind == "cached" else [fields["x_sse"].encode()]
            for event in events:
                await response.write(event)
            await response.write_eof()
            return response
        if kind == "json":
            payload = json.dumps(expected(name)).encode()
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                return web.Response(
                    body=gzip.compress(payload),
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )
            return web.Response(body=payload, content_type="application/json")
        if kind == "status":
            error = {
                "error": {"message": f"fake error {name}", "type": "invalid_request_error", "code": None}
            }
            return web.json_response(error, status=int(name))
        echo = {
            "method": request.method,
            "path": request.raw_path,
            "headers": list(request.headers.items()),
            "body": base64.b64encode(raw).decode(),
        }
        return web.json_response(echo, headers={"X-Fake-Echo": "1", "Set-Cookie": "a=1"})

    async def replay(self, request: web.Request, name: str) -> web.StreamResponse:
        headers = request.headers
        rng = random.Random(headers.get("X-Fake-Seed", "0"))
        data = body(name)
        die_after = int(headers.get("X-Fake-Die-After", "-1"))
        hang_after = int(headers.get("X-Fake-Hang-After", "-1"))
        endless = headers.get("X-Fake-Endless") == "1"
        if die_after >= 0:
            data = data[:die_after]
        if hang_after >= 0:
            data = b"".join(block + b"\n\n" for block in data.split(b"\n\n")[:hang_after])
        if endless:
            data = data[: data.index(b"data: [DONE]")]
        wait_for = int(headers.get("X-Fake-Wait-For", "0"))
        if wait_for:
            if self.in_progress >= wait_for:
                self._gathered.set()
            await self._gathered.wait()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        for piece in pieces_from(data, rng, 1500):
            await response.write(piece)
            if rng.random() < 0.2:
                await asyncio.sleep(rng.random() * 0.002)
        if die_after >= 0:
            assert request.transport is not None
            request.transport.close()
            return response
        if hang_after >= 0 or endless:
            try:
                while True:
                    if endless:
                        await response.write(_content_chunk(rng))
                    await asyncio.sleep(0.001)
            except (asyncio.CancelledError, ConnectionError):
                self.disconnected += 1
                raise
        await response.write_eof()
        return response


def _content_chunk(rng: random.Random) -> bytes:
    chunk = {
        "id": "chatcmpl-endless",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "endless",
        "choices": [{"index": 0, "delta": {"content": rng.choice(["a", " b", "c "])}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def expected_completion(name: str) -> dict[str, Any]:
    """What merging the whole of ``name`` gives (the partial completion for an upstream error)."""
    result = expected(name)
    return result["partial"] if is_upstream_error(result) else result


class _Recorded(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    async def __aiter__(self) -> Any:
        async for part in self._inner:
            self._sink += part
            yield part

    async def aclose(self) -> None:
        await self._inner.aclose()


class RecordingTransport(httpx2.AsyncBaseTransport):
    """The default transport, keeping every request body and every response's raw body bytes, by
    ``X-Request-Id``."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.bodies: dict[str, bytearray] = {}
        self.sent: dict[str, bytes] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent[request.headers.get("X-Request-Id", "")] = await request.aread()
        response = await self._inner.handle_async_request(request)
        sink = self.bodies.setdefault(request.headers.get("X-Request-Id", ""), bytearray())
        response.stream = _Recorded(response.stream, sink)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
