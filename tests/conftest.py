"""Every test that takes ``backend`` runs once against the native core and once against the twin."""

from __future__ import annotations

import argparse

import pytest

import ssedelta
from ssedelta import _schema
from ssedelta._env import NO_EXTENSIONS

C_EXT_MARK = pytest.mark.c_extension


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--c-extensions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the tests of the native core (--no-c-extensions deselects them)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--c-extensions"):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("c_extension") else selected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


BACKENDS = [
    pytest.param(
        "native",
        marks=[C_EXT_MARK, pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")],
    ),
    "python",
]


@pytest.fixture(params=BACKENDS, scope="session")
def backend(request: pytest.FixtureRequest) -> ssedelta.Backend:
    return ssedelta.get_backend(request.param)


@pytest.fixture(autouse=True)
def _models_convert_with_the_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a test run against a backend, ``Model.to_dict()`` is that backend's too."""
    if "backend" in request.fixturenames:
        backend = request.getfixturevalue("backend")
        monkeypatch.setattr(_schema, "_to_dict", backend.to_dict)
