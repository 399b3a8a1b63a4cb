# cython: language_level=3
"""Chunk objects decoded straight from a payload's bytes, compiled.

:class:`ObjectDecoder` walks a ``chat.completion.chunk`` payload once and builds its model
objects with direct stores into their slots (no dict in between); the fields' places and
presence bits are read from the models when the module loads. A payload of another shape is
left to the general path (``None``).
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isinf
from libc.string cimport memcmp

import orjson

from . import models as _m
from .._json_c cimport parse_double, scan_int, scan_number, scan_string, skip_value, skip_ws
from .._schema import SchemaError
from .._slots cimport ssd_put, ssd_settle, ssd_settle_tree
from ._columns_c cimport KEPT_PAYLOAD
from ._keys_c cimport Keys, decode_span, key_is, unknown_once
from ._layout_c cimport Layout, key_index

cdef object _loads = orjson.loads
cdef object JSONDecodeError = orjson.JSONDecodeError
cdef object _SchemaError = SchemaError
cdef object _Usage = _m.CompletionUsage
cdef object _Moderation = _m.ChatCompletionModeration


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

# The places of the fields the decoder stores (their slots are ``Layout.offsets[place]``, their
# presence bits ``Layout.bits[place]``), by name.
cdef object _Chunk = _m.CreateChatCompletionStreamResponse
cdef Py_ssize_t CK_ID = key_index(_Chunk, "id")
cdef Py_ssize_t CK_OBJECT = key_index(_Chunk, "object")
cdef Py_ssize_t CK_CREATED = key_index(_Chunk, "created")
cdef Py_ssize_t CK_MODEL = key_index(_Chunk, "model")
cdef Py_ssize_t CK_CHOICES = key_index(_Chunk, "choices")
cdef Py_ssize_t CK_SERVICE_TIER = key_index(_Chunk, "service_tier")
cdef Py_ssize_t CK_SYSTEM_FINGERPRINT = key_index(_Chunk, "system_fingerprint")
cdef Py_ssize_t CK_USAGE = key_index(_Chunk, "usage")
cdef Py_ssize_t CK_MODERATION = key_index(_Chunk, "moderation")
cdef Py_ssize_t CK_OBFUSCATION = key_index(_Chunk, "obfuscation")
# A remembered header restores a chunk's first fields: the scalars of its header and "choices".
cdef Py_ssize_t HEADER_FIELDS = CK_SYSTEM_FINGERPRINT + 1
if set(L_CHUNK_KEYS[:HEADER_FIELDS]) != {"id", "object", "created", "model", "choices", "service_tier",
                                         "system_fingerprint"}:
    raise ImportError(f"the chunk header fields are not the first fields of {_Chunk.__name__}")
cdef object _Choice = _m.CreateChatCompletionStreamResponseChoicesInner
cdef Py_ssize_t CH_INDEX = key_index(_Choice, "index")
cdef Py_ssize_t CH_DELTA = key_index(_Choice, "delta")
cdef Py_ssize_t CH_LOGPROBS = key_index(_Choice, "logprobs")
cdef Py_ssize_t CH_FINISH_REASON = key_index(_Choice, "finish_reason")
cdef object _Delta = _m.ChatCompletionStreamResponseDelta
cdef Py_ssize_t DL_ROLE = key_index(_Delta, "role")
cdef Py_ssize_t DL_CONTENT = key_index(_Delta, "content")
cdef Py_ssize_t DL_REFUSAL = key_index(_Delta, "refusal")
cdef Py_ssize_t DL_TOOL_CALLS = key_index(_Delta, "tool_calls")
cdef Py_ssize_t DL_FUNCTION_CALL = key_index(_Delta, "function_call")
cdef Py_ssize_t DL_AUDIO = key_index(_Delta, "audio")
cdef object _ToolChunk = _m.ChatCompletionMessageToolCallChunk
cdef Py_ssize_t TC_INDEX = key_index(_ToolChunk, "index")
cdef Py_ssize_t TC_ID = key_index(_ToolChunk, "id")
cdef Py_ssize_t TC_TYPE = key_index(_ToolChunk, "type")
cdef Py_ssize_t TC_FUNCTION = key_index(_ToolChunk, "function")
cdef object _FunctionChunk = _m.ChatCompletionMessageToolCallChunkFunction
cdef Py_ssize_t FN_NAME = key_index(_FunctionChunk, "name")
cdef Py_ssize_t FN_ARGUMENTS = key_index(_FunctionChunk, "arguments")
cdef object _Logprobs = _m.CreateChatCompletionStreamResponseChoicesInnerLogprobs
cdef Py_ssize_t LP_CONTENT = key_index(_Logprobs, "content")
cdef Py_ssize_t LP_REFUSAL = key_index(_Logprobs, "refusal")
# A token and its alternatives are decoded by one method: their common fields are at the same
# places of both models.
cdef Py_ssize_t TK_TOKEN = key_index(_Token, "token")
cdef Py_ssize_t TK_LOGPROB = key_index(_Token, "logprob")
cdef Py_ssize_t TK_BYTES = key_index(_Token, "bytes")
cdef Py_ssize_t TK_TOP_LOGPROBS = key_index(_Token, "top_logprobs")
for _name in ("token", "logprob", "bytes"):
    if key_index(L_TOP.cls, _name) != key_index(_Token, _name):
        raise ImportError(f"{L_TOP.cls.__name__}.{_name} is not where {_Token.__name__}.{_name} is")


class _Bail(Exception):
    """The payload is not one the direct decoder takes; the twin's path decodes it."""


