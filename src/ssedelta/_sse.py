"""Selects the SSE tokenizer: the native one unless SSEDELTA_NO_EXTENSIONS is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._env import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._sse_py import SSEDecoder
else:
    try:
        from ._sse_c import SSEDecoder
    except ImportError:  # pragma: no cover  # a broken install; the guard test catches it
        from ._sse_py import SSEDecoder

__all__ = ["SSEDecoder"]
