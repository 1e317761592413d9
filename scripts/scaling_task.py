"""The synthetic task of the scaling benchmarks (``consensus_speed.py``, ``bench_bloc_test.py``;
issue #15's 10M-answer lines): 5 classes, 10 answers per item, 2,000 annotators with
accuracies uniform in [0.35, 0.95], wrong answers uniform over the other classes, all drawn
from one fixed seed, so both benchmarks fit the very same answers at each size.

With ``rows="class_dependent"`` each annotator's accuracy differs by true class (its
accuracy plus normal noise of 0.2, clipped to [0.05, 0.99]) and its errors follow its own
Dirichlet(1) split over the other classes: Dawid-Skene's own model, where ``hds@9``'s
moment estimate of the row strength is under its cap and the polish runs (the one-coin task
stays at the cap, and never polishes). Its draws come after the one-coin task's, which
stays the same bytes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.consensus.answers import Answers  # noqa: E402

SEED = 20240601
CLASSES, PER_ITEM, ANNOTATORS = 5, 10, 2000
ROWS = ("one_coin", "class_dependent")


def item_id(index: int) -> str:
    """Item ``index``'s id (zero-padded, so the ids sort as the indices do)."""
    return f"{index:09d}"


def scaling_task(
    n_answers: int, rows: str = "one_coin", per_item: int = PER_ITEM
) -> tuple[Answers, npt.NDArray[np.int64], float]:
    """The table (a pair answered twice keeps one answer, as every table does), the true
    class of each item by its index (:func:`item_id` names it), and the seconds
    ``Answers.from_codes`` took. ``rows`` is one of :data:`ROWS` (module docstring);
    ``per_item`` answers an item (fewer answers an item means more items for the same
    answers, and the E-step's softmax is per item)."""
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {ROWS}, got {rows!r}")
    if per_item < 1:
        raise ValueError(f"per_item must be at least 1, got {per_item!r}")
    rng = np.random.default_rng(SEED)
    n_items = n_answers // per_item
    truth = rng.integers(0, CLASSES, n_items)
    item = np.repeat(np.arange(n_items, dtype=np.int64), per_item)
    annotator = rng.integers(0, ANNOTATORS, n_items * per_item)
    skill = rng.uniform(0.35, 0.95, ANNOTATORS)
    if rows == "one_coin":
        right = rng.random(len(item)) < skill[annotator]
        wrong = (truth[item] + rng.integers(1, CLASSES, len(item))) % CLASSES
        label = np.where(right, truth[item], wrong)
        del right, wrong
    else:
        label = _class_dependent_labels(rng, skill, truth, item, annotator)
    ids = [item_id(i) for i in range(n_items)]
    names = [f"{a:05d}" for a in range(ANNOTATORS)]
    start = time.perf_counter()
    answers = Answers.from_codes(
        item, annotator, label, items=ids, annotators=names, classes=list("01234")
    )
    return answers, truth, time.perf_counter() - start


def _class_dependent_labels(
    rng: np.random.Generator,
    skill: npt.NDArray[np.float64],
    truth: npt.NDArray[np.int64],
    item: npt.NDArray[np.int64],
    annotator: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Answers under per-annotator confusion matrices (module docstring), drawn in chunks
    of a million so that the cumulative rows never take more than 40 MB."""
    accuracy = np.clip(skill[:, None] + rng.normal(0.0, 0.2, (ANNOTATORS, CLASSES)), 0.05, 0.99)
    errors = rng.dirichlet(np.ones(CLASSES - 1), size=(ANNOTATORS, CLASSES))
    matrix = np.zeros((ANNOTATORS, CLASSES, CLASSES))
    for true in range(CLASSES):
        others = [c for c in range(CLASSES) if c != true]
        matrix[:, true, others] = (1.0 - accuracy[:, true])[:, None] * errors[:, true]
        matrix[:, true, true] = accuracy[:, true]
    cumulative = np.cumsum(matrix, axis=2)
    label = np.empty(len(item), dtype=np.int64)
    for start in range(0, len(item), 1 << 20):
        stop = start + (1 << 20)
        rows = cumulative[annotator[start:stop], truth[item[start:stop]]]
        draw = rng.random(len(rows))[:, None]
        label[start:stop] = np.minimum((draw > rows).sum(axis=1), CLASSES - 1)
    return label
