"""Research prototypes of consensus estimators that were measured and rejected (issue #15).

Why they are kept: the benchmark's record (BENCHMARKS.md, "Measured and rejected in
session 12") gives their scores, and a score nobody can re-run is a claim, not a
measurement. ``bench_consensus.py --candidates 'proto_'`` runs them beside the default.

They are *not* protocol code: plain float numpy with numpy's own sums, exp and log, so two
machines may differ in the last bit, and none has an algorithm id. One that won the
selection rule would be rewritten on the engine's deterministic numerics
(:mod:`node.consensus.numerics`) under a new id before any task could name it.

* :class:`GatedDominance`: ``hds@5``'s pull of busy annotators toward their one-coin row,
  given only to annotators more than ``threshold`` times as busy as the mean and scaled by
  how one-coin-like the annotator's own rows already are; the task's row strength from the
  spread of per-class accuracies only. It is the one prototype that keeps every real set
  within 0.3 points of crowd-kit's DawidSkene, and it loses the rule on zencrowd_us, where
  it stays 3.8 points under majority vote.
* :class:`LeaveOwnOut`: ``hds@4`` whose M-step counts an annotator's answers against
  posteriors computed without that answer (the self-reinforcement of busy annotators).
* :class:`TemperedEvidence`: ``hds@4`` whose E-step weighs a busy annotator's
  log-likelihood down by ``1 / (1 + c max(d - 1, 0))``.
* :class:`Hds4AfterHds5`: ``hds@5``'s fit, then ``hds@4``'s EM from its posteriors
  (is ``hds@5``'s solution a fixed point of ``hds@4``?).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.base import (
    Posteriors,
    confusion_e_step,
    expected_confusion_ppb,
    initial_posteriors,
)
from node.consensus.early_stop_ds import SETTLED_REPEATS, EarlyStopDawidSkene, Settled
from node.consensus.hierarchical_ds import HierarchicalDawidSkene
from node.consensus.proportional_ds import DominanceDawidSkene
from node.protocol.rules import PPB

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _one_coin_means(
    model: HierarchicalDawidSkene, counts: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``hds@1``'s prior means (each annotator's one-coin row with the crowd's error shape),
    their accuracies and the rows' totals, in floats."""
    k = counts.shape[1]
    diagonal = np.eye(k, dtype=bool)
    errors = np.where(diagonal, 0.0, counts.sum(axis=0) + 1.0)
    shape = errors / errors.sum(axis=1, keepdims=True)
    row_total = counts.sum(axis=2)
    chance = 1.0 / k + model.skill_lean * (1.0 - 1.0 / k)
    accuracy = (np.einsum("wkk->w", counts) + model.skill_strength * chance) / (
        row_total.sum(axis=1) + model.skill_strength
    )
    mean = np.where(
        diagonal[None], accuracy[:, None, None], (1.0 - accuracy)[:, None, None] * shape[None]
    )
    return mean, accuracy, row_total


def _concentration(pearson: FloatArray, n: FloatArray, dof: FloatArray) -> FloatArray:
    """Moment estimate of a Dirichlet-multinomial concentration from Pearson statistics
    (``hds@1``'s :meth:`_moment_strength`, per group): infinite where the rows scatter no
    more than sampling noise explains."""
    excess = pearson - dof
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(excess > 0.0, (n - pearson) / excess, np.inf)
    return np.maximum(out, 0.0)


class _GatedRows(HierarchicalDawidSkene):
    threshold = 8.0
    tau = 8.0
    share = 0.5
    diagonal_scale = 0.5
    estimate = True

    def _confusion_rows(self, counts_ppb: IntArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):  # inf / inf: masked below
            return self._gated_rows(counts_ppb)

    def _gated_rows(self, counts_ppb: IntArray) -> FloatArray:
        counts = counts_ppb.astype(np.float64) / float(PPB)
        w, k, _ = counts.shape
        mean, accuracy, row_total = _one_coin_means(self, counts)
        used = row_total >= 2.0
        strength = self.row_strength
        if self.estimate:  # the spread of per-class accuracies around the one-coin one
            p = np.clip(np.broadcast_to(accuracy[:, None], row_total.shape), 1e-9, 1 - 1e-9)
            right = np.einsum("wkk->wk", counts)
            pearson = np.where(used, (right - row_total * p) ** 2 / (row_total * p * (1 - p)), 0)
            pooled = _concentration(
                np.array([pearson.sum()]),
                np.array([np.where(used, row_total, 0.0).sum()]),
                np.array([float(used.sum())]),
            )[0]
            strength = float(np.clip(pooled * self.diagonal_scale, 4.0, 64.0))
        self.strength_ = strength
        expected = np.maximum(row_total[..., None] * mean, 1e-12)
        pearson_w = np.where(used, ((counts - expected) ** 2 / expected).sum(axis=2), 0.0)
        own = _concentration(
            pearson_w.sum(axis=1),
            np.where(used, row_total * (k - 1), 0.0).sum(axis=1),
            used.sum(axis=1) * (k - 1.0),
        )
        gate = np.where(np.isinf(own), 1.0, own / (own + self.tau))
        answers = counts.sum(axis=(1, 2))
        dominance = answers * float(w) / max(float(answers.sum()), 1.0)
        pull = self.share * np.maximum(dominance - self.threshold, 0.0) * gate
        pseudo = np.maximum(strength, pull[:, None] * row_total)
        out: FloatArray = (counts + pseudo[..., None] * mean) / (row_total + pseudo)[..., None]
        return out