cdef object Bail = _Bail


@cython.final
cdef class ObjectDecoder:
    """Builds the model objects of a chunk straight from its bytes (no dict in between)."""

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
                which = LP_CONTENT
            elif key_is(p, ka, kb, b"refusal", 7):
                which = LP_REFUSAL
            else:
                raise Bail
            self.seen(&keys, L.bits[which])
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
                self.seen(&keys, L.bits[TK_TOKEN])
                ssd_put(obj, L.offsets[TK_TOKEN], self.string(&v))
            elif key_is(p, ka, kb, b"logprob", 7):
                self.seen(&keys, L.bits[TK_LOGPROB])
                ssd_put(obj, L.offsets[TK_LOGPROB], self.number(&v))
            elif key_is(p, ka, kb, b"bytes", 5):
                self.seen(&keys, L.bits[TK_BYTES])
                ssd_put(obj, L.offsets[TK_BYTES], self.int_list(&v))
            elif with_top and key_is(p, ka, kb, b"top_logprobs", 12):
                self.seen(&keys, L.bits[TK_TOP_LOGPROBS])
                if not self.null(&v):
                    ssd_put(obj, L.offsets[TK_TOP_LOGPROBS], self.tokens(&v, False))
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
                for k in range(HEADER_FIELDS):
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
                self.seen(&keys, L.bits[CK_CHOICES])
                if cacheable and not cached:
                    self.remember(obj, ka - 1, keys.known & ~L.bits[CK_CHOICES])
                cached = True
                ssd_put(obj, L.offsets[CK_CHOICES], self.list_of(&v, 0))
            elif key_is(p, ka, kb, b"id", 2):
                self.seen(&keys, L.bits[CK_ID])
                ssd_put(obj, L.offsets[CK_ID], self.string(&v))
            elif key_is(p, ka, kb, b"object", 6):
                self.seen(&keys, L.bits[CK_OBJECT])
                ssd_put(obj, L.offsets[CK_OBJECT], self.string(&v))
            elif key_is(p, ka, kb, b"created", 7):
                self.seen(&keys, L.bits[CK_CREATED])
                ssd_put(obj, L.offsets[CK_CREATED], self.integer(&v))
            elif key_is(p, ka, kb, b"model", 5):
                self.seen(&keys, L.bits[CK_MODEL])
                ssd_put(obj, L.offsets[CK_MODEL], self.string(&v))
            elif key_is(p, ka, kb, b"service_tier", 12):
                self.seen(&keys, L.bits[CK_SERVICE_TIER])
                ssd_put(obj, L.offsets[CK_SERVICE_TIER], self.string(&v))
            elif key_is(p, ka, kb, b"system_fingerprint", 18):
                self.seen(&keys, L.bits[CK_SYSTEM_FINGERPRINT])
                ssd_put(obj, L.offsets[CK_SYSTEM_FINGERPRINT], self.string(&v))
            elif key_is(p, ka, kb, b"usage", 5):
                self.seen(&keys, L.bits[CK_USAGE])
                cacheable = False
                ssd_put(obj, L.offsets[CK_USAGE], self.model(&v, _Usage))
            elif key_is(p, ka, kb, b"moderation", 10):
                self.seen(&keys, L.bits[CK_MODERATION])
                cacheable = False
                ssd_put(obj, L.offsets[CK_MODERATION], self.model(&v, _Moderation))
            elif key_is(p, ka, kb, b"obfuscation", 11):
                self.seen(&keys, L.bits[CK_OBFUSCATION])
                cacheable = False
                ssd_put(obj, L.offsets[CK_OBFUSCATION], self.string(&v))
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
        self.header_values = [getattr(chunk, name) for name in L_CHUNK_KEYS[:HEADER_FIELDS]]
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
                self.seen(&keys, L.bits[CH_DELTA])
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[CH_DELTA], self.delta(&v))
            elif key_is(p, ka, kb, b"index", 5):
                self.seen(&keys, L.bits[CH_INDEX])
                ssd_put(obj, L.offsets[CH_INDEX], self.integer(&v))
            elif key_is(p, ka, kb, b"finish_reason", 13):
                self.seen(&keys, L.bits[CH_FINISH_REASON])
                ssd_put(obj, L.offsets[CH_FINISH_REASON], self.string(&v))
            elif key_is(p, ka, kb, b"logprobs", 8):
                self.seen(&keys, L.bits[CH_LOGPROBS])
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[CH_LOGPROBS], self.logprobs(&v))
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
                self.seen(&keys, L.bits[DL_CONTENT])
                if v < self.n and p[v] == 91:
                    value = self.value(&v)
                    ssd_settle_tree(value)
                else:
                    value = self.string(&v)
                ssd_put(obj, L.offsets[DL_CONTENT], value)
            elif key_is(p, ka, kb, b"role", 4):
                self.seen(&keys, L.bits[DL_ROLE])
                ssd_put(obj, L.offsets[DL_ROLE], self.string(&v))
            elif key_is(p, ka, kb, b"refusal", 7):
                self.seen(&keys, L.bits[DL_REFUSAL])
                ssd_put(obj, L.offsets[DL_REFUSAL], self.string(&v))
            elif key_is(p, ka, kb, b"tool_calls", 10):
                self.seen(&keys, L.bits[DL_TOOL_CALLS])
                ssd_put(obj, L.offsets[DL_TOOL_CALLS], self.list_of(&v, 1))
            elif key_is(p, ka, kb, b"function_call", 13):
                self.seen(&keys, L.bits[DL_FUNCTION_CALL])
                ssd_put(obj, L.offsets[DL_FUNCTION_CALL], self.model(&v, _DeltaFunctionCall))
            elif key_is(p, ka, kb, b"audio", 5):
                self.seen(&keys, L.bits[DL_AUDIO])
                ssd_put(obj, L.offsets[DL_AUDIO], self.model(&v, _DeltaAudio))
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
                self.seen(&keys, L.bits[TC_INDEX])
                ssd_put(obj, L.offsets[TC_INDEX], self.integer(&v))
            elif key_is(p, ka, kb, b"id", 2):
                self.seen(&keys, L.bits[TC_ID])
                ssd_put(obj, L.offsets[TC_ID], self.string(&v))
            elif key_is(p, ka, kb, b"type", 4):
                self.seen(&keys, L.bits[TC_TYPE])
                ssd_put(obj, L.offsets[TC_TYPE], self.string(&v))
            elif key_is(p, ka, kb, b"function", 8):
                self.seen(&keys, L.bits[TC_FUNCTION])
                if not self.null(&v):
                    if v >= self.n or p[v] != 123:
                        raise Bail
                    v += 1
                    ssd_put(obj, L.offsets[TC_FUNCTION], self.function(&v))
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
                self.seen(&keys, L.bits[FN_ARGUMENTS])
                ssd_put(obj, L.offsets[FN_ARGUMENTS], self.string(&v))
            elif key_is(p, ka, kb, b"name", 4):
                self.seen(&keys, L.bits[FN_NAME])
                ssd_put(obj, L.offsets[FN_NAME], self.string(&v))
            else:
                self.extra(obj, L, &keys, ka, kb, &v)
            i = v
            go = self.more(&i, 125)
        ssd_put(obj, L.present_at, keys.known)
        ssd_settle(obj)
        at[0] = i
        return obj


cdef ObjectDecoder TOKENS = ObjectDecoder()


cdef object token_of(const unsigned char* p, Py_ssize_t a, Py_ssize_t b):
    """The logprob token object of the (checked) JSON object ``p[a:b]``."""
    cdef bytes data = b"[" + PyBytes_FromStringAndSize(<const char*>p + a, b - a) + b"]"
    try:
        return TOKENS.token_list(data)[0]
    except _Bail:
        return _Token.from_dict(_loads(data)[0])


def _tokens_from_json(bytes data):
    """The logprob token objects of a JSON array of tokens (for tests and profiling)."""
    return TOKENS.token_list(data)
