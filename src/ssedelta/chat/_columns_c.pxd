# Declarations of the merger's text buffers and logprob columns, so that the scanner
# appends to them directly.

cimport cython
from libc.string cimport memcpy

from ._layout_c cimport Layout

# What is kept between payloads is bounded: buffers above these sizes are given back once the
# payload that needed them is done, and larger payloads are not remembered for the next one.
cdef enum:
    KEPT_BYTES = 1 << 20      # a reusable byte buffer
    KEPT_TOKS = 8192          # the scanner's tape, in entries (about 640 KiB)
    KEPT_PAYLOAD = 1 << 16    # a payload kept as a template, or a remembered header
    KEPT_TEMPLATE_TOKS = 256  # a template's tape

cdef enum:
    E_BYTES_NULL = 1    # "bytes": null
    E_BYTES_OTHER = 2   # bytes that are not the UTF-8 of the text: a list in ``other_bytes``

cdef struct LpEntry:
    Py_ssize_t start    # the text's span in ``TokenColumns.text``
    Py_ssize_t end
    double logprob
    int flags
    Py_ssize_t word     # interned columns: the text's index in the vocabulary

cdef struct Word:
    Py_ssize_t start
    Py_ssize_t end
    unsigned int hash


@cython.final
cdef class TextBuf:
    cdef char* data
    cdef Py_ssize_t length
    cdef Py_ssize_t cap

    cdef int reserve(self, Py_ssize_t extra) except -1
    cdef int add_json(self, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) except -1
    cdef void clear(self) noexcept

    cdef inline int add(self, const char* src, Py_ssize_t k) except -1:
        if k <= 0:
            return 0  # also keeps a NULL buffer away from memcpy
        if self.length + k > self.cap:
            self.reserve(k)
        memcpy(self.data + self.length, src, k)
        self.length += k
        return 0


@cython.final
@cython.no_gc
cdef class TokenColumns:
    cdef TextBuf text
    cdef LpEntry* entries
    cdef Py_ssize_t nentries, capentries
    cdef Py_ssize_t* first  # token i's entries are first[i]..first[i + 1]
    cdef Py_ssize_t n, captokens
    cdef dict odd  # token index -> token object (or None, in the scanner's, for one made when applied)
    cdef dict other_bytes  # entry index -> list of ints
    # A choice's columns keep each distinct text once (``text`` holds the vocabulary): the
    # vocabulary, a hash table of its indexes (plus one; 0 is empty), and its strings once made.
    cdef bint interned
    cdef Word* words
    cdef Py_ssize_t nwords, capwords
    cdef unsigned int* table
    cdef Py_ssize_t captable
    cdef list strs

    cdef Py_ssize_t intern(self, const char* p, Py_ssize_t k) except -1
    cdef int grow_table(self) except -1
    cdef void clear(self) noexcept
    cdef Py_ssize_t entry(self) except -1
    cdef int end_token(self) except -1
    cdef int add_object(self, object token) except -1
    cdef int add_from(self, TokenColumns src, Py_ssize_t k) except -1
    cdef object text_of(self, Py_ssize_t e)
    cdef object bytes_of(self, Py_ssize_t e)
    cdef object entry_object(self, Layout L, Py_ssize_t e, Py_ssize_t e1)
    cdef object token(self, Py_ssize_t i)
    cdef list tokens(self, Py_ssize_t n)
    cdef object arrays(self, Py_ssize_t n, object np, object cls)

    cdef inline bint is_odd(self, Py_ssize_t k) noexcept:
        return self.first[k + 1] == self.first[k]


@cython.final
@cython.no_gc
cdef class LazyLogprobs:
    cdef TokenColumns content, refusal
    cdef Py_ssize_t ncontent, nrefusal
