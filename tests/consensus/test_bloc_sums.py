"""The bloc test's sums over classes: the bits of the loops they replaced, in blocks and
in sparse form (node/consensus/bloc_sums.py)."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus import bloc_sums
from node.consensus.answers import Answers
from node.consensus.bloc_sums import null_agreement, stratum_counts
from node.consensus.pairs import pair_chunks


def _loop_agreement(
    confusion: np.ndarray, prior: np.ndarray, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """``bloc@1``'s definition as it was first written: one numpy call per (t, c)."""
    k = confusion.shape[1]
    q = np.zeros(len(first))
    for t in range(k):
        for c in range(k):
            term = np.multiply(confusion[first, t, c], confusion[second, t, c])
            q = np.add(q, np.multiply(term, prior[t]))
    return q


@pytest.mark.parametrize("k", [1, 2, 3, 7, 16])
def test_null_agreement_has_the_loops_bits_whole_and_in_blocks(
    k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(k)
    w, pairs = 30, 200
    confusion = rng.dirichlet(np.ones(k), size=(w, k))
    prior = rng.dirichlet(np.ones(k))
    first = rng.integers(0, w, pairs)
    second = rng.integers(0, w, pairs)
    expected = _loop_agreement(confusion, prior, first, second)
    assert null_agreement(confusion, prior, first, second).tobytes() == expected.tobytes()
    monkeypatch.setattr(bloc_sums, "PAIR_TERM_CELLS", 1)  # one pair a block
    assert null_agreement(confusion, prior, first, second).tobytes() == expected.tobytes()
    empty = np.zeros(0, dtype=np.int64)
    assert len(null_agreement(confusion, prior, empty, empty)) == 0


def _table(seed: int, k: int) -> tuple[Answers, np.ndarray]:
    rng = np.random.default_rng(seed)
    items, w = 80, 12
    rows = []
    for i in range(items):
        for a in rng.choice(w, 4, replace=False):
            rows.append((f"i{i:03d}", f"w{a:02d}", f"c{int(rng.integers(0, k))}"))
    answers = Answers.from_rows(rows)
    consensus = rng.integers(0, answers.n_classes, answers.n_items)
    return answers, consensus


def _brute_force(answers: Answers, consensus: np.ndarray) -> dict[str, np.ndarray]:
    """Every statistic counted pair by pair and item by item, from the rows."""
    k, w = answers.n_classes, answers.n_annotators
    by_item: dict[int, dict[int, int]] = {}
    for item, annotator, label in zip(
        answers.item.tolist(), answers.annotator.tolist(), answers.label.tolist(), strict=True
    ):
        by_item.setdefault(item, {})[annotator] = label
    left = np.zeros((w, w, k, k), dtype=np.int64)
    right = np.zeros((w, w, k, k), dtype=np.int64)
    against = np.zeros((w, w), dtype=np.int64)
    for item, labels in by_item.items():
        t = int(consensus[item])
        for a, la in labels.items():
            for b, lb in labels.items():
                if a < b:
                    left[a, b, t, la] += 1
                    right[a, b, t, lb] += 1
                    against[a, b] += int(la == lb and la != t)
    joint = np.einsum("abtc,abtc->abt", left, right) - np.einsum("abtt,abtt->abt", left, right)
    return {
        "joint": joint,
        "in_stratum": left.sum(axis=3),
        "against": against,
        "shared": left.sum(axis=(2, 3)),
    }


@pytest.mark.parametrize("dense_cells", [bloc_sums.DENSE_STRATUM_CELLS, 0])
def test_stratum_counts_are_the_pairs_counts_dense_or_sparse(
    dense_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense table and the cells that occur (forced with a bound of 0, and merged over
    groups of one item each) give the counts a pair-by-pair count gives."""
    monkeypatch.setattr(bloc_sums, "DENSE_STRATUM_CELLS", dense_cells)
    monkeypatch.setattr("node.consensus.pairs.PAIR_CHUNK", 1)
    for seed, k in ((1, 3), (2, 5)):
        answers, consensus = _table(seed, k)
        pairs = pair_chunks(answers)
        counts = stratum_counts(answers, pairs, consensus)
        truth = _brute_force(answers, consensus)
        first, second = pairs.first, pairs.second
        assert np.array_equal(counts.joint, truth["joint"][first, second])
        assert np.array_equal(counts.in_stratum, truth["in_stratum"][first, second])
        assert np.array_equal(counts.against, truth["against"][first, second])
        assert np.array_equal(counts.shared, truth["shared"][first, second])
        assert counts.joint.dtype == counts.in_stratum.dtype == np.int64
