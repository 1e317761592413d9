"""One-coin Dawid-Skene with one accuracy for the whole crowd: what can be fitted where
nobody's own accuracy is identified (issue #15; ``hds@10``'s fallback, not an algorithm id
of its own).

Every annotator answers the true class with the same probability ``p`` and each other
class with ``(1 - p) / (K - 1)``; with the class prior, that is the whole model. An item's
log-odds between two classes is then ``log(prior ratio) + (difference in votes) log(p (K -
1) / (1 - p))``: the vote where the vote is clear, the commoner class where it is close.

An item's posterior depends only on its vote counts (and its gold class, if any), so EM runs
over the distinct rows of the items x classes vote table, each weighed by how many items
share it: at one answer an item there are ``K`` of them however many items there are.

Determinism: the patterns are sorted integer keys; every sum over items is an integer sum
(posteriors in parts per billion times vote counts and multiplicities); a pattern's
log-likelihood is a sum of fixed-point integers (``votes x`` the fixed-point row), which is
what the shared E-step sums over an item's answers, and its posteriors
:func:`~node.consensus.base.posteriors_from_sums`'s.
"""

from __future__ import annotations

import math

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    CategoricalEstimator,
    FloatArray,
    IntArray,
    check_iterations,
    posteriors_from_sums,
)
from node.consensus.numerics import clamp_rows, det_log, shares_ppb, to_fixed_log
from node.protocol.errors import InvalidParameterError, NotFittedError
from node.protocol.rules import PPB

POOLED_ONE_COIN = "pooled-one-coin (unregistered)"
"""Not a protocol id: ``hds@10`` runs it as part of its own computation."""


def vote_patterns(votes: IntArray, gold: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct ``(votes row, gold class)`` pairs, in the order of their integer keys:
    one row of each (its first item's index), each item's pattern, and each pattern's
    number of items."""
    n, k = votes.shape
    base = int(votes.max()) + 1 if n else 1
    if k * math.log2(base) + math.log2(k + 1) < 62:  # the key fits in an int64
        powers = np.array([base**c for c in range(k)], dtype=np.int64)
        key = (votes @ powers) * np.int64(k + 1) + (gold + 1)
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
    else:
        table = np.column_stack((votes, gold))
        _, first, inverse, counts = np.unique(
            table, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
    return first, inverse.reshape(-1), counts


class PooledOneCoin(CategoricalEstimator):
    """EM over the class prior (one pseudo-item a class) and the crowd's accuracy (right
    answers over all answers, with ``beta`` pseudo-answers right and ``beta`` wrong), from
    the vote's shares (gold items clamped, not weighted: the start depends on the counts
    alone), for ``n_iter`` iterations."""

    algorithm = POOLED_ONE_COIN

    def __init__(self, n_iter: int = 50, beta: float = 1.0) -> None:
        if not beta > 0:
            raise InvalidParameterError(f"beta must be positive, got {beta!r}")
        self.n_iter = check_iterations(n_iter)
        self.beta = float(beta)
        self._accuracy: float | None = None
        self._prior: FloatArray | None = None

    def params(self) -> dict[str, int | str]:
        return {"n_iter": self.n_iter, "beta": repr(self.beta)}

    @property
    def accuracy_(self) -> float:
        """The crowd's accuracy the last E-step used."""
        if self._accuracy is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._accuracy

    @property
    def prior_(self) -> FloatArray:
        """The class prior the last E-step used (one pseudo-item a class)."""
        if self._prior is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return np.array(self._prior, copy=True)

    def log_rows(self) -> FloatArray:
        """``det_log`` of every annotator's confusion row ``[true class, answer]`` under
        :attr:`accuracy_`: the accuracy on the diagonal, the rest split evenly."""
        k = len(self.prior_)
        wrong = (1.0 - self.accuracy_) / float(max(k - 1, 1))
        return det_log(np.where(np.eye(k, dtype=bool), self.accuracy_, wrong))

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        k, n = answers.n_classes, answers.n_items
        votes = answers.votes
        first, inverse, counts = vote_patterns(votes, gold)
        votes, gold = votes[first], gold[first]
        clamped = np.flatnonzero(gold >= 0)
        total = float(len(answers)) + 2.0 * self.beta
        same = np.eye(k, dtype=bool)
        probas = shares_ppb(votes.astype(np.float64))
        clamp_rows(probas, clamped, gold)
        for _ in range(self.n_iter):
            right = int(np.multiply(probas, votes).sum(axis=1) @ counts)  # integers: exact
            accuracy = (float(right) / float(PPB) + self.beta) / total
            wrong = (1.0 - accuracy) / float(max(k - 1, 1))
            mass = counts @ probas  # integer column totals over the items
            prior = (mass.astype(np.float64) / float(PPB) + 1.0) / (float(n) + float(k))
            logs = det_log(np.append(np.where(same, accuracy, wrong).reshape(-1), prior))
            rows = to_fixed_log(logs[: k * k].reshape(k, k))  # [answer, true class]
            sums = np.zeros((len(votes), k))
            for answer in range(k):  # integer-valued terms: exact, as over an item's answers
                sums += votes[:, answer, None] * rows[answer]
            probas = posteriors_from_sums(sums, logs[k * k :])
            clamp_rows(probas, clamped, gold)
            self._accuracy, self._prior = accuracy, prior
        return probas[inverse]
