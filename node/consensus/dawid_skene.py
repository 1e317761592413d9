"""Dawid-Skene (1979): a full confusion matrix per annotator, fitted by EM.

``P(annotator w answers l | true class k) = pi[w, k, l]``; the M-step is the smoothed
frequency ``(counts[w, k, l] + alpha) / (sum_l counts[w, k, l] + K alpha)``. The small
``alpha`` keeps every logarithm finite (an unseen answer is improbable, not impossible),
which also stops a single surprising answer from vetoing a class.
"""

from __future__ import annotations

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, check_iterations
from node.consensus.confusion import ConfusionEstimator
from node.consensus.numerics import det_log, row_sum
from node.protocol import ids
from node.protocol.errors import InvalidParameterError


class DawidSkene(ConfusionEstimator):
    """Full-confusion Dawid-Skene with Dirichlet smoothing ``alpha`` (pseudo-answers)."""

    algorithm = ids.DAWID_SKENE

    def __init__(self, n_iter: int = 50, alpha: float = 0.01) -> None:
        if not alpha > 0:
            raise InvalidParameterError(f"alpha must be positive, got {alpha!r}")
        self.n_iter = check_iterations(n_iter)
        self.alpha = float(alpha)

    def params(self) -> dict[str, int | str]:
        return {"n_iter": self.n_iter, "alpha": repr(self.alpha)}

    def _start(self, answers: Answers) -> None:
        return None

    def _m_step(self, counts: FloatArray, prior: FloatArray) -> FloatArray:
        smoothed = counts + self.alpha
        return det_log(smoothed / row_sum(smoothed)[..., None])
