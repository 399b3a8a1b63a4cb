# cython: language_level=3
"""The merger's text buffers and logprob columns, compiled.

A concatenated string (``content``, ``refusal``, tool-call ``arguments``) is kept as its UTF-8
bytes in a :class:`TextBuf`, decoded once when a completion is built. Logprob tokens are kept as
columns in a :class:`TokenColumns` (text spans, logprobs, flags), their objects made when read;
a finished choice's logprobs hold a :class:`LazyLogprobs` until its token lists are read.
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_INCREF, PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcmp

from . import _merge_py as _py
from . import models as _m
from .._json_c cimport unescape
from .._slots cimport (
    ssd_clear,
    ssd_get,
    ssd_is_tracked,
    ssd_put,
    ssd_settle,
    ssd_settle_tree,
    ssd_track_tree,
)
from ._layout_c cimport Layout, key_bit, key_index

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object o)
    void incref "Py_INCREF"(PyObject* o)
    void list_set_raw "PyList_SET_ITEM"(object list, Py_ssize_t i, PyObject* o)

cdef object _Token = _m.ChatCompletionTokenLogprob
cdef object _Top = _m.ChatCompletionTokenLogprobTopLogprobsInner
cdef object _DoneLogprobs = _m.CreateChatCompletionResponseChoicesInnerLogprobs
cdef Layout L_TOKEN = Layout(_Token)
cdef Layout L_TOP = Layout(_Top)
cdef Layout L_DONE_LOGPROBS = Layout(_DoneLogprobs)
cdef Py_ssize_t LAZY_AT = L_DONE_LOGPROBS.slot("_lazy")
cdef Py_ssize_t K_CONTENT = key_index(_DoneLogprobs, "content")
cdef Py_ssize_t K_REFUSAL = key_index(_DoneLogprobs, "refusal")

# A token and its alternatives are built by one function: their common fields are at the same
# places of both models, with the same presence bits.
cdef Py_ssize_t K_TOKEN = key_index(_Token, "token")
cdef Py_ssize_t K_LOGPROB = key_index(_Token, "logprob")
cdef Py_ssize_t K_BYTES = key_index(_Token, "bytes")
cdef Py_ssize_t K_TOP = key_index(_Token, "top_logprobs")
for _name in ("token", "logprob", "bytes"):
    if key_index(_Top, _name) != key_index(_Token, _name) or key_bit(_Top, _name) != key_bit(_Token, _name):
        raise ImportError(f"{_Top.__name__}.{_name} is not where {_Token.__name__}.{_name} is")
cdef long TOP_PRESENT = key_bit(_Token, "token") | key_bit(_Token, "logprob") | key_bit(_Token, "bytes")
cdef long TOKEN_PRESENT = TOP_PRESENT | key_bit(_Token, "top_logprobs")


# ------------------------------------------------------------------ text buffers

cdef enum:
    SMALL_TEXT = 64  # a text buffer's first size


# The first-size buffer of the last text buffer freed, kept for the next one made (a stream makes
# one or more); not where threads run without the interpreter lock.
cdef char* spare_text = NULL

cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define SSD_SPARE_TEXT 0
    #else
    #define SSD_SPARE_TEXT 1
    #endif
    """
    bint SSD_SPARE_TEXT


@cython.final
@cython.freelist(8)
cdef class TextBuf:
    """The UTF-8 bytes of a concatenated string; decoded once, by :meth:`text`."""

    def __dealloc__(self):
        global spare_text
        if SSD_SPARE_TEXT and spare_text == NULL and self.cap == SMALL_TEXT:
            spare_text = self.data
        else:
            PyMem_Free(self.data)

    cdef int reserve(self, Py_ssize_t extra) except -1:
        global spare_text
        cdef Py_ssize_t need = self.length + extra
        cdef Py_ssize_t cap
        cdef char* grown
        if need <= self.cap:
            return 0
        if SSD_SPARE_TEXT and self.data == NULL and need <= SMALL_TEXT and spare_text != NULL:
            self.data = spare_text
            self.cap = SMALL_TEXT
            spare_text = NULL
            return 0
        cap = self.cap * 2
        if cap < need:
            cap = need
        if cap < SMALL_TEXT:
            cap = SMALL_TEXT
        grown = <char*>PyMem_Realloc(self.data, cap)
        if grown == NULL:
            raise MemoryError()
        self.data = grown
        self.cap = cap
        return 0

    cdef int add_json(self, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) except -1:
        """Append the JSON string body ``p[a:b]`` (already validated), unescaping it."""
        if not esc:
            return self.add(<const char*>p + a, b - a)
        self.reserve(b - a)  # unescaping never makes it longer
        self.length += unescape(p, a, b, self.data + self.length)
        return 0

    cdef void clear(self) noexcept:
        """Empty the buffer, giving back a large one's memory."""
        self.length = 0
        if self.cap > KEPT_BYTES:
            PyMem_Free(self.data)
            self.data = NULL
            self.cap = 0

    def append(self, str value):
        cdef bytes raw = value.encode("utf-8", "surrogatepass")
        self.add(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))

    def text(self):
        return PyUnicode_DecodeUTF8(self.data, self.length, "surrogatepass")

    def __len__(self):
        return self.length

    def __repr__(self):
        return f"TextBuf({self.text()!r})"


