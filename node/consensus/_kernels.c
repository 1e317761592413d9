/*
 * Native loops for node/consensus/numerics.py and the E-step of node/consensus/base.py.
 *
 * Why: on a task of a few thousand items an EM iteration is some two hundred numpy calls
 * on small arrays, and their fixed cost, not the arithmetic, is the time (issue #15). These
 * loops do the same IEEE-754 basic operations, in the same order, on the same values, one
 * element at a time, so they give the same bits as the numpy definitions they stand for:
 *
 *   - built with -ffp-contract=off (and the pragma below for compilers that read it), so
 *     no a * b + c becomes one fused multiply-add, and without -ffast-math;
 *   - only + - * /, comparisons and sign copies; np.rint, frexp and ldexp are done by exact
 *     means on the ranges where they are used (rint_small, scale_by_power_of_two, the bits
 *     of a normal double), and frexp itself on a subnormal;
 *   - sums that run over answers are of integers held in doubles, added in the rows' order,
 *     which is the order np.bincount adds them in.
 *
 * The numpy code stays the definition: node/consensus/native.py checks these loops
 * against it on first use and falls back to it on any difference, and the tests compare
 * the two bit for bit.
 *
 * This file holds the Python entry points and the module; the loops are in the headers it
 * includes, one concern each (_kernels_math.h, _kernels_threads.h, _kernels_estep.h,
 * _kernels_counts.h), all one translation unit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF

#include "_kernels_math.h"

/* A C-contiguous buffer of doubles (or int64) and its length in elements. */
static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize,
                      const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) return -1;
    if (view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: buffer of %zd bytes is not whole %zd-byte items",
                     name, view->len, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* ``n`` buffers of 8-byte items, the last ``outputs`` of them writable (the loop's outputs).
 * Returns how many it holds: ``n``, or fewer with an error set; release_buffers lets go of
 * those either way. */
static int get_buffers(PyObject *const *objs, Py_buffer *views, int n, int outputs,
                       const char *const *names) {
    int got = 0;
    while (got < n && get_buffer(objs[got], &views[got], got >= n - outputs, 8, names[got]) == 0)
        got++;
    return got;
}

static void release_buffers(Py_buffer *views, int got) {
    for (int v = 0; v < got; v++) PyBuffer_Release(&views[v]);
}

#include "_kernels_threads.h"

/* The (source, target) arguments of an elementwise loop: buffers of doubles of one length. */
static int get_elementwise(PyObject *args, const char *name, Py_buffer *src, Py_buffer *dst) {
    PyObject *src_obj, *dst_obj;
    if (!PyArg_ParseTuple(args, "OO", &src_obj, &dst_obj)) return -1;
    if (get_buffer(src_obj, src, 0, 8, name) != 0) return -1;
    if (get_buffer(dst_obj, dst, 1, 8, name) != 0) {
        PyBuffer_Release(src);
        return -1;
    }
    if (src->len != dst->len) {
        PyBuffer_Release(src);
        PyBuffer_Release(dst);
        PyErr_Format(PyExc_ValueError, "%s: source and target differ in length", name);
        return -1;
    }
    return 0;
}

static PyObject *kernels_det_exp(PyObject *self, PyObject *args) {
    Py_buffer src, dst;
    if (get_elementwise(args, "det_exp", &src, &dst) != 0) return NULL;
    const double *in = (const double *)src.buf;
    double *out = (double *)dst.buf;
    Py_ssize_t n = src.len / 8;
    Py_BEGIN_ALLOW_THREADS for (Py_ssize_t i = 0; i < n; i++) out[i] = det_exp1(in[i]);
    Py_END_ALLOW_THREADS PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

/* det_log(source, target) -> bool: False (target unwritten) if any value is not positive
 * and finite, which the caller reports. */
static PyObject *kernels_det_log(PyObject *self, PyObject *args) {
    Py_buffer src, dst;
    if (get_elementwise(args, "det_log", &src, &dst) != 0) return NULL;
    const double *in = (const double *)src.buf;
    double *out = (double *)dst.buf;
    Py_ssize_t n = src.len / 8;
    int valid = 1;
    Py_BEGIN_ALLOW_THREADS for (Py_ssize_t i = 0; i < n; i++) {
        if (!(in[i] > 0.0 && in[i] < HUGE_VAL)) { /* a NaN fails the first test */
            valid = 0;
            break;
        }
    }
    if (valid)
        for (Py_ssize_t i = 0; i < n; i++) out[i] = det_log1(in[i]);
    Py_END_ALLOW_THREADS PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return PyBool_FromLong(valid);
}

/* ppb_entropy_fixed(ppb, floor, bits) -> int, or None (nothing summed) where an entry is
 * not in [0, PPB], which the caller sums in numpy.
 *
 * numerics.ppb_entropy_fixed: over every entry v of ppb (int64, parts per billion), f =
 * max(v / PPB, floor) and rint(f * det_log(f) * 2**bits), summed as integers. The numpy
 * steps in the same order, in one pass without their four temporaries of the table's size,
 * split over the loops' threads (integer sums: the same for any split). */
typedef struct {
    const int64_t *ppb;
    Py_ssize_t start, stop;
    double floor_value, scale;
    uint64_t total; /* unsigned: wrapping is defined, and the sum of parts is the same */
} entropy_part;

static void *entropy_job(void *arg) {
    entropy_part *part = (entropy_part *)arg;
    uint64_t total = 0;
    for (Py_ssize_t i = part->start; i < part->stop; i++) {
        double f = np_maximum((double)part->ppb[i] / PPB, part->floor_value);
        /* f in (0, 1]: |f log f| <= 1/e, and times 2**52 at most it is below 2**51, where
         * rint_small rounds as rint does. */
        total += (uint64_t)(int64_t)rint_small(f * det_log1(f) * part->scale);
    }
    part->total = total;
    return NULL;
}

static PyObject *kernels_ppb_entropy_fixed(PyObject *self, PyObject *args) {
    PyObject *obj;
    double floor_value;
    int bits;
    if (!PyArg_ParseTuple(args, "Odi", &obj, &floor_value, &bits)) return NULL;
    if (bits < 0 || bits > 52) {
        PyErr_SetString(PyExc_ValueError, "ppb_entropy_fixed: bits must be 0 to 52");
        return NULL;
    }
    if (!(floor_value > 0.0 && floor_value <= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "ppb_entropy_fixed: floor must be in (0, 1]");
        return NULL;
    }
    Py_buffer view;
    if (get_buffer(obj, &view, 0, 8, "ppb_entropy_fixed") != 0) return NULL;
    const int64_t *ppb = (const int64_t *)view.buf;
    Py_ssize_t n = view.len / 8;
    int valid = 1;
    uint64_t total = 0;
    Py_BEGIN_ALLOW_THREADS for (Py_ssize_t i = 0; i < n; i++) {
        if (ppb[i] < 0 || ppb[i] > (int64_t)PPB) {
            valid = 0;
            break;
        }
    }
    if (valid) {
        entropy_part parts[MAX_THREADS];
        int n_parts = parts_for(n, n);
        for (int t = 0; t < n_parts; t++) {
            parts[t].ppb = ppb;
            parts[t].start = n * t / n_parts;
            parts[t].stop = n * (t + 1) / n_parts;
            parts[t].floor_value = floor_value;
            parts[t].scale = (double)((int64_t)1 << bits);
        }
        run_jobs(entropy_job, parts, sizeof(entropy_part), n_parts);
        for (int t = 0; t < n_parts; t++) total += parts[t].total;
    }
    Py_END_ALLOW_THREADS PyBuffer_Release(&view);
    if (!valid) Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)(int64_t)total);
}

#include "_kernels_estep.h"

/* e_step(rows, index, item, log_prior, gold, out, totals, labels) -> None
 *
 * rows: [R, K] doubles (fixed-point log-likelihood rows); index, item: [N] int64 (answer j
 * weighs row index[j] and belongs to item item[j]); log_prior: [K] doubles; gold: [I] int64,
 * each item's gold class or -1; out: [I, K] int64, the posteriors in parts per billion, the
 * gold items' clamped (base._clamp_rows); totals: [K] int64, out's column sums; labels: [I]
 * int64, each row of out's argmax. Each (item, class) sum adds its answers' values in row
 * order, as np.bincount does. */
static PyObject *kernels_e_step(PyObject *self, PyObject *args) {
    enum { ARGS = 8 };
    PyObject *objs[ARGS];
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &objs[7]))
        return NULL;
    static const char *const names[ARGS] = {"rows", "index", "item",   "log_prior",
                                            "gold", "out",   "totals", "labels"};
    Py_buffer views[ARGS];
    int got = get_buffers(objs, views, ARGS, 3, names);
    PyObject *result = NULL;
    double *sums = NULL;
    double *work = NULL;
    vdouble *lanes = NULL;
    uint64_t *part_totals = NULL;
    if (got < ARGS) goto done;
    Py_ssize_t k = views[3].len / 8;
    Py_ssize_t n_answers = views[1].len / 8;
    if (k < 1 || views[0].len / 8 % k != 0 || views[5].len / 8 % k != 0 ||
        views[2].len / 8 != n_answers || views[6].len / 8 != k ||
        views[7].len / 8 * k != views[5].len / 8 || views[4].len / 8 != views[7].len / 8) {
        PyErr_SetString(PyExc_ValueError, "e_step: arrays of inconsistent shapes");
        goto done;
    }
    Py_ssize_t n_rows = views[0].len / 8 / k;
    Py_ssize_t n_items = views[5].len / 8 / k;
    const double *rows = (const double *)views[0].buf;
    const int64_t *index = (const int64_t *)views[1].buf;
    const int64_t *item = (const int64_t *)views[2].buf;
    const double *log_prior = (const double *)views[3].buf;
    const int64_t *gold = (const int64_t *)views[4].buf;
    int64_t *out = (int64_t *)views[5].buf;
    uint64_t *totals = (uint64_t *)views[6].buf;
    int64_t *labels = (int64_t *)views[7].buf;
    for (Py_ssize_t i = 0; i < n_items; i++) {
        if (gold[i] >= k) {
            PyErr_SetString(PyExc_IndexError, "e_step: a gold class out of range");
            goto done;
        }
    }
    int n_parts = parts_for(n_answers, (n_items + BLOCK - 1) / BLOCK);
    e_step_part parts[MAX_THREADS];
    /* Each part's work and buffer, vector lanes and (past the first, whose are ``totals``)
     * column totals. */
    work = (double *)malloc((size_t)((BLOCK + 1) * k * n_parts) * sizeof(double));
    lanes = (vdouble *)aligned_alloc(sizeof(vdouble), (size_t)(2 * k * n_parts) * sizeof(vdouble));
    part_totals = (uint64_t *)malloc((size_t)(k * n_parts) * sizeof(uint64_t));
    if (work == NULL || lanes == NULL || part_totals == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int t = 1; t < n_parts; t++) {
        parts[t].work = work + (BLOCK + 1) * k * t;
        parts[t].lanes = lanes + 2 * k * t;
        parts[t].totals = part_totals + k * t;
    }
    parts[0] = (e_step_part){.rows = rows, .index = index, .item = item, .n_answers = n_answers,
                             .n_rows = n_rows, .n_items = n_items, .k = k,
                             .log_prior = log_prior, .gold = gold, .work = work, .lanes = lanes,
                             .totals = totals, .out = out, .labels = labels};
    int in_range;
    Py_BEGIN_ALLOW_THREADS in_range = split_e_step(parts, n_parts);
    Py_END_ALLOW_THREADS if (in_range < 0) {
        sums = (double *)calloc((size_t)(n_items > 0 ? n_items : 1) * (size_t)k, sizeof(double));
        if (sums == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS in_range =
            sum_rows(rows, index, item, n_answers, n_rows, n_items, k, sums);
        if (in_range) {
            memset(totals, 0, (size_t)k * sizeof(uint64_t)); /* the blocks' part, redone */
            posteriors(sums, log_prior, gold, k, n_items, lanes, work, out, totals, labels);
        }
        Py_END_ALLOW_THREADS
    }
    if (!in_range) {
        PyErr_SetString(PyExc_IndexError, "e_step: a row or item code out of range");
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    free(sums);
    free(work);
    free(lanes);
    free(part_totals);
    release_buffers(views, got);
    return result;
}

#include "_kernels_counts.h"

/* What a (values, out, k) loop writes: one value a row, one a class, or one a value. */
enum out_shape { ONE_PER_ROW, ONE_PER_CLASS, ONE_PER_VALUE };

/* A loop over ``n_rows`` rows of K 8-byte values (int64 or double, as the loop reads them)
 * into ``out``; run without the GIL. */
typedef void (*rows_loop)(const void *values, Py_ssize_t n_rows, Py_ssize_t k, void *out);

/* The calls of argmax_rows, column_sums and shares_ppb, written once: the arguments
 * (values, out, k), two C-contiguous buffers of 8-byte items, the second writable, and the
 * class count; the shapes checked (``out`` by ``shape``); ``loop`` run over the rows. */
static PyObject *run_rows_loop(PyObject *args, const char *name, enum out_shape shape,
                               rows_loop loop) {
    PyObject *objs[2];
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOn", &objs[0], &objs[1], &k)) return NULL;
    static const char *const names[2] = {"values", "out"};
    Py_buffer views[2];
    int got = get_buffers(objs, views, 2, 1, names);
    PyObject *result = NULL;
    if (got < 2) goto done;
    Py_ssize_t n_values = views[0].len / 8, n_out = views[1].len / 8;
    Py_ssize_t n_rows = k < 1 ? 0 : n_values / k;
    Py_ssize_t wanted = shape == ONE_PER_ROW ? n_rows : shape == ONE_PER_CLASS ? k : n_values;
    if (k < 1 || n_values % k != 0 || n_out != wanted) {
        PyErr_Format(PyExc_ValueError, "%s: arrays of inconsistent shapes", name);
        goto done;
    }
    const void *values = views[0].buf;
    void *out = views[1].buf;
    Py_BEGIN_ALLOW_THREADS loop(values, n_rows, k, out);
    Py_END_ALLOW_THREADS result = Py_NewRef(Py_None);
done:
    release_buffers(views, got);
    return result;
}

static void argmax_loop(const void *values, Py_ssize_t n_rows, Py_ssize_t k, void *out) {
    argmax_of_rows((const int64_t *)values, n_rows, k, (int64_t *)out);
}

/* argmax_rows(values, out, k) -> None
 *
 * values: [N, K] int64; out: [N] int64, each row's first column holding its largest value:
 * np.argmax's answer for integers (no NaN to find), in one pass where numpy's reduction over
 * rows of a few columns is a loop of tiny reductions (55 ms for 3.3M rows of 5). */
static PyObject *kernels_argmax_rows(PyObject *self, PyObject *args) {
    return run_rows_loop(args, "argmax_rows", ONE_PER_ROW, argmax_loop);
}

static void column_sums_loop(const void *values, Py_ssize_t n_rows, Py_ssize_t k, void *out) {
    memset(out, 0, (size_t)k * sizeof(uint64_t));
    add_columns((const int64_t *)values, n_rows, k, (uint64_t *)out);
}

/* column_sums(values, out, k) -> None
 *
 * values: [N, K] int64; out: [K] int64, each column's sum (wrapping as numpy's int64 sums
 * do): base.column_totals in one pass over the rows instead of K strided ones (at 3.3M rows
 * of 5, 37 ms a call). */
static PyObject *kernels_column_sums(PyObject *self, PyObject *args) {
    return run_rows_loop(args, "column_sums", ONE_PER_CLASS, column_sums_loop);
}

static void shares_loop(const void *source, Py_ssize_t n_rows, Py_ssize_t k, void *target) {
    const double *values = (const double *)source;
    int64_t *out = (int64_t *)target;
    for (Py_ssize_t i = 0; i < n_rows; i++) {
        const double *row = values + i * k;
        double total = row[0];
        for (Py_ssize_t c = 1; c < k; c++) total = total + row[c];
        for (Py_ssize_t c = 0; c < k; c++) out[i * k + c] = to_ppb1(row[c] / total);
    }
}

/* shares_ppb(values, out, k) -> None
 *
 * values: [N, K] doubles; out: [N, K] int64, each value's share of its row in parts per
 * billion: numerics.to_ppb(np.divide(values, numerics.row_sum(values)[:, None])), the row's
 * total added left to right, one division and one rounding a value. The vote EM starts
 * from, in one pass where numpy's four make a table of 8-byte values each (at 3.3M items
 * and 5 classes, 0.6 s and 400 MB). */
static PyObject *kernels_shares_ppb(PyObject *self, PyObject *args) {
    return run_rows_loop(args, "shares_ppb", ONE_PER_VALUE, shares_loop);
}

/* vector_unit(name=None) -> str
 *
 * The vector unit the E-step's four-lane loop runs on: "avx2" or "baseline". With a name,
 * chooses it first ("avx2" only where the CPU has it), so that the tests can check both
 * against numpy; the import chooses "avx2" wherever it can. */
static PyObject *kernels_vector_unit(PyObject *self, PyObject *args) {
    const char *name = NULL;
    if (!PyArg_ParseTuple(args, "|z", &name)) return NULL;
    if (name != NULL) {
        if (strcmp(name, "baseline") == 0) {
            posteriors_of_all = all_posteriors_baseline;
        }
#if defined(__x86_64__)
        else if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2")) {
            posteriors_of_all = all_posteriors_avx2;
        }
#endif
        else {
            PyErr_Format(PyExc_ValueError, "vector_unit: %s is not available here", name);
            return NULL;
        }
    }
#if defined(__x86_64__)
    if (posteriors_of_all == all_posteriors_avx2) return PyUnicode_FromString("avx2");
#endif
    return PyUnicode_FromString("baseline");
}

