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
    /* Unset a slot (reading it then raises AttributeError, as after ``del``). */
    static inline void ssd_clear(PyObject *obj, Py_ssize_t off) {
        PyObject **slot = (PyObject **)((char *)obj + off);
        PyObject *old = *slot;
        *slot = NULL;
        Py_XDECREF(old);
    }

    /* PyObject_IS_GC, without its call for an object of a type the collector never tracks (a
       ``str``, an ``int``, ``None``): most values a model holds. */
    #define SSD_IS_GC(o) (PyType_IS_GC(Py_TYPE(o)) && PyObject_IS_GC(o))
    /* The collector's view of decoded objects (msgspec's rule): an object whose references are
       all untrackable (not collectable at all, or untracked) is untracked, as it can be part of
       no cycle; ssd_setattro tracks it again when an assignment gives it a collectable value. */
    static int ssd_visit_tracked(PyObject *ref, void *self) {
        if (ref == (PyObject *)Py_TYPE((PyObject *)self)) return 0;  /* heap types visit their type */
        return SSD_IS_GC(ref) && PyObject_GC_IsTracked(ref);
    }
    static int ssd_visit_push(PyObject *ref, void *stack) {
        if (SSD_IS_GC(ref) && !PyObject_GC_IsTracked(ref) && !PyType_Check(ref))
            return PyList_Append((PyObject *)stack, ref);
        return 0;
    }
    /* Track ``obj`` (when it is untracked) and every untracked object it reaches through untracked
       objects, so that no tracked object refers to an untracked one built with it. */
    static int ssd_track_tree(PyObject *obj) {
        PyObject *stack, *item;
        Py_ssize_t n;
        traverseproc traverse;
        if (!SSD_IS_GC(obj) || PyObject_GC_IsTracked(obj) || PyType_Check(obj)) return 0;
        stack = PyList_New(0);
        if (stack == NULL) return -1;
        if (PyList_Append(stack, obj) < 0) goto error;
        while ((n = PyList_GET_SIZE(stack)) > 0) {
            item = PyList_GET_ITEM(stack, n - 1);
            Py_INCREF(item);
            if (PyList_SetSlice(stack, n - 1, n, NULL) < 0) { Py_DECREF(item); goto error; }
            if (!PyObject_GC_IsTracked(item)) {
                PyObject_GC_Track(item);
                traverse = Py_TYPE(item)->tp_traverse;
                if (traverse != NULL && traverse(item, ssd_visit_push, stack) < 0) {
                    Py_DECREF(item);
                    goto error;
                }
            }
            Py_DECREF(item);
        }
        Py_DECREF(stack);
        return 0;
    error:
        Py_DECREF(stack);
        return -1;
    }
    /* A newly built object (a model or a list): untracked when it refers to no tracked object;
       else its untracked parts are tracked with it. */
    static int ssd_settle(PyObject *obj) {
        traverseproc traverse = Py_TYPE(obj)->tp_traverse;
        PyObject *stack;
        int status;
        if (!PyObject_GC_IsTracked(obj)) return 0;
        if (!traverse(obj, ssd_visit_tracked, obj)) {
            PyObject_GC_UnTrack(obj);
            return 0;
        }
        stack = PyList_New(0);
        if (stack == NULL) return -1;
        status = traverse(obj, ssd_visit_push, stack);
        if (status == 0) {
            Py_ssize_t i;
            for (i = 0; i < PyList_GET_SIZE(stack) && status == 0; i++)
                status = ssd_track_tree(PyList_GET_ITEM(stack, i));
        }
        Py_DECREF(stack);
        return status;
    }
    /* ssd_put that notes in ``*tracked`` whether ``value`` is a tracked object, for an object
       built slot by slot and settled by ssd_settle_known. */
    static inline void ssd_put_noting(PyObject *obj, Py_ssize_t off, PyObject *value, int *tracked) {
        ssd_put(obj, off, value);
        if (SSD_IS_GC(value) && PyObject_GC_IsTracked(value)) *tracked = 1;
    }
    /* ssd_settle of a newly built object all of whose references were put by ssd_put_noting
       (``tracked`` is what it noted) or are not collectable: untracked without a traversal. */
    static inline int ssd_settle_known(PyObject *obj, int tracked) {
        if (tracked) return ssd_settle(obj);
        PyObject_GC_UnTrack(obj);
        return 0;
    }
    /* The attribute setter of the models the native core builds: an untracked object given a
       collectable value is tracked again, with what it refers to; a collectable value that was
       untracked (a decoded object) is tracked with what it refers to. */
    static int ssd_setattro(PyObject *self, PyObject *name, PyObject *value) {
        if (PyObject_GenericSetAttr(self, name, value) < 0) return -1;
        if (value != NULL && SSD_IS_GC(value)) {
            if (ssd_track_tree(self) < 0 || ssd_track_tree(value) < 0) return -1;
        }
        return 0;
    }
    /* ssd_settle for an object built by Python code (a model from ``from_dict``) and the models,
       lists and dicts inside it, innermost first. */
    static int ssd_visit_settle(PyObject *ref, void *depth);
    static int ssd_settle_tree_at(PyObject *obj, Py_ssize_t depth) {
        if (!SSD_IS_GC(obj) || !PyObject_GC_IsTracked(obj) || depth > 32) return 0;
        if (Py_TYPE(obj)->tp_setattro != ssd_setattro && !PyList_CheckExact(obj) && !PyDict_CheckExact(obj))
            return 0;
        if (Py_TYPE(obj)->tp_traverse(obj, ssd_visit_settle, (void *)(depth + 1)) < 0) return -1;
        return ssd_settle(obj);
    }
    static int ssd_visit_settle(PyObject *ref, void *depth) {
        if (PyType_Check(ref)) return 0;
        return ssd_settle_tree_at(ref, (Py_ssize_t)depth);
    }
    static inline int ssd_settle_tree(PyObject *obj) {
        return ssd_settle_tree_at(obj, 0);
    }
    static inline void ssd_hook_setattr(PyObject *cls) {
        ((PyTypeObject *)cls)->tp_setattro = ssd_setattro;
        PyType_Modified((PyTypeObject *)cls);  /* attribute stores specialised before see it */
    }
    static inline int ssd_is_tracked(PyObject *obj) {
        return SSD_IS_GC(obj) && PyObject_GC_IsTracked(obj);
    }

    /* The deallocator of the model classes ssd_hook_dealloc accepted: their instances are only
       object slots (checked there), so freeing one is clearing them, where the interpreter's
       subtype_dealloc walks the class's members, weak references and dict first. A subclass keeps
       subtype_dealloc, which clears its own fields and then calls this one. */
    #define SSD_DEALLOC_DEPTH 32
    static int ssd_dealloc_depth = 0;
    static void ssd_dealloc(PyObject *self) {
        PyTypeObject *type = Py_TYPE(self), *tp = type;
        PyObject **slot, **end;
        while (tp->tp_dealloc != ssd_dealloc) tp = tp->tp_base;  /* the hooked class */
        PyObject_GC_UnTrack(self);
        if (tp->tp_finalize != NULL && type == tp) {  /* a __del__ given to the class later */
            PyObject_GC_Track(self);
            if (PyObject_CallFinalizerFromDealloc(self) < 0) return;  /* resurrected */
            PyObject_GC_UnTrack(self);
        }
        slot = (PyObject **)((char *)self + sizeof(PyObject));
        end = (PyObject **)((char *)self + tp->tp_basicsize);
    #ifndef Py_GIL_DISABLED
        /* Models freed inside models: the interpreter's trashcan (which defers a deep chain) only
           past a depth no result or chunk reaches. The count is shared by the threads freeing at
           once, so it is at least each one's depth. */
        if (ssd_dealloc_depth < SSD_DEALLOC_DEPTH) {
            ssd_dealloc_depth++;
            for (; slot < end; slot++) Py_CLEAR(*slot);
            type->tp_free(self);
            Py_DECREF(type);
            ssd_dealloc_depth--;
            return;
        }
    #endif
        Py_TRASHCAN_BEGIN(self, ssd_dealloc)
        for (; slot < end; slot++) Py_CLEAR(*slot);
        type->tp_free(self);
        Py_DECREF(type);
        Py_TRASHCAN_END
    }
    /* Give ``cls`` ssd_dealloc when its instances are its object slots and nothing else: a
       garbage-collected heap class derived from ``object`` through classes with ``__slots__``
       only, whose members (of plain object type) fill the instance after its header, with no
       ``__dict__``, weak references, items or finalizer. 1 when it did, 0 when it left it. */
    static inline int ssd_hook_dealloc(PyObject *cls) {
        PyTypeObject *tp = (PyTypeObject *)cls, *t;
        PyMemberDef *m;
        Py_ssize_t covered = 0, fields = tp->tp_basicsize - (Py_ssize_t)sizeof(PyObject);
        Py_ssize_t n = fields / (Py_ssize_t)sizeof(PyObject *);
        if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || !(tp->tp_flags & Py_TPFLAGS_HAVE_GC)
                || tp->tp_itemsize || tp->tp_dictoffset || tp->tp_weaklistoffset
                || tp->tp_finalize || tp->tp_del || tp->tp_free != PyObject_GC_Del
                || fields % (Py_ssize_t)sizeof(PyObject *))
            return 0;
        for (t = tp; t != &PyBaseObject_Type; t = t->tp_base) {
            if (t == NULL || !(t->tp_flags & Py_TPFLAGS_HEAPTYPE) || t->tp_dealloc != tp->tp_dealloc)
                return 0;
            for (m = t->tp_members; m != NULL && m->name != NULL; m++) {
                /* 16 is T_OBJECT_EX (Py_T_OBJECT_EX), 6 is T_OBJECT */
                if ((m->type != 16 && m->type != 6) || m->offset < (Py_ssize_t)sizeof(PyObject)
                        || m->offset >= tp->tp_basicsize)
                    return 0;
                covered++;
            }
        }
        if (covered != n) return 0;
        tp->tp_dealloc = ssd_dealloc;
        PyType_Modified(tp);
        return 1;
    }
    static inline int ssd_has_dealloc(PyObject *cls) {
        return ((PyTypeObject *)cls)->tp_dealloc == ssd_dealloc;
    }
    """
    Py_ssize_t ssd_slot_offset(object descr, object cls)
    object ssd_alloc(object cls)
    void ssd_put(object obj, Py_ssize_t off, object value)
    void* ssd_get(object obj, Py_ssize_t off)
    void ssd_clear(object obj, Py_ssize_t off)
    int ssd_settle(object obj) except -1
    void ssd_put_noting(object obj, Py_ssize_t off, object value, int* tracked)
    int ssd_settle_known(object obj, int tracked) except -1
    int ssd_track_tree(object obj) except -1
    int ssd_settle_tree(object obj) except -1
    void ssd_hook_setattr(object cls)
    bint ssd_is_tracked(object obj)
    bint ssd_hook_dealloc(object cls)
    bint ssd_has_dealloc(object cls)


cdef inline Py_ssize_t ssd_field_offset(type cls, str name):
    """The offset of the plain slot ``name`` of ``cls``, found through its MRO; -1 when it has none."""
    for klass in cls.__mro__:
        descr = klass.__dict__.get(name)
        if descr is not None:
            return ssd_slot_offset(descr, klass)
    return -1
