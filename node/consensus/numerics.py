"""Bit-reproducible numerics: the arithmetic every validator must agree on to the last bit.

Validators run on different CPUs, operating systems and library builds, yet must produce the
same payout root. Plain numpy is not enough for that: ``np.exp``/``np.log`` dispatch to
SIMD kernels (AVX2, AVX-512, NEON) or to the C library, and those differ in the last unit
of precision; BLAS (``@``, ``np.dot``) picks kernels and thread splits per machine; and a
compiler may fuse ``a * b + c`` into one FMA on some architectures. So the engine keeps to
this rule:

* only IEEE-754 basic operations (``+ - * /``, comparisons, ``rint``, ``ldexp``, ``frexp``),
  each a separate numpy ufunc call (an operator on arrays is one such call): they are
  correctly rounded on every conforming platform, and separate calls cannot be fused;
* :func:`det_exp` and :func:`det_log` are evaluated from those operations with fixed
  polynomials, never from libm or SIMD transcendental kernels;
* sums are exact wherever they run over answers: posteriors are integers (parts per
  billion) and per-answer log-likelihoods fixed-point integers (:func:`to_fixed_log`), so
  their sums are the same in any order; the few remaining float sums run in a fixed
  order (:func:`row_sum` adds columns left to right);
* probabilities are rounded to integer parts per billion (:data:`PPB`) before anything
  uses them, so the posteriors passed from one EM iteration to the next are integers.

The hottest of these (:func:`det_exp`, :func:`det_log`, the E-step's sums and softmax, the
M-step's per-cell sums) also exist as native loops (``_kernels.c``, built by ``pip install``
where a C compiler is found): the same operations in the same order, compiled without fused
multiply-adds or fast-math, so the same bits, in one call where numpy makes dozens. The
numpy code here stays the definition: the loops are used only once they have given its bits
on a probe (:func:`native_kernels`), and the tests compare the two on every route.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import ModuleType

import numpy as np
import numpy.typing as npt

from node.consensus import native
from node.protocol.errors import ConsensusError
from node.protocol.rules import PPB

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits zero: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.70710678118654757274
_EXP_P = (  # fdlibm e_exp.c P1..P5
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)
_LOG_TERMS = 12  # atanh series to s**23 on |s| <= 0.1716: truncation error < 1e-18
LOG_FIXED_SCALE = float(1 << 30)
"""Per-answer log-likelihoods are rounded to multiples of 2**-30 before they are summed."""
LOG_FLOOR = -64.0
"""Per-answer log-likelihoods below this (probability < 1.6e-28) count as this."""
NEGLIGIBLE_LOG = -30.0
"""Log-weights this far below a row's maximum count as exactly zero (see softmax_ppb)."""
_CHUNK = 1 << 15  # elements per elementwise pass: temporaries stay in cache
_EXACT_CHUNK = 1 << 23  # rows per float64 partial sum of PPB weights: stays below 2**53


def det_exp(x: npt.ArrayLike) -> FloatArray:
    """``exp(x)`` from basic operations only, identical on every IEEE-754 platform.

    The algorithm is fdlibm's ``e_exp.c`` (the one most C libraries descend from): reduce
    ``x = k ln2 + r`` with ``|r| <= ln2/2`` (Cody-Waite, ``k * _LN2_HI`` exact), approximate
    ``exp(r) = 1 + r + r c / (2 - c)`` with its degree-5 minimax polynomial in ``r^2``, and
    scale by ``2**k`` exactly; the error is below one unit in the last place.

    Arguments are clamped to ``[-700, 700]`` so that no result is subnormal (some
    environments flush subnormals to zero, which would break reproducibility) or infinite;
    the engine only exponentiates log-probabilities shifted to be ``<= 0``, where the clamp
    changes nothing that survives rounding to :data:`PPB`.
    """
    arg = np.asarray(x, dtype=np.float64)
    loops = native_kernels()
    if loops is not None:
        out = np.empty(arg.shape, dtype=np.float64)
        loops.det_exp(np.ascontiguousarray(arg), out)
        return out
    return _det_exp_numpy(arg)


