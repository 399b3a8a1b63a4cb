"""The machinery behind the models: lossless dict <-> slotted dataclass conversion.

Each model class declares its known JSON keys as dataclass fields. Unknown keys
go to ``extras``; which known keys were present in the source (even as
``null``) is kept in ``_present`` so that ``to_dict()`` gives back exactly the
object that was decoded.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        return lambda f: f


import orjson

from .errors import SSEDeltaError

T = TypeVar("T", bound="Model")

#: The annotation of timestamps and token counts: an ``int``, read from a whole-numbered float too
#: (a provider's ``12.0`` becomes ``12``; ``12.5`` is a :class:`SchemaError`).
Count: TypeAlias = int

# Kinds of a field's value (besides None, which every field accepts).
STR, INT, NUM, BOOL, DICT, LIST, ANY, TEXT = "str", "int", "num", "bool", "dict", "list", "any", "text"
# An int that is read from a whole-numbered float too (``12.0`` -> ``12``): timestamps and token counts.
COUNT = "count"

#: Models nested deeper than this in ``to_dict`` are taken for a model that contains itself.
MAX_DEPTH = 100


#: The types the value of a scalar field may have, by kind (``None``: any value).
_SCALAR_TYPES: dict[str, tuple[type, ...] | None] = {
    STR: (str,),
    INT: (int,),
    COUNT: (int,),
    NUM: (int, float),
    BOOL: (bool,),
    DICT: (dict,),
    LIST: (list,),
    TEXT: (str, list),
    ANY: None,
}
#: The same as checks of a value.
_SCALAR_CHECKS: dict[str, Any] = {
    kind: (lambda v: True) if types is None else (lambda v, types=types: type(v) in types)
    for kind, types in _SCALAR_TYPES.items()
}

_KIND_OF_ANNOTATION = {
    "str": STR,
    "int": INT,
    "Count": COUNT,
    "float": NUM,
    "bool": BOOL,
    "Any": ANY,
    "dict[str, Any]": DICT,
    "list[Any]": LIST,
    "list[int]": LIST,
    "str | list[Any]": TEXT,
}


class SchemaError(SSEDeltaError, ValueError):
    """A value does not have the type its schema says; ``path`` names where."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def scalar_mismatch(kind: str, value: Any, path: str) -> Any:
    """The value of a field of scalar ``kind`` that failed its check in ``_SCALAR_CHECKS``: a count
    sent as a whole-numbered float, as an ``int``; else a :class:`SchemaError` at ``path``."""
    if kind == COUNT and type(value) is float and value.is_integer():
        return int(value)
    raise SchemaError(f"expected {INT if kind == COUNT else kind}, got {_json_type(value)}", path)


class Model:
    """Base of every model: ``from_dict`` / ``to_dict`` / ``from_json`` / ``to_json``.

    ``to_dict()`` writes a known field when its value is not ``None``, when the source had the
    key (a ``null`` the source sent is kept), and, for an object built in code, when the field
    is required. So an assignment after decoding (``chunk.model = "gpt-4o"``, or through
    ``dataclasses.replace``) shows in ``to_dict``/``to_json``/``to_sse``. ``==`` compares the
    field values and ``extras``, not which keys the source had: an object decoded from
    ``{"id": "x", "model": null}`` equals one decoded from ``{"id": "x"}``, while their
    ``to_dict()`` differ by the ``null``. A model that contains itself (a cycle made in code)
    raises ``ValueError`` in ``to_dict``.
    """

    __slots__ = ()

    # Filled in by ``model``: key -> (bit, kind, model class or None, is list).
    _spec: ClassVar[dict[str, tuple[int, str, Any, bool]]]
    # The same for ``from_dict``: key -> (the field's own name, bit, the types a scalar may have
    # or None for any, model class or None, is list, kind).
    _reads: ClassVar[dict[str, tuple[str, int, tuple[type, ...] | None, Any, bool, str]]]
    _keys: ClassVar[tuple[str, ...]]
    _required: ClassVar[frozenset[str]]
    _variants: ClassVar[dict[str, Any]] = {}

    extras: dict[str, Any]
    _present: int | None

    @classmethod
    def from_dict(cls: type[T], obj: Any, _path: str = "") -> T:
        if type(obj) is not dict:
            raise SchemaError(f"expected an object, got {_json_type(obj)}", _path)
        reads = cls._reads
        values: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        present = 0
        for key, value in obj.items():
            entry = reads.get(key)
            if entry is None:
                extras[key] = value
                continue
            name, bit, types, sub, is_list, kind = entry
            present |= bit
            if value is not None:
                if sub is not None:
                    value = _convert(sub, is_list, value, f"{_path}.{key}" if _path else key)
                elif types is not None and type(value) not in types:
                    value = scalar_mismatch(kind, value, f"{_path}.{key}" if _path else key)
            values[name] = value
        return cls(**values, extras=extras, _present=present)  # type: ignore[call-arg]

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON value: the known fields not ``None``, those the source had and (built in
        code) the required ones, models inside converted too, then ``extras``."""
        return _to_dict(self)

    @classmethod
    def from_json(cls: type[T], data: str | bytes | bytearray | memoryview) -> T:
        return cls.from_dict(orjson.loads(data))

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    def to_sse(self) -> bytes:
        """This object as one SSE event in OpenAI's compact form: ``data: {...}\n\n``."""
        return b"data: " + orjson.dumps(self.to_dict()) + b"\n\n"

    @property
    def fields_set(self) -> frozenset[str]:
        """The known keys ``to_dict`` writes: those not ``None``, those the source had and (built in
        code) the required ones."""
        present = self._present
        if present is None:
            return frozenset(k for k in self._keys if getattr(self, k) is not None or k in self._required)
        return frozenset(k for k in self._keys if getattr(self, k) is not None or present & self._spec[k][0])


