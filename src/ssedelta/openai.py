"""The official ``openai`` client as the transport, ssedelta as the decoder (the ``openai`` extra).

>>> from ssedelta.openai import stream_chat
>>> with stream_chat(client, model="gpt-4o", messages=msgs) as stream:     # doctest: +SKIP
...     for chunk in stream:
...         print(chunk.choices[0].delta.content or "", end="")
...     completion = stream.get_final_completion()

The request goes through the client's own path (``chat.completions.with_streaming_response.create``),
so ``base_url``, authentication, Azure, retries, timeouts, ``extra_headers`` and the SDK's HTTP errors
(:class:`openai.APIStatusError` and its subclasses, raised when the ``with`` block is entered) are the
client's. The response body is read as raw bytes and decoded once, by ssedelta: iterating gives
ssedelta's chunk objects (the SDK's attribute names), and the same bytes are merged as they arrive.

An error the upstream reports inside the stream raises :class:`ssedelta.UpstreamError` (with ``.partial``,
the completion merged so far) after the chunks before it; bad bytes raise ssedelta's stream errors, and
a body without a single event (a JSON answer from a server that ignored ``stream``) a
:class:`ssedelta.StreamFormatError`. A
connection dropped mid-stream raises :class:`openai.APIConnectionError` (a read that times out
:class:`openai.APITimeoutError`), the HTTP client's error as its ``__cause__``, as the SDK's own stream
does. The response is closed when the ``with`` block is left, however it is left.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from importlib import import_module
from typing import Any, NoReturn

try:
    import openai
except ImportError as exc:  # pragma: no cover  # the test environment has the SDK
    raise ImportError(
        "ssedelta.openai needs the official openai client: pip install 'ssedelta[openai]'"
    ) from exc

from ._backend import Backend, get_backend, selected
from .chat import models as m
from .chat._usage import chat_usage
from .errors import SSEDeltaError, StreamFormatError, UpstreamError
from .usage import Usage

__all__ = ["AsyncChatStream", "ChatStream", "astream_chat", "stream_chat"]


@contextlib.contextmanager
def stream_chat(
    client: openai.OpenAI, *, backend: str | Backend | None = None, **create_kwargs: Any
) -> Iterator[ChatStream]:
    """A streamed chat completion through ``client`` (``openai.OpenAI`` or ``openai.AzureOpenAI``).

    ``create_kwargs`` are those of ``client.chat.completions.create`` (``stream=True`` is set here);
    ``backend`` (``"native"``, ``"python"`` or a :class:`ssedelta.Backend`) defaults to the one
    ``import ssedelta`` selected.
    """
    _set_stream(create_kwargs)
    decode = _resolve(backend)
    with client.chat.completions.with_streaming_response.create(**create_kwargs) as response:
        stream = ChatStream(response.http_response, decode)
        try:
            yield stream
        finally:
            stream.close()


@contextlib.asynccontextmanager
async def astream_chat(
    client: openai.AsyncOpenAI, *, backend: str | Backend | None = None, **create_kwargs: Any
) -> AsyncIterator[AsyncChatStream]:
    """:func:`stream_chat` for ``openai.AsyncOpenAI`` or ``openai.AsyncAzureOpenAI``."""
    _set_stream(create_kwargs)
    decode = _resolve(backend)
    async with client.chat.completions.with_streaming_response.create(**create_kwargs) as response:
        stream = AsyncChatStream(response.http_response, decode)
        try:
            yield stream
        finally:
            await stream.close()


def _set_stream(create_kwargs: dict[str, Any]) -> None:
    if create_kwargs.get("stream", True) is not True:
        raise ValueError("stream_chat always streams; leave out stream= (or pass stream=True)")
    create_kwargs["stream"] = True


def _resolve(backend: str | Backend | None) -> Backend:
    if isinstance(backend, Backend):
        return backend
    return get_backend(backend) if backend else selected()


def _body(http_response: Any, asynchronous: bool) -> Any:
    """The body's bytes as they came, or as the HTTP client decompressed them (gzip, ...)."""
    encoding = http_response.headers.get("content-encoding", "identity").strip().lower()
    raw = encoding in ("", "identity")
    if asynchronous:
        return http_response.aiter_raw() if raw else http_response.aiter_bytes()
    return http_response.iter_raw() if raw else http_response.iter_bytes()


