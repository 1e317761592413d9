"""Shared machinery of the categorical estimators: the scikit-learn style surface, gold
anchoring, initialization, and the E-step of the confusion-matrix family.

Every estimator keeps its posteriors as integer parts per billion (``probas_ppb_``) and
decides from those integers only; :mod:`node.consensus.numerics` makes sure every
validator computes the same integers. The fitted attributes follow scikit-learn's
convention of a trailing underscore.

Gold anchoring (the "gold-anchored variants"): pass ``gold={item: class}`` to ``fit``.
Gold items' posteriors are clamped to the gold class in every iteration, so the truth the
requester revealed is never overruled, and the initial posteriors are a vote weighted by
each annotator's smoothed accuracy on gold items ("seeding annotator skill"), so EM starts
from what gold says about each annotator rather than from a plain majority.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, NamedTuple, Self

import numpy as np
import numpy.typing as npt

from node.consensus.answers import ROW_CHUNK, Answers
from node.consensus.numerics import (
    LOG_FIXED_SCALE,
    argmax_lowest,
    clamp_rows,
    count_keys,
    det_log,
    exact_bincount,
    from_ppb,
    native_kernels,
    shares_ppb,
    softmax_pair_ppb,
    softmax_ppb,
    to_fixed_log,
)
from node.protocol.errors import InvalidParameterError, NotFittedError
from node.protocol.rules import PPB

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Gold = Mapping[str, str]

SMALL_TABLE = ROW_CHUNK
"""Tables of at most this many answers take the expected counts by runs of equal cells
(:func:`_expected_confusion_by_runs`): the same integers; faster where numpy's per-call
cost dominates, slower on large tables, where gathering rows out of item order misses the
cache (measured: 80 against 26 microseconds at 20,000 answers; 17 against 19 ms at 1M)."""
EXACT_ITEM_ANSWERS = 1 << 17
"""Items with at most this many answers have exact fixed-point log-likelihood sums in
float64 (2**17 terms of magnitude at most 64 * 2**30 = 2**36 stay below 2**53), so the
E-step may add them in any order (:func:`_e_step_by_items`)."""
REDUCEAT_ANSWERS_PER_ITEM = 8
"""From this many answers per item on average, the E-step sums per item by
``np.add.reduceat`` (the same bits); below it, numpy's per-segment cost makes the
``bincount`` per class faster (measured, microseconds per E-step: 20 answers per item
192 against 109, 10 per item 105 against 86, 5.5 per item 281 against 314)."""
GOLD_SEED_PSEUDOCOUNT = 2.0
"""Weight, in answers, of the pooled gold accuracy when smoothing one annotator's."""


class CategoricalEstimator(ABC):
    """Base class: ``fit`` sets ``probas_ppb_`` (items x classes); the rest derives from it."""

    algorithm: ClassVar[str]
    """Protocol id of the algorithm (``name@version``); part of the result document."""

    _probas_ppb: IntArray | None = None
    _answers: Answers | None = None
    _gold: IntArray | None = None

    @abstractmethod
    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        """Return posteriors in parts per billion, one row per item; gold rows clamped."""

    def params(self) -> dict[str, int | str]:
        """Hyperparameters as they appear in the result document (ints/strings only)."""
        return {}

    def fit(self, answers: Answers, gold: Gold | None = None) -> Self:
        """Aggregate ``answers``; ``gold`` maps item ids to their revealed true class."""
        gold_codes = answers.encode_gold(gold)
        probas = clamp_gold(self._fit(answers, gold_codes), gold_codes)
        probas.flags.writeable = False
        gold_codes.flags.writeable = False
        self._probas_ppb, self._answers, self._gold = probas, answers, gold_codes
        return self

    def fit_predict(self, answers: Answers, gold: Gold | None = None) -> npt.NDArray[np.str_]:
        """Fit, then return the consensus class of every item (aligned with ``items_``)."""
        return self.fit(answers, gold).labels_

    def fit_predict_proba(self, answers: Answers, gold: Gold | None = None) -> FloatArray:
        """Fit, then return the posterior matrix (items x classes, rows sum to ~1)."""
        return self.fit(answers, gold).probas_

    @property
    def answers_(self) -> Answers:
        if self._answers is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._answers

    @property
    def probas_ppb_(self) -> IntArray:
        if self._probas_ppb is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._probas_ppb

    @property
    def gold_codes_(self) -> IntArray:
        """Gold class code per item as used in the fit, ``-1`` where an item has none."""
        if self._gold is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._gold

    @property
    def probas_(self) -> FloatArray:
        return from_ppb(self.probas_ppb_)

    @property
    def items_(self) -> tuple[str, ...]:
        return self.answers_.items

    @property
    def classes_(self) -> tuple[str, ...]:
        return self.answers_.classes

    @property
    def label_codes_(self) -> IntArray:
        """Consensus class codes; ties go to the lowest class code (first in sorted order)."""
        return argmax_lowest(self.probas_ppb_)

    @property
    def labels_(self) -> npt.NDArray[np.str_]:
        return np.asarray(self.classes_, dtype=np.str_)[self.label_codes_]

    @property
    def confidence_ppb_(self) -> IntArray:
        """Posterior probability of the consensus class, parts per billion."""
        out: IntArray = np.max(self.probas_ppb_, axis=1)
        return out


