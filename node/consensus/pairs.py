"""How often each pair of annotators meets on an item, agrees, and agrees against a reference.

Estimators model annotators as independent given the truth; a bloc that coordinates its
answers breaks exactly that, and the only place it shows is in *pairs*: two colluders
agree with each other far more often than their accuracies allow, and mostly on answers
the rest of the crowd does not give. :func:`pair_counts` gives those counts, in integers,
for every pair of annotators that shares at least one counted item.

Cost: rows are in canonical (item, annotator) order, so an item's answers are contiguous
and the pairs on it are the rows ``r`` and ``r + j``. One vectorized pass per ``j`` (as
many passes as the busiest item has answers), each over only the rows that still have a
partner ``j`` rows on: the work is one step per answer pair. No loop over answers.

Memory: the answer pairs are produced in groups of whole items of about
:data:`PAIR_CHUNK` pairs and answers (:class:`PairChunks`), and everything the bloc test
needs from them is an integer sum per annotator pair, accumulated group by group; so the
memory is one entry per distinct annotator pair plus one group's answer pairs, not one
entry per answer pair of the whole task (10M answers at 10 per item are 45M answer pairs).
Integer sums do not depend on the grouping, so neither do the results.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers, IntArray
from node.consensus.numerics import native_kernels
from node.protocol.errors import InvalidAnswersError

BoolArray = npt.NDArray[np.bool_]

DENSE_PAIR_CELLS = 1 << 24
"""Up to this many possible annotator pairs (4,096 annotators), pairs are numbered through
a table of all of them (128 MB at most) rather than by sorting the answer pairs."""

PAIR_CHUNK = 1 << 21
"""Answer pairs and answers per group of items (an item with more forms a group of its own)."""

__all__ = ["AnswerPairs", "PairChunks", "PairCounts", "answer_pairs", "pair_chunks", "pair_counts"]


@dataclass(frozen=True, eq=False)
class PairCounts:
    """Counts per annotator pair ``(first[p], second[p])``, ``first < second``, pairs in
    ascending ``(first, second)`` order; only pairs sharing a counted item appear."""

    first: IntArray
    second: IntArray
    shared: IntArray
    """Counted items both answered."""
    agreed: IntArray
    """Of those, items where both gave the same class."""
    agreed_against: IntArray
    """Of those, items where the shared class is not the item's reference class."""

    def __len__(self) -> int:
        return len(self.first)


@dataclass(frozen=True, eq=False)
class AnswerPairs:
    """Every two answers to one counted item, and the annotator pair each belongs to."""

    left: IntArray
    right: IntArray
    """Row indices of the two answers; the left annotator's code is below the right one's."""
    slot: IntArray
    """Per answer pair, its annotator pair's index into ``first`` and ``second``."""
    first: IntArray
    second: IntArray
    """The distinct annotator pairs, ascending by ``(first, second)``."""

    def __len__(self) -> int:
        return len(self.first)

    def per_pair(self, where: BoolArray | None = None) -> IntArray:
        """Answer pairs per annotator pair (only those marked in ``where``, if given)."""
        slots = self.slot if where is None else self.slot[where]
        out: IntArray = np.bincount(slots, minlength=len(self)).astype(np.int64)
        return out


@dataclass(frozen=True, eq=False)
class PairChunks:
    """The answer pairs of the counted items, group by group, numbered by annotator pair.

    ``first``/``second`` are the distinct annotator pairs, ascending; :meth:`chunks`
    yields ``(left, right, slot)`` per group of whole items, as :class:`AnswerPairs` has
    them for the whole task."""

    answers: Answers
    counted_rows: BoolArray
    bounds: tuple[tuple[int, int], ...]
    """Row ranges of the groups of items."""
    first: IntArray
    second: IntArray
    _keys: IntArray
    _rank: IntArray | None
    """Dense numbering table (few annotators), else ``None`` (search in ``_keys``)."""

    def __len__(self) -> int:
        return len(self.first)

    def chunks(self) -> Iterator[tuple[IntArray, IntArray, IntArray]]:
        for start, stop in self.bounds:
            left, right = _expand(self.answers, self.counted_rows, start, stop)
            keys = _pair_keys(self.answers, left, right)
            slot = self._rank[keys] if self._rank is not None else _search(self._keys, keys)
            yield left, right, slot

    def per_pair(self, where: Callable[[IntArray, IntArray], BoolArray] | None = None) -> IntArray:
        """Answer pairs per annotator pair (only those ``where(left, right)`` marks)."""
        return self.per_pair_each(where)[0]

    def per_pair_each(
        self, *wheres: Callable[[IntArray, IntArray], BoolArray] | None
    ) -> list[IntArray]:
        """:meth:`per_pair` for each of ``wheres`` (``None``: every pair) in one pass: each
        group of items is expanded into its pairs once, not once per count (the expansion
        is most of the bloc test's time on a large task). Integer counts, so the same
        integers as separate passes."""
        outs = [np.zeros(len(self), dtype=np.int64) for _ in wheres]
        for left, right, slot in self.chunks():
            for out, where in zip(outs, wheres, strict=True):
                slots = slot if where is None else slot[where(left, right)]
                out += np.bincount(slots, minlength=len(self)).astype(np.int64)
        return outs


