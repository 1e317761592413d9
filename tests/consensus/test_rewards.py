"""Reward rule: confident consensus, accuracy and skill floors, integer pro-rata payouts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from node.consensus.majority_vote import MajorityVote
from node.consensus.rewards import allocate, compute_rewards
from node.protocol.errors import InvalidParameterError
from node.protocol.rules import RewardParams, ppb_text, ratio_ppb
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
    # Three answers each cannot show skill beyond chance: the floors alone are tested here.
    params = RewardParams.create(reward_per_label=10**18, reward_pool=10**20, significance_z="0")
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
    params = RewardParams.create(
        7, 20, confidence_threshold="0.6", accuracy_floor="0", significance_z="0"
    )
    rewards = compute_rewards(data, probas, params)
    assert rewards.confident.tolist() == [True, True, True]
    assert rewards.accepted.tolist() == [3, 3, 1]
    assert rewards.payouts == (10, 10, 0)  # 21 each wanted, pool 20: floor(21 * 20 / 42)
    assert rewards.refund == 0
    strict = RewardParams.create(
        7, 100, confidence_threshold="0.6", accuracy_floor="0.9", significance_z="0"
    )
    assert compute_rewards(data, probas, strict).payouts == (0, 0, 0)


def test_invalid_amounts() -> None:
    with pytest.raises(InvalidParameterError):
        RewardParams.create(-1, 10)
    with pytest.raises(InvalidParameterError):
        RewardParams.create(1, 2.5)  # type: ignore[arg-type]


def scored_rows(
    right: dict[str, int], n: int = 20
) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """``n`` items, classes a/b alternating; each annotator answers a and b equally often
    (chance agreement exactly 1/2) and gets ``right[annotator]`` of them right."""
    truth = {f"i{i:02d}": "ab"[i % 2] for i in range(n)}
    rows = []
    for annotator, correct in right.items():
        for i, (item, label) in enumerate(truth.items()):
            wrong = "b" if label == "a" else "a"
            # wrong answers come in a/b pairs, so the answered classes stay balanced
            rows.append((item, annotator, label if i < correct else wrong))
    return rows, truth


def test_evidence_is_the_score_statistic_against_chance() -> None:
    rows, truth = scored_rows({"lucky": 14, "good": 18, "coin": 10})
    data = answers(rows)
    probas = MajorityVote().fit(data, truth).probas_ppb_  # every item gold: certain
    rewards = compute_rewards(data, probas, RewardParams.create(1, 10**6))
    quality = rewards.quality
    order = list(data.annotators)
    # (p - 1/2) sqrt(20) / (1/2): sqrt(3.2) for 14/20, sqrt(12.8) for 18/20, 0 for 10/20.
    assert quality.evidence_ppb[order.index("lucky")] == 1_788_854_381
    assert quality.evidence_ppb[order.index("good")] == 3_577_708_763
    assert quality.evidence_ppb[order.index("coin")] == 0
    # lucky clears both floors (accuracy 0.7, skill 0.4) but not z = 2.576; good does.
    assert quality.accuracy_ppb[order.index("lucky")] == 700_000_000
    assert quality.skill_ppb[order.index("lucky")] == 400_000_000
    assert rewards.eligible.tolist() == [False, True, False]  # coin, good, lucky (sorted)
    off = compute_rewards(data, probas, RewardParams.create(1, 10**6, significance_z="0"))
    assert off.eligible.tolist() == [False, True, True]


def test_evidence_is_negative_below_chance_and_zero_without_variance() -> None:
    rows, truth = scored_rows({"contrarian": 4})
    data = answers(rows)
    probas = MajorityVote().fit(data, truth).probas_ppb_
    assert compute_rewards(data, probas, RewardParams.create(1, 10)).quality.evidence_ppb[0] < 0
    constant = [(item, "lazy", "a") for item in truth]
    data = answers(constant + rows, classes=["a", "b"])
    probas = MajorityVote().fit(data, truth).probas_ppb_
    lazy = list(data.annotators).index("lazy")
    assert compute_rewards(data, probas, RewardParams.create(1, 10)).quality.evidence_ppb[lazy] == 0


def test_significance_z_parses_within_bounds_and_shows_only_when_on() -> None:
    assert RewardParams.create(1, 1).significance_z_ppb == 2_576_000_000
    assert RewardParams.create(1, 1, significance_z="10").significance_z_ppb == 10 * 10**9
    with pytest.raises(InvalidParameterError, match="significance_z"):
        RewardParams.create(1, 1, significance_z="10.5")
    assert RewardParams.create(1, 1).document()["significance_z"] == "2.576000000"
    assert "significance_z" not in RewardParams.create(1, 1, significance_z="0").document()


def test_evidence_credits_a_skilled_annotator_on_a_skewed_task() -> None:
    """36 items of class a, 4 of b. "skilled" is right on 39 of 40 (it calls one b an a);
    "lazy" answers a throughout. Chance for skilled is p_e = 0.925 * 0.9 + 0.075 * 0.1 =
    0.84, and its null variance v = p_e + p_e^2 - sum a_c b_c (a_c + b_c) = 0.024975, so
    evidence = 0.135 sqrt(40 / 0.024975) = 5.40: far past z (the binomial p_e (1 - p_e)
    would give only 2.33). The constant answerer has v = 0: no evidence at all."""
    truth = {f"i{i:02d}": ("b" if i < 4 else "a") for i in range(40)}
    rows = [(item, "skilled", "a" if item == "i00" else label) for item, label in truth.items()]
    rows += [(item, "lazy", "a") for item in truth]
    data = answers(rows)
    probas = MajorityVote().fit(data, truth).probas_ppb_
    rewards = compute_rewards(data, probas, RewardParams.create(1, 10**6))
    lazy, skilled = list(data.annotators).index("lazy"), list(data.annotators).index("skilled")
    assert rewards.quality.evidence_ppb[skilled] == 5_402_702_026
    assert rewards.quality.evidence_ppb[lazy] == 0
    assert rewards.eligible[skilled] and not rewards.eligible[lazy]
