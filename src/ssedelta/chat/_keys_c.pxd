# The keys of one JSON object as the native decoders read it: the known keys as bits, the
# unknown ones as spans, so that a duplicate key is refused.

from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memcpy

from .._json_c cimport decode_string


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object o)


cdef struct Keys:
    int known
    int nunknown
    Py_ssize_t ua[16]
    Py_ssize_t ub[16]


cdef inline bint key_is(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, const char* word,
                        Py_ssize_t k) noexcept:
    return b - a == k and memcmp(p + a, word, k) == 0


cdef inline bint unknown_once(Keys* keys, const unsigned char* p, Py_ssize_t a, Py_ssize_t b) noexcept:
    """Record an unknown key; False when it was seen already in this object (or too many)."""
    cdef int j
    cdef Py_ssize_t k = b - a
    for j in range(keys.nunknown):
        if keys.ub[j] - keys.ua[j] == k and memcmp(p + keys.ua[j], p + a, k) == 0:
            return False
    if keys.nunknown == 16:
        return False
    keys.ua[keys.nunknown] = a
    keys.ub[keys.nunknown] = b
    keys.nunknown += 1
    return True


cdef inline bint is_ascii(const char* p, Py_ssize_t n) noexcept:
    cdef uint64_t word
    cdef Py_ssize_t j = 0
    while j + 8 <= n:
        memcpy(&word, p + j, 8)
        if word & 0x8080808080808080ULL:
            return False
        j += 8
    while j < n:
        if <unsigned char>p[j] >= 0x80:
            return False
        j += 1
    return True


cdef inline str ascii_text(const char* p, Py_ssize_t n):
    """The ``str`` of ``n`` ASCII bytes, copied into a new string (no UTF-8 decoder)."""
    cdef object text = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(text), p, n)
    return text


cdef inline str decode_span(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc):
    """The string body ``p[a:b]`` (checked by ``scan_string``); ``esc``: it has escapes."""
    if not esc and b - a > 1 and is_ascii(<const char*>p + a, b - a):  # one byte: the cached str
        return ascii_text(<const char*>p + a, b - a)
    return decode_string(p, a, b, esc)
