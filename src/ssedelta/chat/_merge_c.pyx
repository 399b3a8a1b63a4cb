# cython: language_level=3
"""Delta merger and chunk decoder, compiled: the native twin of :mod:`ssedelta.chat._merge_py`.

:class:`MergeSink` receives each payload from the native tokenizer and hands it to the chunk
scanner (:mod:`._scanner_c`), which merges it into the same choice, tool and extras structures
as the twin; a payload the scanner does not take goes the twin's path. The merger's state is C
fields of :class:`Merger` (the top-level ones of the scanner's ``Top``), under the twin's
attribute names, so both paths read and set the same fields. The finished choices are built
here slot by slot (tool calls, annotations, audio and function call included), their extras
finished from the merge state's types as the twin's ``finish_value`` does. :class:`ChunkDecoder`
builds chunk objects with :mod:`._objects_c`.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy
from cpython.object cimport PyObject, PyTypeObject
from libc.string cimport memcmp

from .. import _api, _build_c
from . import _merge_py as _py
from . import models as _m
from .._json_c cimport utf8_text
from .._payload import SKIP
from .._schema import SchemaError as _SchemaError
from .._slots cimport (
    ssd_has_dealloc,
    ssd_hook_dealloc,
    ssd_hook_setattr,
    ssd_is_tracked,
    ssd_put,
    ssd_put_noting,
    ssd_settle_known,
    ssd_settle_tree,
)
from .._sse_c cimport PayloadSink, SSEDecoder, new_decoder
from .._sse_py import DEFAULT_MAX_LINE_SIZE
from ..errors import StreamFormatError as _StreamFormatError, UpstreamError as _UpstreamError
from . import _objects_c, _scanner_c
from ._columns_c cimport TextBuf
from ._layout_c cimport Layout
from ._objects_c cimport ObjectDecoder
from ._scanner_c cimport Choice, Scanner, Tool, Top

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object o)

cdef object _SKIP = SKIP
cdef object _ChoiceLogprobs = _m.CreateChatCompletionStreamResponseChoicesInnerLogprobs
cdef dict DEFAULT_RULES = _py.DEFAULT_RULES
cdef object DEFAULT_MAX_CHOICES = _py.DEFAULT_MAX_CHOICES
cdef object DEFAULT_MAX_TOOL_CALLS = _py.DEFAULT_MAX_TOOL_CALLS
cdef object DEFAULT_MAX_MERGED_SIZE = _py.DEFAULT_MAX_MERGED_SIZE
cdef object DEFAULT_MAX_EXTRAS_KEYS = _py.DEFAULT_MAX_EXTRAS_KEYS
cdef Py_ssize_t MAX_CHOICES = DEFAULT_MAX_CHOICES, MAX_TOOL_CALLS = DEFAULT_MAX_TOOL_CALLS
cdef Py_ssize_t MAX_EXTRAS_KEYS = DEFAULT_MAX_EXTRAS_KEYS, MAX_MERGED_SIZE = DEFAULT_MAX_MERGED_SIZE
cdef object MAX_EVENT_SIZE = _py.DEFAULT_MAX_EVENT_SIZE
cdef object MAX_LINE_SIZE = DEFAULT_MAX_LINE_SIZE


# ------------------------------------------------------------------ the public classes

from contextlib import nullcontext as _nullcontext
from operator import attrgetter, itemgetter

from ..errors import ReentrantCallError as _ReentrantCallError

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)
    bint PyByteArray_CheckExact(object o)
    bint PyMemoryView_Check(object o)

cdef object ReentrantCallError = _ReentrantCallError


# Attributes any code may replace (``_sse``, ``_sink``) are checked before they are read as C types.
cdef inline MergeSink sink_of(Merger merger):
    sink = merger._sink
    if type(sink) is not MergeSink:
        raise TypeError(f"DeltaMerger._sink must be the merger's own MergeSink, not {type(sink).__name__}")
    return <MergeSink>sink


cdef MergeSink enter(Merger merger):
    """The merger's sink, marked busy: refuses a call into a merger while another runs."""
    cdef MergeSink sink = sink_of(merger)
    if sink.busy:
        raise ReentrantCallError("DeltaMerger called while one of its calls was running")
    sink.busy = True
    sink.scanner.last_choice = None  # Python code may have changed the choices since the last call
    return sink


