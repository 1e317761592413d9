"""The ``assigned@1`` reward rule of market v2 (docs/settlement.md §1.6, §1.7).

A v2 task deals its items to seats (``deal@1``, :mod:`node.protocol.deal`), so the rule has
two parts, in this order:

1. **Drop rule** (:meth:`Assignment.restrict`), applied *before* consensus: a label counts
   only if its item was dealt to its author's seat; an author without a seat contributes
   nothing. Consensus and the evidence test then see exactly the dealt labels.
2. **Pay** (:func:`compute_assigned_rewards`): steps 1 to 4 of :mod:`node.consensus.rewards`
   unchanged (confident consensus, accepted labels, the floors and the evidence test), and
   every eligible annotator is paid exactly ``reward_per_label`` per accepted label. There is
   no pro rata step: a seat holds ``B`` distinct items, so ``accepted <= B``, and the pool
   ``P = N*k*r = S*B*r`` covers every seat in full. The rule checks this instead of trusting
   it: answers on undealt items, or a pool below ``S*B*r``, are errors, never scaled.

Why this lives in ``node.consensus`` and not ``node.protocol``: it reuses the evidence test
and the rest of steps 1 to 4 (:func:`node.consensus.rewards.judge`), and protocol must not
import consensus. The dealing itself, which nodes need without any consensus, is protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.rewards import Rewards, judge
from node.protocol.deal import Deal
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.ids import ASSIGNED_REWARD_RULE, DEAL_RULE
from node.protocol.rules import RewardParams

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Assignment:
    """A task's deal and the names the answers use for its items and seats.

    ``item_index`` maps an item id to its index in ``[0, N)`` (the manifest's item order);
    ``seat_of`` maps an annotator id to the seat they claimed (``SeatClaimed`` events);
    ``seed_source`` and ``seal_block`` say where the deal's seed came from
    (:class:`node.chain.seal.Seal`), which a ``result@4`` states for its readers.
    """

    deal: Deal
    item_index: Mapping[str, int]
    seat_of: Mapping[str, int]
    seed_source: str
    seal_block: int

    def dealt(self, answers: Answers) -> BoolArray:
        """Per answer row: was its item dealt to its author's seat? Unknown items and
        authors without a seat read as not dealt."""
        items = np.array([self.item_index.get(i, -1) for i in answers.items], dtype=np.int64)
        seats = np.array([self.seat_of.get(a, -1) for a in answers.annotators], dtype=np.int64)
        row_item = items[answers.item]
        row_seat = seats[answers.annotator]
        known = (row_item >= 0) & (row_seat >= 0)
        known &= (row_item < self.deal.num_items) & (row_seat < self.deal.claimed)
        result = np.zeros(len(answers), dtype=bool)
        result[known] = self.deal.is_dealt(row_item[known], row_seat[known])
        return result

    def restrict(self, answers: Answers) -> Answers:
        """The drop rule: ``answers`` without every label its author was not dealt."""
        keep = self.dealt(answers)
        return Answers.from_codes(
            answers.item[keep],
            answers.annotator[keep],
            answers.label[keep],
            items=answers.items,
            annotators=answers.annotators,
            classes=answers.classes,
        )


def assignment_section(assignment: Assignment, labelled: IntArray) -> dict[str, int | str]:
    """The ``assignment`` section of a seated task's ``result@4`` root, from ``labelled``,
    the labels each item got after the drop rule: the rules, where the seed came from
    (``mixHash``, or ``blockHash`` on a chain without RANDAO: a builder can grind the latter,
    docs/settlement.md §1.3), the seats, and ``short_items``, the manifest's items with fewer
    than ``redundancy`` labels (a seat that lapsed or was never claimed leaves its block one
    label short; an item with none has no row in the result at all). A requester covers
    them with a follow-up task."""
    deal = assignment.deal
    return {
        "deal": DEAL_RULE,
        "reward_rule": ASSIGNED_REWARD_RULE,
        "seed_source": assignment.seed_source,
        "seal_block": assignment.seal_block,
        "items": deal.num_items,
        "redundancy": deal.redundancy,
        "batch_size": deal.batch_size,
        "seats": deal.seats,
        "claimed": deal.claimed,
        "short_items": deal.num_items - int(np.count_nonzero(labelled >= deal.redundancy)),
    }


def compute_assigned_rewards(
    answers: Answers,
    probas_ppb: IntArray,
    params: RewardParams,
    assignment: Assignment,
    excluded: BoolArray | None = None,
) -> Rewards:
    """Payouts under ``assigned@1`` for dealt ``answers`` (``assignment.restrict`` applied
    before consensus) and their consensus posteriors ``probas_ppb``.

    Every payout is ``reward_per_label * accepted`` or 0; the refund is the rest of the pool.
    """
    deal = assignment.deal
    covered = deal.seats * deal.batch_size * params.reward_per_label
    if params.reward_pool < covered:
        raise InvalidParameterError(
            f"reward_pool {params.reward_pool} does not cover {deal.seats} seats of "
            f"{deal.batch_size} labels at {params.reward_per_label}: need {covered}"
        )
    undealt = int(np.count_nonzero(~assignment.dealt(answers)))
    if undealt:
        raise InvalidAnswersError(
            f"{undealt} answers on items not dealt to their author: apply "
            "Assignment.restrict before consensus"
        )
    judgement = judge(answers, probas_ppb, params, excluded)
    payouts = tuple(judgement.entitlements(params.reward_per_label))
    # Holds by construction (accepted <= B per seat, S*B*r <= pool); a failure is a bug.
    if sum(payouts) > params.reward_pool:  # pragma: no cover
        raise AssertionError("assigned@1 owes more than the pool")
    return Rewards(
        quality=judgement.quality,
        confident=judgement.confident,
        accepted=judgement.accepted,
        eligible=judgement.eligible,
        payouts=payouts,
        refund=params.reward_pool - sum(payouts),
    )