def clamp_gold(probas_ppb: IntArray, gold: IntArray) -> IntArray:
    """Posteriors with every gold item set to certainty in its gold class: ``probas_ppb``
    itself where they already are (as the E-steps leave them: a copy of the whole table
    would be held beside it, 8 bytes an item and class), a copy otherwise."""
    rows = np.flatnonzero(gold >= 0)
    if len(rows) == 0:
        return probas_ppb
    held = probas_ppb[rows]
    if np.count_nonzero(held) == len(rows) and bool(
        np.all(held[np.arange(len(rows)), gold[rows]] == PPB)
    ):  # one value a row, PPB in the gold class: the rest are zeros
        return probas_ppb
    out = np.array(probas_ppb, dtype=np.int64, copy=True)
    clamp_rows(out, rows, gold)
    return out


def vote_counts(answers: Answers, weights: FloatArray | None = None) -> FloatArray:
    """Per item and class, the number (or the total weight) of answers for that class."""
    if weights is None:
        return answers.votes.astype(np.float64)
    size = answers.n_items * answers.n_classes
    flat = np.bincount(answers.item_label, weights=weights, minlength=size)
    return flat.astype(np.float64, copy=False).reshape(answers.n_items, answers.n_classes)


def initial_posteriors(answers: Answers, gold: IntArray) -> IntArray:
    """Majority-vote shares, or with gold a vote weighted by gold-estimated skill.

    An annotator's weight is the log-odds ``log(acc (K-1) / (1 - acc))`` of their accuracy
    on gold items, smoothed toward the pooled gold accuracy with
    :data:`GOLD_SEED_PSEUDOCOUNT` answers, and floored at zero so that no annotator's vote
    counts against the class they chose. Without gold, or with one class (every weight's
    log-odds would be of zero), every weight is one.
    """
    k = answers.n_classes
    # Whether any answer is on a gold item, asked of the items: every item has answers, and
    # there are fewer items than answers; the answers' flags are only needed if so.
    if k == 1 or not bool(np.any(gold >= 0)):
        return shares_ppb(vote_counts(answers))
    on_gold = gold[answers.item] >= 0
    correct = (answers.label == gold[answers.item]) & on_gold
    n_gold = count_keys(answers.annotator[on_gold], answers.n_annotators).astype(np.float64)
    n_right = count_keys(answers.annotator[correct], answers.n_annotators).astype(np.float64)
    pooled = (float(np.count_nonzero(correct)) + 1.0) / (float(np.count_nonzero(on_gold)) + 2.0)
    accuracy = np.divide(
        np.add(n_right, GOLD_SEED_PSEUDOCOUNT * pooled), np.add(n_gold, GOLD_SEED_PSEUDOCOUNT)
    )
    accuracy = np.clip(accuracy, 1e-6, 1.0 - 1e-6)
    odds = np.divide(np.multiply(accuracy, float(k - 1)), np.subtract(1.0, accuracy))
    weight = np.maximum(det_log(odds), 0.0) + 1e-3  # keep every annotator's vote alive
    weight = to_fixed_log(weight) / LOG_FIXED_SCALE  # fixed point: sums exact, order-free
    out = shares_ppb(vote_counts(answers, weight[answers.annotator]))
    clamp_rows(out, np.flatnonzero(gold >= 0), gold)  # a table of its own: no copy
    return out


