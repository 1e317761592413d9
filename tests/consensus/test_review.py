"""``review@1`` (node/consensus/review.py): a round small enough to check by hand, each rule
on its own, the money conserved on random rounds, and reviewed items entering the consensus
through the gold path."""

from __future__ import annotations

import numpy as np
import pytest
from eth_utils.address import to_checksum_address

from node.consensus.answers import Answers
from node.consensus.numerics import argmax_lowest
from node.consensus.review import (
    ReviewerVotes,
    ReviewOutcome,
    review_leaves,
    review_round,
    review_section,
    reviewed_consensus,
    reviewed_gold,
)
from node.consensus.task import categorical_consensus
from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import STAGED_DAWID_SKENE
from node.protocol.review import ReviewParams, read_review_leaf

A, B, C = ("0x" + d * 20 for d in ("11", "22", "33"))
PARAMS = ReviewParams.create(10, 20, contested_below="0.8")  # r = 10, s = 20, floor 0.8
CLASSES = ("x", "y")
# canonical_json(review_section(hand_round(), PARAMS)): pinned once; any change is a new rule id.
PINNED_SECTION_CID = "bafkreibokrnim2zohrbqh2je7pcg33yyp7p7hfx5vh62yibeg3a6753kca"


def hand_round() -> ReviewOutcome:
    """i1: A (5) says x, B (3) says y -> x (5 > 3). i2: both x. i3: hidden gold y, both y.
    C committed and never revealed."""
    return review_round(
        ["i3", "i1", "i2"],
        CLASSES,
        [
            ReviewerVotes(C, 1, None),
            ReviewerVotes(A, 5, {"i1": "x", "i2": "x", "i3": "y"}, "bafyA"),
            ReviewerVotes(B, 3, {"i1": "y", "i2": "x", "i3": "y"}),
        ],
        {"i3": "y", "zz": "x"},  # hidden gold off the contested set is not used
        PARAMS,
    )


def test_the_hand_checked_round() -> None:
    outcome = hand_round()
    assert outcome.reviewed == {"i1": "x", "i2": "x", "i3": "y"}
    assert [row.tally for row in outcome.items] == [
        (("x", 5), ("y", 3)),
        (("x", 8),),
        (("y", 8),),
    ]
    assert [row.votes for row in outcome.items] == [
        ("x", "y", None),
        ("x", "x", None),
        ("y", "y", None),
    ]
    a, b, c = outcome.reviewers  # sorted by address
    # A: 3 coherent, 1/1 check -> fee 3r = 30. B: 2 coherent, 1 incoherent -> fee 20,
    # slashed s = 20, its unpaid vote's r = 10 to the pot. C: whole lock 3s = 60.
    # pot = 10 + 20 + 60 = 90, shared 3:2 -> 54 and 36, capped at r per coherent vote ->
    # 30 and 20; the other 40 is burned.
    assert (a.coherent, a.incoherent, a.checks, a.checks_correct, a.eligible) == (3, 0, 1, 1, True)
    assert (a.fee, a.share, a.pay, a.slashed) == (30, 30, 60, 0)
    assert (b.coherent, b.incoherent, b.fee, b.share, b.pay, b.slashed) == (2, 1, 20, 20, 40, 20)
    assert (c.revealed, c.fee, c.share, c.slashed) == (False, 0, 0, 60)
    assert (outcome.votes_bought, outcome.pot, outcome.burned) == (6, 90, 40)


def test_review_leaves_carry_pay_slash_and_bought_votes() -> None:
    leaves = dict(review_leaves(hand_round()))
    fields = [read_review_leaf(leaves[to_checksum_address(x)]) for x in (A, B, C)]
    assert fields == [(60, 0, 3), (40, 20, 3), (0, 60, 0)]
    # The votes the leaves charge the requester are the round's bought votes.
    assert sum(votes for _, _, votes in filter(None, fields)) == hand_round().votes_bought


def test_the_result_section_is_pinned() -> None:
    section = review_section(hand_round(), PARAMS)
    assert section["reviewers"][0]["account"] == "0x1111111111111111111111111111111111111111"
    assert section["reviewers"][0]["votes_cid"] == "bafyA"
    assert section["items"][0] == {
        "item": "i1",
        "value": "x",
        "hidden_gold": False,
        "tally": {"x": "5", "y": "3"},
        "votes": ["x", "y", None],
    }
    assert compute_cid(canonical_json(section)) == PINNED_SECTION_CID


