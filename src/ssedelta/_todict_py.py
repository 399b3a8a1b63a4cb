"""``Model.to_dict()``: a model as the plain JSON value it stands for (the pure-Python twin)."""

from __future__ import annotations

from typing import Any

from ._schema import MAX_DEPTH, Model


def to_dict(obj: Model) -> dict[str, Any]:
    """The known fields not ``None``, those the source had and (built in code) the required ones,
    in field order, models inside converted too, then ``extras``. ``ValueError`` for models nested
    deeper than ``MAX_DEPTH`` (a model that contains itself)."""
    return convert(obj, 0)


def too_deep() -> ValueError:
    return ValueError(f"to_dict: models nested more than {MAX_DEPTH} deep (a model that contains itself?)")


def convert(obj: Model, depth: int) -> dict[str, Any]:
    if depth >= MAX_DEPTH:
        raise too_deep()
    depth += 1
    present = obj._present
    required = obj._required
    out: dict[str, Any] = {}
    for key, (bit, _kind, sub, is_list) in obj._spec.items():
        value = getattr(obj, key)
        if value is None:
            if present is None:
                if key not in required:
                    continue
            elif not present & bit:
                continue
        elif sub is not None:
            if is_list:
                value = [convert(v, depth) if isinstance(v, Model) else v for v in value]
            elif isinstance(value, Model):
                value = convert(value, depth)
        out[key] = value
    extras = obj.extras
    if extras:
        out.update(extras)
    return out