def expected_confusion_counts(answers: Answers, probas_ppb: IntArray) -> FloatArray:
    """``counts[w, k, l]``: expected number of times annotator ``w`` answered ``l`` on
    items whose true class is ``k``, under the posteriors.

    The sums are exact integers (posteriors are integer parts per billion, summed by
    :func:`exact_bincount` over chunks of at most 2**23 rows), so neither the row order nor
    the chunking can change them.
    """
    out: FloatArray = from_ppb(expected_confusion_ppb(answers, probas_ppb))
    return out


def expected_confusion_ppb(answers: Answers, probas_ppb: IntArray) -> IntArray:
    """:func:`expected_confusion_counts` in parts per billion: exact integers, which any
    further sum (over annotators, over a row) keeps exact."""
    k = answers.n_classes
    if len(answers) <= SMALL_TABLE or native_kernels() is not None:
        return _expected_confusion_by_runs(answers, probas_ppb)
    cells = answers.n_annotators * k
    columns = np.ascontiguousarray(probas_ppb.T, dtype=np.float64)  # integers, exact
    totals = np.zeros((k, cells), dtype=np.int64)
    step = min(max(ROW_CHUNK, 8 * cells), 1 << 22)
    for start in range(0, len(answers), step):
        stop = start + step
        keys = answers.key_of(start, stop)
        block = columns.take(answers.item[start:stop], axis=1)
        for true_class in range(k):
            totals[true_class] += exact_bincount(keys, block[true_class], cells)
    out: IntArray = np.ascontiguousarray(
        totals.reshape(k, answers.n_annotators, k).transpose(1, 0, 2)
    )
    return out


def _expected_confusion_by_runs(answers: Answers, probas_ppb: IntArray) -> IntArray:
    """:func:`expected_confusion_ppb` for small tables, and for every table where the
    native loops are built: the posteriors of each answered cell's items, summed per cell
    by :func:`expected_cell_counts` and placed at the cells (:attr:`Answers.key_cells`).
    Integer sums, so exactly the integers of the ``bincount`` path: in three numpy calls
    instead of 2K + 2 on a table of a few thousand answers (where the calls, not the
    arithmetic, are the cost), and in one native pass instead of K ``bincount`` passes on a
    large one (half the time at 10M answers and 5 classes)."""
    k = answers.n_classes
    cells = answers.key_cells[1]
    sums = expected_cell_counts(answers, probas_ppb)
    totals = np.zeros((answers.n_annotators * k, k), dtype=np.int64)
    totals[cells] = sums
    out: IntArray = np.ascontiguousarray(
        totals.reshape(answers.n_annotators, k, k).transpose(0, 2, 1)
    )
    return out


CELL_GATHER = 1 << 22
"""Entries (answers x classes) up to which :func:`expected_cell_counts` gathers the
posteriors K-wide in one call; above it, a class at a time (32 MB at most either way)."""


