# cython: language_level=3
"""Chunk scanner and merge state, compiled.

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
only that string checked and its span and the spans after it moved. While one template
serves payload after payload, the scanner's tape stays the template's copy: only the
spans that move and the varying values are written again. A choice token with the index of the
one before takes the state that one went to without looking it up; the merger's sink forgets that
state at each call into the merger (Python code may have changed the choices since) and after a
payload of the twin's path.
An unknown choice value a replayed payload sends with the template's bytes (Azure's
``content_filter_results``, the same object on every chunk) is not set again when the same
token of the same template set it last, as long as no other merge of that key and no Python
code reading or replacing the choice's extras came in between.

An unknown delta value sent again with only its text fragments changed (OpenRouter's
``reasoning_details``) is merged once in full; the choice keeps that value's bytes and the text
buffers its fragments went to, and a value with the same bytes but for those fragments appends
them and nothing else, as long as no other merge of that key and no Python code reading the
message's extras came in between. A delta string concatenated into the message's extras
(DeepSeek's ``reasoning_content``) is likewise appended to the text buffer it went to last,
without looking the key up, under the same conditions.

Values that replace each other on every chunk are not built on every chunk: the newest string of
an unknown choice key (vLLM's choice ``text``) and the newest number of an unknown delta key (its
``token_id``) are kept as a copy of their bytes in a buffer the choice writes again, and built
when the extras are read (by Python code through the ``extras`` and ``message_extras``
properties, a snapshot, the finished completion) or before another value of that key is merged.

The objects and lists a delta may carry besides strings are merged here too: the legacy
``function_call`` and ``audio`` by their tables (a name or an id set once, the rest
concatenated), ``annotations`` appended, and a ``content`` sent as typed parts (Mistral's
``text`` and ``thinking``) by the twin's rules for content parts, from the checked spans. A
chunk's ``usage`` and ``moderation``, and the ``usage`` in Groq's ``x_groq``, are built by the
shared model builder.

Keys are read eight bytes at a time; a short compact key, as providers send them, is read by
code compiled into each member loop, without a call. The ``str`` of an unknown key (or of a
short string value an object holds) is made once: a scanner takes it, by a hash of its bytes,
from a table of the newest key string per hash that all scanners share, else from the keys of
its own stream (a table made at its first key the shared one lacks), so that a bulk job over
short streams does not make its keys for each stream. A chunk's ``model``,
``system_fingerprint`` and ``service_tier``, and short plain strings inside unknown values
(Azure's severities), are taken from the shared table too.

The scanner gives up on anything outside the usual shapes (a wrong type, a
duplicate key, an escaped key, invalid JSON or UTF-8, a key with rules of its
own such as ``error``) before it has changed anything; that
payload then takes the twin's path (``orjson`` and the same rules on dicts),
which also raises the same errors at the same offsets.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, memcmp, memcpy

import orjson

from . import _merge_py as _py
from . import _rules as _cr
from .. import _build_c
from .. import _rules as _r
from . import models as _m
from .._json_c cimport (
    finite_number,
    int_array,
    parse_double,
    scan_int,
    scan_number,
    skip_value,
    skip_ws,
    string_end,
    word_stop,
)
from .._schema import SchemaError
from .._slots cimport ssd_clear, ssd_put, ssd_settle
from ._columns_c cimport (
    E_BYTES_NULL,
    E_BYTES_OTHER,
    KEPT_PAYLOAD,
    KEPT_TEMPLATE_TOKS,
    KEPT_TOKS,
    LazyLogprobs,
    LpEntry,
    TextBuf,
    TokenColumns,
)
from ._keys_c cimport Keys, decode_span, key_is, unknown_once
from ._layout_c cimport Layout, key_index
from ._objects_c cimport token_of

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    void* PyUnicode_DATA(object o)
    void* PyTuple_GET_ITEM(object o, Py_ssize_t i)

cdef object _loads = orjson.loads
cdef object JSONDecodeError = orjson.JSONDecodeError
cdef object _SchemaError = SchemaError
cdef object _merge_generic = _py.merge_generic
cdef object _from_dict = _build_c.from_dict
cdef object _Usage = _m.CompletionUsage
cdef object _Moderation = _m.ChatCompletionModeration
cdef object _STR_ACCUMULATORS = _py.STR_ACCUMULATORS
cdef object _LAST = _py.LAST
cdef object _APPEND = _py.APPEND
cdef object _Merged = _py._Merged
cdef object _Indexed = _py._Indexed
cdef object _PartList = _py._PartList
cdef int _MAX_MERGE_DEPTH = _py.MAX_MERGE_DEPTH

# The logprobs of a finished choice, built by Choice.built_logprobs.
cdef object _DoneLogprobs = _m.CreateChatCompletionResponseChoicesInnerLogprobs
cdef Layout L_DONE_LOGPROBS = Layout(_DoneLogprobs)
cdef Py_ssize_t LAZY_AT = L_DONE_LOGPROBS.slot("_lazy")
cdef Py_ssize_t DONE_CONTENT = key_index(_DoneLogprobs, "content")
cdef Py_ssize_t DONE_REFUSAL = key_index(_DoneLogprobs, "refusal")


# The bytes a plain key is made of: ASCII but a control character, the quote and the backslash.
cdef bint KEY_BYTE[256]
for _b in range(256):
    KEY_BYTE[_b] = 0x20 <= _b < 0x80 and _b != 34 and _b != 92

# Each byte value in decimal followed by a comma, and that length.
cdef char DECIMAL[256][4]
cdef Py_ssize_t DECIMAL_LEN[256]
for _b in range(256):
    _digits = f"{_b},".encode()
    DECIMAL_LEN[_b] = len(_digits)
    for _k in range(4):
        DECIMAL[_b][_k] = _digits[_k] if _k < len(_digits) else 0


# ------------------------------------------------------------------ merge state

@cython.final
@cython.freelist(8)
cdef class Choice:
    """One choice's state; the same attributes as the twin's, so its rules apply to it."""

    def __init__(self, index):
        self.start(index)

    cdef int start(self, object index) except -1:
        self.index = index
        self.cx_lazy = self.mx_lazy = True  # most choices have no unknown keys
        return 0

    cdef object cx_dict(self):
        """``cx``, made if it was not yet."""
        if self.cx_lazy:
            self.cx = {}
            self.cx_lazy = False
        return self.cx

    cdef object mx_dict(self):
        """``mx``, made if it was not yet."""
        if self.mx_lazy:
            self.mx = {}
            self.mx_lazy = False
        return self.mx

    @property
    def tools(self):
        if self._tools is None:
            self._tools = []
        return self._tools

    @tools.setter
    def tools(self, value):
        self._tools = value

    @property
    def tool_at(self):
        if self._tool_at is None:
            self._tool_at = {}
        return self._tool_at

    @tool_at.setter
    def tool_at(self, value):
        self._tool_at = value

    @property
    def extras(self):
        self.held_key = None  # the caller may remove it
        self.raw_tpl = None  # or change it
        self.settle()
        return self.cx_dict()

    @extras.setter
    def extras(self, value):
        self.held_key = None
        self.raw_tpl = None
        self.later_key = None
        self.cx = value
        self.cx_lazy = False

    cdef int settle(self) except -1:
        """Build the value kept as its bytes into ``cx``."""
        cdef TextBuf body = self.later_body
        if self.later_key is not None:
            self.cx_dict()[self.later_key] = decode_span(
                <const unsigned char*>body.data, 0, body.length, self.later_esc) if body.length else ""
            self.later_key = None
            body.clear()
        return 0

    cdef int settle_message(self) except -1:
        """Build the number kept as its bytes into ``mx``."""
        cdef TextBuf number = self.mlater_number
        if self.mlater_key is not None:
            self.mx_dict()[self.mlater_key] = number_at(<const unsigned char*>number.data, 0, number.length)
            self.mlater_key = None
            number.clear()
        return 0

    cdef int keep_body(self, const unsigned char* p, Tok* t) except -1:
        """Keep the body of the string spanned by ``t`` as the newest value of ``later_key``."""
        if self.later_body is None:
            self.later_body = TextBuf()
        self.later_body.length = 0
        self.later_body.add(<const char*>p + t.a + 1, t.b - t.a - 2)
        self.later_esc = memchr(p + t.a + 1, 92, t.b - t.a - 2) != NULL
        return 0

    cdef int keep_number(self, const unsigned char* p, Tok* t) except -1:
        """Keep the number spanned by ``t`` as the newest value of ``mlater_key``."""
        if self.mlater_number is None:
            self.mlater_number = TextBuf()
        self.mlater_number.length = 0
        self.mlater_number.add(<const char*>p + t.a, t.b - t.a)
        return 0

    @property
    def message_extras(self):
        self.memo_key = None  # the caller may change what the memo's merge made
        self.text_key = None
        self.mheld_key = None  # or remove the key
        self.settle_message()
        return self.mx_dict()

    @message_extras.setter
    def message_extras(self, value):
        self.memo_key = None
        self.text_key = None
        self.mheld_key = None
        self.mlater_key = None
        self.mx = value
        self.mx_lazy = False

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
        cdef Py_ssize_t field
        for which in range(2):
            tokens = self._lp0 if which == 0 else self._lp1
            field = DONE_CONTENT if which == 0 else DONE_REFUSAL
            if type(tokens) is TokenColumns:
                if lazy is None:
                    lazy = LazyLogprobs()
                if which == 0:
                    lazy.content = <TokenColumns>tokens
                    lazy.ncontent = (<TokenColumns>tokens).n
                else:
                    lazy.refusal = <TokenColumns>tokens
                    lazy.nrefusal = (<TokenColumns>tokens).n
                ssd_clear(obj, L_DONE_LOGPROBS.offsets[field])
            elif tokens is not None:
                ssd_put(obj, L_DONE_LOGPROBS.offsets[field], list(tokens))
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


cdef Choice new_choice(object index):
    """``Choice(index)`` without a Python call."""
    cdef Choice state = Choice.__new__(Choice)
    state.start(index)
    return state


cdef class Top:
    """The merger's top-level fields, which the scanner sets in C: the native merger derives from it."""

    @property
    def _extras(self):
        return self.tx_dict()

    @_extras.setter
    def _extras(self, value):
        self.tx = value
        self.tx_lazy = False

    @_extras.deleter
    def _extras(self):
        self.tx = None
        self.tx_lazy = False

    cdef object tx_dict(self):
        """``tx``, made if it was not yet."""
        if self.tx_lazy:
            self.tx = {}
            self.tx_lazy = False
        return self.tx


