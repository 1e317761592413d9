"""``robust-mean@2``: ``robust-mean@1`` that any finite answers cannot overflow, and that one
annotator's extreme answers cannot drag far.

``robust-mean@1`` squares residuals, sums values and multiplies them by weights up to 1e12,
so one answer of about 1e154 or more overflows and the task has no result. Below that it is
still not robust to one wild answer: its start (the plain mean) and its crowd-wide variance
take the answer at face value, so on zheng_n_emotion (scores -100..100) one added answer of
1e6 moves its item to 62 (truth 37) and the mean absolute error of the other items from
11.81 to 12.65, worse than the plain mean. ``robust-mean@2`` adds two steps around the same
reweighting (:meth:`RobustMean.reweighted`, the same parameters):

1. **Fence.** Let ``m`` be each item's median (:func:`~node.consensus.median.midpoint`,
   finite for any finite answers) and ``S`` the median over annotators of each annotator's
   largest ``|answer - m|``. An answer further than ``fence * S`` (default 4) from its
   item's median is moved to ``m +- fence * S``. One annotator, or any minority of them,
   cannot move ``S``. On zheng_n_emotion nothing is fenced (``S`` is 100, the largest
   deviation 189.5).
2. **Large values.** If every fenced answer and gold value is below 2**400 (about 2.6e120)
   the reweighting runs on the fenced answers: nothing can overflow (squares stay below
   2**802, weights below 1e12), and where nothing was fenced these are ``robust-mean@1``'s
   bits. Otherwise it runs on each answer's offset from its item's median, taken in halves
   (``v / 2 - m / 2``, finite), multiplied by ``2**-k`` for the least ``k`` that brings
   every offset below 2**400 (exact except for results below 2**-1022, set to zero: the
   same on machines that flush subnormals and those that do not), and the medians are added
   back. Offsets, so that an item of 1e308 does not push ordinary items below the float
   resolution.

So ``robust-mean@2`` differs from ``robust-mean@1`` exactly where an answer lies outside the
fence, or some answer or gold value reaches 2**400. Everything is basic IEEE arithmetic in
a fixed order (:mod:`node.consensus.numerics`); no intermediate overflows.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import NumericAnswers
from node.consensus.median import finite_item_medians, midpoint
from node.consensus.numeric_base import FloatArray
from node.consensus.robust_mean import RobustMean
from node.protocol import ids
from node.protocol.errors import InvalidParameterError

SAFE_EXPONENT = 400
"""Values are rescaled so that every one is below ``2**SAFE_EXPONENT``."""
SMALLEST_NORMAL = 2.0**-1022


def _power_of_two(value: float) -> bool:
    return value > 0 and np.isfinite(value) and float(np.frexp(value)[0]) == 0.5


def fenced_values(answers: NumericAnswers, medians: FloatArray, fence: float) -> FloatArray:
    """Each answer moved into ``m +- fence * S`` (module docstring; ``medians`` are the
    items' :func:`~node.consensus.median.finite_item_medians`), as a new array; the answers
    themselves, bit for bit, where none lies outside.

    Computed on halves, which cannot overflow: ``|v / 2 - m / 2|`` is at most the largest
    float, and ``fence`` is a power of two, so comparing ``deviation / fence`` with ``S / 2``
    is exact. A fenced value ``2 * (m / 2 +- fence * S / 2)`` lies between ``m`` and the
    answer, so it is finite too."""
    centre = np.divide(medians, 2.0)[answers.item]
    offset = np.subtract(np.divide(answers.value, 2.0), centre)
    deviation = np.abs(offset)
    reach = np.zeros(answers.n_annotators, dtype=np.float64)
    np.maximum.at(reach, answers.annotator, deviation)  # a maximum: exact in any order
    ranked = np.sort(reach)
    n = len(ranked)
    typical = float(midpoint(ranked[[(n - 1) // 2]], ranked[[n // 2]])[0])
    outside = np.divide(deviation, fence) > typical
    fenced = np.array(answers.value, dtype=np.float64, copy=True)
    if np.any(outside):  # then fence * typical < some deviation: finite
        reach_half = typical * fence
        step = np.where(offset[outside] > 0.0, reach_half, -reach_half)
        fenced[outside] = np.multiply(np.add(centre[outside], step), 2.0)
    return fenced


def rescale_exponent(values: FloatArray, gold: FloatArray) -> int:
    """The least ``k >= 0`` with every value and gold value below ``2**(SAFE_EXPONENT + k)``."""
    top = float(np.max(np.abs(values)))
    known = gold[~np.isnan(gold)]
    if len(known):
        top = max(top, float(np.max(np.abs(known))))
    if top < 2.0**SAFE_EXPONENT:
        return 0
    return int(np.frexp(top)[1]) - SAFE_EXPONENT  # top < 2**exponent


def _scaled(values: FloatArray, shift: int) -> FloatArray:
    """``values * 2**-shift``, with results below the smallest normal float set to zero."""
    out = np.ldexp(values, -shift)
    out[np.abs(out) < SMALLEST_NORMAL] = 0.0  # NaN (no gold) compares False: kept
    return out


def _item_range(answers: NumericAnswers, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The least and the largest of each item's ``values`` (exact in any order)."""
    low = np.full(answers.n_items, np.inf)
    high = np.full(answers.n_items, -np.inf)
    np.minimum.at(low, answers.item, values)
    np.maximum.at(high, answers.item, values)
    return low, high


class FencedRobustMean(RobustMean):
    """``robust-mean@2``: :class:`RobustMean` on fenced answers, rescaled when large."""

    algorithm = ids.ROBUST_MEAN_V2
    finite_range = True

    def __init__(
        self, n_iter: int = 2, prior_answers: float = 20.0, huber: float = 2.0, fence: float = 4.0
    ) -> None:
        super().__init__(n_iter=n_iter, prior_answers=prior_answers, huber=huber)
        if not _power_of_two(fence):
            raise InvalidParameterError("fence must be a positive power of two (exact halving)")
        self.fence = float(fence)

    def params(self) -> dict[str, int | str]:
        return {**super().params(), "fence": repr(self.fence)}

    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        medians = finite_item_medians(answers)
        fenced = fenced_values(answers, medians, self.fence)
        if rescale_exponent(fenced, gold) == 0:
            return self.reweighted(answers, fenced, gold)
        return self._large(answers, medians, fenced, gold)

    def _large(
        self, answers: NumericAnswers, medians: FloatArray, fenced: FloatArray, gold: FloatArray
    ) -> FloatArray:
        """Step 2 of the module docstring: the reweighting on each answer's offset from its
        item's median, in halves (``v / 2 - m / 2``: finite), rescaled below 2**400, and the
        medians added back. Offsets, not values, so that one item of 1e308 does not push the
        others' ordinary answers below the float resolution."""
        centre = np.divide(medians, 2.0)
        offset = np.subtract(np.divide(fenced, 2.0), centre[answers.item])
        gold_offset = np.subtract(np.divide(gold, 2.0), centre)
        shift = rescale_exponent(offset, gold_offset)
        scaled = _scaled(offset, shift)
        estimate = self.reweighted(answers, scaled, _scaled(gold_offset, shift))
        # A weighted mean lies within its item's answers, but rounding may pass them by an
        # ulp, which scaled back or doubled could overflow: clamped before each step.
        low, high = _item_range(answers, scaled)
        half = np.add(centre, np.ldexp(np.clip(estimate, low, high), shift))
        low, high = _item_range(answers, np.divide(fenced, 2.0))
        out: FloatArray = np.multiply(np.clip(half, low, high), 2.0)
        return out
