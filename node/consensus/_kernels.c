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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF

/* The constants of numerics.py, to the bit (native.py compares them on load). */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e00;
static const double SQRT_HALF = 0.70710678118654757274;
static const double EXP_P[5] = {
    1.66666666666666019037e-01,  -2.77777777770155933842e-03, 6.61375632143793436117e-05,
    -1.65339022054652515390e-06, 4.13813679705723846039e-08,
};
#define LOG_TERMS 12
static const double LOG_FIXED_SCALE = 1073741824.0; /* 2**30 */
/* Dividing by a power of two and multiplying by its inverse round the same real number,
 * so they give the same bits; the product is the cheaper of the two. */
static const double INV_LOG_FIXED_SCALE = 1.0 / 1073741824.0;
static const double NEGLIGIBLE_LOG = -30.0;
static const double PPB = 1000000000.0;

/* np.rint for |x| < 2**51, NaN included: adding and subtracting 1.5 * 2**52 leaves the value
 * rounded to an integer, ties to even (the default rounding mode), as rint does; copysign puts
 * back the sign rint keeps on a value that rounds to zero (-0.3 -> -0.0). No library call: a
 * call to nearbyint costs more than the rest of an exponential. */
static inline double rint_small(double x) {
    const double shift = 6755399441055744.0; /* 1.5 * 2**52 */
    double rounded = x + shift;
    rounded = rounded - shift;
    return copysign(rounded, x);
}

/* ldexp(y, k) for y in [0.5, 2) and |k| <= 1010, where the result is a normal double: a
 * product with the power of two 2**k, built from its bits, which is exact there. */
static inline double scale_by_power_of_two(double y, int k) {
    union {
        uint64_t bits;
        double value;
    } power;
    power.bits = (uint64_t)(k + 1023) << 52;
    return y * power.value;
}

/* np.maximum / np.minimum: a NaN in either argument is the result. */
static inline double np_maximum(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a >= b ? a : b;
}

static inline double np_minimum(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a <= b ? a : b;
}

/* numerics._exp_kernel's steps from the rounded multiple k of ln 2 to the reduced
 * exponential y = exp(arg - k ln 2), in [0.70, 1.42], in the same order. A macro, so that
 * the scalar loops (T double) and the E-step's vector lanes (T vdouble, below) run the one
 * sequence of operations. */
#define EXP_OF_REDUCED(T, arg, k, y)               \
    do {                                           \
        T scratch_ = (k) * LN2_HI;                 \
        T r_ = (arg) - scratch_;                   \
        scratch_ = (k) * LN2_LO;                   \
        r_ = r_ - scratch_;                        \
        T t_ = r_ * r_;                            \
        T poly_ = t_ * EXP_P[4];                   \
        poly_ = poly_ + EXP_P[3];                  \
        for (int i_ = 2; i_ >= 0; i_--) {          \
            poly_ = poly_ * t_;                    \
            poly_ = poly_ + EXP_P[i_];             \
        }                                          \
        T c_ = t_ * poly_;                         \
        c_ = r_ - c_;                              \
        (y) = r_ * c_;                             \
        scratch_ = 2.0 - c_;                       \
        (y) = (y) / scratch_;                      \
        (y) = (y) + r_;                            \
        (y) = (y) + 1.0;                           \
    } while (0)

/* numerics._exp_kernel's steps after the clamp, in the same order: the reduced
 * exponential y = exp(r), in [0.70, 1.42], and the power of two k to scale it by. */
static inline double exp_reduced(double arg, double *k_out) {
    double k = arg * INV_LN2;
    k = rint_small(k); /* |k| <= 1010 after the clamp */
    double y;
    EXP_OF_REDUCED(double, arg, k, y);
    *k_out = k;
    return y;
}

/* numerics._exp_kernel for one value: the same steps in the same order. */
static double det_exp1(double x) {
    double arg = np_maximum(x, -700.0);
    arg = np_minimum(arg, 700.0);
    double k;
    double y = exp_reduced(arg, &k);
    if (isnan(k)) return y; /* y is NaN too; a NaN has no int32 exponent to scale by */
    /* |r| <= ln2/2 + a rounding, so y = exp(r) is within [0.70, 1.42]: in range. */
    return scale_by_power_of_two(y, (int)k);
}

