"""The bloc test's two sums over classes, bounded by the answers rather than by classes².

Both are the sums :mod:`node.consensus.collusion` defined first as dense loops (``bloc@1``);
these give the same bits with memory that does not grow with pairs x classes^2.

* :func:`null_agreement` is each annotator pair's chance of agreeing under their confusion
  rows, ``q = sum_t sum_c conf[a, t, c] conf[b, t, c] prior[t]``, added term by term in
  ``(t, c)`` order from zero. Written as a Python loop over the K² terms with one numpy
  call per term over all pairs, it cost 65,536 passes over the pairs at 256 classes
  (BENCHMARKS.md, "Many classes and many annotators"). Here the terms of a block of pairs
  are formed at once and added by ``np.add.accumulate``, which adds strictly left to
  right: the same additions in the same order, so the same bits.
* :func:`stratum_counts` gives, per annotator pair and consensus class ``t``, the pair's
  shared wrong answers expected from their own answer counts (``joint``) and their shared
  items (``in_stratum``). The dense form counts every (pair, t, answer) cell: pairs x K^2
  integers, 7.8 GB for 15,000 pairs at 256 classes. Where that table would be large the
  counts are kept for the cells that occur only. They are integer counts, so the sums are
  the same in any order or grouping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from node.consensus.answers import Answers, FloatArray, IntArray
from node.consensus.base import expected_cell_counts
from node.consensus.numerics import from_ppb, row_sum
from node.consensus.pairs import PairChunks

PAIR_TERM_CELLS = 1 << 21
"""Terms (pairs x K^2) formed at once by :func:`null_agreement`: 16 MB a block."""

DENSE_STRATUM_CELLS = 1 << 24
"""Up to this many (pair, t, answer) cells, :func:`stratum_counts` counts into a dense table
(128 MB an array); above it, only the cells that occur."""

__all__ = ["ProposalRows", "StratumCounts", "null_agreement", "stratum_counts"]


class ProposalRows:
    """The proposal's per-annotator confusion rows, ``[annotator, true, answered]``: the
    fit's expected counts smoothed toward the pooled matrix with ``smoothing``
    pseudo-answers, then pulled toward the annotator's own answers on revealed gold with
    as many (:mod:`node.consensus.collusion`).

    Built for the annotators asked for (:meth:`rows`), not for all of them: the dense
    table is annotators x classes² (1.6 GB at 256 classes and 2,975 annotators, and the
    expression form made several), and the proposal reads the rows of the pairs that can
    seed it or touch it only. The counts are kept per answered (annotator, class) cell,
    one K-vector each; the pooled matrix and the row totals are their exact integer sums;
    each row's arithmetic is elementwise, so a row is the same bits whichever others are
    built with it."""

    def __init__(
        self, answers: Answers, gold_codes: IntArray, probas_ppb: IntArray, smoothing: float
    ) -> None:
        k, w = answers.n_classes, answers.n_annotators
        cells = answers.key_cells[1]
        sums = expected_cell_counts(answers, probas_ppb)  # per answered cell, per true class
        pooled_ppb = np.zeros((k, k), dtype=np.int64)  # [answered, true], summed over cells
        np.add.at(pooled_ppb, cells % k, sums)
        row_ppb = np.zeros((w, k), dtype=np.int64)  # [annotator, true]
        np.add.at(row_ppb, cells // k, sums)
        pooled = np.add(from_ppb(np.ascontiguousarray(pooled_ppb.T)), 1.0)
        self._pooled = np.divide(pooled, row_sum(pooled)[:, None])
        self._row_totals = np.add(from_ppb(row_ppb), smoothing)
        on_gold = gold_codes[answers.item] >= 0
        gold_rows = answers.annotator[on_gold] * k + gold_codes[answers.item[on_gold]]
        self._own_cells, self._own = np.unique(
            gold_rows * k + answers.label[on_gold], return_counts=True
        )
        own_totals = np.bincount(gold_rows, minlength=w * k).reshape(w, k).astype(np.float64)
        self._own_totals = np.add(own_totals, smoothing)
        self._cells, self._sums, self._k, self._smoothing = cells, sums, k, smoothing

    def rows(self, annotators: IntArray) -> FloatArray:
        """The rows of ``annotators`` (sorted, unique codes), in that order."""
        k, s = self._k, self._smoothing
        n = len(annotators)
        position = np.full(len(self._row_totals), -1, dtype=np.int64)
        position[annotators] = np.arange(n)
        counts = np.zeros((n, k, k), dtype=np.int64)
        slot = position[self._cells // k]
        mine = slot >= 0
        counts[slot[mine], :, (self._cells % k)[mine]] = self._sums[mine]
        out: FloatArray = from_ppb(counts)
        np.add(out, np.multiply(self._pooled[None], s), out=out)
        np.divide(out, self._row_totals[annotators][:, :, None], out=out)
        np.multiply(out, s, out=out)
        # Own gold answers: few cells. Where an annotator has none, 0.0 + x is x exactly.
        own_slot = position[self._own_cells // (k * k)]
        keep = own_slot >= 0
        flat = out.reshape(-1)
        at = own_slot[keep] * (k * k) + self._own_cells[keep] % (k * k)
        flat[at] = np.add(self._own[keep].astype(np.float64), flat[at])
        np.divide(out, self._own_totals[annotators][:, :, None], out=out)
        return out


def null_agreement(
    confusion: FloatArray, prior: FloatArray, first: IntArray, second: IntArray
) -> FloatArray:
    """Per pair ``(first[p], second[p])``: ``sum_t sum_c confusion[first, t, c] *
    confusion[second, t, c] * prior[t]``, each term ``(x * y) * prior[t]``, added left to
    right in ``(t, c)`` order starting from ``0.0``."""
    w, k, _ = confusion.shape
    flat = confusion.reshape(w, k * k)
    weights = np.repeat(prior, k)  # prior[t] for every (t, c), t-major
    out = np.zeros(len(first), dtype=np.float64)
    step = max(1, PAIR_TERM_CELLS // (k * k))
    for start in range(0, len(first), step):
        stop = start + step
        terms = np.multiply(flat[first[start:stop]], flat[second[start:stop]])
        np.multiply(terms, weights, out=terms)
        # 0.0 + x == x exactly: the first term starts the sum as the loop's zero did.
        out[start:stop] = np.add.accumulate(terms, axis=1)[:, -1]
    return out


@dataclass(frozen=True, eq=False)
class StratumCounts:
    """Integer counts per annotator pair ``p`` (and consensus class ``t``)."""

    joint: IntArray
    """``[p, t]``: ``sum_{c != t} left[p, t, c] * right[p, t, c]``, where ``left[p, t, c]``
    counts the pair's shared items of consensus ``t`` on which its first annotator answered
    ``c`` (``right``: its second annotator)."""
    in_stratum: IntArray
    """``[p, t]``: the pair's shared items of consensus ``t``."""
    against: IntArray
    """``[p]``: shared items where both gave the same answer and it is not the consensus."""
    shared: IntArray
    """``[p]``: shared items."""


