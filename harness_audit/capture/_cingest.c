/* The OTLP protobuf reading of ``collect`` in C (issue 28, item 5): one
 * ``ExportTraceServiceRequest`` body -> the parts of each span that
 * ``harness_audit.capture.decode`` reads, without the upb message objects in between.
 *
 * ``otlp_spans(data)`` returns a list with one tuple a span, in the order of the wire
 * (``resource_spans``, then ``scope_spans``, then ``spans``):
 *
 *     (trace_id: bytes, span_id: bytes, parent_span_id: bytes, name: str,
 *      start: int, end: int, status_code: int, attributes: dict,
 *      resource attributes: dict (one object for all spans of a ResourceSpans),
 *      events: list of (name: str, attributes: dict, time: int | None), the first 1000)
 *
 * exactly what ``decode._upb_parts`` makes of the same body through upb, or ``None`` when
 * the body is anything this reading does not take whole. It takes only what it knows:
 * every field of the messages above by its number and wire type, each singular field at
 * most once (a repeated one is merged by protobuf: upb's business), every ``string`` valid
 * UTF-8 (upb refuses the body otherwise), at most MAX_NEST messages deep. Anything else —
 * a field number it does not know (a newer schema's, or an unknown one), a group, a varint
 * past ten bytes, a length past the end, a field of the ``oneof`` set twice — gives
 * ``None``, and the caller parses the body with upb as before, which accepts it or says why
 * not. So the two readings give the same parts by construction wherever this one answers;
 * a differential test (``tests/test_cingest.py``) holds them to it.
 *
 * Values are read as ``decode._pb_value`` reads them: an attribute list's first 10,000
 * pairs (a key set twice keeps its first place and its last value, as a dict does), an
 * array's first 1,000 values, ``None`` for bytes, for a value with no member set, and below
 * 8 levels of arrays and maps (still parsed: upb parses them too). The input is hostile:
 * every read is bounds-checked, and the recursion is bounded by MAX_NEST.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define MAX_NEST 64        /* messages deep at most (upb's limit is 100) */
#define MAX_ATTRIBUTES 10000
#define MAX_ARRAY 1000
#define MAX_EVENTS 1000
#define MAX_VALUE_DEPTH 8

/* results of the readers: OK, BAIL (not taken: the caller uses upb; no exception set), or
   ERR (a Python exception is set: memory) */
#define OK 0
#define BAIL 1
#define ERR (-1)

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Buf;

static int varint(Buf *b, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (b->p >= b->end)
            return BAIL;
        uint8_t c = *b->p++;
        if (i == 9 && c > 1)
            return BAIL;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = v;
            return OK;
        }
    }
    return BAIL;
}

/* the next field: its number and wire type */
static int tag(Buf *b, uint32_t *field, int *wt)
{
    uint64_t t;
    if (varint(b, &t) != OK)
        return BAIL;
    if (t >> 32)
        return BAIL;
    *field = (uint32_t)(t >> 3);
    *wt = (int)(t & 7);
    return *field == 0 ? BAIL : OK;
}

/* a length-delimited field's bytes */
static int sub(Buf *b, Buf *out)
{
    uint64_t n;
    if (varint(b, &n) != OK)
        return BAIL;
    if (n > (uint64_t)(b->end - b->p))
        return BAIL;
    out->p = b->p;
    out->end = b->p + n;
    b->p += n;
    return OK;
}

static int fixed64(Buf *b, uint64_t *out)
{
    if (b->end - b->p < 8)
        return BAIL;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b->p[i];
    b->p += 8;
    *out = v;
    return OK;
}

/* the field was seen already: a second value of a singular field is not taken */
#define ONCE(mask, bit)                                                                        \
    do {                                                                                       \
        if ((mask) & (1u << (bit)))                                                            \
            return BAIL;                                                                       \
        (mask) |= 1u << (bit);                                                                 \
    } while (0)

/* a string field: a str (want) or only checked to be UTF-8 */
static int string(Buf *b, int wt, PyObject **out)
{
    Buf s;
    if (wt != 2 || sub(b, &s) != OK)
        return BAIL;
    const uint8_t *q = s.p;
    int ascii = 1;
    for (; q < s.end; q++)
        if (*q & 0x80) {
            ascii = 0;
            break;
        }
    if (!out) {
        if (ascii)
            return OK;
        PyObject *tmp = PyUnicode_DecodeUTF8((const char *)s.p, s.end - s.p, NULL);
        if (!tmp) {
            PyErr_Clear();
            return BAIL;
        }
        Py_DECREF(tmp);
        return OK;
    }
    PyObject *o;
    if (ascii) {
        o = PyUnicode_New(s.end - s.p, 127);
        if (!o)
            return ERR;
        memcpy(PyUnicode_DATA(o), s.p, (size_t)(s.end - s.p));
    }
    else {
        o = PyUnicode_DecodeUTF8((const char *)s.p, s.end - s.p, NULL);
        if (!o) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                return ERR;
            PyErr_Clear();
            return BAIL;
        }
    }
    Py_XSETREF(*out, o);
    return OK;
}

