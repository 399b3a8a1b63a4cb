"""``ssedelta.openai``: the official openai client (sync and async) against a local upstream replaying the
recorded streams over real sockets, in pieces of random sizes.

The chunks must be those ``iter_chunks`` makes of the same bytes and the final completion the one
``merge`` makes (and the recorded expected result); HTTP errors, in-stream errors and dropped
connections must surface as the SDK's own stream surfaces them.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "gateway"))

from gateway_helpers import CLEAN_STREAMS, ERROR_STREAMS, run
from gateway_upstream import FakeUpstream, expected_completion

import ssedelta
from real_streams import body, expected
from ssedelta.openai import astream_chat, stream_chat

MESSAGES = [{"role": "user", "content": "Hi"}]
PLAIN = "openai-python__gpt4o_plain_content_usage"
TOOLS = "openai-python__gpt4o_parallel_tool_calls"
#: A few streams of different shapes for the async client and the error cases.
SOME = [PLAIN, "openai-python__gpt4o_parallel_tool_calls", "openai-python__gpt4o_json_schema_n3_choices"]


class Upstream:
    """The fake upstream, served from an event loop of its own in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeUpstream()
        self.url = asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def last_request(self) -> dict[str, Any]:
        return self.fake.received[-1]


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def client(upstream: Upstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0)


def async_client(upstream: Upstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0)


def reference(backend: ssedelta.Backend, data: bytes) -> tuple[list[Any], Exception | None]:
    """The chunks ``iter_chunks`` makes of ``data``, and what it raises after them."""
    chunks: list[Any] = []
    try:
        for chunk in backend.iter_chunks(data):
            chunks.append(chunk)
    except ssedelta.SSEDeltaError as exc:
        return chunks, exc
    return chunks, None


def same_error(got: BaseException, want: Exception) -> None:
    assert type(got) is type(want)
    assert (got.offset, got.event_index) == (want.offset, want.event_index)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the sync client


@pytest.mark.parametrize("name", CLEAN_STREAMS)
def test_chunks_and_final_completion(backend: ssedelta.Backend, upstream: Upstream, name: str) -> None:
    data = body(name)
    with stream_chat(client(upstream), model=f"replay/{name}", messages=MESSAGES, backend=backend) as stream:
        chunks = list(stream)
        completion = stream.get_final_completion()
        assert stream.get_final_completion() is completion
    assert chunks == reference(backend, data)[0]
    assert completion == backend.merge(data)
    assert completion.to_dict() == expected(name)
    assert stream.snapshot == stream.current_completion_snapshot == completion
    assert stream.usage == ssedelta.Usage.of(completion)
    assert stream.response.is_closed


def test_get_final_completion_reads_the_rest(backend: ssedelta.Backend, upstream: Upstream) -> None:
    data = body(PLAIN)
    with stream_chat(client(upstream), model=f"replay/{PLAIN}", messages=MESSAGES, backend=backend) as stream:
        first = next(iter(stream))
        early = stream.snapshot
        assert stream.usage is None
        completion = stream.get_final_completion()
        assert list(stream) == []
    assert first == reference(backend, data)[0][0]
    assert early.choices[0].finish_reason is None
    assert completion == backend.merge(data)
    usage = stream.usage
    assert usage is not None and usage.total_tokens == expected(PLAIN)["usage"]["total_tokens"]


def test_iterating_again_continues(backend: ssedelta.Backend, upstream: Upstream) -> None:
    with stream_chat(client(upstream), model=f"replay/{PLAIN}", messages=MESSAGES, backend=backend) as stream:
        head = []
        for chunk in stream:
            head.append(chunk)
            if len(head) == 3:
                break
        rest = list(stream)
    assert head + rest == reference(backend, body(PLAIN))[0]


