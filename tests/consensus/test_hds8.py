"""``hds@8`` (issue #15): ``hds@6`` that takes no evidence from uninformative annotators
(:mod:`node.consensus.ignoring_ds`, :mod:`node.consensus.uninformative`). Registered under
its own id, so ``hds@6`` tasks keep their bytes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator
from node.consensus.capped_ds import CappedDominanceDawidSkene
from node.consensus.ignoring_ds import IgnoringDawidSkene
from node.consensus.majority_vote import MajorityVote
from node.consensus.registry import categorical_estimator
from node.consensus.uninformative import (
    AGREEMENT_Z,
    ALPHA,
    constant_answerers,
    favourite_answerers,
    uninformative_annotators,
)
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM
from tests.consensus.helpers import load_dataset
from tests.consensus.replay import replayed_everywhere
from tests.consensus.test_hds4 import answers_of
from tests.consensus.test_staged_ds import small_task_accuracies

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import adversaries


def coded(rows: list[tuple[int, int, int]], n_items: int, n_annotators: int) -> Answers:
    item, annotator, label = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"i{i:02d}" for i in range(n_items)],
        annotators=[f"w{w}" for w in range(n_annotators)],
        classes=["a", "b"],
    )


def alternating(n_items: int, constant_answers: int) -> Answers:
    """Annotators 0..2 answer every item ``a``, ``b``, ``a``, ``b``, ... (half ``a``);
    annotator 3 answers ``a`` on the first ``constant_answers`` items."""
    rows = [(i, w, i % 2) for i in range(n_items) for w in range(3)]
    rows += [(i, 3, 0) for i in range(constant_answers)]
    return coded(rows, n_items, 4)


def test_registered_with_its_parameters() -> None:
    assert DEFAULT_ALGORITHM == "hds@10"  # hds@8 was the default until hds@9
    model = categorical_estimator("hds@8")
    assert type(model) is IgnoringDawidSkene and model.algorithm == "hds@8"
    assert model.params() == {
        **CappedDominanceDawidSkene().params(),
        "ignore_alpha": repr(ALPHA),
        "agreement_z": repr(AGREEMENT_Z),
    }
    assert (ALPHA, AGREEMENT_Z) == (0.001, 2.576)
    assert "ignore_alpha" not in categorical_estimator("hds@6").params()
    with pytest.raises(InvalidParameterError, match="alpha"):
        IgnoringDawidSkene(alpha=1.0)


def test_a_constant_answerer_is_ignored_once_honest_constancy_is_unlikely() -> None:
    """The others answer ``a`` half the time, four annotators: the bound is 0.001 / 4 =
    0.00025; 0.5 ** 11 = 0.00049 is above it, 0.5 ** 12 = 0.00024 below. At alpha 0.05 the
    bound is 0.0125: 0.5 ** 6 = 0.0156 above, 0.5 ** 7 = 0.0078 below."""
    assert constant_answerers(alternating(20, 11)).tolist() == [False] * 4
    assert constant_answerers(alternating(20, 12)).tolist() == [False, False, False, True]
    assert not constant_answerers(alternating(20, 6), alpha=0.05).tolist()[3]
    assert constant_answerers(alternating(20, 7), alpha=0.05).tolist()[3]


def test_nobody_is_ignored_where_constancy_is_the_crowds() -> None:
    everyone_a = coded([(i, w, 0) for i in range(30) for w in range(4)], 30, 4)
    assert not constant_answerers(everyone_a).any()
    alone = coded([(i, 0, 0) for i in range(30)], 30, 1)
    assert not constant_answerers(alone).any()


def test_an_answer_nobody_else_gives_is_rare_at_any_count() -> None:
    rows = [(i, w, 0) for i in range(10) for w in range(3)] + [(0, 3, 1)]
    assert constant_answerers(coded(rows, 10, 4)).tolist() == [False, False, False, True]


def test_an_item_only_an_ignored_annotator_answered_gets_the_class_prior() -> None:
    """Items 0..19 answered by three alternating annotators (and the constant one); item 20
    only by the constant annotator, whose ``a`` would carry it under ``hds@6``."""
    rows = [(i, w, i % 2) for i in range(20) for w in range(3)]
    rows += [(i, 3, 1) for i in range(21)]
    data = coded(rows, 21, 4)
    ours = IgnoringDawidSkene().fit(data)
    assert ours.ignored_.tolist() == [False, False, False, True]
    old = categorical_estimator("hds@6").fit(data)
    assert old.labels_[20] == "b"
    probas = ours.probas_ppb_[20]
    assert abs(int(probas[0]) - int(probas[1])) < 0.1 * int(probas.sum())  # the prior


def test_where_nobody_is_ignored_it_is_hds6_to_the_byte() -> None:
    data = answers_of("dog")
    ours = categorical_estimator("hds@8").fit(data)
    assert isinstance(ours, IgnoringDawidSkene) and not ours.ignored_.any()
    old = categorical_estimator("hds@6").fit(data)
    assert ours.probas_ppb_.tobytes() == old.probas_ppb_.tobytes()


def crowd(
    honest: int, others: int, kind: str, seed: int = 0, items: int = 400
) -> tuple[Answers, np.ndarray, np.ndarray]:
    """Three classes (60/30/10), every annotator answers every item; ``honest`` annotators
    are right 70% of the time (else a random other class); ``others`` answer ``kind``:
    "favourite" (class 0 80% of the time, else at random), "random", or "bloc" (one random
    class per item, the same for the whole bloc). Returns the answers, the truth and which
    annotators are not honest."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=items, p=[0.6, 0.3, 0.1])
    labels = []
    for _ in range(honest):
        wrong = (truth + rng.integers(1, 3, items)) % 3
        labels.append(np.where(rng.random(items) < 0.7, truth, wrong))
    bloc = rng.integers(0, 3, items)
    for _ in range(others):
        if kind == "favourite":
            labels.append(np.where(rng.random(items) < 0.8, 0, rng.integers(0, 3, items)))
        elif kind == "random":
            labels.append(rng.integers(0, 3, items))
        else:
            labels.append(bloc)
    n = honest + others
    data = Answers.from_codes(
        np.tile(np.arange(items), n),
        np.repeat(np.arange(n), items),
        np.concatenate(labels),
        items=[f"i{i:03d}" for i in range(items)],
        annotators=[f"w{w:02d}" for w in range(n)],
        classes=["a", "b", "c"],
    )
    return data, truth, np.arange(n) >= honest