def test_ties_go_to_the_first_class() -> None:
    outcome = review_round(
        ["i1"],
        CLASSES,
        [ReviewerVotes(A, 4, {"i1": "y"}), ReviewerVotes(B, 4, {"i1": "x"})],
        {},
        PARAMS,
    )
    assert outcome.reviewed == {"i1": "x"}
    assert [(row.coherent, row.incoherent) for row in outcome.reviewers] == [(0, 1), (1, 0)]


def test_hidden_gold_overrules_the_vote_and_failing_it_takes_a_vote_out() -> None:
    outcome = review_round(
        ["i1", "i2"],
        CLASSES,
        [ReviewerVotes(A, 4, {"i1": "y", "i2": "y"}), ReviewerVotes(B, 4, {"i1": "x", "i2": "y"})],
        {"i2": "x"},
        PARAMS,
    )
    # Both fail their only check (0/1 < 0.8): neither vote counts, so i1 has no reviewed
    # answer (its votes are neither coherent nor slashed) and i2 is the gold's x.
    assert outcome.reviewed == {"i2": "x"}
    assert outcome.items[0].tally == ()
    a, b = outcome.reviewers
    assert (a.eligible, b.eligible, a.pay, b.pay) == (False, False, 0, 0)
    assert (a.coherent, a.incoherent, a.slashed) == (0, 1, 20)
    # Pot: each reviewer's 2 unpaid votes (2r) and one slash (s) = 40 each; nobody is
    # eligible, so all of it is burned, never refunded.
    assert (outcome.pot, outcome.burned) == (80, 80)


def test_a_lazy_majority_that_fails_the_checks_does_not_decide() -> None:
    """Three reviewers copy the consensus (y everywhere), one judges; the check i2 is x."""
    lazy = [ReviewerVotes("0x" + f"{n:040x}", 1, {"i1": "y", "i2": "y"}) for n in (7, 8, 9)]
    outcome = review_round(
        ["i1", "i2"],
        CLASSES,
        [*lazy, ReviewerVotes(A, 1, {"i1": "x", "i2": "x"})],
        {"i2": "x"},
        PARAMS,
    )
    assert outcome.reviewed == {"i1": "x", "i2": "x"}
    assert outcome.items[0].tally == (("x", 1),)
    copiers = [row for row in outcome.reviewers if row.account != A.lower()]
    judge = next(row for row in outcome.reviewers if row.account == A.lower())
    assert [(row.eligible, row.incoherent, row.slashed, row.pay) for row in copiers] == [
        (False, 2, 40, 0)
    ] * 3
    # Judge: fee 2r = 20, and the pot (3 x (2r + 2s) = 180) capped at r per vote: 20.
    assert (judge.eligible, judge.fee, judge.share, judge.pay) == (True, 20, 20, 40)
    assert (outcome.pot, outcome.burned) == (180, 160)


def test_an_item_nobody_voted_on_has_no_reviewed_answer() -> None:
    outcome = review_round(["i1"], CLASSES, [ReviewerVotes(A, 1, None)], {}, PARAMS)
    assert outcome.reviewed == {}
    assert outcome.items[0].value is None
    assert (outcome.votes_bought, outcome.pot, outcome.burned) == (0, 20, 20)


@pytest.mark.parametrize(
    "reviewers",
    [
        [ReviewerVotes(A, 1, {"i1": "x"}), ReviewerVotes(A.upper().replace("0X", "0x"), 1, None)],
        [ReviewerVotes(A, 0, {"i1": "x"})],
        [ReviewerVotes("not an address", 1, {"i1": "x"})],
        [ReviewerVotes(A, 1, {"i1": "z"})],
        [ReviewerVotes(A, 1, {"i1": "x", "i2": "x"})],
        [ReviewerVotes("0x" + f"{n + 1:040x}", 1, None) for n in range(8)],  # 7 seats
    ],
)
def test_a_round_that_breaks_the_rules_is_refused(reviewers: list[ReviewerVotes]) -> None:
    with pytest.raises(InvalidParameterError):
        review_round(["i1"], CLASSES, reviewers, {}, PARAMS)


