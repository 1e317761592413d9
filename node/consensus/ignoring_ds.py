"""``hds@8``: ``hds@6`` that takes no evidence from annotators whose answers say nothing
about the truth (issue #15): constant answerers and favourite-class answerers, by the tests
of :mod:`node.consensus.uninformative`.

Why. ``hds@6``'s pooled phase and its share pull every confusion row toward the annotator's
one-coin row, which reads "answered ``c``" as evidence for ``c``. An annotator who gives
class ``c`` whatever the item (always, or 80% of the time) then looks as accurate as ``c``
is common; the consensus moves toward ``c``, which makes them look more accurate still.
Dawid-Skene with enough data would learn their rows are alike for every true class (a
likelihood ratio of one); the pull keeps EM from getting there. With 30% of a real set's
annotators replaced (``scripts/adversaries.py``, three seeds), ``hds@6`` averaged 36.8
points under crowd-kit's Dawid-Skene on the same answers against constant answerers and
15.0 against favourite-class ones (web 0.23 where crowd-kit gets 0.66; temp 0.44 against
0.92); ``hds@8`` is 0.9 and 0.7 points above it (BENCHMARKS.md, "Uninformative
annotators").

An ignored annotator's answers weigh nothing in any E-step: their log confusion rows are 0
there (a likelihood ratio of one), so an item only they answered gets the class prior.
Nothing else changes: their answers still count in the vote that starts EM and in the
M-step's crowd statistics, their fitted rows are kept (``confusions_``), and
:attr:`IgnoringDawidSkene.ignored_` says who they were. Where nobody is ignored the bytes are
``hds@6``'s.

Determinism: the tests' (:mod:`node.consensus.uninformative`); the rest is ``hds@6``'s.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, IntArray
from node.consensus.capped_ds import EM_ITERATIONS, CappedDominanceDawidSkene
from node.consensus.cell_fit import Cells
from node.consensus.uninformative import AGREEMENT_Z, ALPHA, BoolArray, screen
from node.protocol import ids
from node.protocol.errors import InvalidParameterError


class IgnoringDawidSkene(CappedDominanceDawidSkene):
    """``hds@6`` whose E-steps take no evidence from
    :func:`~node.consensus.uninformative.uninformative_annotators`."""

    algorithm = ids.IGNORING_DAWID_SKENE

    def __init__(self, alpha: float = ALPHA, n_iter: int = EM_ITERATIONS) -> None:
        super().__init__(n_iter=n_iter)
        if not 0.0 < alpha < 1.0:
            raise InvalidParameterError(f"alpha must be between 0 and 1, got {alpha!r}")
        self.alpha = float(alpha)
        self.ignored_: BoolArray = np.zeros(0, dtype=bool)
        """After a fit, per annotator (the answers' ``annotators`` order): ignored or not."""
        self.informative_: BoolArray = np.zeros(0, dtype=bool)
        """After a fit, per annotator: whether its agreement with everyone is more than
        :data:`AGREEMENT_Z` standard errors above chance (the screen measured it)."""
        self.beyond_chance_: BoolArray = np.zeros(0, dtype=bool)
        """After a fit, per annotator: the same more than :data:`AGREEMENT_Z` standard
        errors from chance, above or below."""
        self._screened: Answers | None = None

    def params(self) -> dict[str, int | str]:
        out = super().params()
        out["ignore_alpha"] = repr(self.alpha)
        out["agreement_z"] = repr(AGREEMENT_Z)
        return out

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        self._screen(answers)
        return super()._fit(answers, gold)

    def _screen(self, answers: Answers) -> None:
        """Set :attr:`ignored_` and :attr:`informative_` for ``answers``, unless they are
        already these answers' (a subclass that looks at them before the fit screens once)."""
        if self._screened is answers:
            return
        self._screened = answers
        screened = screen(answers, self.alpha)
        self.ignored_, self.informative_ = screened.ignored, screened.informative
        self.beyond_chance_ = screened.beyond_chance

    def _evidence_cells(self, cells: Cells, log_cells: FloatArray) -> FloatArray:
        ignored = self.ignored_[cells.annotator]
        if not ignored.any():
            return log_cells
        out = log_cells.copy()
        out[ignored] = 0.0
        return out

    def _evidence(self, log_confusion: FloatArray) -> FloatArray:
        if not self.ignored_.any():
            return log_confusion
        out = log_confusion.copy()
        out[self.ignored_] = 0.0
        return out