cdef SSEDecoder sse_of(object owner, object sse):
    if type(sse) is not SSEDecoder:
        raise TypeError(f"{type(owner).__name__}._sse must be a native SSEDecoder, not {type(sse).__name__}")
    return <SSEDecoder>sse


cdef object readable(object piece):
    """``piece``, or its bytes when it is not bytes-like: a wrong type raises before anything is read."""
    if PyBytes_CheckExact(piece) or PyByteArray_CheckExact(piece) or PyMemoryView_Check(piece):
        return piece
    return bytes(piece)


cdef class Merger(Top):
    """The native merger: its state in C fields under the twin's attribute names (the top-level
    ones those of :class:`Top`, which the scanner sets), so that the twin's methods
    :class:`DeltaMerger` inherits (``add``, a payload the scanner does not take) read and set the
    same state the native paths do. Each starts as the twin's class attribute does (``None``, 0,
    ``False``) and, as the twin's, is not set again by ``__init__``; the options are the twin's
    class attributes until one differs."""

    cdef public object _sse, _sink  # any object may be put here: checked where read
    cdef public object _choices
    cdef public object _failed, _error
    cdef public Py_ssize_t chunks
    cdef public bint done

    def __init__(self, max_event_size=_py.DEFAULT_MAX_EVENT_SIZE, scalar_keys=(), append_keys=(), *,
                 max_line_size=DEFAULT_MAX_LINE_SIZE, max_choices=_py.DEFAULT_MAX_CHOICES,
                 max_tool_calls=_py.DEFAULT_MAX_TOOL_CALLS, max_merged_size=_py.DEFAULT_MAX_MERGED_SIZE,
                 max_extras_keys=_py.DEFAULT_MAX_EXTRAS_KEYS):
        # The twin's __init__ but for its guard: the sink's busy flag refuses re-entry here.
        cdef MergeSink sink
        cdef dict choices = {}
        cdef bint defaults = not (
            type(scalar_keys) is not tuple or type(append_keys) is not tuple or scalar_keys or append_keys
            or max_choices is not DEFAULT_MAX_CHOICES
            or max_tool_calls is not DEFAULT_MAX_TOOL_CALLS
            or max_merged_size is not DEFAULT_MAX_MERGED_SIZE
            or max_extras_keys is not DEFAULT_MAX_EXTRAS_KEYS)
        if defaults and type(self) is DeltaMerger:
            start_default(self, max_event_size, max_line_size)
            return
        self._sse = new_decoder(max_event_size, max_line_size)
        if not defaults:
            self._set_options(
                scalar_keys, append_keys, max_choices, max_tool_calls, max_merged_size, max_extras_keys
            )
        self._choices = choices
        self._extras = {}
        self._sink = sink = new_sink()
        sink.attach(self)

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
        return finish_merger(self)

    def snapshot(self):
        """The completion merged so far (``finish_reason`` may be ``None``); never raises."""
        return completion_of(self)

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
        return feed_merger(self, piece)


class DeltaMerger(Merger, _py.DeltaMerger):
    __doc__ = _py.DeltaMerger.__doc__

    _guard = _nullcontext()  # add and finish run inside the sink's busy flag


cdef object finish_merger(Merger self):
    """``Merger.finish``."""
    cdef MergeSink sink = enter(self)
    try:
        if self._failed is not None:
            raise self._failed
        if not self.done:
            sse_of(self, self._sse).end()
        # A subclass may override snapshot (the twin's finish calls it); this class's is C.
        completion = completion_of(self) if type(self) is DeltaMerger else self.snapshot()
        error = self._error
        if error is not None:
            raise _UpstreamError(error.error, error.offset, error.event_index, partial=completion)
        return completion
    finally:
        sink.busy = False


cdef object feed_merger(Merger self, object piece):
    """``Merger.feed``."""
    cdef MergeSink sink
    cdef SSEDecoder sse = sse_of(self, self._sse)
    piece = readable(piece)
    if self._failed is not None:
        raise self._failed
    if self.done:
        return 0
    sink = enter(self)
    sink.merged = 0
    sink.stopped = False
    sink.merger = self  # only while feeding: a lasting reference would be a cycle
    sink.fed_bytes = PyBytes_CheckExact(piece)
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


