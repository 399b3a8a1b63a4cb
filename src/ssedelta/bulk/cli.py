"""``ssedelta merge`` and ``ssedelta stats``: bulk processing from the command line.

Exit status: 0 when every stream merged, 1 when some were bad (they are in the errors file;
the good ones are all written), 2 when the command could not run (no such file, a missing
extra, an unwritable output). A file in no stream format (a README, a JSON file without an event
stream, an image: see :func:`ssedelta.bulk.formats.no_stream_reason`) is skipped: counted in the
summary line, listed with ``-v``, and no reason for status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .._backend import selected
from . import default_errors_path, formats, stream_stats, write_merged
from .errors import MissingExtraError

EXIT_OK, EXIT_BAD_STREAMS, EXIT_FAILED = 0, 1, 2
BACKEND = selected().name


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``merge`` and ``stats`` subcommands; each sets ``run(args) -> exit status``."""
    merge = commands.add_parser(
        "merge",
        help="merge every stream of archived files into one completion each",
        description="Merge every stream found under PATH into one completion, with where it came from.",
    )
    _add_inputs(merge)
    merge.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="JSON Lines file (Parquet when it ends in .parquet; - for standard output)",
    )
    merge.add_argument(
        "--errors",
        metavar="FILE",
        help="JSON Lines file for the bad streams (default: OUT with .errors.jsonl; "
        "standard error when OUT is -)",
    )
    merge.set_defaults(run=run_merge)
    stats = commands.add_parser(
        "stats",
        help="summarise archived streams: counts, throughput, finish reasons, token usage",
        description="Summarise every stream found under PATH.",
    )
    _add_inputs(stats)
    stats.add_argument("--json", action="store_true", help="print the summary as JSON")
    stats.set_defaults(run=run_stats)


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, directory (read recursively) or glob")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: every core)")
    parser.add_argument(
        "--format",
        choices=(formats.AUTO, *formats.FORMATS),
        default=formats.AUTO,
        help="the files' format (default: told from each file)",
    )
    parser.add_argument(
        "--field", metavar="PATH", help="dotted path of the SSE body in JSON records (e.g. response.body)"
    )
    parser.add_argument(
        "--backend", choices=("native", "python"), default=BACKEND, help=f"(default: {BACKEND})"
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="read only the files (found in a directory or by a glob) whose path below it matches; "
        "repeatable; fnmatch rules (* matches / too), a pattern without / also matches the file name",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="leave out such files (as --include)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list the files skipped as in no stream format"
    )


def _reading(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`write_merged` and :func:`stream_stats` the command line sets."""
    return {
        "jobs": args.jobs,
        "format": args.format,
        "field": args.field,
        "backend": args.backend,
        "progress": not args.quiet and sys.stderr.isatty(),
        "include": args.include,
        "exclude": args.exclude,
    }


def _list_skipped(args: argparse.Namespace, skipped: Sequence[tuple[str, str]]) -> None:
    if args.verbose:
        for file, reason in skipped:
            print(f"skipped {file}: {reason}", file=sys.stderr)


def run_merge(args: argparse.Namespace) -> int:
    errors = args.errors
    if errors is None:
        errors = sys.stderr.buffer if args.output == "-" else default_errors_path(args.output)
    try:
        report = write_merged(args.paths, args.output, errors=errors, **_reading(args))
    except (OSError, MissingExtraError, ValueError) as exc:
        print(f"ssedelta merge: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _list_skipped(args, report.skipped)
    if not args.quiet:
        where = f"; bad ones in {errors}" if report.errors and isinstance(errors, str) else ""
        print(
            f"ssedelta merge: {report.streams - report.errors:,} merged, {report.errors:,} bad, "
            f"{len(report.skipped):,} skipped ({report.streams:,} streams from {report.files:,} files "
            f"in {report.seconds:.2f} s{where})",
            file=sys.stderr,
        )
    return EXIT_BAD_STREAMS if report.errors else EXIT_OK


def run_stats(args: argparse.Namespace) -> int:
    try:
        stats = stream_stats(args.paths, **_reading(args))
    except (OSError, MissingExtraError, ValueError) as exc:
        print(f"ssedelta stats: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _list_skipped(args, stats.skipped)
    summary = stats.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return EXIT_OK


def format_summary(summary: dict[str, Any]) -> str:
    """The summary of :meth:`StreamStats.summary` as aligned text."""
    mb = summary["bytes"] / 1e6
    speed = summary["throughput_mb_s"]
    lines = [
        f"files      {summary['files']:,}",
        f"streams    {summary['streams']:,}: {summary['ok']:,} merged, {summary['errors']:,} bad, "
        f"{summary['skipped']:,} skipped (files in no stream format)",
        f"chunks     {summary['chunks']:,}",
        f"bytes      {summary['bytes']:,} ({mb:,.1f} MB)",
        f"time       {summary['seconds']:.2f} s" + (f" ({speed:,.1f} MB/s)" if speed else ""),
        f"models     {_counts(summary['models'])}",
        f"finish     {_counts(summary['finish_reasons'])}",
        "formats    "
        + (", ".join(f"{name}: {f['streams']:,}" for name, f in summary["formats"].items()) or "-"),
    ]
    if summary["errors"]:
        lines.append(f"errors     {_counts(summary['error_types'])}")
    header = ("", "streams", "total", "mean", "p50", "p90", "p99", "max")
    table: list[tuple[str, ...]] = [header]
    for key, label in (
        ("input_tokens", "input tokens"),
        ("cached_input_tokens", "cached input tokens"),
        ("output_tokens", "output tokens"),
        ("reasoning_tokens", "reasoning tokens"),
        ("total_tokens", "total tokens"),
    ):
        table.append(_row(label, summary["usage"][key]))
    table.append(_row("chunks per stream", summary["chunks_per_stream"]))
    table.append(_row("bytes per stream", summary["bytes_per_stream"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines.append("")
    for row in table:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n:,}" for name, n in counts.items()) or "-"


def _row(label: str, dist: dict[str, Any]) -> tuple[str, ...]:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"

    return (
        label,
        cell(dist["streams"]),
        *(cell(dist[k]) for k in ("total", "mean", "p50", "p90", "p99", "max")),
    )


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the bulk commands (``ssedelta.cli`` adds them to every other one)."""
    parser = argparse.ArgumentParser(prog="ssedelta", description="Bulk processing of archived streams.")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
