"""``review@1``: the reviewed answer of each contested item, reviewer pay and slashing, and
how reviewed items enter the consensus (docs/review.md §§3-6).

The rule, in integers only (weights and token amounts are Python ints; every list in a fixed
order), so every honest validator computes the same outcome:

1. **Hidden gold decides.** The requester's hidden review gold, revealed after the votes, is
   used on contested items only; on them it is the reviewed answer, as gold decides an item
   in the consensus.
2. **Stake-weighted answer.** Elsewhere the reviewed answer is the class with the largest
   summed weight among valid reveals, ties to the first class in the task's class order
   (sorted by code point, the consensus's own tie rule). An item nobody validly voted on has
   none and stays under the consensus.
3. **Coherence.** A revealed vote is coherent if it equals the reviewed answer. A reviewer is
   *eligible* if it got at least ``gold_floor`` of its hidden gold checks right (vacuously, if
   there are none).
4. **Money.** The requester pays ``r`` per revealed vote. Each coherent vote of an eligible
   reviewer earns its ``r``; every other vote's ``r`` goes to the pot. Each incoherent vote
   loses ``s`` of the reviewer's locked stake, and a reviewer that committed and never made a
   valid reveal loses its whole lock, ``s`` per contested item; all of it goes to the pot.
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
from node.protocol.review import ReviewParams
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
    """One contested item: its reviewed answer (``None``: no valid vote), the summed weight
    per class voted, every reviewer's vote in reviewer order, and whether hidden gold
    decided it."""

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
    rows = [_item_review(item, classes, ordered, checks.get(item)) for item in items]
    answer = {row.item: row.value for row in rows}
    r, s = params.fee_per_vote, params.slash_per_vote
    tallies: list[tuple[ReviewerVotes, int, int, bool]] = []
    pot = 0
    for reviewer in ordered:
        if reviewer.votes is None:
            tallies.append((reviewer, 0, 0, False))
            pot += len(items) * s
            continue
        coherent = sum(1 for item in items if reviewer.votes[item] == answer[item])
        correct = sum(1 for item, value in checks.items() if reviewer.votes[item] == value)
        eligible = correct * PPB >= params.gold_floor_ppb * len(checks)
        paid_votes = coherent if eligible else 0
        pot += (len(items) - paid_votes) * r + (len(items) - coherent) * s
        tallies.append((reviewer, coherent, correct, eligible))
    shared_votes = sum(coherent for _, coherent, _, eligible in tallies if eligible)
    outcomes: list[ReviewerOutcome] = []
    for reviewer, coherent, correct, eligible in tallies:
        revealed = reviewer.votes is not None
        share = min(pot * coherent // shared_votes, coherent * r) if eligible and coherent else 0
        outcomes.append(
            ReviewerOutcome(
                account=reviewer.account,
                weight=reviewer.weight,
                revealed=revealed,
                coherent=coherent,
                incoherent=len(items) - coherent if revealed else 0,
                checks=len(checks) if revealed else 0,
                checks_correct=correct,
                eligible=eligible,
                fee=coherent * r if eligible else 0,
                share=share,
                slashed=(len(items) - coherent) * s,
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
    item: str, classes: Sequence[str], reviewers: Sequence[ReviewerVotes], gold: str | None
) -> ItemReview:
    """One item's votes, weights per class, and reviewed answer (rules 1 and 2)."""
    votes = tuple(None if r.votes is None else r.votes[item] for r in reviewers)
    weight = dict.fromkeys(classes, 0)
    for reviewer, vote in zip(reviewers, votes, strict=True):
        if vote is not None:
            weight[vote] += reviewer.weight
    tally = tuple((label, w) for label, w in weight.items() if w > 0)
    value = gold
    if value is None and tally:
        best = max(w for _, w in tally)
        value = next(label for label, w in tally if w == best)  # tally is in class order
    return ItemReview(
        item=item, value=value, tally=tally, votes=votes, hidden_gold=gold is not None
    )


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
