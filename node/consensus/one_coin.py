"""One-coin Dawid-Skene: each annotator has a single accuracy ``p_w``.

An annotator answers the true class with probability ``p_w`` and each other class with
``(1 - p_w) / (K - 1)``. Far fewer parameters than full Dawid-Skene, so it is steadier for
annotators with few answers, but it cannot learn systematic confusions between classes.
The accuracy is smoothed with ``beta`` right and ``beta`` wrong pseudo-answers.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, check_iterations
from node.consensus.confusion import ConfusionEstimator
from node.consensus.numerics import det_log, row_sum
from node.protocol import ids
from node.protocol.errors import InvalidParameterError


class OneCoinDawidSkene(ConfusionEstimator):
    """Dawid-Skene with one accuracy parameter per annotator."""

    algorithm = ids.ONE_COIN_DAWID_SKENE

    def __init__(self, n_iter: int = 50, beta: float = 1.0) -> None:
        if not beta > 0:
            raise InvalidParameterError(f"beta must be positive, got {beta!r}")
        self.n_iter = check_iterations(n_iter)
        self.beta = float(beta)

    def params(self) -> dict[str, int | str]:
        return {"n_iter": self.n_iter, "beta": repr(self.beta)}

    def _start(self, answers: Answers) -> None:
        return None

    def _m_step(self, counts: FloatArray, prior: FloatArray) -> FloatArray:
        k = counts.shape[1]
        right = row_sum(np.diagonal(counts, axis1=1, axis2=2))
        total = row_sum(row_sum(counts))
        accuracy = (right + self.beta) / (total + 2.0 * self.beta)
        wrong = (1.0 - accuracy) / float(max(k - 1, 1))
        eye = np.eye(k, dtype=bool)[None, :, :]
        confusion = np.where(eye, accuracy[:, None, None], wrong[:, None, None])
        return det_log(confusion)
