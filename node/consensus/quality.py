"""Per-annotator quality report and Krippendorff's alpha for a categorical task.

Everything here is computed from integers (answer counts and posteriors in parts per
billion) and published as integers or ppb fixed-point, so the report is part of the
byte-identical result every validator produces.

Per annotator:

* ``accuracy``: estimated probability that an answer is right, the mean posterior of the
  chosen class over the annotator's answers (gold items count with their gold truth);
* ``skill``: the same, chance-corrected (Cohen's kappa against the posterior): ``(p_o -
  p_e) / (1 - p_e)`` where ``p_e`` is the agreement expected from the annotator's own
  answer frequencies. An annotator who always answers the majority class of a skewed task
  has high accuracy but exactly zero skill, which is why rewards also floor on skill.
  (Chance from the task-wide class frequencies instead, Scott-style, was measured and
  rejected: constant answerers whose items happened to be skewed toward their class then
  passed the floor; see scripts/bench_incentives.py. The price: an annotator whose few
  items all share one class gets no skill credit for them.)
* ``evidence``: how sure it is that the annotator's answers are not independent of the
  truth: their kappa divided by its standard error under that independence, with both
  their answer frequencies ``a`` and the truth's class mass ``b`` on their items as
  observed (Fleiss, Cohen & Everitt 1969). Equivalently ``(p_o - p_e) sqrt(n) / sqrt(v)``
  with ``v = p_e + p_e^2 - sum_c a_c b_c (a_c + b_c)``: the number of standard errors by
  which the accuracy exceeds what answering at random with the same frequencies would
  get. Negative below chance; 0 when ``v`` is 0 (a constant answerer, or items that all
  share one class), as skill is then 0 too. Using the plain binomial ``p_e (1 - p_e)``
  instead was measured and rejected: on a skewed task it ignores that a skilled
  annotator's frequencies follow the truth's, and needs 10x the answers to show the same
  skill (scripts/bench_incentives.py). Exact: rationals, then an integer square root
  floored to parts per billion; rewards compare it with ``significance_z``;
* ``agreement``: share of answers equal to the consensus class;
* ``confusion``: counts of (consensus class, answered class) over the annotator's items,
  held as the cells that have any (:class:`ConfusionCells`): at most one per answer, where
  a dense table is annotators x classes squared (1.6 GB at 256 classes and 2,975
  annotators).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.base import vote_counts
from node.consensus.numerics import argmax_lowest, count_keys, exact_bincount
from node.protocol.rules import PPB

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ConfusionCells:
    """Every annotator's filled confusion cells: ``keys`` the distinct
    ``(annotator * k + consensus class) * k + answered class`` of the answers, ascending
    (so by annotator, then consensus class, then answered class), ``counts`` their answers."""

    k: int
    keys: IntArray
    counts: IntArray
    bounds: tuple[int, ...]
    """Annotator ``a``'s cells are ``keys[bounds[a]:bounds[a + 1]]``."""

    @classmethod
    def count(cls, keys: IntArray, n_annotators: int, k: int) -> ConfusionCells:
        """The cells of ``keys`` (one per answer). A bincount where the dense table is not
        much larger than the answers; sorting the answers' keys where it is."""
        size = n_annotators * k * k
        if size <= max(4 * len(keys), BINCOUNT_CELLS):
            dense = count_keys(keys, size)
            filled = np.flatnonzero(dense)
            distinct, counts = filled, dense[filled]
        else:
            distinct, counts = np.unique(keys, return_counts=True)
        bounds = np.searchsorted(distinct, np.arange(n_annotators + 1) * (k * k))
        return cls(
            k=k,
            keys=distinct.astype(np.int64, copy=False),
            counts=counts.astype(np.int64, copy=False),
            bounds=tuple(bounds.tolist()),
        )

    def cells(self, annotator: int) -> list[list[int]]:
        """``[consensus class, answered class, count]`` of each cell ``annotator`` filled, in
        ascending order: the ``confusion`` of its row in a ``result@4`` document."""
        lo, hi = self.bounds[annotator], self.bounds[annotator + 1]
        local = self.keys[lo:hi] - annotator * self.k * self.k
        cells: list[list[int]] = np.column_stack(
            (local // self.k, local % self.k, self.counts[lo:hi])
        ).tolist()
        return cells

    def dense(self, annotator: int) -> list[list[int]]:
        """``annotator``'s classes x classes table of counts: the ``confusion`` of its row in
        a ``result@1`` or ``result@2`` document."""
        lo, hi = self.bounds[annotator], self.bounds[annotator + 1]
        table = np.zeros(self.k * self.k, dtype=np.int64)
        table[self.keys[lo:hi] - annotator * self.k * self.k] = self.counts[lo:hi]
        return table.reshape(self.k, self.k).tolist()


BINCOUNT_CELLS = 1 << 20
"""Confusion tables up to this many cells are counted with one bincount."""


@dataclass(frozen=True, eq=False)
class AnnotatorQuality:
    """Quality figures per annotator, aligned with ``answers.annotators``."""

    labels: IntArray
    agreeing: IntArray
    accuracy_ppb: IntArray
    skill_ppb: IntArray
    evidence_ppb: IntArray
    confusion: ConfusionCells

    @property
    def agreement_ppb(self) -> IntArray:
        out: IntArray = (self.agreeing * PPB) // np.maximum(self.labels, 1)
        return out


def annotator_quality(answers: Answers, probas_ppb: IntArray) -> AnnotatorQuality:
    """Quality of every annotator under the posteriors ``probas_ppb`` (items x classes)."""
    k, w = answers.n_classes, answers.n_annotators
    labels = count_keys(answers.annotator, w)
    consensus = argmax_lowest(probas_ppb)
    chosen_ppb = probas_ppb[answers.item, answers.label]
    right_ppb = exact_bincount(answers.annotator, chosen_ppb.astype(np.float64), w)
    agreeing = count_keys(answers.annotator[consensus[answers.item] == answers.label], w)
    confusion = ConfusionCells.count(
        (answers.annotator * k + consensus[answers.item]) * k + answers.label, w, k
    )
    # Expected agreement: sum_c (answers of class c) * (posterior mass of class c on the
    # annotator's items), exact integers.
    class_mass = np.zeros((w, k), dtype=np.int64)
    columns = np.ascontiguousarray(probas_ppb.T, dtype=np.float64)
    for true_class in range(k):
        class_mass[:, true_class] = exact_bincount(
            answers.annotator, columns[true_class].take(answers.item), w
        )
    answered = count_keys(answers.key, w * k).reshape(w, k)
    accuracy = np.zeros(w, dtype=np.int64)
    skill = np.zeros(w, dtype=np.int64)
    evidence = np.zeros(w, dtype=np.int64)
    # Only the classes an annotator gave: every sum below is over products with its answer
    # count of the class, so a class it never gave adds an exact zero. That keeps the
    # rational arithmetic to one term per answered (annotator, class) cell, at most one per
    # answer, where a loop over every class cost annotators x classes Fractions (seconds
    # at 256 classes and a few thousand annotators).
    given_by, given_class = np.nonzero(answered)  # by annotator, then class
    bounds = np.searchsorted(given_by, np.arange(w + 1)).tolist()
    given = answered[given_by, given_class].tolist()
    given_mass = class_mass[given_by, given_class].tolist()
    rights = right_ppb.tolist()
    for a in range(w):  # per annotator (not per answer): exact integer arithmetic
        counts, masses = given[bounds[a] : bounds[a + 1]], given_mass[bounds[a] : bounds[a + 1]]
        accuracy[a], skill[a], evidence[a] = annotator_figures(
            int(labels[a]), int(rights[a]), counts, masses
        )
    return AnnotatorQuality(
        labels=labels,
        agreeing=agreeing,
        accuracy_ppb=accuracy,
        skill_ppb=skill,
        evidence_ppb=evidence,
        confusion=confusion,
    )


def evidence_ppb(
    n: int,
    observed: Fraction,
    expected: Fraction,
    frequency: list[Fraction],
    mass: list[Fraction],
) -> int:
    """Kappa over its null standard error (Fleiss, Cohen & Everitt), for ``n`` answers with
    class frequencies ``frequency`` on items whose truth has class shares ``mass``: in parts
    per billion, the magnitude floored (an integer square root of a rational, so exact)."""
    variance = (
        expected
        + expected * expected
        - sum((f * m * (f + m) for f, m in zip(frequency, mass, strict=True)), Fraction(0))
    )
    if variance <= 0:
        return 0
    excess = observed - expected
    squared = n * excess * excess / variance * (PPB * PPB)
    magnitude = isqrt(squared.numerator // squared.denominator)
    return magnitude if excess >= 0 else -magnitude


def annotator_figures(
    n: int, right_ppb: int, counts: list[int], masses: list[int]
) -> tuple[int, int, int]:
    """Accuracy, skill and evidence (parts per billion) of an annotator's ``n`` answers,
    from the integers of :func:`evidence_from_counts`: observed = right / (n PPB) and
    expected = E / (n^2 PPB) with E = sum c m, kept as numerators. Accuracy is observed and
    skill ``(observed - expected) / (1 - expected)`` (0 where expected is 1), each rounded
    as ``round`` rounds the exact fraction."""
    agree = sum(c * m for c, m in zip(counts, masses, strict=True))
    accuracy = round_half_even(right_ppb, n)
    chance_gap = n * n * PPB - agree  # (1 - expected) n^2 PPB
    skill = round_half_even((right_ppb * n - agree) * PPB, chance_gap) if chance_gap > 0 else 0
    return accuracy, skill, evidence_from_counts(n, right_ppb, counts, masses)


def evidence_from_counts(n: int, right_ppb: int, counts: list[int], masses: list[int]) -> int:
    """:func:`evidence_ppb` of an annotator's ``n`` answers from integers: ``right_ppb`` the
    posterior mass of its answers (observed = right / (n PPB)), and per class it gave, its
    answers ``counts[i]`` and the posterior mass ``masses[i]`` (in PPB) of that class on its
    items (expected = sum c m / (n^2 PPB), frequency c / n, mass m / (n PPB)).

    The same exact value, over the common denominator: variance = (E n^2 PPB + E^2 - S n) /
    (n^4 PPB^2) with E = sum c m and S = sum c m (c PPB + m); excess = (right n - E) /
    (n^2 PPB); so squared = n X^2 PPB^2 / V for the numerators X and V. One integer
    division where the rational form built some thirty Fractions an annotator (each a gcd):
    five seconds for 100,000 annotators."""
    agree = sum(c * m for c, m in zip(counts, masses, strict=True))
    spread = sum(c * m * (c * PPB + m) for c, m in zip(counts, masses, strict=True))
    variance = agree * n * n * PPB + agree * agree - spread * n
    if variance <= 0:
        return 0
    excess = right_ppb * n - agree
    magnitude = isqrt(n * excess * excess * PPB * PPB // variance)
    return magnitude if excess >= 0 else -magnitude


def round_half_even(numerator: int, denominator: int) -> int:
    """``round(Fraction(numerator, denominator))`` for a positive denominator: the nearest
    integer, halves to the even one."""
    quotient, remainder = divmod(numerator, denominator)  # remainder in [0, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def krippendorff_alpha_nominal(answers: Answers) -> Fraction | None:
    """Krippendorff's alpha (nominal metric) of the answers, as an exact fraction.

    Items with fewer than two answers are not pairable and are left out, as the
    definition says. Returns ``None`` when there is no variation to measure (fewer than
    two pairable values, or all values equal), where alpha is undefined.
    """
    return alpha_from_counts(vote_counts(answers).astype(np.int64))


def alpha_from_counts(counts: IntArray) -> Fraction | None:
    """Nominal alpha from a units x values matrix of answer counts (exact).

    With ``n_uc`` answers of value ``c`` in unit ``u`` and ``m_u = sum_c n_uc``, the
    observed disagreement is ``sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1)`` and the expected
    one ``(n^2 - sum_c n_c^2) / (n - 1)`` over the ``n`` pairable values.
    """
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    counts, per_unit = counts[pairable], per_unit[pairable]
    if len(per_unit) == 0:
        return None
    squares = (counts * counts).sum(axis=1)
    disagreement_terms = per_unit * per_unit - squares
    observed = Fraction(0)
    for m in np.unique(per_unit):
        total = int(disagreement_terms[per_unit == m].sum())
        observed += Fraction(total, int(m) - 1)
    marginals = counts.sum(axis=0)
    n = int(marginals.sum())
    spread = n * n - int((marginals * marginals).sum())
    if n < 2 or spread == 0:
        return None
    return 1 - (n - 1) * observed / spread


def krippendorff_alpha_interval(unit: IntArray, values: list[int]) -> Fraction | None:
    """Krippendorff's alpha (interval metric) of integer values grouped by ``unit``, exact.

    Values are integers (numeric answers in whole 10^-6 units) so every sum is an exact
    Python integer. Within a unit of ``m`` values the sum of squared differences over
    ordered pairs is ``2 (m sum v^2 - (sum v)^2)``; alpha is ``1 - (n - 1) sum_u
    [(m_u S2_u - S1_u^2) / (m_u - 1)] / (n S2 - S1^2)`` over the ``n`` pairable values.
    ``None`` when undefined (fewer than two pairable values, or no variation at all).
    """
    if len(values) == 0:
        return None
    order = np.argsort(unit, kind="stable")
    grouped = np.array(values, dtype=object)[order]  # Python ints: exact, any size
    starts = np.flatnonzero(np.r_[True, np.diff(unit[order]) != 0])
    m = np.diff(np.r_[starts, len(grouped)])
    s1 = np.add.reduceat(grouped, starts)
    s2 = np.add.reduceat(grouped * grouped, starts)
    observed = Fraction(0)
    n = total = total_squares = 0
    for size, one, two in zip(m.tolist(), s1.tolist(), s2.tolist(), strict=True):
        if size >= 2:  # one term per item, not per answer
            observed += Fraction(size * two - one * one, size - 1)
            n, total, total_squares = n + size, total + one, total_squares + two
    spread = n * total_squares - total * total
    if n < 2 or spread == 0:
        return None
    return 1 - (n - 1) * observed / spread


def fraction_ppb(value: Fraction) -> int:
    """A fraction in parts per billion, rounded half to even (exact)."""
    return round(value * PPB)
