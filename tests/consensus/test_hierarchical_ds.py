"""``hds@1`` (issue #15): hand-checkable M-step, no collapse where ``rds@1`` collapses,
order independence, and byte pins on a real set (a new algorithm id's own pins)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.consensus.answers import Answers
from node.consensus.hierarchical_ds import HierarchicalDawidSkene
from node.consensus.majority_vote import MajorityVote
from node.consensus.numerics import det_exp
from node.consensus.registry import categorical_estimator
from node.consensus.regularized_ds import RegularizedDawidSkene
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM
from node.protocol.rules import PPB
from tests.consensus.helpers import answers, obvious_rows
from tests.consensus.replay import replayed_everywhere

ROOT = Path(__file__).resolve().parents[2]


def test_stays_registered_for_its_tasks() -> None:
    """The default until ``hds@2``; tasks created with it keep it."""
    assert DEFAULT_ALGORITHM != "hds@1"
    assert type(categorical_estimator("hds@1")) is HierarchicalDawidSkene


def test_m_step_by_hand() -> None:
    """One annotator, two classes, counts [[3, 1], [0, 0]] (class b never seen), fixed
    strength 2: accuracy 3 right of 4, plus 2 pseudo-answers at chance; rows shrunk
    toward the one-coin matrix of that accuracy."""
    model = HierarchicalDawidSkene(
        row_strength=2.0, skill_strength=2.0, skill_lean=0.0, max_strength=2.0
    )
    counts = np.array([[[3, 1], [0, 0]]], dtype=np.int64) * PPB
    confusion = det_exp(model._confusion_logs(counts))[0]
    accuracy = (3.0 + 2.0 * 0.5) / (4.0 + 2.0)  # shrunk toward chance 1/2
    # row a: (3 + 2 acc) / 6 and (1 + 2 (1 - acc)) / 6; row b: the prior mean itself
    np.testing.assert_allclose(confusion[0], [(3 + 2 * accuracy) / 6, (1 + 2 * (1 - accuracy)) / 6])
    np.testing.assert_allclose(confusion[1], [1 - accuracy, accuracy])


def test_lean_moves_the_skill_target_above_chance() -> None:
    counts = np.zeros((1, 3, 3), dtype=np.int64)
    plain = det_exp(HierarchicalDawidSkene(skill_lean=0.0)._confusion_logs(counts))[0]
    assert HierarchicalDawidSkene().strength_ == 0.0  # class default before any fit
    lean = det_exp(HierarchicalDawidSkene(skill_lean=0.5)._confusion_logs(counts))[0]
    np.testing.assert_allclose(np.diagonal(plain), 1 / 3)
    np.testing.assert_allclose(np.diagonal(lean), 1 / 3 + 0.5 * 2 / 3)


def test_obvious_task_and_parameters() -> None:
    model = HierarchicalDawidSkene()
    assert model.fit_predict(answers(obvious_rows())).tolist() == ["a", "b", "b"]
    assert set(model.params()) == {
        "n_iter",
        "row_strength",
        "skill_strength",
        "prior_strength",
        "skill_lean",
        "max_strength",
        "strength_scale",
    }
    for bad in ({"row_strength": 0.0}, {"prior_strength": -1.0}, {"skill_lean": 1.0}):
        with pytest.raises(InvalidParameterError):
            HierarchicalDawidSkene(**bad)  # type: ignore[arg-type]


def many_classes_few_answers() -> tuple[Answers, np.ndarray]:
    """10 classes with a Zipf prior, 700 items, 4 answers each from 30 annotators of
    accuracy uniform in [0.1, 0.95]: the shape of the unseen set where rds@1 collapsed."""
    rng = np.random.default_rng(7)
    k, n, w, r = 10, 700, 30, 4
    prior = 1.0 / np.arange(1, k + 1)
    truth = rng.choice(k, size=n, p=prior / prior.sum())
    skill = rng.uniform(0.1, 0.95, w)
    item = np.repeat(np.arange(n), r)
    annotator = np.concatenate([rng.choice(w, r, replace=False) for _ in range(n)])
    right = rng.random(len(item)) < skill[annotator]
    label = np.where(right, truth[item], (truth[item] + rng.integers(1, k, len(item))) % k)
    data = Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"{i:04d}" for i in range(n)],
        annotators=[f"{a:02d}" for a in range(w)],
        classes=[str(c) for c in range(k)],
    )
    return data, truth


def test_no_class_absorption_with_many_classes_and_few_answers() -> None:
    data, truth = many_classes_few_answers()
    ours = HierarchicalDawidSkene().fit(data)
    vote = MajorityVote().fit(data)
    old = RegularizedDawidSkene().fit(data)
    accuracy = float(np.mean(ours.label_codes_ == truth))
    assert accuracy >= float(np.mean(vote.label_codes_ == truth)) - 0.01
    assert accuracy > float(np.mean(old.label_codes_ == truth)) + 0.1  # rds@1 collapses here
    # no class holds more than 1.5x its true share
    predicted = np.bincount(ours.label_codes_, minlength=10)
    assert np.all(predicted <= 1.5 * np.bincount(truth, minlength=10) + 5)


def test_one_answer_per_item_is_the_answer() -> None:
    """With one answer per item nothing identifies skill: the answers must stand (EM must
    not drift to "everything is the commonest class")."""
    rng = np.random.default_rng(3)
    rows = [(f"i{i:03d}", f"w{i % 7}", "abcd"[int(rng.integers(4))]) for i in range(200)]
    data = answers(rows)
    np.testing.assert_array_equal(
        HierarchicalDawidSkene().fit(data).label_codes_, MajorityVote().fit(data).label_codes_
    )


def test_row_order_and_annotator_names_do_not_matter() -> None:
    data, _ = many_classes_few_answers()
    rows = list(
        zip(
            (data.items[i] for i in data.item),
            (data.annotators[a] for a in data.annotator),
            (data.classes[c] for c in data.label),
            strict=True,
        )
    )
    renamed = [(item, f"z{99 - int(a)}", value) for item, a, value in reversed(rows)]
    classes = list(data.classes)
    one = HierarchicalDawidSkene().fit(Answers.from_rows(rows, classes=classes))
    two = HierarchicalDawidSkene().fit(Answers.from_rows(renamed, classes=classes))
    np.testing.assert_array_equal(one.probas_ppb_, two.probas_ppb_)


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """web (2,665 items, 177 annotators, 5 classes) as an ``hds@1`` task, in two
    interpreters fed in opposite orders with different hash seeds, and in this one."""
    forward = replayed_everywhere("web", "hds@1")
    assert forward == (
        "bafybeihmnv3ueytjroylesmtnsox2poxh7taepmujvx27tukfrtpoe4vze "
        "8838f0aad7cdeceb57938bc81a29166cf676ff8495cff5bdd247979a98f4d303"
    )


def test_row_strength_follows_how_one_coin_like_the_crowd_is() -> None:
    """One-coin annotators: rows scatter only by sampling noise, so the pull toward the
    one-coin mean is strong. Annotators with opposite class-dependent accuracies (0.95 on
    one class, 0.55 on the other): their rows differ for real, so the pull is weak."""
    one_coin, _ = many_classes_few_answers()
    assert HierarchicalDawidSkene().fit(one_coin).strength_ >= 32.0
    rng = np.random.default_rng(11)
    n, w = 400, 10
    truth = rng.integers(0, 2, n)
    favoured = np.arange(w) % 2  # the class each annotator is good at
    item = np.repeat(np.arange(n), w)
    annotator = np.tile(np.arange(w), n)
    accuracy = np.where(truth[item] == favoured[annotator], 0.95, 0.55)
    label = np.where(rng.random(n * w) < accuracy, truth[item], 1 - truth[item])
    data = Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"{i:03d}" for i in range(n)],
        annotators=[f"{a}" for a in range(w)],
        classes=["0", "1"],
    )
    model = HierarchicalDawidSkene().fit(data)
    assert model.strength_ <= 8.0
    assert float(np.mean(model.label_codes_ == truth)) >= 0.95