def test_favourite_class_answerers_are_found_and_nobody_else() -> None:
    data, _, bad = crowd(14, 6, "favourite")
    assert favourite_answerers(data).tolist() == bad.tolist()


def test_honest_annotators_are_kept_beside_random_answerers_and_blocs() -> None:
    """A bloc agrees with itself, so it counts as informative, and the honest, who do not
    agree with it, still agree with each other. Random answerers may be ignored (on this
    skewed task they over-give the rare classes): they carry no evidence either."""
    for kind in ("random", "bloc"):
        data, _, others = crowd(14, 6, kind)
        assert not np.any(favourite_answerers(data) & ~others), kind
    data, _, _ = crowd(14, 6, "bloc")
    assert not favourite_answerers(data).any()


def test_one_expert_among_random_answerers_is_kept() -> None:
    """With fewer than two informative annotators there is nothing to measure against: an
    expert among random answerers answers like a favourite-class answerer would."""
    data, _, _ = crowd(1, 7, "random")
    assert not favourite_answerers(data).any()


def test_favourite_class_answerers_cannot_take_the_consensus() -> None:
    """temp with 30% of its annotators giving its commonest class 80% of the time (the
    selection rule's attacked unit temp/biased/1): ``hds@6`` follows them, under the vote;
    ``hds@8`` ignores every one of them with 100 answers or more."""
    data, bad, (vote, old, ours), model = attacked_temp("biased", 1)
    assert old < vote < 0.5
    assert ours > 0.9
    busy = bad & (np.bincount(data.annotator, minlength=data.n_annotators) >= 100)
    assert busy.any() and np.array_equal(model.ignored_ & busy, busy)


def accuracy(model: CategoricalEstimator, data: Answers, gold: dict[str, str]) -> float:
    fitted = model.fit(data)
    labels = dict(zip(fitted.items_, (str(v) for v in fitted.labels_), strict=True))
    return float(np.mean([labels[item] == value for item, value in gold.items()]))


def attacked_temp(
    strategy: str, seed: int
) -> tuple[Answers, np.ndarray, tuple[float, float, float], IgnoringDawidSkene]:
    """temp with 30% of its annotators replaced as the selection rule's attacked unit
    ``temp/strategy/seed``: the answers, who was replaced, the accuracy of the vote,
    ``hds@6`` and ``hds@8``, and the fitted ``hds@8``."""
    _, gold = load_dataset("temp")
    rng = np.random.default_rng([seed, 30, adversaries.STRATEGIES.index(strategy)])
    data, bad = adversaries.attack(answers_of("temp"), 0.3, strategy, rng)
    model = IgnoringDawidSkene()
    scores = (
        accuracy(MajorityVote(), data, gold),
        accuracy(categorical_estimator("hds@6"), data, gold),
        accuracy(model, data, gold),
    )
    return data, bad, scores, model


def test_constant_answerers_cannot_take_the_consensus() -> None:
    """temp with 30% of its annotators answering its commonest class to everything (the
    selection rule's attacked units): ``hds@6`` follows them to the commonest class, under
    the vote; ``hds@8`` ignores every one of them with more than 20 answers (ten answers of
    a class the others give 71% of the time are not rare enough among 76 annotators)."""
    data, bad, (vote, old, ours), model = attacked_temp("constant", 0)
    assert old < vote < 0.5
    assert ours > 0.85
    busy = bad & (np.bincount(data.annotator, minlength=data.n_annotators) > 20)
    assert busy.any() and np.array_equal(model.ignored_ & busy, busy)


def test_small_tasks_stay_above_the_vote() -> None:
    for items in (40, 100):
        ours, vote = small_task_accuracies("hds@8", items)
        assert ours >= vote, (items, ours, vote)


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """temp, where two real annotators answer one class to everything (one of them 360
    times) and four over-give a class while agreeing with nobody (the two among them), all
    four ignored, as an
    ``hds@8`` task with gold revealed and the bloc test on, in two interpreters fed in
    opposite orders with different hash seeds, and in this one."""
    assert int(constant_answerers(answers_of("temp")).sum()) == 2
    assert int(favourite_answerers(answers_of("temp")).sum()) == 4
    assert int(uninformative_annotators(answers_of("temp")).sum()) == 4
    assert replayed_everywhere("temp", "hds@8") == PINNED


PINNED = (
    "bafkreicj6m5fj5csuicjefauosndxhjdzczbzdvfsjcwu4oobtkkdd53ga "
    "361ecc47f31f81a45d6e1ff92c7628e39595ad4210079e90d732e3c8788c55df"
)
"""The ``hds@6`` replay of temp gives another CID (``bafkreidv726f…``): ignoring the four
moves the posteriors there."""
