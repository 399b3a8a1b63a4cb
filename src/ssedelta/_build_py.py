"""Models built from decoded JSON values (the twin of :mod:`ssedelta._build_c`).

``from_dict(cls, obj, path)`` is ``cls.from_dict(obj, path)``; ``one(sub, value, path)`` converts a
value by a field's model or discriminated union of models; ``replaced(obj, changes)`` is a copy of
a model with some keys changed. The native module gives the same objects and raises the same errors.
"""

from __future__ import annotations

from typing import Any

from ._schema import Model, _one

__all__ = ["from_dict", "one", "replaced"]


def from_dict(cls: Any, obj: Any, path: str = "") -> Any:
    """``cls.from_dict(obj, path)``."""
    return cls.from_dict(obj, path)


def one(sub: Any, value: Any, path: str) -> Any:
    """``value`` converted by ``sub``: a model class, or a dict of them by ``type`` (``None``: the
    default), as a model's field converts it."""
    return _one(sub, value, path)


def replaced(obj: Model, changes: dict[str, Any]) -> Any:
    """A copy of ``obj`` with ``changes``: known keys as fields, marked present; others in a copy
    of its extras."""
    cls = type(obj)
    spec = cls._spec
    values = {key: getattr(obj, key) for key in cls._keys}
    extras = dict(obj.extras)
    present = obj._present
    for key, value in changes.items():
        entry = spec.get(key)
        if entry is None:
            extras[key] = value
        else:
            values[key] = value
            if present is not None:
                present |= entry[0]
    return cls(**values, extras=extras, _present=present)  # type: ignore[call-arg]
