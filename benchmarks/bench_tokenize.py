"""SSE tokenizers: bytes fed in 4 KiB pieces to event objects.

Run once each as a smoke test in the normal test run; measure with
``pytest benchmarks/bench_tokenize.py --benchmark-enable --benchmark-only --benchmark-group-by=group``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .corpus import Case
from .harness import impl_params, run
from .impls import Impl


@pytest.mark.parametrize("impl", impl_params("tokenize"))
def test_tokenize(benchmark: Any, request: pytest.FixtureRequest, impl: Impl, case: Case) -> None:
    run(benchmark, request.config, impl, case)
