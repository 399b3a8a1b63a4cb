"""The two backends as objects, so callers and tests can hold either explicitly."""

from __future__ import annotations

import functools
from importlib import import_module
from typing import Any

from . import _api
from ._env import NO_EXTENSIONS

_SUFFIX = {"native": "_c", "python": "_py"}


class Backend:
    """One backend's classes and stream functions: ``"native"`` (the Cython core) or ``"python"``."""

    def __init__(self, name: str) -> None:
        if name not in _SUFFIX:
            raise ValueError(f"unknown backend {name!r}; expected 'native' or 'python'")
        suffix = _SUFFIX[name]
        sse = import_module(f"ssedelta._sse{suffix}")
        merge = import_module(f"ssedelta.chat._merge{suffix}")
        todict = import_module(f"ssedelta._todict{suffix}")
        self.name = name
        self.SSEDecoder: Any = sse.SSEDecoder
        self.ChunkDecoder: Any = merge.ChunkDecoder
        self.DeltaMerger: Any = merge.DeltaMerger
        self.to_dict: Any = todict.to_dict
        self.iter_chunks = functools.partial(_api.iter_chunks, decoder_class=self.ChunkDecoder)
        self.aiter_chunks = functools.partial(_api.aiter_chunks, decoder_class=self.ChunkDecoder)
        # A backend may give its own merge (the native one, which makes and drives its merger in C).
        own = getattr(merge, "merge", None)
        self.merge: Any = (
            own if own is not None else functools.partial(_api.merge, merger_class=self.DeltaMerger)
        )
        self.amerge = functools.partial(_api.amerge, merger_class=self.DeltaMerger)

    def __repr__(self) -> str:
        return f"<ssedelta backend {self.name!r}>"


_cache: dict[str, Backend] = {}


def get_backend(name: str) -> Backend:
    """The backend called ``name``; ``ImportError`` when the native core is not built."""
    if name not in _cache:
        _cache[name] = Backend(name)
    return _cache[name]


def selected() -> Backend:
    if not NO_EXTENSIONS:
        try:
            return get_backend("native")
        except ImportError:  # pragma: no cover  # a broken install; the guard test catches it
            pass
    return get_backend("python")
