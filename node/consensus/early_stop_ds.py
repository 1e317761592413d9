"""Staged hierarchical Dawid-Skene with a deterministic early stop (``hds@4``, issue #15):
``hds@2``'s model and EM, stopped once the published decisions have settled.

Why. ``hds@2`` always runs 30 EM iterations; crowd-kit's DawidSkene stops when its
log-likelihood moves less than a tolerance, which on the mid-size real sets is after a
handful of iterations, so a fixed count is what keeps ``hds@2`` under ten times its speed
there (BENCHMARKS.md, "Speed"). A tolerance on a float would let two machines stop at
different iterations over a last-bit difference; this one is decided on quantized values
that are already identical on every validator:

* the consensus class of every item (the argmax of the integer posteriors, ties to the
  first class), and
* the class prior rounded to ``stop_prior_grid`` parts (``rint(prior * grid)``; the prior
  is computed by the protocol's bit-reproducible arithmetic, so its rounding is too).

EM stops after an iteration whose values equal those of the two iterations before it
("unchanged for two consecutive iterations"), and never later than ``n_iter``. Values are
taken from iteration ``pooled_iterations + 2`` on (the first E-step that follows an
adaptive M-step), so the earliest stop is after iteration ``pooled_iterations + 4`` (9):
the pooled start (``hds@2``'s small-task fix) always runs in full and the adaptive phase
has moved before anything is compared. Where the check never fires, the bytes are
``hds@2``'s; where it fires, the result is what ``hds@2`` holds after that iteration (the
posteriors of its E-step, the confusions and prior of the M-step that follows).

Why these two values: the argmax is the consensus the result publishes and the prior
moves last (EM's slow direction is the class balance, a whole-task quantity), so when
neither has moved at 1e-6 the remaining iterations shift confidences by small amounts and
labels almost never (measured on the real sets, BENCHMARKS.md). The grid is a parameter,
chosen by the selection rule: 1e-6 (``hds4_p6``) scores exactly ``hds@2``'s score, with the
same accuracy on all 144 units; 1e-4 stops sooner and scores 0.001 less.

Determinism: every step is ``hds@2``'s; the stop compares integers derived from values
every validator holds bit for bit, so all of them stop at the same iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import (
    FloatArray,
    IntArray,
    Posteriors,
    confusion_posteriors,
    e_step_posteriors,
    expected_cell_counts,
    expected_confusion_ppb,
    initial_posteriors,
)
from node.consensus.cell_fit import Cells, cell_logs, uses_cells
from node.consensus.hierarchical_ds import HierarchicalDawidSkene
from node.consensus.numerics import to_fixed_log
from node.consensus.staged_ds import StagedDawidSkene
from node.protocol import ids
from node.protocol.errors import InvalidParameterError

_Step = tuple[IntArray, FloatArray, FloatArray]
"""One M-step's expected counts, log confusion rows and log class prior."""

SETTLED_REPEATS = 2
"""Iterations in a row whose quantized values must equal the previous iteration's."""


@dataclass(frozen=True, eq=False)
class Settled:
    """What the early stop compares from one iteration to the next: every item's label and
    the class prior on the stop's grid. Held as arrays and compared element by element by
    :meth:`same_as` (``==`` is identity: arrays have no single truth value); a copy of the
    labels as bytes each iteration cost 9 ms at 5M items."""

    labels: IntArray
    prior_grid: IntArray

    def same_as(self, previous: Settled | None) -> bool:
        """Whether ``previous`` (``None`` before the first comparison) holds the same."""
        return (
            previous is not None
            and np.array_equal(self.prior_grid, previous.prior_grid)
            and np.array_equal(self.labels, previous.labels)
        )


