"""``Model.to_dict()`` reading the models' slots directly (the native core; the same result
as :mod:`ssedelta._todict_py`)."""

cimport cython
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.ref cimport PyObject

from . import _todict_py
from ._schema import MAX_DEPTH, Model
from ._slots cimport ssd_field_offset, ssd_get


cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)
    int Py_EnterRecursiveCall(const char* where) except -1
    void Py_LeaveRecursiveCall()

cdef enum:
    MAX_FIELDS = 62

cdef int MAX_DEPTH_C = MAX_DEPTH

cdef enum Nested:
    SCALAR = 0
    ONE = 1
    LIST = 2


@cython.final
cdef class Fields:
    """The known fields of one model class: their keys, slots, bits and kinds."""

    cdef tuple keys
    cdef Py_ssize_t n
    cdef Py_ssize_t offsets[MAX_FIELDS]
    cdef long long bits[MAX_FIELDS]
    cdef bint required[MAX_FIELDS]
    cdef Nested nested[MAX_FIELDS]
    cdef Py_ssize_t extras_at
    cdef Py_ssize_t present_at

    @staticmethod
    cdef Fields of(type cls):
        """``None`` when the class's fields are not plain slots (then the twin converts it)."""
        cdef Fields f = Fields()
        cdef Py_ssize_t k
        spec = cls._spec
        keys = cls._keys
        if len(keys) > MAX_FIELDS:
            return None
        f.keys = tuple(keys)
        f.n = len(keys)
        for k, key in enumerate(keys):
            bit, _kind, sub, is_list = spec[key]
            f.offsets[k] = ssd_field_offset(cls, key)
            if f.offsets[k] < 0:
                return None
            f.bits[k] = bit
            f.required[k] = key in cls._required
            f.nested[k] = SCALAR if sub is None else (LIST if is_list else ONE)
        f.extras_at = ssd_field_offset(cls, "extras")
        f.present_at = ssd_field_offset(cls, "_present")
        if f.extras_at < 0 or f.present_at < 0:
            return None
        return f


cdef dict _fields = {}


cdef object _fields_of(type cls):
    cdef PyObject* found = PyDict_GetItem(_fields, cls)
    if found is not NULL:
        return <object>found
    fields = Fields.of(cls)
    _fields[cls] = fields
    return fields


cpdef dict to_dict(obj):
    """The known fields not ``None``, those the source had and (built in code) the required ones,
    in field order, models inside converted too, then ``extras``. ``ValueError`` for models nested
    deeper than ``MAX_DEPTH`` (a model that contains itself)."""
    return convert(obj, 0)


cdef dict convert(object obj, int depth):
    # Field values are user-settable: each is read as an owned reference and checked before
    # any cast, and lists are re-measured after every call that can run Python code.
    cdef object fields
    cdef Fields f
    cdef void* slot
    cdef bint from_source
    cdef long long present = 0
    cdef int overflow = 0
    cdef Py_ssize_t k
    cdef Nested nested
    cdef dict out
    cdef object value, extras
    if depth >= MAX_DEPTH_C:
        raise _todict_py.too_deep()
    fields = _fields_of(type(obj))
    if fields is None:
        return _todict_py.convert(obj, depth)
    f = <Fields>fields
    slot = ssd_get(obj, f.present_at)
    if slot is NULL:
        return _todict_py.convert(obj, depth)  # the twin raises what getattr does
    from_source = <object>slot is not None
    if from_source:
        if not PyLong_CheckExact(<object>slot):
            return _todict_py.convert(obj, depth)
        present = PyLong_AsLongLongAndOverflow(<object>slot, &overflow)
        if overflow or present < 0:
            return _todict_py.convert(obj, depth)
    Py_EnterRecursiveCall(" in to_dict")
    try:
        out = _PyDict_NewPresized(f.n)
        for k in range(f.n):
            slot = ssd_get(obj, f.offsets[k])
            value = getattr(obj, f.keys[k]) if slot is NULL else <object>slot
            if value is None:
                if from_source:
                    if not present & f.bits[k]:
                        continue
                elif not f.required[k]:
                    continue
            else:
                nested = f.nested[k]
                if nested == LIST:
                    value = _list(value, depth + 1)
                elif nested == ONE and isinstance(value, Model):
                    value = convert(value, depth + 1)
            PyDict_SetItem(out, f.keys[k], value)
        slot = ssd_get(obj, f.extras_at)
        extras = getattr(obj, "extras") if slot is NULL else <object>slot
        if extras:
            out.update(extras)
        return out
    finally:
        Py_LeaveRecursiveCall()


cdef list _list(object value, int depth):
    cdef Py_ssize_t i = 0
    cdef list out
    cdef object item
    if type(value) is not list:
        return [convert(v, depth) if isinstance(v, Model) else v for v in value]
    out = []
    while i < PyList_GET_SIZE(value):
        item = <object>PyList_GET_ITEM(value, i)
        if isinstance(item, Model):
            item = convert(item, depth)
        out.append(item)
        i += 1
    return out
