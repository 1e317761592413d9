"""How often each pair of annotators meets on an item, agrees, and agrees against a reference.

Estimators model annotators as independent given the truth; a bloc that coordinates its
answers breaks exactly that, and the only place it shows is in *pairs*: two colluders
agree with each other far more often than their accuracies allow, and mostly on answers
the rest of the crowd does not give. :func:`pair_counts` gives those counts, in integers,
for every pair of annotators that shares at least one counted item.

Cost: rows are in canonical (item, annotator) order, so an item's answers are contiguous
and the pairs on it are the rows ``r`` and ``r + j``. One vectorized pass per ``j`` (as
many passes as the busiest item has answers), each over only the rows that still have a
partner ``j`` rows on: the work is one step per answer pair, the memory one entry per
answer pair while counting and one per distinct annotator pair after. No loop over
answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers, IntArray
from node.protocol.errors import InvalidAnswersError

BoolArray = npt.NDArray[np.bool_]

DENSE_PAIR_CELLS = 1 << 24
"""Up to this many possible annotator pairs (4,096 annotators), pairs are numbered through
a table of all of them (128 MB at most) rather than by sorting the answer pairs."""

__all__ = ["AnswerPairs", "PairCounts", "answer_pairs", "pair_counts"]


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


def answer_pairs(answers: Answers, counted: BoolArray | None = None) -> AnswerPairs:
    """Every two answers to one item where ``counted`` is true (default: all items)."""
    counted_rows = (
        np.ones(len(answers), dtype=bool)
        if counted is None
        else np.asarray(counted, dtype=bool)[answers.item]
    )
    item = answers.item
    per_item = np.bincount(item, minlength=answers.n_items)
    first_row = np.cumsum(per_item) - per_item
    rows = np.flatnonzero(counted_rows)
    # Partners after each row on its item; rows sorted by it, most first, so the rows
    # that still have a partner ``offset`` rows on are always a prefix.
    after = (per_item[item[rows]] - 1 - (rows - first_row[item[rows]])).astype(np.int64)
    order = np.argsort(-after, kind="stable")
    rows, after = rows[order], after[order]
    lefts: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    rights: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for offset in range(1, int(after[0]) + 1 if len(after) else 1):
        left = rows[: int(np.count_nonzero(after >= offset))]
        lefts.append(left)
        rights.append(left + offset)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    width = np.int64(answers.n_annotators)
    keys, slot = _number(answers.annotator[left] * width + answers.annotator[right], width)
    return AnswerPairs(left, right, slot, keys // width, keys % width)


def _number(keys: IntArray, width: np.int64) -> tuple[IntArray, IntArray]:
    """The distinct ``first * width + second`` keys, ascending, and each key's index."""
    cells = int(width) * int(width)
    if cells > DENSE_PAIR_CELLS:
        unique, slot = np.unique(keys, return_inverse=True)
        return unique.astype(np.int64), slot.reshape(-1).astype(np.int64)
    # Few enough annotators for a table of every pair: a lookup instead of a sort.
    present = np.bincount(keys, minlength=cells) > 0
    rank = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(np.int64), rank[keys]


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
    pairs = answer_pairs(answers, counted)
    label = answers.label
    same = label[pairs.left] == label[pairs.right]
    against = same & (label[pairs.left] != reference[answers.item[pairs.left]])
    return PairCounts(
        first=pairs.first,
        second=pairs.second,
        shared=pairs.per_pair(),
        agreed=pairs.per_pair(same),
        agreed_against=pairs.per_pair(against),
    )
