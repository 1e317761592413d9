/*
 * The numerics' constants and their exp, log and rounding, one value at a time, to the bit.
 *
 * Part of _kernels.c's one translation unit: included there once, in order, after what it
 * uses, so that the compiler still sees every loop whole and inlines the per-item steps
 * into the vector loops (a unit of its own would call them across a boundary).
 */
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
