"""A logging reverse proxy for OpenAI-compatible and Anthropic APIs, on aiohttp (``ssedelta proxy``).

Every request goes to the upstream as it came: method, path and query (appended to the upstream
URL's path), headers and body. Only these change: hop-by-hop headers are dropped, ``Host`` names
the upstream, and a request whose JSON body asks for a stream (``"stream": true``) is sent with
``Accept-Encoding: identity``, so that the stream comes back in a form the proxy can read.

Responses go back as the upstream sent them (status, headers, body bytes), piece by piece as they
arrive. A ``text/event-stream`` body goes through the tap: what :class:`~ssedelta.gateway.AsyncTap`
does (in the format the request path names, else the first event), without its iterator layer,
and with the pieces after the first content merged 16 KiB at a time (the log is written at the
end; the time to first content is taken as it arrives). Any other body passes untouched.
When the upstream connection breaks mid-body, the client's connection is closed the same way,
after the bytes that did arrive.

One JSON line per request goes to the log (see :class:`Exchange` for the fields).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import IO, Any

import aiohttp
from aiohttp import web
from yarl import URL

from .. import stream_format as sf
from .._backend import Backend
from ..errors import UpstreamError
from ..usage import Usage
from ._http import inspect_request, is_event_stream, json_body, request_headers, response_headers
from ._observer import StreamObserver, resolve_backend
from .log import RequestLog

__all__ = ["Exchange", "Proxy", "serve"]

#: Headers aiohttp would add to the upstream request when the client did not send them.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


@dataclass
class Exchange:
    """One request through the proxy: what its log line says.

    ``format`` is the stream format (``chat``, ``responses`` or ``anthropic``: from the request
    path, else from the first event; for a non-streamed body, from its shape). ``completion`` is
    the merged result of a stream as a dict (a chat completion, a Responses ``response``, an
    Anthropic ``message``; partial when the stream was cut), or the JSON body of a non-streamed
    one; ``usage`` its usage as the format has it, ``normalized_usage`` the same normalised
    across formats (``ssedelta.Usage.to_dict()``: ``format``, ``input_tokens``,
    ``output_tokens``, ``cached_input_tokens``, ``cache_write_input_tokens``,
    ``reasoning_tokens``, ``total_tokens``). ``ttft_ms`` is the
    time from the request's arrival to the first event that carried output, ``total_ms`` to the
    end of the response. ``request_bytes`` is the size of the request body, ``bytes_in`` what
    the upstream sent of the response body, ``bytes_out`` what was written to the client.
    ``client_disconnected``: the client went away before the response was complete.
    ``upstream_error``: the error the upstream reported (in the stream or as an error status)
    or why talking to it failed; ``proxy_error``: what the proxy itself could not do.
    """

    id: str
    time: str
    method: str
    path: str
    model: str | None = None
    status: int | None = None
    stream: bool = False
    format: str | None = None
    completion: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    normalized_usage: dict[str, Any] | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    request_bytes: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    done_seen: bool = False
    events: int = 0
    client_disconnected: bool = False
    upstream_error: str | None = None
    proxy_error: str | None = None
    #: Whether the response reached its end (not logged: ``client_disconnected`` says it).
    complete: bool = field(default=False, repr=False, metadata={"logged": False})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("logged", True)}


class Proxy:
    """The proxy: ``await proxy.start(host, port)``, then ``await proxy.close()``.

    ``upstream`` is the base URL requests are sent to (``https://api.openai.com``; a path in it
    is kept as a prefix). ``log`` is where the JSON lines go: a path (appended to), ``"-"`` for
    standard output, a binary file object, a :class:`RequestLog`, or ``None``; ``on_record`` is
    also called with each line's dict. ``tap=False`` forwards streams without reading them (the
    log then has no completion). ``read_timeout`` bounds the wait for each piece of a response,
    ``max_request_size`` the request bodies accepted, ``log_body_limit`` the non-streamed
    response bodies kept aside to log their completion or error, ``max_connections`` the
    connections open to the upstream at once (0: no limit). WebSocket upgrades are not proxied.
    """

    def __init__(
        self,
        upstream: str,
        log: str | os.PathLike[str] | IO[bytes] | RequestLog | None = None,
        *,
        backend: Backend | str | None = None,
        tap: bool = True,
        on_record: Callable[[dict[str, Any]], object] | None = None,
        connect_timeout: float = 30.0,
        read_timeout: float = 600.0,
        max_request_size: int = 64 * 1024 * 1024,
        log_body_limit: int = 8 * 1024 * 1024,
        max_connections: int = 0,
    ) -> None:
        base = URL(upstream)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"the upstream must be an http:// or https:// URL, not {upstream!r}")
        self.upstream = str(base.with_query(None).with_fragment(None)).rstrip("/")
        self.backend = resolve_backend(backend)
        self.tap = tap
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_request_size = max_request_size
        self.log_body_limit = log_body_limit
        self.max_connections = max_connections
        self._on_record = on_record
        self._log: RequestLog | None
        if log is None or isinstance(log, RequestLog):
            self._log, self._owns_log = log, False
        else:
            self._log, self._owns_log = RequestLog(log), True
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._shutdown_timeout = 10.0
        self._in_flight: set[asyncio.Task[Any]] = set()
        #: The proxy's own base URL, once started.
        self.url: str | None = None

    # -- life cycle

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_request_size)
        app.router.add_route("*", "/{path:.*}", self.handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, shutdown_timeout: float = 10.0) -> str:
        """Listen on ``host:port`` (``port=0``: any free port); returns the proxy's base URL.

        On :meth:`close`, requests in flight get ``shutdown_timeout`` seconds to finish."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self.connect_timeout, sock_read=self.read_timeout
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._shutdown_timeout = shutdown_timeout
        self._runner = web.AppRunner(
            self.app(), handler_cancellation=True, access_log=None, shutdown_timeout=shutdown_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def close(self) -> None:
        """Stop listening, give requests in flight the ``shutdown_timeout`` of :meth:`start` to
        finish, cancel the others (each is logged), close the log."""
        self._closing = True
        try:
            if self._runner is not None:
                for site in list(self._runner.sites):
                    await site.stop()
                if self._in_flight:
                    await asyncio.wait(set(self._in_flight), timeout=self._shutdown_timeout)
                for task in set(self._in_flight):
                    task.cancel()
                if self._in_flight:
                    await asyncio.wait(set(self._in_flight), timeout=self._shutdown_timeout)
                await self._runner.cleanup()
            if self._session is not None:
                await self._session.close()
        finally:
            if self._owns_log and self._log is not None:
                self._log.close()

    async def __aenter__(self) -> Proxy:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- one request

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        exchange = Exchange(
            id=request.headers.get("X-Request-Id") or uuid.uuid4().hex,
            time=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            method=request.method,
            path=request.path,
        )
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await self._exchange(request, exchange, started)
        except asyncio.CancelledError:
            if self._closing:
                exchange.client_disconnected = False
                exchange.proxy_error = "the proxy shut down before the response ended"
            elif not exchange.complete:
                exchange.client_disconnected = True
            raise
        finally:
            self._in_flight.discard(task)
            exchange.total_ms = _ms(time.monotonic() - started)
            self._record(exchange)

    async def _exchange(self, request: web.Request, exchange: Exchange, started: float) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            exchange.status = 413
            exchange.proxy_error = f"request body larger than {self.max_request_size} bytes"
            return _error_response(413, exchange.proxy_error)
        exchange.request_bytes = len(body)
        exchange.model, wants_stream = inspect_request(body)
        assert self._session is not None, "the proxy is not started"
        try:
            upstream = await self._session.request(
                request.method,
                URL(self.upstream + request.raw_path, encoded=True),
                headers=request_headers(request.headers, identity=wants_stream),
                data=body if body else None,
                allow_redirects=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            exchange.status = 502
            exchange.upstream_error = _describe(exc)
            return _error_response(502, f"the upstream request failed: {exchange.upstream_error}")
        async with upstream:
            exchange.status = upstream.status
            response = web.StreamResponse(
                status=upstream.status, reason=upstream.reason, headers=response_headers(upstream.headers)
            )
            try:
                await response.prepare(request)
            except ConnectionError:
                exchange.client_disconnected = True
                return response
            observer = None
            if is_event_stream(upstream.headers):
                exchange.stream = True
                if self.tap:
                    observer = StreamObserver(self.backend, started_at=started, path=request.path)
                    observer.track_usage = False
            try:
                await self._relay(request, upstream, response, exchange, observer)
            finally:
                if observer is not None:
                    _log_stream(exchange, observer, started)
            return response

    async def _relay(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        response: web.StreamResponse,
        exchange: Exchange,
        observer: StreamObserver | None,
    ) -> None:
        """Write the upstream's body to the client piece by piece as it arrives; an event stream
        goes through ``observer``, a non-streamed body is kept aside (up to ``log_body_limit``)."""
        observe = observer.observe_batched if observer is not None else None
        kept: bytearray | None = bytearray() if not exchange.stream else None
        limit = self.log_body_limit
        try:
            async for piece in upstream.content.iter_any():
                if observe is not None:
                    observe(piece)
                else:
                    exchange.bytes_in += len(piece)
                    if kept is not None:
                        if len(kept) + len(piece) <= limit:
                            kept += piece
                        else:
                            kept = None
                try:
                    await response.write(piece)
                except ConnectionError:
                    exchange.client_disconnected = True
                    return
                exchange.bytes_out += len(piece)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            if observer is not None:
                observer.source_failed(exc)
            exchange.upstream_error = _describe(exc)
            _abort(request)
            return
        exchange.complete = True
        if observer is not None:
            observer.exhausted = True
        if kept is not None:
            _log_body(exchange, json_body(bytes(kept), upstream.headers))
        if exchange.upstream_error is None and upstream.status >= 400:
            exchange.upstream_error = f"HTTP {upstream.status} {upstream.reason or ''}".rstrip()

    def _record(self, exchange: Exchange) -> None:
        record = exchange.as_dict()
        if self._log is not None:
            self._log.write(record)
        if self._on_record is not None:
            self._on_record(record)


async def serve(
    upstream: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    log: str | os.PathLike[str] | IO[bytes] | RequestLog | None = "-",
    *,
    shutdown_timeout: float = 10.0,
    ready: Callable[[str], object] | None = None,
    **options: Any,
) -> None:
    """Run a :class:`Proxy` until SIGINT or SIGTERM, then shut it down cleanly.

    ``ready`` is called with the proxy's URL once it listens; ``options`` go to :class:`Proxy`.
    """
    proxy = Proxy(upstream, log, **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows' loops
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        url = await proxy.start(host, port, shutdown_timeout=shutdown_timeout)
        if ready is not None:
            ready(url)
        await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        await proxy.close()


def _log_stream(exchange: Exchange, observer: StreamObserver, started: float) -> None:
    observer.finish()
    exchange.complete = observer.complete
    exchange.client_disconnected = observer.client_disconnected
    exchange.bytes_in = observer.nbytes
    exchange.done_seen = observer.done_seen
    exchange.events = observer.events
    exchange.format = observer.format
    result = observer.result
    exchange.completion = result.to_dict()
    usage = exchange.completion.get("usage")
    exchange.usage = usage if isinstance(usage, dict) else None
    normalized = Usage.of(result)
    exchange.normalized_usage = normalized.to_dict() if normalized is not None else None
    if observer.first_content_at is not None:
        exchange.ttft_ms = _ms(observer.first_content_at - started)
    error = observer.error
    if error is not None:
        exchange.upstream_error = _describe(error)


def _log_body(exchange: Exchange, body: Any) -> None:
    if not isinstance(body, dict):
        return
    if exchange.status is not None and exchange.status >= 400:
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str) and message:
            exchange.upstream_error = message
    else:
        fmt = sf.format_of_body(body)
        if fmt is None:
            return
        exchange.format = fmt
        exchange.completion = body
        usage = body.get("usage")
        exchange.usage = usage if isinstance(usage, dict) else None
        normalized = sf.usage_of_body(fmt, body)
        exchange.normalized_usage = normalized.to_dict() if normalized is not None else None


def _abort(request: web.Request) -> None:
    """Close the client's connection after what was written: the client sees the body cut, as
    the proxy did."""
    transport = request.transport
    if transport is not None:
        transport.close()


def _error_response(status: int, message: str) -> web.Response:
    error = {"error": {"message": message, "type": "proxy_error", "code": None, "param": None}}
    return web.json_response(error, status=status)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UpstreamError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