def pair_chunks(answers: Answers, counted: BoolArray | None = None) -> PairChunks:
    """The answer pairs on the items where ``counted`` is true (default: all), in groups."""
    counted_rows = (
        np.ones(len(answers), dtype=bool)
        if counted is None
        else np.asarray(counted, dtype=bool)[answers.item]
    )
    bounds = _groups(answers, counted_rows)
    width = int(answers.n_annotators)
    dense = width * width <= DENSE_PAIR_CELLS
    present = np.zeros(width * width if dense else 0, dtype=bool)
    parts: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for start, stop in bounds:
        keys = _pair_keys(answers, *_expand(answers, counted_rows, start, stop))
        if dense:
            present[keys] = True
        else:
            parts.append(np.unique(keys))
    rank: IntArray | None = None
    if dense:
        unique = np.flatnonzero(present).astype(np.int64)
        rank = np.cumsum(present, dtype=np.int64) - 1
    else:
        unique = np.unique(np.concatenate(parts)).astype(np.int64)
    w = np.int64(width)
    return PairChunks(answers, counted_rows, bounds, unique // w, unique % w, unique, rank)


def answer_pairs(answers: Answers, counted: BoolArray | None = None) -> AnswerPairs:
    """Every two answers to one item where ``counted`` is true (default: all items), all
    at once (one entry per answer pair: :func:`pair_chunks` for large tasks)."""
    chunked = pair_chunks(answers, counted)
    lefts, rights, slots = [], [], []
    for left, right, slot in chunked.chunks():
        lefts.append(left)
        rights.append(right)
        slots.append(slot)
    empty = np.zeros(0, dtype=np.int64)
    return AnswerPairs(
        np.concatenate(lefts) if lefts else empty,
        np.concatenate(rights) if rights else empty,
        np.concatenate(slots) if slots else empty,
        chunked.first,
        chunked.second,
    )


def _groups(answers: Answers, counted_rows: BoolArray) -> tuple[tuple[int, int], ...]:
    """Row ranges of consecutive whole items with about :data:`PAIR_CHUNK` answer pairs and
    answers together each: a group's tables hold an entry per pair and several per answer,
    and with two answers an item there are two answers to each pair."""
    n = len(answers)
    if n == 0:
        return ()
    per_item = np.bincount(answers.item[counted_rows], minlength=answers.n_items)
    pairs = per_item * (per_item - 1) // 2
    total = np.cumsum(pairs + per_item)
    cuts = np.searchsorted(total, np.arange(PAIR_CHUNK, int(total[-1]), PAIR_CHUNK), "right")
    item_bounds = np.unique(np.r_[0, cuts, answers.n_items])
    row_bounds = np.searchsorted(answers.item, item_bounds, side="left")
    return tuple((int(a), int(b)) for a, b in itertools.pairwise(row_bounds.tolist()) if b > a)


def _expand(
    answers: Answers, counted_rows: BoolArray, start: int, stop: int
) -> tuple[IntArray, IntArray]:
    """Row indices of every two answers to one counted item among rows ``[start, stop)``
    (whole items), the left one first in row order."""
    item = answers.item[start:stop]
    rows = np.flatnonzero(counted_rows[start:stop])
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    local = item - item[0]
    per_item = np.bincount(local, minlength=int(local[-1]) + 1)
    first_row = np.cumsum(per_item) - per_item
    # Partners after each row on its item; rows sorted by it, most first, so the rows
    # that still have a partner ``offset`` rows on are always a prefix.
    after = (per_item[local[rows]] - 1 - (rows - first_row[local[rows]])).astype(np.int64)
    order = np.argsort(-after, kind="stable")
    rows, after = rows[order] + start, after[order]
    lefts: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    rights: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for offset in range(1, int(after[0]) + 1):
        left = rows[: int(np.count_nonzero(after >= offset))]
        lefts.append(left)
        rights.append(left + offset)
    return np.concatenate(lefts), np.concatenate(rights)  # int64 already: no copies


def _pair_keys(answers: Answers, left: IntArray, right: IntArray) -> IntArray:
    out: IntArray = (
        answers.annotator[left] * np.int64(answers.n_annotators) + answers.annotator[right]
    )
    return out


def _search(unique: IntArray, keys: IntArray) -> IntArray:
    out: IntArray = np.searchsorted(unique, keys).astype(np.int64)
    return out


def pair_counts(
    answers: Answers, reference: IntArray, counted: BoolArray | None = None
) -> PairCounts:
    """Pair statistics over the items where ``counted`` is true (default: all items).

    ``reference`` is one class code per item (e.g. the consensus label); an item whose
    reference is ``-1`` counts as having no class, so every agreement on it is "against".
    """
    reference = np.asarray(reference, dtype=np.int64)
    if reference.shape != (answers.n_items,):
        raise InvalidAnswersError(
            f"reference has shape {reference.shape}, expected ({answers.n_items},)"
        )
    label = answers.label
    off_reference = label != reference[answers.item]  # per row: not the item's reference
    width = int(answers.n_annotators)
    if width * width <= DENSE_PAIR_CELLS:
        return _dense_pair_counts(answers, off_reference, counted)
    pairs = pair_chunks(answers, counted)

    def same(left: IntArray, right: IntArray) -> BoolArray:
        out: BoolArray = label[left] == label[right]
        return out

    def against(left: IntArray, right: IntArray) -> BoolArray:
        out: BoolArray = same(left, right) & off_reference[left]
        return out

    shared, agreed, agreed_against = pairs.per_pair_each(None, same, against)
    return PairCounts(
        first=pairs.first,
        second=pairs.second,
        shared=shared,
        agreed=agreed,
        agreed_against=agreed_against,
    )


def _dense_pair_counts(
    answers: Answers, off_reference: BoolArray, counted: BoolArray | None
) -> PairCounts:
    """:func:`pair_counts` where every possible annotator pair fits a table: one pass over
    the answer pairs, each counted straight into its pair's cell, where numbering the pairs
    first (:func:`pair_chunks`) took a pass of its own. The pairs that share an item are
    the cells with a count, in ascending ``(first, second)`` order, so the result is the
    same integers."""
    counted_rows = (
        np.ones(len(answers), dtype=bool)
        if counted is None
        else np.asarray(counted, dtype=bool)[answers.item]
    )
    width = int(answers.n_annotators)
    cells = width * width
    shared = np.zeros(cells, dtype=np.int64)
    agreed = np.zeros(cells, dtype=np.int64)
    agreed_against = np.zeros(cells, dtype=np.int64)
    label = answers.label
    loops = native_kernels()
    counted_natively = False
    if loops is not None:  # in C, one pass over the answers and no table of pairs
        flags = counted_rows.view(np.uint8) | (off_reference.view(np.uint8) << np.uint8(1))
        counted_natively = loops.pair_counts(
            answers.item, answers.annotator, label, flags, shared, agreed, agreed_against, width
        )
    if not counted_natively:
        for start, stop in _groups(answers, counted_rows):
            left, right = _expand(answers, counted_rows, start, stop)
            keys = _pair_keys(answers, left, right)
            same = label[left] == label[right]
            shared += np.bincount(keys, minlength=cells)
            agreed += np.bincount(keys[same], minlength=cells)
            agreed_against += np.bincount(keys[same & off_reference[left]], minlength=cells)
    present = np.flatnonzero(shared).astype(np.int64)
    w = np.int64(width)
    return PairCounts(
        first=present // w,
        second=present % w,
        shared=shared[present],
        agreed=agreed[present],
        agreed_against=agreed_against[present],
    )
