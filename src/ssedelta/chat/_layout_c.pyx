# cython: language_level=3
"""Where the fields of one model class live in its instances, read from the class when the
module loads: the native decoders store into the slots directly."""

cimport cython

from .._slots cimport ssd_field_offset


@cython.final
cdef class Layout:
    """Where the fields of one model class live in its instances."""

    def __init__(self, cls):
        cdef Py_ssize_t k
        keys = cls._keys
        if len(keys) > 16 or (<type>cls).__basicsize__ <= 0 or (<type>cls).__itemsize__:
            raise TypeError(f"{cls.__name__} cannot be built directly")
        self.cls = cls
        self.nfields = len(keys)
        for k, key in enumerate(keys):
            self.offsets[k] = self.slot(key)
            self.bits[k] = cls._spec[key][0]
        self.extras_at = self.slot("extras")
        self.present_at = self.slot("_present")

    cdef Py_ssize_t slot(self, str name) except -1:
        cdef Py_ssize_t at = ssd_field_offset(self.cls, name)
        if at < 0:
            raise TypeError(f"{self.cls.__name__}.{name} is not a plain slot")
        return at


cdef Py_ssize_t key_index(object cls, str name) except -1:
    """The place of field ``name`` in ``cls._keys`` (its slot is ``Layout(cls).offsets[place]``)."""
    if name not in cls._keys:
        raise ImportError(f"the native decoder expects a field {name!r} in {cls.__name__}")
    return cls._keys.index(name)


cdef long key_bit(object cls, str name) except -1:
    """The bit of field ``name`` in the ``_present`` of ``cls``'s instances."""
    key_index(cls, name)
    return cls._spec[name][0]
