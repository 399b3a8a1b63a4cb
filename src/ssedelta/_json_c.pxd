# Native JSON primitives shared by the format cores: strict string scanning, unescaping and
# decoding, integers and numbers (parsed without the C locale), whitespace and value skipping,
# and the word and block tests that let string and key scans skip plain ASCII 8 or 16 bytes at a time.
# Every function works on a raw pointer into bytes the caller keeps a reference to.

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* The offset of the first byte of the 8 at p that a string body cannot hold as it is (a quote,
       a backslash, a control byte or a byte of a multi-byte character), or 8. Borrows in the
       subtractions run only from such a byte to later ones, so the lowest flag is exact. */
    static inline Py_ssize_t ssedelta_word_stop(const unsigned char* p) {
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t w, q, s, t;
        memcpy(&w, p, 8);
        q = w ^ (ones * 0x22);
        s = w ^ (ones * 0x5C);
        t = (((q - ones) & ~q) | ((s - ones) & ~s) | (w - ones * 0x20) | w) & high;
        if (!t)
            return 8;
    #if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return (Py_ssize_t)(__builtin_ctzll(t) >> 3);
    #else
        {
            Py_ssize_t k = 0;
            while (p[k] >= 0x20 && p[k] < 0x80 && p[k] != 0x22 && p[k] != 0x5C)
                k++;
            return k;
        }
    #endif
    }
    /* Copy the 8 bytes at p to out; the offset of the first backslash among them, or 8. */
    static inline Py_ssize_t ssedelta_copy_to_escape(const unsigned char* p, char* out) {
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t w, s, t;
        memcpy(&w, p, 8);
        memcpy(out, &w, 8);
        s = w ^ (ones * 0x5C);
        t = (s - ones) & ~s & high;
        if (!t)
            return 8;
    #if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return (Py_ssize_t)(__builtin_ctzll(t) >> 3);
    #else
        {
            Py_ssize_t k = 0;
            while (p[k] != 0x5C)
                k++;
            return k;
        }
    #endif
    }
    /* The same for the 16 bytes at p (16: none), in one vector compare where SSE2 is there. */
    #if defined(__SSE2__) && defined(__GNUC__)
    #include <emmintrin.h>
    static inline Py_ssize_t ssedelta_block_stop(const unsigned char* p) {
        const __m128i v = _mm_loadu_si128((const __m128i*)p);
        /* Signed: a byte of 0x80 or more is below 0x20 too. */
        const __m128i stop = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x22)), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x5C))),
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        const int mask = _mm_movemask_epi8(stop);
        return mask ? (Py_ssize_t)__builtin_ctz((unsigned)mask) : 16;
    }
    #else
    static inline Py_ssize_t ssedelta_block_stop(const unsigned char* p) {
        Py_ssize_t k = ssedelta_word_stop(p);
        return k < 8 ? k : 8 + ssedelta_word_stop(p + 8);
    }
    #endif
    """
    Py_ssize_t word_stop "ssedelta_word_stop"(const unsigned char* p) noexcept
    Py_ssize_t block_stop "ssedelta_block_stop"(const unsigned char* p) noexcept
    Py_ssize_t copy_to_escape "ssedelta_copy_to_escape"(const unsigned char* p, char* out) noexcept


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object o)


cdef inline Py_ssize_t skip_ws(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    while i < n and (p[i] == 32 or p[i] == 10 or p[i] == 13 or p[i] == 9):
        i += 1
    return i


cdef inline Py_ssize_t plain_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """The end of the run of bytes from ``p[i]`` that a string body holds as they are (printable
    ASCII but the quote and the backslash)."""
    cdef Py_ssize_t step
    while i + 16 <= n:
        step = block_stop(p + i)
        i += step
        if step < 16:
            return i
    while i + 8 <= n:
        step = word_stop(p + i)
        i += step
        if step < 8:
            return i
    while i < n and 0x20 <= p[i] < 0x80 and p[i] != 34 and p[i] != 92:
        i += 1
    return i


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


cdef inline str utf8_text(const char* p, Py_ssize_t n, const char* errors):
    """The ``str`` of ``n`` bytes of UTF-8; ASCII copied (one byte: Python's cached string)."""
    if n > 1 and is_ascii(p, n):
        return ascii_text(p, n)
    return PyUnicode_DecodeUTF8(p, n, errors)


cdef inline bint key_is(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, const char* word,
                        Py_ssize_t k) noexcept:
    """Whether the span ``p[a:b]`` is the ``k`` bytes of ``word``."""
    cdef Py_ssize_t j
    if b - a != k:
        return False
    for j in range(k):
        if p[a + j] != <unsigned char>word[j]:
            return False
    return True


cdef int hex4(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept
cdef Py_ssize_t utf8_seq(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept
cdef Py_ssize_t scan_string(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* esc) noexcept


cdef inline Py_ssize_t string_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* esc) noexcept:
    """:func:`scan_string`, a plain body ended by its quote found without a call."""
    i = plain_end(p, i, n)
    if i < n and p[i] == 34:
        return i
    return scan_string(p, i, n, esc)


cdef Py_ssize_t unescape(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, char* out) noexcept
cdef str decode_string(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc)
cdef Py_ssize_t skip_value(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept
cdef Py_ssize_t scan_int(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, long long* out) noexcept
cdef Py_ssize_t scan_number(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* is_float) noexcept
cdef double parse_double(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except? -1.0
cdef bint finite_number(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except -1
cdef Py_ssize_t int_array(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept
cdef Py_ssize_t member_key(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t* ka,
                           Py_ssize_t* kb) noexcept
cdef Py_ssize_t next_member(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, bint* last) noexcept
cdef Py_ssize_t plain_string(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept
cdef Py_ssize_t empty_array(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept


cdef class Utf8Buf:
    """String bodies unescaped one after another into one UTF-8 buffer, decoded once by ``take``
    (a string body checked by ``scan_string`` is valid UTF-8 once unescaped, so the ``str`` of
    the whole equals the ``str`` of the pieces joined)."""
    cdef char* ptr
    cdef Py_ssize_t len
    cdef Py_ssize_t cap
    cdef int add(self, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) except -1
    cdef str take(self)
    cdef void clear(self) noexcept
