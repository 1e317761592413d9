"""A reviewed task's consensus (docs/review.md §1 step 5, §5 rule 5, §9): the one place the
validator path applies ``review@1`` to a categorical task.

Given the first consensus (``run_consensus``'s categorical fit over the revealed batches and
the task's gold), :func:`apply_review`

1. computes the contested set (``contested@1``) from it, the set the reviewers voted on;
2. keeps each reviewer's revealed batch only if :func:`~node.protocol.review.valid_votes`
   accepts it against that set (anything else counts as no reveal, slashed as silence);
3. runs :func:`~node.consensus.review.review_round` with the hidden review gold;
4. fits the task's algorithm again with the reviewed answers as gold
   (:func:`~node.consensus.review.reviewed_consensus`).

:func:`review_payouts` adds the review leaves to the annotators' payout tree and
:func:`review_document` turns the ``result@1``-shaped document into what ``result@3`` pages:
the root's ``review`` section (:func:`~node.consensus.review.review_section` without its
per-item list) and, on each contested item's row, its ``review`` entry (answer, hidden gold,
tally, every vote). A task that is not reviewed (:func:`node.chain.review.is_reviewed`) never
reaches this module, so no byte of an unreviewed task's result changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node.consensus.answers import Answers
from node.consensus.contested import contested_set
from node.consensus.result import CategoricalConsensus
from node.consensus.review import (
    ReviewerVotes,
    ReviewOutcome,
    review_leaves,
    review_round,
    review_section,
    reviewed_consensus,
)
from node.protocol.labels import LabelBatch
from node.protocol.merkle import PayoutTree
from node.protocol.result import PayoutResult
from node.protocol.review import ReviewParams, valid_votes

__all__ = ["RevealedReview", "ReviewInput", "apply_review", "review_document", "review_payouts"]


@dataclass(frozen=True)
class RevealedReview:
    """A reviewer seated on the board: its weight and, if it revealed and its batch was read
    and checked against the root it revealed, that batch (``None``: no usable reveal)."""

    account: str
    weight: int
    batch: LabelBatch | None = field(default=None, repr=False)
    votes_cid: str | None = None


@dataclass(frozen=True)
class ReviewInput:
    """What ``review@1`` needs besides the consensus: the manifest's review parameters, the
    seated reviewers (board order), and the requester's revealed hidden review gold."""

    params: ReviewParams
    reviewers: tuple[RevealedReview, ...]
    hidden_gold: Mapping[str, str] = field(default_factory=dict)
    round_end: int = 0
    """The board's hidden-gold deadline: not part of the rule, but where a validator's
    window for reading the task's batches starts (it reads none before)."""


def apply_review(
    task_id: int,
    review: ReviewInput,
    fit: CategoricalConsensus,
    answers: Answers,
    gold: Mapping[str, str],
    algorithm: str,
    bloc_test: str = "",
) -> tuple[ReviewOutcome, CategoricalConsensus]:
    """The round's outcome and the reviewed consensus (steps 1-4 of the module doc)."""
    contested = contested_set(fit, review.params)
    classes = fit.answers.classes
    voters = [
        ReviewerVotes(
            account=reviewer.account,
            weight=reviewer.weight,
            votes=None
            if reviewer.batch is None
            else valid_votes(reviewer.batch, task_id, contested, classes),
            votes_cid=reviewer.votes_cid,
        )
        for reviewer in review.reviewers
    ]
    outcome = review_round(contested, classes, voters, review.hidden_gold, review.params)
    return outcome, reviewed_consensus(answers, gold, algorithm, outcome, bloc_test)


def review_payouts(payouts: PayoutResult, outcome: ReviewOutcome) -> PayoutResult:
    """The annotators' payouts plus every reviewer's review leaf, in one tree (the market
    pays the former, the ReviewBoard settles the latter from the same final root)."""
    leaves = tuple(payouts.leaves) + tuple(review_leaves(outcome))
    if not leaves:
        return payouts
    tree = PayoutTree.build(leaves)
    return PayoutResult(leaves=leaves, tree=tree)


def review_document(
    document: Mapping[str, Any], outcome: ReviewOutcome, params: ReviewParams
) -> dict[str, Any]:
    """``document`` (``result@1`` shape, items inline) with the review section in its root and
    a ``review`` entry on each contested item's row. The caller's document is not changed."""
    section = review_section(outcome, params)
    rows = {row.pop("item"): row for row in section.pop("items")}
    items = [
        {**entry, "review": rows[entry["item"]]} if entry["item"] in rows else entry
        for entry in document["items"]
    ]
    return {**document, "items": items, "review": section}