@pytest.mark.parametrize("name", ERROR_STREAMS)
def test_in_stream_error(backend: ssedelta.Backend, upstream: Upstream, name: str) -> None:
    data = body(name)
    want_chunks, want_error = reference(backend, data)
    assert isinstance(want_error, ssedelta.UpstreamError)
    chunks = []
    with (
        stream_chat(client(upstream), model=f"replay/{name}", messages=MESSAGES, backend=backend) as stream,
        pytest.raises(ssedelta.UpstreamError) as caught,
    ):
        for chunk in stream:
            chunks.append(chunk)
    assert chunks == want_chunks
    same_error(caught.value, want_error)
    assert caught.value.error == expected(name)["error"]
    assert caught.value.partial.to_dict() == expected_completion(name)
    with pytest.raises(ssedelta.UpstreamError) as again:
        stream.get_final_completion()
    assert again.value.partial == caught.value.partial


@pytest.mark.parametrize(("status", "error"), [(400, openai.BadRequestError), (429, openai.RateLimitError)])
def test_http_error_before_the_first_chunk(
    backend: ssedelta.Backend, upstream: Upstream, status: int, error: type[Exception]
) -> None:
    sdk = client(upstream)
    with pytest.raises(error) as from_sdk:
        sdk.chat.completions.create(model=f"status/{status}", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    entered = False
    with (
        pytest.raises(error) as caught,
        stream_chat(sdk, model=f"status/{status}", messages=MESSAGES, backend=backend),
    ):
        entered = True
    assert not entered
    assert isinstance(caught.value, openai.APIStatusError) and caught.value.status_code == status
    assert caught.value.message == from_sdk.value.message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "timeout", "error", "cause", "kept"),
    [
        ({"X-Fake-Die-After": "1200"}, 10.0, openai.APIConnectionError, httpx2.RemoteProtocolError, 1200),
        ({"X-Fake-Hang-After": "2"}, 1.5, openai.APITimeoutError, httpx2.ReadTimeout, None),
    ],
    ids=["dropped", "timeout"],
)
def test_failed_read(
    backend: ssedelta.Backend,
    upstream: Upstream,
    headers: dict[str, str],
    timeout: float,
    error: type[Exception],
    cause: type[Exception],
    kept: int | None,
) -> None:
    """A connection dropped mid-stream, or a read that times out: the SDK's error, as its own stream
    raises it, after the chunks of what arrived."""
    data = body(PLAIN)
    arrived = data[:kept] if kept else b"".join(b + b"\n\n" for b in data.split(b"\n\n")[:2])
    sdk = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0, timeout=timeout)
    create: Any = sdk.chat.completions.create
    with pytest.raises(error) as from_sdk:
        for _ in create(model=f"replay/{PLAIN}", messages=MESSAGES, stream=True, extra_headers=headers):
            pass
    chunks = []
    with (
        stream_chat(
            sdk, model=f"replay/{PLAIN}", messages=MESSAGES, extra_headers=headers, backend=backend
        ) as stream,
        pytest.raises(error) as caught,
    ):
        for chunk in stream:
            chunks.append(chunk)
    assert isinstance(caught.value.__cause__, cause)
    assert type(caught.value.__cause__) is type(from_sdk.value.__cause__)
    assert chunks == reference(backend, arrived)[0]
    with pytest.raises(error):
        stream.get_final_completion()
    merger = backend.DeltaMerger()
    merger.feed(arrived)
    assert stream.snapshot == merger.snapshot()


def test_bad_bytes_mid_stream(backend: ssedelta.Backend, upstream: Upstream) -> None:
    data = body(PLAIN)
    at = data.index(b"data: {", data.index(b"data: {") + 1) + 6
    broken = data[:at] + b"{oops" + data[at + 1 :]
    want_chunks, want_error = reference(backend, broken)
    assert isinstance(want_error, ssedelta.InvalidJSONError)
    chunks = []
    with (
        stream_chat(
            client(upstream),
            model="sse/raw",
            messages=MESSAGES,
            extra_body={"x_sse": broken.decode()},
            backend=backend,
        ) as stream,
        pytest.raises(ssedelta.InvalidJSONError) as caught,
    ):
        for chunk in stream:
            chunks.append(chunk)
    assert chunks == want_chunks
    same_error(caught.value, want_error)


