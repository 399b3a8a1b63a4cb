"""``ssedelta proxy`` as a command: it serves, logs, and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from gateway_helpers import run
from gateway_upstream import FakeUpstream

import ssedelta
from real_streams import body, expected
from ssedelta.gateway import cli

PLAIN = "openai-python__gpt4o_plain_content_usage"

# ``python -m ssedelta proxy`` needs every subcommand module of ``ssedelta.cli``; until they all exist the
# command is built from ``ssedelta.gateway.cli.register`` alone, the way ``ssedelta.cli`` builds it.
STANDALONE = (
    "import argparse, sys\n"
    "from ssedelta.gateway import cli\n"
    "parser = argparse.ArgumentParser(prog='ssedelta')\n"
    "cli.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args()\n"
    "sys.exit(args.run(args))\n"
)


def command(*args: str) -> list[str]:
    if importlib.util.find_spec("ssedelta.bulk") and importlib.util.find_spec("ssedelta.bulk.cli"):
        return [sys.executable, "-m", "ssedelta", "proxy", *args]
    return [sys.executable, "-c", STANDALONE, "proxy", *args]


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ssedelta")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["proxy", *args])


def test_arguments(backend: Any) -> None:
    args = parse("--upstream", "https://api.openai.com", "--backend", backend.name)
    assert args.run is cli.run and args.listen == ("127.0.0.1", 8080) and args.log == "-"
    assert args.backend == backend.name
    assert parse("--upstream", "u", "--listen", "0.0.0.0:9000").listen == ("0.0.0.0", 9000)
    assert parse("--upstream", "u", "--listen", "[::1]:0").listen == ("::1", 0)
    assert parse("--upstream", "u", "--listen", "8081").listen == ("127.0.0.1", 8081)
    with pytest.raises(SystemExit):
        parse("--upstream", "u", "--listen", "here")
    with pytest.raises(SystemExit):
        parse("--listen", "8081")  # --upstream is required


def test_a_bad_upstream_url_is_refused(backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--upstream", "ftp://example.com", "--listen", "127.0.0.1:0", "--backend", backend.name)
    assert args.run(args) == 2
    assert "http:// or https://" in capsys.readouterr().err


def test_without_aiohttp_the_command_says_what_to_install(
    backend: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "ssedelta.gateway.proxy", raising=False)
    args = parse("--upstream", "http://127.0.0.1:1", "--backend", backend.name)
    assert args.run(args) == 2
    assert "pip install 'ssedelta[proxy]'" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_serves_logs_and_stops_on_a_signal(backend: Any, tmp_path: Path, signum: int) -> None:
    log = tmp_path / "proxy.jsonl"
    env = dict(os.environ)
    package_root = str(Path(ssedelta.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")])

    async def main() -> tuple[int, str]:
        upstream = FakeUpstream()
        await upstream.start()
        arguments = ["--upstream", upstream.url, "--listen", "127.0.0.1:0", "--log", str(log)]
        process = await asyncio.create_subprocess_exec(
            *command(*arguments, "--backend", backend.name, "--shutdown-timeout", "2"),
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert process.stderr is not None
        try:
            first = (await process.stderr.readline()).decode()
            found = re.search(r"listening on (http://\S+),", first)
            assert found, first
            request = {
                "model": "replay/" + PLAIN,
                "stream": True,
                "messages": [{"role": "user", "content": "Hi"}],
            }
            async with httpx2.AsyncClient(timeout=20) as client:
                response = await client.post(found.group(1) + "/v1/chat/completions", json=request)
            assert response.content == body(PLAIN)
            process.send_signal(signum)
            status = await process.wait()
            rest = (await process.stderr.read()).decode()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await upstream.close()
        return status, rest

    status, rest = run(main())
    assert status == 0 and "stopped" in rest
    (line,) = log.read_text().splitlines()
    record = json.loads(line)
    assert record["completion"] == expected(PLAIN)
    assert record["done_seen"] and not record["client_disconnected"]
