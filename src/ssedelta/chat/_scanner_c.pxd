# Declarations of the chunk scanner and the merge state it applies payloads to.

cimport cython
from cpython.object cimport PyObject

from ._columns_c cimport TextBuf, TokenColumns
from ._keys_c cimport Keys


cdef enum:
    TAPE_TOKS = 64  # a scanner's tape to begin with, and after a payload that needed more
    MEMO_TEXTS = 8  # at most so many concatenated strings in a value merged again by its memo
    VARYING = 16  # at most so many values of a template's payload may differ in a payload it serves
    SHAPED = 8  # at most so many string values inside the varying objects and arrays of a template
    NAME_SLOTS = 128  # a scanner's key strings by a hash of their bytes: a power of two, > KEPT_KEYS


cdef enum:
    SHAPED_NOT = 0  # a varying value's strings are not known
    SHAPED_SPANS = 1  # they are, by shaped_end
    SHAPED_SAME = 2  # the value is the template's: its strings are the template's, moved


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


@cython.final
cdef class Choice:
    cdef public object index, role, content, refusal, content_parts, last_tool
    # The tool calls, and those with an index by index: made at the first one (or when read, by
    # Python code through the ``tools`` and ``tool_at`` properties).
    cdef object _tools, _tool_at
    cdef public object function_call, audio, annotations
    cdef public object finish_reason
    # The unknown keys of the choice, read through the ``extras`` property, which first builds the
    # value of a key whose newest value is a string kept as its bytes (see Scanner.put_later): the
    # key, a copy of the string's body (made once, written again) and whether it has escapes. Made when
    # first needed (``cx_lazy``: not yet, ``cx`` is None); ``mx`` likewise.
    cdef object cx
    cdef bint cx_lazy, mx_lazy
    # A key ``cx`` is known to hold since the scanner last set it to ``null`` (Python code that
    # reads or sets the extras forgets it): ``null`` again leaves it as it is.
    cdef object held_key
    cdef object later_key
    cdef TextBuf later_body
    cdef bint later_esc
    # The same for the message's unknown keys and a number: its key and a copy of its bytes.
    cdef object mlater_key
    cdef TextBuf mlater_number
    # The unknown keys of the message: read here directly, by Python code through the
    # ``message_extras`` property, which forgets the memo and ``mheld_key``.
    cdef object mx
    # A key ``mx`` is known to hold since a ``null`` for it was merged (no merge removes a key).
    cdef object mheld_key
    # The memo of the last unknown delta value merged from its span (see Scanner.memo_hit): its
    # key, bytes, the rules it was merged by, and its concatenated strings' bodies (offsets in
    # ``memo_raw``) with the text buffers they went to. ``memo_key`` None: no memo.
    cdef object memo_key
    cdef bytes memo_raw
    cdef object memo_rules
    cdef list memo_bufs
    cdef Py_ssize_t memo_n
    cdef Py_ssize_t memo_a[MEMO_TEXTS]
    cdef Py_ssize_t memo_b[MEMO_TEXTS]
    # How the memo's value is the varying value ``memo_v`` (-1: is not) of template ``memo_tpl`` as
    # taken for the ``memo_taken``-th time: the same bytes but inside the template's strings, of
    # which ``memo_sh[k]`` is the memo's string ``k`` (see Scanner.memo_shaped).
    cdef object memo_tpl
    cdef Py_ssize_t memo_taken, memo_v
    cdef Py_ssize_t memo_sh[MEMO_TEXTS]
    # The last delta string (DeepSeek's ``reasoning_content``) concatenated into the message's
    # extras: its key, the text buffer the extras hold for it and the rules it was merged by
    # (``text_key`` None: none). Forgotten as the memo is, and by any other merge of that key.
    cdef object text_key, text_buf, text_rules
    cdef public bint logprobs_seen
    # Logprob tokens (0: content, 1: refusal): None, the columns, or (set from Python) a list.
    cdef object _lp0, _lp1
    cdef dict seen  # the bytes of extras values the scanner set (see Scanner.put_raw)
    # The extras key ``raw_key`` holds what the varying value ``raw_v`` of template ``raw_tpl`` (as
    # taken for the ``raw_taken``-th time) made of the template's bytes, and nothing set that key
    # since (``raw_tpl`` None: no such key); Python code reading or setting the extras forgets it.
    cdef object raw_tpl, raw_key
    cdef Py_ssize_t raw_taken, raw_v
    cdef object lp_start(self, int which)
    cdef int lp_add(self, int which, TokenColumns pending, Py_ssize_t k, const unsigned char* p,
                    Py_ssize_t a, Py_ssize_t b) except -1
    cdef object lp_list(self, int which)
    cdef int start(self, object index) except -1
    cdef object cx_dict(self)
    cdef object mx_dict(self)
    cdef int settle(self) except -1
    cdef int settle_message(self) except -1
    cdef int keep_body(self, const unsigned char* p, Tok* t) except -1
    cdef int keep_number(self, const unsigned char* p, Tok* t) except -1


