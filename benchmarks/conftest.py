"""Fixtures of the benchmark suites: ``case`` runs every benchmark over every profile and real subset."""

from __future__ import annotations

import warnings

import pytest

from . import corpus
from .harness import get_case


@pytest.fixture(params=corpus.CASES, ids=[n.replace("-", "_") for n in corpus.CASES])
def case(request: pytest.FixtureRequest) -> corpus.Case:
    return get_case(request.config, request.param)


@pytest.fixture(autouse=True)
def _quiet_sdk_models():  # type: ignore[no-untyped-def]
    # The SDK's pydantic models warn on every serialisation of an unexpected type (Mistral's content
    # parts); the warning is the SDK's to give, not a benchmark failure.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="pydantic")
        yield
