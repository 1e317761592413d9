"""Hierarchical Dawid-Skene (``hds@1``): full confusion rows shrunk toward each annotator's
own one-coin accuracy and the crowd's pattern of errors.

Why (issue #15). Full Dawid-Skene has ``K(K-1)`` free parameters per annotator; with few
answers per annotator, or many classes, most rows are estimated from a handful of items
and EM finds self-consistent but wrong solutions: a row of a rare class with little data
looks uninformative, the class loses items, its rows get even less data, and a neighbour
absorbs it (``rds@1`` put 241 of 700 items of a 10-class set into a class of 64). A learned
per-annotator *one-coin* accuracy has one parameter and is estimated from all of an
annotator's answers, so it is well determined; the crowd's *error pattern* (which wrong
class an error of class ``k`` lands in) is estimated from all answers of everyone. So each
row of annotator ``w`` gets a Dirichlet prior with mean

    m[w, k, k] = a_w,    m[w, k, l] = (1 - a_w) * E[k, l]  (l != k)

and ``s`` pseudo-answers, where ``a_w`` is the annotator's accuracy (shrunk with
``skill_strength`` pseudo-answers toward ``1/K + skill_lean (1 - 1/K)``) and ``E[k, :]``
the crowd's error distribution of class ``k``. An annotator with many answers of class
``k`` gets their own row (Dawid-Skene); one with few gets one-coin behaviour with the
crowd's structured errors; one with very few gets little weight rather than the average
skill, so a swarm of sporadic low-quality annotators cannot outvote a few reliable ones.

How strong the pull is, ``s``, is itself estimated each iteration, by moments: if the
annotators' rows scatter around their one-coin means no more than sampling noise explains
(the crowd really is one-coin-like), ``s`` grows toward ``max_strength`` and the model is
nearly one-coin, which is what wins on skewed classes and sparse annotators; if rows differ
systematically (annotators with their own class-dependent confusions, as on bluebirds),
``s`` falls toward ``row_strength`` and the model is nearly full Dawid-Skene. Measured
(scripts/bench_consensus.py, BENCHMARKS.md "Consensus on unseen data"): either fixed end
loses somewhere by several points; the estimate is chosen by the leave-one-out rule.

Why ``skill_lean`` > 0: where answers cannot identify skill at all (one answer per item),
a target of exactly chance lets EM drift to the trivial fixed point "answers carry no
information, every item is the commonest class" (measured: 0.36 where the vote is 0.59 on
a 4-class grid regime); a target half-way between chance and certainty keeps the answers
standing (on four seeds of five exactly; on the fifth the class prior still drifts over
the 30 iterations and it ends 3.8 points under the vote), and an annotator's own answers
outweigh its ``skill_strength`` pseudo-answers after a few dozen. A random answerer still
ends near chance: their answers disagree with the consensus on every class, the common one
included.

The class prior is learned, but with ``prior_strength`` pseudo-items per class *times the
number of items over K* — a Dirichlet centred on uniform that is as strong as a fraction of
the data — which damps EM's feedback loop of "fewer items, weaker rows, fewer items" (it
does not forbid it: a strong prior measurably costs accuracy on sets whose truth is 89%
one class, so this one is weak).

Determinism: the M-step's sums over annotators and classes are integer sums of the exact
parts-per-billion expected counts (order-free); the strength estimate sums per-row
statistics as fixed-point integers; the rest is elementwise IEEE arithmetic and
:func:`~node.consensus.numerics.det_log`; iterations are fixed.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    FloatArray,
    IntArray,
    check_iterations,
    column_totals,
    confusion_e_step,
    expected_confusion_ppb,
    initial_posteriors,
)
from node.consensus.confusion import ConfusionEstimator
from node.consensus.numerics import det_log, fixed_point_sum, identity_mask, int_ones, row_sum
from node.protocol import ids
from node.protocol.errors import InvalidParameterError
from node.protocol.rules import PPB


def _positive(name: str, value: float) -> float:
    if not value > 0 or not np.isfinite(value):
        raise InvalidParameterError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


class HierarchicalDawidSkene(ConfusionEstimator):
    """Dawid-Skene whose rows are shrunk toward a one-coin model with crowd-wide errors.

    ``row_strength`` is the least and ``max_strength`` the most pseudo-answers a row's
    prior weighs; between them the strength is estimated from the data each iteration
    (:meth:`_moment_strength`). ``max_strength <= row_strength`` fixes it at
    ``row_strength``.
    """

    algorithm = ids.HIERARCHICAL_DAWID_SKENE
    strength_: float = 0.0
    """The row strength used in the last M-step."""

    def __init__(
        self,
        n_iter: int = 30,
        row_strength: float = 4.0,
        skill_strength: float = 4.0,
        prior_strength: float = 0.1,
        skill_lean: float = 0.5,
        max_strength: float = 64.0,
        strength_scale: float = 1.0,
    ) -> None:
        if not 0.0 <= skill_lean < 1.0:
            raise InvalidParameterError(f"skill_lean must be in [0, 1), got {skill_lean!r}")
        self.n_iter = check_iterations(n_iter)
        self.row_strength = _positive("row_strength", row_strength)
        self.skill_strength = _positive("skill_strength", skill_strength)
        self.prior_strength = _positive("prior_strength", prior_strength)
        self.skill_lean = float(skill_lean)
        self.max_strength = _positive("max_strength", max_strength)
        self.strength_scale = _positive("strength_scale", strength_scale)

    def params(self) -> dict[str, int | str]:
        return {
            "n_iter": self.n_iter,
            "row_strength": repr(self.row_strength),
            "max_strength": repr(self.max_strength),
            "strength_scale": repr(self.strength_scale),
            "skill_strength": repr(self.skill_strength),
            "skill_lean": repr(self.skill_lean),
            "prior_strength": repr(self.prior_strength),
        }

    def _start(self, answers: Answers) -> None:
        return None

    def _m_step(self, counts: FloatArray, prior: FloatArray) -> FloatArray:  # pragma: no cover
        raise NotImplementedError("hds@1 runs its M-step from exact integer counts")

    def _class_prior(self, probas_ppb: IntArray, totals: IntArray | None = None) -> FloatArray:
        """Class frequencies under a uniform Dirichlet worth ``prior_strength * n/K`` items
        per class (integer column sums, so exact; ``totals``, where known, are those sums:
        :class:`~node.consensus.base.Posteriors`)."""
        n_items, k = probas_ppb.shape
        if totals is None:
            totals = column_totals(probas_ppb)
        mass = totals.astype(np.float64) / float(PPB)
        pseudo = self.prior_strength * float(n_items) / float(k)
        out: FloatArray = (mass + pseudo) / (float(n_items) + float(k) * pseudo)
        return out

    def _confusion_logs(self, counts_ppb: IntArray) -> FloatArray:
        """Posterior-mean confusion rows (logs) from exact expected counts ``[w, k, l]``."""
        return det_log(self._confusion_rows(counts_ppb))

    def _logs(self, counts_ppb: IntArray, prior: FloatArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`_confusion_logs` and ``det_log(prior)`` from one :func:`det_log` call:
        elementwise, so the same bits, and on a small task the call's fixed cost (some
        forty numpy operations) is what an EM iteration spends most on."""
        rows = self._confusion_rows(counts_ppb)
        both = det_log(np.concatenate((rows.reshape(-1), prior)))
        return both[: rows.size].reshape(rows.shape), both[rows.size :]

    def _confusion_rows(self, counts_ppb: IntArray) -> FloatArray:
        """Posterior-mean confusion rows from exact expected counts ``[w, k, l]``."""
        w, k, _ = counts_ppb.shape
        scale = float(PPB)
        diagonal = identity_mask(k)
        ones_k = int_ones(k)
        flat = counts_ppb.reshape(w, k * k)
        # Crowd error pattern E[k, l], l != k: integer sums over annotators, +1 smoothing.
        # (An int64 product with a ones vector is an exact integer sum in one call, where
        # column_totals makes K * K.)
        crowd_ppb = int_ones(w) @ flat
        crowd = crowd_ppb.reshape(k, k).astype(np.float64) / scale
        errors = np.where(diagonal, 0.0, crowd + 1.0)
        # Left to right from the first term (errors are >= 0, so 0.0 + e0 == e0: the bits of
        # the Python loop this replaced).
        error_total = row_sum(errors)
        shape = errors / np.maximum(error_total, 1e-300)[:, None]
        # One-coin accuracy per annotator, shrunk toward chance.
        # The diagonals' integer sums (exact); a strided view and a product with ones, where
        # einsum's parsing cost more than the sum on a small task.
        diagonals = flat[:, :: k + 1]
        right = (diagonals @ ones_k).astype(np.float64) / scale
        row_counts = counts_ppb @ ones_k  # integer sums: exact, and
        count_total = row_counts @ ones_k  # faster than .sum(axis=2)
        total = count_total.astype(np.float64) / scale
        chance = 1.0 / float(k)
        chance = chance + self.skill_lean * (1.0 - chance)
        accuracy = (right + self.skill_strength * chance) / (total + self.skill_strength)
        mean = (1.0 - accuracy)[:, None, None] * shape[None, :, :]
        mean = np.where(diagonal[None], accuracy[:, None, None], mean)
        rows = counts_ppb.astype(np.float64) / scale
        row_total = row_counts.astype(np.float64) / scale
        strength = self.row_strength
        if self.max_strength > self.row_strength:
            strength = self._moment_strength(rows, row_total, mean)
        self.strength_ = strength
        pseudo = self._row_pseudo(strength, count_total, row_total)
        smoothed = rows + pseudo[..., None] * mean
        out: FloatArray = smoothed / (row_total + pseudo)[..., None]
        return out

    def _row_pseudo(
        self, strength: float, count_total: IntArray, row_total: FloatArray
    ) -> FloatArray:
        """Each row's pseudo-answers of its prior mean: ``strength`` for every row here
        (the same bits as the scalar: each element is that float); ``hds@5`` raises them
        for the busiest annotators (:mod:`node.consensus.proportional_ds`).
        ``count_total`` is each annotator's answers in exact parts per billion."""
        out: FloatArray = np.full(row_total.shape, strength)
        return out

    def _moment_strength(self, rows: FloatArray, row_total: FloatArray, mean: FloatArray) -> float:
        """Dirichlet concentration of the rows around their prior means, by moments.

        Under a Dirichlet-multinomial with mean ``m`` and concentration ``s``, a row of
        ``n`` answers has Pearson statistic ``X = sum_l (c_l - n m_l)^2 / (n m_l)`` with
        expectation ``(K - 1)(n + s)/(1 + s)``. Pooling rows with ``n >= 2``:
        ``s = (B - A) / (A - C)`` with ``A = sum X``, ``B = sum (K-1) n``,
        ``C = sum (K-1)``, times ``strength_scale``, clipped to ``[row_strength,
        max_strength]``. (The posteriors are fitted to the same answers, which makes rows
        look more alike than they are, so the raw estimate runs high; the scale corrects
        for that and is chosen by the selection rule.) Each row's terms are
        fixed-point integers before the pooled sums, so the result is order-free."""
        k = rows.shape[2]
        expected = np.maximum(row_total[..., None] * mean, 1e-12)
        diff = rows - expected
        pearson = row_sum(diff * diff / expected)
        used = row_total >= 2.0
        return self._pooled_strength(fixed_sum(np.where(used, pearson, 0.0)), row_total, k)

    def _pooled_strength(self, pearson_sum: float, row_total: FloatArray, k: int) -> float:
        """:meth:`_moment_strength` from ``A`` (the fixed-point sum of the used rows'
        Pearson statistics): the part that reads only row totals, shared with the fit over
        answered cells (:mod:`node.consensus.cell_fit`), which finds ``A`` without the
        unused rows."""
        used = row_total >= 2.0
        b = fixed_sum(np.where(used, row_total * float(k - 1), 0.0))
        c = float(np.count_nonzero(used)) * float(k - 1)
        if pearson_sum <= c:
            return self.max_strength
        estimate = (b - pearson_sum) / (pearson_sum - c) * self.strength_scale
        return float(min(max(estimate, self.row_strength), self.max_strength))

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = initial_posteriors(answers, gold)
        prior = self._class_prior(probas)
        log_confusion, log_prior = self._logs(expected_confusion_ppb(answers, probas), prior)
        key = answers.key  # computed on each use: once for every E-step
        for _ in range(self.n_iter):
            probas = confusion_e_step(answers, log_confusion, log_prior, gold, key)
            prior = self._class_prior(probas)
            log_confusion, log_prior = self._logs(expected_confusion_ppb(answers, probas), prior)
        self._log_confusion = log_confusion
        self._prior = prior
        return probas


def fixed_sum(values: FloatArray) -> float:
    """Sum of non-negative floats as multiples of 2**-20 in int64: exact, order-free
    (:func:`~node.consensus.numerics.fixed_point_sum`, back in the floats' units)."""
    return float(fixed_point_sum(values, 20)) / float(1 << 20)
