"""The least batch size a seated task may post (docs/settlement.md §1.6).

A seated task fixes how many answers each annotator gives (its batch size ``B``), so it also
decides whether a good annotator can pass the evidence test at all: with too few answers
even an accurate worker's kappa is not significant, and they are paid nothing (the default
demo's 32-label worker with accuracy 0.875). The SDK therefore refuses ``B`` below the
number of answers with which an annotator of accuracy :data:`REFERENCE_ACCURACY` passes the
test with probability at least :data:`REFERENCE_POWER`.

The model: the truth is spread evenly over the ``C`` classes, the annotator is right with
probability ``a`` and otherwise answers one of the other classes at random. Then both their
answer frequencies and the truth's class mass are ``1/C`` per class, chance agreement is
``1/C``, and the test (:func:`node.consensus.quality.evidence_ppb`, the very function the
validators use) depends only on the number of right answers, which is binomial. The figure
is a guide for requesters, not a protocol rule: nothing any node computes depends on it.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from node.consensus.quality import evidence_ppb

REFERENCE_ACCURACY = Fraction(4, 5)
"""The annotator the batch must be large enough for: right four times in five."""
REFERENCE_POWER = 0.9
"""How likely that annotator must pass the evidence test."""
MAX_SEARCH = 100_000
"""Largest batch size searched for (a task with a very strict test needs a larger one)."""


def passes(n: int, right: int, classes: int, significance_z_ppb: int) -> bool:
    """Whether ``right`` right answers out of ``n`` pass the evidence test on ``classes``
    evenly spread classes."""
    share = [Fraction(1, classes)] * classes
    observed = Fraction(right, n)
    return evidence_ppb(n, observed, Fraction(1, classes), share, share) >= significance_z_ppb


def pass_probability(
    n: int,
    classes: int,
    significance_z_ppb: int,
    accuracy: Fraction = REFERENCE_ACCURACY,
) -> float:
    """The probability that an annotator of ``accuracy`` passes with ``n`` answers."""
    low, high = 0, n + 1  # the fewest right answers that pass (evidence grows with them)
    while low < high:
        middle = (low + high) // 2
        if passes(n, middle, classes, significance_z_ppb):
            high = middle
        else:
            low = middle + 1
    p = float(accuracy)
    return sum(comb(n, x) * p**x * (1 - p) ** (n - x) for x in range(low, n + 1))


def minimum_batch_size(
    classes: int,
    significance_z_ppb: int,
    *,
    accuracy: Fraction = REFERENCE_ACCURACY,
    power: float = REFERENCE_POWER,
) -> int:
    """The least ``n`` with which an annotator of ``accuracy`` passes the evidence test
    with probability at least ``power`` on a task of ``classes`` classes (1 when the task
    has no evidence test). The pass probability is not monotone in ``n`` (the binomial
    lattice), so this is the first ``n`` from which it stays above ``power`` for the next
    ten sizes as well."""
    if classes < 2:
        raise ValueError(f"a categorical task has at least 2 classes, not {classes}")
    if significance_z_ppb <= 0:
        return 1
    for n in range(1, MAX_SEARCH):
        if all(
            pass_probability(m, classes, significance_z_ppb, accuracy) >= power
            for m in range(n, n + 10)
        ):
            return n
    raise ValueError(f"no batch size up to {MAX_SEARCH} passes the evidence test")
