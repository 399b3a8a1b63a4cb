"""Responses API mergers on generated wire-exact streams, fed in 4 KiB pieces.

Run once each, on tenth-size streams, as a smoke test in the normal test run; measure with
``pytest benchmarks/bench_responses.py --benchmark-enable --benchmark-only --benchmark-group-by=group``
or print the ratios with ``python -m benchmarks.responses_profiles``.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import responses_profiles as rp
from .harness import smoke

PROFILES = ("text", "tool", "reasoning")


def _params() -> list[Any]:
    return [
        pytest.param(key, id=key, marks=[pytest.mark.c_extension] if native else [])
        for key, (_, _, native) in rp.IMPLS.items()
    ]


@pytest.mark.parametrize("profile_name", PROFILES)
@pytest.mark.parametrize("key", _params())
def test_responses_merge(benchmark: Any, request: pytest.FixtureRequest, key: str, profile_name: str) -> None:
    if key == "openai-sdk":
        pytest.importorskip("openai")
    small = smoke(request.config)
    profile = next(p for p in rp.profiles(small) if p.name == profile_name)
    benchmark.group = f"responses merge {profile_name}"
    benchmark.extra_info.update(impl=key, label=rp.IMPLS[key][0], case=profile_name, events=profile.events)
    run = rp.checked(key, profile)  # correctness first: a wrong result fails before any timing
    result = benchmark(run)
    assert not rp.check(key, result, profile)
