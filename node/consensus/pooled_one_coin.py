"""One-coin Dawid-Skene with one accuracy for the whole crowd: what can be fitted where
nobody's own accuracy is identified (issue #15; ``hds@10``'s fallback, not an algorithm id
of its own).

Every annotator answers the true class with the same probability ``p`` and each other
class with ``(1 - p) / (K - 1)``; with the class prior, that is the whole model. An item's
log-odds between two classes is then ``log(prior ratio) + (difference in votes) log(p (K -
1) / (1 - p))``: the vote where the vote is clear, the commoner class where it is close.

Determinism: the crowd's right answers are one integer sum (posteriors in parts per billion
times vote counts), the accuracy and its logs elementwise IEEE operations and
:func:`~node.consensus.numerics.det_log`, the E-step the shared fixed-point one over a
``K x K`` table indexed by each answer's label, so nothing is ``annotators x classes²``.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    CategoricalEstimator,
    IntArray,
    check_iterations,
    class_prior,
    e_step_posteriors,
    initial_posteriors,
)
from node.consensus.numerics import det_log, to_fixed_log
from node.protocol.errors import InvalidParameterError, NotFittedError
from node.protocol.rules import PPB

POOLED_ONE_COIN = "pooled-one-coin (unregistered)"
"""Not a protocol id: ``hds@10`` runs it as part of its own computation."""


class PooledOneCoin(CategoricalEstimator):
    """EM over the class prior (one pseudo-item a class) and the crowd's accuracy (right
    answers over all answers, with ``beta`` pseudo-answers right and ``beta`` wrong), from
    the vote's shares, for ``n_iter`` iterations."""

    algorithm = POOLED_ONE_COIN

    def __init__(self, n_iter: int = 50, beta: float = 1.0) -> None:
        if not beta > 0:
            raise InvalidParameterError(f"beta must be positive, got {beta!r}")
        self.n_iter = check_iterations(n_iter)
        self.beta = float(beta)
        self._accuracy: float | None = None

    def params(self) -> dict[str, int | str]:
        return {"n_iter": self.n_iter, "beta": repr(self.beta)}

    @property
    def accuracy_(self) -> float:
        """The crowd's accuracy the last E-step used."""
        if self._accuracy is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._accuracy

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        k = answers.n_classes
        votes = answers.votes
        total = float(len(answers)) + 2.0 * self.beta
        same = np.eye(k, dtype=bool)
        probas = initial_posteriors(answers, gold)
        for _ in range(self.n_iter):
            right = int(np.multiply(probas, votes).sum())  # integers: exact in any order
            accuracy = (float(right) / float(PPB) + self.beta) / total
            wrong = (1.0 - accuracy) / float(max(k - 1, 1))
            prior = class_prior(probas)
            logs = det_log(np.append(np.where(same, accuracy, wrong).reshape(-1), prior))
            rows = to_fixed_log(logs[: k * k].reshape(k, k))  # [answer, true class]
            probas = e_step_posteriors(answers, rows, answers.label, logs[k * k :], gold).ppb
            self._accuracy = accuracy
        return probas
