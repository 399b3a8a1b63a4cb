# cython: language_level=3
"""Native JSON primitives shared by the format cores (see ``_json_c.pxd``).

Strings are checked as strictly as a JSON parser checks them (escapes, ``\\u`` surrogate pairs,
control characters, UTF-8), plain ASCII a word of 8 bytes at a time, unescaped into the caller's
buffer and decoded once. Numbers are parsed without the C locale: exactly when the digits and the
exponent are small, else by ``PyOS_string_to_double`` (which never reads the locale).
"""

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport PyObject
from libc.math cimport isinf
from libc.string cimport memcpy

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr, PyObject* overflow_exception) except? -1.0

# Byte classes of string bodies: 0 plain ASCII, 1 quote, 2 backslash, 3 control, 4 non-ASCII.
cdef unsigned char STRCLASS[256]
cdef int _i
for _i in range(256):
    STRCLASS[_i] = 0 if _i >= 0x20 and _i < 0x80 else (3 if _i < 0x20 else 4)
STRCLASS[0x22] = 1
STRCLASS[0x5C] = 2

# The byte that a backslash followed by this byte stands for (checked by scan_string).
cdef unsigned char UNESCAPED[256]
for _i in range(256):
    UNESCAPED[_i] = _i
UNESCAPED[98] = 8
UNESCAPED[102] = 12
UNESCAPED[110] = 10
UNESCAPED[114] = 13
UNESCAPED[116] = 9

cdef double POW10[23]
POW10[0] = 1.0
for _i in range(1, 23):
    POW10[_i] = POW10[_i - 1] * 10.0


cdef inline int hexval(unsigned char c) noexcept:
    if c >= 48 and c <= 57:
        return c - 48
    if c >= 97 and c <= 102:
        return c - 87
    if c >= 65 and c <= 70:
        return c - 55
    return -1


