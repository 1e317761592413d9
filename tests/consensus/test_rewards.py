"""Reward rule: confident consensus, accuracy and skill floors, integer pro-rata payouts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from node.consensus.errors import InvalidParameterError
from node.consensus.majority_vote import MajorityVote
from node.consensus.rewards import RewardParams, allocate, compute_rewards, ppb_text, ratio_ppb
from tests.consensus.helpers import answers, obvious_rows


def test_ratios_parse_exactly() -> None:
    assert ratio_ppb("0.8", "x") == 800_000_000
    assert ratio_ppb(Fraction(1, 3), "x") == 333_333_333
    assert ratio_ppb(1, "x") == 1_000_000_000
    for bad in (0.8, True, "1.5", "-0.1", "abc"):
        with pytest.raises(InvalidParameterError):
            ratio_ppb(bad, "x")  # type: ignore[arg-type]


def test_ppb_text() -> None:
    assert ppb_text(800_000_000) == "0.800000000"
    assert ppb_text(1_000_000_000) == "1.000000000"
    assert ppb_text(-5) == "-0.000000005"


def test_allocate_pays_in_full_or_pro_rata_rounded_down() -> None:
    assert allocate([10, 20, 30], 100) == ((10, 20, 30), 40)
    assert allocate([10, 20, 30], 50) == ((8, 16, 25), 1)  # floor(e * 50 / 60); 1 refunded
    assert allocate([0, 0], 7) == ((0, 0), 7)
    huge = 10**30
    assert allocate([huge, huge], 3 * huge) == ((huge, huge), huge)


def test_obvious_task_pays_the_good_and_not_the_lazy() -> None:
    data = answers(obvious_rows())
    probas = MajorityVote().fit(data, {"i1": "a"}).probas_ppb_
    params = RewardParams.create(reward_per_label=10**18, reward_pool=10**20)
    rewards = compute_rewards(data, probas, params)
    # i1 is gold (certain); i2 and i3 are 2-of-3 votes: 0.667 < 0.8 threshold.
    assert rewards.confident.tolist() == [True, False, False]
    assert rewards.accepted.tolist() == [1, 1, 1]
    assert rewards.eligible.tolist() == [True, True, False]  # lazy: skill 0
    assert rewards.payouts == (10**18, 10**18, 0)
    assert rewards.refund == 10**20 - 2 * 10**18
    assert rewards.total_payout + rewards.refund == params.reward_pool


def test_threshold_floors_and_short_pool() -> None:
    data = answers(obvious_rows())
    probas = MajorityVote().fit(data).probas_ppb_
    params = RewardParams.create(7, 20, confidence_threshold="0.6", accuracy_floor="0")
    rewards = compute_rewards(data, probas, params)
    assert rewards.confident.tolist() == [True, True, True]
    assert rewards.accepted.tolist() == [3, 3, 1]
    assert rewards.payouts == (10, 10, 0)  # 21 each wanted, pool 20: floor(21 * 20 / 42)
    assert rewards.refund == 0
    strict = RewardParams.create(7, 100, confidence_threshold="0.6", accuracy_floor="0.9")
    assert compute_rewards(data, probas, strict).payouts == (0, 0, 0)


def test_invalid_amounts() -> None:
    with pytest.raises(InvalidParameterError):
        RewardParams.create(-1, 10)
    with pytest.raises(InvalidParameterError):
        RewardParams.create(1, 2.5)  # type: ignore[arg-type]
