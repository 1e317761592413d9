"""The issue #15 benchmark candidates BWA and EBCC (``node/consensus/bwa.py``, ``ebcc.py``):
one update checked by hand or against a plain loop over the answers, gold, determinism,
and the published figures they reproduce on real sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator
from node.consensus.bwa import BayesianWeightedAveraging
from node.consensus.bwa_started_ds import BwaStartedDawidSkene
from node.consensus.ebcc import EnhancedBayesianClassifierCombination, digamma, gammaln
from node.consensus.majority_vote import MajorityVote
from node.consensus.registry import CATEGORICAL, categorical_estimator
from node.protocol.errors import InvalidParameterError
from tests.consensus.helpers import load_dataset, obvious_rows

TWO_BY_TWO = [("i1", "w1", "a"), ("i1", "w2", "a"), ("i2", "w1", "b"), ("i2", "w2", "a")]


def test_bwa_one_update_by_hand() -> None:
    """Vote shares (1, 0) and (1/2, 1/2); b_v = 15 * 2 * (2 * 1/4) / 4 = 3.75 per class;
    mu = (3/4, 1/4); every annotator's squared residuals sum to 1/4 in both classes, so
    v = (15 + 2) / (3.75 + 0.25) = 4.25; z_i1 = (0.75 + 8.5, 0.25) / 9.5 and
    z_i2 = (0.75 + 4.25, 0.25 + 4.25) / 9.5."""
    model = BayesianWeightedAveraging(n_iter=1).fit(Answers.from_rows(TWO_BY_TWO))
    np.testing.assert_allclose(model.scores_, [[9.25 / 9.5, 0.25 / 9.5], [5 / 9.5, 4.5 / 9.5]])
    assert model.probas_ppb_.tolist() == [[973684211, 26315789], [526315789, 473684211]]


def test_digamma_and_log_gamma() -> None:
    """Known values: psi(1) = -gamma, psi(1/2) = -gamma - 2 ln 2, psi(n) = H(n-1) - gamma;
    log Gamma against the standard library; psi against log Gamma's derivative."""
    euler = 0.5772156649015329
    np.testing.assert_allclose(
        digamma(np.array([1.0, 0.5, 4.0])),
        [-euler, -euler - 2 * math.log(2), 1 + 1 / 2 + 1 / 3 - euler],
        rtol=0,
        atol=1e-10,
    )
    points = np.array([0.01, 0.1, 0.7, 1.0, 2.5, 5.9, 6.0, 17.3, 400.0, 1e6])
    np.testing.assert_allclose(
        gammaln(points), [math.lgamma(x) for x in points], rtol=1e-12, atol=1e-10
    )
    step = 1e-5 * points
    derivative = [
        (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
        for x, h in zip(points, step, strict=True)
    ]
    np.testing.assert_allclose(digamma(points), derivative, rtol=1e-7, atol=1e-6)


def ebcc_one_update_by_loops(rows: list[tuple[str, str, str]]) -> np.ndarray:
    """EBCC's first update with one subtype (so the random start is the vote itself),
    written as plain loops over the answers from the paper's equations."""
    items = sorted({r[0] for r in rows})
    workers = sorted({r[1] for r in rows})
    classes = sorted({r[2] for r in rows})
    k = len(classes)
    start = np.zeros((len(items), k))
    for item, _, label in rows:
        start[items.index(item), classes.index(label)] += 1
    start /= start.sum(axis=1, keepdims=True)
    alpha = start.sum(axis=0)  # empirical prior
    eta = 0.1 + start.sum(axis=0)  # a_pi / M with M = 1
    nu = alpha + start.sum(axis=0)
    mu = np.where(np.eye(k, dtype=bool), 4.0, 1.0)[None].repeat(len(workers), 0)
    for item, worker, label in rows:
        mu[workers.index(worker), :, classes.index(label)] += start[items.index(item)]
    log_r = np.zeros((len(items), k))
    for c in range(k):
        log_r[:, c] = digamma(eta[c]) - digamma(eta[c]) + digamma(nu[c]) - digamma(nu.sum())
    for item, worker, label in rows:
        j, i, lab = workers.index(worker), items.index(item), classes.index(label)
        for c in range(k):
            log_r[i, c] += digamma(mu[j, c, lab]) - digamma(mu[j, c].sum())
    weights = np.exp(log_r - log_r.max(axis=1, keepdims=True))
    out: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return out


def test_ebcc_one_update_against_loops() -> None:
    rows = [*TWO_BY_TWO, ("i3", "w1", "c"), ("i3", "w3", "b"), ("i2", "w3", "b")]
    model = EnhancedBayesianClassifierCombination(n_iter=1, subtypes=1)
    model.fit(Answers.from_rows(rows))
    np.testing.assert_allclose(model.probas_, ebcc_one_update_by_loops(rows), atol=2e-9)


@pytest.mark.parametrize("make", [BayesianWeightedAveraging, EnhancedBayesianClassifierCombination])
def test_obvious_task_and_gold(make: type[CategoricalEstimator]) -> None:
    data = Answers.from_rows(obvious_rows())
    assert make().fit_predict(data).tolist() == ["a", "b", "b"]
    # Gold overrules the crowd on its item.
    fitted = make().fit(data, gold={"i2": "a"})
    assert fitted.labels_[1] == "a"
    assert fitted.probas_ppb_[1].tolist() == [1_000_000_000, 0]


def spammer_task(seed: int) -> tuple[Answers, np.ndarray]:
    """200 items of 3 classes; 3 annotators right 85% of the time, 5 answering at random."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 200)
    rows = []
    for w in range(8):
        right = rng.random(200) < (0.85 if w < 3 else 1 / 3)
        labels = np.where(right, truth, (truth + rng.integers(1, 3, 200)) % 3)
        rows += [(f"i{i:03d}", f"w{w}", "abc"[int(v)]) for i, v in enumerate(labels)]
    return Answers.from_rows(rows), truth


@pytest.mark.parametrize("make", [BayesianWeightedAveraging, EnhancedBayesianClassifierCombination])
def test_learns_who_to_trust(make: type[CategoricalEstimator]) -> None:
    data, truth = spammer_task(3)
    vote = float(np.mean(MajorityVote().fit(data).label_codes_ == truth))
    ours = float(np.mean(make().fit(data).label_codes_ == truth))
    assert ours > vote + 0.05 and ours > 0.9


@pytest.mark.parametrize("make", [BayesianWeightedAveraging, EnhancedBayesianClassifierCombination])
def test_same_input_same_bytes(make: type[CategoricalEstimator]) -> None:
    data, _ = spammer_task(4)
    shuffled = np.random.default_rng(0).permutation(len(data))
    columns = [np.asarray(data.items)[data.item], np.asarray(data.annotators)[data.annotator]]
    reordered = Answers.from_arrays(
        columns[0][shuffled], columns[1][shuffled], np.asarray(data.classes)[data.label][shuffled]
    )
    first, second = make().fit(data).probas_ppb_, make().fit(reordered).probas_ppb_
    assert first.tobytes() == second.tobytes()


def test_ebcc_seed_and_restarts() -> None:
    data, _ = spammer_task(5)
    runs = [EnhancedBayesianClassifierCombination(n_iter=20, seed=s).fit(data) for s in (7, 8)]
    assert runs[0].probas_ppb_.tobytes() != runs[1].probas_ppb_.tobytes()  # the seed is used
    best = EnhancedBayesianClassifierCombination(n_iter=20, seed=7, restarts=2).fit(data)
    assert best.elbo_ == max(r.elbo_ for r in runs)
    kept = runs[int(np.argmax([r.elbo_ for r in runs]))]
    assert best.probas_ppb_.tobytes() == kept.probas_ppb_.tobytes()


def test_parameters_checked_and_not_protocol_ids() -> None:
    for bad in ({"a_v": 0.0}, {"lambda_": -1.0}, {"n_iter": -1}):
        with pytest.raises(InvalidParameterError):
            BayesianWeightedAveraging(**bad)  # type: ignore[arg-type]
    for bad_ebcc in ({"subtypes": 0}, {"restarts": 0}, {"b_v": float("inf")}):
        with pytest.raises(InvalidParameterError):
            EnhancedBayesianClassifierCombination(**bad_ebcc)  # type: ignore[arg-type]
    assert BayesianWeightedAveraging.algorithm not in CATEGORICAL
    assert EnhancedBayesianClassifierCombination.algorithm not in CATEGORICAL


@pytest.mark.parametrize(
    ("make", "name", "published"),
    [
        (BayesianWeightedAveraging, "sp", 0.9170),  # BWA's own published figure
        (BayesianWeightedAveraging, "web", 0.8225),  # BWA's own published figure
        (EnhancedBayesianClassifierCombination, "rte", 0.9313),  # EBCC's own
    ],
)
def test_reproduces_the_published_figure(
    make: type[CategoricalEstimator], name: str, published: float
) -> None:
    rows, gold = load_dataset(name)
    columns = list(zip(*rows, strict=True))
    fitted = make().fit(Answers.from_arrays(columns[0], columns[1], columns[2]))
    labels = dict(zip(fitted.items_, fitted.labels_.tolist(), strict=True))
    assert np.mean([labels[i] == v for i, v in gold.items()]) == pytest.approx(published, abs=5e-5)


def test_bwa_started_hds_starts_from_bwa() -> None:
    """With no EM iteration the candidate's posteriors are BWA's (gold clamped); with its
    iterations it is hds@2's loop, so an obvious task comes out right."""
    data, _ = spammer_task(6)
    gold = {data.items[0]: data.classes[2]}
    started = BwaStartedDawidSkene(n_iter=0).fit(data, gold)
    bwa = BayesianWeightedAveraging().fit(data, gold)
    assert started.probas_ppb_.tobytes() == bwa.probas_ppb_.tobytes()
    assert BwaStartedDawidSkene().fit_predict(Answers.from_rows(obvious_rows())).tolist() == [
        "a",
        "b",
        "b",
    ]
    assert isinstance(categorical_estimator("hds@3"), BwaStartedDawidSkene)