def expected_cell_counts(answers: Answers, probas_ppb: IntArray) -> IntArray:
    """Per answered (annotator, class) cell, in the order of :attr:`Answers.key_cells`, the
    expected count of each true class in exact parts per billion: the dense table's
    ``[w, :, l]`` (:func:`expected_confusion_ppb`) where answers fall, the posteriors of each
    cell's items summed. Integer sums, so the same integers whichever way they are
    gathered: natively in one pass over the answers as they lie where the native loops are
    built; otherwise by ``np.add.reduceat`` over :attr:`Answers.key_runs`, K-wide in one
    call on small tables (where the calls are the cost), a class at a time where answers x
    K is large (where the memory is)."""
    probas = np.asarray(probas_ppb, dtype=np.int64)
    k = answers.n_classes
    loops = native_kernels()
    if loops is not None:  # the same integer sums in one pass (numerics.native_kernels)
        sums: IntArray = np.empty((len(answers.key_cells[1]), k), dtype=np.int64)
        loops.answer_cell_sums(
            np.ascontiguousarray(probas), answers.item, answers.cell_of_answer, sums, k
        )
        return sums
    items, starts, _ = answers.key_runs
    if len(items) * k <= CELL_GATHER:
        out: IntArray = np.add.reduceat(probas.take(items, axis=0), starts)
        return out
    out = np.empty((len(starts), k), dtype=np.int64)
    for true_class in range(k):
        out[:, true_class] = np.add.reduceat(probas[:, true_class].take(items), starts)
    return out


def column_totals(matrix: IntArray) -> IntArray:
    """Column sums of an integer matrix (``matrix.sum(axis=0)``, exact in any order).

    Why not that: numpy reduces a tall, narrow int64 matrix along axis 0 ten times slower
    than it sums each column (measured: 71 against 6 microseconds for 5,000 x 2, 17 against
    4 milliseconds for 1,000,000 x 5), and the estimators take this sum every iteration.
    Natively, one pass over the rows (the same integers: sums of integers, wrapping as
    numpy's do)."""
    out = np.empty(matrix.shape[1], dtype=np.int64)
    loops = native_kernels()
    if loops is not None and matrix.dtype == np.int64 and matrix.flags.c_contiguous:
        loops.column_sums(matrix, out, matrix.shape[1])
        return out
    for column in range(matrix.shape[1]):
        out[column] = matrix[:, column].sum(dtype=np.int64)
    return out


class Posteriors(NamedTuple):
    """An E-step's posteriors in parts per billion, their column totals (the class prior's
    sums) and each row's argmax (:func:`argmax_lowest`, the labels the early stop
    compares): the native E-step takes those while each block of rows is still in the
    cache (at 5M items of five classes, two passes of 27 ms each iteration spared)."""

    ppb: IntArray
    totals: IntArray
    labels: IntArray

    @classmethod
    def of(cls, probas_ppb: IntArray) -> Posteriors:
        """Posteriors whose totals and labels are yet to be taken."""
        return cls(probas_ppb, column_totals(probas_ppb), argmax_lowest(probas_ppb))


def class_prior(
    probas_ppb: IntArray, pseudocount: float = 1.0, totals: IntArray | None = None
) -> FloatArray:
    """Class frequencies from the posteriors, with ``pseudocount`` items added per class;
    ``totals``, where known, are their column totals (:class:`Posteriors`)."""
    n_items, k = probas_ppb.shape
    if totals is None:
        totals = column_totals(probas_ppb)
    mass = totals.astype(np.float64)  # integer sum: exact
    prior: FloatArray = (mass / float(PPB) + pseudocount) / (float(n_items) + k * pseudocount)
    return prior


def confusion_e_step(
    answers: Answers,
    log_confusion: FloatArray,
    log_prior: FloatArray,
    gold: IntArray,
    key: IntArray | None = None,
) -> IntArray:
    """Posteriors ``P(true class | answers)`` under per-annotator confusion matrices.

    ``log_confusion[w, k, l]`` is ``log P(annotator w answers l | true class k)``. Each
    item's log-posterior is the prior plus the sum over its answers; the per-answer terms
    are fixed-point integers (:func:`to_fixed_log`), so the sum is exact and independent of
    the answers' order. Chunks never split an item.
    """
    return confusion_posteriors(answers, log_confusion, log_prior, gold, key=key).ppb