cdef inline MergeSink new_sink():
    cdef MergeSink sink = MergeSink.__new__(MergeSink)
    sink.scanner = Scanner.__new__(Scanner)
    return sink


cdef int start_default(Merger merger, object max_event_size, object max_line_size) except -1:
    """``Merger.__init__`` of a :class:`DeltaMerger` whose merge options are the defaults."""
    cdef dict choices = {}
    cdef MergeSink sink = new_sink()
    merger._sse = new_decoder(max_event_size, max_line_size)
    merger._choices = choices
    merger.tx_lazy = True  # most streams have no unknown top-level keys
    merger._sink = sink
    sink.attach_defaults(choices)
    return 0


cdef object _pieces = _api.pieces
cdef tuple NO_ARGS = ()


cdef inline object new_object(type cls):
    """``cls.__new__(cls)`` without the method call: its ``tp_new`` directly."""
    return (<PyTypeObject*>cls).tp_new(cls, <PyObject*>NO_ARGS, NULL)


cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define SSD_KEEP_MERGER 0
    #else
    #define SSD_KEEP_MERGER 1
    #endif
    """
    bint SSD_KEEP_MERGER

# The merger of the default options the last merge() call was done with, reset, while no call has
# taken it (not where threads run without the interpreter lock: two calls could take it at once).
cdef Merger free_merger = None


cdef Merger default_merger():
    """A merger of the default options for ``merge()``: the free one, taken (a call made meanwhile,
    by the source's iterator or another thread, makes its own), else a new one."""
    global free_merger
    cdef Merger merger = free_merger
    if merger is not None:
        free_merger = None
        return merger
    merger = <Merger>new_object(DeltaMerger)
    start_default(merger, MAX_EVENT_SIZE, MAX_LINE_SIZE)
    return merger


cdef int give_back(Merger merger) except -1:
    """Reset ``merger``, whose stream was merged without an error, and keep it as the free one."""
    global free_merger
    cdef MergeSink sink
    if not SSD_KEEP_MERGER:
        return 0
    sink = sink_of(merger)
    sse_of(merger, merger._sse).restart()
    sink.restart()
    sink.choices.clear()  # the merger's, as start_default made it
    merger._id = merger._model = merger._created = merger._service_tier = merger._fingerprint = None
    merger._usage = merger._groq_usage = merger._moderation = None
    merger.tx = None
    merger.tx_lazy = True
    merger.chunks = 0
    merger.done = False
    free_merger = merger
    return 0


cdef object merged(object source, dict options):
    """``_api.merge`` over :class:`DeltaMerger`: a merger made with the default options is set up
    and driven in C, and kept for the next call."""
    cdef Merger merger
    if options:
        merger = DeltaMerger(**options)
    else:
        merger = default_merger()
    # A list, a tuple or bytes is read without a generator: short streams are merged by the million.
    kind = type(source)
    if kind is bytes:
        feed_merger(merger, source)
    elif kind is list or kind is tuple:
        for piece in source:
            feed_merger(merger, piece.encode() if isinstance(piece, str) else piece)
            if merger.done:
                break
    else:
        for piece in _pieces(source):
            feed_merger(merger, piece)
            if merger.done:
                break
    completion = finish_merger(merger)
    if not options:
        give_back(merger)
    return completion


cdef extern from "Python.h":
    ctypedef struct PyMethodDef:
        const char* ml_name
        void* ml_meth
        int ml_flags
        const char* ml_doc
    int METH_FASTCALL, METH_KEYWORDS
    object PyCFunction_NewEx(PyMethodDef* ml, PyObject* self, object module)
    PyObject* PyTuple_GET_ITEM(object t, Py_ssize_t i)
    Py_ssize_t PyTuple_GET_SIZE(object t)


cdef object merge_call(PyObject* module, PyObject** args, Py_ssize_t nargs, PyObject* kwnames):
    """``merge(source, **options)`` called with the vector of its arguments: a call with no options
    makes no dict of them."""
    cdef dict options = None
    cdef Py_ssize_t k
    if kwnames != NULL and PyTuple_GET_SIZE(<object>kwnames):
        options = {}
        for k in range(PyTuple_GET_SIZE(<object>kwnames)):
            options[<object>PyTuple_GET_ITEM(<object>kwnames, k)] = <object>args[nargs + k]
    if nargs == 1:
        return merged(<object>args[0], options)
    if nargs == 0 and options is not None and "source" in options:
        return merged(options.pop("source"), options)
    raise TypeError(f"merge() takes exactly 1 positional argument ({nargs} given)")


cdef bytes MERGE_DOC = (
    b"merge(source, **options)\n--\n\n"
    b"``_api.merge`` over :class:`DeltaMerger`, with no Python frame of its own: a merger made with\n"
    b"the default options is set up and driven in C, and kept for the next call."
)
cdef PyMethodDef MERGE_DEF
MERGE_DEF.ml_name = "merge"
MERGE_DEF.ml_meth = <void*>merge_call
MERGE_DEF.ml_flags = METH_FASTCALL | METH_KEYWORDS
MERGE_DEF.ml_doc = MERGE_DOC
merge = PyCFunction_NewEx(&MERGE_DEF, NULL, __name__)


@cython.final
cdef class MergeSink(PayloadSink):
    """Merges each payload as the tokenizer completes it."""

    cdef Merger merger  # the merger being fed, during a feed
    cdef bint busy  # a feed is running
    cdef bint fed_bytes  # the piece being fed is bytes: no Python code can change what it holds
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
        self.scanner = Scanner.__new__(Scanner)

    cdef attach_defaults(self, dict choices):
        """``attach`` for a merger made with the default options."""
        self.choices = choices
        self.rules = DEFAULT_RULES
        self.max_choices = MAX_CHOICES
        self.max_tools = MAX_TOOL_CALLS
        self.max_keys = MAX_EXTRAS_KEYS
        self.max_read = MAX_MERGED_SIZE

    cdef int restart(self) except -1:
        """Forget the stream merged (the options stay), as its merger is reset."""
        self.scanner.reset()
        self.merger = None
        self.merged = 0
        self.stopped = False
        self.error = None
        self.ntools = self.nkeys = self.read = 0
        return 0

    cdef attach(self, merger):
        self.choices = merger._choices
        self.rules = merger._rules
        self.max_choices = merger._max_choices
        self.max_tools = merger._max_tool_calls
        self.max_keys = merger._max_extras_keys
        self.max_read = merger._max_merged_size

    cdef int payload_at(self, object event, const char* p, Py_ssize_t n, Py_ssize_t data_offset,
                        Py_ssize_t index) except -1:
        # The bytes at ``p`` are the piece's or the tokenizer's buffer: while a feed runs, only the
        # tokenizer changes the latter and it refuses calls, and a piece of bytes never changes.
        if not self.fed_bytes:
            return PayloadSink.payload_at(self, event, p, n, data_offset, index)
        return self.merge_at(event, <const unsigned char*>p, n, None, data_offset, index)

    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset, Py_ssize_t index) except -1:
        return self.merge_at(event, <const unsigned char*>PyBytes_AS_STRING(payload),
                             PyBytes_GET_SIZE(payload), payload, data_offset, index)

    cdef int merge_at(self, object event, const unsigned char* p, Py_ssize_t n, bytes payload,
                      Py_ssize_t data_offset, Py_ssize_t index) except -1:
        """Merge the payload ``p[:n]``: ``payload`` when that is not None, else made when needed."""
        cdef Scanner scanner = self.scanner
        cdef Py_ssize_t at
        cdef int status
        self.read += n  # every payload counts, merged or not
        if self.stopped:
            return 0
        if self.read > self.max_read:
            self.error = self.merger._too_much(data_offset, index)
            self.stopped = True
            return 0
        if n == 6 and memcmp(p, b"[DONE]", 6) == 0:
            self.merger.done = True  # as the twin's path: the stream ends here, with any event name
            self.stopped = True
            return 0
        if event is None and n and p[0] == 123:
            at = scanner.scan(p, n, payload)
            # A payload that may go past a limit takes the twin's path, which raises exactly there.
            if (at >= 0 and PyDict_GET_SIZE(self.choices) + scanner.nchoices <= self.max_choices
                    and self.ntools + scanner.ntools <= self.max_tools
                    and self.nkeys + scanner.key_bound <= self.max_keys):
                scanner.fast += 1
                scanner.apply(self.merger, self.choices, self.rules)
                self.ntools += scanner.new_tools
                self.nkeys += scanner.new_keys
                if at > 0 and not scanner.replayed:
                    scanner.remember_header(at)
                elif at > 0:
                    # A whole payload's tape again: the header held still means "merged" when the
                    # payload begins with it (its members were merged again), else no longer.
                    header = scanner.header
                    if header is not None and not (
                            n >= scanner.header_len
                            and memcmp(p, PyBytes_AS_STRING(header), scanner.header_len) == 0):
                        scanner.header = None
                elif not scanner.header_hit:
                    # No "choices": the header members may have changed since (a new
                    # system_fingerprint, say), so the old header no longer means "merged".
                    scanner.header = None
                self.merged += 1
                return 0
        scanner.header = None
        scanner.last_choice = None
        scanner.slow += 1
        if payload is None:
            payload = PyBytes_FromStringAndSize(<const char*>p, n)
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