def _det_exp_numpy(arg: FloatArray) -> FloatArray:
    """:func:`det_exp` in numpy: the definition the native loop is checked against."""
    if arg.ndim == 1 and arg.size <= _CHUNK:  # one piece: the kernel's fresh result as is
        return _exp_kernel(arg)
    # C order on both sides: ``empty_like`` would copy a Fortran-ordered input's layout, and
    # ``reshape(-1)`` of that is a copy, so the results would never reach ``out``.
    out = np.empty(arg.shape, dtype=np.float64)
    flat_in, flat_out = arg.reshape(-1), out.reshape(-1)
    for start in range(0, flat_in.size, _CHUNK):  # cache-sized pieces; elementwise, so
        stop = start + _CHUNK  # chunking cannot change any result
        flat_out[start:stop] = _exp_kernel(flat_in[start:stop])
    return out


def _exp_kernel(x: FloatArray) -> FloatArray:
    """One chunk of :func:`det_exp`. Each step is one ufunc call writing into a buffer
    (``out=``): the same operations in the same order as the expression form, so the same
    bits, without a fresh temporary per step."""
    arg = np.maximum(x, -700.0)  # with the next line, np.clip's values; a third faster
    np.minimum(arg, 700.0, out=arg)
    k = np.multiply(arg, _INV_LN2)
    np.rint(k, out=k)
    scratch = np.multiply(k, _LN2_HI)
    r = np.subtract(arg, scratch, out=arg)  # arg is the clamp's fresh copy: free to reuse
    np.multiply(k, _LN2_LO, out=scratch)
    np.subtract(r, scratch, out=r)
    t = np.multiply(r, r)
    poly = np.multiply(t, _EXP_P[4])  # the first Horner step from a constant: same bits
    np.add(poly, _EXP_P[3], out=poly)
    for coefficient in _EXP_P[2::-1]:
        np.multiply(poly, t, out=poly)
        np.add(poly, coefficient, out=poly)
    c = np.multiply(t, poly, out=poly)
    np.subtract(r, c, out=c)  # c = r - t * poly
    y = np.multiply(r, c, out=t)
    np.subtract(2.0, c, out=scratch)
    np.divide(y, scratch, out=y)
    np.add(y, r, out=y)
    np.add(y, 1.0, out=y)
    return np.ldexp(y, k.astype(np.int32), out=y)


def det_log(x: npt.ArrayLike) -> FloatArray:
    """Natural logarithm from basic operations only; ``x`` must be positive and finite."""
    arr = np.asarray(x, dtype=np.float64)
    loops = native_kernels()
    if loops is not None:
        out = np.empty(arr.shape, dtype=np.float64)
        if not loops.det_log(np.ascontiguousarray(arr), out):
            raise ConsensusError("det_log needs positive finite arguments")
        return out
    # min > 0 and a finite max: every value positive and finite (a NaN fails the first).
    if arr.size and not (arr.min() > 0.0 and arr.max() < math.inf):
        raise ConsensusError("det_log needs positive finite arguments")
    return _det_log_numpy(arr)


def _det_log_numpy(arr: FloatArray) -> FloatArray:
    """:func:`det_log` in numpy, of checked arguments: the definition the native loop is
    checked against."""
    if arr.ndim == 0:  # frexp of a 0-d array gives scalars, which cannot take ``out=``
        return _det_log_numpy(arr.reshape(1)).reshape(())
    mantissa, exponent = np.frexp(arr)
    low = mantissa < _SQRT_HALF
    np.multiply(mantissa, 2.0, out=mantissa, where=low)
    exponent = np.subtract(exponent, low, dtype=np.float64)
    s = np.subtract(mantissa, 1.0)
    np.add(mantissa, 1.0, out=mantissa)
    np.divide(s, mantissa, out=s)
    s2 = np.multiply(s, s, out=mantissa)
    # Horner from the leading constant c: its first step c * s2 straight from s2 (the same
    # product), then in place: the same operations in the same order.
    series = np.multiply(s2, 1.0 / (2 * _LOG_TERMS - 1))
    np.add(series, 1.0 / (2 * _LOG_TERMS - 3), out=series)
    for n in range(_LOG_TERMS - 3, -1, -1):
        np.multiply(series, s2, out=series)
        np.add(series, 1.0 / (2 * n + 1), out=series)
    log_mantissa = np.multiply(s, series, out=series)
    np.multiply(log_mantissa, 2.0, out=log_mantissa)
    high = np.multiply(exponent, _LN2_HI)
    np.multiply(exponent, _LN2_LO, out=exponent)
    np.add(exponent, log_mantissa, out=exponent)
    return np.add(high, exponent, out=high)