@cython.final
cdef class Tool:
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


def _named(table):
    """The keys of a named object's table (the legacy ``function_call``, ``audio``) as bytes,
    and whether each is concatenated (else set once)."""
    if table.unknown != _r.BY_VALUE or len(table.keys) > 8:
        raise ImportError("chat rule table: a named object the native merger does not implement")
    for rule in table.keys.values():
        if rule != _r.ONCE and rule != _r.CONCAT:
            raise ImportError(f"chat rule table: a named object's key is {rule}, natively once or concat")
    return (tuple(key.encode() for key in table.keys), tuple(table.keys),
            tuple(rule == _r.CONCAT for rule in table.keys.values()))


# Indexed by a delta's T_NAMED flag: 0 ``function_call``, 1 ``audio``.
cdef tuple NAMED = (_named(_cr.FUNCTION_CALL), _named(_cr.AUDIO))


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
    T_NAMED
    T_NAMED_ONCE
    T_NAMED_CONCAT
    T_NAMED_NULL
    T_NAMED_EXTRA
    T_CONTENT_PARTS
    T_ANNOTATIONS
    T_GROQ_USAGE

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


# Bits of the merger's fields the first non-empty value of is kept for, once they hold one.
cdef enum:
    H_ID = 1
    H_MODEL = 2
    H_CREATED = 4
    H_TIER = 8

# The bit of each token kind that sets such a field (0: none): while it is held, the token changes nothing.
cdef int HELD_BIT[T_GROQ_USAGE + 1]
for _b in range(T_GROQ_USAGE + 1):
    HELD_BIT[_b] = 0
HELD_BIT[T_ID] = H_ID if ID_FIRST else 0
HELD_BIT[T_MODEL] = H_MODEL if MODEL_FIRST else 0
HELD_BIT[T_CREATED] = H_CREATED if CREATED_FIRST else 0
HELD_BIT[T_SERVICE_TIER] = H_TIER if TIER_FIRST else 0


cdef inline bint known_once(Keys* keys, int bit) noexcept:
    if keys.known & bit:
        return False
    keys.known |= bit
    return True


cdef inline bint same_text(object cur, const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc) noexcept:
    """Whether ``cur`` is the ``str`` of the JSON string body ``p[a:b]`` (checked without escapes
    and ASCII only: otherwise False)."""
    return (not esc and type(cur) is str and PyUnicode_IS_COMPACT_ASCII(cur)
            and PyUnicode_GET_LENGTH(cur) == b - a and memcmp(PyUnicode_DATA(cur), p + a, b - a) == 0)


# The roles and finish reasons the specification names, made once, the one nearly every stream
# sends first: a payload's role or finish reason equal to one is that string, not decoded again.
cdef tuple named_values(type names, str first):
    values = [v for k, v in vars(names).items() if k.isupper() and v.isascii() and v != first]
    return (first, *values)


cdef tuple ROLES = named_values(_m.RoleValues, _m.RoleValues.ASSISTANT)
cdef tuple FINISH_REASONS = named_values(_m.FinishReasonValues, _m.FinishReasonValues.STOP)


cdef object named_text(tuple names, const unsigned char* p, Tok* t):
    """The string of ``t``'s span: one of ``names`` when it is one."""
    cdef Py_ssize_t k = t.b - t.a, j
    cdef object text
    if not t.esc:
        for j in range(len(names)):
            text = <object>PyTuple_GET_ITEM(names, j)
            if PyUnicode_GET_LENGTH(text) == k and memcmp(PyUnicode_DATA(text), p + t.a, k) == 0:
                return text
    return decode_span(p, t.a, t.b, t.esc)


cdef object number_at(const unsigned char* p, Py_ssize_t a, Py_ssize_t n):
    """The number at ``p[a]`` (checked by ``Scanner.json_end``), as ``Scanner.build`` makes it."""
    cdef bint is_float = False
    cdef long long ival
    cdef Py_ssize_t e = scan_number(p, a, n, &is_float)
    if is_float:
        return parse_double(p, a, e)
    scan_int(p, a, n, &ival)
    return ival


cdef inline int forget_raw(Choice state, object key) except -1:
    """Forget the choice's memo of the value put for ``key`` (see Choice.raw_tpl)."""
    if state.raw_tpl is not None and same_key(state.raw_key, key):
        state.raw_tpl = None
    return 0


cdef inline bint same_key(object a, object b) except -1:
    if a is b:
        return True
    if type(a) is str and type(b) is str and PyUnicode_IS_COMPACT_ASCII(a) and PyUnicode_IS_COMPACT_ASCII(b):
        return (PyUnicode_GET_LENGTH(a) == PyUnicode_GET_LENGTH(b)
                and memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), PyUnicode_GET_LENGTH(a)) == 0)
    return a == b


cdef inline void copy_keys(Keys* dst, const Keys* src) noexcept:
    """``dst[0] = src[0]`` but for the entries past ``nunknown``, which nothing reads."""
    cdef int j
    dst.known = src.known
    dst.nunknown = src.nunknown
    for j in range(src.nunknown):
        dst.ua[j] = src.ua[j]
        dst.ub[j] = src.ub[j]


cdef inline bint has_key(object acc, object key) except -1:
    """``key in acc``, looked up directly when ``acc`` is a dict or a merged object (merge state
    Python code can replace)."""
    if type(acc) is dict or type(acc) is _Merged:
        return key in <dict>acc
    return key in acc


cdef inline object get_key(object acc, object key):
    """``acc.get(key)``, looked up directly when ``acc`` is a dict or a merged object (merge state
    Python code can replace)."""
    if type(acc) is dict or type(acc) is _Merged:
        return (<dict>acc).get(key)
    return acc.get(key)


cdef inline bint is_last(object rule) except -1:
    """``rule == LAST``: a rule of the tables is that very string, and ``None`` (no rule) is not."""
    return rule is _LAST or (rule is not None and rule == _LAST)


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


