/* og_preview._scan: the two byte scans of scan.py that cost the most, compiled.
 *
 * scan.py holds the reference for each: tokens_python() for tokens() (the pass of
 * Scan.document()) and Scan.signal_tags_python() for signal_tags() (where the body's
 * bylines and dates are). tests/unit/test_scan_native.py holds each pair to the same output
 * on the corpus and on generated pages. This module is optional: when it is not built (no C
 * compiler), og-preview runs the Python passes.
 *
 * tokens(data, body_at, max_fragments, max_fragment_bytes, max_times)
 *   -> (html_tag | None, head_tag | None, parts, skipped, times)
 * signal_tags(data, body_at, skipped, words, max_windows, max_hits, big_skip) -> [start, ...]
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static inline unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* does data[at:] start with `word` (lower-case ASCII), ignoring ASCII case? */
static int starts_ci(const unsigned char *data, Py_ssize_t n, Py_ssize_t at, const char *word) {
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    if (at < 0 || n - at < len) return 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (lower(data[at + i]) != (unsigned char)word[i]) return 0;
    }
    return 1;
}

/* the regex (?=[ \t\n\r\f/>]|\Z) at `at` */
static int name_end(const unsigned char *data, Py_ssize_t n, Py_ssize_t at) {
    if (at >= n) return 1;
    unsigned char c = data[at];
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>';
}

/* re's \s for bytes: [ \t\n\r\f\v] */
static inline int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* the end of the first match of </(?i:NAME)\s*> at or after `from`, or -1 */
static Py_ssize_t close_tag_end(const unsigned char *data, Py_ssize_t n, Py_ssize_t from,
                                const char *name) {
    Py_ssize_t len = (Py_ssize_t)strlen(name);
    Py_ssize_t at = from;
    while (at < n) {
        const unsigned char *lt = memchr(data + at, '<', (size_t)(n - at));
        if (lt == NULL) return -1;
        Py_ssize_t i = lt - data;
        if (i + 1 < n && data[i + 1] == '/' && starts_ci(data, n, i + 2, name)) {
            Py_ssize_t j = i + 2 + len;
            while (j < n && is_space(data[j])) j++;
            if (j < n && data[j] == '>') return j + 1;
        }
        at = i + 1;
    }
    return -1;
}

/* first index of `needle` in data[from:], or -1 */
static Py_ssize_t find(const unsigned char *data, Py_ssize_t n, Py_ssize_t from,
                       const char *needle) {
    Py_ssize_t len = (Py_ssize_t)strlen(needle);
    Py_ssize_t at = from;
    while (at + len <= n) {
        const unsigned char *hit = memchr(data + at, needle[0], (size_t)(n - at));
        if (hit == NULL) return -1;
        Py_ssize_t i = hit - data;
        if (i + len > n) return -1;
        if (memcmp(data + i, needle, (size_t)len) == 0) return i;
        at = i + 1;
    }
    return -1;
}

/* does data[a:b], lower-cased, contain `needle` (lower-case)? */
static int contains_ci(const unsigned char *data, Py_ssize_t a, Py_ssize_t b, const char *needle) {
    Py_ssize_t len = (Py_ssize_t)strlen(needle);
    for (Py_ssize_t i = a; i + len <= b; i++) {
        if (starts_ci(data, b, i, needle)) return 1;
    }
    return 0;
}

/* The quote-aware rest of a start tag, as ((?:[^>"']++|"[^"]*+"|'[^']*+')*+>)? matches it at
 * `at`: the index after its '>', or -1 when that group does not match. */
static Py_ssize_t tag_rest(const unsigned char *data, Py_ssize_t n, Py_ssize_t at) {
    Py_ssize_t i = at;
    while (i < n) {
        unsigned char c = data[i];
        if (c == '>') return i + 1;
        if (c == '"' || c == '\'') {
            const unsigned char *close = memchr(data + i + 1, c, (size_t)(n - i - 1));
            if (close == NULL) return -1; /* an unterminated quote ends the loop: no '>' next */
            i = (close - data) + 1;
            continue;
        }
        i++;
    }
    return -1;
}

