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
        "ssedelta._merge_c",
        "ssedelta._merge_c",
        "ssedelta._todict_c",
    ]


def test_variable_selects_the_pure_python_twin() -> None:
    for value in ("1", "0", "yes"):
        assert probe(SSEDELTA_NO_EXTENSIONS=value) == [
            "python",
            "ssedelta._sse_py",
            "ssedelta._merge_py",
            "ssedelta._merge_py",
            "ssedelta._todict_py",
        ]


def test_selectors_agree_with_the_backend() -> None:
    from ssedelta import _merge, _schema, _sse, _todict

    assert _schema._to_dict is _todict.to_dict is ssedelta.get_backend(ssedelta.BACKEND).to_dict
    assert _sse.SSEDecoder is ssedelta.SSEDecoder
    assert _merge.DeltaMerger is ssedelta.DeltaMerger
    assert _merge.ChunkDecoder is ssedelta.ChunkDecoder