def confusion_posteriors(
    answers: Answers,
    log_confusion: FloatArray,
    log_prior: FloatArray,
    gold: IntArray,
    spent: IntArray | None = None,
    key: IntArray | None = None,
) -> Posteriors:
    """:func:`confusion_e_step` with the column totals and labels (:func:`e_step_posteriors`).
    ``key``: :attr:`Answers.key`, which an EM takes once for all its E-steps (it is
    computed on each use)."""
    k = answers.n_classes
    rows = to_fixed_log(np.ascontiguousarray(log_confusion.transpose(0, 2, 1)).reshape(-1, k))
    index = answers.key if key is None else key
    return e_step_posteriors(answers, rows, index, log_prior, gold, spent)


def e_step_from_rows(
    answers: Answers, rows: FloatArray, index: IntArray, log_prior: FloatArray, gold: IntArray
) -> IntArray:
    """:func:`confusion_e_step` from a table of fixed-point log-likelihood rows: answer
    ``j`` weighs row ``index[j]`` (``rows[r, k]``: its log-likelihood under true class
    ``k``). The dense table is indexed by :attr:`Answers.key`; the fit over answered
    cells (:mod:`node.consensus.cell_fit`) passes one row per cell, the same values."""
    return e_step_posteriors(answers, rows, index, log_prior, gold).ppb


def e_step_posteriors(
    answers: Answers,
    rows: FloatArray,
    index: IntArray,
    log_prior: FloatArray,
    gold: IntArray,
    spent: IntArray | None = None,
) -> Posteriors:
    """:func:`e_step_from_rows` with the posteriors' column totals and labels
    (:class:`Posteriors`).

    ``spent``: posteriors the caller has no further use for (the previous iteration's,
    once the M-step has read them), which the native loop may overwrite with the result
    rather than take fresh memory: at 3.3M items of five classes, fresh pages cost 17 ms
    an E-step. The result is what is returned, in ``spent`` or not."""
    loops = native_kernels()
    if loops is None:
        return Posteriors.of(_e_step_numpy(answers, rows, index, log_prior, gold))
    # one pass over the answers, in C (numerics.native_kernels)
    shape = (answers.n_items, answers.n_classes)
    probas = spent
    if (
        probas is None
        or probas.shape != shape
        or probas.dtype != np.int64
        or not (probas.flags.c_contiguous and probas.flags.writeable)
    ):
        probas = np.empty(shape, dtype=np.int64)
    totals = np.empty(answers.n_classes, dtype=np.int64)
    labels = np.empty(answers.n_items, dtype=np.int64)
    loops.e_step(  # gold rows clamped in the loop, block by block (clamp_rows's rule)
        np.ascontiguousarray(rows, dtype=np.float64),
        np.ascontiguousarray(index, dtype=np.int64),
        answers.item,
        np.ascontiguousarray(log_prior, dtype=np.float64),
        np.ascontiguousarray(gold, dtype=np.int64),
        probas,
        totals,
        labels,
    )
    return Posteriors(probas, totals, labels)


def _e_step_numpy(
    answers: Answers, rows: FloatArray, index: IntArray, log_prior: FloatArray, gold: IntArray
) -> IntArray:
    """:func:`e_step_from_rows` where the native loops are not built: the definition."""
    k = answers.n_classes
    if (
        len(answers) >= REDUCEAT_ANSWERS_PER_ITEM * answers.n_items
        and answers.max_item_answers <= EXACT_ITEM_ANSWERS
        and len(answers.item_starts) == answers.n_items
    ):
        return clamp_gold(_e_step_by_items(answers, rows, index, log_prior), gold)
    if len(answers) * k <= SMALL_TABLE:  # K entries a row, so a bound on the entries
        return clamp_gold(_e_step_small(answers, rows, index, log_prior), gold)
    table = np.ascontiguousarray(rows.T)
    probas = np.empty((answers.n_items, k), dtype=np.int64)
    for row_start, row_stop, item_start, item_stop in answers.item_chunks:
        local = answers.item[row_start:row_stop]
        if item_start:  # the first chunk's items already start at 0: no copy
            local = local - item_start
        keys = index[row_start:row_stop]
        log_post = np.empty((item_stop - item_start, k), dtype=np.float64)
        for true_class in range(k):
            sums = np.bincount(
                local, weights=table[true_class].take(keys), minlength=item_stop - item_start
            )
            log_post[:, true_class] = sums / LOG_FIXED_SCALE + log_prior[true_class]
        probas[item_start:item_stop] = softmax_ppb(log_post)
    return clamp_gold(probas, gold)


