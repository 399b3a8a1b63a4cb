# The keys of one JSON object as the native decoders read it: the known keys as bits, the
# unknown ones as spans, so that a duplicate key is refused.

from libc.string cimport memcmp

from .._json_c cimport decode_string


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


cdef inline str decode_span(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc):
    return decode_string(p, a, b, esc)
