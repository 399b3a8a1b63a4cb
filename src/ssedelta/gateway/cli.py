"""``ssedelta proxy``: the command line of the logging proxy."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

DEFAULT_LISTEN = "127.0.0.1:8080"

DESCRIPTION = """\
Forward every request to an OpenAI-compatible or Anthropic API unchanged, stream the responses back
byte for byte, and append one JSON line per request to the log: request id, model, status, the
stream format (chat, responses or anthropic: from the request path, else the first event), the
merged result (partial when a stream was cut), usage as sent and normalised, time to first
content, total time, bytes, and whether the client disconnected or the upstream failed. Stops
cleanly on SIGINT or SIGTERM. Needs aiohttp: pip install 'ssedelta[proxy]'."""


def register(commands: Any) -> None:
    """Add the ``proxy`` command to the ``ssedelta`` command's subparsers."""
    parser = commands.add_parser(
        "proxy",
        help="run a logging proxy for an OpenAI-compatible or Anthropic API",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--upstream", required=True, metavar="URL", help="base URL of the API, e.g. https://api.openai.com"
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        type=listen_address,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    parser.add_argument(
        "--log",
        default="-",
        metavar="FILE",
        help="JSON lines log, appended to ('-': standard output, the default)",
    )
    parser.add_argument(
        "--backend",
        choices=("native", "python"),
        default=None,
        help="decoder backend (default: native when built)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="to connect to the upstream (default 30)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="for each read from the upstream (default 600)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="for requests in flight to finish on shutdown (default 10)",
    )
    parser.add_argument(
        "--max-request-size",
        type=int,
        default=64 * 1024 * 1024,
        metavar="BYTES",
        help="largest request body accepted (default 64 MiB)",
    )
    parser.set_defaults(run=run)


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT`` (on 127.0.0.1)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host, number


def run(args: argparse.Namespace) -> int:
    try:
        from .proxy import serve
    except ImportError as exc:
        print(f"ssedelta proxy needs aiohttp ({exc}): pip install 'ssedelta[proxy]'", file=sys.stderr)
        return 2
    host, port = args.listen

    def announce(url: str) -> None:
        target = "standard output" if args.log == "-" else args.log
        print(
            f"ssedelta proxy: listening on {url}, forwarding to {args.upstream}, logging to {target}",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(
            serve(
                args.upstream,
                host,
                port,
                args.log,
                shutdown_timeout=args.shutdown_timeout,
                ready=announce,
                backend=args.backend,
                connect_timeout=args.connect_timeout,
                read_timeout=args.read_timeout,
                max_request_size=args.max_request_size,
            )
        )
    except ValueError as exc:
        print(f"ssedelta proxy: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ssedelta proxy: {exc}", file=sys.stderr)
        return 1
    print("ssedelta proxy: stopped", file=sys.stderr, flush=True)
    return 0
