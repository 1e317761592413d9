"""``hds@8``: ``hds@6`` that takes no evidence from annotators who give one answer to
everything (issue #15).

Why. An annotator whose every answer is class ``c`` answers ``c`` whatever the item, so
their answers say nothing about which class is true: Dawid-Skene with enough data learns
``P(c | k) = 1`` for every ``k`` and a likelihood ratio of one. ``hds@6`` does not get
there. Its pooled phase and its share pull every confusion row toward the annotator's
one-coin row, which reads "answered ``c``" as evidence for ``c``; a constant answerer on
the task's commonest class then looks as accurate as that class is common, the consensus
moves toward it, and that makes them look more accurate still. With 30% of a real set's
annotators replaced by constant answerers (``scripts/adversaries.py``, three seeds) ``hds@6``
averages 36.8 points under crowd-kit's Dawid-Skene on the same answers (web 0.171 where
crowd-kit gets 0.725, temp 0.439 against 0.877); ``hds@8`` is 0.3 points above it
(BENCHMARKS.md, "Constant answerers").

The rule, from the answers alone, before EM. Annotator ``w`` gave ``n`` answers, all of
class ``c``; everyone else's answers are class ``c`` with frequency ``r``. An annotator who
answered like the rest of the crowd would give ``n`` answers of ``c`` with probability
``r ** n``; ``w`` is *ignored* when that is below ``alpha / W`` (``W`` annotators: a
Bonferroni bound, so that on a task of honest annotators the chance that any of them is
ignored is about ``alpha`` or less), ``alpha`` = :data:`CONSTANT_ALPHA`, the conventional 5%.
Nobody is ignored on a task with one annotator, or where everyone answers one class. An
ignored annotator's answers weigh nothing in every E-step: their log confusion rows are 0
there (a likelihood ratio of one), so an item only they answered gets the class prior. Their
answers still count in the M-step's crowd statistics and in the vote that starts EM, as in
``hds@6``; their fitted rows are kept (``confusions_``) and :attr:`ignored_` says who they
were.

How the rule was chosen (BENCHMARKS.md, "Constant answerers"): ignoring rather than only
freeing their rows from the one-coin pull (which left web at 0.06 on one seed); the
Bonferroni bound rather than ``alpha`` per annotator (which ignores honest annotators with a
few answers on tasks with a thousand annotators: a regime of the selection grid fell more
than a point under the vote); ``alpha`` not tuned (0.01 measured the same on every half).
Where nobody is ignored, the bytes are ``hds@6``'s.

Determinism: exact integer answer counts (one ``bincount``), one IEEE division for ``r``,
the comparison in logs through :func:`det_log`; the rest is ``hds@6``'s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, IntArray
from node.consensus.capped_ds import EM_ITERATIONS, CappedDominanceDawidSkene
from node.consensus.numerics import det_log
from node.protocol import ids
from node.protocol.errors import InvalidParameterError

BoolArray = npt.NDArray[np.bool_]

CONSTANT_ALPHA = 0.05
"""``alpha``: the chance, on a task of honest annotators, that any of them is ignored."""


def own_and_rest(answers: Answers) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """Per annotator: its answer distribution ``q``, everyone else's ``r``, its number of
    answers ``n``, and whether anybody else answered (integer counts, then one division)."""
    k, w = answers.n_classes, answers.n_annotators
    counts = np.bincount(answers.key, minlength=w * k).reshape(w, k).astype(np.int64)
    own = counts @ np.ones(k, dtype=np.int64)  # integer sums: exact
    total = np.ones(w, dtype=np.int64) @ counts
    rest = total[None, :] - counts
    rest_total = np.int64(len(answers)) - own
    q = counts.astype(np.float64) / np.maximum(own, 1).astype(np.float64)[:, None]
    r = rest.astype(np.float64) / np.maximum(rest_total, 1).astype(np.float64)[:, None]
    return q, r, own.astype(np.float64), rest_total > 0


def constant_answerers(answers: Answers, alpha: float = CONSTANT_ALPHA) -> BoolArray:
    """Per annotator, whether every answer is one class ``c`` while ``r ** n < alpha / W``
    (``r``: everyone else's frequency of ``c``; ``n``: the annotator's answers)."""
    q, r, n, others = own_and_rest(answers)
    rows = np.arange(answers.n_annotators)
    top = np.argmax(q, axis=1)
    constant = (q[rows, top] == 1.0) & others
    share = r[rows, top]
    bound = float(det_log(alpha / float(answers.n_annotators)))
    log_share = det_log(np.where(share > 0.0, share, 1.0))
    rare = (share == 0.0) | (np.multiply(n, log_share) < bound)
    out: BoolArray = constant & rare
    return out


class ConstantAwareDawidSkene(CappedDominanceDawidSkene):
    """``hds@6`` whose E-steps take no evidence from :func:`constant_answerers`."""

    algorithm = ids.CONSTANT_AWARE_DAWID_SKENE

    def __init__(self, alpha: float = CONSTANT_ALPHA, n_iter: int = EM_ITERATIONS) -> None:
        super().__init__(n_iter=n_iter)
        if not 0.0 < alpha < 1.0:
            raise InvalidParameterError(f"alpha must be between 0 and 1, got {alpha!r}")
        self.alpha = float(alpha)
        self.ignored_: BoolArray = np.zeros(0, dtype=bool)
        """After a fit, per annotator (the answers' ``annotators`` order): ignored or not."""

    def params(self) -> dict[str, int | str]:
        out = super().params()
        out["constant_alpha"] = repr(self.alpha)
        return out

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        self.ignored_ = constant_answerers(answers, self.alpha)
        return super()._fit(answers, gold)

    def _evidence(self, log_confusion: FloatArray) -> FloatArray:
        if not self.ignored_.any():
            return log_confusion
        out = log_confusion.copy()
        out[self.ignored_] = 0.0
        return out