@functools.lru_cache(maxsize=64)
def int_ones(n: int) -> IntArray:
    """A read-only int64 vector of ``n`` ones, made once: a product with it is an exact
    integer sum in one call, and on small tasks making the vector cost as much as the sum."""
    out = np.ones(n, dtype=np.int64)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def identity_mask(k: int) -> npt.NDArray[np.bool_]:
    """A read-only ``k x k`` boolean identity (the diagonal of a confusion table)."""
    out = np.eye(k, dtype=bool)
    out.flags.writeable = False
    return out


def row_sum(matrix: FloatArray) -> FloatArray:
    """Sum over the last axis, adding columns strictly left to right."""
    total = np.array(matrix[..., 0], dtype=np.float64, copy=True)
    for column in range(1, matrix.shape[-1]):
        total = np.add(total, matrix[..., column])
    return total


def row_max(matrix: FloatArray) -> FloatArray:
    """Maximum over the last axis (exact in any order; columnwise because it is faster)."""
    top = np.array(matrix[..., 0], dtype=np.float64, copy=True)
    for column in range(1, matrix.shape[-1]):
        np.maximum(top, matrix[..., column], out=top)
    return top


def to_fixed_log(log_values: FloatArray) -> FloatArray:
    """Log-likelihoods as integer multiples of 2**-30 (held in float64), floored at -64.

    Sums of such integers are exact in float64 up to 2**53, i.e. for up to 2**53 /
    (64 * 2**30) = 131072 terms, so a per-item sum does not depend on the order of the
    item's answers at all: renaming annotators or items cannot change it by a single bit.
    (An item with more answers than that is still summed in the canonical order.)
    """
    return np.rint(np.maximum(log_values, LOG_FLOOR) * LOG_FIXED_SCALE)


def to_ppb(probabilities: FloatArray) -> IntArray:
    """Round probabilities to integer parts per billion (ties to even, exact)."""
    return np.rint(np.multiply(probabilities, float(PPB))).astype(np.int64)


def shares_ppb(values: FloatArray) -> IntArray:
    """Each value's share of its row, in parts per billion: the row's total added left to
    right (:func:`row_sum`), then one division and one rounding a value. Natively in one
    pass over a C-contiguous float64 table (:func:`native_kernels`): at 3.3M rows of five,
    numpy's four passes take 0.6 s and three tables of the same size."""
    loops = native_kernels()
    if (
        loops is not None
        and values.ndim == 2
        and values.shape[1] > 0
        and values.dtype == np.float64
        and values.flags.c_contiguous
    ):
        out: IntArray = np.empty(values.shape, dtype=np.int64)
        loops.shares_ppb(values, out, values.shape[1])
        return out
    return _shares_ppb_numpy(values)


def _shares_ppb_numpy(values: FloatArray) -> IntArray:
    """:func:`shares_ppb`'s definition."""
    return to_ppb(np.divide(values, row_sum(values)[:, None]))


def from_ppb(ppb: IntArray) -> FloatArray:
    """The float64 value of a parts-per-billion integer (one correctly rounded division)."""
    return np.divide(ppb.astype(np.float64), float(PPB))


def fixed_point_sum(values: FloatArray, bits: int) -> int:
    """``sum(values)`` with each value first rounded to a multiple of ``2**-bits`` (ties
    to even), in units of ``2**-bits``: an integer sum, the same in any order. The one
    fixed-point sum of the fits' order-free statistics (the row strength, the evidence, the
    bound)."""
    fixed = np.rint(np.multiply(values, float(1 << bits))).astype(np.int64)
    return int(fixed.sum(dtype=np.int64))


