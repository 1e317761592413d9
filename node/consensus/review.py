"""``review@1``: the reviewed answer of each contested item, reviewer pay and slashing, and
how reviewed items enter the consensus (docs/review.md §§3-6).

The rule, in integers only (weights and token amounts are Python ints; every list in a fixed
order), so every honest validator computes the same outcome:

1. **Hidden gold decides and sorts.** The requester's hidden review gold, revealed after the
   votes, is used on contested items only (the *checks*); on them it is the reviewed answer,
   as gold decides an item in the consensus. A reviewer with a valid reveal is *eligible* if
   it got at least ``gold_floor`` of the checks right (vacuously, if there are none).
2. **Stake-weighted answer of the eligible.** Elsewhere the reviewed answer is the class with
   the largest summed weight among eligible reviewers' votes, ties to the first class in the
   task's class order (sorted by code point, the consensus's own tie rule). An item no
   eligible reviewer voted on has none and stays under the consensus. Counting only the
   eligible is what keeps a majority of reviewers who copy the consensus (and so fail the
   checks where it is wrong) from deciding the answer.
3. **Coherence.** A vote on an item with a reviewed answer is coherent if it equals it, else
   incoherent; a vote on an item without one is neither.
4. **Money.** The requester pays ``r`` per revealed vote. Each coherent vote of an eligible
   reviewer earns its ``r``; every other vote's ``r`` goes to the pot. Each incoherent vote
   loses ``s`` of the reviewer's locked stake, and a reviewer that committed and never made a
   valid reveal loses ``s`` per contested item; all of it goes to the pot.
   The pot is shared among eligible reviewers pro rata to their coherent votes, each share
   rounded down and capped at ``r`` per coherent vote (what others lose never pays a
   reviewer more than its own work does, so a careless reviewer's expected loss does not
   depend on who else reviews, docs/review.md §7); what is left (the rounding, the cap, or
   all of it when nobody is eligible) is burned, never refunded, so no requester gains from
   a reviewer's loss.
5. **Consensus.** Reviewed answers join the task's gold (:func:`reviewed_gold`) and the
   task's algorithm runs again: a reviewed item is decided as a gold item is, and anchors
   the annotators' skill as gold does. A task without review never reaches this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from node.consensus.answers import Answers
from node.consensus.result import CategoricalConsensus
from node.consensus.task import categorical_consensus
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import REVIEW_RULE
from node.protocol.merkle import Payout
from node.protocol.review import ReviewParams, review_leaf_amount
from node.protocol.rules import PPB


@dataclass(frozen=True)
class ReviewerVotes:
    """One reviewer that committed: its weight (stake at commit) and its valid votes, or
    ``None`` if it never made a valid reveal (:func:`node.protocol.review.valid_votes`)."""

    account: str
    weight: int
    votes: Mapping[str, str] | None
    votes_cid: str | None = None
    """The revealed batch's CID, recorded in the result so every vote can be re-read."""


@dataclass(frozen=True)
class ReviewerOutcome:
    """What ``review@1`` decides for one reviewer."""

    account: str
    weight: int
    revealed: bool
    coherent: int
    incoherent: int
    checks: int
    checks_correct: int
    eligible: bool
    fee: int
    share: int
    slashed: int
    votes_cid: str | None

    @property
    def pay(self) -> int:
        """Tokens paid to the reviewer's leaf: its fees plus its share of the pot."""
        return self.fee + self.share


@dataclass(frozen=True)
class ItemReview:
    """One contested item: its reviewed answer (``None``: no eligible vote), the summed
    weight per class of the eligible reviewers' votes, every reviewer's vote in reviewer
    order, and whether hidden gold decided it."""

    item: str
    value: str | None
    tally: tuple[tuple[str, int], ...]
    votes: tuple[str | None, ...]
    hidden_gold: bool


@dataclass(frozen=True)
class ReviewOutcome:
    """The whole round: per item, per reviewer, and the money that is not a reviewer's."""

    items: tuple[ItemReview, ...]
    reviewers: tuple[ReviewerOutcome, ...]
    votes_bought: int
    """Revealed votes, each paid ``r`` by the requester (the rest of its escrow is refunded)."""
    pot: int
    burned: int

    @property
    def reviewed(self) -> dict[str, str]:
        """The reviewed answer of every contested item that has one."""
        return {row.item: row.value for row in self.items if row.value is not None}


