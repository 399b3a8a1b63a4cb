"""The native core is what loads by default; SSEDELTA_NO_EXTENSIONS switches it off."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ssedelta
from ssedelta._env import NO_EXTENSIONS

PROBE = (
    "import ssedelta, sys; "
    "print(ssedelta.BACKEND, ssedelta.SSEDecoder.__module__, ssedelta.DeltaMerger.__module__, "
    "ssedelta.ChunkDecoder.__module__, ssedelta._schema._to_dict.__module__)"
)


def probe(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SSEDELTA_NO_EXTENSIONS"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE], env=environ, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
def test_native_core_is_loaded_by_default() -> None:
    assert ssedelta.BACKEND == "native"
    assert probe() == [
        "native",
        "ssedelta._sse_c",
        "ssedelta.chat._merge_c",
        "ssedelta.chat._merge_c",
        "ssedelta._todict_c",
    ]


def test_variable_selects_the_pure_python_twin() -> None:
    for value in ("1", "0", "yes"):
        assert probe(SSEDELTA_NO_EXTENSIONS=value) == [
            "python",
            "ssedelta._sse_py",
            "ssedelta.chat._merge_py",
            "ssedelta.chat._merge_py",
            "ssedelta._todict_py",
        ]


def test_selectors_agree_with_the_backend() -> None:
    from ssedelta import _schema, _sse, _todict
    from ssedelta.chat import _merge

    assert _schema._to_dict is _todict.to_dict is ssedelta.get_backend(ssedelta.BACKEND).to_dict
    assert _sse.SSEDecoder is ssedelta.SSEDecoder
    assert _merge.DeltaMerger is ssedelta.DeltaMerger
    assert _merge.ChunkDecoder is ssedelta.ChunkDecoder


FORMATS_PROBE = (
    "from ssedelta import anthropic, responses; "
    "print(*(next(c.__module__ for c in cls.__mro__ if c.__module__.endswith(('_c', '_py'))) "
    "for cls in (responses.ResponsesMerger, anthropic.MessagesMerger)))"
)


def merger_module(cls: type) -> str:
    """The module of the merger ``cls`` is (or that it binds to a tokenizer)."""
    return next(c.__module__ for c in cls.__mro__ if c.__module__.endswith(("_c", "_py")))


def probe_formats(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SSEDELTA_NO_EXTENSIONS"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", FORMATS_PROBE],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
def test_native_format_mergers_are_loaded_by_default() -> None:
    assert probe_formats() == ["ssedelta.responses._merge_c", "ssedelta.anthropic._merge_c"]


def test_variable_selects_the_format_twins() -> None:
    assert probe_formats(SSEDELTA_NO_EXTENSIONS="1") == [
        "ssedelta.responses._merge_py",
        "ssedelta.anthropic._merge_py",
    ]


@pytest.mark.c_extension
@pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set")
def test_format_merger_classes_follow_the_backend() -> None:
    from ssedelta import anthropic, responses

    native, python = ssedelta.get_backend("native"), ssedelta.get_backend("python")
    assert merger_module(responses.merger_class(native)) == "ssedelta.responses._merge_c"
    assert merger_module(anthropic.merger_class(native)) == "ssedelta.anthropic._merge_c"
    assert merger_module(responses.merger_class(python)) == "ssedelta.responses._merge_py"
    assert merger_module(anthropic.merger_class(python)) == "ssedelta.anthropic._merge_py"