cdef inline size_t name_hash(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) noexcept:
    """A hash of the key ``p[a:b]`` from its length and three of its bytes (see Scanner.key_obj)."""
    cdef size_t k = b - a
    if k == 0:
        return 0
    return ((k * 31 + p[a]) * 31 + p[a + k // 2]) * 31 + p[b - 1]


cdef inline bint is_name(PyObject* name, const unsigned char* p, Py_ssize_t k) noexcept:
    """Whether ``name``, an ASCII ``str``, is the key of ``k`` bytes at ``p``."""
    return PyUnicode_GET_LENGTH(<object>name) == k and memcmp(PyUnicode_DATA(<object>name), p, k) == 0


# Key strings of past streams by their name_hash, one per slot (the newest): a scanner takes the
# keys it meets from here before decoding them, so that a stream's keys are not made again for
# each stream. Strong references, to ASCII keys of up to SHARED_NAME_LEN bytes only.
cdef enum:
    SHARED_NAMES = 256  # a power of two
    SHARED_NAME_LEN = 32
cdef PyObject* shared_names[SHARED_NAMES]


cdef object shared_name(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, size_t h):
    """The ``str`` of the key ``p[a:b]``, from ``shared_names`` if it holds it."""
    cdef Py_ssize_t k = b - a
    cdef size_t j = h & (SHARED_NAMES - 1)
    cdef PyObject* old = shared_names[j]
    cdef object name
    if old != NULL and is_name(old, p + a, k):
        return <object>old
    name = PyUnicode_DecodeUTF8(<const char*>p + a, k, NULL)
    if k <= SHARED_NAME_LEN and PyUnicode_IS_COMPACT_ASCII(name):
        Py_INCREF(name)
        shared_names[j] = <PyObject*>name
        Py_XDECREF(old)
    return name


cdef enum:
    # A string of up to so many plain ASCII bytes inside an unknown value (Azure's "safe") is taken
    # from ``shared_names``, as a key is: the same few words come on every chunk of every stream.
    SHORT_TEXT = 16


cdef inline object shared_text(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint esc,
                               Py_ssize_t limit):
    """The ``str`` of the string body ``p[a:b]``: from ``shared_names`` when it is plain ASCII of up
    to ``limit`` bytes (a model name, a fingerprint, a short word), so that the streams of a bulk job
    do not each make it."""
    cdef Py_ssize_t j = a
    cdef unsigned long long w, high = 0
    if esc or b - a > limit:
        return decode_span(p, a, b, esc)
    while j + 8 <= b:
        memcpy(&w, p + j, 8)
        high |= w
        j += 8
    while j < b:
        high |= p[j]
        j += 1
    if high & 0x8080808080808080ULL:
        return decode_span(p, a, b, esc)
    return shared_name(p, a, b, name_hash(p, a, b))


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


cdef inline bint is_text_tok(int kind) noexcept:
    """Whether a token's span is a string's body that any string can take the place of."""
    return (kind == T_CONTENT or kind == T_REFUSAL or kind == T_TOOL_ARGS or kind == T_DELTA_TEXT
            or kind == T_ROLE or kind == T_FINISH or kind == T_TOOL_TYPE or kind == T_TOOL_NAME
            or kind == T_ID or kind == T_MODEL or kind == T_SERVICE_TIER or kind == T_FINGERPRINT
            or kind == T_NAMED_ONCE or kind == T_NAMED_CONCAT)


cdef Py_ssize_t shape_of(Scanner sc) noexcept:
    """A hash of the kinds on the tape scanned and whether it began with the header."""
    cdef size_t h = <size_t>sc.header_hit * 31 + <size_t>sc.ntape
    cdef Py_ssize_t j
    for j in range(sc.ntape):
        h = h * 1000003 ^ <size_t>sc.tape[j].kind
    return <Py_ssize_t>(h >> 1)


cdef inline bint is_raw_tok(Tok* t) noexcept:
    """Whether a token's span is an unknown key's value, which any JSON value can take the place of."""
    return t.a >= 0 and (t.kind == T_TOP_EXTRA or t.kind == T_CHOICE_EXTRA or t.kind == T_DELTA_OTHER
                         or t.kind == T_TOOL_EXTRA or t.kind == T_FUNC_EXTRA or t.kind == T_IGNORED
                         or t.kind == T_NAMED_EXTRA)


cdef inline Py_ssize_t plain_int_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """The end of the JSON integer at ``p[i]`` when it is one ``Scanner.json_end`` takes (at most 18
    digits, no leading zero) and no fraction or exponent follows; else -1 (``json_end`` decides)."""
    cdef Py_ssize_t k
    if i < n and p[i] == 45:
        i += 1
    k = i
    while k < n and 48 <= p[k] <= 57:
        k += 1
    if k == i or k - i > 18 or (p[i] == 48 and k - i > 1):
        return -1
    if k < n and (p[k] == 46 or p[k] == 101 or p[k] == 69):
        return -1
    return k


cdef inline bint any_moved(const Py_ssize_t* moved, Py_ssize_t n) noexcept:
    cdef Py_ssize_t k
    for k in range(n):
        if moved[k]:
            return True
    return False


@cython.final
cdef class Template:
    """The tape of a payload scanned in full, to serve again for a payload with the same bytes
    but inside its *varying* values: the text strings (content fragments, a finish reason, ...)
    and the values of unknown keys (a random ``obfuscation``, a ``token_id``, ...). Its tape is
    the same but for those values' spans and the spans after them; each new value is checked as
    the scan would, or, for an object or array with the bytes of the template's but inside its
    string values, by checking those strings. Valid while the scanner's header cache is the one
    the tape was made with (a tape made after a header hit lacks the header's members), and made
    only from tapes that hold no parsed object but keys."""

    cdef bytes payload
    cdef Py_ssize_t header_epoch  # the scanner's when the template was made
    cdef Py_ssize_t skip  # the bytes of the scanner's header it begins with (made after a header hit), or 0
    cdef list objs
    cdef Tok* tape
    cdef Py_ssize_t ntape, cap, at, nvary
    cdef Py_ssize_t nchoices, ntools, key_bound
    cdef bint header_hit
    # The varying values: token, span in ``payload``, whether it is a raw value (else a string
    # body, and whether that has escapes), whether that must be an array (a content sent as typed
    # parts), whether its size counts in ``key_bound``.
    cdef Py_ssize_t vj[VARYING]
    cdef Py_ssize_t va[VARYING]
    cdef Py_ssize_t vb[VARYING]
    cdef bint vraw[VARYING]
    cdef bint varray[VARYING]
    cdef bint vesc[VARYING]
    cdef bint vbound[VARYING]
    # The string values (not keys) inside each varying object or array: ``vsn[v]`` of them (-1: not
    # known) from ``vs0[v]`` on, their bodies' spans in ``payload``. A value with the same bytes but
    # inside those strings is valid as the template's was and has its structure.
    cdef Py_ssize_t vs0[VARYING]
    cdef Py_ssize_t vsn[VARYING]
    cdef Py_ssize_t sa[SHAPED]
    cdef Py_ssize_t sb[SHAPED]
    cdef bint sesc[SHAPED]
    cdef bint schanged[SHAPED]  # as ``vchanged``, of each of those strings
    cdef Py_ssize_t nshaped
    cdef Py_ssize_t taken  # counts the payloads it became the template of
    # The tokens whose spans move when a varying value before them changes length: token
    # ``mj[m]`` moves with the first ``mk[m]`` varying values (those ending at or before its span).
    cdef unsigned short mj[KEPT_TEMPLATE_TOKS]
    cdef unsigned char mk[KEPT_TEMPLATE_TOKS]
    cdef Py_ssize_t nmoving
    cdef Py_ssize_t at_k  # ``"choices"`` moves with the first ``at_k`` varying values
    # Whether each varying value differed from the template's in the last payload served (a guess
    # at the next: the values that did not are compared in runs).
    cdef bint vchanged[VARYING]

    def __dealloc__(self):
        PyMem_Free(self.tape)

    cdef void shape(self, const unsigned char* p, Py_ssize_t v) noexcept:
        """Record the string values inside the varying value ``v`` (valid JSON) of ``p``."""
        cdef Py_ssize_t k = self.va[v], b = self.vb[v], e, j, start = self.nshaped
        cdef bint esc = False
        self.vsn[v] = -1
        if k >= b or (p[k] != 123 and p[k] != 91):
            return
        while k < b:
            if p[k] != 34:
                k += 1
                continue
            esc = False
            e = string_end(p, k + 1, b, &esc)
            if e < 0:
                self.nshaped = start
                return
            j = skip_ws(p, e + 1, b)
            if j >= b or p[j] != 58:  # a value, not a key
                if self.nshaped == SHAPED:
                    self.nshaped = start
                    return
                self.sa[self.nshaped] = k + 1
                self.sb[self.nshaped] = e
                self.sesc[self.nshaped] = esc
                self.schanged[self.nshaped] = False
                self.nshaped += 1
            k = e + 1
        self.vs0[v] = start
        self.vsn[v] = self.nshaped - start

    cdef Py_ssize_t shaped_end(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t pos_p,
                               const unsigned char* tp, Py_ssize_t v, Scanner sc) noexcept:
        """The end of the value at ``p[pos_p]`` when it has the bytes of the template's value ``v``
        but inside its string values, each a valid string (their spans put in ``sc``, and whether
        each is the template's); else -1."""
        cdef Py_ssize_t k, pos_t = self.va[v], fixed, span
        for k in range(self.vs0[v], self.vs0[v] + self.vsn[v]):
            fixed = self.sa[k] - pos_t
            span = self.sb[k] - self.sa[k]
            # The fixed bytes and the string in one comparison when its closing quote follows: then
            # it is the template's (valid) string. Not tried for a string that differed last time.
            sc.shaped_same[k] = (not self.schanged[k] and pos_p + fixed + span < n
                                 and p[pos_p + fixed + span] == 34
                                 and memcmp(p + pos_p, tp + pos_t, fixed + span) == 0)
            if sc.shaped_same[k]:
                pos_p += fixed
                sc.shaped_a[k] = pos_p
                sc.shaped_esc[k] = self.sesc[k]
                pos_p += span
            else:
                if pos_p + fixed > n or memcmp(p + pos_p, tp + pos_t, fixed) != 0:
                    return -1
                pos_p += fixed
                sc.shaped_a[k] = pos_p
                sc.shaped_esc[k] = False
                pos_p = string_end(p, pos_p, n, &sc.shaped_esc[k])
                if pos_p < 0:
                    return -1
                sc.shaped_same[k] = pos_p - sc.shaped_a[k] == span and (
                    span == 0 or p[sc.shaped_a[k]] == tp[self.sa[k]]) and memcmp(
                    p + sc.shaped_a[k], tp + self.sa[k], span) == 0
                self.schanged[k] = not sc.shaped_same[k]
            sc.shaped_b[k] = pos_p
            pos_t = self.sb[k]
        fixed = self.vb[v] - pos_t
        if pos_p + fixed > n or memcmp(p + pos_p, tp + pos_t, fixed) != 0:
            return -1
        return pos_p + fixed

    cdef bint take(self, Scanner sc, Py_ssize_t at) except -1:
        """Become the template of the payload ``sc`` has just scanned; whether it could."""
        cdef Py_ssize_t j, k, w, nv = 0, last = -1
        cdef Tok* t
        cdef Tok* grown
        self.payload = None  # unusable until it is taken whole: a refusal below leaves it half-written
        self.taken += 1
        if sc.n > KEPT_PAYLOAD or sc.ntape > KEPT_TEMPLATE_TOKS:
            return False
        for j in range(sc.ntape):
            t = &sc.tape[j]
            if t.obj >= 0 and t.kind != T_DELTA_TEXT and t.kind != T_DELTA_NULL and t.a < 0:
                return False
            if t.kind == T_LP_TOKEN:  # its tokens are in the scanner's columns, not on the tape
                return False
            if is_text_tok(t.kind) or is_raw_tok(t) or t.kind == T_CONTENT_PARTS:
                if nv == VARYING or t.a < last:
                    return False
                self.vj[nv] = j
                self.va[nv] = t.a
                self.vb[nv] = t.b
                self.varray[nv] = t.kind == T_CONTENT_PARTS
                self.vraw[nv] = self.varray[nv] or is_raw_tok(t)
                self.vesc[nv] = t.esc
                self.vsn[nv] = -1
                self.vchanged[nv] = False
                self.vbound[nv] = (t.kind == T_DELTA_OTHER or t.kind == T_TOOL_EXTRA
                                   or t.kind == T_FUNC_EXTRA or t.kind == T_NAMED_EXTRA
                                   or t.kind == T_CONTENT_PARTS)
                last = t.b
                nv += 1
        if self.cap < sc.ntape:
            grown = <Tok*>PyMem_Realloc(self.tape, sc.ntape * sizeof(Tok))
            if grown == NULL:
                raise MemoryError()
            self.tape = grown
            self.cap = sc.ntape
        if sc.ntape:  # an empty tape may have no memory yet
            memcpy(self.tape, sc.tape, sc.ntape * sizeof(Tok))
        self.ntape = sc.ntape
        self.nvary = nv
        self.nshaped = 0
        for j in range(nv):
            if self.vraw[j]:
                self.shape(sc.p, j)
        self.nmoving = 0
        w = 0
        for j in range(sc.ntape):
            if w < nv and self.vj[w] == j:  # a varying value's span is written by replay itself
                w += 1
                continue
            t = &sc.tape[j]
            last = t.a if t.a >= 0 else t.ida
            if last < 0:
                continue
            k = 0
            while k < nv and self.vb[k] <= last:
                k += 1
            if k:
                self.mj[self.nmoving] = <unsigned short>j
                self.mk[self.nmoving] = <unsigned char>k
                self.nmoving += 1
        self.at = at
        self.at_k = 0
        while self.at_k < nv and self.vb[self.at_k] <= at:
            self.at_k += 1
        self.nchoices = sc.nchoices
        self.ntools = sc.ntools
        self.key_bound = sc.key_bound
        self.header_hit = sc.header_hit
        self.header_epoch = sc.header_epoch
        self.skip = sc.header_len if sc.header_hit and (nv == 0 or self.va[0] >= sc.header_len) else 0
        self.objs = sc.objs
        self.payload = sc.kept()
        return True

    cdef Py_ssize_t memo_link(self, Choice state, Py_ssize_t j) noexcept:
        """The varying value of token ``j`` when it has the bytes of ``state``'s memo but inside the
        memo's strings, each one of the value's strings (their numbers put in ``state.memo_sh``);
        else -1."""
        cdef const unsigned char* tp = <const unsigned char*>PyBytes_AS_STRING(self.payload)
        cdef const unsigned char* r = <const unsigned char*>PyBytes_AS_STRING(state.memo_raw)
        cdef Py_ssize_t v = 0, k, m, last, fixed, pos_r = 0, pos_t
        while v < self.nvary and self.vj[v] != j:
            v += 1
        if v == self.nvary or not self.vraw[v] or self.vsn[v] < 0:
            return -1
        pos_t = self.va[v]
        m = self.vs0[v]
        last = m + self.vsn[v]
        for k in range(state.memo_n):
            fixed = state.memo_a[k] - pos_r
            if pos_t + fixed > self.vb[v] or memcmp(r + pos_r, tp + pos_t, fixed) != 0:
                return -1
            pos_t += fixed
            while m < last and self.sa[m] < pos_t:
                m += 1
            if m == last or self.sa[m] != pos_t:
                return -1
            state.memo_sh[k] = m
            pos_r = state.memo_b[k]
            pos_t = self.sb[m]
            m += 1
        fixed = self.vb[v] - pos_t
        if PyBytes_GET_SIZE(state.memo_raw) - pos_r != fixed or memcmp(r + pos_r, tp + pos_t, fixed) != 0:
            return -1
        return v

    cdef Py_ssize_t replay(self, Scanner sc, const unsigned char* p, Py_ssize_t n) except -2:
        """Put the tape of the payload ``p[:n]`` on ``sc``'s when only the varying values differ; the
        scan's result, or -1 (and nothing changed but ``sc``'s payload pointer) when it does not apply.
        A template made after a header hit is replayed only on a payload that begins with the same
        header (``scan`` compared it): its bytes are not compared again."""
        cdef const unsigned char* tp = <const unsigned char*>PyBytes_AS_STRING(self.payload)
        cdef Py_ssize_t tn = PyBytes_GET_SIZE(self.payload)
        cdef Py_ssize_t na[VARYING]
        cdef Py_ssize_t nb[VARYING]
        cdef bint nesc[VARYING]
        cdef Py_ssize_t moved[VARYING]
        cdef Py_ssize_t pos_t = self.skip, pos_p = self.skip, fixed, span, e, v, r, j, shift, solo = 0
        cdef Py_ssize_t key_bound = self.key_bound
        cdef Tok* t
        cdef const Tok* s
        sc.p = p
        sc.n = n
        v = 0
        while v < self.nvary:
            # Values that were the template's last time are compared with the fixed bytes around
            # them in one run, up to the next value (or the payload's end): when equal, each is the
            # template's.
            r = v
            while r < self.nvary and not self.vchanged[r]:
                r += 1
            if r > v and v >= solo:
                fixed = (self.va[r] if r < self.nvary else tn) - pos_t
                solo = r  # when the run differs, its values are compared one by one
                if (pos_p + fixed <= n if r < self.nvary else n - pos_p == fixed) and memcmp(
                        p + pos_p, tp + pos_t, fixed) == 0:
                    shift = pos_p - pos_t
                    while v < r:
                        sc.shaped_ok[v] = SHAPED_SAME
                        nesc[v] = self.vesc[v]
                        na[v] = self.va[v] + shift
                        nb[v] = self.vb[v] + shift
                        moved[v] = shift
                        v += 1
                    pos_p += fixed
                    pos_t += fixed
                    continue
            sc.shaped_ok[v] = SHAPED_NOT
            # The fixed bytes before the value and the value in one comparison when the byte after
            # it is the template's: then it is the template's (checked) value. Not tried for a value
            # that differed last time.
            fixed = self.va[v] - pos_t
            span = self.vb[v] - self.va[v]
            if (not self.vchanged[v] and pos_p + fixed + span < n
                    and p[pos_p + fixed + span] == tp[self.vb[v]]
                    and memcmp(p + pos_p, tp + pos_t, fixed + span) == 0):
                pos_p += fixed
                nesc[v] = self.vesc[v]
                e = pos_p + span
                sc.shaped_ok[v] = SHAPED_SAME
            else:
                if pos_p + fixed > n or (fixed and memcmp(p + pos_p, tp + pos_t, fixed) != 0):
                    return -1
                pos_p += fixed
                nesc[v] = False
                if self.vraw[v]:
                    e = self.shaped_end(p, n, pos_p, tp, v, sc) if self.vsn[v] > 0 else -1
                    sc.shaped_ok[v] = SHAPED_SPANS if e >= 0 else SHAPED_NOT
                    if e < 0 and self.varray[v]:
                        e = sc.json_end(pos_p, 0) if pos_p < n and p[pos_p] == 91 else -1
                    elif e < 0 and pos_p < n and p[pos_p] == 34:
                        e = sc.check_string(pos_p)
                    elif e < 0:
                        e = plain_int_end(p, pos_p, n)
                        if e < 0:
                            e = sc.json_end(pos_p, 0)
                    if self.vbound[v] and e >= 0:
                        key_bound += nested_bound(pos_p, e) - nested_bound(self.va[v], self.vb[v])
                else:
                    e = string_end(p, pos_p, n, &nesc[v])
                if e == pos_p + span and (span == 0 or p[pos_p] == tp[self.va[v]]) and memcmp(
                        p + pos_p, tp + self.va[v], span) == 0:
                    sc.shaped_ok[v] = SHAPED_SAME  # (tried again next time)
            if e < 0:
                return -1
            na[v] = pos_p
            nb[v] = e
            pos_p = e
            pos_t = self.vb[v]
            self.vchanged[v] = sc.shaped_ok[v] != SHAPED_SAME
            moved[v] = pos_p - pos_t
            v += 1
        if n - pos_p != tn - pos_t or (pos_p < n and memcmp(p + pos_p, tp + pos_t, tn - pos_t) != 0):
            return -1
        # The scanner's tape is this one's when it was the last replayed (nothing but a scan writes
        # it): then only the spans that move and the varying values are written.
        if sc.tape_of is not self or sc.tape_taken != self.taken:
            sc.reserve(self.ntape)
            if self.ntape:
                memcpy(sc.tape, self.tape, self.ntape * sizeof(Tok))
            sc.tape_of = self
            sc.tape_taken = self.taken
            sc.tape_moved = False
        sc.ntape = self.ntape
        # A span moves by the change in length of the varying values that end before it: ``moved[k]``
        # for the first k + 1 of them (their spans are in order).
        shift = any_moved(moved, self.nvary)
        if shift or sc.tape_moved:
            sc.tape_moved = shift
            for j in range(self.nmoving):
                t = &sc.tape[self.mj[j]]
                s = &self.tape[self.mj[j]]
                shift = moved[self.mk[j] - 1]
                if s.ida >= 0:
                    t.ida = s.ida + shift
                    t.idb = s.idb + shift
                if s.a >= 0:
                    t.a = s.a + shift
                    t.b = s.b + shift
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
        sc.replay_tpl = self
        if self.at > 0 and self.at_k:  # "choices" moves with the varying values before it
            return self.at + moved[self.at_k - 1]
        return self.at


# The tape of the last scanner freed, kept for the next one made (a merger makes one per stream);
# not where threads run without the interpreter lock.
cdef Tok* spare_tape = NULL

cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define SSD_SPARE_TAPE 0
    #else
    #define SSD_SPARE_TAPE 1
    #endif
    """
    bint SSD_SPARE_TAPE


@cython.final
@cython.freelist(4)
cdef class Scanner:
    """Scans one payload into the tape, then applies the tape to a merger's state."""

    def __cinit__(self):
        global spare_tape
        self.captape = TAPE_TOKS
        if SSD_SPARE_TAPE and spare_tape != NULL:
            self.tape = spare_tape
            spare_tape = NULL
        else:
            self.tape = <Tok*>PyMem_Malloc(TAPE_TOKS * sizeof(Tok))
            if self.tape == NULL:
                raise MemoryError()
        self.rec_n = -1
        # Made when first needed: most streams are short.
        self.objs = None
        self.names = None
        self.seen = None
        self.templates = None
        self.lp = None
        self.last_shape = -1

    cdef int reset(self) except -1:
        """Forget every stream's state but the key strings (see key_obj), for a new stream."""
        self.release()
        self.tape_of = None
        self.tape_moved = False
        self.objs = None
        self.objs_borrowed = False
        self.payload = None
        self.payload_lazy = False
        self.p = NULL
        self.n = 0
        self.header = None
        self.header_len = 0
        self.header_hit = False
        self.held = 0
        self.fingerprint = None
        self.fingerprint_epoch = 0
        self.templates = None
        self.latest = 0
        self.replayed = False
        self.replay_tpl = None
        self.last_shape = -1
        self.seen = None
        self.fast = self.slow = self.reused = 0
        self.repeated = self.repeated_shaped = 0
        self.last_choice = None
        self.lp = None
        self.rec_n = -1
        self.rec_bufs = None
        return 0

    def __dealloc__(self):
        global spare_tape
        PyMem_Free(self.name_at)
        if SSD_SPARE_TAPE and spare_tape == NULL and self.captape == TAPE_TOKS:
            spare_tape = self.tape
        else:
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
        if self.lp is not None:
            self.lp.clear()
        if self.objs and not self.objs_borrowed:  # a template's (keys only) stays with it
            self.objs = None
        if self.captape > KEPT_TOKS:
            self.tape_of = None
            smaller = <Tok*>PyMem_Realloc(self.tape, TAPE_TOKS * sizeof(Tok))
            if smaller == NULL:
                raise MemoryError()
            self.tape = smaller
            self.captape = TAPE_TOKS
        return 0

    cdef inline Tok* push(self, int kind) except NULL:
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
        if self.objs is None:
            self.objs = []
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
        cdef Py_ssize_t e = string_end(self.p, i + 1, self.n, &esc)
        if e < 0:
            return -1
        t.a = i + 1
        t.b = e
        t.esc = esc
        return e + 1

    cdef Py_ssize_t check_string(self, Py_ssize_t i) noexcept:
        cdef bint esc = False
        cdef Py_ssize_t e = string_end(self.p, i + 1, self.n, &esc)
        return -1 if e < 0 else e + 1

    cdef inline Py_ssize_t is_null(self, Py_ssize_t i) noexcept:
        if i + 4 <= self.n and memcmp(self.p + i, b"null", 4) == 0:
            return i + 4
        return -1

    cdef inline Py_ssize_t key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept:
        """A plain key (no escapes, ASCII) at ``p[i]`` and its colon; the value's start or -1."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j = i + 1, step
        # Compiled into each caller for the usual key: under 24 bytes (up to three words read),
        # followed by its colon and no space, and 26 bytes or more from the payload's end.
        if j + 26 <= self.n and p[i] == 34:
            step = word_stop(p + j)
            if step == 8:
                step += word_stop(p + j + 8)
                if step == 16:
                    step += word_stop(p + j + 16)
            if step < 24 and p[j + step] == 34 and p[j + step + 1] == 58 and p[j + step + 2] > 32:
                ka[0] = j
                kb[0] = j + step
                return j + step + 2
        return self.key_any(i, ka, kb)

    cdef Py_ssize_t key_any(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept:
        """``key`` for any key and spacing."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j, step
        if i >= self.n or p[i] != 34:
            return -1
        j = i + 1
        while j + 8 <= self.n:
            step = word_stop(p + j)
            j += step
            if step < 8:
                break
        while j < self.n and KEY_BYTE[p[j]]:
            j += 1
        if j >= self.n or p[j] != 34:
            return -1
        ka[0] = i + 1
        kb[0] = j
        if j + 2 < self.n and p[j + 1] == 58 and p[j + 2] > 32:  # compact JSON: no space to skip
            return j + 2
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
        """The ``str`` of the plain (ASCII, unescaped) key ``p[a:b]``: the one ``shared_names``
        holds for it, else the same object for the same key while the scanner lives (up to
        ``KEPT_KEYS`` keys), found by a hash of its bytes in ``name_at`` (open addressing: more
        slots than keys kept, so a probe ends). A stream whose keys past streams had already
        makes no table of its own."""
        cdef Py_ssize_t k = b - a
        cdef size_t h = name_hash(self.p, a, b)
        cdef size_t j = h & (NAME_SLOTS - 1)
        cdef object name
        cdef PyObject* shared = shared_names[h & (SHARED_NAMES - 1)]
        if shared != NULL and is_name(shared, self.p + a, k):
            return <object>shared
        if self.name_at == NULL:
            self.name_at = <PyObject**>PyMem_Calloc(NAME_SLOTS, sizeof(PyObject*))
            if self.name_at == NULL:
                raise MemoryError()
            self.names = []
        while self.name_at[j] != NULL:
            if is_name(self.name_at[j], self.p + a, k):
                return <object>self.name_at[j]
            j = (j + 1) & (NAME_SLOTS - 1)
        name = shared_name(self.p, a, b, h)
        if PyUnicode_IS_COMPACT_ASCII(name) and len(self.names) < KEPT_KEYS:
            self.names.append(name)
            self.name_at[j] = <PyObject*>name
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
            e = string_end(p, i + 1, self.n, &flag)
            end[0] = e + 1
            return shared_text(p, i + 1, e, flag, SHORT_TEXT)
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

    # -- an unknown delta value merged again by its memo

    cdef inline void unrepeatable(self) noexcept:
        if self.rec_n >= 0:
            self.rec_n = -2

    cdef int record(self, object buf, Py_ssize_t a, Py_ssize_t b) except -1:
        """The merge being recorded appended the string body ``p[a:b]`` to ``buf``."""
        if self.rec_n == MEMO_TEXTS:
            self.rec_n = -2
            return 0
        self.rec_a[self.rec_n] = a
        self.rec_b[self.rec_n] = b
        self.rec_bufs.append(buf)
        self.rec_n += 1
        return 0

    cdef Py_ssize_t merge_delta_raw(self, Choice state, object key, Tok* t, dict rules) except -1:
        """Merge the unknown delta member ``key`` whose value is the span of ``t`` into the message's
        extras; how many entries it added. A merge that only set keys to what they hold and appended
        strings to text buffers (at most ``MEMO_TEXTS``) of an object or array is recorded as the
        choice's memo."""
        cdef Py_ssize_t added, end, k
        cdef unsigned char c
        if state.text_key is not None and same_key(state.text_key, key):
            state.text_key = None
        if state.memo_key is not None:
            if self.memo_hit(state, key, t, rules):
                self.repeated += 1
                return 0
            state.memo_key = None
        c = self.p[t.a]
        # (A key kept as a span is one the extras hold: nothing removes keys from them, and
        # replacing them forgets that key.)
        if (c == 45 or 48 <= c <= 57) and self.n <= KEPT_PAYLOAD and (
                state.mlater_key is key or has_key(state.mx_dict(), key)):
            # A number replaces any value: kept as its span, built when the extras are read.
            if state.mlater_key is not None and not same_key(state.mlater_key, key):
                state.settle_message()
            state.mlater_key = key
            state.keep_number(self.p, t)
            return 0
        if state.mlater_key is not None and same_key(state.mlater_key, key):
            state.settle_message()
        if t.b - t.a > KEPT_PAYLOAD or (c != 123 and c != 91):
            return self.merge_raw(state.mx_dict(), key, t.a, rules, 0, &end)  # a scalar: nothing to keep
        self.rec_n = 0
        self.rec_bufs = []
        try:
            added = self.merge_raw(state.mx_dict(), key, t.a, rules, 0, &end)
            if self.rec_n >= 0:
                for k in range(self.rec_n):
                    state.memo_a[k] = self.rec_a[k] - t.a
                    state.memo_b[k] = self.rec_b[k] - t.a
                state.memo_n = self.rec_n
                state.memo_bufs = self.rec_bufs
                state.memo_raw = PyBytes_FromStringAndSize(<const char*>self.p + t.a, t.b - t.a)
                state.memo_rules = rules
                state.memo_key = key
                state.memo_tpl = None
        finally:
            self.rec_n = -1
            self.rec_bufs = None
        return added

    cdef bint memo_hit(self, Choice state, object key, Tok* t, dict rules) except -1:
        """Whether the value of ``t`` is the memo's but for the bodies of its concatenated strings,
        for the same key and rules; then those bodies are appended to the memo's buffers: the whole
        merge, as the memo's value left every other key as the merge would set it. (Nothing else
        changed the message's extras since: any other merge of that key, and any reading of them
        from Python, forgets the memo.) A value the template of the payload's tape has compared
        with its own is not compared again when that tells (see memo_shaped)."""
        cdef const unsigned char* p = self.p
        cdef const unsigned char* r
        cdef Py_ssize_t na[MEMO_TEXTS]
        cdef Py_ssize_t nb[MEMO_TEXTS]
        cdef bint nesc[MEMO_TEXTS]
        cdef Py_ssize_t pos_r = 0, pos_p = t.a, fixed, rn, k
        cdef TextBuf buf
        if state.memo_rules is not rules or not (key is state.memo_key or key == state.memo_key):
            return False
        if self.replayed and self.memo_shaped(state, t):
            for k in range(state.memo_n):
                fixed = state.memo_sh[k]
                buf = <TextBuf>state.memo_bufs[k]
                buf.add_json(p, self.shaped_a[fixed], self.shaped_b[fixed], self.shaped_esc[fixed])
            self.repeated_shaped += 1
            return True
        r = <const unsigned char*>PyBytes_AS_STRING(state.memo_raw)
        rn = PyBytes_GET_SIZE(state.memo_raw)
        for k in range(state.memo_n):
            fixed = state.memo_a[k] - pos_r
            if pos_p + fixed > t.b or memcmp(p + pos_p, r + pos_r, fixed) != 0:
                return False
            pos_p += fixed
            nesc[k] = False
            na[k] = pos_p
            pos_p = string_end(p, pos_p, t.b, &nesc[k])
            if pos_p < 0:
                return False
            nb[k] = pos_p
            pos_r = state.memo_b[k]
        if t.b - pos_p != rn - pos_r or memcmp(p + pos_p, r + pos_r, rn - pos_r) != 0:
            return False
        for k in range(state.memo_n):
            (<TextBuf>state.memo_bufs[k]).add_json(p, na[k], nb[k], nesc[k])
        return True

    cdef inline bint memo_replayed(self, Choice state, object key, Tok* t, dict rules) except -1:
        """merge_delta_raw's usual case on a replayed payload, in one call: the memo of ``key`` is
        linked to the varying value of ``t`` in the template replayed, and that value's strings
        are the template's but the memo's (see memo_shaped); then those are appended. (The memo's
        key is never the text key: each forgets the other when it is set.)"""
        cdef Template tpl = <Template>self.replay_tpl
        cdef Py_ssize_t v = state.memo_v, m, k = 0, shift
        if (state.memo_rules is not rules or state.memo_tpl is not tpl or state.memo_taken != tpl.taken
                or v < 0 or tpl.vj[v] != t - self.tape or self.shaped_ok[v] == SHAPED_NOT
                or tpl.payload is None):
            return False
        if self.shaped_ok[v] == SHAPED_SAME:
            shift = t.a - tpl.va[v]
            for k in range(state.memo_n):
                m = state.memo_sh[k]
                (<TextBuf>state.memo_bufs[k]).add_json(
                    self.p, tpl.sa[m] + shift, tpl.sb[m] + shift, tpl.sesc[m])
        else:
            for m in range(tpl.vs0[v], tpl.vs0[v] + tpl.vsn[v]):
                if k < state.memo_n and state.memo_sh[k] == m:
                    k += 1
                elif not self.shaped_same[m]:
                    return False
            for k in range(state.memo_n):
                m = state.memo_sh[k]
                (<TextBuf>state.memo_bufs[k]).add_json(
                    self.p, self.shaped_a[m], self.shaped_b[m], self.shaped_esc[m])
        self.repeated += 1
        self.repeated_shaped += 1
        return True

    cdef bint memo_shaped(self, Choice state, Tok* t) except -1:
        """Whether the value of ``t``, replayed from a template, is the memo's but for the bodies of
        its concatenated strings, which are then the payload's strings ``memo_sh`` (see
        Template.shape): so when the template's value is the memo's but inside those (found once
        per memo and template) and the value's other strings are the template's (found by the
        replay)."""
        cdef Template tpl = <Template>self.replay_tpl
        cdef Py_ssize_t j = t - self.tape, v, m, k = 0, shift
        if tpl.payload is None:
            return False
        if state.memo_tpl is not tpl or state.memo_taken != tpl.taken:
            state.memo_tpl = tpl
            state.memo_taken = tpl.taken
            state.memo_v = tpl.memo_link(state, j)
        v = state.memo_v
        if v < 0 or tpl.vj[v] != j or self.shaped_ok[v] == SHAPED_NOT:
            return False
        if self.shaped_ok[v] == SHAPED_SAME:
            shift = t.a - tpl.va[v]
            for k in range(state.memo_n):
                m = state.memo_sh[k]
                self.shaped_a[m] = tpl.sa[m] + shift
                self.shaped_b[m] = tpl.sb[m] + shift
                self.shaped_esc[m] = tpl.sesc[m]
            return True
        for m in range(tpl.vs0[v], tpl.vs0[v] + tpl.vsn[v]):
            if k < state.memo_n and state.memo_sh[k] == m:
                k += 1
            elif not self.shaped_same[m]:
                return False
        return True

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
            if not has_key(acc, key):
                acc[key] = None
                return 1
            return 0
        old = get_key(acc, key)
        added = 1 if old is None and not has_key(acc, key) else 0
        if c == 34:
            e = string_end(p, i + 1, self.n, &esc)
            end[0] = e + 1
            if is_last(rules.get(key)):
                if added or not same_text(old, p, i + 1, e, esc):
                    acc[key] = decode_span(p, i + 1, e, esc)
                return added
            if type(old) is TextBuf:
                (<TextBuf>old).add_json(p, i + 1, e, esc)
            elif type(old) in _STR_ACCUMULATORS:
                old.append(decode_span(p, i + 1, e, esc))
                self.unrepeatable()
                return added
            else:
                old = TextBuf()
                (<TextBuf>old).add_json(p, i + 1, e, esc)
                acc[key] = old
            if self.rec_n >= 0:
                self.record(old, i + 1, e)
            return added
        if c == 123 and depth < _MAX_MERGE_DEPTH and not is_last(rules.get(key)):
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
            if not is_last(rule):
                return added + self.merge_list(acc, key, old, rule, i, rules, depth, end)
        if c == 91 or c == 123:
            self.unrepeatable()  # a new object each time (the merged result shares it)
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
            if p[skip_ws(p, i + 1, self.n)] != 93:
                self.unrepeatable()
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
        if items:
            self.unrepeatable()
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
        """One item of the twin's ``merge_indexed(acc, items, rules, depth)``: the object at ``p[i]``
        (it has an integer ``index``)."""
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
            self.unrepeatable()  # where it goes depends on the items before
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
            if has_key(extras, key):
                return 0
            extras[key] = None
            return 1
        if first and extras.get(key):
            return 0
        last = seen.get(key) if self.p[a] == 123 or self.p[a] == 91 else None
        if (last is not None and PyBytes_GET_SIZE(last.raw) == b - a
                and memcmp(PyBytes_AS_STRING(last.raw), self.p + a, b - a) == 0
                and (((<dict>extras).get(key, seen) if type(extras) is dict else extras.get(key, seen))
                     is last.value)):
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

    cdef Py_ssize_t put_later(self, Choice state, object key, Tok* t) except -1:
        """Set the choice's extras key ``key``, which it holds, to the string spanned by ``t``: kept as
        its bytes, built when the extras are read, so that a string sent on every chunk (vLLM's choice
        ``text``) is made once. A value kept for another key is built first."""
        if state.later_key is not None and not same_key(state.later_key, key):
            state.settle()
        forget_raw(state, key)
        state.later_key = key
        state.keep_body(self.p, t)
        return 0

    # -- the chunk

    cdef bytes kept(self):
        """The payload as bytes (made from ``p[:n]`` when first asked for), or None when it is too
        large to keep."""
        if self.payload_lazy:
            self.payload = PyBytes_FromStringAndSize(<const char*>self.p, self.n)
            self.payload_lazy = False
        return self.payload

    cdef Py_ssize_t scan(self, const unsigned char* p, Py_ssize_t n, bytes payload) except -2:
        """Scan the payload ``p[:n]`` onto the tape; its top-level "choices" key offset (or 0), or
        -1. ``payload`` is those bytes, or None: ``p`` then points into memory that holds still
        until this payload is applied, and the bytes are made only to be kept."""
        cdef Py_ssize_t at, k, j
        cdef Template tpl
        # A template made after a header hit serves payloads that begin with that header; one made
        # from a whole payload (a stream whose header changes, as a new id on every chunk) serves
        # the payloads that do not begin with the header held.
        cdef Py_ssize_t hl = self.header_len if self.header is not None else -1
        cdef bint hit = 0 <= hl < n and memcmp(p, PyBytes_AS_STRING(self.header), hl) == 0
        self.replayed = False
        self.p = p
        self.n = n
        # Kept for the values a choice keeps as spans in it (see put_later), a large one not at all.
        self.payload = payload if n <= KEPT_PAYLOAD else None
        self.payload_lazy = payload is None and n <= KEPT_PAYLOAD
        for k in range(TEMPLATES if self.templates is not None else 0):
            j = (self.latest + TEMPLATES - k) % TEMPLATES
            if self.templates[j] is None:
                continue
            tpl = <Template>self.templates[j]
            if tpl.payload is not None and (
                    (tpl.header_epoch == self.header_epoch and hit) if tpl.header_hit else not hit):
                at = tpl.replay(self, p, n)
                if at >= 0:
                    self.reused += 1
                    self.replayed = True
                    return at
        if self.captape > KEPT_TOKS:
            self.release()  # a large tape no applied payload gave back
        at = self.scan_full()
        if at < 0:
            self.release()
            return at
        # A template only from the second payload of a shape on: a short stream never reuses one.
        k = shape_of(self)
        if k != self.last_shape:
            self.last_shape = k
            return at
        if self.templates is None:
            self.templates = [None] * TEMPLATES
        j = (self.latest + 1) % TEMPLATES
        if self.templates[j] is None:
            self.templates[j] = Template()
        if (<Template>self.templates[j]).take(self, at):
            self.latest = j
        return at

    cdef Py_ssize_t scan_full(self) except -2:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t i, ka, kb, v, choices_at = 0
        cdef bint more
        cdef Tok* t
        cdef Py_ssize_t hl
        self.ntape = 0
        self.tape_of = None
        self.nchoices = 0
        self.ntools = 0
        self.key_bound = 0
        if self.objs or self.objs_borrowed:
            self.objs = None
            self.objs_borrowed = False
        self.top.known = 0
        self.top.nunknown = 0
        self.header_hit = False
        i = 1
        if self.header is not None:
            hl = self.header_len
            if n > hl and memcmp(p, PyBytes_AS_STRING(self.header), hl) == 0:
                # The header's unknown keys were recorded as offsets into it, and the payload
                # begins with the same bytes: they are compared in the payload, like the keys after.
                copy_keys(&self.top, &self.header_keys)
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
                    copy_keys(&self.before_choices, &self.top)
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
            elif key_is(p, ka, kb, b"error", 5):
                return -1
            else:
                if not unknown_once(&self.top, p, ka, kb):
                    return -1
                i = self.extra(TOP_EXTRAS, T_TOP_EXTRA, ka, kb, v)
                if i >= 0 and p[v] == 123 and key_is(p, ka, kb, b"x_groq", 6):
                    i = self.groq_usage(v, i)
            if i < 0:
                return -1
            i = self.after_member(i, 125, &more)
            if i < 0:
                return -1
            if not more:
                return self.end(i, choices_at)

    cdef Py_ssize_t groq_usage(self, Py_ssize_t v, Py_ssize_t end) except -2:
        """The ``usage`` of Groq's ``x_groq`` object at ``p[v]`` (kept in extras by the token just
        pushed), which serves when no top-level one comes; ``end``, or -1 for the twin's path."""
        cdef Py_ssize_t u
        if self.tape[self.ntape - 1].a < 0:  # parsed, not checked here: the twin reads it
            return -1
        u = self.member(v, b"usage", 5)
        if u < 0 or self.p[u] != 123:
            return end
        return -1 if self.model_value(T_GROQ_USAGE, _Usage, u) < 0 else end

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
        if not known_once(&self.top, bit):
            return -1
        if e >= 0:
            return e
        return self.model_value(kind, model, v)

    cdef Py_ssize_t model_value(self, int kind, object model, Py_ssize_t v) except -2:
        """Push a ``kind`` token holding the ``model`` built from the JSON value at ``p[v]``; the
        value's end, or -1 for the twin's path (invalid JSON, a value the model refuses)."""
        cdef Py_ssize_t e
        cdef Tok* t = self.push(kind)
        t.obj = self.value_obj(v, &e)
        if t.obj < 0:
            return -1
        try:
            self.objs[t.obj] = _from_dict(model, self.objs[t.obj])
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
        if self.lp is None:
            self.lp = TokenColumns()
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
        cdef Py_ssize_t e = string_end(self.p, v + 1, self.n, &esc)
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
                    if p[v] == 91:  # typed parts (Mistral's text and thinking)
                        e = self.json_end(v, 0)
                        if e >= 0:
                            t = self.push(T_CONTENT_PARTS)
                            t.a = v
                            t.b = e
                            self.key_bound += nested_bound(v, e)
                    elif p[v] != 34:
                        return -1
                    else:
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
            elif key_is(p, ka, kb, b"function_call", 13) or key_is(p, ka, kb, b"audio", 5):
                if not known_once(&keys, 16 if p[ka] == 102 else 32):
                    return -1
                if e < 0:
                    if p[v] != 123:
                        return -1
                    e = self.named(v + 1, p[ka] == 97)
            elif key_is(p, ka, kb, b"annotations", 11):
                if not known_once(&keys, 64):
                    return -1
                if e < 0:
                    if p[v] != 91:
                        return -1
                    e = self.json_end(v, 0)
                    if e >= 0:
                        t = self.push(T_ANNOTATIONS)
                        t.a = v
                        t.b = e
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

    cdef Py_ssize_t named(self, Py_ssize_t i, bint which) except -2:
        """The members of a delta's ``function_call`` (``which`` 0) or ``audio`` (1) object, whose
        ``{`` is before ``p[i]``: the keys of its table set once or concatenated (strings or null),
        any other by the value, as the twin's ``merge_named``."""
        cdef const unsigned char* p = self.p
        cdef tuple table = <tuple>NAMED[which]
        cdef tuple names = <tuple>table[0]
        cdef tuple concat = <tuple>table[2]
        cdef Py_ssize_t ka, kb, v, e, k, nkeys = len(names)
        cdef Keys keys
        cdef bint more
        cdef bytes name
        cdef Tok* t
        keys.known = 0
        keys.nunknown = 0
        self.push(T_NAMED).flag = which
        i = skip_ws(p, i, self.n)
        if i < self.n and p[i] == 125:
            return i + 1
        while True:
            v = self.key(i, &ka, &kb)
            if v < 0:
                return -1
            e = self.is_null(v)
            for k in range(nkeys):
                name = <bytes>names[k]
                if key_is(p, ka, kb, name, PyBytes_GET_SIZE(name)):
                    break
            else:
                k = -1
            if k >= 0:
                if not known_once(&keys, 1 << k):
                    return -1
                if e >= 0:
                    t = self.push(T_NAMED_NULL)
                else:
                    if p[v] != 34:
                        return -1
                    t = self.push(T_NAMED_CONCAT if concat[k] else T_NAMED_ONCE)
                    e = self.string_tok(t, v)
                t.ival = k
            else:
                if not unknown_once(&keys, p, ka, kb):
                    return -1
                if e < 0 and key_is(p, ka, kb, b"expires_at", 10) and not self.is_int(v):
                    return -1
                e = self.raw_value(self.push(T_NAMED_EXTRA), ka, kb, v)
                self.key_bound += nested_bound(v, e)
            if e < 0:
                return -1
            i = self.after_member(e, 125, &more)
            if i < 0:
                return -1
            if not more:
                return i

    # -- typed content parts (checked by json_end), merged by the twin's rules (merge_parts)

    cdef bint text_part(self, Py_ssize_t i, Tok* t) except -1:
        """Whether the (checked) value at ``p[i]`` is an object whose ``type`` is ``"text"`` and whose
        ``text`` is a string; then that string's body is put on ``t``."""
        cdef Py_ssize_t v
        if self.p[i] != 123:
            return False
        v = self.member(i, b"type", 4)
        if v < 0 or self.p[v] != 34 or self.string_tok(t, v) < 0:
            return False
        if t.esc:
            if decode_span(self.p, t.a, t.b, True) != "text":
                return False
        elif t.b - t.a != 4 or memcmp(self.p + t.a, b"text", 4) != 0:
            return False
        v = self.member(i, b"text", 4)
        return v >= 0 and self.p[v] == 34 and self.string_tok(t, v) >= 0

    cdef bint typed_items(self, Py_ssize_t i) noexcept:
        """Whether every item of the (checked) array at ``p[i]`` is an object with a ``type``."""
        cdef bint more = True
        i = skip_ws(self.p, i + 1, self.n)
        if self.p[i] == 93:
            return True
        while more:
            if self.p[i] != 123 or self.member(i, b"type", 4) < 0:
                return False
            i = self.after_member(skip_value(self.p, i, self.n), 93, &more)
        return True

    cdef Py_ssize_t content_parts(self, Choice state, Py_ssize_t i, dict rules) except -1:
        """Merge the (checked) array of a delta's ``content`` at ``p[i]``: text parts appended to the
        content, the others merged into ``content_parts``; how many entries it added."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t added = 0
        cdef bint more = True
        cdef Tok text
        i = skip_ws(p, i + 1, self.n)
        if p[i] == 93:
            return 0
        while more:
            if self.text_part(i, &text):
                if state.content is None:
                    state.content = TextBuf()
                add_text(state.content, p, &text)
                i = skip_value(p, i, self.n)
            else:
                if state.content_parts is None:
                    state.content_parts = []
                added += self.merge_part(state.content_parts, i, rules, 0, &i)
            i = self.after_member(i, 93, &more)
        return added

    cdef Py_ssize_t merge_parts(self, object acc, Py_ssize_t i, dict rules, int depth,
                                Py_ssize_t* end) except -1:
        """The twin's ``merge_parts(acc, parts, rules, depth)`` for the (checked) array at ``p[i]``."""
        cdef Py_ssize_t added = 0
        cdef bint more = True
        i = skip_ws(self.p, i + 1, self.n)
        if self.p[i] == 93:
            end[0] = i + 1
            return 0
        while more:
            added += self.merge_part(acc, i, rules, depth, &i)
            i = self.after_member(i, 93, &more)
        end[0] = i
        return added

    cdef Py_ssize_t merge_part(self, object acc, Py_ssize_t i, dict rules, int depth,
                               Py_ssize_t* end) except -1:
        """One part of :meth:`merge_parts`: merged into the last one when both are objects of the
        same ``type``, else appended."""
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t ka, kb, v, added = 0
        cdef bint more = True
        cdef object kind = None, last = None, key, fresh
        if p[i] != 123 or depth >= _MAX_MERGE_DEPTH:
            acc.append(self.build(i, end))
            return 0
        v = self.member(i, b"type", 4)
        if v >= 0:
            kind = self.build(v, &ka)
        if acc:
            last = acc[len(acc) - 1]
        i = skip_ws(p, i + 1, self.n)
        if type(last) is _Merged and (<dict>last).get("type") == kind:
            if p[i] == 125:
                end[0] = i + 1
                return 0
            while more:
                v = self.key(i, &ka, &kb)
                key = self.key_obj(ka, kb)
                if p[v] == 91 and type((<dict>last).get(key)) is _PartList:
                    added += self.merge_parts((<dict>last)[key], v, rules, depth + 1, &i)
                else:
                    added += self.merge_raw(last, key, v, rules, depth + 1, &i)
                i = self.after_member(i, 125, &more)
            end[0] = i
            return added
        fresh = _Merged()
        if p[i] == 125:
            more = False
            i += 1
        while more:
            v = self.key(i, &ka, &kb)
            key = self.key_obj(ka, kb)
            if p[v] == 91 and self.typed_items(v):
                fresh[key] = _PartList()
                added += 1 + self.merge_parts(fresh[key], v, rules, depth + 1, &i)
            else:
                added += self.merge_raw(fresh, key, v, rules, depth + 1, &i)
            i = self.after_member(i, 125, &more)
        acc.append(fresh)
        end[0] = i
        return added

    # -- applying the tape

    cdef int apply(self, Top merger, dict choices, dict rules) except -1:
        cdef const unsigned char* p = self.p
        cdef Py_ssize_t j
        cdef Tok* t
        cdef Choice state = None
        cdef Tool tool = None
        cdef object key, old, index
        cdef list objs = self.objs
        cdef TextBuf buf
        cdef Py_ssize_t size, v
        cdef object named = None
        cdef tuple names = None
        self.new_tools = 0
        self.new_keys = 0
        for j in range(self.ntape):
            t = &self.tape[j]
            if t.kind == T_CHOICE:
                if self.last_choice is not None and t.ival == self.last_index:
                    state = self.last_choice
                    continue
                index = t.ival
                state = choices.get(index)
                if state is None:
                    state = new_choice(index)
                    choices[index] = state
                self.last_choice = state
                self.last_index = t.ival
            elif t.kind == T_CONTENT:
                if state.content is None:
                    state.content = TextBuf.__new__(TextBuf)
                if type(state.content) is TextBuf:  # add_text's first case, here on every chunk
                    (<TextBuf>state.content).add_json(p, t.a, t.b, t.esc)
                else:
                    add_text(state.content, p, t)
            elif t.kind == T_TOOL_ARGS:
                if type(tool.arguments) is TextBuf:
                    (<TextBuf>tool.arguments).add_json(p, t.a, t.b, t.esc)
                else:
                    add_text(tool.arguments, p, t)
            elif t.kind == T_FINISH:
                if not same_text(state.finish_reason, p, t.a, t.b, t.esc):
                    state.finish_reason = named_text(FINISH_REASONS, p, t)
            elif t.kind == T_ROLE:
                if state.role is None and t.b > t.a:
                    state.role = named_text(ROLES, p, t)
            elif t.kind == T_REFUSAL:
                if state.refusal is None:
                    state.refusal = TextBuf.__new__(TextBuf)
                add_text(state.refusal, p, t)
            elif t.kind == T_DELTA_TEXT:
                key = objs[t.obj]
                if key is state.text_key and rules is state.text_rules:
                    (<TextBuf>state.text_buf).add_json(p, t.a, t.b, t.esc)
                    continue
                if state.mlater_key is not None and same_key(state.mlater_key, key):
                    state.settle_message()
                acc = state.mx_dict()
                if state.memo_key is not None and same_key(key, state.memo_key):
                    state.memo_key = None
                size = dict_size(acc)
                if is_last(rules.get(key)):
                    if not same_text(get_key(acc, key), p, t.a, t.b, t.esc):
                        acc[key] = decode_span(p, t.a, t.b, t.esc)
                else:
                    old = get_key(acc, key)
                    if type(old) is TextBuf:
                        (<TextBuf>old).add_json(p, t.a, t.b, t.esc)
                    elif type(old) in _STR_ACCUMULATORS:
                        old.append(decode_span(p, t.a, t.b, t.esc))
                        old = None
                    else:
                        old = buf = TextBuf()
                        buf.add_json(p, t.a, t.b, t.esc)
                        acc[key] = buf
                    if old is not None:
                        state.text_key = key
                        state.text_buf = old
                        state.text_rules = rules
                self.new_keys += dict_size(acc) - size
            elif t.kind == T_DELTA_NULL:
                key = objs[t.obj]
                if key is not state.mheld_key:
                    if not has_key(state.mx_dict(), key):
                        state.mx_dict()[key] = None
                        self.new_keys += 1
                    state.mheld_key = key
            elif t.kind == T_DELTA_OTHER:
                if t.a >= 0:
                    key = objs[t.obj]
                    if (state.mlater_key is key and state.text_key is None and state.memo_key is None
                            and (p[t.a] == 45 or 48 <= p[t.a] <= 57) and self.n <= KEPT_PAYLOAD):
                        state.keep_number(p, t)  # merge_delta_raw's first case, inlined
                        continue
                    if state.memo_key is key and self.replayed and self.memo_replayed(state, key, t, rules):
                        continue
                    self.new_keys += self.merge_delta_raw(state, key, t, rules)
                else:
                    state.memo_key = None
                    state.text_key = None
                    state.settle_message()
                    self.new_keys += _merge_generic(state.mx_dict(), {objs[t.obj + 1]: objs[t.obj]}, rules)
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
            elif t.kind == T_ANNOTATIONS:
                if state.annotations is None:
                    state.annotations = []
                state.annotations.extend(self.build(t.a, &size))
            elif t.kind == T_CONTENT_PARTS:
                self.new_keys += self.content_parts(state, t.a, rules)
            elif t.kind == T_NAMED:
                named = state.audio if t.flag else state.function_call
                if named is None:
                    named = _Merged()
                    if t.flag:
                        state.audio = named
                    else:
                        state.function_call = named
                names = <tuple>(<tuple>NAMED[t.flag])[1]
            elif t.kind == T_NAMED_CONCAT:
                key = names[t.ival]
                old = named.get(key)
                if type(old) is TextBuf:
                    (<TextBuf>old).add_json(p, t.a, t.b, t.esc)
                elif type(old) in _STR_ACCUMULATORS:
                    old.append(decode_span(p, t.a, t.b, t.esc))
                else:
                    buf = TextBuf()
                    buf.add_json(p, t.a, t.b, t.esc)
                    named[key] = buf
            elif t.kind == T_NAMED_ONCE:
                key = names[t.ival]
                if t.b > t.a:
                    if not named.get(key):
                        named[key] = decode_span(p, t.a, t.b, t.esc)
                elif key not in named:
                    named[key] = ""
            elif t.kind == T_NAMED_NULL:
                key = names[t.ival]
                if key not in named:
                    named[key] = None
            elif t.kind == T_NAMED_EXTRA:
                if t.a >= 0:
                    self.new_keys += self.merge_raw(named, objs[t.obj], t.a, rules, 0, &size)
                else:
                    self.new_keys += _merge_generic(named, {objs[t.obj + 1]: objs[t.obj]}, rules)
            elif t.kind == T_LP_TOKEN:
                state.lp_add(t.flag, self.lp, t.ival, p, t.a, t.b)
            elif t.kind == T_LP_START:
                state.lp_start(t.flag)
            elif t.kind == T_LP_SEEN:
                state.logprobs_seen = True
            elif t.kind == T_CHOICE_EXTRA:  # (only the kind is tested in this chain: one switch)
                if t.a < 0:
                    key = objs[t.obj + 1]
                    if state.later_key is not None and same_key(state.later_key, key):
                        state.settle()
                    forget_raw(state, key)
                    self.new_keys += put_value(state.cx_dict(), key, objs[t.obj], t.flag)
                    continue
                key = objs[t.obj]
                if p[t.a] == 110 and state.held_key is key:
                    continue  # (see put_raw)
                if (state.raw_tpl is not None and self.replayed and state.raw_tpl is self.replay_tpl
                        and state.raw_taken == (<Template>self.replay_tpl).taken
                        and (<Template>self.replay_tpl).vj[state.raw_v] == j
                        and self.shaped_ok[state.raw_v] == SHAPED_SAME):
                    continue  # the same bytes put the value there, and nothing changed it since
                if (not t.flag and p[t.a] == 34 and self.n <= KEPT_PAYLOAD
                        and (state.later_key is key or has_key(state.cx_dict(), key))):  # see merge_delta_raw
                    if state.later_key is key and state.raw_tpl is None:  # put_later's usual case, inlined
                        state.keep_body(p, t)
                    else:
                        self.put_later(state, key, t)
                    continue
                if state.later_key is not None and same_key(state.later_key, key):
                    state.settle()
                if state.seen is None:
                    state.seen = {}
                self.new_keys += self.put_raw(state.cx_dict(), state.seen, key, t.a, t.b, t.flag)
                if p[t.a] == 110:
                    state.held_key = key
                v = self.replayed_as(j) if self.replayed and not t.flag else -1
                if v >= 0:
                    state.raw_tpl = self.replay_tpl
                    state.raw_taken = (<Template>self.replay_tpl).taken
                    state.raw_v = v
                    state.raw_key = key
                else:
                    forget_raw(state, key)
            else:
                if not (HELD_BIT[t.kind] & self.held):
                    self.apply_top(merger, t)
        self.release()
        return 0

    cdef Py_ssize_t replayed_as(self, Py_ssize_t j) noexcept:
        """The varying value of the replayed template that token ``j`` is, when it has the template's
        bytes; else -1."""
        cdef Template tpl = <Template>self.replay_tpl
        cdef Py_ssize_t v
        for v in range(tpl.nvary):
            if tpl.vj[v] == j:
                return v if self.shaped_ok[v] == SHAPED_SAME else -1
        return -1

    cdef bint holds(self, object value, int bit) except -1:
        """Whether the merger's field of ``bit`` (``value``), kept by the first non-empty value, holds
        one: read until it does (no chunk empties it again)."""
        if self.held & bit:
            return True
        if value:
            self.held |= bit
            return True
        return False

    cdef Tool select_tool(self, Choice state, Tok* t):
        cdef object index = t.ival if t.flag else None
        cdef object call_id = decode_span(self.p, t.ida, t.idb, t.idesc) if t.ida >= 0 else None
        cdef Tool tool
        if index is None:
            tool = state.last_tool
        else:
            tool = state._tool_at.get(index) if state._tool_at is not None else None
        if tool is None or (call_id and tool.id and call_id != tool.id):
            tool = Tool(index)
            self.new_tools += 1
            if state._tools is None:
                state._tools = []
            state._tools.append(tool)
            if index is not None:
                if state._tool_at is None:
                    state._tool_at = {}
                state._tool_at[index] = tool
        state.last_tool = tool
        if call_id is not None and not tool.id:
            tool.id = call_id
        return tool

    cdef int apply_top(self, Top merger, Tok* t) except -1:
        cdef const unsigned char* p = self.p
        cdef object value
        if t.kind == T_ID:
            if not (ID_FIRST and self.holds(merger._id, H_ID)):
                merger._id = decode_span(p, t.a, t.b, t.esc)
        elif t.kind == T_MODEL:
            if not (MODEL_FIRST and self.holds(merger._model, H_MODEL)):
                merger._model = shared_text(p, t.a, t.b, t.esc, SHARED_NAME_LEN)
        elif t.kind == T_CREATED:
            if not (CREATED_FIRST and self.holds(merger._created, H_CREATED)):
                merger._created = t.ival
        elif t.kind == T_FINGERPRINT:
            if (self.header is not None and self.fingerprint_epoch == self.header_epoch
                    and same_text(self.fingerprint, p, t.a, t.b, t.esc)):
                return 0  # set here since the header was, and so not changed (see remember_header)
            value = merger._fingerprint
            if not (FINGERPRINT_FIRST and value) and not same_text(value, p, t.a, t.b, t.esc):
                value = shared_text(p, t.a, t.b, t.esc, SHARED_NAME_LEN)
                merger._fingerprint = value
            self.fingerprint = value
            self.fingerprint_epoch = self.header_epoch
        elif t.kind == T_SERVICE_TIER:
            if not (TIER_FIRST and self.holds(merger._service_tier, H_TIER)):
                merger._service_tier = shared_text(p, t.a, t.b, t.esc, SHARED_NAME_LEN)
        elif t.kind == T_USAGE:
            merger._usage = self.objs[t.obj]
        elif t.kind == T_MODERATION:
            merger._moderation = self.objs[t.obj]
        elif t.kind == T_GROQ_USAGE:
            merger._groq_usage = self.objs[t.obj]
        elif t.kind == T_TOP_EXTRA and t.a >= 0:
            if self.seen is None:
                self.seen = {}
            self.new_keys += self.put_raw(merger.tx_dict(), self.seen, self.objs[t.obj], t.a, t.b, t.flag)
        elif t.kind == T_TOP_EXTRA:
            self.new_keys += put_value(merger.tx_dict(), self.objs[t.obj + 1], self.objs[t.obj], t.flag)
        return 0

    cdef int remember_header(self, Py_ssize_t choices_at) except -1:
        # The merger sets the header to None before any chunk it merges on another path, so that
        # while it is not None no other path merged since this call (one per epoch).
        self.header_epoch += 1
        self.header = None
        if choices_at > KEPT_PAYLOAD:
            return 0
        # The payload is kept as it is unless it is large (see Scanner.payload).
        self.header = (self.kept() if self.n <= KEPT_PAYLOAD
                       else PyBytes_FromStringAndSize(<const char*>self.p, choices_at))
        self.header_len = choices_at
        copy_keys(&self.header_keys, &self.before_choices)
        self.header_keys.known &= ~B_CHOICES