def review_round(
    contested: Sequence[str],
    classes: Sequence[str],
    reviewers: Sequence[ReviewerVotes],
    hidden_gold: Mapping[str, str],
    params: ReviewParams,
) -> ReviewOutcome:
    """Apply ``review@1`` (module docstring) to one task's contested set and reviewers."""
    items = sorted(contested)
    if len(set(items)) != len(items):
        raise InvalidParameterError("the contested set names an item twice")
    ordered = _check_reviewers(reviewers, items, classes, params)
    checks = {item: hidden_gold[item] for item in items if item in hidden_gold}
    if any(value not in classes for value in checks.values()):
        raise InvalidParameterError("a hidden gold answer is not one of the task's classes")
    correct = [
        0 if r.votes is None else sum(1 for i, v in checks.items() if r.votes[i] == v)
        for r in ordered
    ]
    eligible = [
        r.votes is not None and right * PPB >= params.gold_floor_ppb * len(checks)
        for r, right in zip(ordered, correct, strict=True)
    ]
    rows = [_item_review(item, classes, ordered, eligible, checks.get(item)) for item in items]
    answer = {row.item: row.value for row in rows}
    decided = sum(1 for row in rows if row.value is not None)
    r, s = params.fee_per_vote, params.slash_per_vote
    coherent: list[int] = []
    pot = 0
    for reviewer, paid in zip(ordered, eligible, strict=True):
        votes = reviewer.votes
        if votes is None:
            coherent.append(0)
            pot += len(items) * s
            continue
        agree = sum(1 for item in items if votes[item] == answer[item])
        coherent.append(agree)
        pot += (len(items) - (agree if paid else 0)) * r + (decided - agree) * s
    shared_votes = sum(n for n, paid in zip(coherent, eligible, strict=True) if paid)
    outcomes: list[ReviewerOutcome] = []
    for reviewer, agree, right, paid in zip(ordered, coherent, correct, eligible, strict=True):
        revealed = reviewer.votes is not None
        outcomes.append(
            ReviewerOutcome(
                account=reviewer.account,
                weight=reviewer.weight,
                revealed=revealed,
                coherent=agree,
                incoherent=decided - agree if revealed else 0,
                checks=len(checks) if revealed else 0,
                checks_correct=right,
                eligible=paid,
                fee=agree * r if paid else 0,
                share=min(pot * agree // shared_votes, agree * r) if paid and agree else 0,
                slashed=(decided - agree if revealed else len(items)) * s,
                votes_cid=reviewer.votes_cid,
            )
        )
    return ReviewOutcome(
        items=tuple(rows),
        reviewers=tuple(outcomes),
        votes_bought=len(items) * sum(1 for reviewer in ordered if reviewer.votes is not None),
        pot=pot,
        burned=pot - sum(outcome.share for outcome in outcomes),
    )


def _check_reviewers(
    reviewers: Sequence[ReviewerVotes],
    items: Sequence[str],
    classes: Sequence[str],
    params: ReviewParams,
) -> list[ReviewerVotes]:
    """The reviewers in canonical order (lowercase address), after the checks every valid
    round passes: distinct addresses, positive weights, at most the task's seats, and
    revealed votes that cover exactly the contested set with the task's classes."""
    if len(reviewers) > params.max_reviewers:
        raise InvalidParameterError(
            f"{len(reviewers)} reviewers, the task has {params.max_reviewers} seats"
        )
    canonical: dict[str, ReviewerVotes] = {}
    allowed = set(classes)
    for reviewer in reviewers:
        if not is_address(reviewer.account) or reviewer.weight <= 0:
            raise InvalidParameterError(f"reviewer {reviewer.account!r}: bad address or weight")
        account = reviewer.account.lower()
        if account in canonical:
            raise InvalidParameterError(f"reviewer {account} appears twice")
        votes = reviewer.votes
        if votes is not None and (
            sorted(votes) != list(items) or not set(votes.values()) <= allowed
        ):
            raise InvalidParameterError(f"reviewer {account}: votes are not a valid reveal")
        canonical[account] = ReviewerVotes(account, reviewer.weight, votes, reviewer.votes_cid)
    return [canonical[account] for account in sorted(canonical)]


def _item_review(
    item: str,
    classes: Sequence[str],
    reviewers: Sequence[ReviewerVotes],
    counted: Sequence[bool],
    gold: str | None,
) -> ItemReview:
    """One item's votes (every reviewer's), the weight per class of the votes that count
    (eligible reviewers'), and its reviewed answer (rules 1 and 2)."""
    votes = tuple(None if r.votes is None else r.votes[item] for r in reviewers)
    weight = dict.fromkeys(classes, 0)
    for reviewer, vote, counts in zip(reviewers, votes, counted, strict=True):
        if vote is not None and counts:
            weight[vote] += reviewer.weight
    tally = tuple((label, w) for label, w in weight.items() if w > 0)
    value = gold
    if value is None and tally:
        best = max(w for _, w in tally)
        value = next(label for label, w in tally if w == best)  # tally is in class order
    return ItemReview(
        item=item, value=value, tally=tally, votes=votes, hidden_gold=gold is not None
    )


def review_leaves(outcome: ReviewOutcome) -> list[Payout]:
    """Every reviewer's review leaf for the task's payout tree (docs/review.md §6): its pay,
    its slash, and the votes the requester pays for (all contested items if it revealed,
    else none). The ReviewBoard settles the round from these leaves of the final root."""
    contested = len(outcome.items)
    return [
        (
            to_checksum_address(row.account),
            review_leaf_amount(row.pay, row.slashed, contested if row.revealed else 0),
        )
        for row in outcome.reviewers
    ]


def reviewed_gold(gold: Mapping[str, str], outcome: ReviewOutcome) -> dict[str, str]:
    """The consensus input of a reviewed task: its gold plus every reviewed answer.

    Contested items are never gold (``contested@1`` leaves gold out), so the two cannot
    disagree; a caller that passes overlapping maps with different answers gets an error
    rather than a silent choice.
    """
    merged = dict(gold)
    for item, value in outcome.reviewed.items():
        if merged.setdefault(item, value) != value:
            raise InvalidParameterError(f"item {item!r} is gold and reviewed differently")
    return merged


def reviewed_consensus(
    answers: Answers,
    gold: Mapping[str, str],
    algorithm: str,
    outcome: ReviewOutcome,
    bloc_test: str = "",
) -> CategoricalConsensus:
    """The task's consensus run again with reviewed items decided as gold (rule 5)."""
    return categorical_consensus(answers, reviewed_gold(gold, outcome), algorithm, bloc_test)


def review_section(outcome: ReviewOutcome, params: ReviewParams) -> dict[str, Any]:
    """The result document's ``review`` section: the parameters, every reviewer's counts and
    money, and every item's votes (aligned with ``reviewers``), tally and answer. Amounts
    and weights are decimal strings, as every token amount in a result is."""
    return {
        "rule": REVIEW_RULE,
        "parameters": params.document(),
        "contested": len(outcome.items),
        "hidden_gold_checks": sum(1 for row in outcome.items if row.hidden_gold),
        "votes_bought": outcome.votes_bought,
        "pot": str(outcome.pot),
        "burned": str(outcome.burned),
        "reviewers": [
            {
                "account": to_checksum_address(row.account),
                "weight": str(row.weight),
                "revealed": row.revealed,
                "votes_cid": row.votes_cid,
                "coherent": row.coherent,
                "incoherent": row.incoherent,
                "checks": row.checks,
                "checks_correct": row.checks_correct,
                "eligible": row.eligible,
                "fee": str(row.fee),
                "share": str(row.share),
                "pay": str(row.pay),
                "slashed": str(row.slashed),
            }
            for row in outcome.reviewers
        ],
        "items": [
            {
                "item": row.item,
                "value": row.value,
                "hidden_gold": row.hidden_gold,
                "tally": {label: str(w) for label, w in row.tally},
                "votes": list(row.votes),
            }
            for row in outcome.items
        ],
    }
