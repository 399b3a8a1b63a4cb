"""Memory-speed floors over the same bytes: what scanning them once costs.

Run once each as a smoke test in the normal test run; measure with
``pytest benchmarks/bench_floor.py --benchmark-enable --benchmark-only --benchmark-group-by=group``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .corpus import Case
from .harness import impl_params, run
from .impls import Impl


@pytest.mark.parametrize("impl", impl_params("floor"))
def test_floor(benchmark: Any, request: pytest.FixtureRequest, impl: Impl, case: Case) -> None:
    run(benchmark, request.config, impl, case)
