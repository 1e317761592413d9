"""Annotator quality figures and Krippendorff's alpha."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.consensus.answers import Answers
from node.consensus.majority_vote import MajorityVote
from node.consensus.quality import (
    annotator_quality,
    evidence_from_counts,
    evidence_ppb,
    fraction_ppb,
    krippendorff_alpha_interval,
    krippendorff_alpha_nominal,
    round_half_even,
)
from node.protocol.rules import PPB
from tests.consensus.helpers import answers, obvious_rows


def test_quality_on_the_obvious_task() -> None:
    data = answers(obvious_rows())
    gold = {"i1": "a", "i2": "b", "i3": "b"}
    probas = MajorityVote().fit(data, gold).probas_ppb_  # certainty: every item is gold
    q = annotator_quality(data, probas)
    good1, good2, lazy = range(3)
    assert data.annotators == ("good1", "good2", "lazy")
    assert q.labels.tolist() == [3, 3, 3]
    assert q.accuracy_ppb.tolist() == [PPB, PPB, PPB // 3]
    assert q.agreement_ppb.tolist() == [PPB, PPB, 333_333_333]
    assert q.skill_ppb[good1] == q.skill_ppb[good2] == PPB
    assert q.skill_ppb[lazy] == 0  # always the same answer: no skill, whatever the accuracy
    assert q.confusion.dense(lazy) == [[1, 0], [2, 0]]
    assert q.confusion.cells(lazy) == [[0, 0, 1], [1, 0, 2]]
    assert q.confusion.dense(good1) == [[1, 0], [0, 2]]
    assert q.confusion.cells(good1) == [[0, 0, 1], [1, 1, 2]]


def krippendorff_reference(units: list[list[str]]) -> float:
    """Textbook computation by enumerating ordered pairs within each unit."""
    values = sorted({v for unit in units for v in unit})
    o = {(c, k): Fraction(0) for c in values for k in values}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for a, b in itertools.permutations(range(m), 2):
            o[unit[a], unit[b]] += Fraction(1, m - 1)
    n_c = {c: sum(o[c, k] for k in values) for c in values}
    n = sum(n_c.values())
    observed = sum(o[c, k] for c in values for k in values if c != k)
    expected = sum(n_c[c] * n_c[k] for c in values for k in values if c != k) / (n - 1)
    return float(1 - observed / expected)


TEXTBOOK = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_krippendorff_textbook_example() -> None:
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability': 4 coders, 12 units,
    nominal alpha = 0.743."""
    rows = [
        (f"u{u:02d}", coder, str(v))
        for coder, values in TEXTBOOK.items()
        for u, v in enumerate(values)
        if v is not None
    ]
    alpha = krippendorff_alpha_nominal(Answers.from_rows(rows))
    assert alpha is not None
    assert round(float(alpha), 3) == 0.743
    assert fraction_ppb(alpha) == round(float(alpha) * PPB)


def test_krippendorff_undefined_and_perfect() -> None:
    assert krippendorff_alpha_nominal(answers([("i", "w1", "x"), ("j", "w1", "y")])) is None
    same = answers([("i", "w1", "x"), ("i", "w2", "x"), ("j", "w1", "x"), ("j", "w2", "x")])
    assert krippendorff_alpha_nominal(same) is None
    perfect = answers([("i", "w1", "x"), ("i", "w2", "x"), ("j", "w1", "y"), ("j", "w2", "y")])
    assert krippendorff_alpha_nominal(perfect) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=5), min_size=2, max_size=12))
def test_krippendorff_matches_pair_enumeration(units: list[list[str]]) -> None:
    rows = [(f"u{u:02d}", f"c{c}", v) for u, unit in enumerate(units) for c, v in enumerate(unit)]
    pairable = [unit for unit in units if len(unit) >= 2]
    alpha = krippendorff_alpha_nominal(Answers.from_rows(rows))
    flat = [v for unit in pairable for v in unit]
    if len(set(flat)) < 2:
        assert alpha is None
    else:
        assert alpha is not None
        assert float(alpha) == pytest.approx(krippendorff_reference(pairable), abs=1e-12)


def test_krippendorff_interval_textbook_example() -> None:
    """The same reliability data with the interval metric: alpha = 0.849 (same source)."""
    pairs = [(u, v) for values in TEXTBOOK.values() for u, v in enumerate(values) if v]
    unit = np.array([u for u, _ in pairs], dtype=np.int64)
    alpha = krippendorff_alpha_interval(unit, [v for _, v in pairs])
    assert alpha is not None and round(float(alpha), 3) == 0.849


def interval_reference(units: list[list[int]]) -> float:
    """Definition by enumeration: within-unit ordered pairs against all pairable pairs."""
    pairable = [unit for unit in units if len(unit) >= 2]
    n = sum(len(unit) for unit in pairable)
    observed = sum(
        Fraction((a - b) ** 2, len(unit) - 1)
        for unit in pairable
        for a, b in itertools.permutations(unit, 2)
    )
    flat = [v for unit in pairable for v in unit]
    expected = Fraction(sum((a - b) ** 2 for a, b in itertools.permutations(flat, 2)), n - 1)
    return float(1 - observed / expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=5), min_size=1, max_size=10
    )
)
def test_krippendorff_interval_matches_pair_enumeration(units: list[list[int]]) -> None:
    unit = np.array([u for u, values in enumerate(units) for _ in values], dtype=np.int64)
    alpha = krippendorff_alpha_interval(unit, [v for values in units for v in values])
    flat = [v for values in units if len(values) >= 2 for v in values]
    if len(set(flat)) < 2:
        assert alpha is None
    else:
        assert alpha is not None
        assert float(alpha) == pytest.approx(interval_reference(units), rel=1e-9, abs=1e-9)


def test_quality_arrays_are_aligned() -> None:
    data = answers(obvious_rows())
    q = annotator_quality(data, MajorityVote().fit(data).probas_ppb_)
    assert len(q.confusion.bounds) == 3 + 1 and q.confusion.k == 2
    for a in range(3):
        assert np.array(q.confusion.dense(a)).shape == (2, 2)
        assert sum(count for _, _, count in q.confusion.cells(a)) == q.labels[a]


@settings(max_examples=300, deadline=None)
@given(
    numerator=st.integers(min_value=-(10**30), max_value=10**30),
    denominator=st.integers(min_value=1, max_value=10**20),
)
def test_round_half_even_is_fractions_round(numerator: int, denominator: int) -> None:
    assert round_half_even(numerator, denominator) == round(Fraction(numerator, denominator))
    for half in (-5, -3, -1, 1, 3, 5):  # exact halves, both signs
        assert round_half_even(half, 2) == round(Fraction(half, 2))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_evidence_in_integers_is_the_rational_forms(data: st.DataObject) -> None:
    """``annotator_quality`` computes the evidence from integer numerators; it must be the
    value the rational form (:func:`evidence_ppb`, used by the other kinds) gives, for
    answers with any masses: skilled, chance, worse than chance, degenerate."""
    counts = data.draw(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6))
    n = sum(counts)
    masses = [data.draw(st.integers(min_value=0, max_value=n * PPB)) for _ in counts]
    right = data.draw(st.integers(min_value=0, max_value=n * PPB))
    observed = Fraction(right, n * PPB)
    expected = Fraction(sum(c * m for c, m in zip(counts, masses, strict=True)), n * n * PPB)
    frequency = [Fraction(c, n) for c in counts]
    mass = [Fraction(m, n * PPB) for m in masses]
    assert evidence_from_counts(n, right, counts, masses) == evidence_ppb(
        n, observed, expected, frequency, mass
    )
