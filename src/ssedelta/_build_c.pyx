# cython: language_level=3
"""Models built from decoded JSON values by direct slot writes (the same objects as
:mod:`ssedelta._build_py`).

A model is allocated and its fields stored into their slots, whose offsets are read from the
class's member descriptors when the class is first built; the keys, bits, kinds and nested models
come from its ``_spec``. Anything this builder does not take (a value of the wrong kind, a class
whose fields are not plain slots) is handed to the twin, which builds it or raises its error.
"""

cimport cython
from cpython.dict cimport PyDict_GetItem, PyDict_Next
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.ref cimport PyObject

from dataclasses import MISSING

from . import _build_py
from ._schema import ANY, BOOL, COUNT, DICT, INT, LIST, NUM, STR, TEXT
from ._slots cimport ssd_alloc, ssd_field_offset, ssd_get, ssd_put


cdef extern from "Python.h":
    list PyList_New(Py_ssize_t size)
    void PyList_SET_ITEM(object lst, Py_ssize_t i, object value)
    void Py_INCREF(object o)
    int Py_EnterRecursiveCall(const char* where) except -1
    void Py_LeaveRecursiveCall()

__all__ = ["from_dict", "one", "replaced"]

cdef enum:
    MAX_FIELDS = 62

cdef enum Kind:
    K_STR
    K_INT
    K_COUNT
    K_NUM
    K_BOOL
    K_DICT
    K_LIST
    K_TEXT
    K_ANY
    K_MODEL

cdef dict _KINDS = {STR: K_STR, INT: K_INT, COUNT: K_COUNT, NUM: K_NUM, BOOL: K_BOOL, DICT: K_DICT,
                    LIST: K_LIST, TEXT: K_TEXT, ANY: K_ANY}


class _Bail(Exception):
    """A value this builder does not take: the twin builds it (or raises its error)."""


cdef object Bail = _Bail


@cython.final
cdef class Field:
    cdef Py_ssize_t offset
    cdef long long bit
    cdef Kind kind
    cdef object sub  # a model class, a dict of them by "type", or None
    cdef bint union
    cdef bint is_list


@cython.final
cdef class Layout:
    """Where the fields of one model class live, and how each is converted."""

    cdef type cls
    cdef dict fields  # key -> Field
    cdef Py_ssize_t n
    cdef Py_ssize_t offsets[MAX_FIELDS]
    cdef list defaults  # the value of each field when the dict does not have its key
    cdef Py_ssize_t extras_at
    cdef Py_ssize_t present_at

    @staticmethod
    cdef Layout of(type cls):
        """``None`` when the class's fields are not plain slots (then the twin builds it)."""
        cdef Layout lay = Layout()
        cdef Field f
        cdef Py_ssize_t k
        spec = cls._spec
        keys = cls._keys
        if len(keys) > MAX_FIELDS:
            return None
        lay.cls = cls
        lay.fields = {}
        lay.n = len(keys)
        lay.defaults = []
        declared = getattr(cls, "__dataclass_fields__", None)
        if type(declared) is not dict:
            return None
        for k, key in enumerate(keys):
            field = declared.get(key)
            if field is None or field.default is MISSING or field.default_factory is not MISSING:
                return None
            lay.defaults.append(field.default)
            bit, kind, sub, is_list = spec[key]
            f = Field()
            f.offset = ssd_field_offset(cls, key)
            if f.offset < 0 or type(bit) is not int or not 0 < bit < (1 << 62):
                return None
            f.bit = bit
            if sub is not None:
                f.kind = K_MODEL
            elif kind in _KINDS:
                f.kind = _KINDS[kind]
            else:
                return None
            f.sub = sub
            f.union = type(sub) is dict
            f.is_list = is_list
            lay.offsets[k] = f.offset
            lay.fields[key] = f
        lay.extras_at = ssd_field_offset(cls, "extras")
        lay.present_at = ssd_field_offset(cls, "_present")
        if lay.extras_at < 0 or lay.present_at < 0:
            return None
        return lay


cdef dict _layouts = {}


cdef Layout layout_of(type cls):
    cdef PyObject* found = PyDict_GetItem(_layouts, cls)
    if found is not NULL:
        return <Layout>found
    lay = Layout.of(cls)
    _layouts[cls] = lay
    return lay


cdef inline bint kind_ok(Kind kind, object value) noexcept:
    cdef type tp = type(value)
    if kind == K_STR:
        return tp is str
    if kind == K_INT or kind == K_COUNT:
        return tp is int
    if kind == K_NUM:
        return tp is int or tp is float
    if kind == K_BOOL:
        return tp is bool
    if kind == K_DICT:
        return tp is dict
    if kind == K_LIST:
        return tp is list
    if kind == K_TEXT:
        return tp is str or tp is list
    return kind == K_ANY


