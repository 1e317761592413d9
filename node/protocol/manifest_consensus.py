"""The manifest's ``consensus`` section and the defaults a task of each kind gets.

:class:`ConsensusParams` holds the thresholds validators apply, each bounded by
:data:`THRESHOLD_BOUNDS` so that no requester can post a task nobody can be paid for;
:func:`default_consensus` and :func:`default_algorithm` are what a task gets unless its
requester says otherwise. :mod:`node.protocol.manifest` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from node.protocol.annotation import RULES
from node.protocol.canonical import JsonValue
from node.protocol.ids import (
    BLOC_TEST_ID,
    DEFAULT_ALGORITHM,
    DEFAULT_NUMERIC_ALGORITHM,
    MULTILABEL_ALGORITHM,
    bloc_test_id,
)
from node.protocol.kinds import TaskKind
from node.protocol.manifest_items import ManifestError
from node.protocol.rules import DEFAULT_SIGNIFICANCE_Z, RewardParams
from node.protocol.values import tolerance_units


def _ratio(value: JsonValue, what: str) -> str:
    # RewardParams parses it exactly; here only the type is checked, so the error says where.
    if not isinstance(value, str):
        raise ManifestError(f"{what} must be a decimal string such as '0.8'")
    return value


THRESHOLD_BOUNDS = {
    "confidence_threshold": "0.99",
    "accuracy_floor": "0.9",
    "skill_floor": "0.8",
    "significance_z": "5",
}
"""Highest value each reward threshold may take. The rule that sets them: an annotator
with true accuracy 0.95 on a balanced two-class task, with 50 answers among two others like
them, clears every threshold (estimated accuracy 0.95 +- 0.03, kappa 0.9, evidence about
6, posterior of a three-way agreement above 0.999). A requester may ask for experts; not
for thresholds that nobody can meet, which would leave the task unpaid while its labels are
public. Values above them make the manifest invalid."""


@dataclass(frozen=True)
class ConsensusParams:
    """The thresholds validators apply (see :mod:`node.consensus.rewards`); ``tolerance`` is
    how far (absolute, in the task's unit) a numeric answer may be from the consensus and
    still match it. Each threshold is at most its :data:`THRESHOLD_BOUNDS` entry."""

    confidence_threshold: str = "0.8"
    accuracy_floor: str = "0.6"
    skill_floor: str = "0.2"
    tolerance: str = "0.5"
    significance_z: str = DEFAULT_SIGNIFICANCE_Z
    bloc_test: str = BLOC_TEST_ID
    """Categorical tasks: the bloc test validators run (``""``: none)."""

    def __post_init__(self) -> None:
        for name, bound in THRESHOLD_BOUNDS.items():
            value = getattr(self, name)
            try:
                too_high = Fraction(Decimal(value)) > Fraction(Decimal(bound))
            except (InvalidOperation, ValueError, TypeError) as exc:
                raise ManifestError(f"consensus.{name}: not a number: {value!r}") from exc
            if too_high:
                raise ManifestError(
                    f"consensus.{name} is {value}, above the highest allowed {bound}: "
                    "a threshold nobody can meet pays nobody"
                )

    def reward_params(self, reward_per_label: int, reward_pool: int) -> RewardParams:
        return RewardParams.create(
            reward_per_label,
            reward_pool,
            confidence_threshold=self.confidence_threshold,
            accuracy_floor=self.accuracy_floor,
            skill_floor=self.skill_floor,
            significance_z=self.significance_z,
        )

    def document(self) -> dict[str, JsonValue]:
        return {
            "confidence_threshold": self.confidence_threshold,
            "accuracy_floor": self.accuracy_floor,
            "skill_floor": self.skill_floor,
            "tolerance": self.tolerance,
            "significance_z": self.significance_z,
            "bloc_test": self.bloc_test,
        }

    @classmethod
    def from_document(cls, entry: JsonValue) -> ConsensusParams:
        if not isinstance(entry, dict):
            raise ManifestError("consensus must be an object")
        if set(entry) - _CONSENSUS_KEYS:
            raise ManifestError(f"unknown consensus keys: {sorted(set(entry) - _CONSENSUS_KEYS)}")
        # A manifest from before the evidence test has no significance_z: "0" keeps it off;
        # one from before the bloc test has no bloc_test: "" keeps that off.
        fields = {"significance_z": "0"} | {k: v for k, v in entry.items() if k != "bloc_test"}
        try:
            bloc_test = bloc_test_id(entry.get("bloc_test", ""))
        except ValueError as exc:
            raise ManifestError(f"consensus.bloc_test: {exc}") from exc
        params = cls(
            **{k: _ratio(v, f"consensus.{k}") for k, v in fields.items()}, bloc_test=bloc_test
        )
        try:
            params.reward_params(0, 0)
            tolerance_units(params.tolerance)
        except ValueError as exc:
            raise ManifestError(f"consensus: {exc}") from exc
        return params


_CONSENSUS_KEYS = {
    "confidence_threshold",
    "accuracy_floor",
    "skill_floor",
    "tolerance",
    "significance_z",
    "bloc_test",
}


def default_consensus(kind: TaskKind) -> ConsensusParams:
    """The consensus parameters a task of ``kind`` gets unless its requester gives them; the
    bloc test is for categorical answers, so other kinds do not name it."""
    return ConsensusParams() if kind is TaskKind.CATEGORICAL else ConsensusParams(bloc_test="")


def default_algorithm(kind: TaskKind) -> str:
    """The consensus algorithm a task of ``kind`` gets unless its requester names one."""
    if kind is TaskKind.NUMERIC:
        return DEFAULT_NUMERIC_ALGORITHM
    if kind is TaskKind.MULTILABEL:
        return MULTILABEL_ALGORITHM
    return RULES.get(kind, DEFAULT_ALGORITHM)
