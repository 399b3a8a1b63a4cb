"""``Model.to_dict()`` reading the models' slots directly (the native core; the same result
as :mod:`ssedelta._todict_py`)."""

cimport cython
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.ref cimport Py_INCREF, PyObject

from . import _todict_py
from ._schema import Model
from ._slots cimport ssd_get, ssd_slot_offset


cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)

cdef enum:
    MAX_FIELDS = 62

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
            f.offsets[k] = _slot(cls, key)
            if f.offsets[k] < 0:
                return None
            f.bits[k] = bit
            f.required[k] = key in cls._required
            f.nested[k] = SCALAR if sub is None else (LIST if is_list else ONE)
        f.extras_at = _slot(cls, "extras")
        f.present_at = _slot(cls, "_present")
        if f.extras_at < 0 or f.present_at < 0:
            return None
        return f


cdef Py_ssize_t _slot(type cls, str name):
    cdef Py_ssize_t at = -1
    for klass in cls.__mro__:
        descr = klass.__dict__.get(name)
        if descr is not None:
            at = ssd_slot_offset(descr, klass)
            break
    return at


cdef dict _fields = {}


cdef object _fields_of(type cls):
    cdef PyObject* found = PyDict_GetItem(_fields, cls)
    if found is not NULL:
        return <object>found
    fields = Fields.of(cls)
    _fields[cls] = fields
    return fields


cpdef dict to_dict(obj):
    """The known fields the source had (or, built in code, the required ones and those not
    ``None``) in field order, models inside converted too, then ``extras``."""
    cdef object fields = _fields_of(type(obj))
    if fields is None:
        return _todict_py.to_dict(obj)
    cdef Fields f = <Fields>fields
    cdef void* slot
    cdef void* present_slot = ssd_get(obj, f.present_at)
    cdef void* extras_slot = ssd_get(obj, f.extras_at)
    cdef bint from_source
    cdef long long present = 0
    cdef int overflow = 0
    cdef Py_ssize_t k
    cdef dict out
    cdef object value
    if present_slot is NULL or extras_slot is NULL:
        return _todict_py.to_dict(obj)  # a field never set: the twin raises what getattr does
    out = _PyDict_NewPresized(f.n)
    from_source = <object>present_slot is not None
    if from_source:
        if not PyLong_CheckExact(<object>present_slot):
            return _todict_py.to_dict(obj)
        present = PyLong_AsLongLongAndOverflow(<object>present_slot, &overflow)
        if overflow or present < 0:
            return _todict_py.to_dict(obj)
    for k in range(f.n):
        slot = ssd_get(obj, f.offsets[k])
        if slot is NULL:
            return _todict_py.to_dict(obj)
        value = <object>slot
        if from_source:
            if not present & f.bits[k]:
                continue
        elif value is None and not f.required[k]:
            continue
        if value is not None and f.nested[k] != SCALAR:
            if f.nested[k] == LIST:
                value = _list(value)
            elif isinstance(value, Model):
                value = to_dict(value)
        PyDict_SetItem(out, f.keys[k], value)
    extras = <object>extras_slot
    if extras:
        out.update(extras)
    return out


cdef list _list(value):
    cdef Py_ssize_t i, n
    cdef list out
    cdef object item
    if type(value) is not list:
        return [to_dict(v) if isinstance(v, Model) else v for v in value]
    n = PyList_GET_SIZE(value)
    out = PyList_New(n)
    for i in range(n):
        item = <object>PyList_GET_ITEM(value, i)
        if isinstance(item, Model):
            item = to_dict(item)
        Py_INCREF(item)
        PyList_SET_ITEM(out, i, item)
    return out