/* det_exp1 for a shifted log-weight of the softmax, x in (NEGLIGIBLE_LOG, 0]: there the
 * clamps to [-700, 700] return x itself and x is no NaN, so the result is det_exp1's. */
static inline double softmax_exp(double x) {
    double k;
    double y = exp_reduced(x, &k);
    return scale_by_power_of_two(y, (int)k);
}

/* numerics.det_log for one positive finite value: the same steps in the same order. */
static double det_log1(double x) {
    int e;
    double mantissa;
    union {
        double value;
        uint64_t bits;
    } parts;
    parts.value = x;
    int biased = (int)((parts.bits >> 52) & 0x7ff);
    if (biased == 0) {
        mantissa = frexp(x, &e); /* subnormal: the library normalizes it */
    } else { /* normal: frexp's mantissa in [0.5, 1) and exponent, from the bits */
        e = biased - 1022;
        parts.bits = (parts.bits & 0x800fffffffffffffULL) | (0x3feULL << 52);
        mantissa = parts.value;
    }
    double low = mantissa < SQRT_HALF ? 1.0 : 0.0;
    if (low != 0.0) mantissa = mantissa * 2.0;
    double exponent = (double)e - low;
    double s = mantissa - 1.0;
    mantissa = mantissa + 1.0;
    s = s / mantissa;
    double s2 = s * s;
    double series = s2 * (1.0 / (2 * LOG_TERMS - 1));
    series = series + 1.0 / (2 * LOG_TERMS - 3);
    for (int n = LOG_TERMS - 3; n >= 0; n--) {
        series = series * s2;
        series = series + 1.0 / (2 * n + 1);
    }
    double log_mantissa = s * series;
    log_mantissa = log_mantissa * 2.0;
    double high = exponent * LN2_HI;
    double rest = exponent * LN2_LO;
    rest = rest + log_mantissa;
    return high + rest;
}

/* numerics.to_ppb for one probability: np.rint(p * 1e9).astype(np.int64). */
static inline int64_t to_ppb1(double p) { return (int64_t)rint_small(p * PPB); }

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

/* Threads for the loops that run over every answer (the E-step and the per-cell sums). Each
 * splits its work into parts whose results do not depend on how it was split: items'
 * posteriors are computed item by item, and sums of integers are the same in any order
 * (unsigned, so that wrapping is defined), so every thread count gives the same bits.
 * native.py chooses the count (parallel()); a part has at least ``min_part`` answers, so
 * a small task, whose call would cost more in starting threads than it saves, stays on the
 * caller's thread. */
enum { MAX_THREADS = 16 };
static int loop_threads = 1;
static Py_ssize_t min_part = 1 << 16;

/* How many parts ``n_answers`` answers in ``n_units`` splittable units are run in. */
static int parts_for(Py_ssize_t n_answers, Py_ssize_t n_units) {
    Py_ssize_t parts = loop_threads;
    if (n_answers / min_part < parts) parts = n_answers / min_part;
    if (n_units < parts) parts = n_units;
    return parts < 1 ? 1 : (int)parts;
}

typedef void *(*job_fn)(void *job);

/* Runs ``job`` on each of ``n`` jobs laid ``size`` bytes apart: all but the last on threads
 * of their own, the last on the caller's, then waits for them. A job whose thread cannot be
 * started runs on the caller's thread instead. Called without the GIL. */
static void run_jobs(job_fn job, void *jobs, size_t size, int n) {
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS];
    char *at = (char *)jobs;
    for (int t = 0; t < n - 1; t++)
        started[t] = pthread_create(&ids[t], NULL, job, at + t * size) == 0;
    for (int t = 0; t < n - 1; t++)
        if (!started[t]) job(at + t * size);
    job(at + (size_t)(n - 1) * size);
    for (int t = 0; t < n - 1; t++)
        if (started[t]) pthread_join(ids[t], NULL);
}

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

/* Posteriors of one item from its log-likelihood sums (numerics.softmax_pair_ppb for two
 * classes, numerics.softmax_ppb for more); ``work`` holds k doubles. */