cdef int hex4(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """The value of the four hex digits at ``p[i]``, or -1."""
    cdef int a, b, c, d
    if i + 4 > n:
        return -1
    a = hexval(p[i])
    b = hexval(p[i + 1])
    c = hexval(p[i + 2])
    d = hexval(p[i + 3])
    if a < 0 or b < 0 or c < 0 or d < 0:
        return -1
    return (a << 12) | (b << 8) | (c << 4) | d


cdef Py_ssize_t utf8_seq(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Length of the valid UTF-8 sequence at ``p[i]`` (a byte >= 0x80), or -1."""
    cdef unsigned char c = p[i]
    cdef unsigned char c1
    if c < 0xC2:
        return -1
    if c < 0xE0:
        if i + 1 < n and (p[i + 1] & 0xC0) == 0x80:
            return 2
        return -1
    if c < 0xF0:
        if i + 2 >= n:
            return -1
        c1 = p[i + 1]
        if (c1 & 0xC0) != 0x80 or (p[i + 2] & 0xC0) != 0x80:
            return -1
        if c == 0xE0 and c1 < 0xA0:
            return -1
        if c == 0xED and c1 >= 0xA0:
            return -1
        return 3
    if c < 0xF5:
        if i + 3 >= n:
            return -1
        c1 = p[i + 1]
        if (c1 & 0xC0) != 0x80 or (p[i + 2] & 0xC0) != 0x80 or (p[i + 3] & 0xC0) != 0x80:
            return -1
        if c == 0xF0 and c1 < 0x90:
            return -1
        if c == 0xF4 and c1 >= 0x90:
            return -1
        return 4
    return -1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t scan_string(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* esc) noexcept:
    """``p[i]`` is just after an opening quote: the index of the closing quote, or -1 when the
    string is not one a strict JSON parser accepts. Sets ``esc`` when it has escapes."""
    cdef unsigned char k
    cdef Py_ssize_t step
    cdef int u, lo
    while i < n:
        if i + 8 <= n:  # plain ASCII is skipped a word at a time
            step = word_stop(p + i)
            i += step
            if step == 8:
                continue
        k = STRCLASS[p[i]]
        if k == 0:
            i += 1
        elif k == 1:
            return i
        elif k == 2:
            esc[0] = True
            if i + 1 >= n:
                return -1
            k = p[i + 1]
            if k == 117:  # u
                u = hex4(p, i + 2, n)
                if u < 0:
                    return -1
                i += 6
                if u >= 0xD800 and u <= 0xDBFF:
                    if i + 6 > n or p[i] != 92 or p[i + 1] != 117:
                        return -1
                    lo = hex4(p, i + 2, n)
                    if lo < 0xDC00 or lo > 0xDFFF:
                        return -1
                    i += 6
                elif u >= 0xDC00 and u <= 0xDFFF:
                    return -1
            elif k == 34 or k == 92 or k == 47 or k == 98 or k == 102 or k == 110 or k == 114 or k == 116:
                i += 2
            else:
                return -1
        elif k == 4:
            step = utf8_seq(p, i, n)
            if step < 0:
                return -1
            i += step
        else:
            return -1
    return -1


cdef Py_ssize_t unescape(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, char* out) noexcept:
    """Write the UTF-8 of the string body ``p[a:b]`` (checked by :func:`scan_string`) to ``out``
    (at least ``b - a`` bytes); returns its length. Bytes are copied eight at a time up to the
    next backslash: a whole word is written wherever ``p`` has one left, which fits, as what is
    written never gets ahead of what is read (an escape is never shorter than what it stands for)."""
    cdef Py_ssize_t o = 0, step
    cdef unsigned char c
    cdef unsigned int u, lo
    while a < b:
        if a + 8 <= b:
            step = copy_to_escape(p + a, out + o)
            a += step
            o += step
            if step == 8:
                continue
        c = p[a]
        if c != 92:
            out[o] = <char>c
            o += 1
            a += 1
            continue
        c = p[a + 1]
        a += 2
        if c != 117:
            out[o] = <char>UNESCAPED[c]
            o += 1
            continue
        u = <unsigned int>hex4(p, a, b)
        a += 4
        if u >= 0xD800 and u <= 0xDBFF:
            lo = <unsigned int>hex4(p, a + 2, b)
            a += 6
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
        if u < 0x80:
            out[o] = <char>u
            o += 1
        elif u < 0x800:
            out[o] = <char>(0xC0 | (u >> 6))
            out[o + 1] = <char>(0x80 | (u & 0x3F))
            o += 2
        elif u < 0x10000:
            out[o] = <char>(0xE0 | (u >> 12))
            out[o + 1] = <char>(0x80 | ((u >> 6) & 0x3F))
            out[o + 2] = <char>(0x80 | (u & 0x3F))
            o += 3
        else:
            out[o] = <char>(0xF0 | (u >> 18))
            out[o + 1] = <char>(0x80 | ((u >> 12) & 0x3F))
            out[o + 2] = <char>(0x80 | ((u >> 6) & 0x3F))
            out[o + 3] = <char>(0x80 | (u & 0x3F))
            o += 4
    return o


cdef str decode_string(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc):
    """The ``str`` of the string body ``p[a:b]`` (checked by :func:`scan_string`)."""
    cdef char* tmp
    cdef Py_ssize_t k
    if not esc:
        return utf8_text(<const char*>p + a, b - a, NULL)
    tmp = <char*>PyMem_Malloc(b - a + 1)
    if tmp == NULL:
        raise MemoryError()
    try:
        k = unescape(p, a, b, tmp)
        return utf8_text(tmp, k, NULL)
    finally:
        PyMem_Free(tmp)


cdef class Utf8Buf:
    """See ``_json_c.pxd``."""

    def __dealloc__(self):
        PyMem_Free(self.ptr)

    cdef int add(self, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) except -1:
        """Append the string body ``p[a:b]`` (checked by :func:`scan_string`)."""
        cdef Py_ssize_t need = self.len + (b - a)
        cdef Py_ssize_t cap
        cdef char* grown
        if b == a:  # nothing to copy (a fresh buffer has no memory to copy into)
            return 0
        if need > self.cap:
            cap = max(need, 2 * self.cap, 256)
            grown = <char*>PyMem_Realloc(self.ptr, cap)
            if grown == NULL:
                raise MemoryError()
            self.ptr = grown
            self.cap = cap
        if esc:
            self.len += unescape(p, a, b, self.ptr + self.len)
        else:
            memcpy(self.ptr + self.len, p + a, b - a)
            self.len = need
        return 0

    cdef str take(self):
        """The ``str`` of what was added since the last ``take``; the buffer is emptied."""
        cdef str text = utf8_text(self.ptr, self.len, NULL)
        self.clear()
        return text

    cdef void clear(self) noexcept:
        """Empty the buffer (releasing a large one)."""
        self.len = 0
        if self.cap > 1 << 16:
            PyMem_Free(self.ptr)
            self.ptr = NULL
            self.cap = 0


cdef Py_ssize_t skip_value(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """The end of the JSON value at ``p[i]``, or -1. Strings are checked strictly; the rest
    only for structure (a caller that keeps the value has a JSON parser check its span)."""
    cdef int depth = 0
    cdef bint esc = False
    cdef Py_ssize_t start = i
    cdef unsigned char c
    if i >= n:
        return -1
    c = p[i]
    if c == 34:
        i = scan_string(p, i + 1, n, &esc)
        return -1 if i < 0 else i + 1
    if c == 123 or c == 91:
        while i < n:
            c = p[i]
            if c == 34:
                i = scan_string(p, i + 1, n, &esc)
                if i < 0:
                    return -1
            elif c == 123 or c == 91:
                depth += 1
                if depth > 512:
                    return -1
            elif c == 125 or c == 93:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    while i < n and c != 44 and c != 125 and c != 93 and c != 32 and c != 10 and c != 13 and c != 9:
        i += 1
        if i < n:
            c = p[i]
    return i if i > start else -1


cdef Py_ssize_t scan_int(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, long long* out) noexcept:
    """A plain JSON integer (no fraction or exponent, at most 18 digits) at ``p[i]``: its end,
    or -1."""
    cdef bint neg = False
    cdef long long v = 0
    cdef Py_ssize_t start
    if i < n and p[i] == 45:
        neg = True
        i += 1
    start = i
    if i >= n or p[i] < 48 or p[i] > 57:
        return -1
    if p[i] == 48:
        i += 1
    else:
        while i < n and p[i] >= 48 and p[i] <= 57:
            v = v * 10 + (p[i] - 48)
            i += 1
            if i - start > 18:
                return -1
    if i < n and (p[i] == 46 or p[i] == 101 or p[i] == 69 or (p[i] >= 48 and p[i] <= 57)):
        return -1
    out[0] = -v if neg else v
    return i


cdef Py_ssize_t scan_number(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* is_float) noexcept:
    """A JSON number at ``p[i]``: its end, or -1. Integers longer than 18 digits give -1."""
    cdef Py_ssize_t start
    is_float[0] = False
    if i < n and p[i] == 45:
        i += 1
    start = i
    if i >= n or p[i] < 48 or p[i] > 57:
        return -1
    if p[i] == 48:
        i += 1
    else:
        while i < n and p[i] >= 48 and p[i] <= 57:
            i += 1
    if i < n and p[i] == 46:
        is_float[0] = True
        i += 1
        if i >= n or p[i] < 48 or p[i] > 57:
            return -1
        while i < n and p[i] >= 48 and p[i] <= 57:
            i += 1
    if i < n and (p[i] == 101 or p[i] == 69):
        is_float[0] = True
        i += 1
        if i < n and (p[i] == 43 or p[i] == 45):
            i += 1
        if i >= n or p[i] < 48 or p[i] > 57:
            return -1
        while i < n and p[i] >= 48 and p[i] <= 57:
            i += 1
    if not is_float[0] and i - start > 18:
        return -1
    return i


cdef double parse_double(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except? -1.0:
    """The double nearest to the JSON number ``p[a:b]`` (checked by :func:`scan_number`).

    Exact when the digits fit in 53 bits and the decimal exponent is small (both operands are
    then exact doubles, and one IEEE division or product rounds correctly); otherwise
    ``PyOS_string_to_double``, which is correctly rounded and locale-independent (an overflow
    gives an infinity)."""
    cdef unsigned long long mantissa = 0
    cdef int digits = 0, scale = 0, exponent = 0, esign = 1
    cdef bint neg = False, frac = False
    cdef Py_ssize_t i = a
    cdef char* buf
    cdef double value
    cdef unsigned char c
    if p[i] == 45:
        neg = True
        i += 1
    while i < b:
        c = p[i]
        if c >= 48 and c <= 57:
            if mantissa or c != 48:
                digits += 1
            if digits > 19:
                break
            mantissa = mantissa * 10 + (c - 48)
            if frac:
                scale += 1
        elif c == 46:
            frac = True
        else:
            break
        i += 1
    if i < b and (p[i] == 101 or p[i] == 69):
        i += 1
        if p[i] == 45:
            esign = -1
            i += 1
        elif p[i] == 43:
            i += 1
        while i < b and exponent < 10000:
            exponent = exponent * 10 + (p[i] - 48)
            i += 1
    if i == b and mantissa < (1ULL << 53):
        exponent = esign * exponent - scale
        if -22 <= exponent <= 22:
            if exponent < 0:
                value = <double>mantissa / POW10[-exponent]
            else:
                value = <double>mantissa * POW10[exponent]
            return -value if neg else value
    buf = <char*>PyMem_Malloc(b - a + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        memcpy(buf, p + a, b - a)
        buf[b - a] = 0
        return PyOS_string_to_double(buf, NULL, NULL)
    finally:
        PyMem_Free(buf)


cdef bint finite_number(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except -1:
    """Whether the JSON number ``p[a:b]`` (checked by :func:`scan_number`) is finite as a double."""
    cdef Py_ssize_t i
    cdef int int_digits = 0
    cdef bint fraction = False
    for i in range(a, b):
        if p[i] == 101 or p[i] == 69:
            return not isinf(parse_double(p, a, b))
        if p[i] == 46:
            fraction = True
        elif not fraction:
            int_digits += 1
    return int_digits < 300


cdef Py_ssize_t int_array(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """An array of plain integers at ``p[i]``: its end, or -1."""
    cdef long long v
    if i >= n or p[i] != 91:
        return -1
    i = skip_ws(p, i + 1, n)
    if i < n and p[i] == 93:
        return i + 1
    while True:
        i = scan_int(p, i, n, &v)
        if i < 0:
            return -1
        i = skip_ws(p, i, n)
        if i >= n:
            return -1
        if p[i] == 93:
            return i + 1
        if p[i] != 44:
            return -1
        i = skip_ws(p, i + 1, n)


cdef Py_ssize_t member_key(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t* ka,
                           Py_ssize_t* kb) noexcept:
    """The member of an object at ``p[i]``: sets ``p[ka:kb]`` to its key and returns where its
    value starts (whitespace skipped), or -1 (not a member, or a key with escapes)."""
    cdef bint esc = False
    if i >= n or p[i] != 34:
        return -1
    ka[0] = i + 1
    kb[0] = scan_string(p, i + 1, n, &esc)
    if kb[0] < 0 or esc:
        return -1
    i = skip_ws(p, kb[0] + 1, n)
    if i >= n or p[i] != 58:
        return -1
    i = skip_ws(p, i + 1, n)
    return i if i < n else -1


cdef Py_ssize_t next_member(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* last) noexcept:
    """After a member's value, at ``p[i]``: the start of the next member (after a comma), or,
    with ``last`` set, the index after the closing brace; -1 otherwise."""
    i = skip_ws(p, i, n)
    if i >= n:
        return -1
    if p[i] == 44:
        last[0] = False
        return skip_ws(p, i + 1, n)
    if p[i] == 125:
        last[0] = True
        return i + 1
    return -1


cdef Py_ssize_t plain_string(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """A string without escapes at ``p[i]`` (its opening quote): the index of its closing quote,
    or -1."""
    cdef bint esc = False
    if i >= n or p[i] != 34:
        return -1
    i = scan_string(p, i + 1, n, &esc)
    return -1 if esc else i


cdef Py_ssize_t empty_array(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """``[]`` (whitespace inside allowed) at ``p[i]``: its end, or -1."""
    if i >= n or p[i] != 91:
        return -1
    i = skip_ws(p, i + 1, n)
    if i < n and p[i] == 93:
        return i + 1
    return -1


# ------------------------------------------------------------------ for tests


def string_body(bytes data):
    """The ``str`` of the JSON string ``data`` (quotes included), or ``None`` when a strict JSON
    parser would refuse it."""
    cdef const unsigned char* p = <const unsigned char*>data
    cdef Py_ssize_t n = len(data)
    cdef bint esc = False
    cdef Py_ssize_t end
    if n < 2 or p[0] != 34:
        return None
    end = scan_string(p, 1, n, &esc)
    if end != n - 1:
        return None
    return decode_string(p, 1, end, esc)


def string_scan(bytes data, Py_ssize_t start):
    """What ``string_end`` (``scan_string`` after a plain run) gives for ``data`` from ``start``:
    the closing quote's index or -1, and whether it saw an escape."""
    cdef bint esc = False
    cdef Py_ssize_t end = string_end(<const unsigned char*>data, start, len(data), &esc)
    return end, esc


def number(bytes data):
    """The ``int`` or ``float`` of the JSON number ``data``, or ``None`` when it is not one
    (an integer of more than 18 digits included)."""
    cdef const unsigned char* p = <const unsigned char*>data
    cdef Py_ssize_t n = len(data)
    cdef bint is_float = False
    cdef long long v
    if scan_number(p, 0, n, &is_float) != n:
        return None
    if is_float:
        return parse_double(p, 0, n)
    scan_int(p, 0, n, &v)
    return v
