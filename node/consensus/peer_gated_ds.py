"""A benchmark candidate, not a protocol id (issue #15): the answer-bias gate of
:mod:`node.consensus.gated_ds` cut to annotators who also show no agreement with their
peers.

Why. The first gate frees the rows of every annotator whose answers are distributed unlike
everyone else's. On 80 held-out regimes that loses to ``hds@6``: a uniform random answerer
on a task with a skewed class prior is "unlike everyone else" too, and freed rows let its
noise take sparse tasks over (BENCHMARKS.md, "Biased answerers"). What makes an answerer
dangerous to a one-coin row is narrower, and both halves can be read from the answers
alone, before EM, so a consensus that has already moved cannot hide them:

* it concentrates on its top class more than everyone else does: the excess
  ``max(q) - max(r)`` (0 when negative), discounted by ``n / (n + m)`` for ``n`` answers
  (a uniform random answerer on a skewed task has a *lower* top share than the crowd);
* it agrees with its co-annotators on shared items no more than chance: Cohen's kappa of
  its answers against theirs, with chance from its answer distribution and theirs on the
  same items, shrunk toward :data:`PEER_KAPPA` ("skilled enough") with
  :data:`PAIR_PSEUDO` pseudo-pairs so that few pairs prove nothing.

The gate is ``1 - u * b`` with ``u = 1 - clip(kappa / PEER_KAPPA)`` ("unskilled") and
``b = clip(excess / EXCESS_WIDTH)`` ("biased"); the rows are ``hds@6``'s otherwise, with the
gate applied as in :mod:`node.consensus.gated_ds`. The constants are a small sweep's
(BENCHMARKS.md gives it and what is not settled: one held-out regime where experts among
random answerers agree with nobody collapses).

Determinism: every count is an integer (``bincount`` of codes, or of integer weights,
exact below 2**53); kappa, excess and gate are elementwise IEEE operations with
left-to-right row sums.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import FloatArray
from node.consensus.gated_ds import GatedDominanceDawidSkene
from node.consensus.hierarchical_ds import _positive
from node.consensus.numerics import row_sum
from node.consensus.uninformative import own_and_rest

PEER_KAPPA = 0.1
"""Kappa against peers at and above which an annotator counts as skilled."""
EXCESS_WIDTH = 0.1
"""Excess concentration at and above which an annotator counts as fully biased."""
EXCESS_PSEUDO = 256.0
"""``m`` of the excess's ``n / (n + m)``."""
PAIR_PSEUDO = 20.0
"""Pseudo-pairs at :data:`PEER_KAPPA` that an annotator's kappa is shrunk with."""
PEER_GATED_DAWID_SKENE = "hds-peer-gated (unregistered)"
"""Not a protocol id: a benchmark candidate, so no task can name it."""


def peer_kappa(answers: Answers) -> tuple[FloatArray, FloatArray]:
    """Per annotator: Cohen's kappa of its answers against its co-annotators' on the same
    items, and the number of (answer, co-answer) pairs it rests on (kappa 1 where there is
    none, or where chance agreement is 1)."""
    k, w = answers.n_classes, answers.n_annotators
    item, annotator, label = answers.item, answers.annotator, answers.label
    cells = np.bincount(item * k + label, minlength=answers.n_items * k)
    cells = cells.reshape(answers.n_items, k).astype(np.int64)
    per_item = cells @ np.ones(k, dtype=np.int64)
    same = (cells[item, label] - 1).astype(np.float64)  # integers: exact sums below
    co_answers = (per_item[item] - 1).astype(np.float64)
    pairs: FloatArray = np.bincount(annotator, weights=co_answers, minlength=w).astype(np.float64)
    agree = np.bincount(annotator, weights=same, minlength=w)
    own = np.bincount(answers.key, minlength=w * k).reshape(w, k).astype(np.float64)
    theirs = np.empty((w, k), dtype=np.float64)
    for c in range(k):
        theirs[:, c] = np.bincount(
            annotator, weights=cells[item, c].astype(np.float64), minlength=w
        )
    theirs = np.subtract(theirs, own)  # an annotator's own answer is not its co-annotators'
    n = row_sum(own)
    q = own / np.maximum(n, 1.0)[:, None]
    p = theirs / np.maximum(pairs, 1.0)[:, None]
    chance = row_sum(np.multiply(q, p))
    observed = agree / np.maximum(pairs, 1.0)
    usable = (pairs > 0) & (chance < 1.0)
    kappa = np.where(usable, (observed - chance) / np.where(usable, 1.0 - chance, 1.0), 1.0)
    out: FloatArray = kappa
    return out, pairs


def peer_gate(
    answers: Answers, kappa_floor: float, excess_width: float, excess_pseudo: float
) -> FloatArray:
    """The share of its one-coin pull each annotator keeps (module docstring)."""
    kappa, pairs = peer_kappa(answers)
    shrunk = (pairs * kappa + PAIR_PSEUDO * kappa_floor) / (pairs + PAIR_PSEUDO)
    unskilled = np.subtract(1.0, np.clip(shrunk / kappa_floor, 0.0, 1.0))
    q, r, n, others = own_and_rest(answers)
    top_q = np.max(q, axis=1)
    top_r = np.max(r, axis=1)
    excess = np.maximum(np.subtract(top_q, top_r), 0.0) * (n / (n + excess_pseudo))
    biased = np.where(others, np.clip(excess / excess_width, 0.0, 1.0), 0.0)
    out: FloatArray = np.subtract(1.0, np.multiply(unskilled, biased))
    return out


class PeerGatedDominanceDawidSkene(GatedDominanceDawidSkene):
    """``hds@6`` whose rows keep the share :func:`peer_gate` of their pull."""

    algorithm = PEER_GATED_DAWID_SKENE

    def __init__(
        self,
        kappa_floor: float = PEER_KAPPA,
        excess_width: float = EXCESS_WIDTH,
        excess_pseudo: float = EXCESS_PSEUDO,
    ) -> None:
        super().__init__()
        self.kappa_floor = _positive("kappa_floor", kappa_floor)
        self.excess_width = _positive("excess_width", excess_width)
        self.excess_pseudo = _positive("excess_pseudo", excess_pseudo)

    def params(self) -> dict[str, int | str]:
        out = super().params()
        del out["gate_width"], out["gate_pseudo"]
        out["kappa_floor"] = repr(self.kappa_floor)
        out["excess_width"] = repr(self.excess_width)
        out["excess_pseudo"] = repr(self.excess_pseudo)
        return out

    def _gate(self, answers: Answers) -> FloatArray:
        return peer_gate(answers, self.kappa_floor, self.excess_width, self.excess_pseudo)
