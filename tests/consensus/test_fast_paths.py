"""The E-step and expected counts take a faster route on some tables (the native loops
where they are built; else per-item ``np.add.reduceat``, or one ``bincount`` over every
(item, class) and runs of equal confusion cells on small tables). Which route runs is a
speed choice only, so all must give the very same integers: checked here on a real set, on
sparse two- and four-class tables and on a table with an item answered more times than a
chunk holds."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus import base
from node.consensus.answers import ROW_CHUNK, Answers
from node.consensus.staged_ds import StagedDawidSkene
from node.protocol.rules import PPB
from tests.consensus.helpers import load_dataset


def tables() -> list[Answers]:
    rows, _ = load_dataset("rte")  # 10 answers per item: the reduceat route by default
    rng = np.random.default_rng(5)
    per = ROW_CHUNK + 100  # one item alone fills more than a chunk
    item = np.concatenate((np.zeros(per, dtype=np.int64), np.repeat(np.arange(1, 400), 9)))
    annotator = np.concatenate((np.arange(per), rng.integers(0, 50, 399 * 9)))
    label = rng.integers(0, 3, len(item))
    big = Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"i{i:04d}" for i in range(400)],
        annotators=[f"a{a:06d}" for a in range(per)],
        classes=["x", "y", "z"],
    )
    return [Answers.from_rows(rows), big, sparse(2), sparse(4)]


def sparse(k: int) -> Answers:
    """Three answers per item from 40 annotators of mixed skill, ``k`` classes."""
    rng = np.random.default_rng(k)
    truth = rng.integers(0, k, 900)
    item = np.repeat(np.arange(900), 3)
    annotator = rng.integers(0, 40, len(item))
    right = rng.random(len(item)) < rng.uniform(0.3, 0.95, 40)[annotator]
    label = np.where(right, truth[item], rng.integers(0, k, len(item)))
    return Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"i{i:04d}" for i in range(900)],
        annotators=[f"a{a:02d}" for a in range(40)],
        classes=[f"c{c}" for c in range(k)],
    )


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_both_routes_give_the_same_integers(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = tables()[index]
    gold = np.full(answers.n_items, -1, dtype=np.int64)
    gold[::7] = 0
    model = StagedDawidSkene()
    probas = base.initial_posteriors(answers, gold)
    prior = model._class_prior(probas)
    log_confusion, log_prior = model._logs(base.expected_confusion_ppb(answers, probas), prior)

    def both() -> tuple[bytes, bytes]:
        step = base.confusion_e_step(answers, log_confusion, log_prior, gold)
        return step.tobytes(), base.expected_confusion_ppb(answers, step).tobytes()

    native = both()  # the native loops, where built (tests/consensus/test_native.py)
    monkeypatch.setattr(base, "native_kernels", lambda: None)
    monkeypatch.setattr(base, "REDUCEAT_ANSWERS_PER_ITEM", 0)  # per-item reduceat
    monkeypatch.setattr(base, "SMALL_TABLE", 1 << 40)
    fast = both()
    assert fast == native
    monkeypatch.setattr(base, "REDUCEAT_ANSWERS_PER_ITEM", 1 << 40)  # one bincount, runs
    assert both() == fast
    monkeypatch.setattr(base, "SMALL_TABLE", 0)  # a bincount per class, chunk by chunk
    assert both() == fast


def test_clamp_gold_copies_only_what_it_changes() -> None:
    """Posteriors whose gold rows are already certain in their gold class (as every E-step
    leaves them) come back as they are, not copied; others come back clamped in a copy,
    the caller's table untouched, including a gold row certain in another class and one
    that is certain but for a part in a billion elsewhere."""
    ppb = PPB
    gold = np.array([-1, 1, -1, 0])
    clamped = np.array([[ppb // 2, ppb // 2, 0], [0, ppb, 0], [1, 2, 3], [ppb, 0, 0]])
    assert base.clamp_gold(clamped, gold) is clamped
    assert base.clamp_gold(clamped, np.full(4, -1)) is clamped
    for row, wrong in ((1, [ppb, 0, 0]), (3, [ppb - 1, 0, 1]), (1, [1, ppb, 0])):
        table = clamped.copy()
        table[row] = wrong
        before = table.copy()
        out = base.clamp_gold(table, gold)
        assert out is not table and np.array_equal(table, before)
        assert np.array_equal(out, clamped)
