# cython: language_level=3
"""Messages stream merger, compiled.

The merged state is the twin's :class:`~._state.MessagesState`. What is compiled is the frequent
event: a ``content_block_delta`` carrying one string (``text_delta``, ``thinking_delta``,
``input_json_delta``: the string deltas of the rule table) is recognised from the payload's bytes,
in any key order and spacing (the API pads objects with spaces before ``}``), its keys and values
checked as strictly as a JSON parser checks them, and only the string is unescaped into one UTF-8
buffer, appended to the fragments of its block when the state next reads them: decoded once, or,
for tool input JSON, as the UTF-8 bytes its parser reads without encoding them again.
The bytes before the string are remembered and compared with the next payload's, so a repeated
header is not scanned again; the first such delta of a block makes its fragment list through the
state, which checks it as the general path would. ``content_block_stop``, ``ping`` and
``message_stop`` spelled with no other keys are read from their bytes too. Anything else takes the
shared state's general path (``orjson`` and the rule table), which also raises the errors at their
offsets.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_Append
from cpython.unicode cimport PyUnicode_GET_LENGTH
from libc.string cimport memcmp

from .._json_c cimport (
    Utf8Buf, key_is, member_key, next_member, plain_string, scan_int, skip_ws, string_end,
)
from .._sse_c cimport PayloadSink, SSEDecoder

import orjson

from .. import _build_c
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE
from ..errors import StreamFormatError
from ._rules import JSON, STRING_DELTAS
from ._state import MessagesState

cdef object _StreamFormatError = StreamFormatError
cdef object _loads = orjson.loads
cdef object _JSONDecodeError = orjson.JSONDecodeError

#: Compiled from :data:`._rules.STRING_DELTAS` when the module loads: per string delta, its
#: ``type`` and the key of its string, as bytes, the ``type`` as ``str``, and whether it is JSON text.
cdef tuple DELTA_TYPES = tuple(kind.encode() for kind in STRING_DELTAS)
cdef tuple DELTA_KEYS = tuple(rule[0].encode() for rule in STRING_DELTAS.values())
cdef tuple DELTA_NAMES = tuple(STRING_DELTAS)
cdef tuple DELTA_JSON = tuple(rule[2] == JSON for rule in STRING_DELTAS.values())
cdef Py_ssize_t NDELTAS = len(DELTA_TYPES)

cdef enum:
    T_TYPE = 1
    T_INDEX = 2
    T_DELTA = 4
    D_TYPE = 1
    D_VALUE = 2
    B_STOP = 0
    B_PING = 1
    B_END = 2


cdef inline int delta_type(const unsigned char* p, Py_ssize_t a, Py_ssize_t b) except -2:
    """The number of the string delta whose ``type`` is ``p[a:b]``, or -1."""
    cdef Py_ssize_t k
    cdef bytes word
    for k in range(NDELTAS):
        word = <bytes>DELTA_TYPES[k]
        if key_is(p, a, b, word, PyBytes_GET_SIZE(word)):
            return <int>k
    return -1


cdef inline bint named_error(object event) except -1:
    """Whether the event's name is ``error`` (the name's length compared first)."""
    if event is None:
        return False
    if type(event) is str and PyUnicode_GET_LENGTH(event) != 5:
        return False
    return event == "error"


@cython.final
cdef class DeltaSink(PayloadSink):
    """Merges each payload as the tokenizer completes it."""

    cdef object state
    cdef public Py_ssize_t merged
    cdef bint stopped
    cdef object error  # raised once the tokenizer is done with the piece
    # The fragments of the last string delta's block and kind.
    cdef object acc  # a list (subclass)
    cdef Utf8Buf pending  # the strings taken since the last flush, for ``acc``
    cdef long long acc_index
    cdef int acc_rule
    # The bytes before the string of the last delta taken, and the scan's state there.
    cdef bytes header
    cdef int hdr_top, hdr_rule
    cdef long long hdr_index

    def __init__(self):
        self.pending = Utf8Buf()

    cdef int flush(self) except -1:
        """Hand the strings taken to the state (before it reads or changes anything): JSON text
        as UTF-8 ``bytes``, which its parser reads as they are."""
        if self.pending.len:
            if DELTA_JSON[self.acc_rule]:
                PyList_Append(self.acc, PyBytes_FromStringAndSize(self.pending.ptr, self.pending.len))
                self.pending.clear()
            else:
                PyList_Append(self.acc, self.pending.take())
        return 0

    cdef int reset(self) except -1:
        self.flush()
        self.acc = None
        self.header = None
        return 0

    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset, Py_ssize_t index) except -1:
        if self.stopped:
            return 0
        if not named_error(event):
            if self.take(payload) or self.bare(payload):
                self.merged += 1
                return 0
        self.reset()
        state = self.state
        try:
            obj = _loads(payload)
        except _JSONDecodeError:
            obj = None
        try:
            if state.merge_payload(obj, payload, event, data_offset, index):
                self.merged += 1
        except _StreamFormatError as exc:
            self.error = exc
            self.stopped = True
            return 0
        if state.done:
            self.stopped = True
        return 0

    cdef bint take(self, bytes payload) except -1:
        """Append the string of ``payload`` when it is a string ``content_block_delta`` of a
        block that has its fragments, in a shape this scan knows; False (nothing changed)
        otherwise."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* h
        cdef Py_ssize_t hn, i = 0, j, ka, kb, va = 0, vb = 0, sa = 0, sb = 0, hdr_end = -1
        cdef int top = 0, dseen = 0, key, rule = -1, hdr_top = 0
        cdef bint sesc = False, resume = False, resumed = False, last = False
        cdef long long idx = 0
        cdef bytes word
        if n < 2 or p[0] != 123:
            return False
        if self.header is not None:
            h = <const unsigned char*>PyBytes_AS_STRING(self.header)
            hn = PyBytes_GET_SIZE(self.header)
            if n > hn and memcmp(p, h, hn) == 0:
                i = hn
                top = self.hdr_top
                rule = self.hdr_rule
                idx = self.hdr_index
                dseen = D_TYPE
                resume = resumed = True
        if not resume:
            i = skip_ws(p, 1, n)
        while True:  # the members of the event
            if resume:
                key = T_DELTA
            else:
                i = member_key(p, i, n, &ka, &kb)
                if i < 0:
                    return False
                if key_is(p, ka, kb, "type", 4):
                    key = T_TYPE
                elif key_is(p, ka, kb, "index", 5):
                    key = T_INDEX
                elif key_is(p, ka, kb, "delta", 5):
                    key = T_DELTA
                else:
                    return False
                if top & key:
                    return False  # a duplicate key: the parser keeps the last
            if key == T_TYPE:
                j = plain_string(p, i, n)
                if j < 0 or not key_is(p, i + 1, j, "content_block_delta", 19):
                    return False
                i = j + 1
            elif key == T_INDEX:
                i = scan_int(p, i, n, &idx)
                if i < 0:
                    return False
            else:
                if not resume:
                    if p[i] != 123:
                        return False
                    i = skip_ws(p, i + 1, n)
                while True:  # the members of the delta
                    if resume:
                        key = D_VALUE
                        resume = False
                        if p[i] != 34:
                            return False
                    else:
                        i = member_key(p, i, n, &ka, &kb)
                        if i < 0:
                            return False
                        key = D_TYPE if key_is(p, ka, kb, "type", 4) else D_VALUE
                        if p[i] != 34 or dseen & key:
                            return False
                        if key == D_VALUE:
                            sa, sb = ka, kb
                    if key == D_TYPE:
                        j = plain_string(p, i, n)
                        if j < 0:
                            return False
                        rule = delta_type(p, i + 1, j)
                        if rule < 0:
                            return False
                        i = j + 1
                    else:
                        if dseen & D_TYPE:
                            hdr_end = i
                            hdr_top = top
                        va = i + 1
                        vb = string_end(p, va, n, &sesc)
                        if vb < 0:
                            return False
                        i = vb + 1
                    dseen |= key
                    i = next_member(p, i, n, &last)
                    if i < 0:
                        return False
                    if last:
                        break
                if dseen != D_TYPE | D_VALUE:
                    return False
                key = T_DELTA
            top |= key
            i = next_member(p, i, n, &last)
            if i < 0:
                return False
            if last:
                if skip_ws(p, i, n) != n:
                    return False
                break
        if top != T_TYPE | T_INDEX | T_DELTA:
            return False
        word = <bytes>DELTA_KEYS[rule]
        if not resumed and not key_is(p, sa, sb, word, PyBytes_GET_SIZE(word)):
            return False
        if self.acc is None or self.acc_index != idx or self.acc_rule != rule:
            self.reset()
            # The state runs Python code: the payload (kept by the caller) is read again after.
            acc = self.state.fragments(idx, DELTA_NAMES[rule], True)
            if acc is None:
                return False
            p = <const unsigned char*>PyBytes_AS_STRING(payload)
            self.acc = acc
            self.acc_index = idx
            self.acc_rule = rule
        self.pending.add(p, va, vb, sesc)
        if self.header is None and hdr_end >= 0:
            self.header = PyBytes_FromStringAndSize(PyBytes_AS_STRING(payload), hdr_end)
            self.hdr_top = hdr_top
            self.hdr_rule = rule
            self.hdr_index = idx
        return True

    cdef bint bare(self, bytes payload) except -1:
        """Apply ``payload`` when it is a ``content_block_stop`` of a block, a ``ping`` or a
        ``message_stop``, spelled with no other keys; False (nothing changed) otherwise."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t i, j, ka, kb
        cdef int top = 0, kind = -1
        cdef long long idx = 0
        cdef bint last = False
        if n < 2 or p[0] != 123:
            return False
        i = skip_ws(p, 1, n)
        while True:
            i = member_key(p, i, n, &ka, &kb)
            if i < 0:
                return False
            if key_is(p, ka, kb, "type", 4) and not top & T_TYPE:
                j = plain_string(p, i, n)
                if j < 0:
                    return False
                if key_is(p, i + 1, j, "content_block_stop", 18):
                    kind = B_STOP
                elif key_is(p, i + 1, j, "ping", 4):
                    kind = B_PING
                elif key_is(p, i + 1, j, "message_stop", 12):
                    kind = B_END
                else:
                    return False
                i = j + 1
                top |= T_TYPE
            elif key_is(p, ka, kb, "index", 5) and not top & T_INDEX:
                i = scan_int(p, i, n, &idx)
                if i < 0:
                    return False
                top |= T_INDEX
            else:
                return False
            i = next_member(p, i, n, &last)
            if i < 0:
                return False
            if last:
                break
        if skip_ws(p, i, n) != n:
            return False
        if kind == B_STOP:
            if top != T_TYPE | T_INDEX:
                return False
            self.reset()
            return self.state.stop_block(idx)
        if top != T_TYPE:
            return False
        if kind == B_END:
            self.reset()
            self.state.done = True
            self.stopped = True
        return True


class MessagesMerger(MessagesState):
    """Folds a Messages stream into one :class:`~ssedelta.anthropic.Message` (see the twin,
    :class:`ssedelta.anthropic._merge_py.MessagesMerger`, for the rules: they are the same)."""

    _build = _build_c

    #: The tokenizer class.
    sse_class = SSEDecoder

    def __init__(self, max_event_size=DEFAULT_MAX_EVENT_SIZE, *, max_line_size=DEFAULT_MAX_LINE_SIZE):
        MessagesState.__init__(self)
        self._sse = SSEDecoder(max_event_size, max_line_size)
        # The sink holds the state only while feeding: a lasting reference would make a cycle,
        # and every merger garbage for the collector.
        self._sink = DeltaSink()
        self._failed = None

    @property
    def events(self):
        """Events the tokenizer has dispatched so far."""
        return self._sse.events_dispatched

    def feed(self, piece):
        """Merge the events ``piece`` completes; returns how many. Nothing is read after
        ``message_stop`` or an ``error`` event."""
        cdef SSEDecoder sse = self._sse
        cdef DeltaSink sink = self._sink
        if self._failed is not None:
            raise self._failed
        if self.done:
            return 0
        sink.merged = 0
        held, sink.state = sink.state, self
        try:
            sse.feed_into(piece, sink)
        except _StreamFormatError as exc:
            self._failed = exc
            raise
        finally:
            sink.state = held
            self.merged += sink.merged
        if sink.error is not None:
            self._failed = sink.error
            raise sink.error
        return sink.merged

    def snapshot(self):
        """The message merged so far; never raises."""
        (<DeltaSink>self._sink).flush()
        return MessagesState.snapshot(self)

    def result(self):
        """The final message (the JSON of blocks left open is parsed too); raises
        :class:`UpstreamError` (with ``.partial``) if the stream reported one."""
        (<DeltaSink>self._sink).flush()
        return MessagesState.result(self)

    def finish(self):
        """The final message (the JSON of blocks left open is parsed too); raises
        :class:`UpstreamError` (with ``.partial``) if the stream reported one."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            self._sse.close()
        return self.result()