cdef Choice new_choice(object index)


cdef class Top:
    cdef public object _id, _model, _created, _service_tier, _fingerprint
    cdef public object _usage, _groq_usage, _moderation
    # The unknown top-level keys, ``_extras`` to Python code: made when first needed (``tx_lazy``:
    # not yet, ``tx`` is None).
    cdef object tx
    cdef bint tx_lazy
    cdef object tx_dict(self)


@cython.final
cdef class Tool:
    cdef public object index, id, type, name, arguments, extras, function_extras


@cython.final
cdef class Scanner:
    cdef Tok* tape
    cdef Py_ssize_t ntape
    cdef Py_ssize_t captape
    cdef list objs
    cdef bint objs_borrowed  # ``objs`` is a template's: a new scan starts a list of its own
    cdef const unsigned char* p
    cdef Py_ssize_t n
    # The payload ``p[:n]`` as bytes, unless it is larger than KEPT_PAYLOAD; when ``payload_lazy``,
    # not made yet (``p`` points into the tokenizer's buffer or the piece fed): see ``kept``.
    cdef bytes payload
    cdef bint payload_lazy
    # The last fully scanned chunk's bytes before its top-level "choices" key (the first
    # ``header_len`` bytes of ``header``: that payload, or a copy of them from a large one), while no
    # chunk merged since then could have changed what they set; whether the last scan began with them.
    cdef bytes header
    cdef Py_ssize_t header_len
    cdef bint header_hit
    cdef int held  # the merger's fields that hold their first non-empty value (see holds)
    cdef Py_ssize_t header_epoch  # counts remember_header's calls
    # The system_fingerprint set (or found) last, in which header epoch.
    cdef object fingerprint
    cdef Py_ssize_t fingerprint_epoch
    cdef Keys header_keys
    cdef Keys top
    cdef Keys before_choices
    # The last payloads scanned in full whose tapes can serve again (see Template), the most
    # recent at ``latest``.
    cdef list templates
    cdef Py_ssize_t latest
    cdef bint replayed  # the last payload's tape came from a template
    # Then that template, and of each varying value, whether its strings (see Template.shape) are
    # known in the payload (a SHAPED_ value): their bodies' spans and whether they have escapes, by
    # the template's string number, and whether it is the template's.
    cdef object replay_tpl
    # The template whose tape (as taken for the ``tape_taken``-th time) the tape holds, if any, and
    # whether its spans were moved since.
    cdef object tape_of
    cdef Py_ssize_t tape_taken
    cdef bint tape_moved
    cdef char shaped_ok[VARYING]
    cdef Py_ssize_t shaped_a[SHAPED]
    cdef Py_ssize_t shaped_b[SHAPED]
    cdef bint shaped_esc[SHAPED]
    cdef bint shaped_same[SHAPED]
    cdef Py_ssize_t last_shape  # shape_of the last payload scanned in full
    cdef list names  # key strings, made once (see key_obj)
    cdef PyObject** name_at  # those by their hash, made with ``names`` (see key_obj; borrowed)
    cdef dict seen  # the top-level extras' RawValue (see put_raw)
    #: Payloads merged by the scanner, and those handed to the twin's path; of the first, those
    #: whose tape came from a template.
    cdef public Py_ssize_t fast, slow, reused
    #: Unknown delta values merged again by a choice's memo; of those, the ones found the memo's
    #: by the template their payload's tape came from.
    cdef public Py_ssize_t repeated, repeated_shaped
    # For the merger's limits: the choices and tool calls of the payload scanned and an upper
    # bound of the entries its unknown keys can add; what applying it made.
    cdef Py_ssize_t nchoices, ntools, key_bound, new_tools, new_keys
    # The state the last choice token applied went to, and its index: taken again without a
    # lookup until the merger's sink forgets it (when Python code or the twin's path may have
    # changed the choices since).
    cdef Choice last_choice
    cdef long long last_index
    # The logprob tokens of the payload scanned (the tape's T_LP_TOKEN entries index them), made
    # at the first logprob token.
    cdef TokenColumns lp
    cdef int reserve(self, Py_ssize_t need) except -1
    cdef int release(self) except -1
    cdef int reset(self) except -1
    cdef inline Tok* push(self, int kind) except NULL
    cdef Py_ssize_t keep(self, object value) except -1
    cdef Py_ssize_t value_obj(self, Py_ssize_t i, Py_ssize_t* end) except -2
    cdef Py_ssize_t string_tok(self, Tok* t, Py_ssize_t i) noexcept
    cdef Py_ssize_t check_string(self, Py_ssize_t i) noexcept
    cdef inline Py_ssize_t is_null(self, Py_ssize_t i) noexcept
    cdef inline Py_ssize_t key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept
    cdef Py_ssize_t key_any(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept
    cdef inline Py_ssize_t after_member(self, Py_ssize_t i, unsigned char close, bint* more) noexcept
    cdef object key_str(self, Py_ssize_t a, Py_ssize_t b)
    cdef object key_obj(self, Py_ssize_t a, Py_ssize_t b)
    cdef Py_ssize_t extra(self, dict rules, int kind, Py_ssize_t ka, Py_ssize_t kb, Py_ssize_t v) except -2
    cdef Py_ssize_t raw_value(self, Tok* t, Py_ssize_t ka, Py_ssize_t kb, Py_ssize_t v) except -2
    cdef Py_ssize_t json_end(self, Py_ssize_t i, int depth) except -2
    cdef object build(self, Py_ssize_t i, Py_ssize_t* end)
    cdef object text_obj(self, Py_ssize_t i)
    cdef object built(self, Py_ssize_t i)
    # Recording a merge for a memo: -1 off, -2 the merge is not one to repeat, else the number of
    # concatenated strings recorded (spans in the payload, and their buffers).
    cdef Py_ssize_t rec_n
    cdef Py_ssize_t rec_a[MEMO_TEXTS]
    cdef Py_ssize_t rec_b[MEMO_TEXTS]
    cdef list rec_bufs
    cdef inline void unrepeatable(self) noexcept
    cdef int record(self, object buf, Py_ssize_t a, Py_ssize_t b) except -1
    cdef Py_ssize_t merge_delta_raw(self, Choice state, object key, Tok* t, dict rules) except -1
    cdef bint memo_hit(self, Choice state, object key, Tok* t, dict rules) except -1
    cdef inline bint memo_replayed(self, Choice state, object key, Tok* t, dict rules) except -1
    cdef bint memo_shaped(self, Choice state, Tok* t) except -1
    cdef Py_ssize_t merge_raw(self, object acc, object key, Py_ssize_t i, dict rules, int depth,
                              Py_ssize_t* end) except -1
    cdef Py_ssize_t merge_list(self, object acc, object key, object old, object rule, Py_ssize_t i,
                               dict rules, int depth, Py_ssize_t* end) except -1
    cdef bint indexed_items(self, Py_ssize_t i) except -1
    cdef Py_ssize_t member(self, Py_ssize_t i, const char* name, Py_ssize_t k) noexcept
    cdef bint is_int(self, Py_ssize_t i) noexcept
    cdef Py_ssize_t merge_item(self, object acc, Py_ssize_t i, dict rules, int depth,
                               Py_ssize_t* end) except -1
    cdef Py_ssize_t put_raw(self, object extras, dict seen, object key, Py_ssize_t a, Py_ssize_t b,
                            bint first) except -1
    cdef Py_ssize_t put_later(self, Choice state, object key, Tok* t) except -1
    cdef bytes kept(self)
    cdef Py_ssize_t scan(self, const unsigned char* p, Py_ssize_t n, bytes payload) except -2
    cdef Py_ssize_t scan_full(self) except -2
    cdef Py_ssize_t end(self, Py_ssize_t i, Py_ssize_t choices_at) noexcept
    cdef Py_ssize_t top_string(self, Py_ssize_t v, int bit, int kind) except -2
    cdef Py_ssize_t top_model(self, Py_ssize_t v, int bit, int kind, object model) except -2
    cdef Py_ssize_t model_value(self, int kind, object model, Py_ssize_t v) except -2
    cdef Py_ssize_t choices(self, Py_ssize_t i) except -2
    cdef Py_ssize_t choice(self, Py_ssize_t i) except -2
    cdef Py_ssize_t logprobs(self, Py_ssize_t i) except -2
    cdef Py_ssize_t lp_tokens(self, Py_ssize_t i, int which) except -2
    cdef Py_ssize_t lp_token(self, Py_ssize_t i) except -2
    cdef Py_ssize_t lp_tops(self, Py_ssize_t i, bint* usual) except -2
    cdef Py_ssize_t lp_top(self, Py_ssize_t i, bint* usual) except -2
    cdef Py_ssize_t lp_text(self, Py_ssize_t v, Py_ssize_t at) except -2
    cdef inline Py_ssize_t lp_key(self, Py_ssize_t i, Py_ssize_t* ka, Py_ssize_t* kb) noexcept
    cdef Py_ssize_t lp_number(self, Py_ssize_t v, Py_ssize_t at, bint* usual) except -2
    cdef Py_ssize_t lp_byte_array(self, Py_ssize_t i, Py_ssize_t at) except -2
    cdef int lp_bytes(self, Py_ssize_t at, Py_ssize_t ba, Py_ssize_t bb) except -1
    cdef Py_ssize_t delta(self, Py_ssize_t i) except -2
    cdef Py_ssize_t tool_calls(self, Py_ssize_t i) except -2
    cdef Py_ssize_t tool_call(self, Py_ssize_t i) except -2
    cdef Py_ssize_t function(self, Py_ssize_t i) except -2
    cdef Py_ssize_t named(self, Py_ssize_t i, bint which) except -2
    cdef Py_ssize_t groq_usage(self, Py_ssize_t v, Py_ssize_t end) except -2
    cdef bint text_part(self, Py_ssize_t i, Tok* t) except -1
    cdef bint typed_items(self, Py_ssize_t i) noexcept
    cdef Py_ssize_t content_parts(self, Choice state, Py_ssize_t i, dict rules) except -1
    cdef Py_ssize_t merge_parts(self, object acc, Py_ssize_t i, dict rules, int depth,
                                Py_ssize_t* end) except -1
    cdef Py_ssize_t merge_part(self, object acc, Py_ssize_t i, dict rules, int depth,
                               Py_ssize_t* end) except -1
    cdef int apply(self, Top merger, dict choices, dict rules) except -1
    cdef Tool select_tool(self, Choice state, Tok* t)
    cdef int apply_top(self, Top merger, Tok* t) except -1
    cdef Py_ssize_t replayed_as(self, Py_ssize_t j) noexcept
    cdef bint holds(self, object value, int bit) except -1
    cdef int remember_header(self, Py_ssize_t choices_at) except -1
