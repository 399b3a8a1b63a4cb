"""``ChoiceLogprobs.to_numpy()`` of a merged completion of 20,000 tokens with 5 alternatives each:
from the native merger's columns (no token object made), and from the token objects.

Run once each as a smoke test in the normal test run (2,000 tokens); measure with
``pytest benchmarks/bench_to_numpy.py --benchmark-enable --benchmark-only``, or print the figures with
``python -m benchmarks.bench_to_numpy``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import ssedelta
from ssedelta.chat.models import _LAZY

from . import corpus
from .harness import smoke

TOKENS = 20_000


def completion_of(backend: str, tokens: int) -> Any:
    return ssedelta.get_backend(backend).merge(corpus.chat_stream(tokens, logprobs=True).data)


def check(arrays: Any, tokens: list[Any]) -> None:
    """The arrays against the token objects of the same completion."""
    assert arrays.tokens == [t.token for t in tokens]
    assert arrays.top_tokens == [[alt.token for alt in t.top_logprobs] for t in tokens]
    np.testing.assert_array_equal(arrays.logprobs, [t.logprob for t in tokens])
    np.testing.assert_array_equal(
        arrays.top_logprobs, [[alt.logprob for alt in t.top_logprobs] for t in tokens]
    )


@pytest.mark.parametrize(
    "source", [pytest.param("columns", marks=pytest.mark.c_extension), "objects"], ids=["columns", "objects"]
)
def test_to_numpy(benchmark: Any, request: pytest.FixtureRequest, source: str) -> None:
    tokens = TOKENS // 10 if smoke(request.config) else TOKENS
    if source == "columns" and ssedelta.BACKEND != "native":
        pytest.skip("the columns are the native merger's")
    logprobs = completion_of("native" if source == "columns" else "python", tokens).choices[0].logprobs
    expected = completion_of("python", tokens).choices[0].logprobs.content
    benchmark.group = f"to_numpy {tokens} tokens"
    benchmark.extra_info.update(tokens=tokens, source=source)
    check(logprobs.to_numpy(), expected)
    benchmark(logprobs.to_numpy)
    if source == "columns":
        _LAZY.__get__(logprobs)  # the token objects were never made (AttributeError if they were)


def main() -> None:
    for source, backend in (("columns", "native"), ("objects", "python")):
        logprobs = completion_of(backend, TOKENS).choices[0].logprobs
        check(logprobs.to_numpy(), completion_of("python", TOKENS).choices[0].logprobs.content)
        best = min(_timed(logprobs.to_numpy) for _ in range(25))
        print(f"to_numpy, {TOKENS} tokens x 5 alternatives, from the {source}: {best * 1e3:.2f} ms")


def _timed(call: Any) -> float:
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


if __name__ == "__main__":
    main()
