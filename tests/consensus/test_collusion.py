"""The bloc test: colluders flagged, honest crowds left alone, deterministic."""

from __future__ import annotations

import numpy as np

from node.consensus import collusion
from node.consensus.answers import Answers
from node.consensus.base import expected_confusion_ppb
from node.consensus.bloc_sums import ProposalRows
from node.consensus.collusion import BlocOutcome, find_blocs
from node.consensus.numerics import from_ppb, row_sum
from node.consensus.regularized_ds import RegularizedDawidSkene

CLASSES = ("a", "b", "c")


def crowd(
    honest: int, colluders: int, items: int = 60, accuracy: float = 0.8, seed: int = 7
) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Every annotator answers every item; honest ones are right with ``accuracy`` and
    otherwise pick another class at random; colluders all give one random class per item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, items)
    shared = rng.integers(0, 3, items)
    rows = []
    for n in range(honest):
        right = rng.random(items) < accuracy
        wrong = (truth + rng.integers(1, 3, items)) % 3
        for i in range(items):
            rows.append((f"i{i:03d}", f"h{n:02d}", CLASSES[truth[i] if right[i] else wrong[i]]))
    for n in range(colluders):
        for i in range(items):
            rows.append((f"i{i:03d}", f"x{n:02d}", CLASSES[shared[i]]))
    gold = {f"i{i:03d}": CLASSES[truth[i]] for i in range(items)}
    return rows, gold


def defend(rows: list[tuple[str, str, str]], revealed: dict[str, str]) -> BlocOutcome:
    data = Answers.from_rows(rows)

    def fit(subset: Answers) -> tuple[tuple[str, ...], np.ndarray]:
        model = RegularizedDawidSkene().fit(subset, revealed)
        return model.items_, model.probas_ppb_

    _, probas = fit(data)
    return find_blocs(data, data.encode_gold(revealed), fit, probas)


def every_fifth(gold: dict[str, str]) -> dict[str, str]:
    return {item: label for n, (item, label) in enumerate(sorted(gold.items())) if n % 5 == 0}


def flagged_names(rows: list[tuple[str, str, str]], outcome: BlocOutcome) -> list[str]:
    annotators = Answers.from_rows(rows).annotators
    return [a for a, f in zip(annotators, outcome.flagged.tolist(), strict=True) if f]


def test_colluders_are_flagged_and_the_honest_are_not() -> None:
    rows, gold = crowd(honest=6, colluders=3)
    outcome = defend(rows, every_fifth(gold))
    assert flagged_names(rows, outcome) == ["x00", "x01", "x02"]
    data = Answers.from_rows(rows)
    consensus = [CLASSES[c] for c in outcome.probas_ppb.argmax(axis=1)]
    accuracy = np.mean([c == gold[i] for c, i in zip(consensus, data.items, strict=True)])
    assert accuracy >= 0.95  # six honest annotators at 0.8, without the bloc


def test_an_honest_crowd_is_left_alone_and_its_fit_unchanged() -> None:
    rows, gold = crowd(honest=9, colluders=0)
    revealed = every_fifth(gold)
    outcome = defend(rows, revealed)
    assert not outcome.flagged.any()
    expected = RegularizedDawidSkene().fit(Answers.from_rows(rows), revealed).probas_ppb_
    assert np.array_equal(outcome.probas_ppb, expected)


def test_skilled_honest_annotators_who_agree_a_lot_are_not_a_bloc() -> None:
    rows, gold = crowd(honest=6, colluders=0, accuracy=0.97)
    assert not defend(rows, every_fifth(gold)).flagged.any()


def test_a_bloc_holding_most_answers_flags_nobody() -> None:
    rows, gold = crowd(honest=3, colluders=5)
    assert not defend(rows, every_fifth(gold)).flagged.any()


def test_two_classes_are_tested_only_with_gold() -> None:
    rows, gold = crowd(honest=6, colluders=3, items=120)
    binary = [(i, w, "a" if label == "a" else "b") for i, w, label in rows]
    binary_gold = {i: "a" if label == "a" else "b" for i, label in gold.items()}
    assert flagged_names(binary, defend(binary, every_fifth(binary_gold))) == [
        "x00",
        "x01",
        "x02",
    ]
    assert not defend(binary, {}).flagged.any()


