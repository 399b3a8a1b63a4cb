# Declarations of the native tokenizer, so that the native merger can feed it
# and receive each payload without a Python object per event.

cdef struct Buffer:
    char* ptr
    Py_ssize_t len
    Py_ssize_t cap


cdef class PayloadSink:
    cdef int payload(self, object event, bytes payload, Py_ssize_t data_offset,
                     Py_ssize_t index) except -1
    cdef int payload_at(self, object event, const char* p, Py_ssize_t n, Py_ssize_t data_offset,
                        Py_ssize_t index) except -1


cdef class SSEDecoder:
    #: The last event id string (set at each blank line), ``None`` before any ``id`` field.
    cdef public object last_event_id
    #: The reconnection time set by the last valid ``retry`` field.
    cdef public object retry

    cdef object _max_obj
    cdef Py_ssize_t _limit  # a block larger than this is too large
    cdef object _max_line_obj
    cdef Py_ssize_t _line_limit  # a line longer than this is too long
    cdef Py_ssize_t _base  # stream offset of the first byte of the next piece
    cdef Py_ssize_t _count
    cdef object _failed
    cdef bint _busy  # a read is running: another call now would see its half-done state
    cdef PayloadSink _sink  # set while feed_into runs

    # The unfinished block carried over from earlier reads: its bytes, the
    # stream offset of its first byte, and where its unfinished line starts
    # (equal to the length when the last read ended at a line end).
    cdef Buffer _buf
    cdef Py_ssize_t _block_off
    cdef Py_ssize_t _line_rel
    cdef bint _skip_lf
    # Ranges of the carried block that came in through feed_payloads and so
    # are left out of a later event's raw bytes, as pairs (start, end).
    cdef Py_ssize_t* _gaps
    cdef Py_ssize_t _ngaps
    cdef Py_ssize_t _gaps_cap

    cdef bint _bom_done
    cdef Py_ssize_t _bom_n
    cdef char _bom[3]

    # Fields of the current block, as offsets from the block's first byte.
    cdef bint _has_data
    cdef bint _multi  # more than one data line: the joined value is in _data
    cdef Py_ssize_t _data_rel
    cdef Py_ssize_t _data_len
    cdef Buffer _data
    cdef Py_ssize_t _event_rel
    cdef Py_ssize_t _event_len  # 0: no event type
    cdef object _block_retry
    cdef object _id_buffer

    cdef bytes _type_key  # last event type decoded, and its str
    cdef object _type_str

    cdef int setup(self, object max_event_size, object max_line_size) except -1
    cdef int restart(self) except -1
    cpdef list feed(self, object piece)
    cpdef list feed_payloads(self, object piece)
    cdef int feed_into(self, object piece, PayloadSink sink) except -1
    cdef int end(self) except -1
    cdef void _reset_block(self) noexcept
    cdef void _end_carry(self) noexcept
    cdef int _feed(self, object piece, list out, bint with_raw) except -1
    cdef int _read(self, const char* p, Py_ssize_t n, list out, bint with_raw) except -1
    cdef int _begin(self, const char* p, Py_ssize_t n, list out, bint with_raw) except -1
    cdef int _scan(self, const char* p, Py_ssize_t n, Py_ssize_t start, list out, bint with_raw) except -1
    cdef Py_ssize_t _event_block(self, list out, bint with_raw, const char* p, Py_ssize_t pos,
                                 Py_ssize_t n, Py_ssize_t cr_next) except -1
    cdef int _field(self, const char* blockp, Py_ssize_t rel, Py_ssize_t size) except -1
    cdef int _dispatch(self, list out, bint with_raw, const char* blockp, Py_ssize_t size,
                       Py_ssize_t boff) except -1
    cdef int _emit(self, list out, bint with_raw, object event, object payload,
                   const char* blockp, Py_ssize_t size, Py_ssize_t boff,
                   Py_ssize_t data_off) except -1
    cdef int _emit_at(self, list out, bint with_raw, object event, const char* d, Py_ssize_t dn,
                      const char* blockp, Py_ssize_t size, Py_ssize_t boff,
                      Py_ssize_t data_off) except -1
    cdef object _event_type(self, const char* s, Py_ssize_t size)
    cdef int _add_gap(self, Py_ssize_t start, Py_ssize_t end) except -1
    cdef object _raw_without_gaps(self, const char* blockp, Py_ssize_t size)
    cdef int _too_large(self, Py_ssize_t size, Py_ssize_t offset) except -1
    cdef int _line_too_long(self, Py_ssize_t offset, Py_ssize_t block_size,
                            Py_ssize_t block_offset) except -1


cdef SSEDecoder new_decoder(object max_event_size, object max_line_size)
