"""Selects ``to_dict`` for the models: the native one unless SSEDELTA_NO_EXTENSIONS is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._env import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._todict_py import to_dict
else:
    try:
        from ._todict_c import to_dict
    except ImportError:  # pragma: no cover  # a broken install; the guard test catches it
        from ._todict_py import to_dict

__all__ = ["to_dict"]
