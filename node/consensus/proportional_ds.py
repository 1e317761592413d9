"""``hds@4`` whose confusion rows are pulled toward the annotator's one-coin row by a share
of their own answers, so the pull does not vanish for the busiest annotators (issue #15).
:class:`DominanceDawidSkene` with share 0.5 is ``hds@5``, the default for new tasks (the
selection rule's choice: BENCHMARKS.md, "``hds@5`` = ``hds7_d0.5``", which also states what
it costs); :class:`ProportionalDawidSkene` (a fixed share for everyone, ``hds6_a*``) is a
benchmark candidate only.

Why. ``hds@1``..``hds@4`` give every confusion row a Dirichlet prior centred on the
annotator's one-coin row with ``s`` pseudo-answers, ``s`` between 4 and 64 for the whole
task. A row of ``n`` answers is then ``(c + s m) / (n + s)``: the pull is ``s / (n + s)``
and vanishes as ``n`` grows. On zencrowd_us five workers gave about 9,400 of 12,190
answers (two of them share false positives on the same items far beyond independence);
their rows are their own to three digits, and EM follows them into a basin where the rare
class holds 36% of the items where the truth has 22% (0.8216, against the vote's 0.8686
and the one-coin model's 0.901). The class prior is a symptom, not the cause: holding it
at the pooled phase's value, or at the 0.80 a one-coin start reaches, gives 0.8245 and
0.8412 (measured); pulling the busy annotators' rows toward one-coin gives 0.90.

So a row's pseudo-answers are ``S = max(s, a n)``: ``hds@4``'s estimate ``s`` for rows
with few answers, and a fixed share ``a`` of the row's own answers for rows with many; the
row becomes ``(c + a n m) / (n (1 + a))`` there, a mix of the annotator's own row (weight
``1 / (1 + a)``) and their one-coin row (``a / (1 + a)``), however many answers they gave.
``a`` is the one new constant; the selection rule chose 0.25 among 0.25, 0.5, 1, 2, 4 and
8 (the powers of two around "half own, half one-coin"; nothing set on a data set). Both
phases use it: the pooled phase's 64 pseudo-answers are a floor as ``s`` is in the
adaptive phase (the share in the adaptive phase only measured the same on the small task
and within 0.3 points on zencrowd_us, web, bluebirds and zheng_d_product). Everything else
is ``hds@4``'s: start, pooled phase, strength estimate, skill and
class-prior pseudo-counts, early stop.

Determinism: ``hds@4``'s M-step with the scalar strength replaced by an elementwise
maximum (IEEE, exact) of it and ``a`` times each row's total, whose integer
parts-per-billion sum is exact; no new sum over answers or annotators.
"""

from __future__ import annotations

import numpy as np

from node.consensus.base import FloatArray, IntArray
from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.hierarchical_ds import HierarchicalDawidSkene, _positive
from node.protocol import ids

DOMINANCE_SHARE = 0.5
"""``hds@5``'s ``answer_share``: the selection rule's choice among 0.125 .. 2 over the real
sets and the grid with its dominant-annotator regimes (BENCHMARKS.md, "Dominant annotators
on the grid"; 1 won before those regimes were added)."""

PROPORTIONAL_DAWID_SKENE = "hds-proportional (unregistered)"
"""Not a protocol id: a benchmark candidate (BENCHMARKS.md, issue #15), so no task can
name it; registering it would take a new id in :mod:`node.protocol.ids`."""


