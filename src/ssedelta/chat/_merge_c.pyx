# cython: language_level=3
"""Chunk scanner and delta merger, compiled.

The merger keeps the state of :mod:`ssedelta._merge_py` (the same choice, tool
and extras structures, so that the twin's rules run unchanged on it), but reads
each payload's bytes itself: a scanner specialised for ``chat.completion.chunk``
walks the JSON once, checking it as strictly as a JSON parser would, and
records what it found on a tape of byte spans; a second pass applies the tape.
``content``, ``refusal``, tool-call ``arguments`` and other concatenated
strings are unescaped straight from the payload into one growing byte buffer
each, and decoded once when a completion is built. No dict and no ``str`` is
made per delta.

Most chunks of a stream repeat bytes the scanner has seen: the members before
``"choices"`` (compared with one ``memcmp`` and skipped), and often the whole
payload but one text string (a content fragment, a piece of tool arguments).
For those, the tape of an earlier payload of the same shape is replayed, with
only that string checked and its span and the spans after it moved.

The scanner gives up on anything outside the usual shapes (a wrong type, a
duplicate key, an escaped key, invalid JSON or UTF-8, a key with rules of its
own such as ``error`` or ``audio``) before it has changed anything; that
payload then takes the twin's path (``orjson`` and the same rules on dicts),
which also raises the same errors at the same offsets.
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_INCREF, PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isinf
from libc.string cimport memchr, memcmp, memcpy

import orjson

from . import _merge_py as _py
from . import _rules as _cr
from .. import _rules as _r
from . import models as _m
from .._json_c cimport (
    decode_string,
    finite_number,
    int_array,
    parse_double,
    scan_int,
    scan_number,
    scan_string,
    skip_value,
    skip_ws,
    unescape,
)
from .._payload import SKIP
from .._schema import SchemaError
from .._slots cimport (
    ssd_alloc,
    ssd_clear,
    ssd_get,
    ssd_hook_setattr,
    ssd_is_tracked,
    ssd_put,
    ssd_settle,
    ssd_settle_tree,
    ssd_slot_offset,
    ssd_track_tree,
)
from .._sse_c cimport PayloadSink, SSEDecoder
from .._sse_py import DEFAULT_MAX_LINE_SIZE
from ..errors import StreamFormatError as _StreamFormatError, UpstreamError as _UpstreamError

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object o)
    void PyObject_GC_UnTrack(object o)
    void incref "Py_INCREF"(PyObject* o)
    void list_set_raw "PyList_SET_ITEM"(object list, Py_ssize_t i, PyObject* o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    void* PyUnicode_DATA(object o)

cdef object _loads = orjson.loads
cdef object JSONDecodeError = orjson.JSONDecodeError
cdef object _SchemaError = SchemaError
cdef object _merge_generic = _py.merge_generic
cdef object _SKIP = SKIP
cdef object _Usage = _m.CompletionUsage
cdef object _Moderation = _m.ChatCompletionModeration
cdef object _ChoiceLogprobs = _m.CreateChatCompletionStreamResponseChoicesInnerLogprobs
cdef object _STR_ACCUMULATORS = _py.STR_ACCUMULATORS
cdef object _DELTA_KNOWN = _py._DELTA_KNOWN
cdef object _LAST = _py.LAST
cdef dict DEFAULT_RULES = _py.DEFAULT_RULES
cdef object _APPEND = _py.APPEND
cdef object _Merged = _py._Merged
cdef object _Indexed = _py._Indexed
cdef int _MAX_MERGE_DEPTH = _py.MAX_MERGE_DEPTH


# ------------------------------------------------------------------ text buffers

# What is kept between payloads is bounded: buffers above these sizes are given back once the
# payload that needed them is done, and larger payloads are not remembered for the next one.
cdef enum:
    KEPT_BYTES = 1 << 20      # a reusable byte buffer
    KEPT_TOKS = 8192          # the scanner's tape, in entries (about 640 KiB)
    KEPT_PAYLOAD = 1 << 16    # a payload kept as a template, or a remembered header
    KEPT_TEMPLATE_TOKS = 256  # a template's tape


@cython.final
cdef class TextBuf:
    """The UTF-8 bytes of a concatenated string; decoded once, by :meth:`text`."""

    cdef char* data
    cdef Py_ssize_t length
    cdef Py_ssize_t cap

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.length + extra
        cdef Py_ssize_t cap
        cdef char* grown
        if need <= self.cap:
            return 0
        cap = self.cap * 2
        if cap < need:
            cap = need
        if cap < 64:
            cap = 64
        grown = <char*>PyMem_Realloc(self.data, cap)
        if grown == NULL:
            raise MemoryError()
        self.data = grown
        self.cap = cap
        return 0

    cdef inline int add(self, const char* src, Py_ssize_t k) except -1:
        if k <= 0:
            return 0  # also keeps a NULL buffer away from memcpy
        if self.length + k > self.cap:
            self.reserve(k)
        memcpy(self.data + self.length, src, k)
        self.length += k
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


_STR_ACCUMULATORS.add(TextBuf)


# ------------------------------------------------------------------ logprob tokens as columns

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


# Each byte value in decimal followed by a comma, and that length.
cdef char DECIMAL[256][4]
cdef Py_ssize_t DECIMAL_LEN[256]
for _b in range(256):
    _digits = f"{_b},".encode()
    DECIMAL_LEN[_b] = len(_digits)
    for _k in range(4):
        DECIMAL[_b][_k] = _digits[_k] if _k < len(_digits) else 0


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

    cdef inline bint is_odd(self, Py_ssize_t k) noexcept:
        return self.first[k + 1] == self.first[k]

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

    cdef inline object text_of(self, Py_ssize_t e):
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
        ssd_put(obj, L.offsets[0], self.text_of(e))
        ssd_put(obj, L.offsets[1], self.entries[e].logprob)
        ssd_put(obj, L.offsets[2], self.bytes_of(e))
        if e1 >= 0:
            tops = PyList_New(e1 - e - 1)
            for j in range(e + 1, e1):
                item = self.entry_object(L_TOP, j, -1)
                Py_INCREF(item)
                PyList_SET_ITEM(tops, j - e - 1, item)
            ssd_settle(tops)
            ssd_put(obj, L.offsets[3], tops)
            ssd_put(obj, L.present_at, 15)
        else:
            ssd_put(obj, L.present_at, 7)
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

    cdef TokenColumns content, refusal
    cdef Py_ssize_t ncontent, nrefusal

    def fill(self, obj):
        """Put the token lists in ``obj``, the logprobs object this one is the ``_lazy`` of."""
        if type(obj) is not _DoneLogprobs or ssd_get(obj, LAZY_AT) != <void*>self:
            raise TypeError("LazyLogprobs.fill takes the logprobs object it belongs to")
        content = None if self.content is None else self.content.tokens(self.ncontent)
        refusal = None if self.refusal is None else self.refusal.tokens(self.nrefusal)
        tracked = ssd_is_tracked(obj)
        for at, tokens in ((L_DONE_LOGPROBS.offsets[0], content), (L_DONE_LOGPROBS.offsets[1], refusal)):
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


cdef object token_of(const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    """The logprob token object of the (checked) JSON object ``p[a:b]``."""
    cdef bytes data = b"[" + PyBytes_FromStringAndSize(<const char*>p + a, b - a) + b"]"
    try:
        return TOKENS.token_list(data)[0]
    except _Bail:
        return _Token.from_dict(_loads(data)[0])


# ------------------------------------------------------------------ merge state


@cython.final
cdef class Choice:
    """One choice's state; the same attributes as the twin's, so its rules apply to it."""

    cdef public object index, role, content, refusal, content_parts, tools, tool_at, last_tool
    cdef public object function_call, audio, annotations
    cdef public object finish_reason, extras, message_extras
    cdef public bint logprobs_seen
    # Logprob tokens (0: content, 1: refusal): None, the columns, or (set from Python) a list.
    cdef object _lp0, _lp1
    cdef dict seen  # the bytes of extras values the scanner set (see Scanner.put_raw)

    def __init__(self, index):
        self.index = index
        self.tools = []
        self.tool_at = {}
        self.extras = {}
        self.message_extras = {}

    cdef object lp_start(self, int which):
        cdef object tokens = self._lp0 if which == 0 else self._lp1
        if tokens is None:
            tokens = TokenColumns()
            if which == 0:
                self._lp0 = tokens
            else:
                self._lp1 = tokens
        return tokens

    cdef int lp_add(self, int which, TokenColumns pending, Py_ssize_t k, const unsigned char* p,
                    Py_ssize_t a, Py_ssize_t b) except -1:
        """Append token ``k`` the scanner put in ``pending`` (its JSON is ``p[a:b]``)."""
        cdef object tokens = self.lp_start(which)
        cdef object token = None
        if pending.is_odd(k):
            token = token_of(p, a, b)
        if type(tokens) is TokenColumns:
            if token is None:
                return (<TokenColumns>tokens).add_from(pending, k)
            return (<TokenColumns>tokens).add_object(token)
        tokens.extend([pending.token(k) if token is None else token])  # set from Python
        return 0

    def lp_merge(self, lp):
        """Merge a logprobs object (decoded by the general path)."""
        self.logprobs_seen = True
        for which, items in ((0, lp.content), (1, lp.refusal)):
            if items is not None:
                tokens = self.lp_start(which)
                if type(tokens) is TokenColumns:
                    for token in items:
                        (<TokenColumns>tokens).add_object(token)
                else:
                    tokens.extend(items)

    cdef object lp_list(self, int which):
        """The token list, as the twin keeps it (the columns are given up for it)."""
        cdef object tokens = self._lp0 if which == 0 else self._lp1
        if type(tokens) is TokenColumns:
            tokens = (<TokenColumns>tokens).tokens((<TokenColumns>tokens).n)
            if which == 0:
                self._lp0 = tokens
            else:
                self._lp1 = tokens
        return tokens

    def built_logprobs(self):
        """The finished choice's logprobs: its token lists made when first read."""
        cdef object obj = L_DONE_LOGPROBS.made()
        cdef LazyLogprobs lazy = None
        cdef int which
        for which in range(2):
            tokens = self._lp0 if which == 0 else self._lp1
            if type(tokens) is TokenColumns:
                if lazy is None:
                    lazy = LazyLogprobs()
                if which == 0:
                    lazy.content = <TokenColumns>tokens
                    lazy.ncontent = (<TokenColumns>tokens).n
                else:
                    lazy.refusal = <TokenColumns>tokens
                    lazy.nrefusal = (<TokenColumns>tokens).n
                ssd_clear(obj, L_DONE_LOGPROBS.offsets[which])
            elif tokens is not None:
                ssd_put(obj, L_DONE_LOGPROBS.offsets[which], list(tokens))
        if lazy is not None:
            ssd_put(obj, LAZY_AT, lazy)
        ssd_settle(obj)
        return obj

    @property
    def lp_content(self):
        return self.lp_list(0)

    @lp_content.setter
    def lp_content(self, value):
        self._lp0 = value

    @property
    def lp_refusal(self):
        return self.lp_list(1)

    @lp_refusal.setter
    def lp_refusal(self, value):
        self._lp1 = value


@cython.final
cdef class Tool:
    cdef public object index, id, type, name, arguments, extras, function_extras

    def __init__(self, index):
        self.index = index
        self.arguments = TextBuf()
        self.extras = {}
        self.function_extras = {}


# ------------------------------------------------------------------ the rule table, compiled

# The rules of keys kept in extras, as codes.
cdef enum:
    R_LAST = 0
    R_FIRST = 1
    R_IGNORE = 2

cdef dict _EXTRA_CODES = {_LAST: R_LAST, _r.FIRST: R_FIRST, _r.IGNORE: R_IGNORE}


def _compiled(name, table, dict fields):
    """The codes of ``table``'s keys that are kept in extras; checks that the scanner merges each
    of its other keys (``fields``: key -> the rules the scanner implements for it) by its rule."""
    out = {}
    for key, rule in table.keys.items():
        if key in fields:
            if rule not in fields[key]:
                raise ImportError(f"chat rule table: {name}.{key} is {rule}, natively {fields[key]}")
        elif rule in _EXTRA_CODES:
            out[key] = _EXTRA_CODES[rule]
        else:
            raise ImportError(f"chat rule table: {name}.{key} is {rule}, which extras do not take")
    missing = fields.keys() - table.keys.keys()
    if missing:
        raise ImportError(f"chat rule table: {name} lacks {sorted(missing)}")
    if table.unknown != _LAST:
        raise ImportError(f"chat rule table: unknown {name} keys are {table.unknown}, natively last")
    return out


_STRING = (_r.FIRST, _LAST)
cdef dict TOP_EXTRAS = _compiled("CHUNK", _cr.CHUNK, {
    "id": _STRING, "model": _STRING, "service_tier": _STRING, "system_fingerprint": _STRING,
    "created": _STRING, "object": (_r.IGNORE,), "choices": (_r.BY_INDEX,), "usage": (_LAST,),
    "moderation": (_LAST,),
})
cdef dict CHOICE_EXTRAS = _compiled("CHOICE", _cr.CHOICE, {
    "index": (_r.KEY,), "delta": (_r.MERGE,), "finish_reason": (_LAST,), "logprobs": (_APPEND,),
})
cdef bint ID_FIRST = _cr.CHUNK.keys["id"] == _r.FIRST
cdef bint MODEL_FIRST = _cr.CHUNK.keys["model"] == _r.FIRST
cdef bint CREATED_FIRST = _cr.CHUNK.keys["created"] == _r.FIRST
cdef bint FINGERPRINT_FIRST = _cr.CHUNK.keys["system_fingerprint"] == _r.FIRST
cdef bint TIER_FIRST = _cr.CHUNK.keys["service_tier"] == _r.FIRST