static void item_posteriors(const double *sums, const double *log_prior, Py_ssize_t k,
                            double *work, int64_t *out) {
    if (k == 2) {
        double first = sums[0] * INV_LOG_FIXED_SCALE;
        first = first + log_prior[0];
        double second = sums[1] * INV_LOG_FIXED_SCALE;
        second = second + log_prior[1];
        double gap = first - second;
        double low = -fabs(gap);
        double small = low > NEGLIGIBLE_LOG ? softmax_exp(low) : 0.0;
        double total = small + 1.0;
        int first_is_top = gap >= 0.0;
        out[0] = to_ppb1((first_is_top ? 1.0 : small) / total);
        out[1] = to_ppb1((first_is_top ? small : 1.0) / total);
        return;
    }
    for (Py_ssize_t c = 0; c < k; c++) {
        double v = sums[c] * INV_LOG_FIXED_SCALE;
        work[c] = v + log_prior[c];
    }
    double top = work[0]; /* numerics.row_max: columns left to right */
    for (Py_ssize_t c = 1; c < k; c++) top = np_maximum(top, work[c]);
    for (Py_ssize_t c = 0; c < k; c++) {
        double shifted = work[c] - top;
        work[c] = shifted > NEGLIGIBLE_LOG ? softmax_exp(shifted) : 0.0;
    }
    double total = work[0]; /* numerics.row_sum: columns left to right */
    for (Py_ssize_t c = 1; c < k; c++) total = total + work[c];
    for (Py_ssize_t c = 0; c < k; c++) out[c] = to_ppb1(work[c] / total);
}

/* totals[c] += the sum of column c over ``count`` rows of K int64 (wrapping, as numpy's
 * int64 sums do: unsigned arithmetic has no overflow to be undefined). */
static void add_columns(const int64_t *restrict values, Py_ssize_t count, Py_ssize_t k,
                        uint64_t *restrict totals) {
    const uint64_t *rows = (const uint64_t *)values;
    for (Py_ssize_t i = 0; i < count; i++)
        for (Py_ssize_t c = 0; c < k; c++) totals[c] += rows[i * k + c];
}

/* Each of ``count`` rows of K int64: the first column holding its largest value (np.argmax
 * for integers, which have no NaN to find). */
static void argmax_of_rows(const int64_t *restrict values, Py_ssize_t count, Py_ssize_t k,
                           int64_t *restrict out) {
    for (Py_ssize_t i = 0; i < count; i++) {
        const int64_t *row = values + i * k;
        int64_t best = row[0], at = 0;
        for (Py_ssize_t c = 1; c < k; c++) { /* selections, not branches: no mispredictions */
            int64_t value = row[c];
            int larger = value > best;
            best = larger ? value : best;
            at = larger ? (int64_t)c : at;
        }
        out[i] = at;
    }
}

/* item_posteriors for four items at once, one a lane (K > 2): GCC vector extensions, so
 * each lane goes through exactly the IEEE operations item_posteriors does on one item (a
 * vector add, multiply or divide rounds each lane as the scalar one does; no contraction,
 * as everywhere here). What the scalar code does by branches or library conversions is
 * done by lane masks and exact bit arithmetic: np_maximum's NaN rules, softmax_exp's
 * selection of negligible arguments (computed as 0, then set to 0), rint_small's sign,
 * (int)k and the power of two (k is an integer of at most 44 in size there), and the
 * rounding to parts per billion (for a share in [0, 1] the 2**52 trick is rint; a block
 * with a NaN share, which only NaN sums give, is finished by to_ppb1 lane by lane). Built
 * for AVX2 where the CPU has it (chosen at import), and for the baseline vector unit
 * otherwise; native.py's probe checks whichever runs. */
typedef double vdouble __attribute__((vector_size(32)));
typedef int64_t vlong __attribute__((vector_size(32)));
typedef uint64_t vulong __attribute__((vector_size(32)));
enum { LANES = 4 };

/* Per lane, ``yes`` where ``mask`` is set and ``no`` elsewhere (a macro: a function
 * returning a vector would have another calling convention in the baseline build). */
#define PICK(mask, yes, no) ((vdouble)(((vlong)(yes) & (mask)) | ((vlong)(no) & ~(mask))))