def test_a_body_without_events(backend: ssedelta.Backend, upstream: Upstream) -> None:
    """A server that answers with JSON although ``stream`` was set: an error, not an empty completion."""
    with (
        stream_chat(client(upstream), model=f"json/{PLAIN}", messages=MESSAGES, backend=backend) as stream,
        pytest.raises(ssedelta.StreamFormatError, match=r"\(application/json.*\) holds no event") as caught,
    ):
        list(stream)
    assert caught.value.offset == len(json.dumps(expected(PLAIN)).encode())
    with pytest.raises(ssedelta.StreamFormatError):
        stream.get_final_completion()


def test_final_completion_after_leaving_early(backend: ssedelta.Backend, upstream: Upstream) -> None:
    sdk = client(upstream)
    with sdk.chat.completions.stream(model=f"replay/{PLAIN}", messages=MESSAGES) as sdk_stream:  # type: ignore[arg-type]
        next(iter(sdk_stream))
    with pytest.raises(openai.APIConnectionError):
        sdk_stream.get_final_completion()
    with stream_chat(sdk, model=f"replay/{PLAIN}", messages=MESSAGES, backend=backend) as stream:
        first = next(stream)
    with pytest.raises(openai.APIConnectionError, match="closed before its end"):
        stream.get_final_completion()
    content = stream.snapshot.choices[0].message.content
    assert first.choices[0].delta.role == "assistant"
    assert expected(PLAIN)["choices"][0]["message"]["content"].startswith(content)


def test_compressed_body(backend: ssedelta.Backend) -> None:
    data = body(TOOLS)

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        return httpx2.Response(200, headers=headers, content=gzip.compress(data))

    http = openai.DefaultHttpxClient(transport=httpx2.MockTransport(answer))
    sdk = openai.OpenAI(base_url="http://upstream.test/v1", api_key="sk-test", http_client=http)
    with stream_chat(sdk, model="gpt-4o", messages=MESSAGES, backend=backend) as stream:
        chunks = list(stream)
        assert stream.response.headers["content-encoding"] == "gzip"
    assert chunks == reference(backend, data)[0]
    assert stream.get_final_completion() == backend.merge(data)


def test_leaving_early_closes_the_connection(backend: ssedelta.Backend, upstream: Upstream) -> None:
    before = upstream.fake.disconnected
    hang = {"X-Fake-Hang-After": "3"}
    with stream_chat(
        client(upstream), model=f"replay/{PLAIN}", messages=MESSAGES, extra_headers=hang, backend=backend
    ) as stream:
        for _chunk in stream:
            break
        assert not stream.response.is_closed
    assert stream.response.is_closed
    deadline = time.monotonic() + 10
    while upstream.fake.disconnected == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.fake.disconnected == before + 1


def test_stream_false_is_refused(upstream: Upstream) -> None:
    sent = len(upstream.fake.received)
    with (
        pytest.raises(ValueError, match="always streams"),
        stream_chat(client(upstream), model=f"replay/{PLAIN}", messages=MESSAGES, stream=False),
    ):
        pass
    assert len(upstream.fake.received) == sent


def test_extra_headers_and_options_arrive(backend: ssedelta.Backend, upstream: Upstream) -> None:
    with stream_chat(
        client(upstream),
        model=f"replay/{PLAIN}",
        messages=MESSAGES,
        stream=True,
        temperature=0.5,
        extra_headers={"X-Trace": "t-1"},
        backend=backend,
    ) as stream:
        stream.until_done()
    request = upstream.last_request()
    headers = {key.lower(): value for key, value in request["headers"]}
    assert headers["x-trace"] == "t-1" and headers["authorization"] == "Bearer sk-test"
    assert request["path"] == "/v1/chat/completions"
    sent = json.loads(request["body"])
    assert sent["stream"] is True and sent["temperature"] == 0.5 and sent["model"] == f"replay/{PLAIN}"