static int skip_scalar(Buf *b, int wt, int want)
{
    uint64_t v;
    if (wt != want)
        return BAIL;
    if (wt == 0)
        return varint(b, &v);
    if (wt == 1)
        return fixed64(b, &v);
    if (wt == 5) {
        if (b->end - b->p < 4)
            return BAIL;
        b->p += 4;
        return OK;
    }
    return BAIL;
}

static int key_values(Buf b, int nest, int depth, PyObject *into);

/* an AnyValue: *out (a new reference) is what _pb_value(v, depth) gives; out NULL: only
   checked */
static int any_value(Buf b, int nest, int depth, PyObject **out)
{
    uint32_t f;
    int wt, r, set = 0;
    PyObject *v = NULL;
    uint64_t x;
    if (nest > MAX_NEST)
        return BAIL;
    int want = out != NULL && depth <= MAX_VALUE_DEPTH;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK)
            goto bail;
        if (f >= 1 && f <= 7) {
            if (set)
                goto bail; /* a oneof set twice: upb's (the last one, merged) */
            set = 1;
        }
        switch (f) {
        case 1:
            r = string(&b, wt, want ? &v : NULL);
            if (r != OK)
                goto fail_r;
            break;
        case 2:
        case 3:
            if (wt != 0 || varint(&b, &x) != OK)
                goto bail;
            if (want) {
                v = f == 2 ? PyBool_FromLong(x != 0) : PyLong_FromLongLong((long long)(int64_t)x);
                if (!v)
                    return ERR;
            }
            break;
        case 4: {
            if (wt != 1 || fixed64(&b, &x) != OK)
                goto bail;
            if (want) {
                double d;
                memcpy(&d, &x, 8);
                v = PyFloat_FromDouble(d);
                if (!v)
                    return ERR;
            }
            break;
        }
        case 5: { /* ArrayValue: values (1), repeated AnyValue */
            Buf a, item;
            if (wt != 2 || sub(&b, &a) != OK)
                goto bail;
            if (nest + 1 > MAX_NEST)
                goto bail;
            if (want && !(v = PyList_New(0)))
                return ERR;
            Py_ssize_t n = 0;
            while (a.p < a.end) {
                if (tag(&a, &f, &wt) != OK || f != 1 || wt != 2 || sub(&a, &item) != OK)
                    goto bail;
                PyObject *one = NULL;
                int keep = want && n < MAX_ARRAY;
                r = any_value(item, nest + 2, depth + 1, keep ? &one : NULL);
                if (r != OK)
                    goto fail_r;
                if (keep) {
                    if (!one) {
                        one = Py_None;
                        Py_INCREF(one);
                    }
                    int e = PyList_Append(v, one);
                    Py_DECREF(one);
                    if (e < 0)
                        goto err;
                }
                n++;
            }
            break;
        }
        case 6: { /* KeyValueList: values (1), repeated KeyValue */
            Buf a;
            if (wt != 2 || sub(&b, &a) != OK)
                goto bail;
            if (want && !(v = PyDict_New()))
                return ERR;
            r = key_values(a, nest + 1, depth + 1, want ? v : NULL);
            if (r != OK)
                goto fail_r;
            break;
        }
        case 7: {
            Buf s;
            if (wt != 2 || sub(&b, &s) != OK)
                goto bail;
            break; /* bytes carry nothing the mapping reads: None */
        }
        default:
            goto bail; /* a member this reading does not know (string_value_strindex, ...) */
        }
    }
    if (out)
        *out = v; /* NULL: nothing set, or too deep: the caller's None */
    else
        Py_XDECREF(v);
    return OK;
fail_r:
    Py_XDECREF(v);
    return r;
bail:
    Py_XDECREF(v);
    return BAIL;
err:
    Py_XDECREF(v);
    return ERR;
}

/* a KeyValueList's or an attribute list's body is a run of field 1 (KeyValueList) — the
   callers that hold attributes under another field number use key_value directly */
