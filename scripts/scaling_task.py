"""The synthetic task of the scaling benchmarks (``consensus_speed.py``, ``bench_bloc_test.py``;
issue #15's 10M-answer lines): 5 classes, 10 answers per item, 2,000 annotators with
accuracies uniform in [0.35, 0.95], wrong answers uniform over the other classes, all drawn
from one fixed seed, so both benchmarks fit the very same answers at each size.
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


def item_id(index: int) -> str:
    """Item ``index``'s id (zero-padded, so the ids sort as the indices do)."""
    return f"{index:09d}"


def scaling_task(n_answers: int) -> tuple[Answers, npt.NDArray[np.int64], float]:
    """The table (a pair answered twice keeps one answer, as every table does), the true
    class of each item by its index (:func:`item_id` names it), and the seconds
    ``Answers.from_codes`` took."""
    rng = np.random.default_rng(SEED)
    n_items = n_answers // PER_ITEM
    truth = rng.integers(0, CLASSES, n_items)
    item = np.repeat(np.arange(n_items, dtype=np.int64), PER_ITEM)
    annotator = rng.integers(0, ANNOTATORS, n_items * PER_ITEM)
    skill = rng.uniform(0.35, 0.95, ANNOTATORS)
    right = rng.random(len(item)) < skill[annotator]
    wrong = (truth[item] + rng.integers(1, CLASSES, len(item))) % CLASSES
    label = np.where(right, truth[item], wrong)
    del right, wrong
    ids = [item_id(i) for i in range(n_items)]
    names = [f"{a:05d}" for a in range(ANNOTATORS)]
    start = time.perf_counter()
    answers = Answers.from_codes(
        item, annotator, label, items=ids, annotators=names, classes=list("01234")
    )
    return answers, truth, time.perf_counter() - start
