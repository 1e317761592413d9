/*
 * The E-step: each item's posteriors from its answers' rows, a block of items at a time, in
 * vector lanes past two classes, with the gold clamp, column totals and labels, split over
 * threads.
 *
 * Part of _kernels.c's one translation unit: included there once, in order, after what it
 * uses, so that the compiler still sees every loop whole and inlines the per-item steps
 * into the vector loops (a unit of its own would call them across a boundary).
 */
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