class GatedDominance(_GatedRows, EarlyStopDawidSkene):
    """``hds@4`` with the gated pull (module docstring); the pooled phase gets the pull too,
    at ``hds@4``'s fixed pooled strength."""

    algorithm = "proto-gated-dominance (unregistered)"

    def __init__(self, threshold: float = 8.0, tau: float = 8.0) -> None:
        super().__init__()
        self.threshold, self.tau = threshold, tau
        pooled = _GatedRows(row_strength=self.max_strength, max_strength=self.max_strength)
        pooled.threshold, pooled.tau, pooled.estimate = threshold, tau, False
        self._pooled = pooled


class _OwnRows(EarlyStopDawidSkene):
    """``hds@4``'s loop with a hook for the counts its M-step reads."""

    def _counts(
        self, answers: Answers, probas: IntArray, log_confusion: FloatArray, log_prior: FloatArray
    ) -> IntArray:
        return expected_confusion_ppb(answers, probas)

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = initial_posteriors(answers, gold)
        prior = self._class_prior(probas)
        log_confusion, log_prior = self._pooled._logs(
            expected_confusion_ppb(answers, probas), prior
        )
        previous: Settled | None = None
        unchanged = iteration = 0
        for iteration in range(1, self.n_iter + 1):
            probas = confusion_e_step(answers, log_confusion, log_prior, gold)
            prior = self._class_prior(probas)
            pooled = iteration <= self.pooled_iterations
            counts = (
                expected_confusion_ppb(answers, probas)
                if pooled
                else self._counts(answers, probas, log_confusion, log_prior)
            )
            log_confusion, log_prior = (self._pooled if pooled else self)._logs(counts, prior)
            if iteration < self.pooled_iterations + SETTLED_REPEATS:
                continue
            state = self._settled_state(Posteriors.of(probas), prior)
            unchanged = unchanged + 1 if state.same_as(previous) else 0
            previous = state
            if unchanged >= SETTLED_REPEATS:
                break
        self.iterations_ = iteration
        self._log_confusion, self._prior = log_confusion, prior
        return probas


class LeaveOwnOut(_OwnRows):
    """Adaptive-phase M-step counts from posteriors without the counted answer."""

    algorithm = "proto-leave-own-out (unregistered)"

    def _counts(
        self, answers: Answers, probas: IntArray, log_confusion: FloatArray, log_prior: FloatArray
    ) -> IntArray:
        k = answers.n_classes
        rows = log_confusion.transpose(0, 2, 1).reshape(-1, k)[answers.key]
        items = np.add.reduceat(rows, answers.item_starts, axis=0) + log_prior
        without = items[answers.item] - rows
        without -= without.max(axis=1, keepdims=True)
        weights = np.exp(without)
        weights /= weights.sum(axis=1, keepdims=True)
        cells = answers.n_annotators * k
        totals = np.stack(
            [np.bincount(answers.key, weights=weights[:, c], minlength=cells) for c in range(k)]
        )
        counts = totals.reshape(k, answers.n_annotators, k).transpose(1, 0, 2)
        out: IntArray = np.rint(counts * float(PPB)).astype(np.int64)
        return out


class _Tempered(HierarchicalDawidSkene):
    """E-step log-likelihoods of busy annotators times ``1 / (1 + c max(d-1, 0))``."""

    c = 0.1

    def _logs(self, counts_ppb: IntArray, prior: FloatArray) -> tuple[FloatArray, FloatArray]:
        log_confusion, log_prior = super()._logs(counts_ppb, prior)
        answers = counts_ppb.sum(axis=(1, 2)).astype(np.float64)
        dominance = answers * len(answers) / max(float(answers.sum()), 1.0)
        weight = 1.0 / (1.0 + self.c * np.maximum(dominance - 1.0, 0.0))
        return log_confusion * weight[:, None, None], log_prior


class TemperedEvidence(_Tempered, EarlyStopDawidSkene):
    """``hds@4`` whose E-step, pooled phase included, reads busy annotators' log-likelihoods
    tempered (:class:`_Tempered`)."""

    algorithm = "proto-tempered-evidence (unregistered)"

    def __init__(self, c: float = 0.1) -> None:
        super().__init__()
        self.c = c
        pooled = _Tempered(row_strength=self.max_strength, max_strength=self.max_strength)
        pooled.c = c
        self._pooled = pooled


class Hds4AfterHds5(EarlyStopDawidSkene):
    """``hds@5``'s posteriors, then up to ``n_iter`` of ``hds@4``'s adaptive iterations."""

    algorithm = "proto-hds4-after-hds5 (unregistered)"

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = DominanceDawidSkene()._fit(answers, gold)
        prior = self._class_prior(probas)
        log_confusion, log_prior = self._logs(expected_confusion_ppb(answers, probas), prior)
        previous: Settled | None = None
        unchanged = 0
        for _ in range(self.n_iter):
            probas = confusion_e_step(answers, log_confusion, log_prior, gold)
            prior = self._class_prior(probas)
            log_confusion, log_prior = self._logs(expected_confusion_ppb(answers, probas), prior)
            state = self._settled_state(Posteriors.of(probas), prior)
            unchanged = unchanged + 1 if state.same_as(previous) else 0
            previous = state
            if unchanged >= SETTLED_REPEATS:
                break
        self._log_confusion, self._prior = log_confusion, prior
        return probas