static inline __attribute__((always_inline)) void lanes_posteriors(
    const double *restrict sums, const double *restrict log_prior, Py_ssize_t k,
    vdouble *restrict work, int64_t *restrict out, vulong *restrict acc,
    int64_t *restrict labels) {
    const vlong sign = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
    const double shift = 6755399441055744.0; /* 1.5 * 2**52 */
    const double unit = 4503599627370496.0;  /* 2**52 */
    union {
        double value;
        int64_t bits;
    } shift_bits = {shift}, unit_bits = {unit};
    for (Py_ssize_t c = 0; c < k; c++) {
        vdouble v = {sums[c], sums[k + c], sums[2 * k + c], sums[3 * k + c]};
        v = v * INV_LOG_FIXED_SCALE;
        work[c] = v + log_prior[c];
    }
    vdouble top = work[0]; /* numerics.row_max: columns left to right */
    for (Py_ssize_t c = 1; c < k; c++) {
        vdouble b = work[c];
        vdouble larger = PICK(top >= b, top, b);
        larger = PICK(b != b, b, larger);
        top = PICK(top != top, top, larger);
    }
    for (Py_ssize_t c = 0; c < k; c++) {
        vdouble x = work[c] - top;
        vlong kept = x > NEGLIGIBLE_LOG;
        x = (vdouble)((vlong)x & kept);
        vdouble kk = x * INV_LN2;
        vdouble rounded = (kk + shift) - shift;
        kk = (vdouble)(((vlong)rounded & ~sign) | ((vlong)kk & sign));
        vdouble y;
        EXP_OF_REDUCED(vdouble, x, kk, y);
        vlong exponent = (vlong)(kk + shift) - shift_bits.bits;
        y = y * (vdouble)((exponent + 1023) << 52);
        work[c] = (vdouble)((vlong)y & kept);
    }
    vdouble total = work[0]; /* numerics.row_sum: columns left to right */
    for (Py_ssize_t c = 1; c < k; c++) total = total + work[c];
    vlong whole = {-1, -1, -1, -1}; /* lanes whose shares are all numbers */
    for (Py_ssize_t c = 0; c < k; c++) {
        work[c] = work[c] / total; /* each class's share */
        whole &= work[c] == work[c];
    }
    if (!(whole[0] & whole[1] & whole[2] & whole[3])) { /* a NaN share: to_ppb1's own */
        for (Py_ssize_t c = 0; c < k; c++) {
            for (int lane = 0; lane < LANES; lane++) {
                out[lane * k + c] = to_ppb1(work[c][lane]);
                acc[c][lane] += (uint64_t)out[lane * k + c];
            }
        }
        argmax_of_rows(out, LANES, k, labels);
        return;
    }
    /* The shares in parts per billion, each class's added into its lane sums (integers:
     * the same totals in any order) and the first largest of each lane kept: the column
     * totals and argmax_of_rows's labels, four items at a time. */
    vlong best = {0, 0, 0, 0}, at = {0, 0, 0, 0};
    for (Py_ssize_t c = 0; c < k; c++) {
        vdouble x = work[c] * PPB;
        vlong ppb = (vlong)(x + unit) - unit_bits.bits;
        for (int lane = 0; lane < LANES; lane++) out[lane * k + c] = ppb[lane];
        acc[c] += (vulong)ppb;
        vlong larger = c == 0 ? ~(vlong){0, 0, 0, 0} : ppb > best;
        best = (ppb & larger) | (best & ~larger);
        at = ((vlong){c, c, c, c} & larger) | (at & ~larger);
    }
    for (int lane = 0; lane < LANES; lane++) labels[lane] = at[lane];
}

/* item_posteriors over all items (K > 2), four a step, with their column sums added to
 * ``totals`` and their argmax in ``labels``; ``work`` holds 2K vectors (the lanes' classes,
 * then their per-class sums). */
static inline __attribute__((always_inline)) void all_posteriors(
    const double *sums, const double *log_prior, Py_ssize_t k, Py_ssize_t n_items,
    vdouble *work, double *scalar_work, int64_t *out, uint64_t *totals, int64_t *labels) {
    vulong *acc = (vulong *)(work + k);
    for (Py_ssize_t c = 0; c < k; c++) acc[c] = (vulong){0, 0, 0, 0};
    Py_ssize_t i = 0;
    for (; i + LANES <= n_items; i += LANES)
        lanes_posteriors(sums + i * k, log_prior, k, work, out + i * k, acc, labels + i);
    for (Py_ssize_t c = 0; c < k; c++) totals[c] += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    for (Py_ssize_t j = i; j < n_items; j++)
        item_posteriors(sums + j * k, log_prior, k, scalar_work, out + j * k);
    add_columns(out + i * k, n_items - i, k, totals);
    argmax_of_rows(out + i * k, n_items - i, k, labels + i);
}