def test_flags_do_not_depend_on_row_order() -> None:
    rows, gold = crowd(honest=6, colluders=3, seed=11)
    revealed = every_fifth(gold)
    first = defend(rows, revealed)
    shuffled = [rows[n] for n in np.random.default_rng(3).permutation(len(rows))]
    second = defend(shuffled, revealed)
    assert np.array_equal(first.flagged, second.flagged)
    assert np.array_equal(first.probas_ppb, second.probas_ppb)


def test_proposal_rows_have_the_expression_forms_bits() -> None:
    """``ProposalRows`` builds the rows of the annotators asked for, from counts per
    answered cell, in place, adding own gold answers at the cells they fill; ``bloc@1``
    wrote it as whole-array expressions over every annotator."""
    rows, gold = crowd(honest=5, colluders=2, items=50)
    data = Answers.from_rows(rows)
    for revealed in ({}, every_fifth(gold), gold):
        gold_codes = data.encode_gold(revealed)
        probas = RegularizedDawidSkene().fit(data, revealed).probas_ppb_
        k, w, s = data.n_classes, data.n_annotators, collusion.SMOOTHING
        counts_ppb = expected_confusion_ppb(data, probas)
        pooled = np.add(from_ppb(counts_ppb.sum(axis=0)), 1.0)
        pooled = np.divide(pooled, row_sum(pooled)[:, None])
        fitted = np.divide(
            np.add(from_ppb(counts_ppb), np.multiply(pooled[None], s)),
            np.add(from_ppb(counts_ppb.sum(axis=2, keepdims=True)), s),
        )
        on_gold = gold_codes[data.item] >= 0
        cells = (data.annotator[on_gold] * k + gold_codes[data.item[on_gold]]) * k
        own = np.bincount(cells + data.label[on_gold], minlength=w * k * k).reshape(w, k, k)
        expected = np.divide(
            np.add(own.astype(np.float64), np.multiply(fitted, s)),
            np.add(own.sum(axis=2, keepdims=True).astype(np.float64), s),
        )
        proposal = ProposalRows(data, gold_codes, probas, s)
        assert proposal.rows(np.arange(w)).tobytes() == expected.tobytes()
        some = np.array([1, 4, 5])
        assert proposal.rows(some).tobytes() == expected[some].tobytes()


def test_a_pair_sharing_fewer_items_than_the_bound_never_seeds() -> None:
    """The proposal computes a pair's null agreement only if the pair can seed, which takes
    ``n KL(d/n || p) >= SEED_LEVEL``; with ``q >= AGREEMENT_TOLERANCE`` the largest KL is
    ``-ln AGREEMENT_TOLERANCE``, so fewer shared items than ``SEED_LEVEL`` over that never
    seed. Checked here with the module's own KL, at the extremes and at random."""
    bound = collusion.SEED_LEVEL / -np.log(collusion.AGREEMENT_TOLERANCE)
    largest = int(np.ceil(bound)) - 1  # the most shared items that cannot seed
    assert largest >= 1
    rng = np.random.default_rng(5)
    q = np.concatenate(([collusion.AGREEMENT_TOLERANCE], rng.uniform(0.25, 1.0, 20_000)))
    p = np.subtract(1.0, q)
    for n in range(1, largest + 1):
        d = np.floor(rng.uniform(0.0, 1.0, len(q)) * (n + 1))
        d[0] = 0.0  # no disagreement at all: the largest KL
        score = np.multiply(float(n), collusion._kl(np.divide(d, float(n)), p))
        assert float(score.max()) < collusion.SEED_LEVEL
    # One more shared item with no disagreement at the lowest q does reach it: the bound
    # is the exact one, not a loose one.
    edge = collusion._kl(np.zeros(1), p[:1])
    assert float(largest + 1) * float(edge[0]) >= collusion.SEED_LEVEL
