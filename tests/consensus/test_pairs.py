"""Pair counts: checked by hand on a tiny task and against a brute-force count."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.consensus import numerics, pairs
from node.consensus.answers import Answers
from node.consensus.pairs import pair_counts
from node.protocol.errors import InvalidAnswersError
from tests.consensus.helpers import answers, obvious_rows


def as_dict(
    data: Answers, reference: list[int], counted: list[bool] | None = None
) -> dict[tuple[str, str], tuple[int, int, int]]:
    counts = pair_counts(data, np.array(reference), None if counted is None else np.array(counted))
    return {
        (data.annotators[a], data.annotators[b]): (int(n), int(m), int(j))
        for a, b, n, m, j in zip(
            counts.first,
            counts.second,
            counts.shared,
            counts.agreed,
            counts.agreed_against,
            strict=True,
        )
    }


def test_pair_counts_on_the_obvious_task() -> None:
    data = answers(obvious_rows())  # truth a, b, b; good1 and good2 right, lazy always "a"
    assert data.classes == ("a", "b")
    # Against the truth: the good pair agrees on all three, never against it; each good
    # annotator agrees with lazy only on i1, where "a" is right.
    assert as_dict(data, [0, 1, 1]) == {
        ("good1", "good2"): (3, 3, 0),
        ("good1", "lazy"): (3, 1, 0),
        ("good2", "lazy"): (3, 1, 0),
    }
    # Against a reference that says "b" everywhere, the shared "a" on i1 is against it.
    assert as_dict(data, [1, 1, 1]) == {
        ("good1", "good2"): (3, 3, 1),
        ("good1", "lazy"): (3, 1, 1),
        ("good2", "lazy"): (3, 1, 1),
    }


def test_pair_counts_skip_items_not_counted() -> None:
    data = answers(obvious_rows())
    assert as_dict(data, [0, 1, 1], counted=[False, True, True]) == {
        ("good1", "good2"): (2, 2, 0),
        ("good1", "lazy"): (2, 0, 0),
        ("good2", "lazy"): (2, 0, 0),
    }
    assert as_dict(data, [0, 1, 1], counted=[False, False, False]) == {}


def test_pair_counts_without_shared_items_are_empty() -> None:
    data = answers([("i1", "x", "a"), ("i2", "y", "a")])
    assert len(pair_counts(data, np.array([0, 0]))) == 0


def test_pair_counts_reject_a_reference_of_the_wrong_length() -> None:
    data = answers(obvious_rows())
    with pytest.raises(InvalidAnswersError, match="reference has shape"):
        pair_counts(data, np.array([0, 1]))


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 5), st.integers(0, 6)), st.integers(0, 2), min_size=1, max_size=42
    ),
    st.lists(st.integers(-1, 2), min_size=6, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_pair_counts_match_a_brute_force_count(
    given_answers: dict[tuple[int, int], int], reference: list[int], counted: list[bool]
) -> None:
    data = Answers.from_rows(
        [(f"i{i}", f"w{w}", "abc"[c]) for (i, w), c in given_answers.items()],
        classes=["a", "b", "c"],
    )
    truth = {f"i{i}": reference[i] for i in range(6)}
    keep = {f"i{i}": counted[i] for i in range(6)}
    expected: dict[tuple[str, str], list[int]] = {}
    labels = {
        (data.items[i], data.annotators[a]): int(c)
        for i, a, c in zip(data.item, data.annotator, data.label, strict=True)
    }
    for item in data.items:
        if not keep[item]:
            continue
        who = sorted(a for (i, a) in labels if i == item)
        for a, b in itertools.combinations(who, 2):
            same = labels[item, a] == labels[item, b]
            cell = expected.setdefault((a, b), [0, 0, 0])
            cell[0] += 1
            cell[1] += same
            cell[2] += same and labels[item, a] != truth[item]
    reference_codes = [truth[i] for i in data.items]
    counted_codes = [keep[i] for i in data.items]
    want = {pair: tuple(cell) for pair, cell in expected.items()}
    assert as_dict(data, reference_codes, counted_codes) == want  # one table of every pair
    with mock.patch.object(pairs, "native_kernels", lambda: None):  # ... counted by numpy
        assert as_dict(data, reference_codes, counted_codes) == want
    with mock.patch.object(pairs, "DENSE_PAIR_CELLS", 0):  # pairs numbered by sorting
        assert as_dict(data, reference_codes, counted_codes) == want


def test_pair_numbering_by_table_and_by_sort_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    rows = {(int(i), int(w)): "abc"[int(c)] for i, w, c in rng.integers(0, [40, 30, 3], (400, 3))}
    data = Answers.from_rows([(f"i{i:02d}", f"w{w:02d}", c) for (i, w), c in rows.items()])
    by_table = pairs.answer_pairs(data)
    monkeypatch.setattr(pairs, "DENSE_PAIR_CELLS", 0)
    by_sort = pairs.answer_pairs(data)
    assert len(by_table) > 50
    for field in ("first", "second", "slot"):
        assert np.array_equal(getattr(by_table, field), getattr(by_sort, field))


def test_groups_of_items_do_not_change_the_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pairs are produced in groups of whole items (memory bounded by the group, not
    the task); the counts are integer sums, the same however the items are grouped."""
    rng = np.random.default_rng(9)
    rows = {(int(i), int(w)): "abc"[int(c)] for i, w, c in rng.integers(0, [60, 25, 3], (900, 3))}
    data = Answers.from_rows([(f"i{i:02d}", f"w{w:02d}", c) for (i, w), c in rows.items()])
    reference = rng.integers(-1, 3, data.n_items)
    counted = rng.random(data.n_items) < 0.8
    whole = pair_counts(data, reference, counted)  # the native loop where it is built
    monkeypatch.setattr(pairs, "PAIR_CHUNK", 7)
    assert len(pairs.pair_chunks(data, counted).bounds) > 20
    monkeypatch.setattr(pairs, "native_kernels", lambda: None)
    grouped = pair_counts(data, reference, counted)
    monkeypatch.setattr(pairs, "DENSE_PAIR_CELLS", 0)
    sorted_groups = pair_counts(data, reference, counted)
    for field in ("first", "second", "shared", "agreed", "agreed_against"):
        assert np.array_equal(getattr(whole, field), getattr(grouped, field))
        assert np.array_equal(getattr(whole, field), getattr(sorted_groups, field))
    assert int(whole.shared.sum()) == len(pairs.answer_pairs(data, counted).left)