static void all_posteriors_baseline(const double *sums, const double *log_prior, Py_ssize_t k,
                                    Py_ssize_t n_items, vdouble *work, double *scalar_work,
                                    int64_t *out, uint64_t *totals, int64_t *labels) {
    all_posteriors(sums, log_prior, k, n_items, work, scalar_work, out, totals, labels);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void all_posteriors_avx2(
    const double *sums, const double *log_prior, Py_ssize_t k, Py_ssize_t n_items,
    vdouble *work, double *scalar_work, int64_t *out, uint64_t *totals, int64_t *labels) {
    all_posteriors(sums, log_prior, k, n_items, work, scalar_work, out, totals, labels);
}
#endif

static void (*posteriors_of_all)(const double *, const double *, Py_ssize_t, Py_ssize_t,
                                 vdouble *, double *, int64_t *, uint64_t *,
                                 int64_t *) = all_posteriors_baseline;

/* sum += row, class by class: one answer's row added to its item's sums. */
static inline void add_row(double *restrict sum, const double *restrict row, Py_ssize_t k) {
    if (k == 2) { /* the commonest task */
        sum[0] = sum[0] + row[0];
        sum[1] = sum[1] + row[1];
    } else {
        for (Py_ssize_t c = 0; c < k; c++) sum[c] = sum[c] + row[c];
    }
}

/* The rows of ``count`` items whose ``gold`` code is a class (not negative) set to
 * certainty in it: base._clamp_rows's rule, with the row's values taken out of ``totals``
 * and the certainty put in, and the gold class as the row's label (its one nonzero). */
static void clamp_gold_rows(const int64_t *restrict gold, Py_ssize_t count, Py_ssize_t k,
                            int64_t *restrict out, uint64_t *restrict totals,
                            int64_t *restrict labels) {
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t g = gold[i];
        if (g < 0) continue;
        int64_t *row = out + i * k;
        for (Py_ssize_t c = 0; c < k; c++) {
            totals[c] -= (uint64_t)row[c];
            row[c] = 0;
        }
        row[g] = (int64_t)PPB;
        totals[g] += (uint64_t)PPB;
        labels[i] = g;
    }
}

/* item_posteriors for ``count`` items (four a step past two classes, posteriors_of_all; one
 * by one for two, the pair's own way, or one), then, while the rows are still in the cache,
 * their column sums added to ``totals`` (the class prior's sums), each row's argmax in
 * ``labels`` (what the early stop compares) and the gold items' rows clamped: no pass of
 * their own over the posteriors. */
static void posteriors(const double *sums, const double *log_prior, const int64_t *gold,
                       Py_ssize_t k, Py_ssize_t count, vdouble *lanes, double *work,
                       int64_t *out, uint64_t *totals, int64_t *labels) {
    if (k > 2) {
        posteriors_of_all(sums, log_prior, k, count, lanes, work, out, totals, labels);
    } else {
        for (Py_ssize_t i = 0; i < count; i++)
            item_posteriors(sums + i * k, log_prior, k, work, out + i * k);
        add_columns(out, count, k, totals);
        argmax_of_rows(out, count, k, labels);
    }
    clamp_gold_rows(gold, count, k, out, totals, labels);
}

/* Each (item, class) sum of the answers' rows, added in row order as np.bincount adds
 * them; 0 if a row or item code is out of range. */
static int sum_rows(const double *restrict rows, const int64_t *restrict index,
                    const int64_t *restrict item, Py_ssize_t n_answers, Py_ssize_t n_rows,
                    Py_ssize_t n_items, Py_ssize_t k, double *restrict sums) {
    for (Py_ssize_t j = 0; j < n_answers; j++) {
        int64_t r = index[j], i = item[j];
        if (r < 0 || r >= n_rows || i < 0 || i >= n_items) return 0;
        add_row(sums + i * k, rows + r * k, k);
    }
    return 1;
}

enum { BLOCK = 64 };

/* sum_rows and the posteriors a block of BLOCK items at a time, for answers whose items
 * never go back to an earlier block (every table's are sorted by item): each item's sums
 * are added in row order, from 0.0, in a buffer of BLOCK * K doubles that stays in the
 * cache, and turned into posteriors before the next block. No table of sums: at 3.3M items
 * and 5 classes its fresh pages alone took 85 ms an E-step. The answers given are those of
 * items ``first`` (a multiple of BLOCK) to ``end`` of ``n_items``. Returns 1, 0 for a code
 * out of range or an answer past ``end``, -1 for an item before the current block (the
 * caller then takes the two-pass way, which rewrites all of ``out``). */