def _check_delta_tables():
    """The scanner merges the keys of a delta, a tool call and its function by these rules; unknown
    keys by the value (see Scanner.merge_raw)."""
    expected = {
        "DELTA": (_cr.DELTA, {"role": _r.ONCE, "content": _r.CONCAT, "refusal": _r.CONCAT,
                              "tool_calls": _r.BY_INDEX, "function_call": _r.MERGE, "audio": _r.MERGE,
                              "annotations": _APPEND}),
        "TOOL_CALL": (_cr.TOOL_CALL, {"index": _r.KEY, "id": _r.ONCE, "type": _r.ONCE, "function": _r.MERGE}),
        "FUNCTION": (_cr.FUNCTION, {"name": _r.ONCE, "arguments": _r.CONCAT}),
    }
    for name, (table, keys) in expected.items():
        if dict(table.keys) != keys or table.unknown != _r.BY_VALUE:
            raise ImportError(f"chat rule table: {name} differs from what the native merger implements")


_check_delta_tables()


cdef inline Py_ssize_t put_value(object extras, object key, object value, bint first) except -1:
    """The twin's ``put_extra`` for a value parsed by orjson (rule: last non-null, or ``first``)."""
    if value is None:
        if key in extras:
            return 0
    elif first and extras.get(key):
        return 0
    if key in extras:
        extras[key] = value
        return 0
    extras[key] = value
    return 1


# ------------------------------------------------------------------ the tape

# Exact powers of ten, for logprobs whose digits fit a double's mantissa.
cdef double POW10[23]
POW10[0] = 1.0
for _i in range(1, 23):
    POW10[_i] = POW10[_i - 1] * 10.0

cdef enum:
    T_CHOICE = 1
    T_FINISH
    T_LP_SEEN
    T_LP_START
    T_LP_TOKEN
    T_CHOICE_EXTRA
    T_ROLE
    T_CONTENT
    T_REFUSAL
    T_DELTA_TEXT
    T_DELTA_NULL
    T_DELTA_OTHER
    T_TOOL
    T_TOOL_TYPE
    T_TOOL_NAME
    T_TOOL_ARGS
    T_TOOL_EXTRA
    T_FUNC_EXTRA
    T_ID
    T_MODEL
    T_CREATED
    T_SERVICE_TIER
    T_FINGERPRINT
    T_USAGE
    T_MODERATION
    T_TOP_EXTRA
    T_IGNORED

# Bits of the known keys of each object, to refuse duplicates.
cdef enum:
    B_ID = 1
    B_OBJECT = 2
    B_CREATED = 4
    B_MODEL = 8
    B_CHOICES = 16
    B_SERVICE_TIER = 32
    B_FINGERPRINT = 64
    B_USAGE = 128
    B_MODERATION = 256
    B_OBFUSCATION = 512

cdef struct Tok:
    int kind
    Py_ssize_t a        # string body span, -1 for none
    Py_ssize_t b
    bint esc
    bint flag           # T_TOOL: has an index; T_CHOICE: unused
    long long ival
    Py_ssize_t obj      # index in the scanner's object list (key, or key and value), -1 for none
    Py_ssize_t ida      # T_TOOL: the id's span, -1 for none
    Py_ssize_t idb
    bint idesc

cdef struct Keys:
    int known
    int nunknown
    Py_ssize_t ua[16]
    Py_ssize_t ub[16]


cdef inline bint key_is(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, const char* word,
                        Py_ssize_t k) noexcept:
    return b - a == k and memcmp(p + a, word, k) == 0


cdef inline bint known_once(Keys* keys, int bit) noexcept:
    if keys.known & bit:
        return False
    keys.known |= bit
    return True


cdef bint unknown_once(Keys* keys, const unsigned char* p, Py_ssize_t a, Py_ssize_t b) noexcept:
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


cdef inline bint same_text(object cur, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) noexcept:
    """Whether ``cur`` is the ``str`` of the JSON string body ``p[a:b]`` (checked without escapes
    and ASCII only: otherwise False)."""
    return (not esc and type(cur) is str and PyUnicode_IS_COMPACT_ASCII(cur)
            and PyUnicode_GET_LENGTH(cur) == b - a and memcmp(PyUnicode_DATA(cur), p + a, b - a) == 0)


cdef inline Py_ssize_t dict_size(object acc) except -1:
    """``len(acc)``, read directly when ``acc`` is a dict (merge state Python code can replace)."""
    if type(acc) is dict:
        return PyDict_GET_SIZE(acc)
    return len(acc)


cdef inline int add_text(object acc, const unsigned char* p, Tok* t) except -1:
    if type(acc) is TextBuf:
        return (<TextBuf>acc).add_json(p, t.a, t.b, t.esc)
    acc.append(decode_span(p, t.a, t.b, t.esc))
    return 0


cdef inline Py_ssize_t nested_bound(Py_ssize_t a, Py_ssize_t b) noexcept:
    """At most how many entries merging the JSON value ``p[a:b]`` by the generic rules adds
    (its key, and one per nested key or list item, each of which takes two bytes or more)."""
    return 1 + (b - a) // 2


cdef enum:
    KEPT_KEYS = 64  # key strings a scanner keeps to use again
    RAW_DEPTH = 64  # unknown values nested deeper are parsed by orjson (and merged by the twin's rules)


@cython.final
cdef class RawValue:
    """An extras value set from a payload's bytes, and those bytes."""

    cdef bytes raw
    cdef object value


cdef enum:
    TEMPLATES = 4  # enough for the chunks of n=4 choices, or of 4 tool calls, taking turns


cdef enum:
    VARYING = 16  # at most so many values of a template's payload may differ in a payload it serves


cdef inline bint is_text_tok(int kind) noexcept:
    """Whether a token's span is a string's body that any string can take the place of."""
    return (kind == T_CONTENT or kind == T_REFUSAL or kind == T_TOOL_ARGS or kind == T_DELTA_TEXT
            or kind == T_ROLE or kind == T_FINISH or kind == T_TOOL_TYPE or kind == T_TOOL_NAME
            or kind == T_ID or kind == T_MODEL or kind == T_SERVICE_TIER or kind == T_FINGERPRINT)


cdef inline bint is_raw_tok(Tok* t) noexcept:
    """Whether a token's span is an unknown key's value, which any JSON value can take the place of."""
    return t.a >= 0 and (t.kind == T_TOP_EXTRA or t.kind == T_CHOICE_EXTRA or t.kind == T_DELTA_OTHER
                         or t.kind == T_TOOL_EXTRA or t.kind == T_FUNC_EXTRA or t.kind == T_IGNORED)


