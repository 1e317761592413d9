"""The EM loop shared by the confusion-matrix estimators (Dawid-Skene and its relatives).

Each iteration is an M-step (annotator confusion matrices and the class prior from the
current posteriors) followed by an E-step (posteriors from those). The number of
iterations is fixed: a convergence threshold would let two machines stop at different
iterations over a last-bit difference, while a fixed count gives every validator the same
sequence of integer (parts-per-billion) posteriors. Initialization is the majority vote,
or the gold-seeded weighted vote when gold is given (see :mod:`node.consensus.base`).
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    CategoricalEstimator,
    FloatArray,
    IntArray,
    class_prior,
    confusion_e_step,
    expected_confusion_counts,
    initial_posteriors,
)
from node.consensus.numerics import det_exp, det_log
from node.protocol.errors import NotFittedError


class ConfusionEstimator(CategoricalEstimator):
    """An EM estimator whose model is a confusion matrix per annotator plus a class prior."""

    n_iter: int
    prior_pseudocount: float = 1.0

    _log_confusion: FloatArray | None = None
    _prior: FloatArray | None = None

    @abstractmethod
    def _start(self, answers: Answers) -> None:
        """Reset per-fit state (e.g. warm starts) before the first M-step."""

    @abstractmethod
    def _m_step(self, counts: FloatArray, prior: FloatArray) -> FloatArray:
        """Log confusion matrices ``[w, k, l]`` from expected counts and the class prior."""

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = initial_posteriors(answers, gold)
        self._start(answers)
        prior = class_prior(probas, self.prior_pseudocount)
        log_confusion = self._m_step(expected_confusion_counts(answers, probas), prior)
        key = answers.key  # computed on each use: once for every E-step
        for _ in range(self.n_iter):
            probas = confusion_e_step(answers, log_confusion, det_log(prior), gold, key)
            prior = class_prior(probas, self.prior_pseudocount)
            log_confusion = self._m_step(expected_confusion_counts(answers, probas), prior)
        self._log_confusion = log_confusion
        self._prior = prior
        return probas

    @property
    def confusions_(self) -> FloatArray:
        """``confusions_[w, k, l]``: estimated P(annotator w answers l | true class k)."""
        log_confusion = self._fitted_log_confusion()
        if log_confusion is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return det_exp(log_confusion)

    def _fitted_log_confusion(self) -> FloatArray | None:
        """The fitted log confusion table (``None`` before a fit)."""
        return self._log_confusion

    @property
    def priors_(self) -> FloatArray:
        """Estimated class frequencies (with the pseudocount), aligned with ``classes_``."""
        if self._prior is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return np.array(self._prior, copy=True)

    @property
    def skills_(self) -> FloatArray:
        """Per annotator, estimated accuracy: ``sum_k prior_k * confusion[w, k, k]``."""
        diagonal = np.diagonal(self.confusions_, axis1=1, axis2=2)
        weighted = np.multiply(diagonal, self.priors_[None, :])
        total = np.array(weighted[:, 0], copy=True)
        for column in range(1, weighted.shape[1]):
            total = np.add(total, weighted[:, column])
        return total