class _ProportionalRows(HierarchicalDawidSkene):
    """``hds@1``'s M-step with each row's pseudo-answers ``max(s, answer_share * n)``
    (through :meth:`HierarchicalDawidSkene._row_pseudo`, whose default is ``s`` for every
    row, so the registered ``hds@1`` .. ``hds@4`` keep their bytes: their pins say so)."""

    answer_share: float = 0.0
    by_dominance: bool = False
    """Scale the share by the annotator's excess answers (``hds7``) instead of using it
    as it is (``hds6``)."""

    def _shares(self, count_total: IntArray) -> FloatArray:
        """Each annotator's share ``a``: ``answer_share``, or with :attr:`by_dominance`
        ``answer_share * max(d - 1, 0)`` with ``d`` the annotator's answers over the mean
        per annotator (exact integer totals; elementwise IEEE after)."""
        if not self.by_dominance:
            return np.full(count_total.shape, self.answer_share)
        everyone = max(int(count_total.sum(dtype=np.int64)), 1)
        dominance = count_total.astype(np.float64) * float(len(count_total)) / float(everyone)
        out: FloatArray = self.answer_share * np.maximum(dominance - 1.0, 0.0)
        return out

    row_gate: FloatArray | None = None
    """Per annotator, the share of the pull it keeps (the answer-bias gate of the benchmark
    candidate :mod:`node.consensus.gated_ds`, set for each fit); ``None`` (``hds@5``,
    ``hds@6``): the whole pull, the same bits as before the gate existed."""
    gate_floor: float = 0.0
    """The fewest pseudo-answers a gated row keeps."""

    def _row_pseudo(
        self, strength: float, count_total: IntArray, row_total: FloatArray
    ) -> FloatArray:
        """``max(s, a n)`` per row: the estimate ``s`` or the annotator's share ``a`` of the
        row's own answers ``n``, whichever is larger; with a :attr:`row_gate` ``g``,
        ``max(floor, g max(s, a n))``."""
        out: FloatArray = np.maximum(strength, self._shares(count_total)[:, None] * row_total)
        if self.row_gate is not None:
            out = np.maximum(self.gate_floor, np.multiply(self.row_gate[:, None], out))
        return out


class ProportionalDawidSkene(_ProportionalRows, EarlyStopDawidSkene):
    """``hds@4`` whose rows (in both phases) weigh at least ``answer_share`` times their
    own answers of the annotator's one-coin row."""

    algorithm = PROPORTIONAL_DAWID_SKENE
    _pooled: _ProportionalRows

    def __init__(
        self, answer_share: float = 0.25, stop_prior_grid: int = 1_000_000, n_iter: int = 30
    ) -> None:
        super().__init__(n_iter=n_iter, stop_prior_grid=stop_prior_grid)
        self.answer_share = _positive("answer_share", answer_share)
        pooled = _ProportionalRows(
            n_iter=self.n_iter,
            row_strength=self.max_strength,
            skill_strength=self.skill_strength,
            prior_strength=self.prior_strength,
            skill_lean=self.skill_lean,
            max_strength=self.max_strength,
        )
        pooled.answer_share = self.answer_share
        pooled.by_dominance = self.by_dominance
        self._pooled = pooled

    def params(self) -> dict[str, int | str]:
        out = super().params()
        out["answer_share"] = repr(self.answer_share)
        return out


class DominanceDawidSkene(ProportionalDawidSkene):
    """``hds6`` whose share grows with how far an annotator's answers exceed the mean per
    annotator: ``a = answer_share * max(d - 1, 0)``, ``d = n_w W / N`` (``hds7_d*``).

    Why. ``hds6``'s fixed share also pulls annotators who are no busier than anyone else:
    on bluebirds (39 workers, every one answering all 108 items, with real class-dependent
    confusions) and on the small task, where one-coin rows are the wrong model, it costs
    (BENCHMARKS.md). The failure it was written for is an annotator whose answers are a
    large part of the evidence on their own items, so that EM fits their row to posteriors
    they largely made: an annotator with ``d`` times the mean number of answers weighs
    ``d`` times the average in the expected counts from which every row and the class
    prior are estimated. Where everyone answers about as much (``d <= 1``) the model is
    ``hds@4`` exactly; the pull grows with the excess. ``answer_share`` is chosen by the
    selection rule."""

    algorithm = ids.DOMINANCE_DAWID_SKENE
    by_dominance = True

    def __init__(
        self,
        answer_share: float = DOMINANCE_SHARE,
        stop_prior_grid: int = 1_000_000,
        n_iter: int = 30,
    ) -> None:
        super().__init__(answer_share=answer_share, stop_prior_grid=stop_prior_grid, n_iter=n_iter)
