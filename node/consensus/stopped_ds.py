"""``ds@2``: Dawid-Skene as crowd-kit's ``DawidSkene`` runs it, to the byte on every
validator (issue #15).

Why. Issue #15 measures every default against crowd-kit's Dawid-Skene, and that fit is not
``ds@1`` run longer: crowd-kit starts from the vote's shares, leaves its rows and prior
unsmoothed (clipped at 1e-10), and stops as soon as the evidence lower bound per answer
gains less than 1e-5, often a few iterations from the vote. Run for all its 100
iterations instead, the same EM gives other labels on 106 of the grid's 171 selection
regimes and is at least as accurate as crowd-kit on only 106 of them (BENCHMARKS.md,
"Toward the grid lines (session 24)"): the early stop is part of the fit. ``ds@2`` is that
fit in the protocol's exact arithmetic, so that a rule can choose it (or compare with it)
where it is right. It is registered, not the default.

The model, in crowd-kit's order: from the vote's shares (with gold, the gold-weighted vote
of :func:`~node.consensus.base.initial_posteriors`), an M-step; then at most ``n_iter``
times an E-step, an M-step and the bound, stopping once the bound per answer has gained
less than :data:`TOLERANCE` over the previous iteration's.

* **Rows.** Per annotator and true class, the expected count of each label the annotator
  gave, floored at :data:`FLOOR`, over their sum. Labels an annotator never gave have no
  entry: no answer reads them.
* **Prior.** The posteriors' column means, floored at :data:`FLOOR`; no pseudo-items.
* **Bound.** ``sum over answers and classes of T[item, c] (log row[c, label] + log
  prior[c])`` plus the posteriors' entropy (each posterior floored at :data:`FLOOR`), with
  ``T`` the E-step's posteriors and the rows and prior of the M-step that follows.

Determinism: the expected counts are integer parts per billion; every logarithm is
:func:`~node.consensus.numerics.det_log`; each term of the bound is an elementwise IEEE
product rounded to an integer multiple of 2**-:data:`BOUND_BITS` nats, and the terms are
summed as integers, so the bound, and with it the iteration the fit stops at, is the same
whatever the order of the answers or the machine. The stop compares integers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.base import (
    FloatArray,
    IntArray,
    check_iterations,
    class_prior,
    confusion_e_step,
    expected_confusion_ppb,
    initial_posteriors,
)
from node.consensus.confusion import ConfusionEstimator
from node.consensus.numerics import (
    det_log,
    fixed_point_sum,
    from_ppb,
    ppb_entropy_fixed,
    row_sum,
)
from node.protocol import ids

FLOOR = 1e-10
"""crowd-kit's clip of error rates, priors and (in the bound's entropy) posteriors."""
TOLERANCE_NUMERATOR, TOLERANCE_DENOMINATOR = 1, 100_000
"""crowd-kit's ``tol``, 1e-5 nats per answer, as an exact fraction."""
BOUND_BITS = 20
"""The bound's terms are rounded to multiples of 2**-20 nats: at 10M answers and 20
classes every sum stays below 2**53, and the rounding (under 1e-6 a term) is far below the
1e-5 per answer the stop compares."""
DEFAULT_ITERATIONS = 100
"""crowd-kit's ``n_iter`` in issue #15's comparisons."""


def _fixed_sum(values: FloatArray) -> int:
    """``sum(values)`` in units of 2**-BOUND_BITS (:func:`numerics.fixed_point_sum`)."""
    return fixed_point_sum(values, BOUND_BITS)


class StoppedDawidSkene(ConfusionEstimator):
    """Dawid-Skene with crowd-kit's start, unsmoothed rows and stop (module docstring);
    :attr:`iterations_` says how many E-steps the last fit ran."""

    algorithm = ids.STOPPED_DAWID_SKENE
    prior_pseudocount = 0.0

    def __init__(self, n_iter: int = DEFAULT_ITERATIONS) -> None:
        self.n_iter = check_iterations(n_iter)
        self.iterations_ = 0
        self._given: npt.NDArray[np.bool_] | None = None

    def params(self) -> dict[str, int | str]:
        return {"n_iter": self.n_iter, "stop": "elbo-1e-5", "floor": repr(FLOOR)}

    def _start(self, answers: Answers) -> None:
        given = np.zeros((answers.n_annotators, answers.n_classes), dtype=bool)
        given[answers.annotator, answers.label] = True
        self._given = given

    def _m_step(self, counts: FloatArray, prior: FloatArray) -> FloatArray:
        """Log rows ``[w, k, l]``; labels an annotator never gave get 0 (never read)."""
        assert self._given is not None  # set by _start before the first M-step
        given = np.broadcast_to(self._given[:, None, :], counts.shape)
        floored = np.where(given, np.maximum(counts, FLOOR), 0.0)
        total = row_sum(floored)
        total = np.where(total > 0.0, total, 1.0)  # an annotator with no answers
        rates = np.where(given, np.divide(floored, total[..., None]), 1.0)
        return det_log(rates)

    def _class_prior(self, probas: IntArray) -> FloatArray:
        """The shared column-mean prior with no pseudo-items, floored as crowd-kit's."""
        prior: FloatArray = np.maximum(class_prior(probas, self.prior_pseudocount), FLOOR)
        return prior

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = initial_posteriors(answers, gold)
        self._start(answers)
        counts = expected_confusion_ppb(answers, probas)
        prior = self._class_prior(probas)
        log_rows = self._m_step(from_ppb(counts), prior)
        key = answers.key  # computed on each use: once for every E-step
        previous: int | None = None
        self.iterations_ = 0
        for _ in range(self.n_iter):
            probas = confusion_e_step(answers, log_rows, det_log(prior), gold, key)
            self.iterations_ += 1
            prior = self._class_prior(probas)
            counts = expected_confusion_ppb(answers, probas)
            log_rows = self._m_step(from_ppb(counts), prior)
            bound = self._bound(probas, counts, log_rows, prior)
            # (bound - previous) / (2**BOUND_BITS answers) < 1e-5, in integers
            if previous is not None and (bound - previous) * TOLERANCE_DENOMINATOR < (
                TOLERANCE_NUMERATOR * len(answers) * (1 << BOUND_BITS)
            ):
                break
            previous = bound
        self._log_confusion = log_rows
        self._prior = prior
        return probas

    def _bound(
        self, probas: IntArray, counts_ppb: IntArray, log_rows: FloatArray, prior: FloatArray
    ) -> int:
        """The evidence lower bound (module docstring) in units of 2**-BOUND_BITS nats."""
        counts = from_ppb(counts_ppb)
        rows_term = _fixed_sum(np.multiply(counts, log_rows).reshape(-1))
        answer_mass = from_ppb(counts_ppb.sum(axis=(0, 2)))  # integer sums: exact
        prior_term = _fixed_sum(np.multiply(answer_mass, det_log(prior)))
        entropy = -ppb_entropy_fixed(probas, FLOOR, BOUND_BITS)
        return rows_term + prior_term + entropy
