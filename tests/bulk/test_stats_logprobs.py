"""Token logprob statistics: each stream's mean token logprob and perplexity, and their spread."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from archive import write

import ssedelta
from real_streams import body
from ssedelta.bulk import cli, stream_stats

DATA = Path(__file__).resolve().parent.parent / "data"


def _chunk(choices: list[dict[str, Any]]) -> bytes:
    payload = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}


def _choice(index: int, content: str, tokens: list[dict[str, Any]] | None) -> dict[str, Any]:
    logprobs = None if tokens is None else {"content": tokens, "refusal": None}
    return {"index": index, "delta": {"content": content}, "logprobs": logprobs, "finish_reason": None}


def handmade_streams() -> bytes:
    """Three streams: two choices with logprobs -0.5, -1.5 and -1.0 (mean -1.0); one choice with
    -0.25 then -0.75 over two chunks (mean -0.5); one without logprobs."""
    two = [_choice(0, "ab", [_token("a", -0.5), _token("b", -1.5)]), _choice(1, "c", [_token("c", -1.0)])]
    first = _chunk(two)
    second = _chunk([_choice(0, "d", [_token("d", -0.25)])]) + _chunk([_choice(0, "e", [_token("e", -0.75)])])
    third = _chunk([_choice(0, "f", None)])
    return b"".join(part + b"data: [DONE]\n\n" for part in (first, second, third))


def test_mean_logprob_and_perplexity_per_stream(backend: ssedelta.Backend, tmp_path: Path) -> None:
    write(tmp_path / "hand.sse", handmade_streams())
    stats = stream_stats([str(tmp_path)], jobs=1, backend=backend)
    assert stats.logprob_tokens.tolist() == [3, 2, 0]
    assert stats.mean_logprob[:2].tolist() == [-1.0, -0.5] and np.isnan(stats.mean_logprob[2])
    assert stats.perplexity[:2].tolist() == pytest.approx([2.718281828, 1.648721271])
    assert np.isnan(stats.perplexity[2])
    logprobs = stats.summary()["logprobs"]
    assert logprobs["streams"] == 2 and logprobs["tokens"] == 5
    # numpy's percentiles interpolate between the two streams: p90 = low + 0.9 * (high - low)
    assert logprobs["mean_logprob"] == {"mean": -0.75, "p50": -0.75, "p90": -0.55}
    assert logprobs["perplexity"] == pytest.approx({"mean": 2.183502, "p50": 2.183502, "p90": 2.611326})


def test_recorded_streams_with_logprobs(backend: ssedelta.Backend, tmp_path: Path) -> None:
    # openai-python: tokens -0.0025094282 and -0.26638845; openai-node: ten tokens summing to
    # -0.6277232786097; the refusal stream has logprobs on its refusal only, not on content
    names = ("openai-python__gpt4o_logprobs_content", "openai-node__gpt4o_logprobs_content_usage",
             "openai-python__gpt4o_logprobs_refusal")  # fmt: skip
    for i, name in enumerate(names):
        write(tmp_path / f"{i}.sse", body(name))
    stats = stream_stats([str(tmp_path)], jobs=1, backend=backend)
    assert stats.logprob_tokens.tolist() == [2, 10, 0]
    assert stats.mean_logprob[:2].tolist() == pytest.approx([-0.1344489391, -0.06277232786])
    assert stats.perplexity[:2].tolist() == pytest.approx([1.143906249, 1.064784390])
    logprobs = stats.summary()["logprobs"]
    assert logprobs["streams"] == 2 and logprobs["tokens"] == 12
    assert logprobs["mean_logprob"]["mean"] == pytest.approx(-0.098610634, abs=1e-6)
    assert logprobs["perplexity"]["p50"] == pytest.approx((1.143906249 + 1.064784390) / 2, abs=1e-6)


def test_responses_output_text_logprobs(backend: ssedelta.Backend, tmp_path: Path) -> None:
    # the output_text part's 13 tokens: -0.25 and -0.75, the eleven others 0; the reasoning_text
    # part before it carries none
    write(
        tmp_path / "r.sse",
        (DATA / "responses" / "vercel-ai__lmstudio_glm47_flash_reasoning_text_tool_call.sse").read_bytes(),
    )
    stats = stream_stats([str(tmp_path)], jobs=1, backend=backend)
    assert stats.format.tolist() == ["responses"]
    assert stats.logprob_tokens.tolist() == [13]
    assert stats.mean_logprob.tolist() == pytest.approx([-1 / 13])
    assert stats.perplexity.tolist() == pytest.approx([1.079959])


def test_stats_command_reports_logprobs(
    backend: ssedelta.Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "hand.sse", handmade_streams())
    argv = ["stats", str(tmp_path), "--backend", backend.name, "-q", "-j", "1"]
    assert cli.main([*argv, "--json"]) == cli.EXIT_OK
    logprobs = json.loads(capsys.readouterr().out)["logprobs"]
    assert logprobs["mean_logprob"] == {"mean": -0.75, "p50": -0.75, "p90": -0.55}
    assert logprobs["perplexity"]["mean"] == pytest.approx((math.e + math.exp(0.5)) / 2, abs=1e-6)
    assert cli.main(argv) == cli.EXIT_OK
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert lines["logprob"].startswith("logprob    mean -0.7500, p50 -0.7500, p90 -0.5500")
    assert "2 streams, 5 tokens" in lines["logprob"]
    assert lines["perplexity"].startswith("perplexity mean 2.1835, p50 2.1835, p90 2.6113")


def test_no_logprobs_no_line(
    backend: ssedelta.Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "plain.sse", _chunk([_choice(0, "x", None)]) + b"data: [DONE]\n\n")
    assert cli.main(["stats", str(tmp_path), "--backend", backend.name, "-q", "-j", "1", "--json"]) == 0
    logprobs = json.loads(capsys.readouterr().out)["logprobs"]
    assert logprobs == {"streams": 0, "tokens": 0, "mean_logprob": {"mean": None, "p50": None, "p90": None},
                        "perplexity": {"mean": None, "p50": None, "p90": None}}  # fmt: skip
    assert cli.main(["stats", str(tmp_path), "--backend", backend.name, "-q", "-j", "1"]) == 0
    assert "perplexity" not in capsys.readouterr().out
