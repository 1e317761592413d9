"""Per-item median of numeric answers.

Robust to any minority of wild answers and exact (an order statistic, no rounding); with an
even number of answers it is the mean of the two middle values.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import NumericAnswers
from node.consensus.numeric_base import FloatArray, NumericEstimator, segment_starts
from node.protocol import ids


def item_medians(answers: NumericAnswers) -> FloatArray:
    """Median of each item's answers, vectorized by sorting rows by (item, value)."""
    order = np.lexsort((answers.value, answers.item))
    values = answers.value[order]
    counts = np.bincount(answers.item, minlength=answers.n_items)
    starts = segment_starts(answers)
    low = values[starts + (counts - 1) // 2]
    high = values[starts + counts // 2]
    out: FloatArray = (low + high) / 2.0
    return out


class Median(NumericEstimator):
    """The median answer of each item."""

    algorithm = ids.MEDIAN

    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        return item_medians(answers)