static int key_value(Buf b, int nest, int depth, PyObject *into, int keep)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    PyObject *key = NULL, *val = NULL;
    Buf s;
    if (nest > MAX_NEST)
        return BAIL;
    int want = into != NULL && keep;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK)
            goto bail;
        if (f == 1) {
            if (seen & 1)
                goto bail;
            seen |= 1;
            r = string(&b, wt, want ? &key : NULL);
            if (r != OK)
                goto fail_r;
        }
        else if (f == 2) {
            if ((seen & 2) || wt != 2 || sub(&b, &s) != OK)
                goto bail;
            seen |= 2;
            r = any_value(s, nest + 1, depth, want ? &val : NULL);
            if (r != OK)
                goto fail_r;
        }
        else
            goto bail; /* key_strindex, or unknown */
    }
    if (want) {
        if (!key) {
            key = PyUnicode_New(0, 127);
            if (!key)
                goto err;
        }
        if (PyDict_SetItem(into, key, val ? val : Py_None) < 0)
            goto err;
    }
    Py_XDECREF(key);
    Py_XDECREF(val);
    return OK;
fail_r:
    Py_XDECREF(key);
    Py_XDECREF(val);
    return r;
bail:
    Py_XDECREF(key);
    Py_XDECREF(val);
    return BAIL;
err:
    Py_XDECREF(key);
    Py_XDECREF(val);
    return ERR;
}

/* one KeyValue of a repeated attribute field: the count decides whether it is kept */
static int attribute(Buf *b, int wt, int nest, PyObject *into, Py_ssize_t *count)
{
    Buf s;
    if (wt != 2 || sub(b, &s) != OK)
        return BAIL;
    int keep = *count < MAX_ATTRIBUTES;
    (*count)++;
    return key_value(s, nest + 1, 0, into, keep);
}

static int key_values(Buf b, int nest, int depth, PyObject *into)
{
    uint32_t f;
    int wt, r;
    Py_ssize_t n = 0;
    Buf s;
    if (nest > MAX_NEST)
        return BAIL;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || f != 1 || wt != 2 || sub(&b, &s) != OK)
            return BAIL;
        r = key_value(s, nest + 1, depth, into, n < MAX_ATTRIBUTES);
        if (r != OK)
            return r;
        n++;
    }
    return OK;
}

/* a message of attributes and scalars only, read to be checked: Resource (attributes 1,
   dropped 2), InstrumentationScope (name 1, version 2, attributes 3, dropped 4), Link
   (trace_id 1, span_id 2, trace_state 3, attributes 4, dropped 5, flags 6). ``into`` (may
   be NULL) takes the attributes. */
enum { RESOURCE, SCOPE, LINK };

static int checked(Buf b, int what, int nest, PyObject *into)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    Py_ssize_t count = 0;
    Buf s;
    if (nest > MAX_NEST)
        return BAIL;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || f > 6)
            return BAIL;
        int attrs = (what == RESOURCE && f == 1) || (what == SCOPE && f == 3) ||
                    (what == LINK && f == 4);
        if (attrs) {
            r = attribute(&b, wt, nest, into, &count);
            if (r != OK)
                return r;
            continue;
        }
        ONCE(seen, f);
        if (what == RESOURCE) {
            if (f != 2 || skip_scalar(&b, wt, 0) != OK)
                return BAIL;
        }
        else if (what == SCOPE) {
            if (f == 1 || f == 2) {
                if ((r = string(&b, wt, NULL)) != OK)
                    return r;
            }
            else if (f != 4 || skip_scalar(&b, wt, 0) != OK)
                return BAIL;
        }
        else {
            if (f == 1 || f == 2) {
                if (wt != 2 || sub(&b, &s) != OK)
                    return BAIL;
            }
            else if (f == 3) {
                if ((r = string(&b, wt, NULL)) != OK)
                    return r;
            }
            else if (f == 5) {
                if (skip_scalar(&b, wt, 0) != OK)
                    return BAIL;
            }
            else if (f != 6 || skip_scalar(&b, wt, 5) != OK)
                return BAIL;
        }
    }
    return OK;
}

static PyObject *empty_bytes, *empty_str;

