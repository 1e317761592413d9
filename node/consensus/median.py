"""Per-item median of numeric answers (``median@1``, ``median@2``).

Robust to any minority of wild answers and exact (an order statistic, no rounding); with an
even number of answers it is the mean of the two middle values. ``median@1`` takes that mean
as ``(low + high) / 2``, which overflows when the two middle values are near the largest
float (two answers of 1e308: no result). ``median@2`` takes it by :func:`midpoint`, which is
the same float wherever ``median@1``'s is finite and never overflows.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import NumericAnswers
from node.consensus.numeric_base import FloatArray, NumericEstimator, segment_starts
from node.protocol import ids

HALVE_FIRST = 2.0**1022
"""Where :func:`midpoint` halves before adding: from here on a sum of two may overflow."""


def middle_pair(answers: NumericAnswers) -> tuple[FloatArray, FloatArray]:
    """The two middle answers of each item (the same one twice for an odd count),
    vectorized by sorting rows by (item, value)."""
    order = np.lexsort((answers.value, answers.item))
    values = answers.value[order]
    counts = np.bincount(answers.item, minlength=answers.n_items)
    starts = segment_starts(answers)
    return values[starts + (counts - 1) // 2], values[starts + counts // 2]


def midpoint(low: FloatArray, high: FloatArray) -> FloatArray:
    """``(low + high) / 2`` correctly rounded, for any finite inputs, without overflow.

    Below :data:`HALVE_FIRST` in magnitude the sum cannot overflow and this is
    ``(low + high) / 2`` itself, so the bits of ``median@1``. From there on it is ``low / 2
    + high / 2``: halving the larger is exact (it is far from the subnormals), and halving
    the other is exact too unless it is below 2**-1021, where its rounding lies far under
    the result's last place; so the one rounding left is that of the exact midpoint, the
    float ``(low + high) / 2`` would give if its sum had not overflowed."""
    large = np.maximum(np.abs(low), np.abs(high)) >= HALVE_FIRST
    out = np.empty(low.shape, dtype=np.float64)
    np.add(low, high, out=out, where=~large)
    np.divide(out, 2.0, out=out, where=~large)
    halves = np.add(np.divide(low, 2.0), np.divide(high, 2.0))  # |each| <= max / 2: finite
    out[large] = halves[large]
    return out


def item_medians(answers: NumericAnswers) -> FloatArray:
    """``median@1``: the median of each item's answers, ``(low + high) / 2`` (overflows to
    infinity past the float range; kept for ``median@1``'s bytes)."""
    low, high = middle_pair(answers)
    out: FloatArray = (low + high) / 2.0
    return out


def finite_item_medians(answers: NumericAnswers) -> FloatArray:
    """``median@2``: the median of each item's answers by :func:`midpoint`: finite for any
    finite answers, and ``median@1``'s value wherever that is finite."""
    low, high = middle_pair(answers)
    return midpoint(low, high)


class Median(NumericEstimator):
    """``median@1``: the median answer of each item."""

    algorithm = ids.MEDIAN

    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        return item_medians(answers)


class FiniteMedian(NumericEstimator):
    """``median@2``: ``median@1`` whose middle pair is averaged without overflow."""

    algorithm = ids.MEDIAN_V2
    finite_range = True

    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        return finite_item_medians(answers)