@cython.final
cdef class Template:
    """The tape of a payload scanned in full, to serve again for a payload with the same bytes
    but inside its *varying* values: the text strings (content fragments, a finish reason, ...)
    and the values of unknown keys (a random ``obfuscation``, a ``token_id``, ...). Its tape is
    the same but for those values' spans and the spans after them; each new value is checked as
    the scan would. Valid while the scanner's header cache is the one the tape was made with (a
    tape made after a header hit lacks the header's members), and made only from tapes that
    hold no parsed object but keys."""

    cdef bytes payload
    cdef object header
    cdef list objs
    cdef Tok* tape
    cdef Py_ssize_t ntape, cap, at, nvary
    cdef Py_ssize_t nchoices, ntools, key_bound
    cdef bint header_hit
    # The varying values: token, span in ``payload``, whether it is a raw value (else a string
    # body), whether its size counts in ``key_bound``.
    cdef Py_ssize_t vj[VARYING]
    cdef Py_ssize_t va[VARYING]
    cdef Py_ssize_t vb[VARYING]
    cdef bint vraw[VARYING]
    cdef bint vbound[VARYING]

    def __dealloc__(self):
        PyMem_Free(self.tape)

    cdef bint take(self, Scanner sc, bytes payload, Py_ssize_t at) except -1:
        """Become the template of the payload ``sc`` has just scanned; whether it could."""
        cdef Py_ssize_t j, nv = 0, last = -1
        cdef Tok* t
        cdef Tok* grown
        if PyBytes_GET_SIZE(payload) > KEPT_PAYLOAD or sc.ntape > KEPT_TEMPLATE_TOKS:
            return False
        for j in range(sc.ntape):
            t = &sc.tape[j]
            if t.obj >= 0 and t.kind != T_DELTA_TEXT and t.kind != T_DELTA_NULL and t.a < 0:
                return False
            if t.kind == T_LP_TOKEN:  # its tokens are in the scanner's columns, not on the tape
                return False
            if is_text_tok(t.kind) or is_raw_tok(t):
                if nv == VARYING or t.a < last:
                    return False
                self.vj[nv] = j
                self.va[nv] = t.a
                self.vb[nv] = t.b
                self.vraw[nv] = is_raw_tok(t)
                self.vbound[nv] = (t.kind == T_DELTA_OTHER or t.kind == T_TOOL_EXTRA
                                   or t.kind == T_FUNC_EXTRA)
                last = t.b
                nv += 1
        if self.cap < sc.ntape:
            grown = <Tok*>PyMem_Realloc(self.tape, sc.ntape * sizeof(Tok))
            if grown == NULL:
                raise MemoryError()
            self.tape = grown
            self.cap = sc.ntape
        memcpy(self.tape, sc.tape, sc.ntape * sizeof(Tok))
        self.ntape = sc.ntape
        self.nvary = nv
        self.at = at
        self.nchoices = sc.nchoices
        self.ntools = sc.ntools
        self.key_bound = sc.key_bound
        self.header_hit = sc.header_hit
        self.header = sc.header
        self.objs = sc.objs
        self.payload = payload
        return True

    cdef Py_ssize_t replay(self, Scanner sc, bytes payload) except -2:
        """Put the tape of ``payload`` on ``sc``'s when only the varying values differ; the
        scan's result, or -1 (and nothing changed but ``sc``'s payload pointer) when it does not apply."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* tp = <const unsigned char*>PyBytes_AS_STRING(self.payload)
        cdef Py_ssize_t tn = PyBytes_GET_SIZE(self.payload)
        cdef Py_ssize_t na[VARYING]
        cdef Py_ssize_t nb[VARYING]
        cdef bint nesc[VARYING]
        cdef Py_ssize_t pos_t = 0, pos_p = 0, fixed, e, v, j, shift, key_bound = self.key_bound
        cdef Tok* t
        sc.p = p
        sc.n = n
        for v in range(self.nvary):
            fixed = self.va[v] - pos_t
            if pos_p + fixed > n or memcmp(p + pos_p, tp + pos_t, fixed) != 0:
                return -1
            pos_p += fixed
            nesc[v] = False
            fixed = self.vb[v] - self.va[v]
            if (pos_p + fixed < n and self.vb[v] < tn and p[pos_p + fixed] == tp[self.vb[v]]
                    and memcmp(p + pos_p, tp + self.va[v], fixed) == 0
                    and (self.vraw[v] or memchr(p + pos_p, 92, fixed) == NULL)):
                e = pos_p + fixed  # the template's (checked) value again
            elif self.vraw[v]:
                e = sc.json_end(pos_p, 0)
                if self.vbound[v] and e >= 0:
                    key_bound += nested_bound(pos_p, e) - nested_bound(self.va[v], self.vb[v])
            else:
                e = scan_string(p, pos_p, n, &nesc[v])
            if e < 0:
                return -1
            na[v] = pos_p
            nb[v] = e
            pos_p = e
            pos_t = self.vb[v]
        if n - pos_p != tn - pos_t or memcmp(p + pos_p, tp + pos_t, tn - pos_t) != 0:
            return -1
        sc.reserve(self.ntape)
        memcpy(sc.tape, self.tape, self.ntape * sizeof(Tok))
        sc.ntape = self.ntape
        if self.nvary:
            for j in range(self.ntape):
                t = &sc.tape[j]
                if t.a >= 0 or t.ida >= 0:
                    shift = 0
                    for v in range(self.nvary):
                        if self.vj[v] == j:
                            break
                        if self.vb[v] <= t.a or (t.a < 0 and self.vb[v] <= t.ida):
                            shift += (nb[v] - na[v]) - (self.vb[v] - self.va[v])
                    if t.ida >= 0:
                        t.ida += shift
                        t.idb += shift
                    if t.a >= 0:
                        t.a += shift
                        t.b += shift
            for v in range(self.nvary):
                t = &sc.tape[self.vj[v]]
                t.a = na[v]
                t.b = nb[v]
                if not self.vraw[v]:
                    t.esc = nesc[v]
        sc.objs = self.objs
        sc.objs_borrowed = True
        sc.nchoices = self.nchoices
        sc.ntools = self.ntools
        sc.key_bound = key_bound
        sc.header_hit = self.header_hit
        shift = 0
        if self.at > 0:  # "choices" moves with the varying values before it
            for v in range(self.nvary):
                if self.vb[v] <= self.at:
                    shift += (nb[v] - na[v]) - (self.vb[v] - self.va[v])
        return self.at + shift


@cython.final
cdef class Scanner:
    """Scans one payload into the tape, then applies the tape to a merger's state."""

    cdef Tok* tape
    cdef Py_ssize_t ntape
    cdef Py_ssize_t captape
    cdef list objs
    cdef bint objs_borrowed  # ``objs`` is a template's: a new scan starts a list of its own
    cdef const unsigned char* p
    cdef Py_ssize_t n
    # The last fully scanned chunk's bytes before its top-level "choices" key, while no chunk
    # merged since then could have changed what they set; whether the last scan began with them.
    cdef bytes header
    cdef bint header_hit
    cdef Keys header_keys
    cdef Keys top
    cdef Keys before_choices
    # The last payloads scanned in full whose tapes can serve again (see Template), the most
    # recent at ``latest``.
    cdef list templates
    cdef Py_ssize_t latest
    cdef bint replayed  # the last payload's tape came from a template
    cdef list names  # key strings, made once (see key_obj)
    cdef dict seen  # the top-level extras' RawValue (see put_raw)
    #: Payloads merged by the scanner, and those handed to the twin's path; of the first, those
    #: whose tape came from a template.
    cdef public Py_ssize_t fast, slow, reused
    # For the merger's limits: the choices and tool calls of the payload scanned and an upper
    # bound of the entries its unknown keys can add; what applying it made.
    cdef Py_ssize_t nchoices, ntools, key_bound, new_tools, new_keys
    # The logprob tokens of the payload scanned (the tape's T_LP_TOKEN entries index them).
    cdef TokenColumns lp

    def __cinit__(self):
        self.lp = TokenColumns()
        self.captape = 64
        self.tape = <Tok*>PyMem_Malloc(self.captape * sizeof(Tok))
        if self.tape == NULL:
            raise MemoryError()
        self.objs = []
        self.names = []
        # Made when first needed: most streams are short.
        self.seen = None
        self.templates = None

    def __dealloc__(self):
        PyMem_Free(self.tape)

    cdef int reserve(self, Py_ssize_t need) except -1:
        cdef Tok* grown
        cdef Py_ssize_t cap = self.captape
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        grown = <Tok*>PyMem_Realloc(self.tape, cap * sizeof(Tok))
        if grown == NULL:
            raise MemoryError()
        self.tape = grown
        self.captape = cap
        return 0

    cdef int release(self) except -1:
        """Forget the last payload's tape and objects, giving back a large tape's memory."""
        cdef Tok* smaller
        self.ntape = 0
        self.lp.clear()
        if self.objs and not self.objs_borrowed:  # a template's (keys only) stays with it
            self.objs = []
        if self.captape > KEPT_TOKS:
            smaller = <Tok*>PyMem_Realloc(self.tape, 64 * sizeof(Tok))
            if smaller == NULL:
                raise MemoryError()
            self.tape = smaller
            self.captape = 64
        return 0

    cdef Tok* push(self, int kind) except NULL:
        cdef Tok* t
        if self.ntape == self.captape:
            self.reserve(self.ntape + 1)
        t = &self.tape[self.ntape]
        self.ntape += 1
        t.kind = kind
        t.a = -1
        t.b = -1
        t.esc = False
        t.flag = False
        t.ival = 0
        t.obj = -1
        t.ida = -1
        return t

    cdef Py_ssize_t keep(self, object value) except -1:
        self.objs.append(value)
        return len(self.objs) - 1

    cdef Py_ssize_t value_obj(self, Py_ssize_t i, Py_ssize_t* end) except -2:
        """Parse the JSON value at ``i`` into a Python object kept on the object list;
        its index, or -1 to give up."""
        cdef Py_ssize_t e = skip_value(self.p, i, self.n)
        if e < 0:
            return -1
        try:
            value = _loads(PyBytes_FromStringAndSize(<const char*>self.p + i, e - i))
        except JSONDecodeError:
            return -1
        end[0] = e
        return self.keep(value)

    cdef Py_ssize_t string_tok(self, Tok* t, Py_ssize_t i) noexcept:
        """``p[i]`` is a quote: record the string's body span in ``t``; the end, or -1."""
        cdef bint esc = False
        cdef Py_ssize_t e = scan_string(self.p, i + 1, self.n, &esc)
        if e < 0:
            return -1
        t.a = i + 1
        t.b = e
        t.esc = esc
        return e + 1

    cdef Py_ssize_t check_string(self, Py_ssize_t i) noexcept:
        cdef bint esc = False
        cdef Py_ssize_t e = scan_string(self.p, i + 1, self.n, &esc)
        return -1 if e < 0 else e + 1

    cdef inline Py_ssize_t is_null(self, Py_ssize_t i) noexcept:
        if i + 4 <= self.n and memcmp(self.p + i, b"null", 4) == 0:
            return i + 4
        return -1

    cdef Py_ssize_t key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept:
        """A plain key (no escapes, ASCII) at ``p[i]`` and its colon; the value's start or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j
        if i >= self.n or p[i] != 34:
            return -1
        j = i + 1
        while j < self.n and p[j] != 34:
            if p[j] == 92 or p[j] < 0x20 or p[j] >= 0x80:
                return -1
            j += 1
        if j >= self.n:
            return -1
        ka[0] = i + 1
        kb[0] = j
        j = skip_ws(p, j + 1, self.n)
        if j >= self.n or p[j] != 58:
            return -1
        return skip_ws(p, j + 1, self.n)

    cdef inline Py_ssize_t after_member(self, Py_ssize_t i, unsigned char close, bint* more) noexcept:
        i = skip_ws(self.p, i, self.n)
        if i >= self.n:
            return -1
        if self.p[i] == 44:
            more[0] = True
            return skip_ws(self.p, i + 1, self.n)
        if self.p[i] == close:
            more[0] = False
            return i + 1
        return -1

    cdef object key_str(self, Py_ssize_t a, Py_ssize_t b):
        return PyUnicode_DecodeUTF8(<const char*>self.p + a, b - a, NULL)

    cdef object key_obj(self, Py_ssize_t a, Py_ssize_t b):
        """The ``str`` of the plain (ASCII, unescaped) key ``p[a:b]``, the same object for the
        same key while the scanner lives (up to ``KEPT_KEYS`` keys)."""
        cdef Py_ssize_t k = b - a
        cdef object name
        for name in self.names:
            if PyUnicode_GET_LENGTH(name) == k and memcmp(PyUnicode_DATA(name), self.p + a, k) == 0:
                return name
        name = PyUnicode_DecodeUTF8(<const char*>self.p + a, k, NULL)
        if len(self.names) < KEPT_KEYS:
            self.names.append(name)
        return name

    cdef Py_ssize_t extra(self, dict rules, int kind, Py_ssize_t ka, Py_ssize_t kb, Py_ssize_t v) except -2:
        """A top-level or choice-level key kept in extras (``kind``) by its rule in ``rules``."""
        cdef object code = rules.get(self.key_obj(ka, kb)) if rules else None
        cdef Tok* t
        if code is None:
            t = self.push(kind)
        elif <int>code == R_IGNORE:
            t = self.push(T_IGNORED)
        else:
            t = self.push(kind)
            t.flag = <int>code == R_FIRST
        self.key_bound += 1
        return self.raw_value(t, ka, kb, v)

    cdef Py_ssize_t raw_value(self, Tok* t, Py_ssize_t ka, Py_ssize_t kb, Py_ssize_t v) except -2:
        """Record the unknown member ``p[ka:kb]: p[v:]`` on ``t``: as the span of its value when
        the value is JSON the merger builds itself (see ``json_end``), else parsed. Its end or -1."""
        cdef Py_ssize_t e = self.json_end(v, 0)
        if e >= 0:
            t.a = v
            t.b = e
            t.obj = self.keep(self.key_obj(ka, kb))
            return e
        t.obj = self.value_obj(v, &e)
        if t.obj < 0:
            return -1
        self.keep(self.key_str(ka, kb))
        return e

    cdef Py_ssize_t json_end(self, Py_ssize_t i, int depth) except -2:
        """The end of the JSON value at ``p[i]``, checked as strictly as ``orjson`` reads it, or -1
        when it is not valid or not one built here: an object with an escaped, non-ASCII or
        repeated key, or more than 16 keys; an integer of more than 18 digits, a number written
        with more than 40 characters or out of the range of a double; nesting deeper than ``RAW_DEPTH``."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t ka, kb
        cdef bint more = True
        cdef bint is_float
        cdef Keys keys
        cdef unsigned char c
        if i >= n:
            return -1
        c = p[i]
        if c == 34:
            return self.check_string(i)
        if c == 123:
            if depth >= RAW_DEPTH:
                return -1
            keys.nunknown = 0
            i = skip_ws(p, i + 1, n)
            if i < n and p[i] == 125:
                return i + 1
            while more:
                i = self.key(i, &ka, &kb)
                if i < 0 or not unknown_once(&keys, p, ka, kb):
                    return -1
                i = self.json_end(i, depth + 1)
                if i < 0:
                    return -1
                i = self.after_member(i, 125, &more)
                if i < 0:
                    return -1
            return i
        if c == 91:
            if depth >= RAW_DEPTH:
                return -1
            i = skip_ws(p, i + 1, n)
            if i < n and p[i] == 93:
                return i + 1
            while more:
                i = self.json_end(i, depth + 1)
                if i < 0:
                    return -1
                i = self.after_member(i, 93, &more)
                if i < 0:
                    return -1
            return i
        if c == 116:
            return i + 4 if i + 4 <= n and memcmp(p + i, b"true", 4) == 0 else -1
        if c == 102:
            return i + 5 if i + 5 <= n and memcmp(p + i, b"false", 5) == 0 else -1
        if c == 110:
            return self.is_null(i)
        ka = scan_number(p, i, n, &is_float)
        if ka < 0 or ka - i > 40 or (is_float and not finite_number(p, i, ka)):
            return -1
        return ka

    # -- values recorded as spans (checked by json_end), built and merged here

    cdef object build(self, Py_ssize_t i, Py_ssize_t* end):
        """The Python value of the JSON at ``p[i]`` (checked by ``json_end``), as ``orjson`` makes it."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, e
        cdef bint more = True
        cdef bint flag = False
        cdef long long ival
        cdef unsigned char c = p[i]
        cdef object out, key
        if c == 34:
            e = scan_string(p, i + 1, self.n, &flag)
            end[0] = e + 1
            return decode_span(p, i + 1, e, flag)
        if c == 123:
            out = {}
            i = skip_ws(p, i + 1, self.n)
            if p[i] == 125:
                end[0] = i + 1
                return out
            while more:
                i = self.key(i, &ka, &kb)
                key = self.key_obj(ka, kb)
                out[key] = self.build(i, &i)
                i = self.after_member(i, 125, &more)
            end[0] = i
            return out
        if c == 91:
            out = []
            i = skip_ws(p, i + 1, self.n)
            if p[i] == 93:
                end[0] = i + 1
                return out
            while more:
                out.append(self.build(i, &i))
                i = self.after_member(i, 93, &more)
            end[0] = i
            return out
        if c == 116:
            end[0] = i + 4
            return True
        if c == 102:
            end[0] = i + 5
            return False
        if c == 110:
            end[0] = i + 4
            return None
        e = scan_number(p, i, self.n, &flag)
        end[0] = e
        if flag:
            return parse_double(p, i, e)
        scan_int(p, i, self.n, &ival)
        return ival

    cdef object text_obj(self, Py_ssize_t i):
        """The ``str`` of the (checked) string at ``p[i]``: one made once when it is a short plain
        ASCII one (an item's ``type``), whose hash is then computed once."""
        cdef Py_ssize_t j = i + 1
        while j < self.n and j - i <= 64 and 0x20 <= self.p[j] < 0x80 and self.p[j] != 92 and self.p[j] != 34:
            j += 1
        if j < self.n and self.p[j] == 34:
            return self.key_obj(i + 1, j)
        return self.built(i)

    cdef object built(self, Py_ssize_t i):
        cdef Py_ssize_t e
        return self.build(i, &e)

    cdef Py_ssize_t merge_raw(self, object acc, object key, Py_ssize_t i, dict rules, int depth,
                              Py_ssize_t* end) except -1:
        """Merge the member ``key`` whose value is the span at ``p[i]`` into ``acc``, as the twin's
        ``merge_generic(acc, {key: value}, rules, depth)``; what it returns. ``end``: the value's end."""
        cdef const unsigned char* p = self.p
        cdef unsigned char c = p[i]
        cdef Py_ssize_t ka, kb, e, added
        cdef bint more = True
        cdef bint esc = False
        cdef object old, rule
        if c == 110:
            end[0] = i + 4
            if key not in acc:
                acc[key] = None
                return 1
            return 0
        old = acc.get(key)
        added = 1 if old is None and key not in acc else 0
        if c == 34:
            e = scan_string(p, i + 1, self.n, &esc)
            end[0] = e + 1
            if rules.get(key) == _LAST:
                if added or not same_text(old, p, i + 1, e, esc):
                    acc[key] = decode_span(p, i + 1, e, esc)
                return added
            if type(old) is TextBuf:
                (<TextBuf>old).add_json(p, i + 1, e, esc)
            elif type(old) in _STR_ACCUMULATORS:
                old.append(decode_span(p, i + 1, e, esc))
            else:
                old = TextBuf()
                (<TextBuf>old).add_json(p, i + 1, e, esc)
                acc[key] = old
            return added
        if c == 123 and depth < _MAX_MERGE_DEPTH and rules.get(key) != _LAST:
            if type(old) is not _Merged:
                old = _Merged()
                acc[key] = old
            i = skip_ws(p, i + 1, self.n)
            if p[i] == 125:
                end[0] = i + 1
                return added
            while more:
                i = self.key(i, &ka, &kb)
                added += self.merge_raw(old, self.key_obj(ka, kb), i, rules, depth + 1, &i)
                i = self.after_member(i, 125, &more)
            end[0] = i
            return added
        if c == 91:
            rule = rules.get(key)
            if rule != _LAST:
                return added + self.merge_list(acc, key, old, rule, i, rules, depth, end)
        acc[key] = self.build(i, end)
        return added

    cdef Py_ssize_t merge_list(self, object acc, object key, object old, object rule, Py_ssize_t i,
                               dict rules, int depth, Py_ssize_t* end) except -1:
        """The twin's ``merge_list`` for the array at ``p[i]`` (but for the count of ``key``)."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t added = 0, start = i
        cdef bint more = True
        cdef object items
        if rule == _APPEND:
            if type(old) is list:
                (<list>old).extend(self.build(i, end))
            else:
                acc[key] = self.build(i, end)
            return 0
        if (self.indexed_items(i) and depth < _MAX_MERGE_DEPTH
                and (old is None or type(old) is _Indexed or old == [])):
            if type(old) is not _Indexed:
                old = _Indexed()
                acc[key] = old
            i = skip_ws(p, i + 1, self.n)
            while more:
                added += self.merge_item(old, i, rules, depth, &i)
                i = self.after_member(i, 93, &more)
            end[0] = i
            return added
        items = self.build(start, end)
        if type(old) is _Indexed:
            for item in items:
                old[("append", len(old))] = item
            return len(items)
        if type(old) is list:
            (<list>old).extend(items)
        else:
            acc[key] = items
        return 0

    cdef bint indexed_items(self, Py_ssize_t i) except -1:
        """Whether the array at ``p[i]`` is not empty and holds only objects with an integer ``index``."""
        cdef const unsigned char* p = self.p
        cdef bint more = True
        i = skip_ws(p, i + 1, self.n)
        if p[i] == 93:
            return False
        while more:
            if p[i] != 123 or not self.is_int(self.member(i, b"index", 5)):
                return False
            i = self.after_member(skip_value(p, i, self.n), 93, &more)
        return True

    cdef Py_ssize_t member(self, Py_ssize_t i, const char* name, Py_ssize_t k) noexcept:
        """The start of member ``name``'s value in the (checked) object at ``p[i]``, or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb
        cdef bint more = True
        i = skip_ws(p, i + 1, self.n)
        if p[i] == 125:
            return -1
        while more:
            i = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, name, k):
                return i
            i = self.after_member(skip_value(p, i, self.n), 125, &more)
        return -1

    cdef bint is_int(self, Py_ssize_t i) noexcept:
        """Whether the (checked) value at ``p[i]`` is an integer (``i`` -1: no value)."""
        cdef bint is_float
        cdef unsigned char c
        if i < 0:
            return False
        c = self.p[i]
        if c != 45 and (c < 48 or c > 57):
            return False
        return scan_number(self.p, i, self.n, &is_float) >= 0 and not is_float

    cdef Py_ssize_t merge_item(self, object acc, Py_ssize_t i, dict rules, int depth,
                               Py_ssize_t* end) except -1:
        """The twin's ``merge_indexed_item`` for the object at ``p[i]`` (it has an integer ``index``)."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t at = -1, ka, kb, added = 0, j
        cdef bint more = True
        cdef object index = None, slot, where
        j = skip_ws(p, i + 1, self.n)
        while more:  # the index and the type (an item has the index: not empty)
            j = self.key(j, &ka, &kb)
            if key_is(p, ka, kb, b"index", 5):
                index = self.built(j)
            elif key_is(p, ka, kb, b"type", 4):
                at = j
            j = self.after_member(skip_value(p, j, self.n), 125, &more)
        if at >= 0 and p[at] == 34:
            where = (index, self.text_obj(at))
        else:
            where = acc.last.get(index, (index, None))
        acc.last[index] = where
        slot = acc.get(where)
        if slot is None:
            slot = _Merged()
            acc[where] = slot
            added = 1
        i = skip_ws(p, i + 1, self.n)
        more = True
        while more:
            i = self.key(i, &ka, &kb)
            added += self.merge_raw(slot, self.key_obj(ka, kb), i, rules, depth + 1, &i)
            i = self.after_member(i, 125, &more)
        end[0] = i
        return added

    cdef Py_ssize_t put_raw(self, object extras, dict seen, object key, Py_ssize_t a, Py_ssize_t b,
                            bint first) except -1:
        """Set ``extras[key]`` to the value spanned by ``p[a:b]`` unless it is ``null`` and the key
        is there (last non-null value), or, ``first``, the key holds a non-empty value; how many keys
        it added. ``seen`` keeps the bytes of each key's value set here, so that the same bytes
        again (an object repeated on every chunk) leave the value as it is."""
        cdef RawValue last
        cdef Py_ssize_t size
        if self.p[a] == 110:
            if key in extras:
                return 0
            extras[key] = None
            return 1
        if first and extras.get(key):
            return 0
        last = seen.get(key)
        if (last is not None and PyBytes_GET_SIZE(last.raw) == b - a
                and memcmp(PyBytes_AS_STRING(last.raw), self.p + a, b - a) == 0
                and extras.get(key, seen) is last.value):
            return 0
        size = dict_size(extras)
        value = self.built(a)
        extras[key] = value
        if self.p[a] == 123 or self.p[a] == 91:
            if last is None:
                last = RawValue()
                seen[key] = last
            last.raw = PyBytes_FromStringAndSize(<const char*>self.p + a, b - a)
            last.value = value
        return dict_size(extras) - size

    # -- the chunk

    cdef Py_ssize_t scan(self, bytes payload) except -2:
        """Scan a payload onto the tape; its top-level "choices" key offset (or 0), or -1."""
        cdef Py_ssize_t at, k, j
        cdef Template tpl
        # A template made after a header hit serves payloads that begin with that header; one made
        # from a whole payload (a stream whose header changes, as a new id on every chunk) serves
        # the payloads that do not begin with the header held.
        cdef Py_ssize_t hl = PyBytes_GET_SIZE(self.header) if self.header is not None else -1
        cdef bint hit = 0 <= hl < PyBytes_GET_SIZE(payload) and memcmp(
            PyBytes_AS_STRING(payload), PyBytes_AS_STRING(self.header), hl) == 0
        self.replayed = False
        for k in range(TEMPLATES if self.templates is not None else 0):
            j = (self.latest + TEMPLATES - k) % TEMPLATES
            if self.templates[j] is None:
                continue
            tpl = <Template>self.templates[j]
            if tpl.payload is not None and (
                    (tpl.header is self.header and hit) if tpl.header_hit else not hit):
                at = tpl.replay(self, payload)
                if at >= 0:
                    self.reused += 1
                    self.replayed = True
                    return at
        if self.captape > KEPT_TOKS:
            self.release()  # a large tape no applied payload gave back
        at = self.scan_full(payload)
        if at < 0:
            self.release()
            return at
        if self.templates is None:
            self.templates = [None] * TEMPLATES
        j = (self.latest + 1) % TEMPLATES
        if self.templates[j] is None:
            self.templates[j] = Template()
        if (<Template>self.templates[j]).take(self, payload, at):
            self.latest = j
        return at

    cdef Py_ssize_t scan_full(self, bytes payload) except -2:
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t i, ka, kb, v, choices_at = 0
        cdef bint more
        cdef Tok* t
        cdef Py_ssize_t hl
        self.p = p
        self.n = n
        self.ntape = 0
        self.nchoices = 0
        self.ntools = 0
        self.key_bound = 0
        if self.objs or self.objs_borrowed:
            self.objs = []
            self.objs_borrowed = False
        self.top.known = 0
        self.top.nunknown = 0
        self.header_hit = False
        i = 1
        if self.header is not None:
            hl = PyBytes_GET_SIZE(self.header)
            if n > hl and memcmp(p, PyBytes_AS_STRING(self.header), hl) == 0:
                # The header's unknown keys were recorded as offsets into it, and the payload
                # begins with the same bytes: they are compared in the payload, like the keys after.
                self.top = self.header_keys
                i = hl
                choices_at = -2  # members before "choices" are known already
                self.header_hit = True
        i = skip_ws(p, i, n)
        if choices_at == 0 and i < n and p[i] == 125:
            return self.end(i + 1, 0)
        while True:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            if key_is(p, ka, kb, b"choices", 7):
                if not known_once(&self.top, B_CHOICES):
                    return -1
                if choices_at == 0:
                    choices_at = ka - 1
                    self.before_choices = self.top
                i = self.choices(v)
            elif key_is(p, ka, kb, b"id", 2):
                i = self.top_string(v, B_ID, T_ID)
            elif key_is(p, ka, kb, b"object", 6):
                if not known_once(&self.top, B_OBJECT):
                    return -1
                i = self.is_null(v)
                if i < 0 and p[v] == 34:
                    i = self.check_string(v)
            elif key_is(p, ka, kb, b"created", 7):
                if not known_once(&self.top, B_CREATED):
                    return -1
                i = self.is_null(v)
                if i < 0:
                    t = self.push(T_CREATED)
                    i = scan_int(p, v, n, &t.ival)
            elif key_is(p, ka, kb, b"model", 5):
                i = self.top_string(v, B_MODEL, T_MODEL)
            elif key_is(p, ka, kb, b"system_fingerprint", 18):
                i = self.top_string(v, B_FINGERPRINT, T_FINGERPRINT)
            elif key_is(p, ka, kb, b"service_tier", 12):
                i = self.top_string(v, B_SERVICE_TIER, T_SERVICE_TIER)
            elif key_is(p, ka, kb, b"usage", 5):
                i = self.top_model(v, B_USAGE, T_USAGE, _Usage)
            elif key_is(p, ka, kb, b"moderation", 10):
                i = self.top_model(v, B_MODERATION, T_MODERATION, _Moderation)
            elif key_is(p, ka, kb, b"error", 5) or key_is(p, ka, kb, b"x_groq", 6):
                return -1
            else:
                if not unknown_once(&self.top, p, ka, kb):
                    return -1
                i = self.extra(TOP_EXTRAS, T_TOP_EXTRA, ka, kb, v)
            if i < 0:
                return -1
            i = self.after_member(i, 125, &more)
            if i < 0:
                return -1
            if not more:
                return self.end(i, choices_at)

    cdef Py_ssize_t end(self, Py_ssize_t i, Py_ssize_t choices_at) noexcept:
        if skip_ws(self.p, i, self.n) != self.n:
            return -1
        return choices_at if choices_at > 0 else 0

    cdef Py_ssize_t top_string(self, Py_ssize_t v, int bit, int kind) except -2:
        cdef Tok* t
        if not known_once(&self.top, bit):
            return -1
        if self.p[v] == 34:
            t = self.push(kind)
            return self.string_tok(t, v)
        return self.is_null(v)

    cdef Py_ssize_t top_model(self, Py_ssize_t v, int bit, int kind, object model) except -2:
        cdef Py_ssize_t e = self.is_null(v)
        cdef Tok* t
        if not known_once(&self.top, bit):
            return -1
        if e >= 0:
            return e
        t = self.push(kind)
        t.obj = self.value_obj(v, &e)
        if t.obj < 0:
            return -1
        try:
            self.objs[t.obj] = model.from_dict(self.objs[t.obj])
        except _SchemaError:
            return -1
        return e

    cdef Py_ssize_t choices(self, Py_ssize_t i) except -2:
        cdef bint more = True
        if self.is_null(i) >= 0:
            return i + 4
        if self.p[i] != 91:
            return -1
        i = skip_ws(self.p, i + 1, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            i = self.choice(i + 1)
            if i < 0:
                return -1
            i = self.after_member(i, 93, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t choice(self, Py_ssize_t i) except -2:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t slot = self.ntape
        cdef Py_ssize_t ka, kb, v, e
        cdef Keys keys
        cdef bint more
        cdef long long index = 0
        keys.known = 0
        keys.nunknown = 0
        self.push(T_CHOICE)
        self.nchoices += 1
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            self.tape[slot].ival = 0
            return i + 1
        while True:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            if key_is(p, ka, kb, b"delta", 5):
                if not known_once(&keys, 1):
                    return -1
                e = self.is_null(v)
                if e < 0:
                    if p[v] != 123:
                        return -1
                    e = self.delta(v + 1)
            elif key_is(p, ka, kb, b"index", 5):
                if not known_once(&keys, 2):
                    return -1
                e = scan_int(p, v, self.n, &index)
            elif key_is(p, ka, kb, b"finish_reason", 13):
                if not known_once(&keys, 4):
                    return -1
                e = self.is_null(v)
                if e < 0 and p[v] == 34:
                    e = self.string_tok(self.push(T_FINISH), v)
            elif key_is(p, ka, kb, b"logprobs", 8):
                if not known_once(&keys, 8):
                    return -1
                e = self.is_null(v)
                if e < 0:
                    if p[v] != 123:
                        return -1
                    e = self.logprobs(v + 1)
            else:
                if not unknown_once(&keys, p, ka, kb):
                    return -1
                e = self.extra(CHOICE_EXTRAS, T_CHOICE_EXTRA, ka, kb, v)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
            if not more:
                self.tape[slot].ival = index
                return i

    cdef Py_ssize_t logprobs(self, Py_ssize_t i) except -2:
        """A choice's logprobs object (after its brace): its token lists go on the tape as spans."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, e
        cdef int which
        cdef Keys keys
        cdef bint more = True
        cdef Tok* t
        keys.known = 0
        self.push(T_LP_SEEN)
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            return i + 1
        while more:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            if key_is(p, ka, kb, b"content", 7):
                which = 0
            elif key_is(p, ka, kb, b"refusal", 7):
                which = 1
            else:
                return -1
            if not known_once(&keys, 1 << which):
                return -1
            e = self.is_null(v)
            if e < 0:
                if p[v] != 91:
                    return -1
                t = self.push(T_LP_START)
                t.flag = which
                e = self.lp_tokens(v + 1, which)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t lp_tokens(self, Py_ssize_t i, int which) except -2:
        cdef bint more = True
        cdef Py_ssize_t e, k
        cdef Tok* t
        i = skip_ws(self.p, i, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            k = self.lp.n
            e = self.lp_token(i + 1)
            if e < 0:
                return -1
            t = self.push(T_LP_TOKEN)
            t.flag = which
            t.a = i
            t.b = e
            t.ival = k
            i = self.after_member(e, 93, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t lp_token(self, Py_ssize_t i) except -2:
        """One token object (after its brace), checked as the model would and put in the
        scanner's columns ``lp`` (as an odd token, made from its JSON when applied, unless it has
        the usual shape: a string token, a float logprob, bytes, top alternatives of that shape);
        its end or -1."""
        cdef const unsigned char* p = self.p
        cdef TokenColumns lp = self.lp
        cdef Py_ssize_t ka, kb, v, e
        cdef Py_ssize_t ba = -1, bb = -1
        cdef Py_ssize_t at = lp.entry()
        cdef Keys keys
        cdef bint more = True
        cdef bint usual = True
        keys.known = 0
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            more = False
            i += 1
        while more:
            v = self.lp_key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"token", 5):
                if not known_once(&keys, 1):
                    return -1
                if e < 0 and p[v] == 34:
                    e = self.lp_text(v, at)
                else:
                    usual = False
            elif key_is(p, ka, kb, b"logprob", 7):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    e = self.lp_number(v, at, &usual)
                else:
                    usual = False
            elif key_is(p, ka, kb, b"bytes", 5):
                if not known_once(&keys, 4):
                    return -1
                if e < 0:
                    if keys.known & 1:
                        e = self.lp_byte_array(v, at)
                        bb = -2  # compared already
                    else:
                        e = int_array(p, v, self.n)
                        ba = v
                        bb = e
            elif key_is(p, ka, kb, b"top_logprobs", 12):
                if not known_once(&keys, 8):
                    return -1
                if e < 0 and p[v] == 91:
                    e = self.lp_tops(v + 1, &usual)
                else:
                    usual = False
            else:
                return -1
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
        if usual and keys.known == 15:
            if bb != -2:
                self.lp_bytes(at, ba, bb)
            lp.end_token()
        else:
            lp.add_object(None)
        return i

    cdef Py_ssize_t lp_tops(self, Py_ssize_t i, bint* usual) except -2:
        cdef bint more = True
        cdef Py_ssize_t e
        i = skip_ws(self.p, i, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            e = self.lp_top(i + 1, usual)
            if e < 0:
                return -1
            i = self.after_member(e, 93, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t lp_top(self, Py_ssize_t i, bint* usual) except -2:
        """A top alternative (after its brace), as ``lp_token`` reads a token."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, e
        cdef Py_ssize_t ba = -1, bb = -1
        cdef Py_ssize_t at = self.lp.entry()
        cdef Keys keys
        cdef bint more = True
        keys.known = 0
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            more = False
            i += 1
        while more:
            v = self.lp_key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"token", 5):
                if not known_once(&keys, 1):
                    return -1
                if e < 0 and p[v] == 34:
                    e = self.lp_text(v, at)
                else:
                    usual[0] = False
            elif key_is(p, ka, kb, b"logprob", 7):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    e = self.lp_number(v, at, usual)
                else:
                    usual[0] = False
            elif key_is(p, ka, kb, b"bytes", 5):
                if not known_once(&keys, 4):
                    return -1
                if e < 0:
                    if keys.known & 1:
                        e = self.lp_byte_array(v, at)
                        bb = -2  # compared already
                    else:
                        e = int_array(p, v, self.n)
                        ba = v
                        bb = e
            else:
                return -1
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
        if keys.known != 7:
            usual[0] = False
        elif usual[0] and bb != -2:
            self.lp_bytes(at, ba, bb)
        return i

    cdef Py_ssize_t lp_text(self, Py_ssize_t v, Py_ssize_t at) except -2:
        """The string at ``v`` (a quote) as entry ``at``'s text; its end or -1."""
        cdef bint esc = False
        cdef Py_ssize_t e = scan_string(self.p, v + 1, self.n, &esc)
        cdef TokenColumns lp = self.lp
        if e < 0:
            return -1
        lp.entries[at].start = lp.text.length
        lp.text.add_json(self.p, v + 1, e, esc)
        lp.entries[at].end = lp.text.length
        return e + 1

    cdef inline Py_ssize_t lp_key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept:
        """``key``, with the keys of a token written the usual way (no space before the colon)
        matched at once."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t k = 0
        if i + 16 <= self.n and p[i] == 34:
            if p[i + 1] == 116:
                if memcmp(p + i + 1, b'token":', 7) == 0:
                    k = 5
                elif memcmp(p + i + 1, b'top_logprobs":', 14) == 0:
                    k = 12
            elif p[i + 1] == 108:
                if memcmp(p + i + 1, b'logprob":', 9) == 0:
                    k = 7
            elif p[i + 1] == 98:
                if memcmp(p + i + 1, b'bytes":', 7) == 0:
                    k = 5
            if k:
                ka[0] = i + 1
                kb[0] = i + 1 + k
                return skip_ws(p, i + k + 3, self.n)
        return self.key(i, ka, kb)

    cdef Py_ssize_t lp_number(self, Py_ssize_t v, Py_ssize_t at, bint* usual) except -2:
        """The number at ``v`` as entry ``at``'s logprob (an integer, or one too long for
        ``parse_double``, makes the token odd); its end or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t n = self.n, i = v, int_start, frac_start
        cdef unsigned long long mantissa = 0
        cdef bint is_float
        cdef Py_ssize_t e
        # The usual form, -?(0|[1-9][0-9]*)[.][0-9]+ with at most 18 digits, read in one pass
        # (as parse_double reads it: the digits are exact, one division rounds).
        if i < n and p[i] == 45:
            i += 1
        int_start = i
        if i < n and p[i] == 48:
            i += 1
        else:
            while i < n and p[i] >= 48 and p[i] <= 57:
                mantissa = mantissa * 10 + (p[i] - 48)
                i += 1
        if i > int_start and i < n and p[i] == 46 and (i - int_start == 1 or p[int_start] != 48):
            i += 1
            frac_start = i
            while i < n and p[i] >= 48 and p[i] <= 57:
                mantissa = mantissa * 10 + (p[i] - 48)
                i += 1
            if (i > frac_start and i - int_start <= 19 and i - frac_start <= 22
                    and (i >= n or (p[i] != 101 and p[i] != 69))):
                if mantissa < (1ULL << 53):
                    self.lp.entries[at].logprob = (
                        -(<double>mantissa / POW10[i - frac_start]) if p[v] == 45
                        else <double>mantissa / POW10[i - frac_start]
                    )
                    return i
        e = scan_number(self.p, v, self.n, &is_float)
        if e < 0 or (is_float and not finite_number(self.p, v, e)):
            return -1
        if is_float and e - v < 80:
            self.lp.entries[at].logprob = parse_double(self.p, v, e)
        else:
            usual[0] = False
        return e

    cdef Py_ssize_t lp_byte_array(self, Py_ssize_t i, Py_ssize_t at) except -2:
        """The array of plain integers at ``p[i]`` (as ``int_array`` reads it), compared with the
        text of entry ``at`` as it is read; its end or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t start = i
        cdef LpEntry* entry = &self.lp.entries[at]
        cdef const unsigned char* text = <const unsigned char*>self.lp.text.data
        cdef Py_ssize_t j = entry.start
        cdef long long v
        cdef unsigned char c
        cdef bint same = True
        cdef char compact[258]
        cdef Py_ssize_t k = 1
        if i >= n or p[i] != 91:
            return -1
        if entry.end - entry.start <= 64:
            # The array as a compact JSON writer writes the text's bytes, compared at once.
            compact[0] = 91
            for j in range(entry.start, entry.end):
                c = text[j]
                memcpy(compact + k, DECIMAL[c], 4)
                k += DECIMAL_LEN[c]
            if k > 1:
                k -= 1  # the last comma
            compact[k] = 93
            k += 1
            if i + k <= n and memcmp(p + i, compact, k) == 0:
                return i + k
            j = entry.start
        i = skip_ws(p, i + 1, n)
        if i < n and p[i] == 93:
            i += 1
        else:
            while True:
                c = p[i] - 49 if i < n else 255
                if c < 9 and i + 4 < n:  # 1 to 9: a number of up to four digits, the usual
                    v = c + 1
                    i += 1
                    c = p[i] - 48
                    if c < 10:
                        v = v * 10 + c
                        i += 1
                        c = p[i] - 48
                        if c < 10:
                            v = v * 10 + c
                            i += 1
                            if <unsigned char>(p[i] - 48) < 10:
                                i = scan_int(p, i - 3, n, &v)
                                if i < 0:
                                    return -1
                else:
                    i = scan_int(p, i, n, &v)
                    if i < 0:
                        return -1
                if i < n and (p[i] == 46 or p[i] == 101 or p[i] == 69):
                    return -1
                if same and (j >= entry.end or v != text[j]):
                    same = False
                j += 1
                if i < n and p[i] == 44:
                    i = skip_ws(p, i + 1, n)
                    continue
                i = skip_ws(p, i, n)
                if i >= n:
                    return -1
                if p[i] == 93:
                    i += 1
                    break
                if p[i] != 44:
                    return -1
                i = skip_ws(p, i + 1, n)
        if not (same and j == entry.end):
            self.lp_bytes(at, start, i)
        return i

    cdef int lp_bytes(self, Py_ssize_t at, Py_ssize_t ba, Py_ssize_t bb) except -1:
        """Entry ``at``'s flags for its bytes (the int array ``p[ba:bb]``, or null)."""
        cdef TokenColumns lp = self.lp
        cdef LpEntry* entry = &lp.entries[at]
        cdef const unsigned char* text = <const unsigned char*>lp.text.data
        cdef Py_ssize_t i, j = entry.start
        cdef long long v
        cdef bint same = True
        cdef list values
        if ba < 0:
            entry.flags |= E_BYTES_NULL
            return 0
        i = skip_ws(self.p, ba + 1, bb)
        while i < bb - 1:
            i = scan_int(self.p, i, bb, &v)
            if j >= entry.end or v != text[j]:
                same = False
                break
            j += 1
            i = skip_ws(self.p, i, bb)
            if self.p[i] == 44:
                i = skip_ws(self.p, i + 1, bb)
        if same and j == entry.end:
            return 0
        values = []
        i = skip_ws(self.p, ba + 1, bb)
        while i < bb - 1:
            i = scan_int(self.p, i, bb, &v)
            values.append(v)
            i = skip_ws(self.p, i, bb)
            if self.p[i] == 44:
                i = skip_ws(self.p, i + 1, bb)
        entry.flags |= E_BYTES_OTHER
        if lp.other_bytes is None:
            lp.other_bytes = {}
        lp.other_bytes[at] = values
        return 0

    cdef Py_ssize_t delta(self, Py_ssize_t i) except -2:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, e
        cdef Keys keys
        cdef bint more
        cdef Tok* t
        keys.known = 0
        keys.nunknown = 0
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            return i + 1
        while True:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"content", 7):
                if not known_once(&keys, 1):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_CONTENT), v)
            elif key_is(p, ka, kb, b"role", 4):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_ROLE), v)
            elif key_is(p, ka, kb, b"refusal", 7):
                if not known_once(&keys, 4):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_REFUSAL), v)
            elif key_is(p, ka, kb, b"tool_calls", 10):
                if not known_once(&keys, 8):
                    return -1
                if e < 0:
                    e = self.tool_calls(v)
            elif (key_is(p, ka, kb, b"function_call", 13) or key_is(p, ka, kb, b"audio", 5)
                  or key_is(p, ka, kb, b"annotations", 11)):
                if not known_once(
                    &keys, 16 if p[ka] == 102 else (32 if p[ka] == 97 and p[ka + 1] == 117 else 64)
                ):
                    return -1
                if e < 0:
                    return -1
            else:
                if not unknown_once(&keys, p, ka, kb):
                    return -1
                if e >= 0:
                    t = self.push(T_DELTA_NULL)
                    t.obj = self.keep(self.key_obj(ka, kb))
                    self.key_bound += 1
                elif p[v] == 34:
                    t = self.push(T_DELTA_TEXT)
                    e = self.string_tok(t, v)
                    t.obj = self.keep(self.key_obj(ka, kb))
                    self.key_bound += 1
                else:
                    e = self.raw_value(self.push(T_DELTA_OTHER), ka, kb, v)
                    self.key_bound += nested_bound(v, e)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
            if not more:
                return i

    cdef Py_ssize_t tool_calls(self, Py_ssize_t i) except -2:
        cdef bint more = True
        if self.p[i] != 91:
            return -1
        i = skip_ws(self.p, i + 1, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            i = self.tool_call(i + 1)
            if i < 0:
                return -1
            i = self.after_member(i, 93, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t tool_call(self, Py_ssize_t i) except -2:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t slot = self.ntape
        cdef Py_ssize_t ka, kb, v, e
        cdef Keys keys
        cdef bint more
        cdef Tok* t
        cdef Tok id_tok
        cdef long long index = 0
        cdef bint has_index = False
        keys.known = 0
        keys.nunknown = 0
        id_tok.a = -1
        id_tok.b = -1
        id_tok.esc = False
        self.push(T_TOOL)
        self.ntools += 1
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            i += 1
            more = False
        else:
            more = True
        while more:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"index", 5):
                if not known_once(&keys, 1):
                    return -1
                if e < 0:
                    e = scan_int(p, v, self.n, &index)
                    has_index = True
            elif key_is(p, ka, kb, b"id", 2):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(&id_tok, v)
            elif key_is(p, ka, kb, b"type", 4):
                if not known_once(&keys, 4):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_TOOL_TYPE), v)
            elif key_is(p, ka, kb, b"function", 8):
                if not known_once(&keys, 8):
                    return -1
                if e < 0:
                    if p[v] != 123:
                        return -1
                    e = self.function(v + 1)
            else:
                if not unknown_once(&keys, p, ka, kb):
                    return -1
                if e < 0:
                    e = self.raw_value(self.push(T_TOOL_EXTRA), ka, kb, v)
                    self.key_bound += nested_bound(v, e)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
        t = &self.tape[slot]
        t.flag = has_index
        t.ival = index
        t.ida = id_tok.a
        t.idb = id_tok.b
        t.idesc = id_tok.esc
        return i

    cdef Py_ssize_t function(self, Py_ssize_t i) except -2:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, e
        cdef Keys keys
        cdef bint more
        keys.known = 0
        keys.nunknown = 0
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            return i + 1
        while True:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"arguments", 9):
                if not known_once(&keys, 1):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_TOOL_ARGS), v)
            elif key_is(p, ka, kb, b"name", 4):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    if p[v] != 34:
                        return -1
                    e = self.string_tok(self.push(T_TOOL_NAME), v)
            else:
                if not unknown_once(&keys, p, ka, kb):
                    return -1
                e = self.raw_value(self.push(T_FUNC_EXTRA), ka, kb, v)
                self.key_bound += nested_bound(v, e)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
            if not more:
                return i

    # -- applying the tape

    cdef int apply(self, object merger, dict choices, dict rules) except -1:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j
        cdef Tok* t
        cdef Choice state = None
        cdef Tool tool = None
        cdef object key, old, index
        cdef list objs = self.objs
        cdef TextBuf buf
        cdef Py_ssize_t size
        self.new_tools = 0
        self.new_keys = 0
        for j in range(self.ntape):
            t = &self.tape[j]
            if t.kind == T_CHOICE:
                index = t.ival
                state = choices.get(index)
                if state is None:
                    state = Choice(index)
                    choices[index] = state
            elif t.kind == T_CONTENT:
                if state.content is None:
                    state.content = TextBuf()
                add_text(state.content, p, t)
            elif t.kind == T_TOOL_ARGS:
                add_text(tool.arguments, p, t)
            elif t.kind == T_FINISH:
                if not same_text(state.finish_reason, p, t.a, t.b, t.esc):
                    state.finish_reason = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_ROLE:
                if state.role is None and t.b > t.a:
                    state.role = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_REFUSAL:
                if state.refusal is None:
                    state.refusal = TextBuf()
                add_text(state.refusal, p, t)
            elif t.kind == T_DELTA_TEXT:
                key = objs[t.obj]
                acc = state.message_extras
                size = dict_size(acc)
                if rules.get(key) == _LAST:
                    if not same_text(acc.get(key), p, t.a, t.b, t.esc):
                        acc[key] = decode_span(p, t.a, t.b, t.esc)
                else:
                    old = acc.get(key)
                    if type(old) is TextBuf:
                        (<TextBuf>old).add_json(p, t.a, t.b, t.esc)
                    elif type(old) in _STR_ACCUMULATORS:
                        old.append(decode_span(p, t.a, t.b, t.esc))
                    else:
                        buf = TextBuf()
                        buf.add_json(p, t.a, t.b, t.esc)
                        acc[key] = buf
                self.new_keys += dict_size(acc) - size
            elif t.kind == T_DELTA_NULL:
                key = objs[t.obj]
                if key not in state.message_extras:
                    state.message_extras[key] = None
                    self.new_keys += 1
            elif t.kind == T_DELTA_OTHER:
                if t.a >= 0:
                    self.new_keys += self.merge_raw(state.message_extras, objs[t.obj], t.a, rules, 0, &size)
                else:
                    self.new_keys += _merge_generic(
                        state.message_extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_TOOL:
                tool = self.select_tool(state, t)
            elif t.kind == T_TOOL_TYPE:
                if t.b > t.a and not tool.type:
                    tool.type = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_TOOL_NAME:
                if t.b > t.a and not tool.name:
                    tool.name = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_TOOL_EXTRA:
                if t.a >= 0:
                    self.new_keys += self.merge_raw(tool.extras, objs[t.obj], t.a, rules, 0, &size)
                else:
                    self.new_keys += _merge_generic(tool.extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_FUNC_EXTRA:
                if t.a >= 0:
                    self.new_keys += self.merge_raw(tool.function_extras, objs[t.obj], t.a, rules, 0, &size)
                else:
                    self.new_keys += _merge_generic(
                        tool.function_extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_LP_TOKEN:
                state.lp_add(t.flag, self.lp, t.ival, p, t.a, t.b)
            elif t.kind == T_LP_START:
                state.lp_start(t.flag)
            elif t.kind == T_LP_SEEN:
                state.logprobs_seen = True
            elif t.kind == T_CHOICE_EXTRA and t.a >= 0:
                if state.seen is None:
                    state.seen = {}
                self.new_keys += self.put_raw(state.extras, state.seen, objs[t.obj], t.a, t.b, t.flag)
            elif t.kind == T_CHOICE_EXTRA:
                self.new_keys += put_value(state.extras, objs[t.obj + 1], objs[t.obj], t.flag)
            else:
                self.apply_top(merger, t)
        self.release()
        return 0

    cdef Tool select_tool(self, Choice state, Tok* t):
        cdef object index = t.ival if t.flag else None
        cdef object call_id = decode_span(self.p, t.ida, t.idb, t.idesc) if t.ida >= 0 else None
        cdef Tool tool
        tool = state.tool_at.get(index) if index is not None else state.last_tool
        if tool is None or (call_id and tool.id and call_id != tool.id):
            tool = Tool(index)
            self.new_tools += 1
            state.tools.append(tool)
            if index is not None:
                state.tool_at[index] = tool
        state.last_tool = tool
        if call_id is not None and not tool.id:
            tool.id = call_id
        return tool

    cdef int apply_top(self, object merger, Tok* t) except -1:
        cdef const unsigned char* p = self.p
        cdef object value
        if t.kind == T_ID:
            if not (ID_FIRST and merger._id):
                merger._id = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_MODEL:
            if not (MODEL_FIRST and merger._model):
                merger._model = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_CREATED:
            if not (CREATED_FIRST and merger._created):
                merger._created = t.ival
        elif t.kind == T_FINGERPRINT:
            value = merger._fingerprint
            if not (FINGERPRINT_FIRST and value) and not same_text(value, p, t.a, t.b, t.esc):
                merger._fingerprint = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_SERVICE_TIER:
            if not (TIER_FIRST and merger._service_tier):
                merger._service_tier = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_USAGE:
            merger._usage = self.objs[t.obj]
        elif t.kind == T_MODERATION:
            merger._moderation = self.objs[t.obj]
        elif t.kind == T_TOP_EXTRA and t.a >= 0:
            if self.seen is None:
                self.seen = {}
            self.new_keys += self.put_raw(merger._extras, self.seen, self.objs[t.obj], t.a, t.b, t.flag)
        elif t.kind == T_TOP_EXTRA:
            self.new_keys += put_value(merger._extras, self.objs[t.obj + 1], self.objs[t.obj], t.flag)
        return 0

    cdef void remember_header(self, bytes payload, Py_ssize_t choices_at):
        if choices_at > KEPT_PAYLOAD:
            self.header = None
            return
        self.header = payload[:choices_at]
        self.header_keys = self.before_choices
        self.header_keys.known &= ~B_CHOICES


# ------------------------------------------------------------------ the public classes

from contextlib import nullcontext as _nullcontext

from ..errors import ReentrantCallError as _ReentrantCallError

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)
    bint PyByteArray_CheckExact(object o)
    bint PyMemoryView_Check(object o)

cdef object ReentrantCallError = _ReentrantCallError


# The public classes are Python classes, whose attributes any code may replace: each
# attribute the native code reads as a C type is checked before it is used.
cdef MergeSink sink_of(object merger):
    sink = merger._sink
    if type(sink) is not MergeSink:
        raise TypeError(f"DeltaMerger._sink must be the merger's own MergeSink, not {type(sink).__name__}")
    return <MergeSink>sink


cdef MergeSink enter(object merger):
    """The merger's sink, marked busy: refuses a call into a merger while another runs."""
    cdef MergeSink sink = sink_of(merger)
    if sink.busy:
        raise ReentrantCallError("DeltaMerger called while one of its calls was running")
    sink.busy = True
    return sink


cdef SSEDecoder sse_of(object owner):
    sse = owner._sse
    if type(sse) is not SSEDecoder:
        raise TypeError(f"{type(owner).__name__}._sse must be a native SSEDecoder, not {type(sse).__name__}")
    return <SSEDecoder>sse


cdef object readable(object piece):
    """``piece``, or its bytes when it is not bytes-like: a wrong type raises before anything is read."""
    if PyBytes_CheckExact(piece) or PyByteArray_CheckExact(piece) or PyMemoryView_Check(piece):
        return piece
    return bytes(piece)


class DeltaMerger(_py.DeltaMerger):
    __doc__ = _py.DeltaMerger.__doc__

    def __init__(self, max_event_size=_py.DEFAULT_MAX_EVENT_SIZE, scalar_keys=(), append_keys=(), *,
                 max_line_size=DEFAULT_MAX_LINE_SIZE, max_choices=_py.DEFAULT_MAX_CHOICES,
                 max_tool_calls=_py.DEFAULT_MAX_TOOL_CALLS, max_merged_size=_py.DEFAULT_MAX_MERGED_SIZE,
                 max_extras_keys=_py.DEFAULT_MAX_EXTRAS_KEYS):
        # The twin's __init__ but for its guard: the sink's busy flag refuses re-entry here.
        cdef MergeSink sink
        cdef dict choices = {}
        cdef bint defaults = not (
            type(scalar_keys) is not tuple or type(append_keys) is not tuple or scalar_keys or append_keys
            or max_choices is not _py.DEFAULT_MAX_CHOICES
            or max_tool_calls is not _py.DEFAULT_MAX_TOOL_CALLS
            or max_merged_size is not _py.DEFAULT_MAX_MERGED_SIZE
            or max_extras_keys is not _py.DEFAULT_MAX_EXTRAS_KEYS)
        self._sse = SSEDecoder(max_event_size, max_line_size)
        if not defaults:
            self._set_options(
                scalar_keys, append_keys, max_choices, max_tool_calls, max_merged_size, max_extras_keys
            )
        self._choices = choices
        self._extras = {}
        self._sink = sink = MergeSink()
        if defaults and type(self) is DeltaMerger:
            sink.attach_defaults(choices)
        else:
            sink.attach(self)

    _guard = _nullcontext()  # add and finish run inside the sink's busy flag

    # The twin's counters, kept as C integers by the sink (both paths update them).
    @property
    def _tool_count(self):
        return sink_of(self).ntools

    @_tool_count.setter
    def _tool_count(self, value):
        sink_of(self).ntools = value

    @property
    def _extras_keys(self):
        return sink_of(self).nkeys

    @_extras_keys.setter
    def _extras_keys(self, value):
        sink_of(self).nkeys = value

    def add(self, chunk):
        """Merge one decoded chunk (a chunk object or its dict)."""
        cdef MergeSink sink = enter(self)
        try:
            sink.scanner.header = None  # the chunk may change what the header set
            super().add(chunk)
        finally:
            sink.busy = False

    def finish(self):
        """The final completion; raises :class:`UpstreamError` (with ``.partial``) if the
        stream reported one, and the error of a failed merger."""
        cdef MergeSink sink = enter(self)
        try:
            if self._failed is not None:
                raise self._failed
            if not self.done:
                sse_of(self).close()
            completion = self.snapshot()
            error = self._error
            if error is not None:
                raise _UpstreamError(error.error, error.offset, error.event_index, partial=completion)
            return completion
        finally:
            sink.busy = False

    def snapshot(self):
        """The completion merged so far (``finish_reason`` may be ``None``); never raises."""
        cdef object completion = L_COMPLETION.made()
        states = self._choices
        ssd_put(completion, L_COMPLETION.offsets[C_ID], self._id)
        ssd_put(completion, L_COMPLETION.offsets[C_OBJECT], "chat.completion")
        ssd_put(completion, L_COMPLETION.offsets[C_CREATED], self._created)
        ssd_put(completion, L_COMPLETION.offsets[C_MODEL], self._model)
        choices = [built_choice(states[i]) for i in sorted(states)]
        ssd_settle(choices)
        ssd_put(completion, L_COMPLETION.offsets[C_CHOICES], choices)
        ssd_put(completion, L_COMPLETION.offsets[C_TIER], self._service_tier)
        ssd_put(completion, L_COMPLETION.offsets[C_FINGERPRINT], self._fingerprint)
        usage = self._usage
        if usage is None:
            usage = self._groq_usage
        if usage is not None:
            ssd_settle_tree(usage)
        ssd_put(completion, L_COMPLETION.offsets[C_USAGE], usage)
        ssd_put(completion, L_COMPLETION.offsets[C_MODERATION], self._moderation)
        ssd_put(completion, L_COMPLETION.extras_at, dict(self._extras))
        ssd_settle(completion)
        return completion

    def _merge_logprobs(self, state, logprobs):
        if type(state) is not Choice:
            return super()._merge_logprobs(state, logprobs)
        (<Choice>state).lp_merge(_ChoiceLogprobs.from_dict(logprobs, "logprobs"))

    def _new_choice(self, index):
        return Choice(index)

    def _new_tool(self, index):
        return Tool(index)

    def _new_text(self):
        return TextBuf()

    def feed(self, piece):
        """Merge the chunks ``piece`` completes; returns how many. Nothing is read after
        ``[DONE]`` or an upstream error."""
        cdef MergeSink sink
        cdef SSEDecoder sse = sse_of(self)
        piece = readable(piece)
        if self._failed is not None:
            raise self._failed
        if self.done:
            return 0
        sink = enter(self)
        sink.merged = 0
        sink.stopped = False
        sink.merger = self  # only while feeding: a lasting reference would be a cycle
        try:
            sse.feed_into(piece, sink)
        except BaseException as exc:
            self._failed = exc
            raise
        finally:
            sink.busy = False
            sink.merger = None
            self.chunks += sink.merged
        if sink.error is not None:
            error = sink.error
            sink.error = None
            self._failed = error
            raise error
        return sink.merged


@cython.final
cdef class MergeSink(PayloadSink):
    """Merges each payload as the tokenizer completes it."""

    cdef object merger  # the merger being fed, during a feed
    cdef bint busy  # a feed is running
    cdef readonly Scanner scanner
    cdef dict choices
    cdef dict rules
    cdef Py_ssize_t merged
    cdef bint stopped
    cdef object error  # raised once the tokenizer is done with the piece
    # The merger's limits, and the counts they bound (the twin's _tool_count and _extras_keys).
    cdef Py_ssize_t max_choices, max_tools, max_keys, max_read
    cdef public Py_ssize_t ntools, nkeys, read

    def __init__(self):
        self.scanner = Scanner()

    cdef attach_defaults(self, dict choices):
        """``attach`` for a merger made with the default options."""
        self.choices = choices
        self.rules = DEFAULT_RULES
        self.max_choices = _py.DEFAULT_MAX_CHOICES
        self.max_tools = _py.DEFAULT_MAX_TOOL_CALLS
        self.max_keys = _py.DEFAULT_MAX_EXTRAS_KEYS
        self.max_read = _py.DEFAULT_MAX_MERGED_SIZE

    cdef attach(self, merger):
        self.choices = merger._choices
        self.rules = merger._rules
        self.max_choices = merger._max_choices
        self.max_tools = merger._max_tool_calls
        self.max_keys = merger._max_extras_keys
        self.max_read = merger._max_merged_size

    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset, Py_ssize_t index) except -1:
        cdef Scanner scanner = self.scanner
        cdef Py_ssize_t at
        cdef int status
        self.read += PyBytes_GET_SIZE(payload)  # every payload counts, merged or not
        if self.stopped:
            return 0
        if self.read > self.max_read:
            self.error = self.merger._too_much(data_offset, index)
            self.stopped = True
            return 0
        if PyBytes_GET_SIZE(payload) == 6 and memcmp(PyBytes_AS_STRING(payload), b"[DONE]", 6) == 0:
            self.merger.done = True  # as the twin's path: the stream ends here, with any event name
            self.stopped = True
            return 0
        if event is None and PyBytes_GET_SIZE(payload) and PyBytes_AS_STRING(payload)[0] == 123:
            at = scanner.scan(payload)
            # A payload that may go past a limit takes the twin's path, which raises exactly there.
            if (at >= 0 and PyDict_GET_SIZE(self.choices) + scanner.nchoices <= self.max_choices
                    and self.ntools + scanner.ntools <= self.max_tools
                    and self.nkeys + scanner.key_bound <= self.max_keys):
                scanner.fast += 1
                scanner.apply(self.merger, self.choices, self.rules)
                self.ntools += scanner.new_tools
                self.nkeys += scanner.new_keys
                if at > 0 and not scanner.replayed:
                    scanner.remember_header(payload, at)
                elif at > 0:
                    # A whole payload's tape again: the header held still means "merged" when the
                    # payload begins with it (its members were merged again), else no longer.
                    header = scanner.header
                    if header is not None and not payload.startswith(header):
                        scanner.header = None
                elif not scanner.header_hit:
                    # No "choices": the header members may have changed since (a new
                    # system_fingerprint, say), so the old header no longer means "merged".
                    scanner.header = None
                self.merged += 1
                return 0
        scanner.header = None
        scanner.slow += 1
        try:
            status = self.merger._merge_payload(payload, event, data_offset, index)
        except _StreamFormatError as exc:
            self.error = exc
            self.stopped = True
            return 0
        self.merged += status & 1
        if status & 2:
            self.stopped = True
        return 0


# ------------------------------------------------------------------ decoding to objects

@cython.final
cdef class Layout:
    """Where the fields of one model class live in its instances."""

    cdef object cls
    cdef Py_ssize_t offsets[16]
    cdef Py_ssize_t nfields
    cdef Py_ssize_t extras_at
    cdef Py_ssize_t present_at

    def __init__(self, cls):
        cdef Py_ssize_t k
        keys = cls._keys
        if len(keys) > 16 or (<type>cls).__basicsize__ <= 0 or (<type>cls).__itemsize__:
            raise TypeError(f"{cls.__name__} cannot be built directly")
        self.cls = cls
        self.nfields = len(keys)
        for k, key in enumerate(keys):
            self.offsets[k] = self.slot(key)
        self.extras_at = self.slot("extras")
        self.present_at = self.slot("_present")

    cdef Py_ssize_t slot(self, str name) except -1:
        cdef Py_ssize_t at = -1
        for klass in self.cls.__mro__:
            if name in klass.__dict__:
                at = ssd_slot_offset(klass.__dict__[name], klass)
                break
        if at < 0:
            raise TypeError(f"{self.cls.__name__}.{name} is not a plain slot")
        return at

    cdef object new(self):
        cdef object obj = ssd_alloc(self.cls)
        cdef Py_ssize_t k
        for k in range(self.nfields):
            ssd_put(obj, self.offsets[k], None)
        ssd_put(obj, self.extras_at, {})
        return obj

    cdef object made(self):
        """A new object as the class's ``__init__`` makes it with no arguments."""
        cdef object obj = self.new()
        ssd_put(obj, self.present_at, None)
        return obj


cdef Layout L_COMPLETION = Layout(_m.CreateChatCompletionResponse)
cdef Layout L_DONE_CHOICE = Layout(_m.CreateChatCompletionResponseChoicesInner)
cdef Layout L_MESSAGE = Layout(_m.ChatCompletionResponseMessage)
cdef tuple _COMPLETION_KEYS = _m.CreateChatCompletionResponse._keys
cdef Py_ssize_t C_ID = _COMPLETION_KEYS.index("id")
cdef Py_ssize_t C_OBJECT = _COMPLETION_KEYS.index("object")
cdef Py_ssize_t C_CREATED = _COMPLETION_KEYS.index("created")
cdef Py_ssize_t C_MODEL = _COMPLETION_KEYS.index("model")
cdef Py_ssize_t C_CHOICES = _COMPLETION_KEYS.index("choices")
cdef Py_ssize_t C_TIER = _COMPLETION_KEYS.index("service_tier")
cdef Py_ssize_t C_FINGERPRINT = _COMPLETION_KEYS.index("system_fingerprint")
cdef Py_ssize_t C_USAGE = _COMPLETION_KEYS.index("usage")
cdef Py_ssize_t C_MODERATION = _COMPLETION_KEYS.index("moderation")
cdef tuple _DONE_CHOICE_KEYS = _m.CreateChatCompletionResponseChoicesInner._keys
cdef Py_ssize_t D_INDEX = _DONE_CHOICE_KEYS.index("index")
cdef Py_ssize_t D_MESSAGE = _DONE_CHOICE_KEYS.index("message")
cdef Py_ssize_t D_FINISH = _DONE_CHOICE_KEYS.index("finish_reason")
cdef Py_ssize_t D_LOGPROBS = _DONE_CHOICE_KEYS.index("logprobs")
cdef object _DoneLogprobs = _m.CreateChatCompletionResponseChoicesInnerLogprobs
cdef Layout L_DONE_LOGPROBS = Layout(_DoneLogprobs)
cdef Py_ssize_t LAZY_AT = L_DONE_LOGPROBS.slot("_lazy")
cdef tuple _MESSAGE_KEYS = _m.ChatCompletionResponseMessage._keys
cdef Py_ssize_t M_ROLE = _MESSAGE_KEYS.index("role")
cdef Py_ssize_t M_CONTENT = _MESSAGE_KEYS.index("content")
cdef Py_ssize_t M_REFUSAL = _MESSAGE_KEYS.index("refusal")
cdef object _build_choice = _py._build_choice
cdef object _finish_value = _py.finish_value


cdef object text_of(object parts):
    if parts is None:
        return None
    if type(parts) is TextBuf:
        return (<TextBuf>parts).text()
    return _py.join_text(parts)


cdef object built_choice(object state):
    """The finished choice of a choice's state, as the twin's ``_build_choice`` makes it: here for
    a choice with text only (no tool calls, parts, audio, function call, annotations, logprobs)."""
    cdef Choice st
    if type(state) is not Choice:
        return _build_choice(state)
    st = <Choice>state
    if (st.tools or st.content_parts is not None or st.audio is not None or st.function_call is not None
            or st.annotations is not None):
        built = _build_choice(state)
        ssd_settle_tree(built)
        return built
    cdef object message = L_MESSAGE.made()
    ssd_put(message, L_MESSAGE.offsets[M_ROLE], st.role or "assistant")
    ssd_put(message, L_MESSAGE.offsets[M_CONTENT], text_of(st.content))
    ssd_put(message, L_MESSAGE.offsets[M_REFUSAL], text_of(st.refusal))
    if st.message_extras:
        ssd_put(message, L_MESSAGE.extras_at, {k: _finish_value(v) for k, v in st.message_extras.items()})
    ssd_settle(message)
    cdef object choice = L_DONE_CHOICE.made()
    ssd_put(choice, L_DONE_CHOICE.offsets[D_INDEX], st.index)
    ssd_put(choice, L_DONE_CHOICE.offsets[D_MESSAGE], message)
    if st.logprobs_seen:
        ssd_put(choice, L_DONE_CHOICE.offsets[D_LOGPROBS], st.built_logprobs())
    ssd_put(choice, L_DONE_CHOICE.offsets[D_FINISH], st.finish_reason)
    ssd_put(choice, L_DONE_CHOICE.extras_at, dict(st.extras))
    ssd_settle(choice)
    return choice


cdef Layout L_CHUNK = Layout(_m.CreateChatCompletionStreamResponse)
cdef Layout L_CHOICE = Layout(_m.CreateChatCompletionStreamResponseChoicesInner)
cdef Layout L_DELTA = Layout(_m.ChatCompletionStreamResponseDelta)
cdef Layout L_TOOL = Layout(_m.ChatCompletionMessageToolCallChunk)
cdef Layout L_FUNCTION = Layout(_m.ChatCompletionMessageToolCallChunkFunction)
cdef tuple L_CHUNK_KEYS = _m.CreateChatCompletionStreamResponse._keys
cdef Layout L_TOKEN = Layout(_m.ChatCompletionTokenLogprob)
cdef Layout L_TOP = Layout(_m.ChatCompletionTokenLogprobTopLogprobsInner)
cdef Layout L_LOGPROBS = Layout(_m.CreateChatCompletionStreamResponseChoicesInnerLogprobs)
cdef object _Token = _m.ChatCompletionTokenLogprob
cdef object _DeltaFunctionCall = _m.ChatCompletionStreamResponseDeltaFunctionCall
cdef object _DeltaAudio = _m.ChatCompletionStreamResponseDeltaAudio


class _Bail(Exception):
    """The payload is not one the direct decoder takes; the twin's path decodes it."""


cdef object Bail = _Bail


@cython.final
cdef class ObjectDecoder:
    """Builds the model objects of a chunk straight from its bytes (no dict in between)."""

    cdef const unsigned char* p
    cdef Py_ssize_t n
    # The last chunk's bytes before "choices" when they held only scalar known keys,
    # with the values read from them (strings are immutable, so chunks can share them).
    cdef bytes header
    cdef list header_values
    cdef int header_known

    cdef object decode(self, bytes payload):
        """The chunk object, or ``None`` when the payload needs the general path."""
        cdef const unsigned char* outer_p = self.p
        cdef Py_ssize_t outer_n = self.n
        self.p = <const unsigned char*>PyBytes_AS_STRING(payload)
        self.n = PyBytes_GET_SIZE(payload)
        try:
            return self.chunk()
        except _Bail:
            return None
        finally:
            # Building objects can run Python code (a collection's finalizers) that decodes
            # with this decoder again: the caller's bytes are read on after it returns.
            self.p = outer_p
            self.n = outer_n

    # -- pieces

    cdef inline Py_ssize_t ws(self, Py_ssize_t i) noexcept:
        return skip_ws(self.p, i, self.n)

    cdef Py_ssize_t key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) except -1:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j
        if i >= self.n or p[i] != 34:
            raise Bail
        j = i + 1
        while j < self.n and p[j] != 34:
            if p[j] == 92 or p[j] < 0x20 or p[j] >= 0x80:
                raise Bail
            j += 1
        if j >= self.n:
            raise Bail
        ka[0] = i + 1
        kb[0] = j
        j = self.ws(j + 1)
        if j >= self.n or p[j] != 58:
            raise Bail
        return self.ws(j + 1)

    cdef inline bint more(self, Py_ssize_t* i, unsigned char close) except -1:
        """After a member or element: True and past the comma, or False and past ``close``."""
        cdef Py_ssize_t j = self.ws(i[0])
        if j < self.n:
            if self.p[j] == 44:
                i[0] = self.ws(j + 1)
                return True
            if self.p[j] == close:
                i[0] = j + 1
                return False
        raise Bail

    cdef inline bint null(self, Py_ssize_t* i) noexcept:
        if i[0] + 4 <= self.n and memcmp(self.p + i[0], b"null", 4) == 0:
            i[0] += 4
            return True
        return False

    cdef object string(self, Py_ssize_t* i):
        """A string or null at ``i``."""
        cdef bint esc = False
        cdef Py_ssize_t e
        if self.null(i):
            return None
        if i[0] >= self.n or self.p[i[0]] != 34:
            raise Bail
        e = scan_string(self.p, i[0] + 1, self.n, &esc)
        if e < 0:
            raise Bail
        value = decode_span(self.p, i[0] + 1, e, esc)
        i[0] = e + 1
        return value

    cdef object integer(self, Py_ssize_t* i):
        cdef long long v
        cdef Py_ssize_t e
        if self.null(i):
            return None
        e = scan_int(self.p, i[0], self.n, &v)
        if e < 0:
            raise Bail
        i[0] = e
        return v

    cdef object value(self, Py_ssize_t* i):
        """Any JSON value, as orjson reads it."""
        cdef Py_ssize_t e
        if self.p[i[0]] == 34:
            return self.string(i)
        e = skip_value(self.p, i[0], self.n)
        if e < 0:
            raise Bail
        try:
            value = _loads(PyBytes_FromStringAndSize(<const char*>self.p + i[0], e - i[0]))
        except JSONDecodeError:
            raise Bail
        i[0] = e
        return value

    cdef object model(self, Py_ssize_t* i, object cls):
        """A nested model read through the general path (rare keys), or None for null."""
        if self.null(i):
            return None
        value = self.value(i)
        try:
            obj = cls.from_dict(value)
        except _SchemaError:
            raise Bail
        ssd_settle_tree(obj)
        return obj

    cdef object extra(self, object obj, Layout layout, Keys* keys, Py_ssize_t ka, Py_ssize_t kb,
                      Py_ssize_t* i):
        if not unknown_once(keys, self.p, ka, kb):
            raise Bail
        key = PyUnicode_DecodeUTF8(<const char*>self.p + ka, kb - ka, NULL)
        value = self.value(i)
        ssd_settle_tree(value)
        (<dict?>getattr(obj, "extras"))[key] = value

    cdef inline void seen(self, Keys* keys, int bit) except *:
        if keys.known & bit:
            raise Bail
        keys.known |= bit

    cdef inline object start(self, Py_ssize_t* i, Keys* keys):
        keys.known = 0
        keys.nunknown = 0
        i[0] = self.ws(i[0])
        if i[0] < self.n and self.p[i[0]] == 125:
            i[0] += 1
            return False
        return True

    # -- logprob tokens (JSON the merge scanner has checked)

    cdef list token_list(self, bytes data):
        cdef Py_ssize_t i = 0
        cdef const unsigned char* outer_p = self.p
        cdef Py_ssize_t outer_n = self.n
        self.p = <const unsigned char*>PyBytes_AS_STRING(data)
        self.n = PyBytes_GET_SIZE(data)
        try:
            return self.tokens(&i, True)
        finally:
            self.p = outer_p  # as in decode
            self.n = outer_n

    cdef list tokens(self, Py_ssize_t* at, bint with_top):
        """The token objects of the JSON array whose ``[`` is at ``at[0]``, which moves past its
        ``]``."""
        cdef list out = []
        cdef Py_ssize_t v = at[0]
        cdef bint more = True
        if v >= self.n or self.p[v] != 91:
            raise Bail
        v = self.ws(v + 1)
        if v < self.n and self.p[v] == 93:
            ssd_settle(out)
            at[0] = v + 1
            return out
        while more:
            if v >= self.n or self.p[v] != 123:
                raise Bail
            v += 1
            out.append(self.token(&v, with_top))
            more = self.more(&v, 93)
        ssd_settle(out)
        at[0] = v
        return out

    cdef object logprobs(self, Py_ssize_t* at):
        """A choice's logprobs object (after its brace), its tokens built directly."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_LOGPROBS
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        cdef int which
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"content", 7):
                which = 0
            elif key_is(p, ka, kb, b"refusal", 7):
                which = 1
            else:
                raise Bail
            self.seen(&keys, 1 << which)
            if not self.null(&v):
                ssd_put(obj, L.offsets[which], self.tokens(&v, True))
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj

    cdef object number(self, Py_ssize_t* i):
        cdef bint is_float
        cdef Py_ssize_t e
        if self.null(i):
            return None
        e = scan_number(self.p, i[0], self.n, &is_float)
        if e < 0 or e - i[0] >= 80:
            raise Bail
        if is_float:
            value = parse_double(self.p, i[0], e)
            if isinf(value):
                raise Bail  # the JSON parser refuses it; the general path says how
            i[0] = e
            return value
        return self.integer(i)

    cdef object int_list(self, Py_ssize_t* i):
        cdef list out
        cdef bint go
        if self.null(i):
            return None
        if i[0] >= self.n or self.p[i[0]] != 91:
            raise Bail
        out = []
        i[0] = self.ws(i[0] + 1)
        if i[0] < self.n and self.p[i[0]] == 93:
            ssd_settle(out)
            i[0] += 1
            return out
        go = True
        while go:
            out.append(self.integer(i))
            go = self.more(i, 93)
        ssd_settle(out)
        return out

    cdef object token(self, Py_ssize_t* at, bint with_top):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_TOKEN if with_top else L_TOP
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"token", 5):
                self.seen(&keys, 1)
                ssd_put(obj, L.offsets[0], self.string(&v))
            elif key_is(p, ka, kb, b"logprob", 7):
                self.seen(&keys, 2)
                ssd_put(obj, L.offsets[1], self.number(&v))
            elif key_is(p, ka, kb, b"bytes", 5):
                self.seen(&keys, 4)
                ssd_put(obj, L.offsets[2], self.int_list(&v))
            elif with_top and key_is(p, ka, kb, b"top_logprobs", 12):
                self.seen(&keys, 8)
                if not self.null(&v):
                    ssd_put(obj, L.offsets[3], self.tokens(&v, False))
            else:
                raise Bail
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj

    # -- the chunk and its parts

    cdef object chunk(self):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = 1, v, ka, kb, k, hl
        cdef Keys keys
        cdef Layout L = L_CHUNK
        cdef object obj = L.new()
        cdef bint go
        cdef bint cacheable = True
        cdef bint cached = False
        if self.header is not None:
            hl = PyBytes_GET_SIZE(self.header)
            if self.n > hl and memcmp(p, PyBytes_AS_STRING(self.header), hl) == 0:
                for k in range(7):
                    ssd_put(obj, L.offsets[k], self.header_values[k])
                keys.known = self.header_known
                keys.nunknown = 0
                i = hl
                go = True
                cached = True
        if not cached:
            go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"choices", 7):
                self.seen(&keys, B_CHOICES)
                if cacheable and not cached:
                    self.remember(obj, ka - 1, keys.known & ~B_CHOICES)
                cached = True
                ssd_put(obj, L.offsets[4], self.list_of(&v, 0))
            elif key_is(p, ka, kb, b"id", 2):
                self.seen(&keys, B_ID)
                ssd_put(obj, L.offsets[0], self.string(&v))
            elif key_is(p, ka, kb, b"object", 6):
                self.seen(&keys, B_OBJECT)
                ssd_put(obj, L.offsets[1], self.string(&v))
            elif key_is(p, ka, kb, b"created", 7):
                self.seen(&keys, B_CREATED)
                ssd_put(obj, L.offsets[2], self.integer(&v))
            elif key_is(p, ka, kb, b"model", 5):
                self.seen(&keys, B_MODEL)
                ssd_put(obj, L.offsets[3], self.string(&v))
            elif key_is(p, ka, kb, b"service_tier", 12):
                self.seen(&keys, B_SERVICE_TIER)
                ssd_put(obj, L.offsets[5], self.string(&v))
            elif key_is(p, ka, kb, b"system_fingerprint", 18):
                self.seen(&keys, B_FINGERPRINT)
                ssd_put(obj, L.offsets[6], self.string(&v))
            elif key_is(p, ka, kb, b"usage", 5):
                self.seen(&keys, B_USAGE)
                cacheable = False
                ssd_put(obj, L.offsets[7], self.model(&v, _Usage))
            elif key_is(p, ka, kb, b"moderation", 10):
                self.seen(&keys, B_MODERATION)
                cacheable = False
                ssd_put(obj, L.offsets[8], self.model(&v, _Moderation))
            elif key_is(p, ka, kb, b"obfuscation", 11):
                self.seen(&keys, B_OBFUSCATION)
                cacheable = False
                ssd_put(obj, L.offsets[9], self.string(&v))
            elif key_is(p, ka, kb, b"error", 5):
                raise Bail
            else:
                cacheable = False
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        if self.ws(i) != self.n:
            raise Bail
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        return obj

    cdef void remember(self, object chunk, Py_ssize_t end, int known):
        """Keep the header of a chunk that decoded up to its "choices" key."""
        if end > KEPT_PAYLOAD:
            return
        self.header = PyBytes_FromStringAndSize(<const char*>self.p, end)
        self.header_values = [getattr(chunk, name) for name in L_CHUNK_KEYS[:7]]
        self.header_known = known

    cdef object list_of(self, Py_ssize_t* i, int kind):
        """An array of choices (kind 0) or tool calls (kind 1), or null."""
        cdef list out
        cdef bint go
        if self.null(i):
            return None
        if i[0] >= self.n or self.p[i[0]] != 91:
            raise Bail
        out = []
        i[0] = self.ws(i[0] + 1)
        if i[0] < self.n and self.p[i[0]] == 93:
            ssd_settle(out)
            i[0] += 1
            return out
        go = True
        while go:
            if i[0] >= self.n or self.p[i[0]] != 123:
                raise Bail
            i[0] += 1
            out.append(self.choice(i) if kind == 0 else self.tool(i))
            go = self.more(i, 93)
        ssd_settle(out)
        return out

    cdef object choice(self, Py_ssize_t* at):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_CHOICE
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"delta", 5):
                self.seen(&keys, 2)
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[1], self.delta(&v))
            elif key_is(p, ka, kb, b"index", 5):
                self.seen(&keys, 1)
                ssd_put(obj, L.offsets[0], self.integer(&v))
            elif key_is(p, ka, kb, b"finish_reason", 13):
                self.seen(&keys, 8)
                ssd_put(obj, L.offsets[3], self.string(&v))
            elif key_is(p, ka, kb, b"logprobs", 8):
                self.seen(&keys, 4)
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[2], self.logprobs(&v))
            else:
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj

    cdef object delta(self, Py_ssize_t* at):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_DELTA
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"content", 7):
                self.seen(&keys, 2)
                if v < self.n and p[v] == 91:
                    value = self.value(&v)
                    ssd_settle_tree(value)
                else:
                    value = self.string(&v)
                ssd_put(obj, L.offsets[1], value)
            elif key_is(p, ka, kb, b"role", 4):
                self.seen(&keys, 1)
                ssd_put(obj, L.offsets[0], self.string(&v))
            elif key_is(p, ka, kb, b"refusal", 7):
                self.seen(&keys, 4)
                ssd_put(obj, L.offsets[2], self.string(&v))
            elif key_is(p, ka, kb, b"tool_calls", 10):
                self.seen(&keys, 8)
                ssd_put(obj, L.offsets[3], self.list_of(&v, 1))
            elif key_is(p, ka, kb, b"function_call", 13):
                self.seen(&keys, 16)
                ssd_put(obj, L.offsets[4], self.model(&v, _DeltaFunctionCall))
            elif key_is(p, ka, kb, b"audio", 5):
                self.seen(&keys, 32)
                ssd_put(obj, L.offsets[5], self.model(&v, _DeltaAudio))
            else:
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj

    cdef object tool(self, Py_ssize_t* at):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_TOOL
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"index", 5):
                self.seen(&keys, 1)
                ssd_put(obj, L.offsets[0], self.integer(&v))
            elif key_is(p, ka, kb, b"id", 2):
                self.seen(&keys, 2)
                ssd_put(obj, L.offsets[1], self.string(&v))
            elif key_is(p, ka, kb, b"type", 4):
                self.seen(&keys, 4)
                ssd_put(obj, L.offsets[2], self.string(&v))
            elif key_is(p, ka, kb, b"function", 8):
                self.seen(&keys, 8)
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[3], self.function(&v))
            else:
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj

    cdef object function(self, Py_ssize_t* at):
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t i = at[0], v, ka, kb
        cdef Keys keys
        cdef Layout L = L_FUNCTION
        cdef object obj = L.new()
        cdef bint go = self.start(&i, &keys)
        while go:
            v = self.key(i, &ka, &kb)
            if key_is(p, ka, kb, b"arguments", 9):
                self.seen(&keys, 2)
                ssd_put(obj, L.offsets[1], self.string(&v))
            elif key_is(p, ka, kb, b"name", 4):
                self.seen(&keys, 1)
                ssd_put(obj, L.offsets[0], self.string(&v))
            else:
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj


cdef ObjectDecoder TOKENS = ObjectDecoder()


class ChunkDecoder(_py.ChunkDecoder):
    __doc__ = _py.ChunkDecoder.__doc__

    _sse_class = SSEDecoder

    def __init__(self, max_event_size=_py.DEFAULT_MAX_EVENT_SIZE, max_line_size=DEFAULT_MAX_LINE_SIZE):
        super().__init__(max_event_size, max_line_size)
        self._objects = ObjectDecoder()

    def _decode(self, data, list out):
        cdef ObjectDecoder objects = self._objects
        cdef SSEDecoder sse = sse_of(self)
        cdef bytes payload
        cdef object chunk
        if objects is None:
            raise TypeError("ChunkDecoder._objects must be an ObjectDecoder, not None")
        for event, payload, offset, index in sse.feed_payloads(data):
            if event is None and PyBytes_GET_SIZE(payload) and PyBytes_AS_STRING(payload)[0] == 123:
                chunk = objects.decode(payload)
                if chunk is not None:
                    out.append(chunk)
                    continue
            chunk = self._decode_payload(payload, event, offset, index)
            if chunk is _SKIP:
                continue
            if chunk is None:
                self.done = True
                break
            ssd_settle_tree(chunk)
            out.append(chunk)


def _tokens_from_json(bytes data):
    """The logprob token objects of a JSON array of tokens (for tests and profiling)."""
    return TOKENS.token_list(data)


# Decoded objects are untracked by the collector while they can be part of no cycle (see
# ``ssd_settle``); assigning to one tracks it again.
for _cls in vars(_m).values():
    if isinstance(_cls, type) and issubclass(_cls, _m.Model) and _cls is not _m.Model:
        ssd_hook_setattr(_cls)