# ------------------------------------------------------------------ finished completions, as objects

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
cdef Py_ssize_t M_TOOL_CALLS = _MESSAGE_KEYS.index("tool_calls")
cdef Py_ssize_t M_ANNOTATIONS = _MESSAGE_KEYS.index("annotations")
cdef Py_ssize_t M_AUDIO = _MESSAGE_KEYS.index("audio")
cdef Py_ssize_t M_FUNCTION_CALL = _MESSAGE_KEYS.index("function_call")
cdef Layout L_TOOL_CALL = Layout(_m.ChatCompletionMessageToolCall)
cdef Py_ssize_t TC_ID = _m.ChatCompletionMessageToolCall._keys.index("id")
cdef Py_ssize_t TC_TYPE = _m.ChatCompletionMessageToolCall._keys.index("type")
cdef Py_ssize_t TC_FUNCTION = _m.ChatCompletionMessageToolCall._keys.index("function")
cdef Layout L_TOOL_FUNCTION = Layout(_m.ChatCompletionMessageToolCallFunction)
cdef Py_ssize_t TF_NAME = _m.ChatCompletionMessageToolCallFunction._keys.index("name")
cdef Py_ssize_t TF_ARGUMENTS = _m.ChatCompletionMessageToolCallFunction._keys.index("arguments")
cdef object _Annotation = _m.ChatCompletionResponseMessageAnnotationsInner
cdef object _Audio = _m.ChatCompletionResponseMessageAudio
cdef object _FunctionCall = _m.ChatCompletionResponseMessageFunctionCall
cdef object _from_dict = _build_c.from_dict
cdef object SchemaError = _SchemaError
cdef object _finish_value = _py.finish_value
cdef object _Str = _py._Str
cdef object _Merged = _py._Merged
cdef object _Indexed = _py._Indexed
cdef object _PartList = _py._PartList
cdef object _by_index = itemgetter(0)
cdef object _tool_index = attrgetter("index")
cdef int MAX_MERGE_DEPTH = _py.MAX_MERGE_DEPTH


