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
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isinf
from libc.string cimport memcmp, memcpy

import orjson

from . import _merge_py as _py
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
from .._slots cimport ssd_alloc, ssd_put, ssd_slot_offset
from .._sse_c cimport PayloadSink, SSEDecoder
from .._sse_py import DEFAULT_MAX_LINE_SIZE
from ..errors import StreamFormatError as _StreamFormatError, UpstreamError as _UpstreamError

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object o)

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


# ------------------------------------------------------------------ merge state


@cython.final
cdef class Choice:
    """One choice's state; the same attributes as the twin's, so its rules apply to it."""

    cdef public object index, role, content, refusal, content_parts, tools, tool_at, last_tool
    cdef public object function_call, audio, annotations
    cdef public object finish_reason, extras, message_extras
    cdef public bint logprobs_seen
    # Logprob tokens (0: content, 1: refusal): the objects made so far, and the JSON of
    # the tokens received since (comma-separated), turned into objects when read.
    cdef object _lp0, _lp1
    cdef TextBuf _raw0, _raw1

    def __init__(self, index):
        self.index = index
        self.tools = []
        self.tool_at = {}
        self.extras = {}
        self.message_extras = {}

    cdef void lp_start(self, int which):
        if which == 0:
            if self._lp0 is None:
                self._lp0 = []
        elif self._lp1 is None:
            self._lp1 = []

    cdef int lp_add(self, int which, const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except -1:
        cdef TextBuf raw = self._raw0 if which == 0 else self._raw1
        if raw is None:
            raw = TextBuf()
            if which == 0:
                self._raw0 = raw
            else:
                self._raw1 = raw
        elif raw.length:
            raw.add(",", 1)
        return raw.add(<const char*>p + a, b - a)

    cdef object lp_list(self, int which):
        cdef TextBuf raw = self._raw0 if which == 0 else self._raw1
        cdef object tokens = self._lp0 if which == 0 else self._lp1
        if raw is not None and raw.length:
            if type(tokens) is list:
                (<list>tokens).extend(tokens_of(raw))
            else:
                tokens.extend(tokens_of(raw))  # set from Python: its own extend, or AttributeError
            raw.clear()
        return tokens

    @property
    def lp_content(self):
        return self.lp_list(0)

    @lp_content.setter
    def lp_content(self, value):
        self.lp_list(0)
        self._lp0 = value

    @property
    def lp_refusal(self):
        return self.lp_list(1)

    @lp_refusal.setter
    def lp_refusal(self, value):
        self.lp_list(1)
        self._lp1 = value


@cython.final
cdef class Tool:
    cdef public object index, id, type, name, arguments, extras, function_extras

    def __init__(self, index):
        self.index = index
        self.arguments = TextBuf()
        self.extras = {}
        self.function_extras = {}


# ------------------------------------------------------------------ the tape

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
    TEMPLATES = 4  # enough for the chunks of n=4 choices, or of 4 tool calls, taking turns


@cython.final
cdef class Template:
    """The tape of a payload scanned in full, to serve again for a payload with the same bytes
    but inside one text string (a content fragment, say): its tape is the same but for that
    string's span and the spans after it. Valid while the scanner's header cache is the one the
    tape was made with (a tape made after a header hit lacks the header's members), and made
    only from tapes that hold no parsed object but keys."""

    cdef bytes payload
    cdef object header
    cdef list objs
    cdef Tok* tape
    cdef Py_ssize_t ntape, cap, k, a, b, at
    cdef Py_ssize_t nchoices, ntools, key_bound
    cdef bint header_hit

    def __dealloc__(self):
        PyMem_Free(self.tape)

    cdef bint take(self, Scanner sc, bytes payload, Py_ssize_t at) except -1:
        """Become the template of the payload ``sc`` has just scanned; whether it could."""
        cdef Py_ssize_t j, k = -1
        cdef Tok* t
        cdef Tok* grown
        if PyBytes_GET_SIZE(payload) > KEPT_PAYLOAD or sc.ntape > KEPT_TEMPLATE_TOKS:
            return False
        for j in range(sc.ntape):
            t = &sc.tape[j]
            if t.obj >= 0 and t.kind != T_DELTA_TEXT and t.kind != T_DELTA_NULL:
                return False
            if (t.kind == T_CONTENT or t.kind == T_REFUSAL or t.kind == T_TOOL_ARGS
                    or t.kind == T_DELTA_TEXT) and t.a >= 0 and (k < 0 or t.a > sc.tape[k].a):
                k = j
        if k < 0:
            return False
        if self.cap < sc.ntape:
            grown = <Tok*>PyMem_Realloc(self.tape, sc.ntape * sizeof(Tok))
            if grown == NULL:
                raise MemoryError()
            self.tape = grown
            self.cap = sc.ntape
        memcpy(self.tape, sc.tape, sc.ntape * sizeof(Tok))
        self.ntape = sc.ntape
        self.k = k
        self.a = sc.tape[k].a
        self.b = sc.tape[k].b
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
        """Put the tape of ``payload`` on ``sc``'s when only the varying string differs; the
        scan's result, or -1 (and nothing changed) when it does not apply."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* tp = <const unsigned char*>PyBytes_AS_STRING(self.payload)
        cdef Py_ssize_t tn = PyBytes_GET_SIZE(self.payload)
        cdef Py_ssize_t a = self.a
        cdef Py_ssize_t b = self.b
        cdef Py_ssize_t e, shift, j
        cdef bint esc = False
        cdef Tok* t
        if n - a < tn - b or memcmp(p, tp, a) != 0:
            return -1
        e = scan_string(p, a, n, &esc)
        if e < 0 or n - e != tn - b or memcmp(p + e, tp + b, tn - b) != 0:
            return -1
        sc.reserve(self.ntape)
        memcpy(sc.tape, self.tape, self.ntape * sizeof(Tok))
        sc.ntape = self.ntape
        shift = e - b
        if shift:
            for j in range(self.ntape):
                t = &sc.tape[j]
                if t.a > b:
                    t.a += shift
                    t.b += shift
                if t.ida > b:
                    t.ida += shift
                    t.idb += shift
        t = &sc.tape[self.k]
        t.b = e
        t.esc = esc
        sc.p = p
        sc.n = n
        sc.objs = self.objs
        sc.objs_borrowed = True
        sc.nchoices = self.nchoices
        sc.ntools = self.ntools
        sc.key_bound = self.key_bound
        sc.header_hit = self.header_hit
        return self.at


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
    #: Payloads merged by the scanner, and those handed to the twin's path; of the first, those
    #: whose tape came from a template.
    cdef public Py_ssize_t fast, slow, reused
    # For the merger's limits: the choices and tool calls of the payload scanned and an upper
    # bound of the entries its unknown keys can add; what applying it made.
    cdef Py_ssize_t nchoices, ntools, key_bound, new_tools, new_keys

    def __cinit__(self):
        self.captape = 64
        self.tape = <Tok*>PyMem_Malloc(self.captape * sizeof(Tok))
        if self.tape == NULL:
            raise MemoryError()
        self.objs = []
        self.templates = [None] * TEMPLATES  # made when first taken: most streams are short

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
        if self.objs:
            self.objs = []
            self.objs_borrowed = False
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

    # -- the chunk

    cdef Py_ssize_t scan(self, bytes payload) except -2:
        """Scan a payload onto the tape; its top-level "choices" key offset (or 0), or -1."""
        cdef Py_ssize_t at, k, j
        cdef Template tpl
        for k in range(TEMPLATES):
            j = (self.latest + TEMPLATES - k) % TEMPLATES
            if self.templates[j] is None:
                continue
            tpl = <Template>self.templates[j]
            if tpl.payload is not None and tpl.header is self.header:
                at = tpl.replay(self, payload)
                if at >= 0:
                    self.reused += 1
                    return at
        if self.captape > KEPT_TOKS:
            self.release()  # a large tape no applied payload gave back
        at = self.scan_full(payload)
        if at < 0:
            self.release()
            return at
        # A payload with "choices" after a header the cache did not hold becomes the cache
        # (see MergeSink.payload): its tape would not serve again.
        if at == 0:
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
            elif key_is(p, ka, kb, b"obfuscation", 11):
                if not known_once(&self.top, B_OBFUSCATION):
                    return -1
                if p[v] == 34:
                    i = self.check_string(v)
                elif self.value_obj(v, &i) < 0:
                    return -1
            elif key_is(p, ka, kb, b"usage", 5):
                i = self.top_model(v, B_USAGE, T_USAGE, _Usage)
            elif key_is(p, ka, kb, b"moderation", 10):
                i = self.top_model(v, B_MODERATION, T_MODERATION, _Moderation)
            elif key_is(p, ka, kb, b"error", 5) or key_is(p, ka, kb, b"x_groq", 6):
                return -1
            else:
                if not unknown_once(&self.top, p, ka, kb):
                    return -1
                t = self.push(T_TOP_EXTRA)
                t.obj = self.value_obj(v, &i)
                if t.obj < 0:
                    return -1
                self.keep(self.key_str(ka, kb))
                self.key_bound += 1
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
        cdef Tok* t
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
                t = self.push(T_CHOICE_EXTRA)
                t.obj = self.value_obj(v, &e)
                if t.obj < 0:
                    return -1
                self.keep(self.key_str(ka, kb))
                self.key_bound += 1
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
        cdef Py_ssize_t e
        cdef Tok* t
        i = skip_ws(self.p, i, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            e = self.lp_token(i + 1, True)
            if e < 0:
                return -1
            if which >= 0:
                t = self.push(T_LP_TOKEN)
                t.flag = which
                t.a = i
                t.b = e
            i = self.after_member(e, 93, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t lp_token(self, Py_ssize_t i, bint with_top) except -2:
        """One token object (after its brace), checked as the model would; its end or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, e
        cdef Keys keys
        cdef bint more = True
        cdef bint is_float
        keys.known = 0
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            return i + 1
        while more:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            if key_is(p, ka, kb, b"token", 5):
                if not known_once(&keys, 1):
                    return -1
                if e < 0 and p[v] == 34:
                    e = self.check_string(v)
            elif key_is(p, ka, kb, b"logprob", 7):
                if not known_once(&keys, 2):
                    return -1
                if e < 0:
                    e = scan_number(p, v, self.n, &is_float)
                    if e >= 0 and is_float and not finite_number(p, v, e):
                        return -1
            elif key_is(p, ka, kb, b"bytes", 5):
                if not known_once(&keys, 4):
                    return -1
                if e < 0:
                    e = int_array(p, v, self.n)
            elif with_top and key_is(p, ka, kb, b"top_logprobs", 12):
                if not known_once(&keys, 8):
                    return -1
                if e < 0 and p[v] == 91:
                    e = self.lp_tops(v + 1)
            else:
                return -1
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
        return i

    cdef Py_ssize_t lp_tops(self, Py_ssize_t i) except -2:
        cdef bint more = True
        cdef Py_ssize_t e
        i = skip_ws(self.p, i, self.n)
        if i < self.n and self.p[i] == 93:
            return i + 1
        while more:
            if i >= self.n or self.p[i] != 123:
                return -1
            e = self.lp_token(i + 1, False)
            if e < 0:
                return -1
            i = self.after_member(e, 93, &more)
            if i < 0:
                return -1
        return i

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
                    t.obj = self.keep(self.key_str(ka, kb))
                    self.key_bound += 1
                elif p[v] == 34:
                    t = self.push(T_DELTA_TEXT)
                    e = self.string_tok(t, v)
                    t.obj = self.keep(self.key_str(ka, kb))
                    self.key_bound += 1
                else:
                    t = self.push(T_DELTA_OTHER)
                    t.obj = self.value_obj(v, &e)
                    if t.obj < 0:
                        return -1
                    self.keep(self.key_str(ka, kb))
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
                    t = self.push(T_TOOL_EXTRA)
                    t.obj = self.value_obj(v, &e)
                    if t.obj < 0:
                        return -1
                    self.keep(self.key_str(ka, kb))
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
                t = self.push(T_FUNC_EXTRA)
                t.obj = self.value_obj(v, &e)
                if t.obj < 0:
                    return -1
                self.keep(self.key_str(ka, kb))
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
        cdef object value, key, old, index
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
                self.new_keys += _merge_generic(state.message_extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_TOOL:
                tool = self.select_tool(state, t)
            elif t.kind == T_TOOL_TYPE:
                if t.b > t.a and not tool.type:
                    tool.type = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_TOOL_NAME:
                if t.b > t.a and not tool.name:
                    tool.name = decode_span(p, t.a, t.b, t.esc)
            elif t.kind == T_TOOL_EXTRA:
                self.new_keys += _merge_generic(tool.extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_FUNC_EXTRA:
                self.new_keys += _merge_generic(tool.function_extras, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_LP_TOKEN:
                state.lp_add(t.flag, p, t.a, t.b)
            elif t.kind == T_LP_START:
                state.lp_start(t.flag)
            elif t.kind == T_LP_SEEN:
                state.logprobs_seen = True
            elif t.kind == T_CHOICE_EXTRA:
                value = objs[t.obj]
                key = objs[t.obj + 1]
                if value is not None or key not in state.extras:
                    size = dict_size(state.extras)
                    state.extras[key] = value
                    self.new_keys += dict_size(state.extras) - size
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
        cdef object key, value
        cdef Py_ssize_t size
        if t.kind == T_ID:
            if not merger._id:
                merger._id = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_MODEL:
            if not merger._model:
                merger._model = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_CREATED:
            if not merger._created:
                merger._created = t.ival
        elif t.kind == T_FINGERPRINT:
            merger._fingerprint = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_SERVICE_TIER:
            if not merger._service_tier:
                merger._service_tier = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_USAGE:
            merger._usage = self.objs[t.obj]
        elif t.kind == T_MODERATION:
            merger._moderation = self.objs[t.obj]
        elif t.kind == T_TOP_EXTRA:
            value = self.objs[t.obj]
            key = self.objs[t.obj + 1]
            extras = merger._extras
            if value is not None or key not in extras:
                size = dict_size(extras)
                extras[key] = value
                self.new_keys += dict_size(extras) - size
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
        self._sse = SSEDecoder(max_event_size, max_line_size)
        if (type(scalar_keys) is not tuple or type(append_keys) is not tuple or scalar_keys or append_keys
                or max_choices is not _py.DEFAULT_MAX_CHOICES
                or max_tool_calls is not _py.DEFAULT_MAX_TOOL_CALLS
                or max_merged_size is not _py.DEFAULT_MAX_MERGED_SIZE
                or max_extras_keys is not _py.DEFAULT_MAX_EXTRAS_KEYS):
            self._set_options(
                scalar_keys, append_keys, max_choices, max_tool_calls, max_merged_size, max_extras_keys
            )
        self._choices = {}
        self._extras = {}
        self._sink = sink = MergeSink()
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
        ssd_put(completion, L_COMPLETION.offsets[C_CHOICES], choices)
        ssd_put(completion, L_COMPLETION.offsets[C_TIER], self._service_tier)
        ssd_put(completion, L_COMPLETION.offsets[C_FINGERPRINT], self._fingerprint)
        usage = self._usage
        ssd_put(completion, L_COMPLETION.offsets[C_USAGE], usage if usage is not None else self._groq_usage)
        ssd_put(completion, L_COMPLETION.offsets[C_MODERATION], self._moderation)
        ssd_put(completion, L_COMPLETION.extras_at, dict(self._extras))
        return completion

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
                if at > 0:
                    scanner.remember_header(payload, at)
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
            or st.annotations is not None or st.logprobs_seen):
        return _build_choice(state)
    cdef object message = L_MESSAGE.made()
    ssd_put(message, L_MESSAGE.offsets[M_ROLE], st.role or "assistant")
    ssd_put(message, L_MESSAGE.offsets[M_CONTENT], text_of(st.content))
    ssd_put(message, L_MESSAGE.offsets[M_REFUSAL], text_of(st.refusal))
    if st.message_extras:
        ssd_put(message, L_MESSAGE.extras_at, {k: _finish_value(v) for k, v in st.message_extras.items()})
    cdef object choice = L_DONE_CHOICE.made()
    ssd_put(choice, L_DONE_CHOICE.offsets[D_INDEX], st.index)
    ssd_put(choice, L_DONE_CHOICE.offsets[D_MESSAGE], message)
    ssd_put(choice, L_DONE_CHOICE.offsets[D_FINISH], st.finish_reason)
    ssd_put(choice, L_DONE_CHOICE.extras_at, dict(st.extras))
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
            return cls.from_dict(value)
        except _SchemaError:
            raise Bail

    cdef object extra(self, object obj, Layout layout, Keys* keys, Py_ssize_t ka, Py_ssize_t kb,
                      Py_ssize_t* i):
        if not unknown_once(keys, self.p, ka, kb):
            raise Bail
        key = PyUnicode_DecodeUTF8(<const char*>self.p + ka, kb - ka, NULL)
        (<dict?>getattr(obj, "extras"))[key] = self.value(i)

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
            at[0] = v + 1
            return out
        while more:
            if v >= self.n or self.p[v] != 123:
                raise Bail
            v += 1
            out.append(self.token(&v, with_top))
            more = self.more(&v, 93)
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
            i[0] += 1
            return out
        go = True
        while go:
            out.append(self.integer(i))
            go = self.more(i, 93)
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
            i[0] += 1
            return out
        go = True
        while go:
            if i[0] >= self.n or self.p[i[0]] != 123:
                raise Bail
            i[0] += 1
            out.append(self.choice(i) if kind == 0 else self.tool(i))
            go = self.more(i, 93)
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
        at[0] = i
        return obj


cdef ObjectDecoder TOKENS = ObjectDecoder()


cdef list tokens_of(TextBuf raw):
    """The logprob token objects of comma-separated token JSON."""
    cdef bytes data = b"[" + PyBytes_FromStringAndSize(raw.data, raw.length) + b"]"
    try:
        return TOKENS.token_list(data)
    except _Bail:
        return [_Token.from_dict(item) for item in _loads(data)]


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
            out.append(chunk)


def _tokens_from_json(bytes data):
    """The logprob token objects of a JSON array of tokens (for tests and profiling)."""
    return TOKENS.token_list(data)
