"""Annotator-weighted robust mean for numeric answers (``robust-mean@1``).

Each item's value is a weighted mean of its answers. An annotator's weight is the inverse
of their estimated error variance (squared residuals against the current consensus,
shrunk toward the crowd-wide variance with ``prior_answers`` pseudo-answers so a newcomer
is neither trusted nor ignored), and each single answer is further down-weighted Huber
style when it lies more than ``huber`` standard deviations from the consensus, so one wild
answer cannot drag an item. Starts from the plain mean; a fixed number of reweighting
passes (no convergence test: see :mod:`node.consensus.confusion`).

Measured on zheng_n_emotion (BENCHMARKS.md): lower mean absolute error than both the mean
and the median, because the answers' noise differs a lot between annotators.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import NumericAnswers
from node.consensus.base import check_iterations
from node.consensus.numeric_base import FloatArray, NumericEstimator
from node.consensus.numerics import sequential_sum
from node.protocol import ids
from node.protocol.errors import InvalidParameterError


class RobustMean(NumericEstimator):
    """Inverse-variance annotator weights with Huber down-weighting of outlying answers."""

    algorithm = ids.ROBUST_MEAN

    def __init__(self, n_iter: int = 2, prior_answers: float = 20.0, huber: float = 2.0) -> None:
        if not prior_answers > 0 or not huber > 0:
            raise InvalidParameterError("prior_answers and huber must be positive")
        self.n_iter = check_iterations(n_iter)
        self.prior_answers = float(prior_answers)
        self.huber = float(huber)

    def params(self) -> dict[str, int | str]:
        return {
            "n_iter": self.n_iter,
            "prior_answers": repr(self.prior_answers),
            "huber": repr(self.huber),
        }

    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        return self.reweighted(answers, answers.value, gold)

    def reweighted(
        self, answers: NumericAnswers, value: FloatArray, gold: FloatArray
    ) -> FloatArray:
        """The plain mean of ``value`` (one entry per answer row) per item, then
        ``n_iter`` reweighting passes; ``robust-mean@2`` runs it on fenced, rescaled values.

        Squares overflow once residuals pass about 1e154 (``robust-mean@1`` then has no
        result); ``robust-mean@2`` keeps its values below 2**400 so they cannot."""
        item, annotator = answers.item, answers.annotator
        per_item = np.bincount(item, minlength=answers.n_items).astype(np.float64)
        per_annotator = np.bincount(annotator, minlength=answers.n_annotators).astype(np.float64)
        has_gold = ~np.isnan(gold)
        estimate = np.bincount(item, weights=value, minlength=answers.n_items) / per_item
        for _ in range(self.n_iter):
            estimate = np.where(has_gold, gold, estimate)
            residual = value - estimate[item]
            squared = residual * residual
            crowd_variance = sequential_sum(squared) / len(value)
            variance = (
                np.bincount(annotator, weights=squared, minlength=answers.n_annotators)
                + self.prior_answers * crowd_variance
            ) / (per_annotator + self.prior_answers)
            variance = np.maximum(variance, 1e-12)
            limit = self.huber * np.sqrt(variance[annotator])
            magnitude = np.abs(residual)
            # limit / magnitude only where it is taken: there magnitude > limit >= huber *
            # 1e-6, so the old 1e-300 floor never applied (for any huber above 1e-294): the
            # same bits, and no overflow in the entries not taken.
            outlying = magnitude > limit
            clip = np.ones(len(value), dtype=np.float64)
            np.divide(limit, magnitude, out=clip, where=outlying)
            weight = clip / variance[annotator]
            estimate = np.bincount(item, weights=weight * value, minlength=answers.n_items) / (
                np.bincount(item, weights=weight, minlength=answers.n_items)
            )
        return estimate