def _e_step_small(
    answers: Answers, rows: FloatArray, index: IntArray, log_prior: FloatArray
) -> IntArray:
    """The E-step's posteriors on a table of at most :data:`SMALL_TABLE` (answer, class)
    entries with fewer than :data:`REDUCEAT_ANSWERS_PER_ITEM` answers per item: each
    answer's K-wide row of the fixed-point table gathered, and every (item, class) sum taken
    by one ``np.bincount`` over :attr:`Answers.item_class_cells` (K integers a row, hence
    the bound on entries rather than answers: 256 classes would make it 32 times larger).

    The same bits as the per-class ``bincount`` path: the sums are of the same integers
    (exact in float64 in any order, see :data:`EXACT_ITEM_ANSWERS`), and the division and
    the prior's addition are the same elementwise operations. Two numpy calls for the sums
    instead of 2K: on a small task the calls, not the arithmetic, are the cost."""
    k = answers.n_classes
    weights = rows.take(index, axis=0).reshape(-1)
    size = answers.n_items * k
    sums = np.bincount(answers.item_class_cells, weights=weights, minlength=size)
    table = np.asarray(sums, dtype=np.float64).reshape(answers.n_items, k)
    return posteriors_from_sums(table, log_prior)


def posteriors_from_sums(sums: FloatArray, log_prior: FloatArray) -> IntArray:
    """Posteriors in parts per billion from each item's fixed-point log-likelihood sums:
    ``softmax(sums / 2**30 + log_prior)``, the sum and the division elementwise. Two
    classes go column by column (numpy broadcasts over rows of two slowly): the same
    operations on the same values, so the same bits."""
    if sums.shape[1] == 2:
        first = np.add(np.divide(sums[:, 0], LOG_FIXED_SCALE), log_prior[0])
        second = np.add(np.divide(sums[:, 1], LOG_FIXED_SCALE), log_prior[1])
        return softmax_pair_ppb(first, second)
    return softmax_ppb(np.add(np.divide(sums, LOG_FIXED_SCALE), log_prior))


def _e_step_by_items(
    answers: Answers, rows: FloatArray, index: IntArray, log_prior: FloatArray
) -> IntArray:
    """The E-step's posteriors with each item's sums taken by ``np.add.reduceat`` over its
    run of rows (rows are sorted by item) on K-wide gathered rows of the fixed-point table:
    one gather and one reduction per chunk instead of K of each.

    The same bits as the ``bincount`` path: the terms are integers below 2**36 in
    magnitude, so with at most :data:`EXACT_ITEM_ANSWERS` of them an item's sum is exact in
    float64 whatever the order of the additions; the division and the prior's addition
    are the same elementwise operations."""
    k = answers.n_classes
    starts = answers.item_starts
    probas = np.empty((answers.n_items, k), dtype=np.int64)
    for row_start, row_stop, item_start, item_stop in answers.item_chunks:
        gathered = rows.take(index[row_start:row_stop], axis=0)
        local = starts[item_start:item_stop]
        if row_start:
            local = local - row_start
        sums = np.add.reduceat(gathered, local, axis=0)
        probas[item_start:item_stop] = posteriors_from_sums(sums, log_prior)
    return probas


def check_count(name: str, value: int) -> int:
    """A count parameter (a size gate, a threshold on annotators): a non-negative int, and
    not a bool."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(f"{name} must be a non-negative int, got {value!r}")
    return value


def check_iterations(n_iter: int) -> int:
    """Iteration counts are fixed (never a convergence test), so they must be sane."""
    if not isinstance(n_iter, int) or n_iter < 0 or n_iter > 10_000:
        raise InvalidParameterError(f"n_iter must be an int in [0, 10000], got {n_iter!r}")
    return n_iter