cdef object finished(object value, int depth):
    """The twin's ``finish_value(value)``, here for the merge state's types (a value nested deeper
    than any merge makes is finished by the twin)."""
    cdef object kind = type(value)
    cdef list keyed
    if kind is TextBuf:
        return text_of(value)
    if depth > MAX_MERGE_DEPTH:
        return _finish_value(value)
    if kind is _Merged:
        return {k: finished(v, depth + 1) for k, v in (<dict>value).items()}
    if kind is _Indexed:
        # Sorted by index; the items at one index stay in arrival order (the sort is stable).
        keyed = [k for k in value if type(k[0]) is int]
        if len(keyed) > 1:
            keyed.sort(key=_by_index)
        return [finished((<dict>value)[k], depth + 1) for k in keyed] + [
            (<dict>value)[k] for k in value if type(k[0]) is not int]
    if kind is _PartList:
        return [finished(v, depth + 1) for v in value]
    if kind is list:
        return list(value)
    if kind is _Str:
        return "".join(value)
    if kind is dict or kind is str or value is None or kind is int or kind is float or kind is bool:
        return value
    return _finish_value(value)


cdef object completion_of(Merger merger):
    """The completion merged so far, built slot by slot (``snapshot``)."""
    cdef object completion = L_COMPLETION.blank()
    cdef Py_ssize_t* at = L_COMPLETION.offsets
    cdef list choices
    cdef int tracked = 0, listed = 0
    sink = merger._sink
    if type(sink) is MergeSink:
        # The reader may change the values it is given: the next chunk's are merged anew.
        (<MergeSink>sink).scanner.seen = None
        (<MergeSink>sink).scanner.header = None
    states = merger._choices
    ssd_put_noting(completion, at[C_ID], merger._id, &tracked)
    ssd_put(completion, at[C_OBJECT], "chat.completion")
    ssd_put_noting(completion, at[C_CREATED], merger._created, &tracked)
    ssd_put_noting(completion, at[C_MODEL], merger._model, &tracked)
    if type(states) is dict and PyDict_GET_SIZE(states) == 1:
        for state in (<dict>states).values():
            choice = built_choice(state)
            choices = [choice]
            listed = ssd_is_tracked(choice)
    else:
        choices = [built_choice(states[i]) for i in sorted(states)]
        listed = 1
    ssd_settle_known(choices, listed)
    ssd_put_noting(completion, at[C_CHOICES], choices, &tracked)
    ssd_put_noting(completion, at[C_TIER], merger._service_tier, &tracked)
    ssd_put_noting(completion, at[C_FINGERPRINT], merger._fingerprint, &tracked)
    usage = merger._usage
    if usage is None:
        usage = merger._groq_usage
    if usage is not None:
        ssd_settle_tree(usage)
    ssd_put_noting(completion, at[C_USAGE], usage, &tracked)
    ssd_put_noting(completion, at[C_MODERATION], merger._moderation, &tracked)
    ssd_put_noting(completion, L_COMPLETION.extras_at, {} if merger.tx_lazy else copied(merger.tx), &tracked)
    ssd_settle_known(completion, tracked)
    return completion


