# Direct access to the fields of the models, which are slotted dataclasses: each field is a
# member descriptor at a fixed offset in the instance.

cdef extern from *:
    """
    #include <structmember.h>
    /* ssd_slot_offset() reads a field's offset once (-1 when the descriptor is not a plain
       writable object slot of the class), so a model can be built with one allocation and
       direct stores, and read with direct loads. */
    static inline Py_ssize_t ssd_slot_offset(PyObject *descr, PyObject *cls) {
        PyMemberDef *m;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        if ((PyObject *)((PyDescrObject *)descr)->d_type != cls) return -1;
        m = ((PyMemberDescrObject *)descr)->d_member;
        /* 16 is T_OBJECT_EX (Py_T_OBJECT_EX), 1 is READONLY (Py_READONLY) */
        if (m->type != 16 || (m->flags & 1)) return -1;
        return m->offset;
    }
    static inline PyObject *ssd_alloc(PyObject *cls) {
        PyTypeObject *tp = (PyTypeObject *)cls;
        return tp->tp_alloc(tp, 0);
    }
    static inline void ssd_put(PyObject *obj, Py_ssize_t off, PyObject *value) {
        PyObject **slot = (PyObject **)((char *)obj + off);
        PyObject *old = *slot;
        Py_INCREF(value);
        *slot = value;
        Py_XDECREF(old);
    }
    /* The value in a slot, borrowed; NULL when the slot was never set. */
    static inline PyObject *ssd_get(PyObject *obj, Py_ssize_t off) {
        return *(PyObject **)((char *)obj + off);
    }
    """
    Py_ssize_t ssd_slot_offset(object descr, object cls)
    object ssd_alloc(object cls)
    void ssd_put(object obj, Py_ssize_t off, object value)
    void* ssd_get(object obj, Py_ssize_t off)