def test_azure_client(backend: ssedelta.Backend, upstream: Upstream) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=upstream.url, api_version="2024-10-21", api_key="azure-key", max_retries=0
    )
    name = "semantic-kernel__azure_gpt4o_async_content_filter"
    with stream_chat(azure, model=f"replay/{name}", messages=MESSAGES, backend=backend) as stream:
        completion = stream.get_final_completion()
    assert completion == backend.merge(body(name))
    request = upstream.last_request()
    assert request["path"].startswith(f"/openai/deployments/replay%2F{name}/chat/completions?")
    assert "api-version=2024-10-21" in request["path"]
    assert {key.lower(): value for key, value in request["headers"]}["api-key"] == "azure-key"


# ------------------------------------------------------------------ the async client


@pytest.mark.parametrize("name", SOME)
def test_async_chunks_and_final_completion(backend: ssedelta.Backend, upstream: Upstream, name: str) -> None:
    data = body(name)

    async def go() -> tuple[list[Any], Any]:
        async with astream_chat(
            async_client(upstream), model=f"replay/{name}", messages=MESSAGES, backend=backend
        ) as stream:
            chunks = [chunk async for chunk in stream]
            return chunks, await stream.get_final_completion()

    chunks, completion = run(go())
    assert chunks == reference(backend, data)[0]
    assert completion == backend.merge(data)
    assert completion.to_dict() == expected(name)


def test_async_in_stream_error(backend: ssedelta.Backend, upstream: Upstream) -> None:
    name = ERROR_STREAMS[0]
    want_chunks, want_error = reference(backend, body(name))
    assert want_error is not None
    chunks: list[Any] = []

    async def go() -> None:
        async with astream_chat(
            async_client(upstream), model=f"replay/{name}", messages=MESSAGES, backend=backend
        ) as stream:
            async for chunk in stream:
                chunks.append(chunk)

    with pytest.raises(ssedelta.UpstreamError) as caught:
        run(go())
    assert chunks == want_chunks
    same_error(caught.value, want_error)
    assert caught.value.partial.to_dict() == expected_completion(name)


def test_async_http_error(backend: ssedelta.Backend, upstream: Upstream) -> None:
    async def go() -> None:
        async with astream_chat(
            async_client(upstream), model="status/401", messages=MESSAGES, backend=backend
        ):
            raise AssertionError("entered")

    with pytest.raises(openai.AuthenticationError) as caught:
        run(go())
    assert caught.value.status_code == 401


def test_async_dropped_connection(backend: ssedelta.Backend, upstream: Upstream) -> None:
    data = body(PLAIN)
    cut = len(data) // 3
    chunks: list[Any] = []

    async def go() -> None:
        async with astream_chat(
            async_client(upstream),
            model=f"replay/{PLAIN}",
            messages=MESSAGES,
            extra_headers={"X-Fake-Die-After": str(cut)},
            backend=backend,
        ) as stream:
            async for chunk in stream:
                chunks.append(chunk)

    with pytest.raises(openai.APIConnectionError) as caught:
        run(go())
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert chunks == reference(backend, data[:cut])[0]


def test_async_leaving_early_closes_the_connection(backend: ssedelta.Backend, upstream: Upstream) -> None:
    before = upstream.fake.disconnected

    async def go() -> Any:
        async with astream_chat(
            async_client(upstream),
            model=f"replay/{PLAIN}",
            messages=MESSAGES,
            extra_headers={"X-Fake-Hang-After": "3"},
            backend=backend,
        ) as stream:
            async for _chunk in stream:
                break
        return stream

    stream = run(go())
    assert stream.response.is_closed
    deadline = time.monotonic() + 10
    while upstream.fake.disconnected == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.fake.disconnected == before + 1


# ------------------------------------------------------------------ without the SDK


def test_import_without_openai_names_the_extra() -> None:
    code = "import sys; sys.modules['openai'] = None; import ssedelta.openai"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "ImportError" in done.stderr and "ssedelta[openai]" in done.stderr
