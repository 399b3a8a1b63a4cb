"""The ``ssedelta`` command: ``ssedelta merge``, ``ssedelta stats``, ``ssedelta proxy``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from .bulk.cli import register as register_bulk
    from .gateway.cli import register as register_gateway

    parser = argparse.ArgumentParser(
        prog="ssedelta", description="Decode and merge OpenAI-style Chat Completions streams."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_bulk(commands)
    register_gateway(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; each subcommand's ``run(args)`` returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))
