"""Rewards: from consensus and answers to integer token payouts per annotator.

The rule (a pure function of its inputs, integer arithmetic throughout):

1. An item's consensus is *confident* when its posterior is at least
   ``confidence_threshold``; gold items are always confident, with the gold class.
2. An annotator's *accepted* labels are their answers equal to a confident consensus.
3. An annotator is *eligible* when their estimated accuracy is at least ``accuracy_floor``
   and their chance-corrected skill at least ``skill_floor`` (see
   :mod:`node.consensus.quality`); the skill floor is what stops an annotator who answers
   one class for everything from being paid on a task where that class is common.
   With ``significance_z > 0`` the annotator must also be *demonstrably* better than
   chance: their ``evidence`` (their kappa over its standard error if their answers were
   independent of the truth, see :mod:`node.consensus.quality`) must be at least
   ``significance_z``. Without it, a random answerer with a dozen answers on a two-class
   task clears both floors by luck about one time in four (measured: 30% random spammers
   took 11.9% of honest pay per label on ``rte``); with the default ``z = 2.576``
   (one-sided 99.5%) about one time in two hundred. The price is that an annotator with
   only a handful of answers cannot show skill and is not paid for them.
4. Entitlement = ``reward_per_label * accepted`` for eligible annotators, else 0.
5. If the entitlements exceed ``reward_pool`` they are scaled down pro rata.
   Rounding rule: each payout is rounded *down* (``entitlement * pool // total``);
   whatever the rounding leaves, and everything not earned, is the requester's refund
   (``reward_pool - sum(payouts)``), which the contract derives on its own.

Thresholds are fixed-point fractions in parts per billion, parsed exactly from decimal
strings (or Fractions), so a threshold never depends on float parsing.

Tasks created before the evidence test existed carry no ``significance_z``; they read as
``0``, which switches the test off and leaves their result documents byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.errors import InvalidParameterError
from node.consensus.numerics import PPB, argmax_lowest, count_keys
from node.consensus.quality import AnnotatorQuality, annotator_quality

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Ratio = str | Fraction | int

DEFAULT_SIGNIFICANCE_Z = "2.576"
"""One-sided 99.5% normal quantile: how many standard errors above chance an annotator's
accuracy must be before their labels are paid (chosen by scripts/bench_incentives.py)."""
MAX_SIGNIFICANCE_Z = 10


def ratio_ppb(value: Ratio, name: str, upper: int = 1) -> int:
    """Parse a number in [0, upper] (decimal string, Fraction or int) to parts per billion."""
    if isinstance(value, bool | float):
        raise InvalidParameterError(f"{name}: give a decimal string or a Fraction, not {value!r}")
    try:
        exact = Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidParameterError(f"{name}: not a number: {value!r}") from exc
    if not 0 <= exact <= upper:
        raise InvalidParameterError(f"{name} must be within [0, {upper}], got {value!r}")
    return round(exact * PPB)


def ppb_text(value: int) -> str:
    """A parts-per-billion integer as a fixed nine-decimal string, e.g. ``"0.800000000"``."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(int(value)), PPB)
    return f"{sign}{whole}.{fraction:09d}"


@dataclass(frozen=True)
class RewardParams:
    """Task parameters that decide the payouts (amounts in the token's smallest unit)."""

    reward_per_label: int
    reward_pool: int
    confidence_threshold_ppb: int = 800_000_000
    accuracy_floor_ppb: int = 600_000_000
    skill_floor_ppb: int = 200_000_000
    significance_z_ppb: int = 2_576_000_000

    @classmethod
    def create(
        cls,
        reward_per_label: int,
        reward_pool: int,
        confidence_threshold: Ratio = "0.8",
        accuracy_floor: Ratio = "0.6",
        skill_floor: Ratio = "0.2",
        significance_z: Ratio = DEFAULT_SIGNIFICANCE_Z,
    ) -> RewardParams:
        for name, amount in (("reward_per_label", reward_per_label), ("reward_pool", reward_pool)):
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise InvalidParameterError(f"{name} must be a non-negative int, got {amount!r}")
        return cls(
            reward_per_label=reward_per_label,
            reward_pool=reward_pool,
            confidence_threshold_ppb=ratio_ppb(confidence_threshold, "confidence_threshold"),
            accuracy_floor_ppb=ratio_ppb(accuracy_floor, "accuracy_floor"),
            skill_floor_ppb=ratio_ppb(skill_floor, "skill_floor"),
            significance_z_ppb=ratio_ppb(significance_z, "significance_z", MAX_SIGNIFICANCE_Z),
        )

    def document(self) -> dict[str, str]:
        """The parameters as the result document states them; ``significance_z`` only when
        the evidence test is on, so results of tasks from before it keep their bytes."""
        out = {
            "reward_per_label": str(self.reward_per_label),
            "reward_pool": str(self.reward_pool),
            "confidence_threshold": ppb_text(self.confidence_threshold_ppb),
            "accuracy_floor": ppb_text(self.accuracy_floor_ppb),
            "skill_floor": ppb_text(self.skill_floor_ppb),
        }
        if self.significance_z_ppb:
            out["significance_z"] = ppb_text(self.significance_z_ppb)
        return out


@dataclass(frozen=True, eq=False)
class Rewards:
    """Outcome of :func:`compute_rewards`, aligned with ``answers.annotators``."""

    quality: AnnotatorQuality
    confident: BoolArray  # per item
    accepted: IntArray
    eligible: BoolArray
    payouts: tuple[int, ...]  # Python ints: token amounts can exceed 64 bits
    refund: int

    @property
    def total_payout(self) -> int:
        return sum(self.payouts)


def allocate(entitlements: list[int], reward_pool: int) -> tuple[tuple[int, ...], int]:
    """Pay entitlements from the pool, pro rata rounded down if it is short; the refund."""
    total = sum(entitlements)
    if total <= reward_pool:
        paid = tuple(entitlements)
    else:
        paid = tuple(e * reward_pool // total for e in entitlements)
    return paid, reward_pool - sum(paid)


def compute_rewards(
    answers: Answers,
    probas_ppb: IntArray,
    params: RewardParams,
    excluded: BoolArray | None = None,
) -> Rewards:
    """Payouts for ``answers`` under consensus posteriors ``probas_ppb``.

    Gold must already be reflected in ``probas_ppb`` (gold rows certain, as every
    estimator's ``fit(..., gold=...)`` leaves them), which makes gold items confident and
    their gold class the one that pays. ``excluded`` annotators (the bloc test's flags)
    are paid nothing whatever their figures.
    """
    consensus = argmax_lowest(probas_ppb)
    confidence = probas_ppb.max(axis=1)
    confident = confidence >= params.confidence_threshold_ppb
    matches = confident[answers.item] & (consensus[answers.item] == answers.label)
    accepted = count_keys(answers.annotator[matches], answers.n_annotators)
    quality = annotator_quality(answers, probas_ppb)
    eligible = (quality.accuracy_ppb >= params.accuracy_floor_ppb) & (
        quality.skill_ppb >= params.skill_floor_ppb
    )
    if params.significance_z_ppb:
        eligible &= quality.evidence_ppb >= params.significance_z_ppb
    if excluded is not None:
        eligible &= ~excluded
    entitlements = [
        int(n) * params.reward_per_label if ok else 0
        for n, ok in zip(accepted, eligible, strict=True)
    ]
    payouts, refund = allocate(entitlements, params.reward_pool)
    return Rewards(
        quality=quality,
        confident=confident,
        accepted=accepted,
        eligible=eligible,
        payouts=payouts,
        refund=refund,
    )