def ppb_entropy_fixed(ppb: IntArray, floor: float, bits: int) -> int:
    """Minus the entropy of a table of probabilities in parts per billion, in fixed point:
    over every entry, ``f = max(ppb / PPB, floor)`` and ``rint(f det_log(f) 2**bits)``,
    summed as integers (so in any order, the same). ``ds@2``'s bound takes it each
    iteration over every item and class; the native loop does it in one pass, without the
    four temporaries of the table's size the numpy steps make."""
    loops = native_kernels()
    if loops is not None:
        total = loops.ppb_entropy_fixed(np.ascontiguousarray(ppb, dtype=np.int64), floor, bits)
        if total is not None:  # None: an entry outside [0, PPB], summed below
            return int(total)
    return _ppb_entropy_fixed_numpy(ppb, floor, bits)


def _ppb_entropy_fixed_numpy(
    ppb: IntArray, floor: float, bits: int, log: Callable[[FloatArray], FloatArray] = det_log
) -> int:
    """:func:`ppb_entropy_fixed` in numpy: the definition the native loop is checked against
    (with the numpy ``log``, :func:`numpy_reference`)."""
    floored = np.maximum(from_ppb(ppb), floor)
    return fixed_point_sum(np.multiply(floored, log(floored)).reshape(-1), bits)


def softmax_ppb(log_weights: FloatArray) -> IntArray:
    """Normalize rows of log-weights to probabilities in parts per billion.

    Rows are shifted by their maximum, so the largest term is exactly one and nothing
    overflows. Terms more than :data:`NEGLIGIBLE_LOG` below the maximum count as zero: each
    is below 1e-13, far under the half-unit (5e-10) it would take to move a rounded result
    of a row with few classes, and the cut is part of the definition, so it is the same
    everywhere.
    """
    return _softmax_ppb(log_weights, det_exp)


def _softmax_ppb(log_weights: FloatArray, exp: Callable[[FloatArray], FloatArray]) -> IntArray:
    """:func:`softmax_ppb` with the exponential given (the native check passes numpy's)."""
    if log_weights.ndim == 2 and log_weights.shape[1] == 2:
        return _softmax_pair_ppb(log_weights[:, 0], log_weights[:, 1], exp)
    shifted = log_weights - row_max(log_weights)[..., None]
    weights = np.where(shifted > NEGLIGIBLE_LOG, exp(shifted), 0.0)
    return to_ppb(weights / row_sum(weights)[..., None])


def softmax_pair_ppb(first: FloatArray, second: FloatArray) -> IntArray:
    """:func:`softmax_ppb` of the two columns ``first`` and ``second`` (given apart, so a
    caller that holds them apart need not build the matrix), with one exponential per row
    instead of two.

    The same bits: the larger entry's shifted value is ``x - x = 0`` and ``det_exp(0) ==
    1`` exactly; the smaller one's is ``-|a - b|``, since IEEE subtraction rounds ``b - a``
    and ``-(a - b)`` alike; ``1 + e`` and ``e + 1`` are the same sum. A tie gives ``-0.0``,
    whose exponential is also exactly 1 (tested). Binary tasks are the commonest, and on
    them the exponentials were a fifth of an EM iteration."""
    return _softmax_pair_ppb(first, second, det_exp)


def _softmax_pair_ppb(
    first: FloatArray, second: FloatArray, exp: Callable[[FloatArray], FloatArray]
) -> IntArray:
    """:func:`softmax_pair_ppb` with the exponential given."""
    gap = np.subtract(first, second)
    low = np.abs(gap)
    np.negative(low, out=low)
    small = exp(low)  # a fresh array: free to zero in place
    small[~(low > NEGLIGIBLE_LOG)] = 0.0  # np.where's mask, NaN included
    total = np.add(small, 1.0)
    # Each column's share straight into its place, then one rounding for both: the same
    # divisions and roundings as ``1 / total`` and ``small / total`` put there afterwards.
    first_is_top = gap >= 0.0
    shares = np.empty((len(gap), 2), dtype=np.float64)
    np.divide(np.where(first_is_top, 1.0, small), total, out=shares[:, 0])
    np.divide(np.where(first_is_top, small, 1.0), total, out=shares[:, 1])
    return to_ppb(shares)


def log_softmax(logits: FloatArray) -> FloatArray:
    """Row-wise ``log(softmax(logits))`` with deterministic exp/log and a fixed sum order."""
    top = row_max(logits)[..., None]
    shifted = np.subtract(logits, top)
    return np.subtract(shifted, det_log(row_sum(det_exp(shifted)))[..., None])


