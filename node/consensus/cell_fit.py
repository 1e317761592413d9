"""The ``hds@4`` .. ``hds@8`` fit over answered cells: the same bits in time and memory that
grow with the answers, not with annotators x classes².

Why. The dense fit builds, smooths and takes the log of every annotator's full K x K
confusion table each EM iteration. With many classes and many annotators that table
dwarfs the answers: 256 classes and 800 annotators are 52 million cells for 15,000
answers, 105 s and 3.7 GB a fit (BENCHMARKS.md, "Many classes and many annotators").

What is needed of the tables is much less:

* the E-step reads ``log_confusion[w, :, l]`` only for the (annotator ``w``, answered class
  ``l``) *cells* some answer falls in: at most one per answer;
* the expected counts are zero outside those cells, so every sum the M-step takes over
  them (per annotator, per row, over the crowd) is an exact integer sum over the cells;
* each smoothed entry is elementwise in its row's totals and prior mean;
* the moment estimate of the row strength sums a row's Pearson terms left to right over
  all K classes, but only for rows with at least two expected answers (the others are
  multiplied out), and an annotator's rows hold its answers between them, so there are at
  most answers / 2 such rows.

So this fit keeps one K-vector per cell, builds those rows densely, and computes every
value the dense fit would, with the same operations on the same operands: the same bits
(``tests/consensus/test_cell_fit.py`` forces it on three real sets and a 40-class table
and checks each algorithm's posteriors, iterations, strength and confusions against the
dense fit's). The dense log confusion table is built only when someone asks for
``confusions_``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, IntArray
from node.consensus.hierarchical_ds import HierarchicalDawidSkene, fixed_sum
from node.consensus.numerics import det_log, row_sum
from node.protocol.rules import PPB

DENSE_CELLS = 1 << 22
"""Fits whose dense confusion tables hold more than this many cells (annotators x K²; 32 MB
a float table) run over answered cells instead. Below it the dense fit, whose numpy calls
are fewer, is faster."""


@dataclass(frozen=True)
class Cells:
    """The (annotator, answered class) cells of a table of answers, in key order; their
    expected counts are :func:`node.consensus.base.expected_cell_counts`."""

    annotator: IntArray
    label: IntArray
    of_answer: IntArray
    """Per answer, the position of its cell."""
    n_annotators: int
    n_classes: int

    @classmethod
    def of(cls, answers: Answers) -> Cells:
        keys = answers.key_cells[1]
        k = np.int64(answers.n_classes)
        return cls(
            annotator=keys // k,
            label=keys % k,
            of_answer=answers.cell_of_answer,
            n_annotators=answers.n_annotators,
            n_classes=answers.n_classes,
        )

    def dense(self, per_cell: IntArray) -> IntArray:
        """``per_cell`` as the dense ``[w, k, l]`` table, zero outside the cells."""
        k = self.n_classes
        table = np.zeros((self.n_annotators, k, k), dtype=per_cell.dtype)
        table[self.annotator, :, self.label] = per_cell
        return table


def uses_cells(model: HierarchicalDawidSkene, answers: Answers) -> bool:
    """Whether ``model`` fits ``answers`` over cells: its dense tables would exceed
    :data:`DENSE_CELLS` and it computes its rows with ``hds@1``'s M-step (a subclass with
    its own rows or strength estimate keeps the dense fit)."""
    k = answers.n_classes
    kind = type(model)
    return (
        answers.n_annotators * k * k > DENSE_CELLS
        and kind._confusion_rows is HierarchicalDawidSkene._confusion_rows
        and kind._moment_strength is HierarchicalDawidSkene._moment_strength
        and kind._logs is HierarchicalDawidSkene._logs
    )


def cell_logs(
    model: HierarchicalDawidSkene, cells: Cells, counts_ppb: IntArray, prior: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``model._logs`` over cells: per cell and true class, the log of the smoothed
    confusion entry, and the log class prior."""
    rows = cell_rows(model, cells, counts_ppb)
    both = det_log(np.concatenate((rows.reshape(-1), prior)))
    return both[: rows.size].reshape(rows.shape), both[rows.size :]