def test_hidden_gold_outside_the_classes_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="hidden gold"):
        review_round(["i1"], CLASSES, [ReviewerVotes(A, 1, None)], {"i1": "z"}, PARAMS)


@pytest.mark.parametrize("seed", range(20))
def test_money_is_conserved(seed: int) -> None:
    """Whatever the votes: pay + burned = what the requester paid for votes + every slash,
    no reviewer is slashed more than its lock nor shares more than r per coherent vote."""
    rng = np.random.default_rng(seed)
    classes = ("a", "b", "c")
    items = [f"i{n}" for n in range(int(rng.integers(1, 12)))]
    reviewers = []
    for n in range(int(rng.integers(1, 8))):
        votes = None if rng.random() < 0.2 else {i: classes[int(rng.integers(3))] for i in items}
        reviewers.append(ReviewerVotes("0x" + f"{n + 1:040x}", int(rng.integers(1, 100)), votes))
    gold = {i: classes[int(rng.integers(3))] for i in items if rng.random() < 0.3}
    params = ReviewParams.create(
        int(rng.integers(1, 50)), int(rng.integers(1, 50)), gold_floor="0.5"
    )
    outcome = review_round(items, classes, reviewers, gold, params)
    slashed = sum(row.slashed for row in outcome.reviewers)
    paid = sum(row.pay for row in outcome.reviewers)
    assert paid + outcome.burned == outcome.votes_bought * params.fee_per_vote + slashed
    assert all(row.slashed <= params.lock(len(items)) for row in outcome.reviewers)
    assert all(row.share <= row.coherent * params.fee_per_vote for row in outcome.reviewers)
    assert 0 <= outcome.burned <= outcome.pot


ROWS = [  # three annotators; item q splits 1:2 with the weak annotator w on the majority
    ("p", "u", "x"),
    ("p", "v", "x"),
    ("p", "w", "x"),
    ("q", "u", "x"),
    ("q", "v", "y"),
    ("q", "w", "y"),
    ("r", "u", "y"),
    ("r", "v", "y"),
    ("r", "w", "x"),
    ("s", "u", "x"),
    ("s", "v", "x"),
    ("s", "w", "y"),
]


def test_reviewed_items_enter_the_consensus_as_gold() -> None:
    answers = Answers.from_rows(ROWS)
    outcome = review_round(
        ["q"],
        CLASSES,
        [ReviewerVotes(A, 1, {"q": "x"}), ReviewerVotes(B, 1, {"q": "x"})],
        {},
        PARAMS,
    )
    assert reviewed_gold({"p": "x"}, outcome) == {"p": "x", "q": "x"}
    fit = reviewed_consensus(answers, {"p": "x"}, STAGED_DAWID_SKENE, outcome)
    same = categorical_consensus(answers, {"p": "x", "q": "x"}, STAGED_DAWID_SKENE)
    assert np.array_equal(fit.probas_ppb, same.probas_ppb)
    q = answers.items.index("q")
    assert answers.classes[int(argmax_lowest(fit.probas_ppb)[q])] == "x"
    assert int(fit.probas_ppb[q].max()) == 10**9  # decided, as a gold item is
    assert int(fit.gold_codes[q]) >= 0


def test_a_reviewed_item_that_is_gold_with_another_answer_is_an_error() -> None:
    outcome = review_round(["q"], CLASSES, [ReviewerVotes(A, 1, {"q": "x"})], {}, PARAMS)
    with pytest.raises(InvalidParameterError, match="gold and reviewed"):
        reviewed_gold({"q": "y"}, outcome)


def test_an_empty_contested_set_costs_and_pays_nothing() -> None:
    outcome = review_round(
        [], CLASSES, [ReviewerVotes(A, 1, {}), ReviewerVotes(B, 1, None)], {}, PARAMS
    )
    assert outcome.reviewed == {}
    assert [(row.pay, row.slashed) for row in outcome.reviewers] == [(0, 0), (0, 0)]
    assert (outcome.votes_bought, outcome.pot, outcome.burned) == (0, 0, 0)
