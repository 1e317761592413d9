"""Staged hierarchical Dawid-Skene (``hds@2``): EM starts with every confusion row held at
its one-coin mean, and only then lets rows follow their own answers.

Why (issue #15, small tasks). ``hds@1`` estimates, from the start, how far each
annotator's confusion rows may stray from their one-coin mean (a moment estimate over the
rows the current posteriors imply). On a small task the first posteriors are a majority
vote that random answerers have pushed around, and the estimate feeds on them: 40 binary
items of which 5 are in the rare class, two random answerers and one annotator who
answers the rare class half the time give the rare class a third of the items after the
vote; the two careful workers' rare-class rows then look nothing like their one-coin
accuracy, the estimate falls to its floor, each row follows its own data, and EM settles
on that self-consistent wrong answer (measured, ``scripts/small_task.py --items 40``: 0.667
where majority vote gets 0.833). The same model with rows held near the one-coin mean
(``max_strength`` pseudo-answers per row) gets 0.917 there, but with rows held there for
good it loses on sets whose annotators have real class-dependent confusions (bluebirds,
web), where the adaptive strength is what wins.

So the two are run in sequence rather than chosen between: the M-step from the initial
posteriors and those of the first ``pooled_iterations`` EM iterations use
``max_strength``, so each annotator is judged by one well-determined number, their
accuracy over all their answers, while EM finds which items are which; after that the
strength is estimated by moments as in ``hds@1`` and rows with enough answers move to
their own confusions. It is the usual remedy for EM's dependence on its start
(initialize the rich model from the simple one's fit), and costs nothing: the number of
iterations and the work per iteration are ``hds@1``'s. Where the data really are
class-dependent the adaptive phase still gets there (measured on the real sets,
BENCHMARKS.md); where the pooled phase has found the right basin the adaptive phase no
longer has the vote's errors to feed on.

Measured and rejected on the way (BENCHMARKS.md): choosing between the finished pooled and
adaptive fits by a penalized likelihood (BIC, and half and twice its penalty). The
likelihood gain per extra parameter does not separate the small tasks where the pooled
fit is right from the real sets where the adaptive one is (1.8 on the 40-item task,
2.06 on zheng_d_product, 1.58 on web), so every penalty lost points somewhere, and two
full fits double the time.

Determinism: every M-step is ``hds@1``'s (integer expected counts, fixed-point strength
estimate), every E-step the shared one; the switch happens at a fixed iteration.
"""

from __future__ import annotations

from node.consensus.answers import Answers
from node.consensus.base import (
    IntArray,
    check_iterations,
    confusion_e_step,
    expected_confusion_ppb,
    initial_posteriors,
)
from node.consensus.hierarchical_ds import HierarchicalDawidSkene
from node.protocol import ids
from node.protocol.errors import InvalidParameterError


class StagedDawidSkene(HierarchicalDawidSkene):
    """``hds`` whose M-step from the initial posteriors and those of the first
    ``pooled_iterations`` iterations hold the row strength at ``max_strength``; the rest
    estimate it as ``hds@1`` does (so ``pooled_iterations=0`` is ``hds@1``)."""

    algorithm = ids.STAGED_DAWID_SKENE

    def __init__(
        self,
        n_iter: int = 30,
        pooled_iterations: int = 5,
        row_strength: float = 4.0,
        skill_strength: float = 4.0,
        prior_strength: float = 0.1,
        skill_lean: float = 0.5,
        max_strength: float = 64.0,
    ) -> None:
        super().__init__(
            n_iter=n_iter,
            row_strength=row_strength,
            skill_strength=skill_strength,
            prior_strength=prior_strength,
            skill_lean=skill_lean,
            max_strength=max_strength,
        )
        if not max_strength > row_strength:
            raise InvalidParameterError("max_strength must exceed row_strength")
        self.pooled_iterations = check_iterations(pooled_iterations)
        self._pooled = HierarchicalDawidSkene(
            n_iter=n_iter,
            row_strength=max_strength,
            skill_strength=skill_strength,
            prior_strength=prior_strength,
            skill_lean=skill_lean,
            max_strength=max_strength,
        )

    def params(self) -> dict[str, int | str]:
        out = super().params()
        del out["strength_scale"]  # always 1 here: the adaptive phase is hds@1's estimate
        out["pooled_iterations"] = self.pooled_iterations
        return out

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        probas = initial_posteriors(answers, gold)
        prior = self._class_prior(probas)
        start = self._pooled if self.pooled_iterations > 0 else self  # 0: exactly hds@1
        log_confusion, log_prior = start._logs(expected_confusion_ppb(answers, probas), prior)
        key = answers.key  # computed on each use: once for every E-step
        for iteration in range(1, self.n_iter + 1):
            probas = confusion_e_step(answers, log_confusion, log_prior, gold, key)
            prior = self._class_prior(probas)
            counts = expected_confusion_ppb(answers, probas)
            model = self._pooled if iteration <= self.pooled_iterations else self
            log_confusion, log_prior = model._logs(counts, prior)
        if self.pooled_iterations > 0 and self.n_iter <= self.pooled_iterations:  # all pooled
            self.strength_ = self._pooled.strength_
        self._log_confusion = log_confusion
        self._prior = prior
        return probas
