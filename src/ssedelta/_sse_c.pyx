# cython: language_level=3
"""Incremental WHATWG event-stream tokenizer, compiled.

The same tokenizer as :mod:`ssedelta._sse_py`, byte for byte: the same
events, ``raw`` bytes, offsets, errors and state at every step. Lines are
found with ``memchr`` on the caller's buffer. A block that lies inside one
read is sliced straight out of it; only the unfinished block at the end of a
read is copied, into one growing buffer owned by the decoder. Each byte is
copied at most once into that buffer, so any read size gives linear time. A
sink may read a payload where the decoder found it (``payload_at``) and make
no ``bytes`` of it; ``[DONE]`` is one shared ``bytes``.

One decoder per stream. A call made while another call into the same decoder
runs (from another thread, or from code a sink runs) raises
:class:`ReentrantCallError` and changes nothing.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_Clear
from cpython.long cimport PyLong_CheckExact, PyLong_FromLongLong, PyLong_FromSsize_t
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, memcmp, memcpy

from ._sse_py import DEFAULT_MAX_LINE_SIZE, MAX_RETRY_DIGITS as _MAX_RETRY_DIGITS
from ._sse_py import limit_value as _py_limit_value
from .errors import (
    EventTooLargeError as _EventTooLargeError,
    LimitExceededError as _LimitExceededError,
    ReentrantCallError as _ReentrantCallError,
)
from .events import ServerSentEvent as _ServerSentEvent

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)
    bint PyByteArray_CheckExact(object o)
    bint PyMemoryView_Check(object o)
    const Py_ssize_t PY_SSIZE_T_MAX
    Py_ssize_t PyLong_AsSsize_t(object o) noexcept  # -1 and an exception set on overflow

cdef extern from *:
    """
    /* ServerSentEvent is a plain __slots__ class. Its seven slots are stored
       at fixed offsets, which the member descriptors record, so an event can
       be built with one allocation and seven stores instead of a call to its
       Python __init__. ssed_event_setup() checks the layout once at import;
       when it does not match, events are built by calling the class. */
    #include <structmember.h>
    static PyTypeObject *ssed_event_type = NULL;
    static Py_ssize_t ssed_event_offsets[7];

    static int ssed_event_setup(PyObject *cls, PyObject *descrs) {
        PyTypeObject *tp;
        Py_ssize_t i;
        if (!PyType_Check(cls) || !PyTuple_Check(descrs) || PyTuple_GET_SIZE(descrs) != 7) return 0;
        tp = (PyTypeObject *)cls;
        if (tp->tp_alloc == NULL || tp->tp_itemsize != 0) return 0;
        for (i = 0; i < 7; i++) {
            PyObject *d = PyTuple_GET_ITEM(descrs, i);
            PyMemberDef *m;
            if (Py_TYPE(d) != &PyMemberDescr_Type) return 0;
            if (((PyDescrObject *)d)->d_type != tp) return 0;
            m = ((PyMemberDescrObject *)d)->d_member;
            /* 16 is T_OBJECT_EX (Py_T_OBJECT_EX), 1 is READONLY (Py_READONLY) */
            if (m->type != 16 || (m->flags & 1)) return 0;
            if (m->offset < (Py_ssize_t)sizeof(PyObject)
                || m->offset + (Py_ssize_t)sizeof(PyObject *) > tp->tp_basicsize) return 0;
            ssed_event_offsets[i] = m->offset;
        }
        Py_INCREF(cls);
        ssed_event_type = tp;
        return 1;
    }

    static PyObject *ssed_event_new(PyObject *event, PyObject *payload, PyObject *id, PyObject *retry,
                                    PyObject *raw, PyObject *offset, PyObject *data_offset) {
        PyObject *values[7];
        PyObject *obj;
        int i;
        obj = ssed_event_type->tp_alloc(ssed_event_type, 0);
        if (obj == NULL) return NULL;
        values[0] = event; values[1] = payload; values[2] = id; values[3] = retry;
        values[4] = raw; values[5] = offset; values[6] = data_offset;
        for (i = 0; i < 7; i++) {
            Py_INCREF(values[i]);
            *(PyObject **)((char *)obj + ssed_event_offsets[i]) = values[i];
        }
        return obj;
    }
    """
    int ssed_event_setup(object cls, object descrs) except -1
    object ssed_event_new(object event, object payload, object id, object retry,
                          object raw, object offset, object data_offset)


DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

cdef object ServerSentEvent = _ServerSentEvent
cdef object EventTooLargeError = _EventTooLargeError
cdef object LimitExceededError = _LimitExceededError
cdef object ReentrantCallError = _ReentrantCallError
cdef Py_ssize_t MAX_RETRY_DIGITS = _MAX_RETRY_DIGITS
cdef object _limit_value = _py_limit_value


cdef Py_ssize_t limit_of(str name, object value) except -1:
    """``limit_value(name, value)``, without a Python call for ``None`` and a plain ``int`` that
    fits a ``Py_ssize_t`` (everything else, errors included, is the twin's function)."""
    cdef Py_ssize_t limit
    if value is None:
        return PY_SSIZE_T_MAX
    if PyLong_CheckExact(value):
        limit = PyLong_AsSsize_t(value)
        if limit >= 0:
            return limit
        PyErr_Clear()  # too large (the function clamps it) or negative (it raises)
    return _limit_value(name, value)
assert MAX_RETRY_DIGITS <= 18  # the digits are summed in a long long
cdef const char* BOM = b"\xef\xbb\xbf"
cdef Py_ssize_t SHRINK_ABOVE = 1 << 20  # free a buffer this large once its block is done


cdef bint _direct_events_possible():
    import types

    cls = ServerSentEvent
    names = ("event", "payload", "id", "retry", "raw", "offset", "data_offset")
    try:
        if type(cls) is not type or cls.__bases__ != (object,) or cls.__new__ is not object.__new__:
            return False
        namespace = vars(cls)
        members = {k for k, v in namespace.items() if type(v) is types.MemberDescriptorType}
        if members != set(names):
            return False
        return ssed_event_setup(cls, tuple([namespace[k] for k in names])) == 1
    except Exception:
        return False


cdef bint DIRECT_EVENTS = _direct_events_possible()


cdef bint _plain_buffer(object piece) except -1:
    """Whether ``bytes(piece)`` would copy ``piece``'s buffer rather than call a conversion method."""
    cdef object tp = type(piece)
    return not (hasattr(tp, "__bytes__") or hasattr(tp, "__index__") or isinstance(piece, str))


cdef int _reserve(Buffer* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need = b.len + extra
    cdef Py_ssize_t cap = b.cap * 2
    cdef char* ptr
    if need <= b.cap:
        return 0
    if cap < need:
        cap = need
    if cap < 256:
        cap = 256
    ptr = <char*>PyMem_Realloc(b.ptr, <size_t>cap)
    if ptr == NULL:
        raise MemoryError()
    b.ptr = ptr
    b.cap = cap
    return 0


cdef inline int _append(Buffer* b, const char* src, Py_ssize_t k) except -1:
    if k <= 0:
        return 0
    if b.len + k > b.cap:
        _reserve(b, k)
    memcpy(b.ptr + b.len, src, <size_t>k)
    b.len += k
    return 0


cdef inline void _release(Buffer* b) noexcept:
    PyMem_Free(b.ptr)
    b.ptr = NULL
    b.len = 0
    b.cap = 0


cdef inline Py_ssize_t _find(const char* p, Py_ssize_t pos, Py_ssize_t n, int c) noexcept nogil:
    """Index of the first ``c`` in ``p[pos:n]``, or ``n``."""
    cdef const void* hit
    if pos >= n:
        return n
    hit = memchr(p + pos, c, <size_t>(n - pos))
    if hit == NULL:
        return n
    return <const char*>hit - p


cdef bytes DONE = b"[DONE]"


cdef inline bytes data_value(const char* s, Py_ssize_t size):
    """The bytes ``s[:size]``: the stream's last payload, ``[DONE]``, shared."""
    if size == 6 and memcmp(s, <const char*>DONE, 6) == 0:
        return DONE
    return PyBytes_FromStringAndSize(s, size)


cdef class PayloadSink:
    """Receives each event's payload from :meth:`SSEDecoder.feed_into` (subclassed in C)."""

    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset,
                     Py_ssize_t index) except -1:
        return 0

    cdef int payload_at(self, object event, const char* p, Py_ssize_t n, Py_ssize_t data_offset,
                        Py_ssize_t index) except -1:
        """The payload as ``n`` bytes at ``p``, valid until this returns (a sink that reads
        them without running Python code need not make a ``bytes``): ``payload`` by default."""
        return self.payload(event, data_value(p, n), data_offset, index)


@cython.final
@cython.freelist(4)  # a merger makes one per stream
cdef class SSEDecoder:
    """Incremental event-stream tokenizer: ``feed(piece)`` returns the events it completes.

    After an error the decoder is failed: every later ``feed``, ``feed_payloads`` and
    ``close`` raises the same exception again. That is so for the limit errors and for any
    other exception that stops a read midway (a :exc:`MemoryError`, say). A call made while
    another call into the same decoder runs raises :class:`ReentrantCallError` and changes
    nothing.
    """

    def __cinit__(self):
        self._buf.ptr = NULL
        self._buf.len = 0
        self._buf.cap = 0
        self._data.ptr = NULL
        self._data.len = 0
        self._data.cap = 0
        self._gaps = NULL
        self._ngaps = 0
        self._gaps_cap = 0

    def __dealloc__(self):
        _release(&self._buf)
        _release(&self._data)
        PyMem_Free(self._gaps)
        self._gaps = NULL

    def __init__(self, max_event_size=DEFAULT_MAX_EVENT_SIZE, max_line_size=DEFAULT_MAX_LINE_SIZE):
        """``max_event_size``: the largest event block accepted, in bytes (from its first byte
        through its blank line; comments and every field, ``id``, ``event`` and ``retry``
        included, count; ``None``: no limit); a larger one raises
        :class:`EventTooLargeError` as soon as it is seen to be too large, before it ends.
        ``max_line_size``: the longest line accepted, in bytes without its line end (``None``:
        bounded by ``max_event_size`` only); a longer one raises :class:`LimitExceededError`
        (``limit="max_line_size"``, ``offset`` where the line starts) as soon as it is seen.
        Each is an ``int >= 0`` or ``None`` (else ``TypeError`` or ``ValueError``)."""
        self.setup(max_event_size, max_line_size)

    cdef int setup(self, object max_event_size, object max_line_size) except -1:
        cdef Py_ssize_t limit = limit_of("max_event_size", max_event_size)
        cdef Py_ssize_t line_limit = limit_of("max_line_size", max_line_size)
        if self._busy:
            raise ReentrantCallError("SSEDecoder called while one of its calls was running")
        self._limit = limit
        self._max_obj = max_event_size
        self._line_limit = line_limit
        self._max_line_obj = max_line_size
        self.restart()
        return 0

    cdef int restart(self) except -1:
        """Forget the stream read so far (its limits stay): the decoder of a new stream."""
        if self._busy:
            raise ReentrantCallError("SSEDecoder called while one of its calls was running")
        self.last_event_id = None
        self.retry = None
        self._base = 0
        self._count = 0
        self._failed = None
        self._end_carry()
        self._block_off = 0
        self._line_rel = 0
        self._skip_lf = False
        self._ngaps = 0
        self._bom_done = False
        self._bom_n = 0
        self._id_buffer = None
        self._type_key = None
        self._type_str = None
        self._reset_block()
        return 0

    @property
    def max_event_size(self):
        return self._max_obj

    @property
    def max_line_size(self):
        return self._max_line_obj

    @property
    def events_dispatched(self):
        return self._count

    @property
    def offset(self):
        """Bytes consumed so far (the stream offset of the next byte)."""
        return self._base

    cpdef list feed(self, object piece):
        """The events ``piece`` completes.

        An over-size block raises :class:`EventTooLargeError` (an over-long line
        :class:`LimitExceededError`); when events were completed earlier in the
        same piece they are returned first and the error is raised by the next
        call (and by every call after it).
        """
        cdef list out = []
        self._feed(piece, out, True)
        return out

    cpdef list feed_payloads(self, object piece):
        """Like :meth:`feed` but returns only what a chunk decoder needs, without raw bytes."""
        cdef list out = []
        self._feed(piece, out, False)
        return out

    cdef int feed_into(self, object piece, PayloadSink sink) except -1:
        """Like :meth:`feed_payloads`, handing each payload to ``sink`` as it completes.

        Returns how many payloads it handed over; an over-size block is raised
        at once only when there were none."""
        cdef Py_ssize_t before = self._count
        if self._busy:  # checked here too: _sink belongs to the running call
            raise ReentrantCallError("SSEDecoder called while one of its calls was running")
        self._sink = sink
        try:
            self._feed(piece, None, False)
        except LimitExceededError:
            if self._count == before:
                raise
        finally:
            self._sink = None
        return <int>(self._count - before)

    def close(self):
        """End of stream: an unterminated event is discarded, as WHATWG says."""
        self.end()
        return []

    cdef int end(self) except -1:
        """``close`` without its list: a merger ends its tokenizer once per stream."""
        if self._failed is not None:
            raise self._failed
        if self._busy:
            raise ReentrantCallError("SSEDecoder called while one of its calls was running")
        self._reset_block()
        self._end_carry()
        self._line_rel = 0
        self._skip_lf = False
        return 0

    cdef void _reset_block(self) noexcept:
        self._has_data = False
        self._multi = False
        self._event_len = 0
        if self._block_retry is not None:
            self._block_retry = None

    cdef void _end_carry(self) noexcept:
        self._buf.len = 0
        self._ngaps = 0
        if self._buf.cap > SHRINK_ABOVE:
            _release(&self._buf)

    cdef int _feed(self, object piece, list out, bint with_raw) except -1:
        cdef Py_buffer view
        cdef bytes data
        if not PyBytes_CheckExact(piece):
            if PyByteArray_CheckExact(piece) or PyMemoryView_Check(piece) or _plain_buffer(piece):
                try:
                    PyObject_GetBuffer(piece, &view, PyBUF_SIMPLE)
                except Exception:
                    pass  # e.g. a strided view: bytes() below copies it, or raises as the twin does
                else:
                    try:
                        self._read(<const char*>view.buf, view.len, out, with_raw)
                    finally:
                        PyBuffer_Release(&view)
                    return 0
            piece = bytes(piece)
        data = <bytes>piece
        return self._read(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), out, with_raw)

    cdef int _read(self, const char* p, Py_ssize_t n, list out, bint with_raw) except -1:
        """Scan ``p[:n]``. A limit error with events before it is left for the next call
        (in ``out``, or counted by ``feed_into``); any exception that stops the scan
        fails the decoder, whose carried block may then be half-updated."""
        cdef Py_ssize_t before = self._count
        if self._failed is not None:
            raise self._failed
        if self._busy:
            raise ReentrantCallError("SSEDecoder called while one of its calls was running")
        self._busy = True
        try:
            self._begin(p, n, out, with_raw)
        except LimitExceededError:
            if self._count == before:
                raise
        except BaseException as exc:
            if self._failed is None:
                self._failed = exc
            raise
        finally:
            self._busy = False
        return 0

    cdef int _begin(self, const char* p, Py_ssize_t n, list out, bint with_raw) except -1:
        """Hold back a possible BOM prefix, skip one whole BOM, then scan."""
        cdef bytes joined
        cdef Py_ssize_t start = 0
        cdef char* q
        if not self._bom_done:
            if self._bom_n:
                joined = PyBytes_FromStringAndSize(NULL, self._bom_n + n)
                q = PyBytes_AS_STRING(joined)
                memcpy(q, self._bom, <size_t>self._bom_n)
                if n:
                    memcpy(q + self._bom_n, p, <size_t>n)
                p = q
                n += self._bom_n
                self._base -= self._bom_n
            if n < 3 and memcmp(p, BOM, <size_t>n) == 0:
                if n:
                    memcpy(self._bom, p, <size_t>n)
                self._bom_n = n
                self._base += n
                return 0
            self._bom_done = True
            self._bom_n = 0
            if n >= 3 and memcmp(p, BOM, 3) == 0:
                start = 3
        return self._scan(p, n, start, out, with_raw)

    cdef int _scan(self, const char* p, Py_ssize_t n, Py_ssize_t start, list out, bint with_raw) except -1:
        cdef Py_ssize_t base = self._base
        cdef Py_ssize_t entry_len = self._buf.len
        # span: the current block began in an earlier read and lives in _buf,
        # which holds it up to piece index seg. Otherwise it lives in the
        # piece from seg on. bstart: where the current block starts in this
        # piece (start while the block carried over from earlier reads lasts).
        cdef bint span = entry_len > 0
        cdef Py_ssize_t pos = start
        cdef Py_ssize_t seg = start
        cdef Py_ssize_t bstart = start
        cdef Py_ssize_t partial = -1  # offset in _buf of an unfinished line from the last read
        cdef Py_ssize_t lf_next = -1  # next LF at or after pos, or n (stale when < pos)
        cdef Py_ssize_t cr_next
        cdef bint has_cr
        cdef Py_ssize_t eol, nxt, e, vs, size, boff, line_rel, line_len, eol_rel, gap_start
        cdef const char* blockp

        if self._skip_lf and pos < n:
            self._skip_lf = False
            if p[pos] == b'\n':
                pos += 1
                if not span:  # the LF of a CRLF that ended a block: the next begins after it
                    seg = bstart = pos
        if span and self._line_rel < entry_len:
            partial = self._line_rel
        cr_next = _find(p, pos, n, b'\r')
        has_cr = cr_next < n

        while pos < n:
            # A whole block of one "data:" line ending in a blank line, taken in one step.
            if (not span and pos == bstart and n - pos > 6 and p[pos] == b'd'
                    and memcmp(p + pos, b"data:", 5) == 0):
                if lf_next < pos:
                    lf_next = _find(p, pos + 5, n, b'\n')
                e = lf_next
                if e + 1 < n and p[e + 1] == b'\n':
                    if cr_next < pos:
                        cr_next = _find(p, pos, n, b'\r')
                    if cr_next > e:
                        vs = pos + 5
                        if vs < e and p[vs] == b' ':
                            vs += 1
                        nxt = e + 2
                        if self.last_event_id is not self._id_buffer:
                            self.last_event_id = self._id_buffer
                        size = nxt - pos
                        if e - pos > self._line_limit:  # checked as the general path does
                            self._line_too_long(base + pos, e + 1 - pos, base + pos)
                        if size > self._limit:
                            self._too_large(size, base + pos)
                        self._emit_at(out, with_raw, None, p + vs, e - vs, p + pos, size, base + pos,
                                      base + vs)
                        pos = seg = bstart = nxt
                        continue

            # A whole block of one "event:" line, one "data:" line and a blank line, within the
            # limits (anything else, a CR included, is left to the general path below).
            if (not span and pos == bstart and n - pos > 8 and p[pos] == b'e' and p[pos + 1] == b'v'
                    and p[pos + 2] == b'e' and p[pos + 3] == b'n' and p[pos + 4] == b't'
                    and p[pos + 5] == b':'):
                if cr_next < pos:
                    cr_next = _find(p, pos, n, b'\r')
                nxt = self._event_block(out, with_raw, p, pos, n, cr_next)
                if nxt > 0:
                    pos = seg = bstart = nxt
                    continue

            if lf_next < pos:
                lf_next = _find(p, pos, n, b'\n')
            if has_cr:
                if cr_next < pos:
                    cr_next = _find(p, pos, n, b'\r')
                if cr_next < lf_next:
                    eol = cr_next
                    nxt = eol + 1
                    if nxt < n:
                        if p[nxt] == b'\n':
                            nxt += 1
                    else:
                        self._skip_lf = True
                elif lf_next < n:
                    eol = lf_next
                    nxt = eol + 1
                else:
                    break
            else:
                if lf_next >= n:
                    break
                eol = lf_next
                nxt = eol + 1

            if span:
                if partial >= 0:
                    line_rel = partial
                    partial = -1
                else:
                    line_rel = self._buf.len + (pos - seg)
                eol_rel = self._buf.len + (eol - seg)
                _append(&self._buf, p + seg, nxt - seg)
                seg = nxt
                blockp = self._buf.ptr
                line_len = eol_rel - line_rel
            else:
                line_rel = pos - seg
                line_len = eol - pos
                blockp = p + seg

            if line_len == 0:
                if self.last_event_id is not self._id_buffer:
                    self.last_event_id = self._id_buffer
                if span:
                    size = self._buf.len
                    boff = self._block_off
                else:
                    size = nxt - seg
                    boff = base + seg
                if size > self._limit:
                    self._too_large(size, boff)
                if self._has_data:
                    self._dispatch(out, with_raw, blockp, size, boff)
                self._reset_block()
                if span:
                    self._end_carry()
                    span = False
                seg = bstart = nxt
            else:
                if line_len > self._line_limit:
                    if span:
                        self._line_too_long(self._block_off + line_rel, self._buf.len, self._block_off)
                    else:
                        self._line_too_long(base + pos, nxt - seg, base + seg)
                self._field(blockp, line_rel, line_len)
            pos = nxt

        if n > bstart:
            if span:
                size = self._buf.len + (n - seg)
                boff = self._block_off
                line_rel = partial if partial >= 0 else self._buf.len + (pos - seg)
                gap_start = entry_len
            else:
                size = n - seg
                boff = base + seg
                line_rel = pos - seg
                gap_start = 0
            if size - line_rel > self._line_limit:
                self._line_too_long(boff + line_rel, size, boff)
            if size > self._limit:
                self._too_large(size, boff)
            _append(&self._buf, p + seg, n - seg)
            self._block_off = boff
            self._line_rel = line_rel
            if not with_raw:
                self._add_gap(gap_start, self._buf.len)
        self._base = base + n
        return 0

    cdef Py_ssize_t _event_block(self, list out, bint with_raw, const char* p, Py_ssize_t pos,
                                 Py_ssize_t n, Py_ssize_t cr_next) except -1:
        """Dispatch the block at ``p[pos]`` (an ``event:`` line) when it is one ``event:`` line,
        one ``data:`` line and a blank line, with no CR (``cr_next``: the first at or after
        ``pos``) and within the limits: the end of the block then, else 0 (nothing done)."""
        cdef Py_ssize_t vs = pos + 6, e, d, ds, de, klen = -1
        cdef bytes key = self._type_key
        cdef object event = None
        if p[vs] == b' ':
            vs += 1
        if key is not None:  # the event type of the last event, without looking for the LF
            klen = PyBytes_GET_SIZE(key)
            if (n - vs > klen and p[vs + klen] == b'\n'
                    and memcmp(p + vs, PyBytes_AS_STRING(key), <size_t>klen) == 0):
                event = self._type_str
            else:
                klen = -1
        e = vs + klen if klen >= 0 else _find(p, vs, n, b'\n')
        d = e + 1
        if n - d <= 6 or not (p[d] == b'd' and p[d + 1] == b'a' and p[d + 2] == b't' and p[d + 3] == b'a'
                              and p[d + 4] == b':'):
            return 0
        ds = d + 5
        if p[ds] == b' ':
            ds += 1
        de = _find(p, ds, n, b'\n')
        if de + 1 >= n or p[de + 1] != b'\n' or cr_next < de:
            return 0
        if e - pos > self._line_limit or de - d > self._line_limit or de + 2 - pos > self._limit:
            return 0
        if self.last_event_id is not self._id_buffer:
            self.last_event_id = self._id_buffer
        if klen < 0 and e > vs:
            event = self._event_type(p + vs, e - vs)
        self._emit_at(out, with_raw, event, p + ds, de - ds, p + pos, de + 2 - pos, self._base + pos,
                      self._base + ds)
        return de + 2

    cdef int _field(self, const char* blockp, Py_ssize_t rel, Py_ssize_t size) except -1:
        cdef const char* line = blockp + rel
        cdef const char* value
        cdef const char* colon
        cdef Py_ssize_t name_len, vs, vlen, i
        cdef long long number
        if line[0] == b':':
            return 0
        colon = <const char*>memchr(line, b':', <size_t>size)
        if colon == NULL:
            name_len = size
            vs = size
        else:
            name_len = colon - line
            vs = name_len + 1
            if vs < size and line[vs] == b' ':
                vs += 1
        value = line + vs
        vlen = size - vs
        if name_len == 4 and memcmp(line, b"data", 4) == 0:
            if not self._has_data:
                self._has_data = True
                self._data_rel = rel + vs
                self._data_len = vlen
            else:
                if not self._multi:
                    self._multi = True
                    self._data.len = 0
                    _append(&self._data, blockp + self._data_rel, self._data_len)
                _reserve(&self._data, vlen + 1)
                self._data.ptr[self._data.len] = b'\n'
                self._data.len += 1
                _append(&self._data, value, vlen)
        elif name_len == 5 and memcmp(line, b"event", 5) == 0:
            self._event_rel = rel + vs
            self._event_len = vlen
        elif name_len == 2 and line[0] == b'i' and line[1] == b'd':
            if memchr(value, 0, <size_t>vlen) == NULL:
                self._id_buffer = PyUnicode_DecodeUTF8(value, vlen, "replace")
        elif name_len == 5 and memcmp(line, b"retry", 5) == 0:
            if vlen == 0 or vlen > MAX_RETRY_DIGITS:
                return 0
            number = 0
            for i in range(vlen):
                if value[i] < b'0' or value[i] > b'9':
                    return 0
                number = number * 10 + (value[i] - 48)
            self._block_retry = PyLong_FromLongLong(number)
            self.retry = self._block_retry
        return 0

    cdef int _dispatch(self, list out, bint with_raw, const char* blockp, Py_ssize_t size,
                       Py_ssize_t boff) except -1:
        cdef object payload
        cdef object event = None
        if self._event_len:
            event = self._event_type(blockp + self._event_rel, self._event_len)
        if not self._multi:
            return self._emit_at(out, with_raw, event, blockp + self._data_rel, self._data_len, blockp,
                                 size, boff, boff + self._data_rel)
        payload = PyBytes_FromStringAndSize(self._data.ptr, self._data.len)
        if self._data.cap > SHRINK_ABOVE:
            _release(&self._data)
        return self._emit(out, with_raw, event, payload, blockp, size, boff, boff + self._data_rel)

    cdef int _emit_at(self, list out, bint with_raw, object event, const char* d, Py_ssize_t dn,
                      const char* blockp, Py_ssize_t size, Py_ssize_t boff,
                      Py_ssize_t data_off) except -1:
        """:meth:`_emit` of the payload ``d[:dn]``, handed to a sink without a ``bytes``."""
        if with_raw or self._sink is None:
            return self._emit(out, with_raw, event, data_value(d, dn), blockp, size, boff, data_off)
        self._sink.payload_at(event, d, dn, data_off, self._count)
        self._count += 1
        return 0

    cdef int _emit(self, list out, bint with_raw, object event, object payload,
                   const char* blockp, Py_ssize_t size, Py_ssize_t boff,
                   Py_ssize_t data_off) except -1:
        cdef object raw
        if with_raw:
            if self._ngaps:
                raw = self._raw_without_gaps(blockp, size)
            else:
                raw = PyBytes_FromStringAndSize(blockp, size)
            if DIRECT_EVENTS:
                out.append(ssed_event_new(event, payload, self.last_event_id, self._block_retry, raw,
                                          PyLong_FromSsize_t(boff), PyLong_FromSsize_t(data_off)))
            else:
                out.append(ServerSentEvent(event, payload, self.last_event_id, self._block_retry, raw,
                                           boff, data_off))
        elif self._sink is not None:
            self._sink.payload(event, payload, data_off, self._count)
        else:
            out.append((event, payload, data_off, self._count))
        self._count += 1
        return 0

    cdef object _event_type(self, const char* s, Py_ssize_t size):
        cdef bytes key = self._type_key
        if (key is not None and PyBytes_GET_SIZE(key) == size
                and memcmp(PyBytes_AS_STRING(key), s, <size_t>size) == 0):
            return self._type_str
        value = PyUnicode_DecodeUTF8(s, size, "replace")
        if size <= 64:
            self._type_key = PyBytes_FromStringAndSize(s, size)
            self._type_str = value
        return value

    cdef int _add_gap(self, Py_ssize_t start, Py_ssize_t end) except -1:
        cdef Py_ssize_t* gaps
        if end <= start:
            return 0
        if self._ngaps and self._gaps[2 * self._ngaps - 1] == start:
            self._gaps[2 * self._ngaps - 1] = end
            return 0
        if self._ngaps == self._gaps_cap:
            gaps = <Py_ssize_t*>PyMem_Realloc(
                self._gaps, <size_t>(2 * (self._gaps_cap + 8)) * sizeof(Py_ssize_t)
            )
            if gaps == NULL:
                raise MemoryError()
            self._gaps = gaps
            self._gaps_cap += 8
        self._gaps[2 * self._ngaps] = start
        self._gaps[2 * self._ngaps + 1] = end
        self._ngaps += 1
        return 0

    cdef object _raw_without_gaps(self, const char* blockp, Py_ssize_t size):
        cdef Py_ssize_t i, keep = size, at = 0, done = 0
        cdef char* q
        for i in range(self._ngaps):
            keep -= self._gaps[2 * i + 1] - self._gaps[2 * i]
        raw = PyBytes_FromStringAndSize(NULL, keep)
        q = PyBytes_AS_STRING(raw)
        for i in range(self._ngaps):
            memcpy(q + done, blockp + at, <size_t>(self._gaps[2 * i] - at))
            done += self._gaps[2 * i] - at
            at = self._gaps[2 * i + 1]
        memcpy(q + done, blockp + at, <size_t>(size - at))
        return raw

    cdef int _too_large(self, Py_ssize_t size, Py_ssize_t offset) except -1:
        self._failed = EventTooLargeError(
            f"event block larger than max_event_size={self._max_obj} bytes", offset, self._count,
            "max_event_size", self._max_obj,
        )
        raise self._failed

    cdef int _line_too_long(self, Py_ssize_t offset, Py_ssize_t block_size,
                            Py_ssize_t block_offset) except -1:
        """An over-long line at ``offset``. When its block (``block_size`` bytes so far) is
        over ``max_event_size`` too, the limit passed first in the stream is the error raised
        (the event's on a tie), so that the error does not depend on how the stream is split."""
        if block_size > self._limit and block_offset + self._limit <= offset + self._line_limit:
            self._too_large(block_size, block_offset)
        self._failed = LimitExceededError(
            f"line longer than max_line_size={self._max_line_obj} bytes", offset, self._count,
            "max_line_size", self._max_line_obj,
        )
        raise self._failed


cdef SSEDecoder new_decoder(object max_event_size, object max_line_size):
    """``SSEDecoder(max_event_size, max_line_size)``, without a Python call (a merger makes one per
    stream)."""
    cdef SSEDecoder decoder = SSEDecoder.__new__(SSEDecoder)
    decoder.setup(max_event_size, max_line_size)
    return decoder
