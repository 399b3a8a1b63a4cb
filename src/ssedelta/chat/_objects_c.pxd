# Declarations of the decoder that builds chunk objects straight from a payload's bytes.

cimport cython

from ._keys_c cimport Keys
from ._layout_c cimport Layout


@cython.final
cdef class ObjectDecoder:
    cdef const unsigned char* p
    cdef Py_ssize_t n
    # The last chunk's bytes before "choices" when they held only scalar known keys,
    # with the values read from them (strings are immutable, so chunks can share them).
    cdef bytes header
    cdef list header_values
    cdef int header_known
    cdef object decode(self, bytes payload)
    cdef inline Py_ssize_t ws(self, Py_ssize_t i) noexcept
    cdef Py_ssize_t key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) except -1
    cdef inline bint more(self, Py_ssize_t* i, unsigned char close) except -1
    cdef inline bint null(self, Py_ssize_t* i) noexcept
    cdef object string(self, Py_ssize_t* i)
    cdef object integer(self, Py_ssize_t* i)
    cdef object value(self, Py_ssize_t* i)
    cdef object model(self, Py_ssize_t* i, object cls)
    cdef object extra(self, object obj, Layout layout, Keys* keys, Py_ssize_t ka, Py_ssize_t kb,
                      Py_ssize_t* i)
    cdef inline void seen(self, Keys* keys, int bit) except *
    cdef inline object start(self, Py_ssize_t* i, Keys* keys)
    cdef list token_list(self, bytes data)
    cdef list tokens(self, Py_ssize_t* at, bint with_top)
    cdef object logprobs(self, Py_ssize_t* at)
    cdef object number(self, Py_ssize_t* i)
    cdef object int_list(self, Py_ssize_t* i)
    cdef object token(self, Py_ssize_t* at, bint with_top)
    cdef object chunk(self)
    cdef void remember(self, object chunk, Py_ssize_t end, int known)
    cdef object list_of(self, Py_ssize_t* i, int kind)
    cdef object choice(self, Py_ssize_t* at)
    cdef object delta(self, Py_ssize_t* at)
    cdef object tool(self, Py_ssize_t* at)
    cdef object function(self, Py_ssize_t* at)


cdef object token_of(const unsigned char* p, Py_ssize_t a, Py_ssize_t b)
