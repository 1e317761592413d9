/*
 * Integer counts over the answers: the per-cell sums of the posteriors and the bloc test's
 * dense pair counts, with their Python entry points.
 *
 * Part of _kernels.c's one translation unit: included there once, in order, after what it
 * uses, so that the compiler still sees every loop whole and inlines the per-item steps
 * into the vector loops (a unit of its own would call them across a boundary).
 */
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
