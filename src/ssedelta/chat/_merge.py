"""Selects the chunk decoder and merger: the native ones unless SSEDELTA_NO_EXTENSIONS is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._env import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._merge_py import ChunkDecoder, DeltaMerger
else:
    try:
        from ._merge_c import ChunkDecoder, DeltaMerger
    except ImportError:  # pragma: no cover  # a broken install; the guard test catches it
        from ._merge_py import ChunkDecoder, DeltaMerger

__all__ = ["ChunkDecoder", "DeltaMerger"]
