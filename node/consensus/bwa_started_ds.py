"""``hds`` whose EM starts from BWA's posteriors instead of the vote: a benchmark candidate
for issue #15, not a protocol algorithm.

Why. BWA (:mod:`node.consensus.bwa`) is ahead of ``hds@2`` on web (+1.9 points) and
zencrowd_us (+9.1) and behind it nearly everywhere else; EM's answer depends on where it
starts. Starting ``hds``'s EM from BWA's scores keeps ``hds``'s model (and so its grid
results) and asks whether the basin BWA finds is one ``hds`` keeps. ``pooled_iterations``
is ``hds@2``'s (rows held at their one-coin mean first; 0 = ``hds@1``'s adaptive strength
throughout). The loop is ``hds@2``'s (:class:`~node.consensus.staged_ds.StagedDawidSkene`)
with a different start; it is repeated here rather than given a hook in ``hds@2``'s module
so that no byte of a registered algorithm's code path moves for a candidate.

Determinism: BWA's start is same-machine deterministic only (see its module), so this is
too; a protocol version would need BWA's sums in fixed point first.
"""

from __future__ import annotations

from node.consensus.answers import Answers
from node.consensus.base import (
    IntArray,
    clamp_gold,
    confusion_e_step,
    expected_confusion_ppb,
)
from node.consensus.bwa import BayesianWeightedAveraging
from node.consensus.numerics import det_log
from node.consensus.staged_ds import StagedDawidSkene


class BwaStartedDawidSkene(StagedDawidSkene):
    """``hds@2`` (or ``hds@1`` with ``pooled_iterations=0``) started from BWA's posteriors."""

    algorithm = "hds-bwa-start-candidate"
    """A benchmark name, not a protocol id: no task can name it (not in the registry)."""

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = clamp_gold(BayesianWeightedAveraging()._fit(answers, gold), gold)
        prior = self._class_prior(probas)
        start = self._pooled if self.pooled_iterations > 0 else self
        log_confusion = start._confusion_logs(expected_confusion_ppb(answers, probas))
        for iteration in range(1, self.n_iter + 1):
            probas = confusion_e_step(answers, log_confusion, det_log(prior), gold)
            prior = self._class_prior(probas)
            counts = expected_confusion_ppb(answers, probas)
            if iteration <= self.pooled_iterations:
                log_confusion = self._pooled._confusion_logs(counts)
            else:
                log_confusion = self._confusion_logs(counts)
        self._log_confusion = log_confusion
        self._prior = prior
        return probas