static int blocked_e_step(const double *restrict rows, const int64_t *restrict index,
                          const int64_t *restrict item, Py_ssize_t n_answers, Py_ssize_t n_rows,
                          Py_ssize_t first, Py_ssize_t end, Py_ssize_t n_items, Py_ssize_t k,
                          const double *restrict log_prior, const int64_t *restrict gold,
                          double *restrict buf,
                          vdouble *restrict lanes, double *restrict work, int64_t *restrict out,
                          uint64_t *restrict totals, int64_t *restrict labels) {
    Py_ssize_t j = 0;
    for (Py_ssize_t start = first; start < end; start += BLOCK) {
        Py_ssize_t count = end - start < BLOCK ? end - start : BLOCK;
        Py_ssize_t stop = start + count;
        memset(buf, 0, (size_t)(count * k) * sizeof(double));
        for (; j < n_answers; j++) {
            int64_t i = item[j], r = index[j];
            if (i < 0 || i >= n_items || r < 0 || r >= n_rows) return 0;
            if (i >= stop) break;
            if (i < start) return -1;
            add_row(buf + (i - start) * k, rows + r * k, k);
        }
        posteriors(buf, log_prior, gold + start, k, count, lanes, work, out + start * k, totals,
                   labels + start);
    }
    return j == n_answers; /* answers left over have items past ``end`` */
}

/* One thread's part of the E-step: blocked_e_step over its items, into its own totals. */
typedef struct {
    const double *rows;
    const int64_t *index, *item;
    Py_ssize_t n_answers, n_rows, first, end, n_items, k;
    const double *log_prior;
    const int64_t *gold;
    double *work; /* (BLOCK + 1) * K: item_posteriors' work, then the block's sums */
    vdouble *lanes;
    uint64_t *totals;
    int64_t *out, *labels;
    int result;
} e_step_part;

static void *e_step_job(void *arg) {
    e_step_part *p = (e_step_part *)arg;
    memset(p->totals, 0, (size_t)p->k * sizeof(uint64_t));
    p->result = blocked_e_step(p->rows, p->index, p->item, p->n_answers, p->n_rows, p->first,
                               p->end, p->n_items, p->k, p->log_prior, p->gold, p->work + p->k,
                               p->lanes, p->work, p->out, p->totals, p->labels);
    return NULL;
}

