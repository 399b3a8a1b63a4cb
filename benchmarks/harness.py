"""What every pytest-benchmark test in this folder does, in one place.

With ``--benchmark-disable`` (the project's default, so the normal test run includes this folder) each
benchmark runs once, on tenth-size streams, as a smoke test; the ``long`` profile and litellm are left
out. With ``--benchmark-enable`` the full-size streams are measured.

Before any timing, the implementation is run once on every stream of the case and its output checked.
A peer that gets a case wrong is not timed: the test is reported as an expected failure naming what was
wrong (and ``extra_info["correct"]`` is ``False``). ssedelta getting a case wrong fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import corpus
from .impls import Impl, case_errors, impls_for, run_checked

__all__ = ["impl_params", "run"]


def impl_params(group: str) -> list[Any]:
    """The implementations of ``group`` as pytest parameters (the native ones marked ``c_extension``)."""
    return [
        pytest.param(impl, id=impl.key, marks=[pytest.mark.c_extension] if impl.native else [])
        for impl in impls_for(group)
    ]


def smoke(config: pytest.Config) -> bool:
    """Whether pytest-benchmark only runs each benchmark once (its own rule for ``disabled``)."""
    return bool(config.getoption("benchmark_disable", False)) and not config.getoption(
        "benchmark_enable", False
    )


def get_case(config: pytest.Config, name: str) -> corpus.Case:
    small = smoke(config)
    if small and name == "long":
        pytest.skip("the long profile is measured only with --benchmark-enable")
    case = corpus.get_case(name, small=small)
    if case is None:
        pytest.skip(f"no recorded streams in {corpus.real_dir()}")
    return case


def run(benchmark: Any, config: pytest.Config, impl: Impl, case: corpus.Case) -> None:
    reason = impl.available()
    if reason:
        pytest.skip(reason)
    if impl.slow_import and smoke(config):
        pytest.skip(f"{impl.label} is measured only with --benchmark-enable")
    benchmark.group = f"{impl.group} {case.name}"
    benchmark.extra_info.update(
        impl=impl.key,
        label=impl.label,
        case=case.name,
        streams=len(case.streams),
        chunks=case.chunks,
        bytes=case.nbytes,
        piece_size=corpus.PIECE_SIZE,
    )
    if benchmark.disabled:  # the one untimed run is the smoke test
        runner, errors = benchmark(run_checked, impl, case)
    else:
        runner, errors = run_checked(impl, case)
    benchmark.extra_info["correct"] = not errors
    if errors:
        benchmark.extra_info["errors"] = errors[:10]
        summary = f"{impl.label} is wrong on {case.name}: {errors[0]}"
        if len(errors) > 1:
            summary += f" (and {len(errors) - 1} more)"
        if impl.key.startswith("ssedelta"):
            pytest.fail(summary + "\n" + "\n".join(errors[:10]))
        pytest.xfail(summary)
    if benchmark.disabled:
        return
    results = benchmark(runner)
    assert not case_errors(impl, case, results)