/* a Span.Event: (name, attributes, time or None), or only checked (out NULL) */
static int event(Buf b, int nest, PyObject **out)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    Py_ssize_t count = 0;
    uint64_t t = 0;
    PyObject *name = NULL, *attrs = NULL;
    if (nest > MAX_NEST)
        return BAIL;
    if (out && !(attrs = PyDict_New()))
        return ERR;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK)
            goto bail;
        if (f == 3) {
            r = attribute(&b, wt, nest, attrs, &count);
            if (r != OK)
                goto fail_r;
            continue;
        }
        if (f > 4 || (seen & (1u << f)))
            goto bail;
        seen |= 1u << f;
        if (f == 1) {
            if (wt != 1 || fixed64(&b, &t) != OK)
                goto bail;
        }
        else if (f == 2) {
            r = string(&b, wt, out ? &name : NULL);
            if (r != OK)
                goto fail_r;
        }
        else if (skip_scalar(&b, wt, 0) != OK)
            goto bail;
    }
    if (out) {
        PyObject *ts = t ? PyLong_FromUnsignedLongLong(t) : Py_NewRef(Py_None);
        if (!ts)
            goto err;
        *out = PyTuple_Pack(3, name ? name : empty_str, attrs, ts);
        Py_DECREF(ts);
        if (!*out)
            goto err;
    }
    Py_XDECREF(name);
    Py_XDECREF(attrs);
    return OK;
fail_r:
    Py_XDECREF(name);
    Py_XDECREF(attrs);
    return r;
bail:
    Py_XDECREF(name);
    Py_XDECREF(attrs);
    return BAIL;
err:
    Py_XDECREF(name);
    Py_XDECREF(attrs);
    return ERR;
}

/* a Status: its code (open enum, int32) */
static int status(Buf b, int nest, int32_t *code)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    uint64_t x;
    if (nest > MAX_NEST)
        return BAIL;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || (f != 2 && f != 3))
            return BAIL;
        ONCE(seen, f);
        if (f == 2) {
            if ((r = string(&b, wt, NULL)) != OK)
                return r;
        }
        else {
            if (wt != 0 || varint(&b, &x) != OK)
                return BAIL;
            *code = (int32_t)(uint32_t)x;
        }
    }
    return OK;
}

static PyObject *bytes_of(Buf s)
{
    if (s.p == s.end)
        return Py_NewRef(empty_bytes);
    return PyBytes_FromStringAndSize((const char *)s.p, s.end - s.p);
}

/* a Span -> its tuple, appended to out */
static int span(Buf b, int nest, PyObject *res, PyObject *out)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    Py_ssize_t count = 0, nevents = 0;
    uint64_t start = 0, end = 0;
    int32_t code = 0;
    Buf tid = {NULL, NULL}, sid = {NULL, NULL}, pid = {NULL, NULL}, s;
    PyObject *name = NULL, *attrs = NULL, *events = NULL, *item = NULL;
    if (nest > MAX_NEST)
        return BAIL;
    if (!(attrs = PyDict_New()) || !(events = PyList_New(0)))
        goto err;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || f > 16)
            goto bail;
        if (f == 9) {
            r = attribute(&b, wt, nest, attrs, &count);
            if (r != OK)
                goto fail_r;
            continue;
        }
        if (f == 11 || f == 13) {
            if (wt != 2 || sub(&b, &s) != OK)
                goto bail;
            if (f == 13) {
                r = checked(s, LINK, nest + 1, NULL);
                if (r != OK)
                    goto fail_r;
                continue;
            }
            PyObject *ev = NULL;
            r = event(s, nest + 1, nevents < MAX_EVENTS ? &ev : NULL);
            if (r != OK)
                goto fail_r;
            nevents++;
            if (ev) {
                int e = PyList_Append(events, ev);
                Py_DECREF(ev);
                if (e < 0)
                    goto err;
            }
            continue;
        }
        ONCE(seen, f);
        switch (f) {
        case 1:
        case 2:
        case 4:
            if (wt != 2 || sub(&b, f == 1 ? &tid : f == 2 ? &sid : &pid) != OK)
                goto bail;
            break;
        case 3:
        case 5:
            r = string(&b, wt, f == 5 ? &name : NULL);
            if (r != OK)
                goto fail_r;
            break;
        case 6:
        case 10:
        case 12:
        case 14:
            if (skip_scalar(&b, wt, 0) != OK)
                goto bail;
            break;
        case 7:
        case 8:
            if (wt != 1 || fixed64(&b, f == 7 ? &start : &end) != OK)
                goto bail;
            break;
        case 15:
            if (wt != 2 || sub(&b, &s) != OK)
                goto bail;
            r = status(s, nest + 1, &code);
            if (r != OK)
                goto fail_r;
            break;
        case 16:
            if (skip_scalar(&b, wt, 5) != OK)
                goto bail;
            break;
        default:
            goto bail;
        }
    }
    {
        PyObject *t = bytes_of(tid), *sp = bytes_of(sid), *pp = bytes_of(pid);
        PyObject *st = PyLong_FromUnsignedLongLong(start), *en = PyLong_FromUnsignedLongLong(end);
        PyObject *cd = PyLong_FromLong(code);
        if (t && sp && pp && st && en && cd)
            item = PyTuple_Pack(10, t, sp, pp, name ? name : empty_str, st, en, cd, attrs, res,
                                events);
        Py_XDECREF(t);
        Py_XDECREF(sp);
        Py_XDECREF(pp);
        Py_XDECREF(st);
        Py_XDECREF(en);
        Py_XDECREF(cd);
        if (!item || PyList_Append(out, item) < 0)
            goto err;
        Py_DECREF(item);
    }
    Py_XDECREF(name);
    Py_DECREF(attrs);
    Py_DECREF(events);
    return OK;