/* The first of ``n`` answers sorted by item whose item is at least ``at``. */
static Py_ssize_t first_answer_of(const int64_t *item, Py_ssize_t n, int64_t at) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (item[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* blocked_e_step over all items in ``n_parts`` parts of whole blocks, each with the answers
 * the item order puts there (found by bisection), the parts' totals added into
 * ``parts[0].totals``. Where a part finds its answers out of order or out of range (the
 * bisection assumed the order), the whole is redone in one part, which tells those apart.
 * Without the GIL. */
static int split_e_step(e_step_part *parts, int n_parts) {
    e_step_part whole = parts[0];
    Py_ssize_t n_blocks = (whole.n_items + BLOCK - 1) / BLOCK;
    for (int t = 0; t < n_parts; t++) {
        e_step_part *p = &parts[t];
        *p = (e_step_part){.rows = whole.rows, .n_rows = whole.n_rows, .n_items = whole.n_items,
                           .k = whole.k, .log_prior = whole.log_prior, .gold = whole.gold,
                           .out = whole.out,
                           .labels = whole.labels, .work = p->work, .lanes = p->lanes,
                           .totals = p->totals};
        p->first = n_blocks * t / n_parts * BLOCK;
        p->end = t + 1 == n_parts ? whole.n_items : n_blocks * (t + 1) / n_parts * BLOCK;
        Py_ssize_t from = t == 0 ? 0 : first_answer_of(whole.item, whole.n_answers, p->first);
        Py_ssize_t to = t + 1 == n_parts ? whole.n_answers
                                         : first_answer_of(whole.item, whole.n_answers, p->end);
        if (to < from) to = from; /* answers out of order: that part will say so */
        p->index = whole.index + from;
        p->item = whole.item + from;
        p->n_answers = to - from;
    }
    run_jobs(e_step_job, parts, sizeof(e_step_part), n_parts);
    int all_done = 1;
    for (int t = 0; t < n_parts; t++) all_done &= parts[t].result == 1;
    if (all_done) {
        for (int t = 1; t < n_parts; t++)
            for (Py_ssize_t c = 0; c < whole.k; c++) parts[0].totals[c] += parts[t].totals[c];
        return 1;
    }
    parts[0] = whole;
    parts[0].first = 0;
    parts[0].end = whole.n_items;
    e_step_job(&parts[0]);
    return parts[0].result;
}

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

/* One thread's part of answer_cell_sums: its answers' rows added into ``sums``. */
typedef struct {
    const uint64_t *probas;
    const int64_t *item, *cell;
    Py_ssize_t n_answers, n_items, n_cells, k;
    uint64_t *sums; /* [C, K], zeroed by the caller */
    int in_range;
} cell_sums_part;

static void *cell_sums_job(void *arg) {
    cell_sums_part *p = (cell_sums_part *)arg;
    Py_ssize_t k = p->k;
    p->in_range = 1;
    for (Py_ssize_t j = 0; j < p->n_answers; j++) {
        int64_t i = p->item[j], c = p->cell[j];
        if (i < 0 || i >= p->n_items || c < 0 || c >= p->n_cells) {
            p->in_range = 0;
            break;
        }
        const uint64_t *row = p->probas + i * k;
        uint64_t *sum = p->sums + c * k;
        if (k == 2) { /* the commonest task */
            sum[0] += row[0];
            sum[1] += row[1];
        } else {
            for (Py_ssize_t t = 0; t < k; t++) sum[t] += row[t];
        }
    }
    return NULL;
}

static PyObject *kernels_answer_cell_sums(PyObject *self, PyObject *args) {
    PyObject *objs[4];
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOOn", &objs[0], &objs[1], &objs[2], &objs[3], &k))
        return NULL;
    static const char *const names[4] = {"probas", "item", "cell", "out"};
    Py_buffer views[4];
    int got = get_buffers(objs, views, 4, 1, names);
    PyObject *result = NULL;
    uint64_t *part_sums = NULL;
    if (got < 4) goto done;
    Py_ssize_t n_answers = views[1].len / 8;
    if (k < 1 || views[0].len / 8 % k != 0 || views[3].len / 8 % k != 0 ||
        views[2].len / 8 != n_answers) {
        PyErr_SetString(PyExc_ValueError, "answer_cell_sums: arrays of inconsistent shapes");
        goto done;
    }
    Py_ssize_t n_items = views[0].len / 8 / k;
    Py_ssize_t n_cells = views[3].len / 8 / k;
    /* Unsigned sums: int64 wraps as numpy's does, without C's signed overflow. */
    uint64_t *sums = (uint64_t *)views[3].buf;
    /* Parts past the first add into tables of their own, added in at the end: split only
     * where those tables are small beside the answers. */
    int n_parts = parts_for(n_answers, n_answers);
    if (n_cells * k * n_parts > n_answers) n_parts = 1;
    if (n_parts > 1) {
        part_sums = (uint64_t *)calloc((size_t)(n_cells * k * (n_parts - 1)), sizeof(uint64_t));
        if (part_sums == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    cell_sums_part parts[MAX_THREADS];
    for (int t = 0; t < n_parts; t++) {
        Py_ssize_t from = n_answers * t / n_parts, to = n_answers * (t + 1) / n_parts;
        parts[t] = (cell_sums_part){.probas = (const uint64_t *)views[0].buf,
                                    .item = (const int64_t *)views[1].buf + from,
                                    .cell = (const int64_t *)views[2].buf + from,
                                    .n_answers = to - from, .n_items = n_items,
                                    .n_cells = n_cells, .k = k,
                                    .sums = t == 0 ? sums : part_sums + n_cells * k * (t - 1)};
    }
    int in_range = 1;
    Py_BEGIN_ALLOW_THREADS memset(sums, 0, (size_t)views[3].len);
    run_jobs(cell_sums_job, parts, sizeof(cell_sums_part), n_parts);
    for (int t = 0; t < n_parts; t++) in_range &= parts[t].in_range;
    for (int t = 1; t < n_parts; t++) {
        const uint64_t *part = part_sums + n_cells * k * (t - 1);
        for (Py_ssize_t v = 0; v < n_cells * k; v++) sums[v] += part[v];
    }
    Py_END_ALLOW_THREADS if (!in_range) {
        PyErr_SetString(PyExc_IndexError, "answer_cell_sums: an item or cell code out of range");
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    free(part_sums);
    release_buffers(views, got);
    return result;
}

/* pair_counts over rows [0, n) sorted by item: for every two counted rows i < j of one item,
 * their annotators' cell (annotator[i] * width + annotator[j]) gets one shared item, one
 * agreement where their labels are equal, and one agreement against the reference where
 * they are equal and row i's label is not its item's reference (flags: bit 0 counted, bit
 * 1 off the reference). Returns 1, 0 for an annotator out of range, -1 for rows out of
 * item order. */
static int count_pairs(const int64_t *restrict item, const int64_t *restrict annotator,
                       const int64_t *restrict label, const uint8_t *restrict flags,
                       Py_ssize_t n, int64_t width, uint64_t *restrict shared,
                       uint64_t *restrict agreed, uint64_t *restrict against) {
    Py_ssize_t start = 0;
    while (start < n) {
        Py_ssize_t end = start + 1;
        while (end < n && item[end] == item[start]) end++;
        if (end < n && item[end] < item[start]) return -1;
        for (Py_ssize_t i = start; i < end; i++) {
            if (annotator[i] < 0 || annotator[i] >= width) return 0;
            if (!(flags[i] & 1)) continue;
            uint64_t *shared_row = shared + annotator[i] * width;
            uint64_t *agreed_row = agreed + annotator[i] * width;
            uint64_t *against_row = against + annotator[i] * width;
            int off = (flags[i] & 2) != 0;
            for (Py_ssize_t j = i + 1; j < end; j++) {
                if (!(flags[j] & 1)) continue;
                int64_t b = annotator[j];
                if (b < 0 || b >= width) return 0;
                shared_row[b] += 1;
                if (label[i] == label[j]) {
                    agreed_row[b] += 1;
                    against_row[b] += (uint64_t)off;
                }
            }
        }
        start = end;
    }
    return 1;
}

/* pair_counts(item, annotator, label, flags, shared, agreed, against, width) -> bool
 *
 * item, annotator, label: [N] int64, the answers; flags: [N] uint8, bit 0 set where the row
 * is counted and bit 1 where its label is not its item's reference; shared, agreed,
 * against: [width * width] int64, written (count_pairs). The dense pair counts of
 * pairs.pair_counts in one pass over the answers, where numpy expands every pair into
 * tables of its own (45M pairs at 10M answers of 10 an item). Integer counts: the same in
 * any order. False where the rows are not sorted by item (the caller counts them its own
 * way). */
static PyObject *kernels_pair_counts(PyObject *self, PyObject *args) {
    enum { ARGS = 7 };
    PyObject *objs[ARGS];
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "OOOOOOOn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &width))
        return NULL;
    static const char *const names[ARGS] = {"item",   "annotator", "label",  "flags",
                                            "shared", "agreed",    "against"};
    Py_buffer views[ARGS];
    int got = 0;
    while (got < ARGS && get_buffer(objs[got], &views[got], got >= 4, got == 3 ? 1 : 8,
                                    names[got]) == 0)
        got++;
    PyObject *result = NULL;
    if (got < ARGS) goto done;
    Py_ssize_t n = views[0].len / 8;
    if (width < 0 || views[1].len / 8 != n || views[2].len / 8 != n || views[3].len != n ||
        views[4].len / 8 != width * width || views[5].len != views[4].len ||
        views[6].len != views[4].len) {
        PyErr_SetString(PyExc_ValueError, "pair_counts: arrays of inconsistent shapes");
        goto done;
    }
    int outcome;
    Py_BEGIN_ALLOW_THREADS for (int v = 4; v < ARGS; v++)
        memset(views[v].buf, 0, (size_t)views[v].len);
    outcome = count_pairs((const int64_t *)views[0].buf, (const int64_t *)views[1].buf,
                          (const int64_t *)views[2].buf, (const uint8_t *)views[3].buf, n,
                          (int64_t)width, (uint64_t *)views[4].buf, (uint64_t *)views[5].buf,
                          (uint64_t *)views[6].buf);
    Py_END_ALLOW_THREADS if (outcome == 0) {
        PyErr_SetString(PyExc_IndexError, "pair_counts: an annotator code out of range");
        goto done;
    }
    result = PyBool_FromLong(outcome == 1);
done:
    release_buffers(views, got);
    return result;
}

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
