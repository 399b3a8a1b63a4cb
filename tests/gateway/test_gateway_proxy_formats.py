"""``ssedelta proxy`` with Responses and Anthropic streams: the client gets the upstream's bytes
unchanged, the log line names the format and holds the merged result and its usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from format_streams import STREAMS, body, final_usage, has_output_delta, reference
from gateway_helpers import run
from test_gateway_proxy import harness

from ssedelta import Usage

#: A few streams of each new format, an upstream error among them.
PICKED = [
    ("responses", "Mirascope-mirascope__gpt5_reasoning_summary"),
    ("responses", "DataDog-dd-trace-py__gpt4o_cached_tokens"),
    ("responses", "DataDog-dd-trace-py__gpt4o_incomplete_max_output_tokens"),
    ("anthropic", "traceloop-openllmetry__sonnet35_prompt_cache_read"),
    ("anthropic", "Mirascope-mirascope__sonnet4_text_then_parallel_tool_use"),
    ("anthropic", "pydantic-pydantic-ai__sonnet4_thinking_signature"),
]
ERRORS = [
    (fmt, name) for fmt, name in STREAMS if fmt == "responses" and b'"type":"error"' in body(fmt, name)
][:1]


async def post(h: Any, path: str, model: str, request_id: str, stream: bool = True) -> tuple[int, bytes]:
    request = {"model": model, "input": "Hi", "stream": stream}
    async with (
        httpx2.AsyncClient(timeout=20) as client,
        client.stream("POST", h.url + path, json=request, headers={"X-Request-Id": request_id}) as response,
    ):
        data = b"".join([piece async for piece in response.aiter_raw()])
        return response.status_code, data


@pytest.mark.parametrize("by_path", [True, False], ids=["by-path", "by-first-event"])
def test_streams_of_each_format_are_logged_merged(backend: Any, tmp_path: Path, by_path: bool) -> None:
    picked = PICKED + ERRORS
    assert ERRORS, "the corpus has a Responses stream with an error event"

    async def main() -> None:
        async with harness(backend, tmp_path) as h:
            for i, (fmt, name) in enumerate(picked):
                path = ("/v1/responses" if fmt == "responses" else "/v1/messages") if by_path else "/v1/other"
                status, data = await post(h, path, f"{fmt}/{name}", f"r{i}")
                assert status == 200 and data == body(fmt, name)
                record = await h.record(f"r{i}")
                result, error = reference(backend, fmt, data)
                assert record["format"] == fmt and record["stream"] is True and record["path"] == path
                assert record["completion"] == result.to_dict()
                assert record["usage"] == final_usage(fmt, data)
                normalized = Usage.of(result)
                assert record["normalized_usage"] == (normalized.to_dict() if normalized else None)
                assert record["bytes_in"] == record["bytes_out"] == len(data)
                if has_output_delta(fmt, data):
                    assert record["ttft_ms"] is not None and 0 <= record["ttft_ms"] <= record["total_ms"]
                else:
                    assert record["ttft_ms"] is None
                assert record["client_disconnected"] is False
                if error is None:
                    assert record["done_seen"] is True and record["upstream_error"] is None
                else:
                    assert record["done_seen"] is False and record["upstream_error"] == str(error)
            assert h.log_lines() == h.records

    run(main())


@pytest.mark.parametrize("fmt", ["responses", "anthropic"])
def test_non_streamed_results_are_logged_with_their_format(backend: Any, tmp_path: Path, fmt: str) -> None:
    name = next(n for f, n in PICKED if f == fmt)

    async def main() -> dict[str, Any]:
        async with harness(backend, tmp_path) as h:
            status, _ = await post(h, "/v1/x", f"{fmt}-json/{name}", "j", stream=False)
            assert status == 200
            return await h.record("j")

    record = run(main())
    result, _ = reference(backend, fmt, body(fmt, name))
    assert record["format"] == fmt and record["stream"] is False
    assert record["completion"] == result.to_dict()
    assert record["normalized_usage"] == Usage.of(result).to_dict()  # type: ignore[union-attr]