fail_r:
    Py_XDECREF(name);
    Py_XDECREF(attrs);
    Py_XDECREF(events);
    return r;
bail:
    r = BAIL;
    goto fail_r;
err:
    Py_XDECREF(item);
    r = ERR;
    goto fail_r;
}

static int scope_spans(Buf b, int nest, PyObject *res, PyObject *out)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    Buf s;
    if (nest > MAX_NEST)
        return BAIL;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || f > 3)
            return BAIL;
        if (f == 2) {
            if (wt != 2 || sub(&b, &s) != OK)
                return BAIL;
            if ((r = span(s, nest + 1, res, out)) != OK)
                return r;
            continue;
        }
        ONCE(seen, f);
        if (f == 1) {
            if (wt != 2 || sub(&b, &s) != OK)
                return BAIL;
            if ((r = checked(s, SCOPE, nest + 1, NULL)) != OK)
                return r;
        }
        else if ((r = string(&b, wt, NULL)) != OK)
            return r;
    }
    return OK;
}

static int resource_spans(Buf b, int nest, PyObject *out)
{
    uint32_t f;
    int wt, r;
    unsigned seen = 0;
    Buf s, all = b;
    if (nest > MAX_NEST)
        return BAIL;
    PyObject *res = PyDict_New();
    if (!res)
        return ERR;
    /* the resource first (it may come after the spans on the wire), then the spans */
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK || f > 3)
            goto bail;
        if (f == 2) {
            if (wt != 2 || sub(&b, &s) != OK)
                goto bail;
            continue;
        }
        if (seen & (1u << f))
            goto bail;
        seen |= 1u << f;
        if (f == 1) {
            if (wt != 2 || sub(&b, &s) != OK)
                goto bail;
            if ((r = checked(s, RESOURCE, nest + 1, res)) != OK)
                goto fail_r;
        }
        else if ((r = string(&b, wt, NULL)) != OK)
            goto fail_r;
    }
    b = all;
    while (b.p < b.end) {
        if (tag(&b, &f, &wt) != OK)
            goto bail;
        if (f != 2) {
            if (sub(&b, &s) != OK)
                goto bail;
            continue;
        }
        if (sub(&b, &s) != OK)
            goto bail;
        if ((r = scope_spans(s, nest + 1, res, out)) != OK)
            goto fail_r;
    }
    Py_DECREF(res);
    return OK;
fail_r:
    Py_DECREF(res);
    return r;
bail:
    Py_DECREF(res);
    return BAIL;
}

static PyObject *otlp_spans(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    uint32_t f;
    int wt, r = OK;
    Buf s;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Buf b = {(const uint8_t *)view.buf, (const uint8_t *)view.buf + view.len};
    PyObject *out = PyList_New(0);
    if (!out) {
        PyBuffer_Release(&view);
        return NULL;
    }
    while (b.p < b.end && r == OK) {
        if (tag(&b, &f, &wt) != OK || f != 1 || wt != 2 || sub(&b, &s) != OK)
            r = BAIL;
        else
            r = resource_spans(s, 1, out);
    }
    PyBuffer_Release(&view);
    if (r == OK)
        return out;
    Py_DECREF(out);
    if (r == ERR)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"otlp_spans", otlp_spans, METH_O,
     "otlp_spans(data) -> list of span tuples, or None when upb must read the body (see the "
     "module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cingest",
    "The OTLP protobuf reading of collect in C (see decode._upb_parts, its reference).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cingest(void)
{
    empty_bytes = PyBytes_FromStringAndSize(NULL, 0);
    empty_str = PyUnicode_New(0, 127);
    if (!empty_bytes || !empty_str)
        return NULL;
    return PyModule_Create(&module);
}