def _convert(sub: Any, is_list: bool, value: Any, path: str) -> Any:
    if not is_list:
        return _one(sub, value, path)
    if type(value) is not list:
        raise SchemaError(f"expected array, got {_json_type(value)}", path)
    return [_one(sub, v, f"{path}[{i}]") for i, v in enumerate(value)]


def _one(sub: Any, value: Any, path: str) -> Any:
    if isinstance(sub, dict):  # discriminated on "type"
        if type(value) is not dict:
            raise SchemaError(f"expected an object, got {_json_type(value)}", path)
        kind = value.get("type")
        # A type that is not a string is no variant's: the default's ``type`` field refuses it.
        sub = sub.get(kind, sub[None]) if type(kind) is str else sub[None]
    return sub.from_dict(value, path)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass_transform(field_specifiers=(dataclasses.field,))
def model(*required: str) -> Any:
    """Class decorator: a slotted dataclass whose fields are the known JSON keys.

    Every known field defaults to ``None``; ``extras`` holds unknown keys and
    ``_present`` (hidden from ``repr`` and ``==``) the keys the source had.
    """

    def wrap(cls: type[T]) -> type[T]:
        annotations = dict(inspect.get_annotations(cls))
        annotations["extras"] = "dict[str, Any]"
        annotations["_present"] = "int | None"
        cls.__annotations__ = annotations
        cls.extras = dataclasses.field(default_factory=dict)
        cls._present = dataclasses.field(default=None, repr=False, compare=False)
        made = dataclasses.dataclass(slots=True)(cls)
        made._required = frozenset(required)
        made._pending_annotations = {  # type: ignore[attr-defined]
            k: v for k, v in annotations.items() if k not in ("extras", "_present")
        }
        _PENDING.append(made)
        return made

    return wrap


_PENDING: list[Any] = []


def resolve(module_name: str) -> None:
    """Turn the string annotations of the models of ``module_name`` into conversion specs."""
    namespace = vars(sys.modules[module_name])
    for cls in _PENDING:
        spec: dict[str, tuple[int, str, Any, bool]] = {}
        for i, (key, annotation) in enumerate(cls._pending_annotations.items()):
            kind_text = annotation.replace(" | None", "").strip()
            sub: Any = None
            is_list = False
            if kind_text in _KIND_OF_ANNOTATION:
                kind = _KIND_OF_ANNOTATION[kind_text]
            else:
                if kind_text.startswith("list[") and kind_text.endswith("]"):
                    is_list = True
                    kind_text = kind_text[5:-1]
                names = [n.strip() for n in kind_text.split("|")]
                kind = "model"
                if len(names) == 1:
                    sub = namespace[names[0]]
                else:
                    variants = [namespace[n] for n in names]
                    sub = {v._discriminator: v for v in variants}
                    sub[None] = variants[0]
            spec[key] = (1 << i, kind, sub, is_list)
        cls._spec = spec
        cls._keys = tuple(spec)
        # The field's name as the class spells it: keyword arguments named by that very string
        # object are matched by identity (a key decoded from JSON is another string of the same text).
        cls._reads = {
            key: (key, bit, _SCALAR_TYPES[kind] if sub is None else None, sub, is_list, kind)
            for key, (bit, kind, sub, is_list) in spec.items()
        }
        del cls._pending_annotations
    _PENDING.clear()


from ._todict import to_dict as _to_dict  # noqa: E402  # it needs Model
