"""The reward rule's parameters as a task states them, and the fixed-point numbers every
protocol document writes.

A task's manifest carries these parameters and its result document restates them
(:meth:`RewardParams.document`), so they are protocol bytes: thresholds are parts per
billion parsed exactly from decimal strings (or Fractions), never from floats, and written
back as nine-decimal strings. The rule that applies them is :mod:`node.consensus.rewards`.

Tasks created before the evidence test existed carry no ``significance_z``; they read as
``0``, which switches the test off and leaves their result documents byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from node.protocol.errors import InvalidParameterError

PPB = 1_000_000_000
"""Fixed-point scale of probabilities: one unit is 1e-9."""

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