_py.STR_ACCUMULATORS.add(TextBuf)

# ------------------------------------------------------------------ logprob tokens as columns


cdef inline bint same_bytes(const char* a, const char* b, Py_ssize_t k) noexcept:
    cdef Py_ssize_t i
    if k > 16:
        return memcmp(a, b, k) == 0
    for i in range(k):
        if a[i] != b[i]:
            return False
    return True


cdef inline unsigned int fnv1a(const char* p, Py_ssize_t k) noexcept:
    cdef unsigned int h = 2166136261u
    cdef Py_ssize_t i
    for i in range(k):
        h = (h ^ <unsigned char>p[i]) * 16777619u
    return h


@cython.final
@cython.no_gc
cdef class TokenColumns:
    """Logprob tokens as columns: an entry per token, followed by the entries of its top
    alternatives (text span, logprob, flags); the token objects are made when read. A token
    of another shape than the usual one (a key missing or null, an integer logprob...) is kept
    as an object in ``odd``. Append-only: the first ``n`` tokens never change."""

    def __cinit__(self):
        self.text = TextBuf()
        self.first = <Py_ssize_t*>PyMem_Malloc(8 * sizeof(Py_ssize_t))
        if self.first == NULL:
            raise MemoryError()
        self.captokens = 7
        self.first[0] = 0

    def __dealloc__(self):
        PyMem_Free(self.entries)
        PyMem_Free(self.first)
        PyMem_Free(self.words)
        PyMem_Free(self.table)

    cdef Py_ssize_t intern(self, const char* p, Py_ssize_t k) except -1:
        """The vocabulary index of the text ``p[:k]``, added when new."""
        cdef unsigned int h = fnv1a(p, k)
        cdef Py_ssize_t mask, i, w
        cdef Word* word
        if self.nwords * 2 >= self.captable:
            self.grow_table()
        mask = self.captable - 1
        i = h & mask
        while self.table[i]:
            word = &self.words[self.table[i] - 1]
            if (word.hash == h and word.end - word.start == k
                    and same_bytes(self.text.data + word.start, p, k)):
                return self.table[i] - 1
            i = (i + 1) & mask
        if self.nwords == self.capwords:
            self.capwords = self.capwords * 2 if self.capwords else 64
            word = <Word*>PyMem_Realloc(self.words, self.capwords * sizeof(Word))
            if word == NULL:
                raise MemoryError()
            self.words = word
        w = self.nwords
        self.words[w].start = self.text.length
        self.text.add(p, k)
        self.words[w].end = self.text.length
        self.words[w].hash = h
        self.nwords += 1
        self.table[i] = <unsigned int>(w + 1)
        self.strs.append(None)
        return w

    cdef int grow_table(self) except -1:
        cdef Py_ssize_t cap = self.captable * 2 if self.captable else 256
        cdef unsigned int* table = <unsigned int*>PyMem_Calloc(cap, sizeof(unsigned int))
        cdef Py_ssize_t w, i
        if table == NULL:
            raise MemoryError()
        for w in range(self.nwords):
            i = self.words[w].hash & (cap - 1)
            while table[i]:
                i = (i + 1) & (cap - 1)
            table[i] = <unsigned int>(w + 1)
        PyMem_Free(self.table)
        self.table = table
        self.captable = cap
        if self.strs is None:
            self.strs = []
        return 0

    def __len__(self):
        return self.n

    cdef void clear(self) noexcept:
        self.n = 0
        self.nentries = 0
        self.first[0] = 0
        self.text.clear()
        self.odd = None
        self.other_bytes = None

    cdef Py_ssize_t entry(self) except -1:
        """A new entry (its fields zero); its index."""
        cdef LpEntry* grown
        cdef Py_ssize_t cap
        if self.nentries == self.capentries:
            cap = self.capentries * 2 if self.capentries else 16
            grown = <LpEntry*>PyMem_Realloc(self.entries, cap * sizeof(LpEntry))
            if grown == NULL:
                raise MemoryError()
            self.entries = grown
            self.capentries = cap
        self.entries[self.nentries].start = self.text.length
        self.entries[self.nentries].end = self.text.length
        self.entries[self.nentries].logprob = 0.0
        self.entries[self.nentries].flags = 0
        self.nentries += 1
        return self.nentries - 1

    cdef int end_token(self) except -1:
        cdef Py_ssize_t* grown
        cdef Py_ssize_t cap
        if self.n + 1 >= self.captokens:
            cap = self.captokens * 2 + 1
            grown = <Py_ssize_t*>PyMem_Realloc(self.first, (cap + 1) * sizeof(Py_ssize_t))
            if grown == NULL:
                raise MemoryError()
            self.first = grown
            self.captokens = cap
        self.n += 1
        self.first[self.n] = self.nentries
        return 0

    cdef int add_object(self, object token) except -1:
        """Append a token kept as an object; the entries begun for it are dropped."""
        cdef Py_ssize_t at = self.first[self.n]
        if self.nentries > at:
            self.text.length = self.entries[at].start
            self.nentries = at
        if self.odd is None:
            self.odd = {}
        if token is not None:
            ssd_settle_tree(token)
        self.odd[self.n] = token
        return self.end_token()

    cdef int add_from(self, TokenColumns src, Py_ssize_t k) except -1:
        """Append token ``k`` of ``src`` (not an odd one), its texts interned."""
        cdef Py_ssize_t e0 = src.first[k], e1 = src.first[k + 1]
        cdef Py_ssize_t e, at, w
        self.interned = True
        for e in range(e0, e1):
            at = self.entry()
            self.entries[at] = src.entries[e]
            w = self.intern(src.text.data + src.entries[e].start, src.entries[e].end - src.entries[e].start)
            self.entries[at].word = w
            self.entries[at].start = self.words[w].start
            self.entries[at].end = self.words[w].end
            if src.entries[e].flags & E_BYTES_OTHER:
                if self.other_bytes is None:
                    self.other_bytes = {}
                self.other_bytes[at] = src.other_bytes[e]
        return self.end_token()

    cdef object text_of(self, Py_ssize_t e):
        cdef Py_ssize_t w
        if not self.interned:
            return PyUnicode_DecodeUTF8(self.text.data + self.entries[e].start,
                                        self.entries[e].end - self.entries[e].start, NULL)
        w = self.entries[e].word
        text = <object>PyList_GET_ITEM(self.strs, w)
        if text is None:
            text = PyUnicode_DecodeUTF8(self.text.data + self.words[w].start,
                                        self.words[w].end - self.words[w].start, NULL)
            self.strs[w] = text
        return text

    cdef object bytes_of(self, Py_ssize_t e):
        cdef LpEntry* entry = &self.entries[e]
        cdef Py_ssize_t j
        cdef list out
        if entry.flags & E_BYTES_NULL:
            return None
        if entry.flags & E_BYTES_OTHER:
            out = list(self.other_bytes[e])
            ssd_settle(out)
            return out
        out = PyList_New(entry.end - entry.start)
        for j in range(entry.end - entry.start):
            item = (<unsigned char*>self.text.data)[entry.start + j]
            Py_INCREF(item)
            PyList_SET_ITEM(out, j, item)
        ssd_settle(out)
        return out

    cdef object entry_object(self, Layout L, Py_ssize_t e, Py_ssize_t e1):
        """The object of entry ``e``: a token with the alternatives ``e + 1``..``e1``, or (``e1``
        negative) an alternative."""
        cdef object obj = L.new()
        cdef list tops
        cdef Py_ssize_t j
        ssd_put(obj, L.offsets[K_TOKEN], self.text_of(e))
        ssd_put(obj, L.offsets[K_LOGPROB], self.entries[e].logprob)
        ssd_put(obj, L.offsets[K_BYTES], self.bytes_of(e))
        if e1 >= 0:
            tops = PyList_New(e1 - e - 1)
            for j in range(e + 1, e1):
                item = self.entry_object(L_TOP, j, -1)
                Py_INCREF(item)
                PyList_SET_ITEM(tops, j - e - 1, item)
            ssd_settle(tops)
            ssd_put(obj, L.offsets[K_TOP], tops)
            ssd_put(obj, L.present_at, TOKEN_PRESENT)
        else:
            ssd_put(obj, L.present_at, TOP_PRESENT)
        ssd_settle(obj)
        return obj

    cdef object token(self, Py_ssize_t i):
        if self.is_odd(i):
            return self.odd[i]
        return self.entry_object(L_TOKEN, self.first[i], self.first[i + 1])

    cdef list tokens(self, Py_ssize_t n):
        """The objects of the first ``n`` tokens."""
        cdef list out = PyList_New(n)
        cdef Py_ssize_t i
        for i in range(n):
            item = self.token(i)
            Py_INCREF(item)
            PyList_SET_ITEM(out, i, item)
        ssd_settle(out)
        return out

    cdef object arrays(self, Py_ssize_t n, object np, object cls):
        """The first ``n`` tokens as :class:`LogprobArrays`, read from the columns."""
        cdef Py_ssize_t i, j, k = 0, ntop, e0
        cdef list words = PyList_New(n)
        cdef list top_words = PyList_New(n)
        cdef list alts
        cdef bytearray lp_buf = bytearray(n * sizeof(double))
        cdef bytearray top_buf
        cdef double* lp
        cdef double* top
        cdef double nan = float("nan")
        cdef PyObject* raw
        for i in range(n):
            if self.is_odd(i):
                ntop = len(self.odd[i].top_logprobs or ())
            else:
                ntop = self.first[i + 1] - self.first[i] - 1
            if ntop > k:
                k = ntop
        top_buf = bytearray(n * k * sizeof(double))
        if self.interned:
            for i in range(self.nwords):
                if <object>PyList_GET_ITEM(self.strs, i) is None:
                    self.strs[i] = PyUnicode_DecodeUTF8(self.text.data + self.words[i].start,
                                                        self.words[i].end - self.words[i].start, NULL)
        lp = <double*>PyByteArray_AS_STRING(lp_buf)
        top = <double*>PyByteArray_AS_STRING(top_buf)
        for i in range(n * k):
            top[i] = nan
        for i in range(n):
            if self.is_odd(i):
                obj = self.odd[i]
                word = obj.token
                lp[i] = nan if obj.logprob is None else obj.logprob
                alts = []
                for j, alt in enumerate(obj.top_logprobs or ()):
                    alts.append(alt.token)
                    if alt.logprob is not None:
                        top[i * k + j] = alt.logprob
            elif self.interned:
                # Every string of the vocabulary is made (above): references to them only.
                e0 = self.first[i]
                word = <object>PyList_GET_ITEM(self.strs, self.entries[e0].word)
                lp[i] = self.entries[e0].logprob
                ntop = self.first[i + 1] - e0 - 1
                alts = PyList_New(ntop)
                for j in range(ntop):
                    raw = PyList_GET_ITEM(self.strs, self.entries[e0 + 1 + j].word)
                    incref(raw)
                    list_set_raw(alts, j, raw)
                    top[i * k + j] = self.entries[e0 + 1 + j].logprob
                PyObject_GC_UnTrack(alts)  # strings only
            else:
                e0 = self.first[i]
                word = self.text_of(e0)
                lp[i] = self.entries[e0].logprob
                ntop = self.first[i + 1] - e0 - 1
                alts = PyList_New(ntop)
                for j in range(ntop):
                    item = self.text_of(e0 + 1 + j)
                    Py_INCREF(item)
                    PyList_SET_ITEM(alts, j, item)
                    top[i * k + j] = self.entries[e0 + 1 + j].logprob
                PyObject_GC_UnTrack(alts)  # strings only
            Py_INCREF(word)
            PyList_SET_ITEM(words, i, word)
            Py_INCREF(alts)
            PyList_SET_ITEM(top_words, i, alts)
        return cls(
            words,
            np.frombuffer(lp_buf, dtype=np.float64),
            top_words,
            np.frombuffer(top_buf, dtype=np.float64).reshape(n, k),
        )