class EarlyStopDawidSkene(StagedDawidSkene):
    """``hds@2`` that stops once labels and the rounded class prior have stayed the same
    for :data:`SETTLED_REPEATS` consecutive iterations (``iterations_`` says when)."""

    algorithm = ids.EARLY_STOP_DAWID_SKENE
    iterations_: int = 0
    """EM iterations the last fit ran (at most ``n_iter``)."""
    _cell_state: tuple[HierarchicalDawidSkene, Cells, IntArray, FloatArray] | None = None
    _last_step: Callable[[], None] | None = None
    """The M-step that follows the last E-step, until its fit is asked for
    (:meth:`_take_last_step`)."""
    _strength: float = 0.0

    def __init__(
        self, n_iter: int = 30, pooled_iterations: int = 5, stop_prior_grid: int = 1_000_000
    ) -> None:
        super().__init__(n_iter=n_iter, pooled_iterations=pooled_iterations)
        if not isinstance(stop_prior_grid, int) or not 1 <= stop_prior_grid <= 10**9:
            raise InvalidParameterError(
                f"stop_prior_grid must be an int in [1, 1e9], got {stop_prior_grid!r}"
            )
        self.stop_prior_grid = stop_prior_grid

    def params(self) -> dict[str, int | str]:
        out = super().params()
        out["stop_prior_grid"] = self.stop_prior_grid
        out["stop_repeats"] = SETTLED_REPEATS
        return out

    def _settled_state(self, posteriors: Posteriors, prior: FloatArray) -> Settled:
        """What the stop compares: labels and the prior on its grid."""
        grid = np.rint(np.multiply(prior, float(self.stop_prior_grid))).astype(np.int64)
        return Settled(posteriors.labels, grid)

    @property
    def strength_(self) -> float:
        """The row strength used in the last M-step (taken now if it is still pending)."""
        self._take_last_step()
        return self._strength

    @strength_.setter
    def strength_(self, value: float) -> None:
        self._strength = value

    def _take_last_step(self) -> None:
        """Take the M-step that follows the fit's last E-step, if it has not been taken.

        Why it waits: the posteriors are the E-step's, so that M-step only fits the
        confusions and the strength, which the result document never reads (measured:
        112 of the 4,800 microseconds of a fit on zencrowd_us, 340 of 15,000 on web).
        Whoever asks for them (``confusions_``, ``skills_``, ``strength_``) gets the bits
        the fit would have left: the step reads only the fit's last posteriors, prior and
        model."""
        step, self._last_step = self._last_step, None
        if step is not None:
            step()

    def _evidence(self, log_confusion: FloatArray) -> FloatArray:
        """The log confusion rows each E-step weighs the answers by: all of them as fitted
        (``hds@8`` sets its uninformative annotators' to 0: :mod:`node.consensus.ignoring_ds`)."""
        return log_confusion

    def _evidence_cells(self, cells: Cells, log_cells: FloatArray) -> FloatArray:
        """:meth:`_evidence` over answered cells (:mod:`node.consensus.cell_fit`)."""
        return log_cells

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        self._cell_state = None
        self._log_confusion = None
        self._last_step = None
        pooled = self._pooled if self.pooled_iterations > 0 else self
        if uses_cells(self, answers) and uses_cells(pooled, answers):
            return self._fit_cells(answers, gold)

        key = answers.key  # computed on each use: once for every E-step

        def e_step(log_confusion: FloatArray, log_prior: FloatArray, spent: IntArray) -> Posteriors:
            evidence = self._evidence(log_confusion)
            return confusion_posteriors(answers, evidence, log_prior, gold, spent, key)

        def m_step(model: HierarchicalDawidSkene, probas: IntArray, prior: FloatArray) -> _Step:
            counts = expected_confusion_ppb(answers, probas)
            return (counts, *model._logs(counts, prior))

        def keep(step: _Step, model: HierarchicalDawidSkene, prior: FloatArray) -> None:
            self._log_confusion = step[1]

        return self._em(answers, gold, e_step, m_step, keep)

    def _fit_cells(self, answers: Answers, gold: IntArray) -> IntArray:
        """:meth:`_fit` over answered cells: the same steps, the same bits
        (:mod:`node.consensus.cell_fit`); the dense table is built only if asked for."""
        cells = Cells.of(answers)

        def e_step(log_cells: FloatArray, log_prior: FloatArray, spent: IntArray) -> Posteriors:
            rows = to_fixed_log(self._evidence_cells(cells, log_cells))
            return e_step_posteriors(answers, rows, cells.of_answer, log_prior, gold, spent)

        def m_step(model: HierarchicalDawidSkene, probas: IntArray, prior: FloatArray) -> _Step:
            counts = expected_cell_counts(answers, probas)
            return (counts, *cell_logs(model, cells, counts, prior))

        def keep(step: _Step, model: HierarchicalDawidSkene, prior: FloatArray) -> None:
            self._cell_state = (model, cells, step[0], prior)

        return self._em(answers, gold, e_step, m_step, keep)

    def _em(
        self,
        answers: Answers,
        gold: IntArray,
        e_step: Callable[[FloatArray, FloatArray, IntArray], Posteriors],
        m_step: Callable[[HierarchicalDawidSkene, IntArray, FloatArray], _Step],
        keep: Callable[[_Step, HierarchicalDawidSkene, FloatArray], None],
    ) -> IntArray:
        """The staged EM with the early stop, whatever holds the confusion rows (the dense
        table or the answered cells). Returns the posteriors; sets ``iterations_`` and the
        prior, and leaves the M-step that follows the last E-step pending
        (:meth:`_take_last_step`): taken, it hands ``keep`` its ``(counts, log rows, log
        prior)``, the model that took it and the prior, and, if every iteration was
        pooled, sets the pooled strength."""
        probas = initial_posteriors(answers, gold)
        prior = self._class_prior(probas)
        model: HierarchicalDawidSkene = self._pooled if self.pooled_iterations > 0 else self
        first_check = self.pooled_iterations + SETTLED_REPEATS
        previous: Settled | None = None
        unchanged = 0
        iteration = 0
        for iteration in range(1, self.n_iter + 1):
            step = m_step(model, probas, prior)  # the M-step after the previous E-step
            posteriors = e_step(step[1], step[2], probas)  # the M-step has read them
            probas = posteriors.ppb
            prior = self._class_prior(probas, posteriors.totals)
            model = self._pooled if iteration <= self.pooled_iterations else self
            if iteration < first_check:
                continue
            state = self._settled_state(posteriors, prior)
            unchanged = unchanged + 1 if state.same_as(previous) else 0
            previous = state
            if unchanged >= SETTLED_REPEATS:
                break
        all_pooled = self.pooled_iterations > 0 and iteration <= self.pooled_iterations
        self._last_step = partial(self._last_m_step, m_step, keep, model, probas, prior, all_pooled)
        self.iterations_ = iteration
        self._prior = prior
        return probas

    def _last_m_step(
        self,
        m_step: Callable[[HierarchicalDawidSkene, IntArray, FloatArray], _Step],
        keep: Callable[[_Step, HierarchicalDawidSkene, FloatArray], None],
        model: HierarchicalDawidSkene,
        probas: IntArray,
        prior: FloatArray,
        all_pooled: bool,
    ) -> None:
        """The pending M-step of :meth:`_em`."""
        keep(m_step(model, probas, prior), model, prior)
        if all_pooled:
            self.strength_ = self._pooled.strength_

    def _fitted_log_confusion(self) -> FloatArray | None:
        """The dense log confusion table; after a fit over cells, built now from the last
        M-step's counts by the dense M-step (the bits the dense fit would have kept)."""
        self._take_last_step()
        if self._log_confusion is None and self._cell_state is not None:
            model, cells, counts, prior = self._cell_state
            strength = self.strength_
            self._log_confusion = model._logs(cells.dense(counts), prior)[0]
            self.strength_ = strength
        return self._log_confusion
