"""Deterministic numerics: accurate, pinned to exact bits, exact integer sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.consensus import numerics
from node.consensus.numerics import (
    argmax_lowest,
    det_exp,
    det_log,
    exact_bincount,
    log_softmax,
    sequential_sum,
    softmax_ppb,
)
from node.protocol.errors import ConsensusError
from node.protocol.rules import PPB


def ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


def test_det_exp_is_within_one_ulp_of_libm() -> None:
    x = np.linspace(-700.0, 700.0, 200_001)
    worst = max(
        ulps(float(e), math.exp(float(v))) for v, e in zip(x[::97], det_exp(x)[::97], strict=False)
    )
    assert worst <= 1.0
    assert det_exp(np.array([0.0]))[0] == 1.0


def test_det_log_is_within_two_ulps_of_libm() -> None:
    x = np.exp(np.linspace(-600.0, 600.0, 100_001))
    for v, got in zip(x[::53], det_log(x)[::53], strict=True):
        want = math.log(float(v))
        assert abs(got - want) <= 2 * math.ulp(want) + 1e-300
    assert det_log(np.array([1.0]))[0] == 0.0


def test_exp_and_log_bits_are_pinned() -> None:
    """These exact bit patterns are part of the protocol: changing them is a new version."""
    assert float(det_exp(np.array([-1.5]))[0]).hex() == "0x1.c8f87724b5c1dp-3"
    assert float(det_exp(np.array([3.25]))[0]).hex() == "0x1.9ca53b781114bp+4"
    assert float(det_log(np.array([0.3]))[0]).hex() == "-0x1.34378fcbda721p+0"
    assert float(det_log(np.array([1234.5]))[0]).hex() == "0x1.c79436f818745p+2"


def test_det_exp_clamps_instead_of_overflowing_or_going_subnormal() -> None:
    out = det_exp(np.array([-1e9, 1e9]))
    assert out[0] == det_exp(np.array([-700.0]))[0] > 0.0
    assert np.isfinite(out[1])


def test_det_log_rejects_non_positive() -> None:
    with pytest.raises(ConsensusError):
        det_log(np.array([1.0, 0.0]))
    with pytest.raises(ConsensusError):
        det_log(np.array([np.inf]))
    for bad in ([np.nan], [1.0, np.nan], [np.nan, 1.0]):
        with pytest.raises(ConsensusError):
            det_log(np.array(bad))


def test_shared_constants_are_right_and_read_only() -> None:
    """``int_ones`` and ``identity_mask`` hand every caller one cached array, so nobody
    may write into it."""
    assert numerics.int_ones(3).tolist() == [1, 1, 1]
    assert numerics.int_ones(3) is numerics.int_ones(3)
    np.testing.assert_array_equal(numerics.identity_mask(3), np.eye(3, dtype=bool))
    for shared in (numerics.int_ones(4), numerics.identity_mask(4)):
        with pytest.raises(ValueError, match="read-only"):
            shared[0] = 0


def test_softmax_ppb_rounds_and_cuts_negligible_terms() -> None:
    probas = softmax_ppb(np.array([[0.0, 0.0], [0.0, -40.0], [1.0, 0.0]]))
    assert probas.tolist()[0] == [PPB // 2, PPB // 2]
    assert probas.tolist()[1] == [PPB, 0]
    p = math.exp(1) / (math.exp(1) + 1)
    assert probas.tolist()[2] == [round(p * PPB), round((1 - p) * PPB)]


def _softmax_ppb_any_width(log_weights: np.ndarray) -> np.ndarray:
    """The general route of :func:`softmax_ppb`, which two-column input skips."""
    shifted = log_weights - numerics.row_max(log_weights)[..., None]
    weights = np.where(shifted > numerics.NEGLIGIBLE_LOG, det_exp(shifted), 0.0)
    return numerics.to_ppb(weights / numerics.row_sum(weights)[..., None])


def test_two_column_softmax_gives_the_general_routes_integers() -> None:
    """Binary tasks take a route with one exponential per row; it is a speed choice only,
    so its integers must be the general route's: ties (+0.0 and -0.0 gaps), gaps at the
    negligible cut, and gaps from tiny to huge."""
    assert det_exp(np.array([-0.0]))[0] == 1.0
    rng = np.random.default_rng(12)
    for scale in (1e-12, 0.01, 1.0, 10.0, 40.0, 1e4):
        logits = rng.normal(size=(20_000, 2)) * scale
        logits[:500, 1] = logits[:500, 0]
        logits[500:600] = 0.0
        logits[600:700, 0] = -0.0
        logits[700:750] = [0.0, numerics.NEGLIGIBLE_LOG]  # exactly at the cut
        logits[750:800] = [numerics.NEGLIGIBLE_LOG + 2.0, 2.0]
        logits[800:900, 0] = np.nextafter(numerics.NEGLIGIBLE_LOG, 0.0)
        logits[800:900, 1] = 0.0
        np.testing.assert_array_equal(softmax_ppb(logits), _softmax_ppb_any_width(logits))


def test_log_softmax_matches_reference() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]])
    ref = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(logits), ref, rtol=4e-16, atol=1e-15)


def test_exact_bincount_is_exact_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numerics, "_EXACT_CHUNK", 3)
    keys = np.array([0, 1, 0, 0, 1, 2, 0], dtype=np.int64)
    weights = np.array([PPB, 1, PPB - 1, 7, 999_999_999, 5, 3], dtype=np.float64)
    assert exact_bincount(keys, weights, 4).tolist() == [2 * PPB + 9, PPB, 5, 0]


def test_sequential_sum_adds_in_order() -> None:
    values = np.array([1e16, 1.0, -1e16, 1.0])
    assert sequential_sum(values) == ((1e16 + 1.0) - 1e16) + 1.0
    assert sequential_sum(np.array([])) == 0.0


def test_argmax_ties_go_to_the_first_class() -> None:
    assert argmax_lowest(np.array([[3, 5, 5], [7, 7, 1]])).tolist() == [1, 0]


def test_two_column_argmax_is_numpys() -> None:
    """Integer pairs take a comparison instead of numpy's argmax: the same answers, ties
    to the first column; floats keep numpy's (which finds a NaN)."""
    pairs = np.random.default_rng(3).integers(0, 4, size=(500, 2))
    assert argmax_lowest(pairs).tolist() == np.argmax(pairs, axis=1).tolist()
    assert argmax_lowest(np.array([[1.0, np.nan], [np.nan, 1.0]])).tolist() == [1, 0]


def test_det_exp_takes_the_same_bits_whole_or_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short one-dimensional input is exponentiated in one piece; chunking (forced here)
    is elementwise, so it cannot change a bit, out-of-range arguments included."""
    values = np.concatenate((np.linspace(-800.0, 800.0, 997), [-0.0, 0.0, 709.9, -745.2]))
    whole = det_exp(values)
    monkeypatch.setattr(numerics, "_CHUNK", 7)
    assert det_exp(values).tobytes() == whole.tobytes()
    assert det_exp(values.reshape(1, -1)).tobytes() == whole.tobytes()


def test_det_exp_of_a_non_contiguous_array_matches_the_contiguous_one() -> None:
    """A Fortran-ordered or strided input gives the same values as its C-ordered copy (an
    output laid out like the input once made the chunked writes land in a temporary copy)."""
    values = np.linspace(-30.0, 0.0, 12).reshape(3, 4)
    expected = det_exp(np.ascontiguousarray(values))
    assert np.array_equal(det_exp(np.asfortranarray(values)), expected)
    assert np.array_equal(det_exp(values.T), expected.T)
    assert np.array_equal(det_exp(np.zeros((3, 2), order="F")), np.ones((3, 2)))
