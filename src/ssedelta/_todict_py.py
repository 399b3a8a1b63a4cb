"""``Model.to_dict()``: a model as the plain JSON value it stands for (the pure-Python twin)."""

from __future__ import annotations

from typing import Any

from ._schema import Model


def to_dict(obj: Model) -> dict[str, Any]:
    """The known fields the source had (or, built in code, the required ones and those not
    ``None``) in field order, models inside converted too, then ``extras``."""
    present = obj._present
    required = obj._required
    out: dict[str, Any] = {}
    for key, (bit, _kind, sub, is_list) in obj._spec.items():
        value = getattr(obj, key)
        if present is None:
            if value is None and key not in required:
                continue
        elif not present & bit:
            continue
        if value is not None and sub is not None:
            if is_list:
                value = [to_dict(v) if isinstance(v, Model) else v for v in value]
            elif isinstance(value, Model):
                value = to_dict(value)
        out[key] = value
    if obj.extras:
        out.update(obj.extras)
    return out