def argmax_lowest(values: IntArray) -> IntArray:
    """Row-wise argmax; ties go to the lowest column (the first class in sorted order)."""
    if values.ndim == 2 and values.shape[1] == 2 and values.dtype.kind in "iu":
        # numpy's argmax over rows of two is a loop of tiny reductions; for integers (no
        # NaN to find) "second beats first" is the same answer, ties included.
        pair: IntArray = np.greater(values[:, 1], values[:, 0]).astype(np.int64)
        return pair
    if values.ndim == 2 and values.dtype == np.int64 and values.flags.c_contiguous:
        loops = native_kernels()
        if loops is not None:  # np.argmax's answer in one pass (native_kernels)
            rows: IntArray = np.empty(values.shape[0], dtype=np.int64)
            loops.argmax_rows(values, rows, values.shape[1])
            return rows
    out: IntArray = np.argmax(values, axis=-1).astype(np.int64)
    return out


def exact_bincount(keys: IntArray, weights: npt.NDArray[np.generic], length: int) -> IntArray:
    """``np.bincount(keys, weights)`` for integer-valued weights in ``[0, PPB]``, exactly.

    float64 adds integers exactly while partial sums stay below 2**53, which holds for
    chunks of up to 2**23 rows of weights up to 1e9; chunk results are then added as
    int64. The result is therefore the exact integer sum, whatever the row order.
    """
    total = np.zeros(length, dtype=np.int64)
    for start in range(0, len(keys), _EXACT_CHUNK):
        stop = start + _EXACT_CHUNK
        part = np.bincount(keys[start:stop], weights=weights[start:stop], minlength=length)
        total += part.astype(np.int64)
    return total


def sequential_sum(values: FloatArray) -> float:
    """Sum of a 1-d array added strictly in order (``np.sum`` uses pairwise blocks whose
    shape is an implementation detail; ``np.bincount`` is a plain loop)."""
    if len(values) == 0:
        return 0.0
    return float(np.bincount(np.zeros(len(values), dtype=np.int64), weights=values)[0])


def count_keys(keys: IntArray, length: int) -> IntArray:
    """Occurrences of each key in ``range(length)`` (integer arithmetic, exact)."""
    # bincount's counts are already int64 where intp is (no copy then: at 256 classes and
    # 2,975 annotators a confusion count is 1.6 GB).
    return np.bincount(keys, minlength=length).astype(np.int64, copy=False)


@functools.cache
def native_kernels() -> ModuleType | None:
    """The native loops (``_kernels.c``), or ``None`` where they are not built, turned off,
    or not giving this module's bits (:func:`node.consensus.native.load`, against
    :func:`numpy_reference`). Read once per process."""
    return native.load(numpy_reference())


def clamp_rows(probas_ppb: IntArray, rows: IntArray, gold: IntArray) -> None:
    """Sets ``rows`` (gold items) of ``probas_ppb``, in place, to certainty in their gold
    class: the rule of :func:`node.consensus.base.clamp_gold`, which the native E-step also
    applies to each block of items it computes."""
    probas_ppb[rows] = 0
    probas_ppb[rows, gold[rows]] = PPB


def numpy_reference() -> native.Reference:
    """This module's numpy definitions and constants: what the native loops must give."""
    return native.Reference(
        constants={
            "ln2_hi": _LN2_HI,
            "ln2_lo": _LN2_LO,
            "inv_ln2": _INV_LN2,
            "sqrt_half": _SQRT_HALF,
            "exp_p": _EXP_P,
            "log_terms": _LOG_TERMS,
            "log_fixed_scale": LOG_FIXED_SCALE,
            "negligible_log": NEGLIGIBLE_LOG,
            "ppb": float(PPB),
        },
        det_exp=_det_exp_numpy,
        det_log=_det_log_numpy,
        softmax_ppb=functools.partial(_softmax_ppb, exp=_det_exp_numpy),
        shares_ppb=_shares_ppb_numpy,
        to_fixed_log=to_fixed_log,
        clamp_rows=clamp_rows,
        ppb_entropy_fixed=functools.partial(_ppb_entropy_fixed_numpy, log=_det_log_numpy),
    )
