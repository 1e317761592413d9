"""Bayesian weighted averaging (BWA; Li, Rubinstein & Cohn, "Truth inference at scale: a
Bayesian model for adjudicating highly redundant crowd annotations", WWW 2019): a
benchmark candidate for issue #15, not a protocol algorithm.

Why measure it. BWA leads the published tables on sp and web (BENCHMARKS.md, "Consensus
on unseen data"), the sets where ``hds@2`` is furthest under crowd-kit Dawid-Skene. Its
model is the opposite end from Dawid-Skene's: one number per annotator and class, a
*precision*, with a conjugate prior, so sparse annotators cannot overfit.

The model, one class ``k`` at a time (one-vs-rest): ``y_ij = [annotator j answered k on
item i]`` is the item's score ``z_i`` plus Gaussian noise of precision ``v_j``;
``v_j ~ Gamma(a_v, b_v)``; ``z_i ~ Normal(mu, 1 / (lambda v))``. The paper's closed-form
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
iterations. Every class is updated at once (``K`` bincounts over the answers per
iteration, no loop over answers).

Determinism: same input, same bytes on one machine (``np.bincount`` sums in row order,
which is canonical). It does not follow the protocol's cross-machine rules (its float sums
over answers are not fixed-point), which is why it is not in the registry.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    CategoricalEstimator,
    FloatArray,
    IntArray,
    check_iterations,
    initial_posteriors,
)
from node.consensus.numerics import from_ppb, to_ppb
from node.protocol.errors import InvalidParameterError

BWA_ITERATIONS = 100
"""Fixed iteration count. The paper's tolerance (1e-3 relative) is reached in fewer on
every real set in ``../shared/datasets`` (measured with :attr:`BayesianWeightedAveraging.
converged_at_`), so this is its stopping point, not a tuned value."""


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
        per_item = np.bincount(item, minlength=n_items).astype(np.float64)
        per_worker = np.bincount(worker, minlength=n_workers).astype(np.float64)
        # y as a one-hot (answers x K) view: the label's column is 1, the rest 0.
        onehot = np.zeros((len(item), k), dtype=np.float64)
        onehot[np.arange(len(item)), label] = 1.0
        z = from_ppb(initial_posteriors(answers, gold))  # vote shares (gold-seeded if any)
        adj = 4.0 * (1.0 - 1.0 / k) if self.prior_correction else 1.0
        b_v = self.a_v * adj * (per_item @ (z * (1.0 - z))) / float(len(item))
        b_v = np.maximum(b_v, 1e-12)  # a class nobody disputes: noise prior stays proper
        clamp = gold >= 0
        truth = np.zeros((int(np.count_nonzero(clamp)), k))
        truth[np.arange(len(truth)), gold[clamp]] = 1.0
        self.converged_at_ = -1
        for iteration in range(1, self.n_iter + 1):
            mu = z.mean(axis=0)
            residual = (z[item] - onehot) ** 2
            sq = np.stack(
                [np.bincount(worker, residual[:, c], minlength=n_workers) for c in range(k)], 1
            )
            v = (self.a_v + per_worker[:, None]) / (b_v[None, :] + sq)
            weights = v[worker]
            numerator = np.stack(
                [np.bincount(item, weights[:, c] * onehot[:, c], n_items) for c in range(k)], 1
            )
            denominator = np.stack(
                [np.bincount(item, weights[:, c], minlength=n_items) for c in range(k)], 1
            )
            new = (self.lambda_ * mu[None, :] + numerator) / (self.lambda_ + denominator)
            new[clamp] = truth
            if self.converged_at_ < 0 and np.allclose(z, new, rtol=1e-3):
                self.converged_at_ = iteration
            z = new
        self.scores_: FloatArray = z
        total = z.sum(axis=1, keepdims=True)
        return to_ppb(np.where(total > 0, z / np.maximum(total, 1e-300), 1.0 / k))
