"""``hds5_ev`` (issue #15, a measured benchmark candidate): ``hds@4`` with the row strength
chosen by the rows' Dirichlet-multinomial marginal likelihood over 4, 8, .., 64. Its
deterministic lgamma, that the evidence picks a small strength where annotators really
have class-dependent confusions and the largest where they are one-coin, and that the
result does not depend on row order or annotator names."""

from __future__ import annotations

import math

import numpy as np

from node.consensus.answers import Answers
from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.evidence_ds import EvidenceDawidSkene, det_lgamma
from tests.consensus.test_hds4 import answers_of


def test_det_lgamma_matches_the_library() -> None:
    xs = [1e-6, 0.013, 0.3, 1.0, 2.5, 7.9, 8.0, 31.7, 1e3, 1e6, 3e7]
    ours = det_lgamma(np.array(xs))
    for x, value in zip(xs, ours, strict=True):
        assert abs(value - math.lgamma(x)) <= 1e-10 * max(1.0, abs(math.lgamma(x)))


def synthetic_rows(one_coin: bool, seed: int) -> tuple[list[str], list[str], list[str]]:
    """3 classes, 300 items, 8 annotators answering every item. One-coin: each is right
    with probability 0.7 and otherwise uniform. Class-dependent: each annotator is perfect
    on two classes and answers the third as one fixed wrong class 60% of the time."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=300)
    items, workers, labels = [], [], []
    for w in range(8):
        weak = w % 3
        for i, t in enumerate(truth):
            if one_coin:
                label = t if rng.random() < 0.7 else rng.choice([c for c in range(3) if c != t])
            else:
                label = (weak + 1) % 3 if t == weak and rng.random() < 0.6 else t
            items.append(f"i{i:03d}")
            workers.append(f"w{w}")
            labels.append(f"c{int(label)}")
    return items, workers, labels


def synthetic(one_coin: bool, seed: int = 3) -> Answers:
    return Answers.from_arrays(*synthetic_rows(one_coin, seed))


def test_the_evidence_follows_the_data() -> None:
    assert EvidenceDawidSkene().strength_grid == (4.0, 8.0, 16.0, 32.0, 64.0)
    assert EvidenceDawidSkene().fit(synthetic(one_coin=True)).strength_ == 64.0
    assert EvidenceDawidSkene().fit(synthetic(one_coin=False)).strength_ == 4.0


def test_row_order_and_annotator_names_change_nothing() -> None:
    items, workers, labels = synthetic_rows(one_coin=False, seed=5)
    renamed = [f"z{9 - int(w[1:])}" for w in workers]
    first = EvidenceDawidSkene().fit(Answers.from_arrays(items, workers, labels))
    second = EvidenceDawidSkene().fit(Answers.from_arrays(items[::-1], renamed[::-1], labels[::-1]))
    assert first.iterations_ == second.iterations_
    assert first.probas_ppb_.tobytes() == second.probas_ppb_.tobytes()


def test_a_different_model_from_hds4() -> None:
    """dog: the moment estimate ends at about 17 pseudo-answers, the evidence at 8; the
    labels differ (a different algorithm: were it registered, it would need its own id)."""
    data = answers_of("dog")
    ours = EvidenceDawidSkene().fit(data)
    theirs = EarlyStopDawidSkene().fit(data)
    assert ours.algorithm == "hds-evidence (unregistered)" and theirs.algorithm == "hds@4"
    assert ours.strength_ == 8.0 and 16.0 < theirs.strength_ < 18.0
    assert not np.array_equal(ours.label_codes_, theirs.label_codes_)
