"""What a validator reads for a reviewed task's round (docs/review.md §1 step 5): the one
place the validator path decides whether a task is reviewed and gathers ``review@1``'s input.

:func:`review_input` returns ``None`` for a task that is not reviewed
(:func:`node.chain.review.is_reviewed`: manifest section AND matching terms on the board), so
its result is computed exactly as before. For a reviewed task it raises
:class:`ReviewPendingError` until the board's hidden-gold deadline has passed (a root attested
earlier could not hold the review leaves), then reads

- every seated reviewer in board order with its weight (:func:`read_reviewers`), and each
  revealed vote batch, checked against the root it revealed (``labels@2``, read under one
  batch's byte budget). A batch that is not a valid batch of that reviewer, task and root is
  no reveal. A batch no peer serves is waited for during the first 1/``FETCH_SHARE`` of the
  window from the gold deadline to the attest deadline (as the validator waits for label
  batches), then counts as no reveal;
- the requester's hidden review gold, if it revealed it (``ReviewGoldRevealed``): the task's
  gold reader checks it against the revealed root; a set that does not read, or names a
  class the task does not have, gives no checks (every honest validator decides the same
  from the same bytes).

Whether each batch is a *valid reveal* (one vote per contested item) is decided later, by
:func:`node.consensus.reviewed.apply_review`, once the contested set is known.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.review import read_review, read_reviewers
from node.consensus.reviewed import RevealedReview, ReviewInput
from node.db.models import Task
from node.errors import LabelnetError
from node.protocol.canonical import DocumentTooDeepError
from node.protocol.errors import ConsensusError
from node.protocol.gold import parse_gold_root, read_gold
from node.protocol.labels import (
    LABELS_V2,
    LabelBatch,
    LabelBatchError,
    parse_batch_root,
    read_batch,
)
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest, ManifestError
from node.protocol.values import categorical_value
from node.roles.drop_rule import RETRYABLE, bounded_pages
from node.store.base import ContentStore
from node.store.budget import FetchBudget
from node.store.errors import StoreError

__all__ = ["ReviewPendingError", "review_input"]

log = logging.getLogger(__name__)

READ_SECONDS = 10.0
"""Seconds to read one reviewer's batch or the hidden gold in one tick."""


class ReviewPendingError(LabelnetError, RuntimeError):
    """The task is reviewed and its round is not over (or a reviewer's batch is still being
    waited for): nothing may be attested yet."""


def review_input(
    board: Contract | None,
    store: ContentStore,
    task: Task,
    manifest: Manifest,
    now: int,
    *,
    fetch_share: int,
    from_block: int = 0,
) -> ReviewInput | None:
    """The task's review round input, None if it is not reviewed (module doc)."""
    params = manifest.review
    if board is None or params is None:
        return None
    review = read_review(board, task.task_id)
    if review is None or not review.terms.matches(params, task.num_items):
        return None  # the rule of is_reviewed, on the review already read
    terms = review.terms
    if now <= terms.gold_deadline:
        raise ReviewPendingError(
            f"task {task.task_id} is reviewed: its round ends at {terms.gold_deadline}"
        )
    waiting = now < terms.gold_deadline + (task.attest_deadline - terms.gold_deadline) // max(
        fetch_share, 1
    )
    reviewers: list[RevealedReview] = []
    for seat in read_reviewers(board, task.task_id, from_block):
        batch = None
        if seat.votes_cid is not None and seat.votes_root is not None:
            try:
                batch = _vote_batch(store, task, seat.account, seat.votes_cid, seat.votes_root)
            except RETRYABLE as exc:
                if waiting:
                    raise ReviewPendingError(
                        f"task {task.task_id}: waiting for {seat.account}'s votes: {exc}"
                    ) from exc
                log.error(
                    "task %s: %s's votes %s unserved: counted as no reveal",
                    task.task_id,
                    seat.account,
                    seat.votes_cid,
                )
        reviewers.append(RevealedReview(seat.account, seat.weight, batch, seat.votes_cid))
    gold: dict[str, str] = {}
    if review.gold_revealed:
        gold = _hidden_gold(board, store, task, manifest, from_block, waiting)
    return ReviewInput(params, tuple(reviewers), gold, round_end=terms.gold_deadline)


def _vote_batch(
    store: ContentStore, task: Task, reviewer: str, cid: str, root: bytes
) -> LabelBatch | None:
    """The reviewer's batch, or None if it is not a batch of that reviewer, task and root;
    :class:`StoreError` if it cannot be read now."""
    data = store.get(
        cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(READ_SECONDS), canonical=True
    )
    try:
        return read_batch(
            parse_batch_root(data),
            bounded_pages(store, task, READ_SECONDS),
            task_id=task.task_id,
            annotator=reviewer,
            labels_root=root,
            schema=LABELS_V2,
        )
    except (LabelBatchError, StoreError) as exc:  # retryable reads raise before the parse
        if isinstance(exc, RETRYABLE):
            raise
        log.warning("task %s: %s's votes are no batch: %s", task.task_id, reviewer, exc)
        return None


def _hidden_gold(
    board: Contract,
    store: ContentStore,
    task: Task,
    manifest: Manifest,
    from_block: int,
    waiting: bool,
) -> dict[str, str]:
    logs = board.events.ReviewGoldRevealed().get_logs(
        from_block=from_block, argument_filters={"taskId": task.task_id}
    )
    if not logs:
        return {}
    root, cid = bytes(logs[-1]["args"]["goldRoot"]), str(logs[-1]["args"]["goldCid"])
    try:
        data = store.get(
            cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(READ_SECONDS), canonical=True
        )
        gold = read_gold(
            parse_gold_root(data),
            bounded_pages(store, task, READ_SECONDS),
            gold_root=root,
            schema=manifest.gold,
        ).as_dict()
        answers = {str(item): categorical_value(value) for item, value in gold.items()}
    except RETRYABLE as exc:
        if waiting:
            raise ReviewPendingError(f"task {task.task_id}: waiting for hidden gold") from exc
        log.error("task %s: hidden review gold %s unserved: no checks", task.task_id, cid)
        return {}
    except (ManifestError, StoreError, DocumentTooDeepError, RecursionError, ConsensusError) as exc:
        log.warning("task %s: hidden review gold unusable: %s", task.task_id, exc)
        return {}
    if not set(answers.values()) <= set(manifest.classes):
        log.warning("task %s: hidden review gold names unknown classes", task.task_id)
        return {}
    return answers
