"""Anthropic Messages mergers: generated streams fed in 4 KiB pieces to the final message.

Run once each, on tenth-size streams, as a smoke test in the normal test run (the output is checked
against what the generator emitted); measure with
``pytest benchmarks/bench_anthropic.py --benchmark-enable --benchmark-only --benchmark-group-by=group``
or print the ratios with ``python -m benchmarks.anthropic_profiles``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .anthropic_profiles import IMPLS, PROFILES, Impl, check, profile
from .harness import smoke


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize(
    "impl", [pytest.param(i, id=i.key, marks=[pytest.mark.c_extension] if i.native else []) for i in IMPLS]
)
def test_anthropic_merge(benchmark: Any, request: pytest.FixtureRequest, impl: Impl, name: str) -> None:
    stream = profile(name, small=smoke(request.config))
    run = impl.make()
    pieces = stream.pieces
    benchmark.group = f"anthropic merge {name}"
    benchmark.extra_info.update(impl=impl.key, label=impl.label, case=name, events=stream.events)
    errors = check(impl, stream, run(pieces))
    benchmark.extra_info["correct"] = not errors
    if errors:
        if impl.key.startswith("ssedelta"):
            pytest.fail("\n".join(errors))
        pytest.xfail(errors[0])
    benchmark(run, pieces)