@cython.final
@cython.no_gc
cdef class LazyLogprobs:
    """The token lists of a finished choice's logprobs, until read: the first ``n`` tokens of the
    merger's columns (which only grow). ``fill`` makes the objects."""

    def fill(self, obj):
        """Put the token lists in ``obj``, the logprobs object this one is the ``_lazy`` of."""
        if type(obj) is not _DoneLogprobs or ssd_get(obj, LAZY_AT) != <void*>self:
            raise TypeError("LazyLogprobs.fill takes the logprobs object it belongs to")
        content = None if self.content is None else self.content.tokens(self.ncontent)
        refusal = None if self.refusal is None else self.refusal.tokens(self.nrefusal)
        tracked = ssd_is_tracked(obj)
        content_at = L_DONE_LOGPROBS.offsets[K_CONTENT]
        refusal_at = L_DONE_LOGPROBS.offsets[K_REFUSAL]
        for at, tokens in ((content_at, content), (refusal_at, refusal)):
            if tokens is not None:
                ssd_put(obj, at, tokens)
                if tracked:
                    ssd_track_tree(tokens)
        ssd_clear(obj, LAZY_AT)

    def to_numpy(self, str field, np, cls):
        """The arrays of ``field`` (``None`` when that list is not lazy)."""
        if field == "content":
            return None if self.content is None else self.content.arrays(self.ncontent, np, cls)
        return None if self.refusal is None else self.refusal.arrays(self.nrefusal, np, cls)
