# Where the fields of a model class live in its instances, so that the native decoders
# build and fill the models with direct stores.

cimport cython

from .._slots cimport ssd_alloc, ssd_put


@cython.final
cdef class Layout:
    cdef object cls
    cdef Py_ssize_t offsets[16]
    cdef int bits[16]  # the fields' bits in ``_present``
    cdef Py_ssize_t nfields
    cdef Py_ssize_t extras_at
    cdef Py_ssize_t present_at

    cdef Py_ssize_t slot(self, str name) except -1

    cdef inline object new(self):
        cdef object obj = ssd_alloc(self.cls)
        cdef Py_ssize_t k
        for k in range(self.nfields):
            ssd_put(obj, self.offsets[k], None)
        ssd_put(obj, self.extras_at, {})
        return obj

    cdef inline object blank(self):
        """A new object with every field and its presence ``None`` and no extras (the builder
        puts them itself)."""
        cdef object obj = ssd_alloc(self.cls)
        cdef Py_ssize_t k
        for k in range(self.nfields):
            ssd_put(obj, self.offsets[k], None)
        ssd_put(obj, self.present_at, None)
        return obj

    cdef inline object made(self):
        """A new object as the class's ``__init__`` makes it with no arguments."""
        cdef object obj = self.blank()
        ssd_put(obj, self.extras_at, {})
        return obj


cdef Py_ssize_t key_index(object cls, str name) except -1
cdef long key_bit(object cls, str name) except -1