static int append_slice(PyObject *list, const unsigned char *data, Py_ssize_t a, Py_ssize_t b) {
    PyObject *item = PyBytes_FromStringAndSize((const char *)data + a, b - a);
    if (item == NULL) return -1;
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

static int append_span(PyObject *list, Py_ssize_t a, Py_ssize_t b) {
    PyObject *item = Py_BuildValue("(nn)", a, b);
    if (item == NULL) return -1;
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

/* data[a:b] + suffix, appended to list */
static int append_with(PyObject *list, const unsigned char *data, Py_ssize_t a, Py_ssize_t b,
                       const char *suffix) {
    Py_ssize_t extra = (Py_ssize_t)strlen(suffix);
    PyObject *item = PyBytes_FromStringAndSize(NULL, b - a + extra);
    if (item == NULL) return -1;
    char *out = PyBytes_AS_STRING(item);
    memcpy(out, data + a, (size_t)(b - a));
    memcpy(out + (b - a), suffix, (size_t)extra);
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

/* The next '<' that can start one of our tokens (the filter of scan._TOKEN's lookahead). */
static Py_ssize_t next_candidate(const unsigned char *data, Py_ssize_t n, Py_ssize_t at) {
    while (at < n) {
        const unsigned char *lt = memchr(data + at, '<', (size_t)(n - at));
        if (lt == NULL) return -1;
        Py_ssize_t i = lt - data;
        if (i + 1 < n) {
            unsigned char c = lower(data[i + 1]);
            if (c == '!' || c == 's' || c == 'm' || c == 'l' || c == 'b' || c == 't' ||
                c == 'h') {
                return i;
            }
        }
        at = i + 1;
    }
    return -1;
}

static PyObject *tokens(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t body_at, max_fragments, max_bytes, max_times;
    if (!PyArg_ParseTuple(args, "y*nnnn", &view, &body_at, &max_fragments, &max_bytes,
                          &max_times)) {
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    PyObject *parts = PyList_New(0), *skipped = PyList_New(0), *times = PyList_New(0);
    PyObject *html = NULL, *head = NULL, *result = NULL;
    if (parts == NULL || skipped == NULL || times == NULL) goto done;
    int want_title = 1;
    Py_ssize_t size = 0, pos = 0;
    while (PyList_GET_SIZE(parts) < max_fragments && size < max_bytes) {
        Py_ssize_t start = next_candidate(data, n, pos);
        if (start < 0) break;
        Py_ssize_t name_at = start + 1;
        if (starts_ci(data, n, name_at, "!--")) { /* a comment */
            Py_ssize_t after = name_at + 3;
            Py_ssize_t close = find(data, n, after, "-->");
            pos = close < 0 ? n : close + 3;
            if (append_span(skipped, start, pos) < 0) goto done;
            continue;
        }
        if (starts_ci(data, n, name_at, "script") && name_end(data, n, name_at + 6)) {
            Py_ssize_t attrs = name_at + 6;
            const unsigned char *gt = memchr(data + attrs, '>', (size_t)(n - attrs));
            if (gt == NULL) { /* a start tag that never ends swallows the page */
                if (append_span(skipped, start, n) < 0) goto done;
                break;
            }
            Py_ssize_t attrs_end = gt - data;
            Py_ssize_t close = close_tag_end(data, n, attrs_end + 1, "script");
            pos = close < 0 ? n : close;
            if (contains_ci(data, attrs, attrs_end, "ld+json")) {
                if (append_slice(parts, data, start, pos) < 0) goto done;
                size += pos - start;
            } else if (append_span(skipped, start, pos) < 0) {
                goto done;
            }
            continue;
        }
        if (starts_ci(data, n, name_at, "style") && name_end(data, n, name_at + 5)) {
            Py_ssize_t after = name_at + 5;
            const unsigned char *gt = memchr(data + after, '>', (size_t)(n - after));
            if (gt == NULL) {
                if (append_span(skipped, start, n) < 0) goto done;
                break;
            }
            Py_ssize_t close = close_tag_end(data, n, gt - data, "style");
            pos = close < 0 ? n : close;
            if (append_span(skipped, start, pos) < 0) goto done;
            continue;
        }
        if (starts_ci(data, n, name_at, "title") && name_end(data, n, name_at + 5)) {
            Py_ssize_t close = close_tag_end(data, n, name_at + 5, "title");
            pos = close < 0 ? n : close;
            if (want_title) {
                if (append_with(parts, data, start, pos, close < 0 ? "</title>" : "") < 0) {
                    goto done;
                }
                want_title = 0;
            }
            continue;
        }
        static const char *const names[] = {"meta", "link", "base", "html", "head", "time"};
        const char *name = NULL;
        for (int k = 0; k < 6; k++) {
            Py_ssize_t len = (Py_ssize_t)strlen(names[k]);
            if (starts_ci(data, n, name_at, names[k]) && name_end(data, n, name_at + len)) {
                name = names[k];
                break;
            }
        }
        if (name == NULL) { /* not ours: the next '<' */
            pos = start + 1;
            continue;
        }
        Py_ssize_t after_name = name_at + 4;
        Py_ssize_t end = tag_rest(data, n, after_name);
        if (end < 0) { /* an unterminated quote: resume after the next '>' */
            const unsigned char *gt = memchr(data + after_name, '>', (size_t)(n - after_name));
            if (gt == NULL) break;
            pos = (gt - data) + 1;
            continue;
        }
        pos = end;
        if (name[0] == 'h') {
            if (name[1] == 't') {
                if (html == NULL) {
                    html = PyBytes_FromStringAndSize((const char *)data + start, end - start);
                    if (html == NULL) goto done;
                }
            } else if (head == NULL) {
                head = PyBytes_FromStringAndSize((const char *)data + start, end - start);
                if (head == NULL) goto done;
            }
        } else if (name[0] == 't') {
            if (start >= body_at && PyList_GET_SIZE(times) < max_times) {
                if (append_with(times, data, start, end, "</time>") < 0) goto done;
            }
        } else {
            if (name[0] == 'l' && !contains_ci(data, start, end, "icon") &&
                !contains_ci(data, start, end, "canonical") &&
                !contains_ci(data, start, end, "image_src")) {
                continue; /* a <link> extraction does not read */
            }
            if (append_slice(parts, data, start, end) < 0) goto done;
            size += end - start;
        }
    }
    result = Py_BuildValue("(OOOOO)", html ? html : Py_None, head ? head : Py_None, parts,
                           skipped, times);
done:
    Py_XDECREF(html);
    Py_XDECREF(head);
    Py_XDECREF(parts);
    Py_XDECREF(skipped);
    Py_XDECREF(times);
    PyBuffer_Release(&view);
    return result;
}


/* ---------------------------------------------------------------- signal_tags */

/* the regex \s(?i:itemprop|rel|class|id)\s*=\s*["']?[^"'<>=]*$ searched in data[tag:end] */
static int signal_attr(const unsigned char *data, Py_ssize_t tag, Py_ssize_t end) {
    Py_ssize_t q = end - 1;
    while (q >= tag && !(data[q] == '"' || data[q] == '\'' || data[q] == '<' || data[q] == '>' ||
                         data[q] == '=')) {
        q--;
    }
    if (q < tag || data[q] == '<' || data[q] == '>') return 0;
    Py_ssize_t e = q;
    if (data[q] != '=') { /* the optional quote after =\s* */
        e = q - 1;
        while (e >= tag && is_space(data[e])) e--;
        if (e < tag || data[e] != '=') return 0;
    }
    Py_ssize_t k = e; /* the name ends where the white space before "=" starts */
    while (k - 1 >= tag && is_space(data[k - 1])) k--;
    static const char *const names[] = {"itemprop", "rel", "class", "id"};
    for (int i = 0; i < 4; i++) {
        Py_ssize_t len = (Py_ssize_t)strlen(names[i]);
        Py_ssize_t at = k - len;
        if (at - 1 >= tag && is_space(data[at - 1]) && starts_ci(data, k, at, names[i])) return 1;
    }
    return 0;
}

/* the first ASCII-case-insensitive match of `word` (lower-case) in data[from:to], or -1 */
static Py_ssize_t find_ci(const unsigned char *data, Py_ssize_t from, Py_ssize_t to,
                          const unsigned char *word, Py_ssize_t len) {
    if (len == 0) return from <= to ? from : -1;
    unsigned char first = word[0], upper = (first >= 'a' && first <= 'z') ? first - 32 : first;
    Py_ssize_t at = from;
    /* the next upper-case first letter, looked for again only once passed (it is rare:
       looking for it at every lower-case one would scan the rest of the page each time) */
    const unsigned char *next_upper = NULL;
    int upper_gone = upper == first;
    while (at + len <= to) {
        if (!upper_gone && (next_upper == NULL || next_upper < data + at)) {
            next_upper = memchr(data + at, upper, (size_t)(to - at));
            upper_gone = next_upper == NULL;
        }
        const unsigned char *a = memchr(data + at, first, (size_t)(to - at));
        const unsigned char *b = upper_gone ? NULL : next_upper;
        const unsigned char *hit = a == NULL ? b : (b == NULL || a < b ? a : b);
        if (hit == NULL) return -1;
        Py_ssize_t i = hit - data;
        if (i + len > to) return -1;
        Py_ssize_t j = 1;
        while (j < len && lower(data[i + j]) == word[j]) j++;
        if (j == len) return i;
        at = i + 1;
    }
    return -1;
}

static PyObject *signal_tags(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t cut, max_windows, max_hits, big_skip;
    PyObject *skipped_obj, *words_obj;
    if (!PyArg_ParseTuple(args, "y*nOOnnn", &view, &cut, &skipped_obj, &words_obj, &max_windows,
                          &max_hits, &big_skip)) {
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    PyObject *result = NULL;
    Py_ssize_t *spans = NULL, *pieces = NULL, *starts = NULL;
    PyObject *skipped = PySequence_Fast(skipped_obj, "skipped must be a sequence");
    PyObject *words = skipped ? PySequence_Fast(words_obj, "words must be a sequence") : NULL;
    if (words == NULL) goto done;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(skipped);
    Py_ssize_t nwords = PySequence_Fast_GET_SIZE(words);
    spans = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (size_t)(count + 1));
    pieces = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (size_t)(count + 2));
    starts = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(max_windows * (nwords + 1) + 1));
    if (spans == NULL || pieces == NULL || starts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (cut < 0) cut = 0;
    if (cut > n) cut = n;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *span = PySequence_Fast_GET_ITEM(skipped, i);
        if (!PyArg_ParseTuple(span, "nn", &spans[2 * i], &spans[2 * i + 1])) goto done;
        for (int k = 0; k < 2; k++) { /* (only ever inside the page) */
            if (spans[2 * i + k] < 0) spans[2 * i + k] = 0;
            if (spans[2 * i + k] > n) spans[2 * i + k] = n;
        }
    }
    /* the pieces of the body between big skipped regions, as scan.Scan._searchable cuts them */
    Py_ssize_t npieces = 0, pos = cut;
    for (Py_ssize_t i = 0; i <= count; i++) {
        Py_ssize_t start = i < count ? spans[2 * i] : n, stop = i < count ? spans[2 * i + 1] : n;
        if (stop <= pos || (stop - start < big_skip && start < n)) continue;
        if (start > pos) {
            pieces[2 * npieces] = pos;
            pieces[2 * npieces + 1] = start;
            npieces++;
        }
        pos = stop;
    }
    Py_ssize_t nstarts = 0, hits = 0;
    for (Py_ssize_t w = 0; w < nwords; w++) {
        PyObject *word_obj = PySequence_Fast_GET_ITEM(words, w);
        if (!PyBytes_Check(word_obj)) {
            PyErr_SetString(PyExc_TypeError, "words must be bytes");
            goto done;
        }
        const unsigned char *word = (const unsigned char *)PyBytes_AS_STRING(word_obj);
        Py_ssize_t size = PyBytes_GET_SIZE(word_obj), mine = 0, last = -1;
        for (Py_ssize_t p = 0; p < npieces && hits < max_hits && mine < max_windows; p++) {
            Py_ssize_t at = pieces[2 * p], piece_end = pieces[2 * p + 1];
            while (hits < max_hits && mine < max_windows) {
                Py_ssize_t found = find_ci(data, at, piece_end, word, size);
                if (found < 0) break;
                hits++;
                /* inside a (small) comment, script or style: on after its end */
                Py_ssize_t lo = 0, hi = count;
                while (lo < hi) {
                    Py_ssize_t mid = (lo + hi) / 2;
                    if (spans[2 * mid] <= found) lo = mid + 1; else hi = mid;
                }
                if (lo > 0 && spans[2 * (lo - 1)] <= found && found < spans[2 * (lo - 1) + 1]) {
                    at = spans[2 * (lo - 1) + 1];
                    continue;
                }
                Py_ssize_t tag = found - 1;
                while (tag >= cut && data[tag] != '<') tag--;
                if (tag < cut) tag = -1;
                if (tag > last) {
                    int known = 0;
                    for (Py_ssize_t i = 0; i < nstarts; i++) {
                        if (starts[i] == tag) { known = 1; break; }
                    }
                    if (known) {
                        mine++;
                        last = tag;
                    } else if (memchr(data + tag, '>', (size_t)(found - tag)) == NULL &&
                               (data[tag + 1] | 0x20) >= 0x61 && (data[tag + 1] | 0x20) <= 0x7A &&
                               signal_attr(data, tag, found)) {
                        starts[nstarts++] = tag;
                        mine++;
                        last = tag;
                    }
                }
                at = found + size;
            }
        }
    }
    /* sorted, the first max_windows */
    for (Py_ssize_t i = 1; i < nstarts; i++) {
        Py_ssize_t v = starts[i], j = i - 1;
        while (j >= 0 && starts[j] > v) { starts[j + 1] = starts[j]; j--; }
        starts[j + 1] = v;
    }
    Py_ssize_t keep = nstarts < max_windows ? nstarts : max_windows;
    result = PyList_New(keep);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < keep; i++) {
        PyObject *value = PyLong_FromSsize_t(starts[i]);
        if (value == NULL) { Py_CLEAR(result); goto done; }
        PyList_SET_ITEM(result, i, value);
    }
done:
    PyMem_Free(spans);
    PyMem_Free(pieces);
    PyMem_Free(starts);
    Py_XDECREF(skipped);
    Py_XDECREF(words);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"tokens", tokens, METH_VARARGS, "The token pass of scan.Scan.document()."},
    {"signal_tags", signal_tags, METH_VARARGS, "scan.Scan._signal_tags, compiled."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
