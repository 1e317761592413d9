"""``assigned@1`` (node/consensus/assigned.py): exact pay per accepted label on dealt items.

The fixture is the deal@1 test vector (tests/protocol/test_deal.py): N = 10 items, k = 3,
B = 6, so S = 5 seats, of which 4 are claimed. The seats' items, from the Solidity reference:

    seat 0 (a0): 8 7 5 2 6 4     seat 2 (a2): 0 3 8 7 5 2
    seat 1 (a1): 1 9 0 3 8 7     seat 3 (a3): 6 4 1 9 0 3

Every annotator answers all 10 items; "x" has no seat. Gold is given for every item (even
items "a", odd items "b"), so the consensus is the truth and the counts can be checked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from eth_utils.crypto import keccak

from node.consensus.answers import Answers
from node.consensus.assigned import Assignment, compute_assigned_rewards
from node.consensus.majority_vote import MajorityVote
from node.consensus.rewards import compute_rewards
from node.protocol.deal import deal
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.rules import RewardParams

SEED = keccak(b"labelnet/deal@1 test vector")
RATE = 7
POOL = 5 * 6 * RATE  # S * B * r = N * k * r = 210
ITEMS = [f"i{n}" for n in range(10)]
TRUTH = {f"i{n}": "ab"[n % 2] for n in range(10)}


def _assignment() -> Assignment:
    return Assignment(
        deal=deal(SEED, 10, 3, 6, 4),
        item_index={item: n for n, item in enumerate(ITEMS)},
        seat_of={"a0": 0, "a1": 1, "a2": 2, "a3": 3},
        seed_source="mixHash",
        seal_block=12,
    )


def _rows() -> list[tuple[str, str, str]]:
    """a0, a1, a2 and x always right; a3 always answers "a"."""
    rows = []
    for item in ITEMS:
        for who in ("a0", "a1", "a2", "x"):
            rows.append((item, who, TRUTH[item]))
        rows.append((item, "a3", "a"))
    return rows


def _params(significance_z: str = "0", pool: int = POOL) -> RewardParams:
    return RewardParams.create(RATE, pool, significance_z=significance_z)


def _fit(data: Answers) -> np.ndarray:
    return MajorityVote().fit(data, {i: TRUTH[i] for i in data.items}).probas_ppb_


def test_labels_not_dealt_to_their_author_are_dropped() -> None:
    data = Answers.from_rows(_rows())
    dealt = _assignment().restrict(data)
    assert len(data) == 50 and len(dealt) == 4 * 6  # x dropped entirely, 4 per seat undealt
    assert dealt.annotators == ("a0", "a1", "a2", "a3")
    seat_items = {
        who: sorted(dealt.items[i] for i in dealt.item[dealt.annotator == n])
        for n, who in enumerate(dealt.annotators)
    }
    assert seat_items["a3"] == ["i0", "i1", "i3", "i4", "i6", "i9"]
    assert seat_items["a0"] == ["i2", "i4", "i5", "i6", "i7", "i8"]


def test_pays_exactly_the_rate_per_accepted_label() -> None:
    dealt = _assignment().restrict(Answers.from_rows(_rows()))
    rewards = compute_assigned_rewards(dealt, _fit(dealt), _params(), _assignment())
    # a0..a2: 6 dealt items, all right. a3 answers "a": right on i0, i4, i6 (3 of 6),
    # accuracy 0.5 is below the 0.6 floor, so a3 is paid nothing.
    assert rewards.accepted.tolist() == [6, 6, 6, 3]
    assert rewards.eligible.tolist() == [True, True, True, False]
    assert rewards.payouts == (6 * RATE, 6 * RATE, 6 * RATE, 0)
    assert rewards.refund == POOL - 18 * RATE == 84
    assert rewards.total_payout + rewards.refund == POOL


def test_never_scales_where_the_v1_rule_would() -> None:
    """The same labels without the deal: v1 counts x and the undealt labels (10 each for
    a0, a1, a2, x: 280 > 210) and scales everyone to floor(70 * 210 / 280) = 52 per 10 labels,
    5.2 per label; assigned@1 pays 7 per label on the 6 dealt ones."""
    data = Answers.from_rows(_rows())
    v1 = compute_rewards(data, _fit(data), _params())
    assert v1.payouts == (52, 52, 52, 0, 52)  # annotators a0 a1 a2 a3 x
    dealt = _assignment().restrict(data)
    v2 = compute_assigned_rewards(dealt, _fit(dealt), _params(), _assignment())
    for paid, accepted in zip(v2.payouts, v2.accepted, strict=True):
        assert paid in (0, RATE * int(accepted))


def test_evidence_test_applies_as_in_the_v1_rule() -> None:
    """Six right answers on a two-class task are too few to pass z = 2.576, whatever the
    rule: eligibility is the v1 rule's steps 1 to 4 on the same answers."""
    dealt = _assignment().restrict(Answers.from_rows(_rows()))
    probas = _fit(dealt)
    strict = _params(significance_z="2.576")
    v2 = compute_assigned_rewards(dealt, probas, strict, _assignment())
    v1 = compute_rewards(dealt, probas, strict)
    assert v2.eligible.tolist() == v1.eligible.tolist()
    assert v2.quality.evidence_ppb.tolist() == v1.quality.evidence_ppb.tolist()
    assert not v2.eligible.any() and v2.payouts == (0, 0, 0, 0) and v2.refund == POOL


def test_undealt_answers_are_refused_not_paid() -> None:
    data = Answers.from_rows(_rows())
    with pytest.raises(InvalidAnswersError, match="26 answers on items not dealt"):
        compute_assigned_rewards(data, _fit(data), _params(), _assignment())


def test_a_pool_below_every_seat_in_full_is_refused() -> None:
    dealt = _assignment().restrict(Answers.from_rows(_rows()))
    with pytest.raises(InvalidParameterError, match="need 210"):
        compute_assigned_rewards(dealt, _fit(dealt), _params(pool=POOL - 1), _assignment())


def test_unknown_items_and_seats_read_as_not_dealt() -> None:
    assignment = Assignment(
        deal=deal(SEED, 10, 3, 6, 4),
        item_index={"i8": 8, "far": 99},
        seat_of={"a0": 0, "late": 4},  # seat 4 was never claimed
        seed_source="blockHash",
        seal_block=3,
    )
    data = Answers.from_rows(
        [("i8", "a0", "a"), ("far", "a0", "a"), ("i8", "late", "a"), ("i1", "a0", "b")]
    )
    # Rows are sorted by (item, annotator): far/a0, i1/a0, i8/a0, i8/late.
    assert assignment.dealt(data).tolist() == [False, False, True, False]