/* parallel(threads=0, min_part=0) -> (threads, min_part)
 *
 * The threads the E-step and the per-cell sums may use, and the fewest answers a thread is
 * given; each set first where positive. Results are the same bits for every setting (the
 * parts' sums are of integers); native.py sets the threads from the CPUs this process may
 * use, and the tests set both to split small tables. */
static PyObject *kernels_parallel(PyObject *self, PyObject *args) {
    int threads = 0;
    Py_ssize_t part = 0;
    if (!PyArg_ParseTuple(args, "|in", &threads, &part)) return NULL;
    if (threads < 0 || threads > MAX_THREADS || part < 0) {
        PyErr_Format(PyExc_ValueError, "parallel: threads must be 1 to %d and min_part positive",
                     (int)MAX_THREADS);
        return NULL;
    }
    if (threads > 0) loop_threads = threads;
    if (part > 0) min_part = part;
    return Py_BuildValue("(in)", loop_threads, min_part);
}

/* The constants above, for native.py to compare with numerics.py's. */
static PyObject *kernels_constants(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:d,s:d,s:d,s:d,s:(ddddd),s:i,s:d,s:d,s:d}", "ln2_hi", LN2_HI,
                         "ln2_lo", LN2_LO, "inv_ln2", INV_LN2, "sqrt_half", SQRT_HALF, "exp_p",
                         EXP_P[0], EXP_P[1], EXP_P[2], EXP_P[3], EXP_P[4], "log_terms",
                         LOG_TERMS, "log_fixed_scale", LOG_FIXED_SCALE, "negligible_log",
                         NEGLIGIBLE_LOG, "ppb", PPB);
}

