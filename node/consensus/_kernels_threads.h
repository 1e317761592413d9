/*
 * Splitting a loop's work over threads, whose parts add up to the same bits.
 *
 * Part of _kernels.c's one translation unit: included there once, in order, after what it
 * uses, so that the compiler still sees every loop whole and inlines the per-item steps
 * into the vector loops (a unit of its own would call them across a boundary).
 */
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