def cell_rows(model: HierarchicalDawidSkene, cells: Cells, counts_ppb: IntArray) -> FloatArray:
    """``model._confusion_rows`` at the cells (``[cell, true class]``), step for step."""
    w, k = cells.n_annotators, cells.n_classes
    scale = float(PPB)
    diagonal = np.eye(k, dtype=bool)
    crowd_ppb = np.zeros((k, k), dtype=np.int64)  # [l, true class]: transposed below
    np.add.at(crowd_ppb, cells.label, counts_ppb)
    crowd = np.ascontiguousarray(crowd_ppb.T).astype(np.float64) / scale
    errors = np.where(diagonal, 0.0, crowd + 1.0)
    error_total = row_sum(errors)
    shape = errors / np.maximum(error_total, 1e-300)[:, None]
    positions = np.arange(len(cells.label))
    right_ppb = np.zeros(w, dtype=np.int64)
    np.add.at(right_ppb, cells.annotator, counts_ppb[positions, cells.label])
    right = right_ppb.astype(np.float64) / scale
    row_counts = np.zeros((w, k), dtype=np.int64)
    np.add.at(row_counts, cells.annotator, counts_ppb)
    count_total = row_counts @ np.ones(k, dtype=np.int64)
    total = count_total.astype(np.float64) / scale
    chance = 1.0 / float(k)
    chance = chance + model.skill_lean * (1.0 - chance)
    accuracy = (right + model.skill_strength * chance) / (total + model.skill_strength)
    row_total = row_counts.astype(np.float64) / scale
    strength = model.row_strength
    if model.max_strength > model.row_strength:
        strength = _cell_strength(model, cells, counts_ppb, row_total, accuracy, shape)
    model.strength_ = strength
    pseudo = model._row_pseudo(strength, count_total, row_total)
    # The prior mean at each cell: [cell, k] = m[w, k, l] of the dense fit.
    mean = (1.0 - accuracy)[cells.annotator][:, None] * shape.T[cells.label]
    on_diagonal = np.arange(k)[None, :] == cells.label[:, None]
    mean = np.where(on_diagonal, accuracy[cells.annotator][:, None], mean)
    rows = counts_ppb.astype(np.float64) / scale
    cell_pseudo = pseudo[cells.annotator]
    smoothed = rows + cell_pseudo * mean
    out: FloatArray = smoothed / (row_total[cells.annotator] + cell_pseudo)
    return out


def _cell_strength(
    model: HierarchicalDawidSkene,
    cells: Cells,
    counts_ppb: IntArray,
    row_total: FloatArray,
    accuracy: FloatArray,
    shape: FloatArray,
) -> float:
    """``model._moment_strength`` with the Pearson sums taken over the used rows only:
    each built densely (its K entries, zero where no answer fell) and summed left to right
    as the dense fit does, so each row's statistic has the same bits."""
    k = cells.n_classes
    used = row_total >= 2.0
    used_rows = np.flatnonzero(used.reshape(-1))  # row id w * K + true class
    row_w, row_k = used_rows // k, used_rows % k
    position = np.full(used.size, -1, dtype=np.int64)
    position[used_rows] = np.arange(len(used_rows))
    dense = np.zeros((len(used_rows), k), dtype=np.float64)
    where = position.reshape(used.shape)[cells.annotator]  # [cell, true class]
    hit = where >= 0
    cell_of_hit, class_of_hit = np.nonzero(hit)
    dense[where[hit], cells.label[cell_of_hit]] = counts_ppb[cell_of_hit, class_of_hit].astype(
        np.float64
    ) / float(PPB)
    mean = (1.0 - accuracy)[row_w][:, None] * shape[row_k]
    mean = np.where(np.arange(k)[None, :] == row_k[:, None], accuracy[row_w][:, None], mean)
    expected = np.maximum(row_total.reshape(-1)[used_rows][:, None] * mean, 1e-12)
    diff = dense - expected
    pearson = row_sum(diff * diff / expected)
    return model._pooled_strength(fixed_sum(pearson), row_total, k)