cdef object build(type cls, object obj):
    """The model ``cls`` of the dict ``obj``; raises ``_Bail`` for anything the twin must do."""
    cdef Layout lay = layout_of(cls)
    cdef Field f
    cdef Py_ssize_t pos = 0, k
    cdef PyObject* pkey
    cdef PyObject* pvalue
    cdef PyObject* found
    cdef long long present = 0
    cdef object value, new
    cdef dict extras
    if lay is None or type(obj) is not dict:
        raise Bail
    new = ssd_alloc(cls)
    for k in range(lay.n):
        ssd_put(new, lay.offsets[k], <object>PyList_GET_ITEM(lay.defaults, k))
    extras = {}
    ssd_put(new, lay.extras_at, extras)
    ssd_put(new, lay.present_at, None)
    # The dict is not changed while it is read: no code of its keys or values runs here
    # (keys are compared with exact str keys; values are only type-checked or built from).
    Py_EnterRecursiveCall(" in from_dict")
    try:
        while PyDict_Next(obj, &pos, &pkey, &pvalue):
            if type(<object>pkey) is not str:
                raise Bail
            found = PyDict_GetItem(lay.fields, <object>pkey)
            if found is NULL:
                extras[<object>pkey] = <object>pvalue
                continue
            f = <Field>found
            present |= f.bit
            value = <object>pvalue
            if value is not None:
                if f.kind == K_MODEL:
                    value = convert(f, value)
                elif not kind_ok(f.kind, value):
                    if f.kind == K_COUNT and type(value) is float and value.is_integer():
                        value = int(value)
                    else:
                        raise Bail
            ssd_put(new, f.offset, value)
    finally:
        Py_LeaveRecursiveCall()
    ssd_put(new, lay.present_at, present)
    return new


cdef object convert(Field f, object value):
    cdef Py_ssize_t k, n
    cdef list out
    cdef object item
    if not f.is_list:
        return one_of(f.sub, f.union, value)
    if type(value) is not list:
        raise Bail
    n = PyList_GET_SIZE(value)
    out = PyList_New(n)
    for k in range(n):
        item = one_of(f.sub, f.union, <object>PyList_GET_ITEM(value, k))
        Py_INCREF(item)
        PyList_SET_ITEM(out, k, item)
    return out


cdef object one_of(object sub, bint union, object value):
    cdef PyObject* found
    if union:
        if type(value) is not dict:
            raise Bail
        kind = (<dict>value).get("type")
        if type(kind) is not str and kind is not None:
            raise Bail  # the twin looks it up (an unhashable one raises there)
        found = PyDict_GetItem(sub, kind)
        sub = <object>found if found is not NULL else (<dict>sub)[None]
    if type(sub) is not type:
        raise Bail
    return build(<type>sub, value)


def from_dict(cls, obj, path=""):
    """``cls.from_dict(obj, path)``."""
    if type(cls) is type:
        try:
            return build(<type>cls, obj)
        except _Bail:
            pass
    return _build_py.from_dict(cls, obj, path)


def one(sub, value, path):
    """``value`` converted by ``sub`` (a model class or a dict of them by ``type``), as a model's
    field converts it."""
    try:
        return one_of(sub, type(sub) is dict, value)
    except _Bail:
        pass
    return _build_py.one(sub, value, path)


def replaced(obj, dict changes):
    """A copy of ``obj`` with ``changes``: known keys as fields, marked present; others in a copy
    of its extras."""
    cdef Layout lay = layout_of(type(obj))
    cdef Field f
    cdef PyObject* found
    cdef void* slot
    cdef Py_ssize_t k
    cdef object new, present, extras
    if lay is None:
        return _build_py.replaced(obj, changes)
    new = ssd_alloc(lay.cls)
    # From here on no Python code runs until every slot is read (a slot never set: the twin
    # raises what getattr does).
    for k in range(lay.n):
        slot = ssd_get(obj, lay.offsets[k])
        if slot is NULL:
            return _build_py.replaced(obj, changes)
        ssd_put(new, lay.offsets[k], <object>slot)
    slot = ssd_get(obj, lay.extras_at)
    if slot is NULL or type(<object>slot) is not dict or ssd_get(obj, lay.present_at) is NULL:
        return _build_py.replaced(obj, changes)
    present = <object>ssd_get(obj, lay.present_at)
    extras = dict(<object>slot)
    for key, value in changes.items():
        found = PyDict_GetItem(lay.fields, key) if type(key) is str else NULL
        if found is NULL:
            extras[key] = value
        else:
            f = <Field>found
            ssd_put(new, f.offset, value)
            if present is not None:
                present = present | f.bit
    ssd_put(new, lay.extras_at, extras)
    ssd_put(new, lay.present_at, present)
    return new
