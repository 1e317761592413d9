"""Categorical estimators on tiny hand-checkable fixtures and on synthetic data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator, column_totals
from node.consensus.dawid_skene import DawidSkene
from node.consensus.majority_vote import MajorityVote
from node.consensus.one_coin import OneCoinDawidSkene
from node.consensus.registry import CATEGORICAL, categorical_estimator
from node.consensus.regularized_ds import RegularizedDawidSkene, solve_rows
from node.protocol.errors import InvalidParameterError, NotFittedError
from node.protocol.rules import PPB
from tests.consensus.helpers import answers, obvious_rows

ESTIMATORS: list[Callable[[], CategoricalEstimator]] = [
    MajorityVote,
    DawidSkene,
    OneCoinDawidSkene,
    RegularizedDawidSkene,
]
EM_ESTIMATORS = ESTIMATORS[1:]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_obvious_task(make: Callable[[], CategoricalEstimator]) -> None:
    model = make()
    labels = model.fit_predict(answers(obvious_rows()))
    assert model.items_ == ("i1", "i2", "i3")
    assert labels.tolist() == ["a", "b", "b"]
    probas = model.probas_ppb_
    assert probas.shape == (3, 2)
    assert np.all(np.abs(probas.sum(axis=1) - PPB) <= 2)
    assert model.fit_predict_proba(answers(obvious_rows())).shape == (3, 2)


def test_majority_vote_shares_and_tie_rule() -> None:
    rows = [("i1", "w1", "y"), ("i1", "w2", "x"), ("i2", "w1", "y"), ("i2", "w2", "y")]
    model = MajorityVote().fit(answers(rows))
    assert model.labels_.tolist() == ["x", "y"]  # tie goes to the first class in sorted order
    assert model.probas_ppb_.tolist() == [[PPB // 2, PPB // 2], [0, PPB]]
    assert model.confidence_ppb_.tolist() == [PPB // 2, PPB]


def test_three_class_majority() -> None:
    rows = [("i", "w1", "c"), ("i", "w2", "b"), ("i", "w3", "c")]
    model = MajorityVote().fit(answers(rows, classes=["a", "b", "c"]))
    assert model.labels_.tolist() == ["c"]
    assert model.probas_ppb_.tolist() == [[0, 333_333_333, 666_666_667]]


def colluders_rows() -> list[tuple[str, str, str]]:
    """One expert and two annotators who always give the wrong answer together."""
    truth = {"i1": "x", "i2": "y", "i3": "x", "i4": "y", "i5": "x", "i6": "y"}
    rows = []
    for item, label in truth.items():
        wrong = "y" if label == "x" else "x"
        rows += [(item, "expert", label), (item, "s1", wrong), (item, "s2", wrong)]
    return rows


@pytest.mark.parametrize("make", EM_ESTIMATORS)
def test_gold_fixes_truth_and_seeds_skill(make: Callable[[], CategoricalEstimator]) -> None:
    data = answers(colluders_rows())
    assert MajorityVote().fit_predict(data).tolist() == ["y", "x", "y", "x", "y", "x"]
    model = make().fit(data, gold={"i1": "x", "i2": "y"})
    assert model.labels_.tolist() == ["x", "y", "x", "y", "x", "y"]
    assert model.probas_ppb_[0].tolist() == [PPB, 0]  # gold rows are certain


@pytest.mark.parametrize("make", ESTIMATORS)
def test_gold_overrules_everyone(make: Callable[[], CategoricalEstimator]) -> None:
    rows = [("i1", "w1", "x"), ("i1", "w2", "x"), ("i2", "w1", "y"), ("i2", "w2", "y")]
    model = make().fit(answers(rows), gold={"i1": "y"})
    assert model.labels_.tolist()[0] == "y"
    assert model.confidence_ppb_.tolist()[0] == PPB


def test_zero_iterations_is_the_majority_vote() -> None:
    data = answers([*colluders_rows(), ("i7", "expert", "x")])
    for model in (RegularizedDawidSkene(n_iter=0), DawidSkene(n_iter=0)):
        np.testing.assert_array_equal(
            model.fit(data).probas_ppb_, MajorityVote().fit(data).probas_ppb_
        )


def synthetic(seed: int = 7) -> tuple[Answers, np.ndarray, np.ndarray]:
    """300 items, 3 classes, 6 annotators with known confusion matrices."""
    rng = np.random.default_rng(seed)
    k, n_items, n_annotators = 3, 300, 6
    truth = rng.integers(0, k, n_items)
    confusion = np.empty((n_annotators, k, k))
    for w in range(n_annotators):
        skill = 0.55 + 0.07 * w
        confusion[w] = (1 - skill) / (k - 1)
        np.fill_diagonal(confusion[w], skill)
    confusion[0] = [[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]]  # systematic rotation
    rows = []
    for i in range(n_items):
        for w in range(n_annotators):
            label = rng.choice(k, p=confusion[w, truth[i]])
            rows.append((f"i{i:03d}", f"w{w}", f"c{label}"))
    return Answers.from_rows(rows), truth, confusion


def test_dawid_skene_recovers_confusions_and_beats_majority() -> None:
    data, truth, confusion = synthetic()
    mv = (MajorityVote().fit(data).label_codes_ == truth).mean()
    ds = DawidSkene().fit(data)
    rds = RegularizedDawidSkene().fit(data)
    assert (ds.label_codes_ == truth).mean() > mv + 0.02
    assert (rds.label_codes_ == truth).mean() > mv + 0.02
    assert np.abs(ds.confusions_ - confusion).max() < 0.12
    np.testing.assert_allclose(ds.confusions_.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(ds.priors_.sum(), 1.0, atol=1e-12)
    assert ds.skills_[0] < 0.2 < 0.8 < ds.skills_[5]


def test_one_coin_ranks_annotators() -> None:
    model = OneCoinDawidSkene().fit(answers(obvious_rows()))
    good1, good2, lazy = model.skills_
    assert good1 == good2 > lazy
    assert model.confusions_.shape == (3, 2, 2)


def test_newton_rows_reach_the_map_optimum() -> None:
    counts = np.array([[[5.0, 1.0, 0.0], [0.5, 0.5, 9.0]]])
    precision = np.array([[[2.0], [0.5]]])
    logits = np.zeros_like(counts)
    for _ in range(5):
        logits = solve_rows(counts, precision, logits)
    p = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    gradient = counts - counts.sum(axis=2, keepdims=True) * p - precision * logits
    assert np.abs(gradient).max() < 1e-9


@pytest.mark.parametrize(
    "build",
    [
        lambda: DawidSkene(alpha=0),
        lambda: OneCoinDawidSkene(beta=-1),
        lambda: RegularizedDawidSkene(strength=0),
        lambda: RegularizedDawidSkene(n_iter=-1),
        lambda: DawidSkene(n_iter=2.5),  # type: ignore[arg-type]
    ],
)
def test_invalid_parameters(build: Callable[[], object]) -> None:
    with pytest.raises(InvalidParameterError):
        build()


def test_unfitted_access_raises() -> None:
    model = RegularizedDawidSkene()
    with pytest.raises(NotFittedError):
        _ = model.labels_
    with pytest.raises(NotFittedError):
        _ = model.confusions_


def test_column_totals_are_the_exact_column_sums() -> None:
    rng = np.random.default_rng(3)
    for shape in ((1, 1), (7, 2), (1000, 5), (3, 25)):
        matrix = rng.integers(0, PPB + 1, size=shape, dtype=np.int64)
        out = column_totals(matrix)
        assert out.dtype == np.int64
        assert out.tolist() == [sum(int(v) for v in matrix[:, c]) for c in range(shape[1])]


@pytest.mark.parametrize("algorithm", sorted(CATEGORICAL))
def test_one_class_with_gold_gives_that_class(algorithm: str) -> None:
    """Undeclared classes and every answer one class: with gold, the gold-weighted start
    had log-odds of zero and every algorithm raised ``ConsensusError``."""
    data = Answers.from_arrays(["i1", "i1", "i2", "i2"], ["a", "b", "a", "b"], ["x"] * 4)
    fitted = categorical_estimator(algorithm).fit(data, {"i1": "x", "i2": "x"})
    assert fitted.labels_.tolist() == ["x", "x"]