cdef inline object copied(object extras):
    """``dict(extras)``, without a call for a dict."""
    return PyDict_Copy(extras) if type(extras) is dict else dict(extras)


cdef object text_of(object parts):
    if parts is None:
        return None
    if type(parts) is TextBuf:
        return utf8_text((<TextBuf>parts).data, (<TextBuf>parts).length, "surrogatepass")
    return _py.join_text(parts)


cdef object built_choice(Choice st):
    """The finished choice of a choice's state, as the twin's ``_build_choice`` makes it."""
    cdef int tracked = 0
    cdef bint rich = False
    cdef object message = L_MESSAGE.blank()
    ssd_put_noting(message, L_MESSAGE.offsets[M_ROLE], st.role or "assistant", &tracked)
    ssd_put_noting(message, L_MESSAGE.offsets[M_CONTENT], text_of(st.content), &tracked)
    ssd_put_noting(message, L_MESSAGE.offsets[M_REFUSAL], text_of(st.refusal), &tracked)
    if st._tools:
        ssd_put_noting(message, L_MESSAGE.offsets[M_TOOL_CALLS], built_tools(st._tools), &tracked)
        rich = True
    if st.annotations is not None:
        value = built_annotations(st.annotations)
        ssd_put_noting(message, L_MESSAGE.offsets[M_ANNOTATIONS], value, &tracked)
        rich = True
    if st.audio is not None:
        value = _from_dict(_Audio, finished(st.audio, 0))
        ssd_put_noting(message, L_MESSAGE.offsets[M_AUDIO], value, &tracked)
    if st.function_call is not None:
        value = finished(st.function_call, 0)
        value.setdefault("arguments", "")
        value = _from_dict(_FunctionCall, value)
        ssd_put_noting(message, L_MESSAGE.offsets[M_FUNCTION_CALL], value, &tracked)
    st.settle_message()
    if st.mx or st.content_parts is not None:
        st.memo_key = None  # as reading ``message_extras``: the result may share what the memo merges into
        st.text_key = None
        extras = {k: finished(v, 0) for k, v in st.mx.items()} if st.mx else {}
        if st.content_parts is not None:
            extras["content_parts"] = [finished(part, 0) for part in st.content_parts]
            rich = True
        ssd_put_noting(message, L_MESSAGE.extras_at, extras, &tracked)
    else:
        ssd_put(message, L_MESSAGE.extras_at, {})
    ssd_settle_known(message, tracked)
    cdef object choice = L_DONE_CHOICE.blank()
    tracked = ssd_is_tracked(message)
    ssd_put_noting(choice, L_DONE_CHOICE.offsets[D_INDEX], st.index, &tracked)
    ssd_put(choice, L_DONE_CHOICE.offsets[D_MESSAGE], message)
    if st.logprobs_seen:
        ssd_put_noting(choice, L_DONE_CHOICE.offsets[D_LOGPROBS], st.built_logprobs(), &tracked)
    ssd_put_noting(choice, L_DONE_CHOICE.offsets[D_FINISH], st.finish_reason, &tracked)
    st.settle()  # what reading ``extras`` does
    st.seen = None  # as the scanner's: the values are handed out
    st.raw_tpl = None
    ssd_put_noting(choice, L_DONE_CHOICE.extras_at, {} if st.cx_lazy else copied(st.cx), &tracked)
    ssd_settle_known(choice, tracked)
    if rich:
        ssd_settle_tree(choice)  # the lists in the message, then what holds them
    return choice


