"""Bayesian weighted averaging (BWA; Li, Rubinstein & Cohn, "Truth inference at scale: a
Bayesian model for adjudicating highly redundant crowd annotations", WWW 2019): on its
own a benchmark candidate for issue #15 (not in the registry); the start of ``hds@3``
(:mod:`node.consensus.bwa_started_ds`).

Why measure it. BWA leads the published tables on sp and web (BENCHMARKS.md, "Consensus
on unseen data"), the sets where ``hds@2`` is furthest under crowd-kit Dawid-Skene. Its
model is the opposite end from Dawid-Skene's: one number per annotator and class, a
*precision*, with a conjugate prior, so sparse annotators cannot overfit.

The model, one class ``k`` at a time (one-vs-rest): ``y_ij = [annotator j answered k on
item i]`` is the item's score ``z_i`` plus Gaussian noise of precision ``v_j``;
``v_j ~ Gamma(a_v, b_v)``; ``z_i ~ Normal(mu, 1 / lambda)``. The paper's closed-form
coordinate updates, iterated:

    mu   = mean_i z_i
    v_j  = (a_v + N_j) / (b_v + sum_{i in answers of j} (z_i - y_ij)^2)
    z_i  = (lambda mu + sum_j v_j y_ij) / (lambda + sum_j v_j)

with ``N_j`` the annotator's number of answers and the prior's rate set from the starting
scores, ``b_v = a_v * adj * sum_i W_i z_i (1 - z_i) / N`` (``W_i`` answers on item ``i``,
``N`` all answers, ``adj = 4 (1 - 1/K)`` the paper's prior correction): the prior says an
annotator is about as noisy as the vote's disagreement. The consensus of an item is the
class with the highest score; its posterior is the scores normalized over classes.

Hyperparameters are the paper's (``a_v = 15``, ``lambda = 1``, prior correction on); the
paper iterates to a relative tolerance of 1e-3 (at most 500 times), here a fixed count
(:data:`BWA_ITERATIONS`), because a convergence test could stop two machines at different
iterations. Every class is updated at once (``2K + 1`` integer bincounts over the answers
per iteration, no loop over answers).

Determinism (the protocol's rules, because ``hds@3`` starts from BWA): scores are integer
parts per billion between iterations; every sum over answers is a sum of integers (squared
residuals in parts per billion, precisions in fixed point, :data:`PRECISION_SCALE`), exact
in any order, so renaming annotators or reordering rows cannot move a bit; the rest is
elementwise IEEE arithmetic. The precision is capped at :data:`PRECISION_CAP` (noise
variance 1e-6) so that its fixed-point sums stay exact.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    CategoricalEstimator,
    FloatArray,
    IntArray,
    check_iterations,
    clamp_gold,
    initial_posteriors,
)
from node.consensus.numerics import count_keys, exact_bincount, from_ppb, row_sum, to_ppb
from node.protocol.errors import InvalidParameterError
from node.protocol.rules import PPB

BWA_ITERATIONS = 100
"""Fixed iteration count. The paper's tolerance (1e-3 relative) is reached in fewer on
every real set in ``../shared/datasets`` (measured with :attr:`BayesianWeightedAveraging.
converged_at_`), so this is its stopping point, not a tuned value."""


PRECISION_SCALE = float(1 << 9)
"""Annotator precisions are summed as integer multiples of 2**-9."""
PRECISION_CAP = float(1 << 20)
"""Largest precision: 2**29 per answer in fixed point, so a chunk of 2**23 rows sums below
2**53, exactly (:func:`~node.consensus.numerics.exact_bincount`)."""


class BayesianWeightedAveraging(CategoricalEstimator):
    """BWA: per class, scores that are precision-weighted averages of the answers."""

    algorithm = "bwa-candidate"
    """A benchmark name, not a protocol id: no task can name it (not in the registry)."""

    converged_at_: int = -1
    """First iteration whose scores moved less than the paper's tolerance (-1: never)."""

    def __init__(
        self,
        n_iter: int = BWA_ITERATIONS,
        a_v: float = 15.0,
        lambda_: float = 1.0,
        prior_correction: bool = True,
    ) -> None:
        for name, value in (("a_v", a_v), ("lambda_", lambda_)):
            if not value > 0 or not np.isfinite(value):
                raise InvalidParameterError(f"{name} must be positive and finite, got {value!r}")
        self.n_iter = check_iterations(n_iter)
        self.a_v = float(a_v)
        self.lambda_ = float(lambda_)
        self.prior_correction = bool(prior_correction)

    def params(self) -> dict[str, int | str]:
        return {
            "n_iter": self.n_iter,
            "a_v": repr(self.a_v),
            "lambda": repr(self.lambda_),
            "prior_correction": int(self.prior_correction),
        }

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        k, n_items, n_workers = answers.n_classes, answers.n_items, answers.n_annotators
        item, worker, label = answers.item, answers.annotator, answers.label
        per_item = count_keys(item, n_items)
        per_worker = count_keys(worker, n_workers).astype(np.float64)
        cell = item * np.int64(k) + label  # the (item, answered class) of each row
        z_ppb = initial_posteriors(answers, gold)  # vote shares (gold-seeded if any)
        z = from_ppb(z_ppb)
        adj = 4.0 * (1.0 - 1.0 / k) if self.prior_correction else 1.0
        spread = to_ppb(z * (1.0 - z))  # per item and class, integer ppb
        disagreement = (per_item[:, None] * spread).sum(axis=0, dtype=np.int64)  # exact
        b_v = self.a_v * adj * (disagreement.astype(np.float64) / float(PPB)) / float(len(item))
        b_v = np.maximum(b_v, 1e-12)  # a class nobody disputes: noise prior stays proper
        self.converged_at_ = -1
        for iteration in range(1, self.n_iter + 1):
            mu = z_ppb.sum(axis=0, dtype=np.int64).astype(np.float64) / float(PPB) / n_items
            answered = z[item]  # rows x K
            answered[np.arange(len(item)), label] -= 1.0  # z - y, y one-hot
            squares = to_ppb(answered * answered).astype(np.float64)  # integers in [0, PPB]
            sq = np.stack([exact_bincount(worker, squares[:, c], n_workers) for c in range(k)], 1)
            v = (self.a_v + per_worker[:, None]) / (b_v[None, :] + sq.astype(np.float64) / PPB)
            v_fixed = np.rint(np.minimum(v, PRECISION_CAP) * PRECISION_SCALE)  # integers
            weights = v_fixed[worker]
            picked = weights[np.arange(len(item)), label]
            numerator = exact_bincount(cell, picked, n_items * k).reshape(n_items, k)
            denominator = np.stack(
                [exact_bincount(item, weights[:, c], n_items) for c in range(k)], 1
            )
            new = (self.lambda_ * mu[None, :] + numerator / PRECISION_SCALE) / (
                self.lambda_ + denominator / PRECISION_SCALE
            )
            new_ppb = clamp_gold(to_ppb(new), gold)
            if self.converged_at_ < 0 and np.allclose(z_ppb, new_ppb, rtol=1e-3, atol=0):
                self.converged_at_ = iteration
            z_ppb = new_ppb
            z = from_ppb(z_ppb)
        self.scores_: FloatArray = z
        total = row_sum(z)[:, None]
        return to_ppb(np.where(total > 0, z / np.maximum(total, 1e-300), 1.0 / k))
