"""The fit over answered cells (:mod:`node.consensus.cell_fit`) is a speed and memory choice
only: forced on, every estimator that takes it must give the dense fit's very bits
(posteriors, iterations, strength, confusion tables), with and without gold and ignored
annotators; and it must be chosen where the dense tables would be large."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus import cell_fit
from node.consensus.answers import Answers
from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.evidence_ds import EvidenceDawidSkene
from node.consensus.registry import CATEGORICAL
from tests.consensus.helpers import load_dataset

CELL_IDS = ("hds@4", "hds@5", "hds@6", "hds@8")


def many_classes(k: int, annotators: int, items: int, seed: int) -> Answers:
    """Three answers per item from annotators of accuracy 0.7 (errors uniform), and one
    annotator who always answers the first class (``hds@8`` ignores it)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, items)
    item = np.repeat(np.arange(items), 3)
    annotator = rng.integers(0, annotators, len(item))
    label = np.where(rng.random(len(item)) < 0.7, truth[item], rng.integers(0, k, len(item)))
    item = np.concatenate((item, np.arange(items)))
    annotator = np.concatenate((annotator, np.full(items, annotators)))
    label = np.concatenate((label, np.zeros(items, dtype=np.int64)))
    return Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"i{i:05d}" for i in range(items)],
        annotators=[f"a{a:04d}" for a in range(annotators + 1)],
        classes=[f"c{c:03d}" for c in range(k)],
        keep_classes=True,
    )


def fit_both(
    algorithm: str, answers: Answers, gold: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[EarlyStopDawidSkene, EarlyStopDawidSkene]:
    monkeypatch.setattr(cell_fit, "DENSE_CELLS", 1 << 62)
    dense = CATEGORICAL[algorithm]().fit(answers, gold)
    monkeypatch.setattr(cell_fit, "DENSE_CELLS", 0)
    cells = CATEGORICAL[algorithm]().fit(answers, gold)
    assert isinstance(dense, EarlyStopDawidSkene) and isinstance(cells, EarlyStopDawidSkene)
    return dense, cells


def assert_same_fit(dense: EarlyStopDawidSkene, cells: EarlyStopDawidSkene) -> None:
    assert cells.strength_ == dense.strength_  # asking takes each fit's pending last M-step
    assert dense._cell_state is None and cells._cell_state is not None
    assert cells.probas_ppb_.tobytes() == dense.probas_ppb_.tobytes()
    assert cells.iterations_ == dense.iterations_
    assert cells.priors_.tobytes() == dense.priors_.tobytes()
    assert cells.confusions_.tobytes() == dense.confusions_.tobytes()
    assert cells.strength_ == dense.strength_  # building the dense table kept it


@pytest.mark.parametrize("algorithm", CELL_IDS)
@pytest.mark.parametrize("name", ["dog", "zheng_d_product", "temp"])
def test_cells_give_the_dense_bits_on_real_sets(
    algorithm: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, gold = load_dataset(name)
    answers = Answers.from_rows([(r[0], r[1], r[2]) for r in rows])
    some_gold = {item: gold[item] for item in answers.items[::9] if item in gold}
    for given in ({}, some_gold):
        assert_same_fit(*fit_both(algorithm, answers, given, monkeypatch))


@pytest.mark.parametrize("algorithm", CELL_IDS)
def test_cells_give_the_dense_bits_with_many_classes(
    algorithm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = many_classes(40, 60, 600, seed=1)
    dense, cells = fit_both(algorithm, answers, {}, monkeypatch)
    assert_same_fit(dense, cells)
    if algorithm == "hds@8":  # the constant answerer is ignored on both routes
        assert bool(cells.ignored_[-1]) and cells.ignored_.tolist() == dense.ignored_.tolist()


def test_large_tables_take_the_cells_and_others_stay_dense() -> None:
    """The default bound: 256 classes and 80 annotators (5.2 million cells) go over cells;
    an estimator with its own strength estimate never does."""
    answers = many_classes(256, 80, 400, seed=2)
    fitted = CATEGORICAL["hds@8"]().fit(answers)
    assert isinstance(fitted, EarlyStopDawidSkene)
    fitted._take_last_step()  # the M-step after the last E-step waits until it is asked for
    assert fitted._cell_state is not None
    assert cell_fit.uses_cells(CATEGORICAL["hds@6"](), answers)  # type: ignore[arg-type]
    assert not cell_fit.uses_cells(EvidenceDawidSkene(), answers)
    small = many_classes(5, 80, 400, seed=2)
    assert not cell_fit.uses_cells(CATEGORICAL["hds@8"](), small)  # type: ignore[arg-type]


def test_expected_cell_counts_are_the_dense_tables_cells_by_either_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per answered cell, the dense table's ``[w, :, l]`` (taken by its bincount route):
    gathered K-wide in one call, and a class at a time (forced with a bound of 0)."""
    from node.consensus import base

    answers = many_classes(7, 40, 300, seed=3)
    probas = CATEGORICAL["hds@8"]().fit(answers).probas_ppb_
    k = answers.n_classes
    cells = answers.key_runs[2]
    monkeypatch.setattr(base, "SMALL_TABLE", 0)  # the dense table by its bincount route
    dense = base.expected_confusion_ppb(answers, probas)
    expected = dense[cells // k, :, cells % k]
    assert np.array_equal(base.expected_cell_counts(answers, probas), expected)
    monkeypatch.setattr(base, "CELL_GATHER", 0)
    assert np.array_equal(base.expected_cell_counts(answers, probas), expected)