def stratum_counts(answers: Answers, pairs: PairChunks, consensus: IntArray) -> StratumCounts:
    """:class:`StratumCounts` of every pair of ``pairs`` against ``consensus`` (one class
    per item), accumulated group by group of items."""
    k, size = answers.n_classes, len(pairs)
    label = answers.label
    dense = size * k * k <= DENSE_STRATUM_CELLS
    left_flat = np.zeros(size * k * k if dense else 0, dtype=np.int64)
    right_flat = np.zeros_like(left_flat)
    left_cells, right_cells = _Cells(), _Cells()
    against = np.zeros(size, dtype=np.int64)
    shared = np.zeros(size, dtype=np.int64)
    for left, right, slot in pairs.chunks():
        truth = consensus[answers.item[left]]
        stratum = (slot * k + truth) * k
        if dense:
            left_flat += np.bincount(stratum + label[left], minlength=size * k * k)
            right_flat += np.bincount(stratum + label[right], minlength=size * k * k)
        else:
            left_cells.add(stratum + label[left])
            right_cells.add(stratum + label[right])
        same_wrong = (label[left] == label[right]) & (label[left] != truth)
        against += np.bincount(slot[same_wrong], minlength=size)
        shared += np.bincount(slot, minlength=size)
    if dense:
        left_counts = left_flat.reshape(size, k, k)
        right_counts = right_flat.reshape(size, k, k)
        wrong = ~np.eye(k, dtype=bool)
        joint = np.where(wrong[None], left_counts * right_counts, 0).sum(axis=2)
        in_stratum = left_counts.sum(axis=2)
    else:
        joint = left_cells.joint_with(right_cells, size, k)
        in_stratum = left_cells.row_totals(size, k)
    return StratumCounts(
        joint=joint.astype(np.int64),
        in_stratum=in_stratum.astype(np.int64),
        against=against,
        shared=shared,
    )


class _Cells:
    """Counts of the (pair, t, answer) cells that occur, as sorted unique cell numbers and
    their counts, merged group by group (memory: the distinct cells seen)."""

    def __init__(self) -> None:
        self.cells: IntArray = np.zeros(0, dtype=np.int64)
        self.counts: IntArray = np.zeros(0, dtype=np.int64)

    def add(self, cells: IntArray) -> None:
        new, new_counts = np.unique(cells, return_counts=True)
        merged, where = np.unique(np.concatenate((self.cells, new)), return_inverse=True)
        totals = np.zeros(len(merged), dtype=np.int64)
        np.add.at(totals, where.reshape(-1), np.concatenate((self.counts, new_counts)))
        self.cells, self.counts = merged, totals

    def joint_with(self, other: _Cells, size: int, k: int) -> IntArray:
        """``[p, t]``: sum over answers ``c != t`` of this count times ``other``'s."""
        both, mine, theirs = np.intersect1d(
            self.cells, other.cells, assume_unique=True, return_indices=True
        )
        off_diagonal = (both // k) % k != both % k
        product = self.counts[mine] * other.counts[theirs]
        out = np.zeros(size * k, dtype=np.int64)
        np.add.at(out, both[off_diagonal] // k, product[off_diagonal])
        return out.reshape(size, k)

    def row_totals(self, size: int, k: int) -> IntArray:
        """``[p, t]``: the sum of the counts over answers."""
        out = np.zeros(size * k, dtype=np.int64)
        np.add.at(out, self.cells // k, self.counts)
        return out.reshape(size, k)