static PyMethodDef kernels_methods[] = {
    {"det_exp", kernels_det_exp, METH_VARARGS, "det_exp(source, target): elementwise."},
    {"det_log", kernels_det_log, METH_VARARGS,
     "det_log(source, target) -> bool: False if a value is not positive and finite."},
    {"ppb_entropy_fixed", kernels_ppb_entropy_fixed, METH_VARARGS,
     "ppb_entropy_fixed(ppb, floor, bits) -> int: the sum of rint(f log f 2**bits), f the "
     "entries in parts per billion floored at floor."},
    {"e_step", kernels_e_step, METH_VARARGS,
     "e_step(rows, index, item, log_prior, gold, out, totals, labels): the E-step's "
     "posteriors, gold items' clamped, their column sums and their rows' argmax."},
    {"vector_unit", kernels_vector_unit, METH_VARARGS,
     "vector_unit(name=None): the E-step's vector unit, chosen first if named."},
    {"column_sums", kernels_column_sums, METH_VARARGS,
     "column_sums(values, out, k): each column's sum, in one pass over the rows."},
    {"shares_ppb", kernels_shares_ppb, METH_VARARGS,
     "shares_ppb(values, out, k): each value's share of its row, in parts per billion."},
    {"argmax_rows", kernels_argmax_rows, METH_VARARGS,
     "argmax_rows(values, out, k): each row's first column holding its largest value."},
    {"answer_cell_sums", kernels_answer_cell_sums, METH_VARARGS,
     "answer_cell_sums(probas, item, cell, out, k): per cell, the sum of its answers' items' "
     "rows."},
    {"pair_counts", kernels_pair_counts, METH_VARARGS,
     "pair_counts(item, annotator, label, flags, shared, agreed, against, width) -> bool: the "
     "dense pair counts, False where the rows are not sorted by item."},
    {"parallel", kernels_parallel, METH_VARARGS,
     "parallel(threads=0, min_part=0): the loops' threads and fewest answers a thread, set "
     "first where positive."},
    {"constants", kernels_constants, METH_NOARGS, "The constants the loops were built with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernels_module = {
    PyModuleDef_HEAD_INIT, "_kernels", "Native loops of labelnet's deterministic numerics.",
    -1, kernels_methods,
};

PyMODINIT_FUNC PyInit__kernels(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) posteriors_of_all = all_posteriors_avx2;
#endif
    return PyModule_Create(&kernels_module);
}
