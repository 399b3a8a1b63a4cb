# cython: language_level=3
"""Responses API stream merger, compiled.

The merged state is the twin's :class:`~._state.ResponsesState` (the rule table applied to each
decoded payload). What is compiled is the frequent case: after a delta event
(``response.output_text.delta``, ``response.function_call_arguments.delta``,
``response.reasoning_summary_text.delta``, ...), the next delta of the same kind at the same place
is recognised from the payload's bytes, in any key order and spacing, its keys and values checked
as strictly as a JSON parser checks them, and only its ``delta`` string is unescaped into one UTF-8
buffer, decoded once when the state next reads the fragments of its place: no dict, no event
object, and no ``bytes`` (the tokenizer hands over the payload where it read it). The bytes
before the ``delta`` string are remembered and compared with the next payload's (a differing
``sequence_number`` allowed), and so are the bytes after it (a differing ``obfuscation`` string
allowed), so a repeated header and trailer are not scanned again; runs of plain ASCII in a string
are skipped eight bytes at a time. Anything
else (another key, an escape in a key, a wrong type, invalid JSON or UTF-8) takes the shared
state's general path (``orjson`` and the rule table), which also raises the errors at their offsets.

The first delta after the event that put its item or part (the state's ``opening`` place) is
taken the same way; the state opens the place when the strings are first handed to it. A ``.done``
event of the place that only replaces the string (``function_call_arguments.done``,
``reasoning_summary_text.done``, ...; ``output_text.done`` with no or an empty ``logprobs`` list
where the part has an empty one) is scanned as strictly: when it carries the string the place
holds, at a key its object already has, it changes nothing and the state does not see it. So is
the event that puts the place's value again (``reasoning_summary_part.done``,
``content_part.done``, ``output_item.done``): when its value is written byte for byte as the event
that opened the place wrote it, but for the string, which is the one the place holds, and the
place still has that value with only the string merged into it, it changes nothing either.

The events after a run of deltas (``*.done``, ``content_part.done``, ``output_item.done``, the
terminal response) repeat the string the deltas built. When a payload holds it as one string value,
written as the deltas wrote it, the payload is parsed with a short marker in its place and the
built ``str`` put where the marker is: the long string is neither decoded nor checked again.

The terminal response (``response.completed``, ``incomplete``, ``failed``) repeats every item, as
the ``output_item.done`` events wrote them. The bytes of each item such an event put are kept;
when the terminal's ``output`` is those items, byte for byte and in order, and each is still in
the state as it was put, the event is parsed with an empty ``output`` and the state keeps its
items: the items are neither parsed nor built again. Only the bytes around them are read, and a
parser then checks them. A ``response.completed`` whose response also repeats, in the same order,
the members of the start event's response that set the response before it, each byte for byte but
for a few (``status``, ``usage``, ...), is parsed with only those few in its response; they are
built and put into a copy of the start event's response model, which the state takes as the one
the event builds (a snapshot, whose reader may change that model's values, ends this until the
next start event).

Any other payload the merger parses itself when it is an object, as the state would, and hands
the object to the state; the state parses the rest (and raises their errors).
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_Append
from libc.string cimport memchr, memcmp, memcpy, strlen

import orjson

from .._json_c cimport (
    Utf8Buf, decode_string, empty_array, key_is, member_key, next_member, plain_string,
    scan_int, skip_value, skip_ws, string_end, word_stop,
)
from .._sse_c cimport PayloadSink, SSEDecoder

from .. import _build_c
from .._sse_py import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE
from .._schema import SchemaError
from ..errors import StreamFormatError
from . import _rules as r
from ._state import ResponsesState
from .models import Response

cdef object _StreamFormatError = StreamFormatError
cdef object _Response = Response
cdef object _SchemaError = SchemaError

cdef enum:
    MEMBERS_MAX = 96  # a terminal response of more members is not built from the start's
cdef object _loads = orjson.loads
cdef object _dumps = orjson.dumps
cdef object _JSONDecodeError = orjson.JSONDecodeError


cdef extern from "string.h":
    void* memmem(const void* haystack, size_t n, const void* needle, size_t m) nogil

cdef extern from *:
    """
    #include <stdint.h>
    static inline int ssed_same(const unsigned char *a, const unsigned char *b, Py_ssize_t k) {
        /* memcmp(a, b, k) == 0 for the few bytes around a string, without a call */
        uint64_t x, y;
        while (k >= 8) {
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x != y) return 0;
            a += 8;
            b += 8;
            k -= 8;
        }
        while (k > 0) {
            if (*a++ != *b++) return 0;
            k--;
        }
        return 1;
    }
    """
    bint ssed_same(const unsigned char* a, const unsigned char* b, Py_ssize_t k) noexcept nogil


#: Strings built by the deltas are looked for in the payloads of the events after them when at
#: least this long; the marker stands in for such a string while the rest is parsed.
cdef Py_ssize_t KNOWN_MIN = 256
cdef bytes MARKER_WORD = b"ssedelta-known"
cdef bytes MARKER = b"\\u0000" + MARKER_WORD
cdef str MARKER_STR = "\x00" + MARKER_WORD.decode()


cdef int find_marker(object value, list where, int depth) except -1:
    """Append (container, key) to ``where`` for every place in ``value`` holding the marker as
    a string (a dict key equal to it counts twice, so that it is never taken for a value)."""
    cdef Py_ssize_t k
    if depth > 1100:  # deeper than the JSON parser nests
        where.append(None)
        where.append(None)
        return 0
    if type(value) is dict:
        for key, item in (<dict>value).items():
            if type(key) is str and key == MARKER_STR:
                where.append(None)
                where.append(None)
            if type(item) is str:
                if item == MARKER_STR:
                    where.append((value, key))
            elif type(item) is dict or type(item) is list:
                find_marker(item, where, depth + 1)
    elif type(value) is list:
        for k in range(len(<list>value)):
            item = (<list>value)[k]
            if type(item) is str:
                if item == MARKER_STR:
                    where.append((value, k))
            elif type(item) is dict or type(item) is list:
                find_marker(item, where, depth + 1)
    return 0


# Reading JSON text that is valid, or that a parser then checks: strings are skipped to their
# closing quote with memchr, the rest byte by byte; nothing outside the text is read whatever it holds.

cdef inline Py_ssize_t closing_quote(const unsigned char* p, Py_ssize_t a, Py_ssize_t n) noexcept:
    """The quote that ends the string whose body starts at ``p[a]``; -1 if none."""
    cdef const unsigned char* hit
    cdef Py_ssize_t i = a, j, k
    while i < n:
        hit = <const unsigned char*>memchr(p + i, 34, <size_t>(n - i))
        if hit == NULL:
            return -1
        j = hit - p
        k = j
        while k > a and p[k - 1] == 92:
            k -= 1
        if (j - k) % 2 == 0:
            return j
        i = j + 1
    return -1


cdef Py_ssize_t value_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t ka = -1,
                          Py_ssize_t kb = -1) noexcept:
    """The end of the value at ``p[i]``, or -1. ``p[ka:kb]``, when given, is the body of a string
    known to be one, which is passed over."""
    cdef int depth = 0
    cdef unsigned char c
    if i >= n:
        return -1
    c = p[i]
    if c == 34:
        i = closing_quote(p, i + 1, n)
        return -1 if i < 0 else i + 1
    if c != 123 and c != 91:
        while i < n and p[i] != 44 and p[i] != 93 and p[i] != 125 and p[i] > 32:
            i += 1
        return i
    while i < n:
        c = p[i]
        if c == 34:
            i = kb if i + 1 == ka else closing_quote(p, i + 1, n)
            if i < 0:
                return -1
        elif c == 123 or c == 91:
            depth += 1
        elif c == 125 or c == 93:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


cdef Py_ssize_t next_key(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t* ka,
                         Py_ssize_t* kb) noexcept:
    """At a member of an object (``p[i]``, whitespace skipped): sets ``p[ka:kb]`` to its key and
    returns where its value starts; -1 when it is not a member or its key has escapes."""
    if i >= n or p[i] != 34:
        return -1
    ka[0] = i + 1
    kb[0] = closing_quote(p, i + 1, n)
    if kb[0] < 0 or memchr(p + i + 1, 92, <size_t>(kb[0] - i - 1)) != NULL:
        return -1
    i = skip_ws(p, kb[0] + 1, n)
    if i >= n or p[i] != 58:
        return -1
    i = skip_ws(p, i + 1, n)
    return i if i < n else -1


cdef Py_ssize_t member_spans(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, const char** names,
                             int count, Py_ssize_t* spans, Py_ssize_t ka0, Py_ssize_t kb0) noexcept:
    """Read the object at ``p[i]``: ``spans[2k:2k+2]`` is the span of the value of ``names[k]``
    (-1, -1 when it has none). The index after the object, or -1 when it is not an object this
    scan reads (a key with escapes included) or it has one of the names twice. ``p[ka0:kb0]`` is
    as for :func:`value_end`."""
    cdef Py_ssize_t ka, kb, j
    cdef int k
    cdef bint last = False
    for k in range(2 * count):
        spans[k] = -1
    if i >= n or p[i] != 123:
        return -1
    i = skip_ws(p, i + 1, n)
    if i < n and p[i] == 125:
        return i + 1
    while True:
        i = next_key(p, i, n, &ka, &kb)
        if i < 0:
            return -1
        j = value_end(p, i, n, ka0, kb0)
        if j < 0:
            return -1
        for k in range(count):
            if key_is(p, ka, kb, names[k], strlen(names[k])):
                if spans[2 * k] >= 0:
                    return -1
                spans[2 * k] = i
                spans[2 * k + 1] = j
        i = next_member(p, j, n, &last)
        if i < 0:
            return -1
        if last:
            return i


cdef const char* ITEM_DONE_NAMES[3]
ITEM_DONE_NAMES[:] = [b"type", b"output_index", b"item"]
cdef bytes ITEM_DONE = b'"response.output_item.done"'
#: The lifecycle events that end a response (:data:`._rules.LIFECYCLE`), by type.
cdef frozenset END_TYPES = frozenset(k.encode() for k, stage in r.LIFECYCLE.items() if stage == r.END)


def _fast_rules():
    """The rule table's delta events a payload scan may take: event type -> (key of the
    string, key of a list that must be empty, or ``None``; the type as bytes)."""
    out = {}
    for kind, rule in r.EVENT_RULES.items():
        first, rest = rule.ops[0], rule.ops[1:]
        if first.op != r.CONCAT or len(r.SLOTS[rule.slot]) > 1:
            continue
        if any(op.op != r.EXTEND for op in rest) or len(rest) > 1:
            continue
        out[kind] = (first.key.encode(), rest[0].key.encode() if rest else None, kind.encode())
    return out


def _done_rules():
    """The delta events whose ``.done`` event only replaces the streamed string with the whole
    string (and, at most, a list at a key of its own): event type -> (the ``.done`` type, its
    key of the string, its key of the list or ``None``)."""
    out = {}
    for kind, rule in r.EVENT_RULES.items():
        if kind not in FAST_RULES or not kind.endswith(".delta"):
            continue
        done = r.EVENT_RULES.get(kind[:-len("delta")] + "done")
        if done is None or done.slot != rule.slot or len(done.ops) > 2:
            continue
        op, rest = done.ops[0], done.ops[1:]
        if rest and (rest[0].op != r.REPLACE or rest[0].kind != r.LIST or rest[0].path != (rest[0].key,)):
            continue
        if op.op == r.REPLACE and op.kind == r.STR and op.path == rule.ops[0].path and len(op.path) == 1:
            list_key = rest[0].key.encode() if rest else None
            out[kind] = ((kind[:-len("delta")] + "done").encode(), op.key.encode(), list_key)
    return out


def _put_done_rules():
    """The delta events whose place is put by an event that a ``.done`` event of its slot puts
    again, with the string the deltas built: event type -> (that ``.done`` type, the key of the
    value both put). Only where every event putting a value in the slot puts it at that key."""
    out = {}
    for kind, rule in r.EVENT_RULES.items():
        if kind not in FAST_RULES or len(rule.ops[0].path) != 1:
            continue
        puts = {k: p for k, p in r.EVENT_RULES.items() if p.slot == rule.slot and p.ops[0].op == r.PUT}
        keys = {p.ops[0].key for p in puts.values()}
        done = [k for k, p in puts.items() if k.endswith(".done") and len(p.ops) == 1]
        if len(done) == 1 and len(keys) == 1:
            out[kind] = (done[0].encode(), keys.pop().encode())
    return out


#: Compiled from :data:`._rules.EVENT_RULES` when the module loads.
cdef dict FAST_RULES = _fast_rules()
#: The keys of the slots' indexes, as bytes.
cdef dict INDEX_KEYS = {key: key.encode() for chain in r.SLOTS.values() for _, key in chain}
cdef dict DONE_RULES = _done_rules()
cdef dict PUT_DONE_RULES = _put_done_rules()
#: The lifecycle events that start a response (:data:`._rules.LIFECYCLE`), by type.
cdef frozenset START_TYPES = frozenset(k.encode() for k, stage in r.LIFECYCLE.items() if stage == r.START)
cdef bytes TYPE_OPEN = b'{"type":"'
cdef bytes SEQ_KEY = b'","sequence_number":'

# Keys of a delta payload.
cdef enum:
    K_TYPE = 1
    K_SEQ = 2
    K_ITEM = 4
    K_OUT = 8
    K_SUB = 16
    K_DELTA = 32
    K_LIST = 64
    K_OBF = 128


@cython.final
cdef class DeltaSink(PayloadSink):
    """Merges each payload as the tokenizer completes it."""

    cdef object state
    cdef public Py_ssize_t merged
    cdef bint stopped  # the stream ended or failed: nothing more is merged
    cdef object error  # raised once the tokenizer is done with the piece
    # The merger's tokenizer and the error it failed with (read here, not as its attributes).
    cdef SSEDecoder sse
    cdef object failed
    cdef bint dirty  # fragments appended since the state's item was last touched
    # The place of the last delta event (the state's ``fast``).
    cdef bint has_fast
    cdef bytes kind
    cdef long long at
    cdef bytes sub_key
    cdef long long sub
    cdef bytes delta_key
    cdef bytes list_key
    cdef list fragments
    cdef object item  # the state's node of the place's item
    cdef object node  # the state's node holding the string, at ``path``
    cdef tuple path
    cdef tuple done_rule  # DONE_RULES of the place's kind, or None
    cdef Utf8Buf pending  # the strings taken since the last flush, for ``fragments``
    # The same strings as the payloads write them, while they are the place's whole string.
    cdef Utf8Buf raw
    cdef bint raw_whole
    # The whole string of the last place whose strings were handed to the state in one go, as
    # ``str`` and as JSON writes it: a later payload (a ``.done`` event, the terminal response)
    # holding the same string is parsed without it.
    cdef bytes known_raw
    cdef str known
    cdef bint fresh  # nothing handed to the state since the place was taken
    # The bytes after the sequence number of the start event that last set the response, and
    # the state's count of responses set then: a start event with the same bytes there, while
    # nothing else set the response, sets an equal response and adds no item (the first one
    # added them, and items are never removed), so it changes nothing.
    cdef bytes start_tail
    cdef object start_count
    # That start event, the response it set and how many members its response has (or None):
    # a terminal response repeating its members byte for byte but for a few is built from it.
    cdef bytes start_payload
    cdef object start_model
    cdef Py_ssize_t start_members
    cdef object built  # the response model the last reused_output built, or None
    # The bytes before the delta string of the last event taken, the keys seen there, and the
    # span of its sequence_number digits (-1: none before the string).
    cdef bytes header
    cdef int header_seen
    cdef Py_ssize_t seq_a, seq_b
    # The bytes after the delta string of an event taken with that header, and the span there
    # of its obfuscation string (-1: none).
    cdef bytes trailer
    cdef Py_ssize_t obf_a, obf_b
    # The value the event that opened the place put there (the node's ``base`` then, the
    # payload, and once a ``.done`` event is compared with it, its JSON as the payload wrote it,
    # with the span of the string body at the place's key), and PUT_DONE_RULES of the place's
    # kind: a ``.done`` event putting it again, with the string the place holds there, changes
    # nothing while the node still has that value.
    cdef tuple put_rule
    # output index -> (node, its base, the item's bytes) of each item an ``output_item.done``
    # put, for the terminal response that repeats it byte for byte
    cdef dict done_items
    cdef Py_ssize_t known_at, known_stop  # the known string's body in the payload parsed last, or -1
    cdef object put_base
    cdef bytes put_payload
    cdef bytes put_value
    cdef Py_ssize_t put_sa, put_sb

    def __init__(self):
        self.pending = Utf8Buf()
        self.raw = Utf8Buf()
        self.done_items = {}

    cdef void reset(self) noexcept:
        self.fresh = False
        self.raw_whole = False
        self.raw.clear()
        self.has_fast = False
        self.fragments = None
        self.item = self.node = None
        self.done_rule = None
        self.put_rule = None
        self.header = None
        self.trailer = None

    cdef int load_fast(self) except -1:
        """Take the place the state's last event names (or the place its first delta would
        open), when a payload scan can follow it."""
        cdef object fast = self.state.fast
        self.reset()
        if fast is None:
            fast = self.state.opening
            if fast is None:
                return 0
        # (a Fast is a tuple: its fields unpacked, not read by name one by one)
        kind, at, sub_key, sub, fragments, item, node, path = <tuple>fast
        rule = FAST_RULES.get(kind)
        if rule is None:
            return 0
        if type(at) is not int or not (-(1 << 62) < at < (1 << 62)):
            return 0
        if sub_key is not None and (type(sub) is not int or not (-(1 << 62) < sub < (1 << 62))):
            return 0
        self.kind = rule[2]
        self.at = at
        self.sub_key = INDEX_KEYS.get(sub_key) if sub_key is not None else None
        if sub_key is not None and self.sub_key is None:
            self.sub_key = sub_key.encode()
        self.sub = sub if sub_key is not None else 0
        self.delta_key, self.list_key = rule[0], rule[1]
        self.fragments = fragments  # None until the state opens the place
        self.raw_whole = fragments is None
        self.item = item
        self.node = node
        self.path = path
        self.done_rule = DONE_RULES.get(kind)
        self.put_rule = PUT_DONE_RULES.get(kind)
        self.has_fast = True
        self.fresh = True
        return 0

    cdef int flush(self) except -1:
        """Hand the strings taken to the state (before it reads or changes anything)."""
        cdef str text
        cdef Py_ssize_t size = self.pending.len, before
        if size:
            text = self.pending.take()
            if self.fragments is None:
                self.fragments = self.state.open_fast()
            before = len(self.fragments)
            if self.fresh and size >= KNOWN_MIN and before <= 1:
                # Once per place (a snapshot taken in between leaves it to the state): the
                # place's whole string, as the deltas wrote it when they are all of it, else as
                # JSON writes it (a payload writing it otherwise is parsed whole).
                self.known = self.fragments[0] + text if before else text
                if self.raw_whole and not before:
                    self.known_raw = PyBytes_FromStringAndSize(self.raw.ptr, self.raw.len)
                else:
                    written = _dumps(self.known)
                    self.known_raw = written[1:PyBytes_GET_SIZE(written) - 1]
            self.fresh = False
            self.raw_whole = False
            self.raw.clear()
            PyList_Append(self.fragments, text)
        if self.dirty:  # the item's object is built again (the state's ``touch``)
            self.dirty = False
            if self.item is not None:
                self.item.model = None
        return 0

    cdef int flush_for(self, object state) except -1:
        """:meth:`flush` to ``state`` (the state the sink holds again after)."""
        held = self.state
        self.state = state
        try:
            self.flush()
        finally:
            self.state = held
        return 0

    cdef int payload_at(self, object event, const char* p, Py_ssize_t n, Py_ssize_t data_offset,
                        Py_ssize_t index) except -1:
        if self.stopped:
            return 0
        if self.has_fast and self.take(<const unsigned char*>p, n):
            self.merged += 1
            return 0
        return self.other(event, PyBytes_FromStringAndSize(p, n), data_offset, index)

    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset, Py_ssize_t index) except -1:
        if self.stopped:
            return 0
        if self.has_fast and self.take(<const unsigned char*>PyBytes_AS_STRING(payload),
                                       PyBytes_GET_SIZE(payload)):
            self.merged += 1
            return 0
        return self.other(event, payload, data_offset, index)

    cdef int other(self, object event, bytes payload, Py_ssize_t data_offset, Py_ssize_t index) except -1:
        """Merge a payload that is not a delta event at the place of the last one."""
        cdef Py_ssize_t tail
        cdef object count
        if self.has_fast and (
                (self.done_rule is not None and self.same_done(payload))
                or (self.put_base is not None and self.put_rule is not None and self.same_put_done(payload))):
            self.merged += 1
            return 0
        state = self.state
        self.flush()
        tail = self.start_event_tail(payload)
        count = state.responses_set
        if tail >= 0 and self.start_tail is not None and count == self.start_count and self.same_tail(
                payload, tail):
            state.fast = None  # as after any event the state merges
            self.load_fast()
            self.merged += 1
            return 0
        self.known_at = self.known_stop = -1
        self.built = None
        try:
            obj = self.reused_output(payload) if self.done_items else None
            if obj is None and self.known_raw is not None:
                obj = self.parsed(payload)
            if obj is None and PyBytes_GET_SIZE(payload) and PyBytes_AS_STRING(payload)[0] == 123:
                # parsed as the state parses it (which raises the error of a payload that is not JSON)
                try:
                    obj = _loads(payload)
                except _JSONDecodeError:
                    pass
            if obj is not None:
                self.merged += state.merge_object(obj, event, data_offset, index, self.built)
            else:
                self.merged += state.merge_payload(payload, event, data_offset, index)
        except _StreamFormatError as exc:
            self.error = exc
            self.stopped = True
            self.reset()
            return 0
        if state.done:
            self.stopped = True
        else:
            self.note_item_done(payload)
        if not state.done and tail >= 0 and state.responses_set == count + 1:
            self.start_tail = payload[tail:]
            self.start_count = state.responses_set
            self.start_payload = payload
            self.start_model = state.top_response()
            response = obj.get("response") if type(obj) is dict else None
            self.start_members = len(<dict>response) if type(response) is dict else -1
        self.load_fast()
        self.put_base = self.put_payload = self.put_value = None
        if self.has_fast and self.fragments is None and self.put_rule is not None:
            self.put_base = self.node.base
            self.put_payload = payload  # scanned when a .done event is compared with it
        return 0

    cdef int note_item_done(self, bytes payload) except -1:
        """After the state merged ``payload``: when it is an ``output_item.done`` that put its
        item as it is, remember the item's bytes (see :meth:`reused_output`)."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t spans[6]
        cdef long long at
        if memmem(p, min(n, 64), PyBytes_AS_STRING(ITEM_DONE), PyBytes_GET_SIZE(ITEM_DONE)) == NULL:
            return 0
        if member_spans(p, 0, n, ITEM_DONE_NAMES, 3, spans, self.known_at, self.known_stop) < 0:
            return 0
        if spans[4] < 0:
            return 0
        if spans[1] - spans[0] != PyBytes_GET_SIZE(ITEM_DONE) or memcmp(
                p + spans[0], PyBytes_AS_STRING(ITEM_DONE), spans[1] - spans[0]) != 0:
            return 0
        if scan_int(p, spans[2], spans[3], &at) != spans[3]:
            return 0
        node = self.state.item_node(at)
        if node is None or type(node.base) is not dict or node.texts or node.lists or node.extended:
            return 0
        self.done_items[at] = (node, node.base, PyBytes_FromStringAndSize(
            <const char*>p + spans[4], spans[5] - spans[4]))
        return 0

    cdef object reused_output(self, bytes payload):
        """The JSON object of a terminal response event whose ``output`` repeats, byte for byte,
        the items the ``output_item.done`` events put, each still as it was put: parsed with an
        empty ``output``, so the state keeps the items it has (equal to what it would build).
        ``None`` (parsed whole) otherwise. Only the bytes outside the items are scanned: an item
        equal to the bytes of one a parser read is that one value."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t ka, kb, i, j, a = -1, b = -1, ra = -1, re = -1, ta = -1, tb = -1, size
        cdef Py_ssize_t spans[2 * MEMBERS_MAX]  # each member of the response: its key's quote, its end
        cdef int members = 0, out_m = -1
        cdef bint last = False, top = True
        cdef long long k = 0
        cdef bytes raw
        # the members of the event, then those of its response (``top`` false), one pass
        i = skip_ws(p, 0, n)
        if i >= n or p[i] != 123:
            return None
        i = skip_ws(p, i + 1, n)
        while True:
            i = next_key(p, i, n, &ka, &kb)
            if i < 0:
                return None
            if top and key_is(p, ka, kb, "response", 8):
                if ra >= 0 or p[i] != 123:
                    return None
                ra = i
                top = False
                i = skip_ws(p, i + 1, n)
                if i < n and p[i] == 125:
                    return None
                continue
            if not top and key_is(p, ka, kb, "output", 6):
                if a >= 0 or p[i] != 91:
                    return None
                a = i
                i = skip_ws(p, i + 1, n)
                while True:
                    held = self.done_items.get(k)
                    if held is None:
                        return None
                    node, base, raw = held
                    size = PyBytes_GET_SIZE(raw)
                    if n - i < size or memcmp(p + i, PyBytes_AS_STRING(raw), size) != 0:
                        return None
                    if self.state.item_node(k) is not node or node.base is not base or node.texts \
                            or node.lists or node.extended:
                        return None
                    k += 1
                    i = skip_ws(p, i + size, n)
                    if i < n and p[i] == 93:
                        break
                    if i >= n or p[i] != 44:
                        return None
                    i = skip_ws(p, i + 1, n)
                j = b = i + 1
                out_m = members
            else:
                j = value_end(p, i, n)
                if j < 0:
                    return None
                if top and key_is(p, ka, kb, "type", 4):
                    if ta >= 0:
                        return None
                    ta, tb = i, j
            if not top:
                if members < MEMBERS_MAX:
                    spans[2 * members] = ka - 1
                    spans[2 * members + 1] = j
                members += 1
            i = next_member(p, j, n, &last)
            if i < 0:
                return None
            if last:
                if top:
                    break
                top = True  # the end of the response: on with the event's members
                re = i
                i = next_member(p, i, n, &last)
                if i < 0:
                    return None
                if last:
                    break
        if a < 0 or ta < 0 or skip_ws(p, i, n) != n:
            return None
        if p[ta] != 34 or tb - ta < 2 or p[tb - 1] != 34 or PyBytes_FromStringAndSize(
                <const char*>p + ta + 1, tb - ta - 2) not in END_TYPES:
            return None
        if k != len(self.done_items) or k != self.state.item_count():
            return None
        if members <= MEMBERS_MAX and self.start_model is not None:
            obj = self.built_from_start(p, n, ra, re, spans, members, out_m, ta, tb)
            if obj is not None:
                return obj
            p = <const unsigned char*>PyBytes_AS_STRING(payload)  # (Python code ran)
        blank = PyBytes_FromStringAndSize(NULL, n - (b - a) + 2)
        q = PyBytes_AS_STRING(blank)
        memcpy(q, p, a)
        q[a] = 91
        q[a + 1] = 93
        memcpy(q + a + 2, p + b, n - b)
        try:
            obj = _loads(blank)
        except _JSONDecodeError:
            return None
        return obj if type(obj) is dict else None

    cdef object built_from_start(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t ra, Py_ssize_t re,
                                 Py_ssize_t* spans, int members, int out_m, Py_ssize_t ta, Py_ssize_t tb):
        """For :meth:`reused_output`: when the terminal response's members (``p[ra:re]``, their spans
        in ``spans``) are those of the start event's response, in order, each written as there byte
        for byte but for a few (and ``output``), parse the event with only those few in its
        response, build them, and set :attr:`built` to the start's response with them replaced: what
        building the whole response gives. The object the state is given then (its response holding
        only those members, and an empty ``output``); ``None`` otherwise (nothing is changed)."""
        cdef const unsigned char* c
        cdef Py_ssize_t cn, i, ci, ka, kb, size, at
        cdef bint last = False
        cdef int m
        cdef char changed[MEMBERS_MAX]
        state = self.state
        if members != self.start_members or state.responses_set != self.start_count or \
                state.top_response() is not self.start_model:
            return None
        if tb - ta != 20 or memcmp(p + ta, b'"response.completed"', 20) != 0:
            return None  # (``incomplete`` and ``failed`` take the whole path)
        start = self.start_payload
        c = <const unsigned char*>PyBytes_AS_STRING(start)
        cn = PyBytes_GET_SIZE(start)
        # the start event's response: its members follow ``"response":{``
        i = skip_ws(c, 0, cn)
        if i >= cn or c[i] != 123:
            return None
        i = skip_ws(c, i + 1, cn)
        while True:
            i = next_key(c, i, cn, &ka, &kb)
            if i < 0:
                return None
            if key_is(c, ka, kb, "response", 8):
                break
            i = value_end(c, i, cn)
            if i < 0:
                return None
            i = next_member(c, i, cn, &last)
            if i < 0 or last:
                return None
        if c[i] != 123:
            return None
        ci = skip_ws(c, i + 1, cn)
        for m in range(members):
            at, size = spans[2 * m], spans[2 * m + 1] - spans[2 * m]
            if m != out_m and cn - ci > size and memcmp(c + ci, p + at, size) == 0 and (
                    c[ci + size] == 44 or c[ci + size] == 125 or c[ci + size] <= 32):
                changed[m] = 0
                i = ci + size
            else:  # the same key, another value
                i = next_key(c, ci, cn, &ka, &kb)
                if i < 0 or n - at < kb - ka + 2 or p[at + 1 + kb - ka] != 34 or memcmp(
                        p + at + 1, c + ka, kb - ka) != 0:
                    return None
                i = value_end(c, i, cn)
                if i < 0:
                    return None
                changed[m] = 1
            ci = next_member(c, i, cn, &last)
            if ci < 0 or last != (m == members - 1):
                return None
        # the event with only the changed members in its response, ``output`` emptied
        parts = [PyBytes_FromStringAndSize(<const char*>p, ra + 1)]
        for m in range(members):
            if changed[m]:
                if len(parts) > 1:
                    parts.append(b",")
                if m == out_m:
                    parts.append(b'"output":[]')
                else:
                    parts.append(PyBytes_FromStringAndSize(<const char*>p + spans[2 * m],
                                                           spans[2 * m + 1] - spans[2 * m]))
        parts.append(b"}")
        parts.append(PyBytes_FromStringAndSize(<const char*>p + re, n - re))
        # No pointer into the payloads is used after this point.
        try:
            obj = _loads(b"".join(parts))
        except _JSONDecodeError:
            return None
        if type(obj) is not dict or type(obj.get("response")) is not dict:
            return None
        response = obj["response"]
        try:
            part = _build_c.from_dict(_Response, response, "response")
        except (_SchemaError, TypeError):  # the whole path raises the error
            return None
        changes = {}
        extras = part.extras
        for key in response:
            changes[key] = extras[key] if key in extras else getattr(part, key)
        self.built = _build_c.replaced(self.start_model, changes)
        return obj

    cdef bint scan_put(self) except -1:
        """Find the value ``put_payload`` put (see ``put_value``): True when it is written as
        one object member, an object whose key of the place's string is there once, with a
        string value. The payload is released either way."""
        cdef bytes payload = self.put_payload
        cdef bytes put_key = self.put_rule[1]
        cdef bytes path_key = self.path[0].encode()
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t i, j, ka, kb, va = -1, vb = -1, sa = -1, sb = -1
        cdef bint last = False, esc = False
        self.put_payload = None
        if n < 2 or p[0] != 123:
            return False
        i = skip_ws(p, 1, n)
        while True:  # the payload's members: the put key once
            i = member_key(p, i, n, &ka, &kb)
            if i < 0:
                return False
            j = skip_value(p, i, n)
            if j < 0:
                return False
            if key_is(p, ka, kb, put_key, len(put_key)):
                if va >= 0:
                    return False
                va, vb = i, j
            i = next_member(p, j, n, &last)
            if i < 0:
                return False
            if last:
                break
        if va < 0 or p[va] != 123:
            return False
        i = skip_ws(p, va + 1, vb)
        while True:  # the value's members: the string's key once, with a string
            i = member_key(p, i, vb, &ka, &kb)
            if i < 0:
                return False
            if key_is(p, ka, kb, path_key, len(path_key)):
                if sa >= 0 or p[i] != 34:
                    return False
                sa = i + 1
                sb = string_end(p, sa, vb, &esc)
                if sb < 0:
                    return False
                j = sb + 1
            else:
                j = skip_value(p, i, vb)
                if j < 0:
                    return False
            i = next_member(p, j, vb, &last)
            if i < 0:
                return False
            if last:
                break
        if sa < 0:
            return False
        self.put_value = PyBytes_FromStringAndSize(<const char*>p + va, vb - va)
        self.put_sa, self.put_sb = sa - va, sb - va
        return True

    cdef Py_ssize_t start_event_tail(self, bytes payload) except -2:
        """Where the bytes after the sequence number start, in a start event written as
        ``{"type":"...","sequence_number":N,...``; -1 for any other payload."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload), j, k = PyBytes_GET_SIZE(SEQ_KEY)
        cdef long long v
        if n < 9 or memcmp(p, PyBytes_AS_STRING(TYPE_OPEN), 9) != 0:
            return -1
        j = plain_string(p, 8, n)
        if j < 0 or j + k > n or memcmp(p + j, PyBytes_AS_STRING(SEQ_KEY), k) != 0:
            return -1
        if PyBytes_FromStringAndSize(<const char*>p + 9, j - 9) not in START_TYPES:
            return -1
        return scan_int(p, j + k, n, &v)

    cdef bint same_tail(self, bytes payload, Py_ssize_t tail) noexcept:
        cdef Py_ssize_t size = PyBytes_GET_SIZE(self.start_tail)
        return PyBytes_GET_SIZE(payload) - tail == size and memcmp(
            PyBytes_AS_STRING(payload) + tail, PyBytes_AS_STRING(self.start_tail), size) == 0

    cdef object parsed(self, bytes payload):
        """The JSON object of ``payload`` when it holds the known string: the payload is parsed
        with the marker in its place, which the known ``str`` then replaces. ``None`` (the state
        parses it) when it does not, or when the marker is not exactly one string value of it."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* k = <const unsigned char*>PyBytes_AS_STRING(self.known_raw)
        cdef Py_ssize_t kn = PyBytes_GET_SIZE(self.known_raw)
        cdef Py_ssize_t mn = PyBytes_GET_SIZE(MARKER), at
        cdef const unsigned char* found
        cdef char* q
        if n < kn + 2 or p[0] != 123:
            return None
        # memmem with a long needle spends longer on the needle than on the payload: its first
        # bytes are looked for, then the rest compared.
        at = 0
        while True:
            found = <const unsigned char*>memmem(p + at, n - at, k, 16)
            if found == NULL or found + kn > p + n:
                return None
            if memcmp(found, k, kn) == 0:
                break
            at = found - p + 1
        at = found - p
        if at < 1 or p[at - 1] != 34 or at + kn >= n or p[at + kn] != 34:
            return None
        if memmem(p, n, PyBytes_AS_STRING(MARKER_WORD), PyBytes_GET_SIZE(MARKER_WORD)) != NULL:
            return None
        # Where the marker parses as one string value, the known string was that value: the
        # bytes around it are the same, so the parser read them the same way.
        swapped = PyBytes_FromStringAndSize(NULL, n - kn + mn)
        q = PyBytes_AS_STRING(swapped)
        memcpy(q, p, at)
        memcpy(q + at, PyBytes_AS_STRING(MARKER), mn)
        memcpy(q + at + mn, p + at + kn, n - at - kn)
        # No pointer into the payload is used after this point.
        try:
            obj = _loads(swapped)
        except _JSONDecodeError:
            return None
        if type(obj) is not dict:
            return None
        where = []
        find_marker(obj, where, 0)
        if len(where) != 1:
            return None
        container, key = where[0]
        container[key] = self.known
        self.known_at, self.known_stop = at, at + kn
        return obj

    cdef int key_of(self, const unsigned char* p, Py_ssize_t ka, Py_ssize_t kb, bytes value_key,
                    bytes list_key, bint obfuscation) noexcept:
        """The key ``p[ka:kb]`` of an event at the place: ``K_DELTA`` for ``value_key`` (the
        string, or the value put), ``K_LIST`` for ``list_key``, ``K_OBF`` when ``obfuscation``
        is allowed; 0 for any other key."""
        if key_is(p, ka, kb, "type", 4):
            return K_TYPE
        if key_is(p, ka, kb, "sequence_number", 15):
            return K_SEQ
        if key_is(p, ka, kb, "item_id", 7):
            return K_ITEM
        if key_is(p, ka, kb, "output_index", 12):
            return K_OUT
        if self.sub_key is not None and key_is(p, ka, kb, self.sub_key, len(self.sub_key)):
            return K_SUB
        if key_is(p, ka, kb, value_key, len(value_key)):
            return K_DELTA
        if list_key is not None and key_is(p, ka, kb, list_key, len(list_key)):
            return K_LIST
        if obfuscation and key_is(p, ka, kb, "obfuscation", 11):
            return K_OBF
        return 0

    cdef bint take(self, const unsigned char* p, Py_ssize_t n) except -1:
        """Append the delta string of the payload ``p[:n]`` when it is a delta event at the place
        of the last one, in a shape this scan knows; False (nothing changed) otherwise. Runs no
        Python code."""
        cdef const unsigned char* h
        cdef Py_ssize_t hn, i, j, ka, kb, da = 0, db = 0, hdr_end = -1, seq_a = -1, seq_b = -1
        cdef Py_ssize_t oa = -1, ob = -1
        cdef int seen = 0, hdr_seen = 0, key
        cdef bint esc, desc = False, resume = False, resumed = False, last = False, tail_seq = False
        cdef bint matched = False
        cdef long long v
        if n < 2 or p[0] != 123:
            return False
        if self.header is not None:
            h = <const unsigned char*>PyBytes_AS_STRING(self.header)
            hn = PyBytes_GET_SIZE(self.header)
            if self.seq_a < 0:
                if n > hn and memcmp(p, h, hn) == 0:
                    i = hn
                    resume = True
            elif n > hn and memcmp(p, h, self.seq_a) == 0:
                j = scan_int(p, self.seq_a, n, &v)
                if j >= 0 and n > j + hn - self.seq_b and memcmp(p + j, h + self.seq_b, hn - self.seq_b) == 0:
                    i = j + hn - self.seq_b
                    resume = True
            if resume:
                seen = self.header_seen
                resumed = True
        if not resume:
            i = skip_ws(p, 1, n)
        while True:
            if resume:
                key = K_DELTA
                resume = False
            else:
                i = member_key(p, i, n, &ka, &kb)
                if i < 0:
                    return False
                key = self.key_of(p, ka, kb, self.delta_key, self.list_key, True)
                if key == 0:
                    return False
            if seen & key:
                return False  # a duplicate key: the parser keeps the last
            if key == K_DELTA:
                if p[i] != 34:
                    return False
                hdr_end = i
                hdr_seen = seen
                da = i + 1
                db = string_end(p, da, n, &desc)
                if db < 0:
                    return False
                i = db + 1
                if resumed and self.trailer is not None:
                    matched = self.same_trailer(p, i, n)
                    if matched:
                        break
            elif key == K_TYPE:
                j = plain_string(p, i, n)
                if j < 0 or not key_is(p, i + 1, j, self.kind, len(self.kind)):
                    return False
                i = j + 1
            elif key == K_ITEM or key == K_OBF:
                if p[i] != 34:
                    return False
                esc = False
                j = string_end(p, i + 1, n, &esc)
                if j < 0:
                    return False
                if key == K_OBF and seen & K_DELTA:
                    oa, ob = i + 1, j
                i = j + 1
            elif key == K_SEQ:
                j = scan_int(p, i, n, &v)
                if j < 0:
                    return False
                if not (seen & K_DELTA):
                    seq_a, seq_b = i, j
                else:
                    tail_seq = True
                i = j
            elif key == K_OUT:
                i = scan_int(p, i, n, &v)
                if i < 0 or v != self.at:
                    return False
            elif key == K_SUB:
                i = scan_int(p, i, n, &v)
                if i < 0 or v != self.sub:
                    return False
            else:  # K_LIST: empty or null
                if p[i] == 110:
                    if i + 4 > n or memcmp(p + i, b"null", 4) != 0:
                        return False
                    i += 4
                else:
                    i = empty_array(p, i, n)
                    if i < 0:
                        return False
            seen |= key
            i = next_member(p, i, n, &last)
            if i < 0:
                return False
            if last:
                if skip_ws(p, i, n) != n:
                    return False
                break
        if not matched:
            key = K_TYPE | K_OUT | K_DELTA
            if self.sub_key is not None:
                key |= K_SUB
            if seen & key != key:
                return False
        self.pending.add(p, da, db, desc)
        if self.raw_whole:
            self.raw.add(p, da, db, False)
        self.dirty = True
        if self.header is None:
            self.header = PyBytes_FromStringAndSize(<const char*>p, hdr_end)
            self.header_seen = hdr_seen
            self.seq_a, self.seq_b = seq_a, seq_b
            resumed = True
        if resumed and not matched and not tail_seq:
            # The members after the string, with the span of an obfuscation value (which
            # changes from event to event) left to be scanned.
            self.trailer = PyBytes_FromStringAndSize(<const char*>p + db + 1, n - db - 1)
            self.obf_a = oa - db - 1 if oa >= 0 else -1
            self.obf_b = ob - db - 1 if oa >= 0 else -1
        return True

    cdef bint same_done(self, bytes payload) except -1:
        """Whether ``payload`` is the ``.done`` event of the place, in a shape this scan knows,
        giving the string the place holds, and no list or an empty one where the object has an
        empty list: it changes nothing then (the state would replace the string with an equal one,
        at a key its object already has, and the list with an equal one). False otherwise.
        The strings taken are handed to the state first (as for any event that is not a delta),
        so that the known string is there to compare with."""
        cdef const unsigned char* p
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t i, j, ka, kb, va = -1, vb = -1
        cdef int seen = 0, key, need
        cdef bint esc = False, vesc = False, last = False, empty_list = False
        cdef long long v
        cdef bytes kind = self.done_rule[0], value_key = self.done_rule[1], list_key = self.done_rule[2]
        self.flush()
        p = <const unsigned char*>PyBytes_AS_STRING(payload)
        if n < 2 or p[0] != 123:
            return False
        i = skip_ws(p, 1, n)
        while True:
            i = member_key(p, i, n, &ka, &kb)
            if i < 0:
                return False
            key = self.key_of(p, ka, kb, value_key, list_key, False)
            if key == 0:
                return False
            if seen & key:
                return False
            if key == K_LIST:  # null: not replaced
                if p[i] == 110:
                    if i + 4 > n or memcmp(p + i, b"null", 4) != 0:
                        return False
                    i += 4
                else:
                    i = empty_array(p, i, n)
                    if i < 0:
                        return False
                    empty_list = True
            elif key == K_TYPE:
                j = plain_string(p, i, n)
                if j < 0 or not key_is(p, i + 1, j, kind, len(kind)):
                    return False
                i = j + 1
            elif key == K_ITEM or key == K_DELTA:
                if p[i] != 34:
                    return False
                j = self.known_end(p, i + 1, n) if key == K_DELTA else -1
                if j >= 0:
                    esc = True  # (not looked for)
                else:
                    j = string_end(p, i + 1, n, &esc)
                    if j < 0:
                        return False
                if key == K_DELTA:
                    va, vb, vesc = i + 1, j, esc
                esc = False
                i = j + 1
            elif key == K_SEQ:
                i = scan_int(p, i, n, &v)
                if i < 0:
                    return False
            else:  # K_OUT or K_SUB
                i = scan_int(p, i, n, &v)
                if i < 0 or v != (self.at if key == K_OUT else self.sub):
                    return False
            seen |= key
            i = next_member(p, i, n, &last)
            if i < 0:
                return False
            if last:
                if skip_ws(p, i, n) != n:
                    return False
                break
        need = K_TYPE | K_OUT | K_DELTA
        if self.sub_key is not None:
            need |= K_SUB
        if seen & need != need:
            return False
        if self.fragments is None:
            return False
        node = self.node
        base = node.base
        if type(base) is not dict or self.path[0] not in base:
            return False
        if empty_list:
            listed = base.get(list_key.decode())
            at = (list_key.decode(),)
            if type(listed) is not list or listed or at in node.extended or at in node.lists:
                return False
        return self.holds(payload, va, vb, vesc)

    cdef bint holds(self, bytes payload, Py_ssize_t va, Py_ssize_t vb, bint vesc) except -1:
        """Whether the string body ``payload[va:vb]`` is the string the place holds (flushed)."""
        cdef const unsigned char* p
        fragments = self.fragments
        whole = "".join(fragments)
        if len(fragments) > 1:
            fragments[:] = [whole]  # as a snapshot joins them
        # Python code ran since the caller took its pointer: taken again (the bytes are immutable).
        p = <const unsigned char*>PyBytes_AS_STRING(payload)
        raw = self.known_raw
        if raw is not None and vb - va == PyBytes_GET_SIZE(raw) and whole == self.known and memcmp(
                p + va, PyBytes_AS_STRING(raw), vb - va) == 0:
            return True  # written as the known string is written
        return decode_string(p, va, vb, vesc) == whole

    cdef Py_ssize_t known_end(self, const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
        """The end of the string body at ``p[i]`` when it is the known string as JSON writes it
        (a whole, valid string body: the quote after it closes it), else -1."""
        cdef Py_ssize_t kn
        if self.known_raw is None:
            return -1
        kn = PyBytes_GET_SIZE(self.known_raw)
        if n - i <= kn or p[i + kn] != 34 or memcmp(p + i, PyBytes_AS_STRING(self.known_raw), kn) != 0:
            return -1
        return i + kn

    cdef bint same_put_done(self, bytes payload) except -1:
        """Whether ``payload`` is the ``.done`` event putting the place's value again, written
        as the event that opened the place wrote it but for the string, which is the string the
        place holds: the state would put a value equal to the one it builds there (same keys in
        the same order), so it changes nothing. False otherwise."""
        cdef const unsigned char* p
        cdef const unsigned char* v
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload), vn, sa, sb
        cdef Py_ssize_t i, j, ka, kb, va = -1, vb = -1
        cdef int seen = 0, key, need
        cdef bint esc = False, vesc = False, last = False
        cdef long long num
        cdef bytes kind = self.put_rule[0], value_key = self.put_rule[1]
        p = <const unsigned char*>PyBytes_AS_STRING(payload)
        if n < 2 or p[0] != 123:
            return False
        i = skip_ws(p, 1, n)
        while True:
            i = member_key(p, i, n, &ka, &kb)
            if i < 0:
                return False
            key = self.key_of(p, ka, kb, value_key, None, False)
            if key == 0 or seen & key:
                return False
            if key == K_TYPE:
                j = plain_string(p, i, n)
                if j < 0 or not key_is(p, i + 1, j, kind, len(kind)):
                    return False
                i = j + 1
            elif key == K_ITEM:
                if p[i] != 34:
                    return False
                i = string_end(p, i + 1, n, &esc)
                if i < 0:
                    return False
                esc = False
                i += 1
            elif key == K_DELTA:  # the value put: the remembered bytes around the string
                if self.put_value is None and (self.put_payload is None or not self.scan_put()):
                    return False
                # No Python code runs from here to the end of the scan.
                p = <const unsigned char*>PyBytes_AS_STRING(payload)
                v = <const unsigned char*>PyBytes_AS_STRING(self.put_value)
                vn, sa, sb = PyBytes_GET_SIZE(self.put_value), self.put_sa, self.put_sb
                if n - i < sa or memcmp(p + i, v, sa) != 0:
                    return False
                va = i + sa
                vb = self.known_end(p, va, n)
                if vb < 0:
                    vb = string_end(p, va, n, &vesc)
                else:
                    vesc = True  # (not looked for)
                if vb < 0 or n - vb < vn - sb or memcmp(p + vb, v + sb, vn - sb) != 0:
                    return False
                i = vb + vn - sb
            elif key == K_SEQ:
                i = scan_int(p, i, n, &num)
                if i < 0:
                    return False
            else:  # K_OUT or K_SUB
                i = scan_int(p, i, n, &num)
                if i < 0 or num != (self.at if key == K_OUT else self.sub):
                    return False
            seen |= key
            i = next_member(p, i, n, &last)
            if i < 0:
                return False
            if last:
                if skip_ws(p, i, n) != n:
                    return False
                break
        need = K_TYPE | K_OUT | K_DELTA
        if self.sub_key is not None:
            need |= K_SUB
        if seen & need != need:
            return False
        self.flush()
        node = self.node
        if self.fragments is None or node.base is not self.put_base or node.extended or node.lists:
            return False
        if len(node.texts) != 1 or self.path not in node.texts:
            return False
        return self.holds(payload, va, vb, vesc)

    cdef bint same_trailer(self, const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
        """Whether ``p[i:n]``, the members after the delta string, are the remembered ones (their
        obfuscation string aside, which must only be a valid string)."""
        cdef const unsigned char* t = <const unsigned char*>PyBytes_AS_STRING(self.trailer)
        cdef Py_ssize_t tn = PyBytes_GET_SIZE(self.trailer)
        cdef Py_ssize_t j
        cdef bint esc = False
        if self.obf_a < 0:
            return n - i == tn and ssed_same(p + i, t, tn)
        if n - i == tn and 8 <= self.obf_b - self.obf_a <= 16:
            # as long as last time: the two words that cover the obfuscation string plain ASCII,
            # so that it ends at the quote where the last one did
            return (ssed_same(p + i, t, self.obf_a) and word_stop(p + i + self.obf_a) == 8
                    and word_stop(p + i + self.obf_b - 8) == 8
                    and ssed_same(p + i + self.obf_b, t + self.obf_b, tn - self.obf_b))
        if n - i < tn - (self.obf_b - self.obf_a) or not ssed_same(p + i, t, self.obf_a):
            return False
        j = string_end(p, i + self.obf_a, n, &esc)
        if j < 0:
            return False
        return n - j == tn - self.obf_b and ssed_same(p + j, t + self.obf_b, tn - self.obf_b)


class ResponsesMerger(ResponsesState):
    """Folds a Responses API stream into one :class:`~ssedelta.responses.models.Response`.

    ``feed`` bytes (or ``add`` events), then ``finish()``; ``snapshot()`` is valid at any moment
    and never raises. The stream ends at ``response.completed``, ``response.incomplete`` (a result
    with ``status: "incomplete"``), ``response.failed`` or ``[DONE]``; nothing after is read. An
    ``error`` event or ``response.failed`` makes ``finish()`` raise :class:`UpstreamError` with
    ``.error`` (the first error reported) and ``.partial`` (the response merged so far).
    """

    _build = _build_c

    def __init__(self, max_event_size=DEFAULT_MAX_EVENT_SIZE, max_line_size=DEFAULT_MAX_LINE_SIZE):
        cdef DeltaSink sink = DeltaSink()
        ResponsesState.__init__(self)
        self._sse = sink.sse = SSEDecoder(max_event_size, max_line_size)
        # The sink holds the state only while it is in use: a lasting reference would make a
        # cycle, and every merger garbage for the collector.
        self._sink = sink

    @property
    def events(self):
        """Events read from the stream so far."""
        return self._sse.events_dispatched

    def feed(self, piece):
        """Merge the events ``piece`` completes; returns how many. A bad event raises a typed
        error; the merger keeps what came before it (``snapshot()``) and raises it again."""
        cdef DeltaSink sink = self._sink
        if sink.failed is not None:
            raise sink.failed
        if sink.stopped:  # (the stream ended: an error stopped it too, and set ``failed``)
            return 0
        sink.merged = 0
        held, sink.state = sink.state, self
        try:
            sink.sse.feed_into(piece, sink)
        except _StreamFormatError as exc:
            sink.failed = exc
            raise
        finally:
            sink.state = held
        if sink.error is not None:
            sink.failed = sink.error
            raise sink.error
        return sink.merged

    def add(self, event):
        """Merge one event (an event object or its dict)."""
        cdef DeltaSink sink = self._sink
        held, sink.state = sink.state, self
        try:
            sink.flush()
            try:
                ResponsesState.add(self, event)
            finally:
                sink.stopped = sink.stopped or self.done
                sink.load_fast()
        finally:
            sink.state = held

    def snapshot(self):
        """The response merged so far; never raises."""
        cdef DeltaSink sink = self._sink
        sink.flush_for(self)
        # Its reader may change the items and the response it holds: a terminal response
        # repeating them is read.
        sink.done_items.clear()
        sink.start_model = None
        return ResponsesState.snapshot(self)

    def finish(self):
        """The final response; raises :class:`UpstreamError` (with ``.partial``) if the stream
        reported an error."""
        cdef DeltaSink sink = self._sink
        if sink.failed is not None:
            raise sink.failed
        if not self.done:
            sink.sse.close()
        sink.flush_for(self)
        return self.result()
