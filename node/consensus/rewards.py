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
   Tasks of market v2 use ``assigned@1`` instead (:mod:`node.consensus.assigned`): the same
   steps 1 to 4, no step 5, because the deal makes the pool cover every entitlement.

Thresholds are fixed-point fractions in parts per billion, parsed exactly from decimal
strings (or Fractions), so a threshold never depends on float parsing.

Tasks created before the evidence test existed carry no ``significance_z``; they read as
``0``, which switches the test off and leaves their result documents byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.numerics import argmax_lowest, count_keys
from node.consensus.quality import AnnotatorQuality, annotator_quality
from node.protocol.rules import RewardParams

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Judgement:
    """Steps 1 to 4 of the rule, aligned with ``answers.annotators``: what every reward rule
    (``compute_rewards`` here, ``assigned@1`` in :mod:`node.consensus.assigned`) pays on."""

    quality: AnnotatorQuality
    confident: BoolArray  # per item
    accepted: IntArray
    eligible: BoolArray

    def entitlements(self, reward_per_label: int) -> list[int]:
        """Step 4: ``reward_per_label * accepted`` for eligible annotators, else 0."""
        return entitlements(self.accepted, self.eligible, reward_per_label)


def entitlements(accepted: IntArray, eligible: BoolArray, reward_per_label: int) -> list[int]:
    """Step 4 of every reward rule, whatever its unit (a label, a box, a span, a vote):
    ``reward_per_label`` per accepted unit of an eligible annotator, else 0 (Python ints:
    token amounts can exceed 64 bits)."""
    return [
        int(n) * reward_per_label if ok else 0 for n, ok in zip(accepted, eligible, strict=True)
    ]


@dataclass(frozen=True, eq=False)
class Rewards(Judgement):
    """Outcome of :func:`compute_rewards`, aligned with ``answers.annotators``."""

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


def judge(
    answers: Answers,
    probas_ppb: IntArray,
    params: RewardParams,
    excluded: BoolArray | None = None,
) -> Judgement:
    """Steps 1 to 4 for ``answers`` under consensus posteriors ``probas_ppb``.

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
    return Judgement(quality=quality, confident=confident, accepted=accepted, eligible=eligible)


def compute_rewards(
    answers: Answers,
    probas_ppb: IntArray,
    params: RewardParams,
    excluded: BoolArray | None = None,
) -> Rewards:
    """Payouts for ``answers`` under consensus posteriors ``probas_ppb``: :func:`judge`,
    then step 5 (pro rata scaling if the pool is short)."""
    judgement = judge(answers, probas_ppb, params, excluded)
    payouts, refund = allocate(judgement.entitlements(params.reward_per_label), params.reward_pool)
    return Rewards(
        quality=judgement.quality,
        confident=judgement.confident,
        accepted=judgement.accepted,
        eligible=judgement.eligible,
        payouts=payouts,
        refund=refund,
    )