cdef list built_tools(list tools):
    """The tool calls of a choice's tools: in index order when every one has an index (the twin's
    ``_ordered``), else in arrival order."""
    cdef Tool tool
    for tool in tools:
        if tool.index is None:
            break
    else:
        if len(tools) > 1:
            tools = sorted(tools, key=_tool_index)
    return [built_tool(tool) for tool in tools]


cdef object built_tool(Tool tool):
    cdef int tracked = 0
    cdef object function = L_TOOL_FUNCTION.blank()
    ssd_put_noting(function, L_TOOL_FUNCTION.offsets[TF_NAME], tool.name, &tracked)
    ssd_put_noting(function, L_TOOL_FUNCTION.offsets[TF_ARGUMENTS], text_of(tool.arguments), &tracked)
    extras = {k: finished(v, 0) for k, v in tool.function_extras.items()}
    ssd_put_noting(function, L_TOOL_FUNCTION.extras_at, extras, &tracked)
    ssd_settle_known(function, tracked)
    cdef object call = L_TOOL_CALL.blank()
    tracked = ssd_is_tracked(function)
    ssd_put_noting(call, L_TOOL_CALL.offsets[TC_ID], tool.id, &tracked)
    ssd_put_noting(call, L_TOOL_CALL.offsets[TC_TYPE], tool.type or "function", &tracked)
    ssd_put(call, L_TOOL_CALL.offsets[TC_FUNCTION], function)
    extras = {k: finished(v, 0) for k, v in tool.extras.items()}
    ssd_put_noting(call, L_TOOL_CALL.extras_at, extras, &tracked)
    ssd_settle_known(call, tracked)
    return call


cdef list built_annotations(object items):
    """Each annotation as its model, or as it is when it is not one."""
    cdef list out = []
    for item in items:
        try:
            out.append(_from_dict(_Annotation, item))
        except SchemaError:
            out.append(item)
    return out


class ChunkDecoder(_py.ChunkDecoder):
    __doc__ = _py.ChunkDecoder.__doc__

    _sse_class = SSEDecoder

    def __init__(self, max_event_size=_py.DEFAULT_MAX_EVENT_SIZE, max_line_size=DEFAULT_MAX_LINE_SIZE):
        super().__init__(max_event_size, max_line_size)
        self._objects = ObjectDecoder()

    def _decode(self, data, list out):
        cdef ObjectDecoder objects = self._objects
        cdef SSEDecoder sse = sse_of(self, self._sse)
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


def _frees_by_slots(cls):
    """Whether instances of ``cls`` are freed by clearing their slots (``ssd_dealloc``)."""
    return ssd_has_dealloc(cls)


# The scanner's check of a rule table, and the token decoder, where tests and profiling reach them.
_compiled = _scanner_c._compiled
_tokens_from_json = _objects_c._tokens_from_json

# Decoded objects are untracked by the collector while they can be part of no cycle (see
# ``ssd_settle``); assigning to one tracks it again. Each is freed by clearing its slots (see
# ``ssd_dealloc``): a short stream's result is a few of them, a decoded chunk four or more.
for _cls in vars(_m).values():
    if isinstance(_cls, type) and issubclass(_cls, _m.Model) and _cls is not _m.Model:
        ssd_hook_setattr(_cls)
        ssd_hook_dealloc(_cls)
