"""``hds@9`` (issue #15): ``hds@8``, then plain Dawid-Skene EM from its posteriors where the
row strength is below its cap and the answers do not side with ``hds@8``
(:mod:`node.consensus.polished_ds`). Registered under its own id, so ``hds@8`` tasks keep
their bytes."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus import cell_fit
from node.consensus.answers import Answers
from node.consensus.base import Posteriors, initial_posteriors
from node.consensus.early_stop_ds import Settled
from node.consensus.ignoring_ds import IgnoringDawidSkene
from node.consensus.numerics import argmax_lowest, from_ppb
from node.consensus.polished_ds import (
    MIN_ITEMS,
    POLISH_ALPHA,
    POLISH_ITERATIONS,
    Z_DENOMINATOR,
    Z_NUMERATOR,
    AnchoredDawidSkene,
    PolishedDawidSkene,
    answers_side_with_first,
    polish,
)
from node.consensus.registry import categorical_estimator
from node.consensus.uninformative import AGREEMENT_Z
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM
from tests.consensus.helpers import load_dataset
from tests.consensus.replay import replayed_everywhere
from tests.consensus.test_hds4 import answers_of
from tests.consensus.test_staged_ds import small_task, small_task_accuracies


def accuracy(labels: np.ndarray, data: Answers, gold: dict[str, str]) -> float:
    hits = [labels[i] == gold[item] for i, item in enumerate(data.items) if item in gold]
    return float(np.mean(hits))


def fitted(name: str) -> tuple[Answers, dict[str, str], PolishedDawidSkene, IgnoringDawidSkene]:
    data = answers_of(name)
    _, gold = load_dataset(name)
    return data, gold, PolishedDawidSkene().fit(data), IgnoringDawidSkene().fit(data)


def test_registered_with_its_parameters() -> None:
    assert DEFAULT_ALGORITHM == "hds@10"  # hds@9 was the default until hds@10
    model = categorical_estimator("hds@9")
    assert type(model) is PolishedDawidSkene and model.algorithm == "hds@9"
    assert model.params() == {
        **IgnoringDawidSkene().params(),
        "polish_iterations": 10,
        "polish_alpha": "0.01",
        "polish_min_items": 500,
    }
    assert (POLISH_ITERATIONS, POLISH_ALPHA, MIN_ITEMS) == (10, 0.01, 500)
    assert Z_NUMERATOR / Z_DENOMINATOR == AGREEMENT_Z
    with pytest.raises(InvalidParameterError, match="polish_alpha"):
        PolishedDawidSkene(polish_alpha=0.0)
    with pytest.raises(InvalidParameterError, match="n_iter"):
        PolishedDawidSkene(polish_iterations=-1)
    with pytest.raises(InvalidParameterError, match="min_items"):
        PolishedDawidSkene(min_items=-1)


def two_items(first: int, second: int, extra: int = 0) -> tuple[Answers, np.ndarray]:
    """Item 0: ``first`` annotators answer ``a`` and ``second`` answer ``b``; item 1, where
    both labelings agree, gets ``extra`` answers ``a``; annotator ``w*`` numbering is
    per answer (nobody answers twice)."""
    rows = [("i0", f"w{w}", "a") for w in range(first)]
    rows += [("i0", f"w{first + w}", "b") for w in range(second)]
    rows += [("i1", f"x{w}", "a") for w in range(max(extra, 1))]
    return Answers.from_rows(rows), np.ones(first + second + max(extra, 1), dtype=bool)


@pytest.mark.parametrize(
    ("p", "q", "sides"),
    [
        (63, 37, True),  # lead 26 > 2.576 * 10
        (62, 38, False),  # lead 24
        (37, 63, False),  # the lead is the other labeling's
        (6, 0, False),  # 6 < 2.576 * sqrt(6) = 6.31
        (7, 0, True),  # 7 > 2.576 * sqrt(7) = 6.82
    ],
)
def test_the_answers_side_with_a_labeling_beyond_the_evidence_z(
    p: int, q: int, sides: bool
) -> None:
    """On the one item the labelings differ on, ``p`` answers give the first's label and
    ``q`` the second's; 500 answers on an item both agree on do not count."""
    data, counted = two_items(p, q, extra=500)
    first, second = np.array([0, 0]), np.array([1, 0])
    assert answers_side_with_first(data, first, second, counted) is sides


def test_the_test_is_exact_at_its_boundary() -> None:
    """``lead > z sqrt(n)`` in integers: 26 > 2.576 * sqrt(100) = 25.76 holds, 25 does
    not; with ``n`` = 101 (lead 25: 25.89) neither does 25, and 27 of 103 (26.14) holds."""
    cases = {(63, 37): True, (62, 38): False, (63, 38): False, (65, 38): True}
    for (p, q), sides in cases.items():
        data, counted = two_items(p, q)
        assert answers_side_with_first(data, np.array([0, 0]), np.array([1, 0]), counted) is sides