class _Decoding:
    """The state both streams share: a chunk decoder and a merger fed the same bytes."""

    def __init__(self, http_response: Any, backend: Backend) -> None:
        self.response = http_response
        self.backend = backend
        self._decoder = backend.ChunkDecoder()
        self._merger = backend.DeltaMerger()
        self._merge_error: Exception | None = None
        self._failure: Exception | None = None
        self._final: m.CreateChatCompletionResponse | None = None
        self._ended = False
        self._received = 0
        http = import_module(type(http_response).__module__.partition(".")[0])  # httpx or httpx2
        self._timeout_errors: tuple[type[Exception], ...] = (http.TimeoutException,)
        self._request_errors: tuple[type[Exception], ...] = (http.RequestError,)

    def _fail(self, exc: Exception) -> NoReturn:
        """Raise ``exc`` out of the loop (for a failed read, the SDK's error, raised from the HTTP
        client's), and keep it to raise again from get_final_completion."""
        error = exc
        if isinstance(exc, self._timeout_errors):
            error = openai.APITimeoutError(request=self.response.request)
        elif isinstance(exc, self._request_errors):
            error = openai.APIConnectionError(request=self.response.request)
        self._failure = error
        if error is exc:
            raise exc
        raise error from exc

    def _decode(self, piece: bytes) -> list[m.CreateChatCompletionStreamResponse]:
        """The chunks ``piece`` completes; what went wrong after them is raised by the next call.

        The merger sees the same bytes, so it fails where the decoder does; the decoder's error is
        the one raised, the merger's only when the decoder has none (a limit only the merger has).
        """
        self._received += len(piece)
        pending = self._merge_error
        if pending is None and not self._merger.done:
            try:
                self._merger.feed(piece)
            except SSEDeltaError as exc:
                self._merge_error = exc
        try:
            chunks: list[m.CreateChatCompletionStreamResponse] = self._decoder.feed(piece)
        except UpstreamError as exc:
            raise self._upstream(exc) from None
        if self._merge_error is not None and (pending is not None or not chunks):
            raise self._merge_error
        return chunks

    def _close_decoder(self) -> list[m.CreateChatCompletionStreamResponse]:
        try:
            chunks: list[m.CreateChatCompletionStreamResponse] = self._decoder.close()
        except UpstreamError as exc:
            raise self._upstream(exc) from None
        if self._merge_error is not None:
            raise self._merge_error
        if not self._decoder.events:
            kind = self.response.headers.get("content-type", "no content type")
            raise StreamFormatError(f"the response ({kind}) holds no event", self._received)
        return chunks

    def _upstream(self, exc: UpstreamError) -> UpstreamError:
        partial = self._merger.snapshot()
        return UpstreamError(exc.error, exc.offset, exc.event_index, partial=partial, chunk=exc.chunk)

    def _final_completion(self) -> m.CreateChatCompletionResponse:
        if self._failure is not None:
            raise self._failure
        if not self._ended:  # closed before its end, as the SDK's stream says
            message = "the stream was closed before its end (.snapshot holds what was merged)"
            raise openai.APIConnectionError(message=message, request=self.response.request)
        if self._final is None:
            self._final = self._merger.finish()
        return self._final

    @property
    def snapshot(self) -> m.CreateChatCompletionResponse:
        """The completion merged so far (``finish_reason`` may still be ``None``); never raises.

        It holds every chunk of the bytes read so far: those the loop has had, and those that
        came in the same network read (the merger takes whole reads, its cheapest path).
        """
        return self._merger.snapshot()  # type: ignore[no-any-return]

    @property
    def current_completion_snapshot(self) -> m.CreateChatCompletionResponse:
        """The SDK's name for :attr:`snapshot` (which can be ahead of the loop by part of a read)."""
        return self.snapshot

    @property
    def usage(self) -> Usage | None:
        """The token usage merged so far, normalised (``None`` until the stream sends one)."""
        return chat_usage(self._merger)


class ChatStream(_Decoding):
    """A streamed chat completion: iterate for the chunks; :meth:`get_final_completion` for the merge.

    ``response`` is the HTTP response (its ``headers``, ``status_code``); ``snapshot``, ``usage``.
    Iterating again continues where the last loop stopped.
    """

    def __init__(self, http_response: Any, backend: Backend) -> None:
        super().__init__(http_response, backend)
        self._pieces: Iterator[bytes] = _body(http_response, asynchronous=False)
        self._iterator = self._chunks()

    def __iter__(self) -> Iterator[m.CreateChatCompletionStreamResponse]:
        return self._iterator

    def __next__(self) -> m.CreateChatCompletionStreamResponse:
        return next(self._iterator)

    def _chunks(self) -> Generator[m.CreateChatCompletionStreamResponse, None, None]:
        decoder = self._decoder
        try:
            for piece in self._pieces:
                yield from self._decode(piece)
                if decoder.done:
                    for _ in self._pieces:  # what follows [DONE] is not read; the connection is reused
                        pass
                    break
            yield from self._close_decoder()
            self._ended = True
        except Exception as exc:
            self._fail(exc)

    def until_done(self) -> ChatStream:
        """Read the stream to its end."""
        for _ in self._iterator:
            pass
        return self

    def get_final_completion(self) -> m.CreateChatCompletionResponse:
        """The merged completion, once the rest of the stream is read; raises what the stream
        raised (:class:`ssedelta.UpstreamError` with ``.partial`` for an in-stream error), and
        :class:`openai.APIConnectionError` when it was closed before its end."""
        self.until_done()
        return self._final_completion()

    def close(self) -> None:
        """Close the response (the ``with`` block does it on leaving)."""
        self._iterator.close()
        self.response.close()


class AsyncChatStream(_Decoding):
    """:class:`ChatStream` for the async client: ``async for``, ``await get_final_completion()``."""

    def __init__(self, http_response: Any, backend: Backend) -> None:
        super().__init__(http_response, backend)
        self._pieces: AsyncIterator[bytes] = _body(http_response, asynchronous=True)
        self._iterator = self._chunks()

    def __aiter__(self) -> AsyncIterator[m.CreateChatCompletionStreamResponse]:
        return self._iterator

    async def __anext__(self) -> m.CreateChatCompletionStreamResponse:
        return await self._iterator.__anext__()

    async def _chunks(self) -> AsyncGenerator[m.CreateChatCompletionStreamResponse, None]:
        decoder = self._decoder
        try:
            async for piece in self._pieces:
                for chunk in self._decode(piece):
                    yield chunk
                if decoder.done:
                    async for _ in self._pieces:
                        pass
                    break
            for chunk in self._close_decoder():
                yield chunk
            self._ended = True
        except Exception as exc:
            self._fail(exc)

    async def until_done(self) -> AsyncChatStream:
        """Read the stream to its end."""
        async for _ in self._iterator:
            pass
        return self

    async def get_final_completion(self) -> m.CreateChatCompletionResponse:
        """See :meth:`ChatStream.get_final_completion`."""
        await self.until_done()
        return self._final_completion()

    async def close(self) -> None:
        """Close the response (the ``async with`` block does it on leaving)."""
        await self._iterator.aclose()
        await self.response.aclose()
