"""The gateway and openai-client examples of docs/gateway.md and the README run as written, against
the fake upstream.

Each example is the code block after an ``<!-- example: NAME -->`` marker, run as a module; only its
``UPSTREAM`` constant is changed to point at the fake upstream, and its taps (or its ``stream_chat``)
are given the backend under test. An example shown on both pages is the same code on both. (The
FastAPI example needs packages that are not dependencies of the project; it is not run here.)
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx2
import openai
from aiohttp import web
from gateway_helpers import random_pieces, run
from gateway_upstream import FakeUpstream

import ssedelta
import ssedelta.openai
from real_streams import body, expected
from ssedelta.gateway import AsyncTap, Tap

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "docs" / "gateway.md"]
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\s*```python\n(.*?)```", re.S)
PLAIN = "openai-python__gpt4o_plain_content_usage"
MESSAGES = [{"role": "user", "content": "Hi"}]


def examples() -> dict[str, set[str]]:
    """Each example's name, and the code given under it on any page."""
    found: dict[str, set[str]] = {}
    for page in PAGES:
        for name, code in EXAMPLE.findall(page.read_text()):
            found.setdefault(name, set()).add(code)
    return found


def example(name: str) -> dict[str, Any]:
    """The namespace of the example ``name``, run as a module."""
    (code,) = examples()[name]
    namespace: dict[str, Any] = {"__name__": f"gateway_doc_{name}"}
    exec(compile(code, f"example {name}", "exec"), namespace)
    return namespace


def test_an_example_on_two_pages_is_the_same_code_on_both() -> None:
    found = examples()
    assert {"aiohttp", "fastapi", "sync", "rewrite", "replay"} <= found.keys()
    assert EXAMPLE.search(PAGES[0].read_text()), "the README shows no gateway example"
    assert {name: len(codes) for name, codes in found.items()} == dict.fromkeys(found, 1)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(record.getMessage()))
        self.arrived.set()


def test_the_aiohttp_gateway(backend: Any) -> None:
    module = example("aiohttp")
    module["AsyncTap"] = functools.partial(AsyncTap, backend=backend)
    lines = Lines()
    logger = logging.getLogger("gateway")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)

    async def main() -> None:
        upstream = FakeUpstream()
        await upstream.start()
        module["UPSTREAM"] = upstream.url
        runner = web.AppRunner(module["make_app"](), handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0)
            stream = await client.chat.completions.create(
                model="replay/" + PLAIN, messages=MESSAGES, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == expected(PLAIN)["choices"][0]["message"]["content"]
            while not lines.records:
                await lines.arrived.wait()
            record = lines.records[0]
            assert record["completion"] == expected(PLAIN) and record["done"]
            assert record["usage"] == expected(PLAIN)["usage"] and record["ttft_s"] > 0
            async with httpx2.AsyncClient() as http:
                request = {"model": "replay/" + PLAIN, "stream": True, "messages": MESSAGES}
                assert (await http.post(url + "/v1/chat/completions", json=request)).content == body(PLAIN)
            await client.close()
        finally:
            await runner.cleanup()
            await upstream.close()
            logger.removeHandler(lines)

    run(main())


def test_the_sync_example(backend: Any) -> None:
    module = example("sync")
    module["Tap"] = functools.partial(Tap, backend=backend)

    async def main() -> None:
        upstream = FakeUpstream()
        await upstream.start()
        module["UPSTREAM"] = upstream.url
        out = bytearray()
        try:
            request = {"model": "replay/" + PLAIN, "stream": True, "messages": MESSAGES}
            tap = await asyncio.to_thread(module["forward"], request, "sk-test", out.extend)
        finally:
            await upstream.close()
        assert bytes(out) == body(PLAIN)
        assert tap.completion.to_dict() == expected(PLAIN) and tap.done_seen

    run(main())


def test_the_rewrite_example(backend: Any) -> None:
    module = example("rewrite")
    module["BLOCKED"] = "weather"

    async def main() -> tuple[bytes, AsyncTap]:
        tap = AsyncTap(random_pieces(body(PLAIN), "doc"), backend=backend)
        return b"".join([piece async for piece in module["redacted"](tap)]), tap

    out, tap = run(main())
    content = expected(PLAIN)["choices"][0]["message"]["content"]
    rewritten = ssedelta.get_backend(backend.name).merge(out)
    assert rewritten.choices[0].message.content == content.replace("weather", "[redacted]")
    assert rewritten.usage == tap.usage and tap.completion.choices[0].message.content == content


def test_the_replay_example(backend: Any) -> None:
    module = example("replay")

    async def handle(request: web.Request) -> web.StreamResponse:
        return await module["serve_cached"](request, expected(PLAIN))  # type: ignore[no-any-return]

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
            client = openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0)
            stream = await client.chat.completions.create(model="cached", messages=MESSAGES, stream=True)
            chunks = [chunk async for chunk in stream]
            await client.close()
            async with httpx2.AsyncClient() as http:
                data = (await http.post(url + "/chat/completions", json={})).content
        finally:
            await runner.cleanup()
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == expected(PLAIN)["choices"][0]["message"]["content"]
        assert (
            chunks[-1].usage is not None
            and chunks[-1].usage.total_tokens == expected(PLAIN)["usage"]["total_tokens"]
        )
        assert backend.merge(data).to_dict() == expected(PLAIN)

    run(main())


def test_the_openai_client_example(backend: Any, capsys: Any) -> None:
    module = example("openai-client")
    module["stream_chat"] = functools.partial(ssedelta.openai.stream_chat, backend=backend)

    async def main() -> Any:
        upstream = FakeUpstream()
        await upstream.start()
        client = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0)
        try:
            return await asyncio.to_thread(module["ask"], client, "Hi", "replay/" + PLAIN)
        finally:
            client.close()
            await upstream.close()

    completion = run(main())
    assert completion.to_dict() == expected(PLAIN)
    assert capsys.readouterr().out == expected(PLAIN)["choices"][0]["message"]["content"]