def test_the_native_pair_counts_refuse_what_they_cannot_count() -> None:
    """Rows out of item order are left to numpy (``False``, and pair_counts takes its own
    way); an annotator code out of range or tables of the wrong size are errors."""
    loops = numerics.native_kernels()
    assert loops is not None, "the native loops were not built, or differ from numpy"
    item, annotator, label = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]), np.zeros(4, int)
    flags = np.ones(4, dtype=np.uint8)
    tables = np.zeros((3, 4), dtype=np.int64)
    assert loops.pair_counts(item, annotator, label, flags, *tables, 2) is True
    assert tables.tolist() == [[0, 1, 1, 0]] * 2 + [[0] * 4]
    backwards = np.array([1, 1, 0, 0])
    assert loops.pair_counts(backwards, annotator, label, flags, *tables, 2) is False
    with pytest.raises(IndexError, match="annotator"):
        loops.pair_counts(item, np.array([0, 2, 1, 0]), label, flags, *tables, 2)
    with pytest.raises(ValueError, match="inconsistent"):
        loops.pair_counts(item, annotator, label, flags, *tables, 3)
    with pytest.raises(ValueError, match="inconsistent"):
        loops.pair_counts(item, annotator, label, flags[:3], *tables, 2)
    data = Answers.from_codes(
        item, annotator, label, items=["a", "b"], annotators=["x", "y"], classes=["c", "d"]
    )
    counts = pair_counts(data, np.array([1, -1]))
    assert (counts.shared.tolist(), counts.agreed_against.tolist()) == ([2], [2])  # x, y twice