def test_only_counted_annotators_answers_count() -> None:
    data, counted = two_items(63, 37)
    first, second = np.array([0, 0]), np.array([1, 0])
    assert answers_side_with_first(data, first, second, counted)
    dropped = counted.copy()
    for w, name in enumerate(data.annotators):  # drop ten of the first label's answerers
        if name in {f"w{i}" for i in range(10)}:
            dropped[w] = False
    assert not answers_side_with_first(data, first, second, dropped)  # 53 - 37 = 16 < 23.5


def float_dawid_skene(data: Answers, start: np.ndarray, iterations: int) -> np.ndarray:
    """Textbook Dawid-Skene in float64, written out here as the reference: smoothed counts
    ``(c + 0.01) / (n + 0.01 K)``, the prior with one pseudo-item per class."""
    k = data.n_classes
    post = start
    for _ in range(iterations):
        counts = np.zeros((data.n_annotators, k, k))
        for j in range(len(data)):
            counts[data.annotator[j], :, data.label[j]] += post[data.item[j]]
        rows = (counts + POLISH_ALPHA) / (counts.sum(axis=2, keepdims=True) + k * POLISH_ALPHA)
        prior = (post.sum(axis=0) + 1.0) / (data.n_items + k)
        log_post = np.tile(np.log(prior), (data.n_items, 1))
        for j in range(len(data)):
            log_post[data.item[j]] += np.log(rows[data.annotator[j], :, data.label[j]])
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
    return post


def test_the_polish_is_textbook_dawid_skene() -> None:
    """On 60 random answers (3 classes), every iteration count from 1 to 6: the polish's
    posteriors equal the float reference to 1e-6 (its terms are fixed-point)."""
    rng = np.random.default_rng(9)
    rows = [
        (f"i{rng.integers(15)}", f"w{rng.integers(6)}", "abc"[rng.integers(3)]) for _ in range(60)
    ]
    data = Answers.from_rows(rows)
    no_gold = np.full(data.n_items, -1, dtype=np.int64)
    start = initial_posteriors(data, no_gold)
    calls = iter(range(1_000))

    def unsettled(posteriors: Posteriors, prior: np.ndarray) -> Settled:
        return Settled(np.array([next(calls)]), np.zeros(0, dtype=np.int64))  # never the same

    for iterations in range(1, 7):
        ours, taken = polish(data, start, no_gold, iterations, POLISH_ALPHA, unsettled)
        reference = float_dawid_skene(data, from_ppb(start), iterations)
        assert taken == iterations
        assert np.max(np.abs(from_ppb(ours) - reference)) < 1e-6


def test_the_polish_stops_once_settled_and_keeps_gold() -> None:
    rows = [(f"i{i}", f"w{w}", "ab"[i % 2]) for i in range(20) for w in range(3)]
    data = Answers.from_rows(rows)
    gold = np.full(data.n_items, -1, dtype=np.int64)
    gold[0] = 1  # against every answer on i0
    model = PolishedDawidSkene()
    start = initial_posteriors(data, gold)
    probas, taken = polish(data, start, gold, 30, POLISH_ALPHA, model._settled_state)
    assert taken < 30  # unanimous answers: labels and prior settle at once
    calls = iter(range(1_000))
    unstopped, _ = polish(
        data,
        start,
        gold,
        taken,
        POLISH_ALPHA,
        lambda *_: Settled(np.array([next(calls)]), np.zeros(0, dtype=np.int64)),
    )
    assert unstopped.tobytes() == probas.tobytes()  # the stop only ends the loop
    assert argmax_lowest(probas)[0] == 1
    assert argmax_lowest(probas)[1:].tolist() == [i % 2 for i in range(1, 20)]


def one_coin_crowd(items: int, seed: int = 0) -> Answers:
    """Ten annotators answering every item of three classes right with probability 0.75,
    otherwise one of the two other classes uniformly: rows that are one-coin by design."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(3, size=items)
    rows = []
    for w in range(10):
        wrong = (truth + rng.integers(1, 3, size=items)) % 3
        given = np.where(rng.random(items) < 0.75, truth, wrong)
        rows += [(f"i{i:04d}", f"w{w}", "abc"[int(c)]) for i, c in enumerate(given)]
    return Answers.from_rows(rows)


def test_at_the_strength_cap_it_is_hds8_to_the_byte() -> None:
    """600 items of a one-coin crowd: its rows are as one-coin as the moment estimate can
    tell, so there is no polish."""
    data = one_coin_crowd(600)
    ours, old = PolishedDawidSkene().fit(data), IgnoringDawidSkene().fit(data)
    assert data.n_items >= MIN_ITEMS
    assert ours.strength_ == ours.max_strength == 64.0
    assert not ours.polished_ and ours.polish_iterations_ == 0
    assert ours.probas_ppb_.tobytes() == old.probas_ppb_.tobytes()


def test_class_dependent_rows_are_polished() -> None:
    """dog and zheng_d_product: ``hds@8`` is 2.2 and 1.2 points under crowd-kit's
    Dawid-Skene (0.8426 and 0.9397 in BENCHMARKS.md); the polish is kept on both, and
    both come within 0.3 points of it."""
    for name, reference in (("dog", 0.8426), ("zheng_d_product", 0.9397)):
        data, gold, ours, old = fitted(name)
        assert ours.strength_ < ours.max_strength and ours.polished_
        assert accuracy(old.labels_, data, gold) < reference - 0.01
        assert accuracy(ours.labels_, data, gold) >= reference - 0.003


def test_where_the_answers_side_with_hds8_it_is_kept() -> None:
    """zencrowd_us and web: the polish falls into Dawid-Skene's own basin (0.82 and 0.85,
    where ``hds@8`` has 0.887 and 0.892); the answers on the items they differ on side with
    ``hds@8`` far beyond the z, and its bytes are the result."""
    for name in ("zencrowd_us", "web"):
        data, gold, ours, old = fitted(name)
        assert ours.strength_ < ours.max_strength and ours.polish_iterations_ > 0
        assert not ours.polished_
        assert ours.probas_ppb_.tobytes() == old.probas_ppb_.tobytes()
        assert accuracy(ours.labels_, data, gold) > 0.88


def test_small_tasks_keep_hds8s_fit() -> None:
    """The issue's small task (40 and 100 items): under :data:`MIN_ITEMS`, so no polish,
    which on these (six annotators, three of them near chance) falls to 0.62 at 100 items
    where the vote has 0.76 (BENCHMARKS.md); above the vote as ``hds@8`` is."""
    for items in (40, 100):
        data, gold, _ = small_task(items)
        ours = PolishedDawidSkene().fit(data, gold)
        assert data.n_items < MIN_ITEMS and ours.polish_iterations_ == 0
        old = IgnoringDawidSkene().fit(data, gold)
        assert ours.probas_ppb_.tobytes() == old.probas_ppb_.tobytes()
        forced = PolishedDawidSkene(min_items=0).fit(data, gold)
        assert forced.polish_iterations_ > 0  # the gate, not the strength, kept it out
        ours_accuracy, vote = small_task_accuracies("hds@9", items)
        assert ours_accuracy >= vote, (items, ours_accuracy, vote)


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """zheng_d_possent as an ``hds@9`` task with gold revealed and the bloc test on (the
    polish kept after all its iterations), in two interpreters fed in opposite orders
    with different hash seeds, and in this one."""
    _, gold = load_dataset("zheng_d_possent")
    revealed = {item: label for n, (item, label) in enumerate(sorted(gold.items())) if n % 10 == 0}
    model = PolishedDawidSkene().fit(answers_of("zheng_d_possent"), revealed)
    assert model.polished_ and model.polish_iterations_ == POLISH_ITERATIONS
    assert replayed_everywhere("zheng_d_possent", "hds@9") == PINNED


PINNED = (
    "bafkreibwpxhplqezpvsd3q52lmsky3iyhqj2sk6noxkzref5pzdgqlz2ca "
    "504dda140e11efa0bf6d1fae9512139c1da393e676d5402d8ab0f40781743d2f"
)
"""The ``hds@8`` replay of zheng_d_possent gives another CID: the polish moves its labels."""


def test_the_anchored_candidate_is_the_same_over_dense_rows_and_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The benchmark candidate :class:`AnchoredDawidSkene` reads ``hds@8``'s fitted rows at
    the answered cells from whichever form the fit kept: the dense table, or the cells'
    state. Both give the same posteriors, which differ from ``hds@9``'s (dog, polished)."""
    data = answers_of("dog")
    monkeypatch.setattr(cell_fit, "DENSE_CELLS", 1 << 62)
    dense = AnchoredDawidSkene(anchor_strength=2.0).fit(data)
    monkeypatch.setattr(cell_fit, "DENSE_CELLS", 0)
    cells = AnchoredDawidSkene(anchor_strength=2.0).fit(data)
    assert dense.polished_ and cells.polished_
    assert dense.probas_ppb_.tobytes() == cells.probas_ppb_.tobytes()
    plain = PolishedDawidSkene().fit(data)
    assert plain.probas_ppb_.tobytes() != dense.probas_ppb_.tobytes()
    assert dense.params() == {**plain.params(), "polish_anchor": "2.0"}
    with pytest.raises(InvalidParameterError, match="anchor_strength"):
        AnchoredDawidSkene(anchor_strength=0.0)
