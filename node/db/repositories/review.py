"""Storing and reading a reviewer's votes (:class:`~node.db.models.review.ReviewVote`).

:func:`votes_for` is what the reviewer duty reads when it builds the vote batch it commits
to (``node.protocol.review.vote_batch``); the review page writes through
:func:`record_vote`. Both run inside the caller's transaction.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from node.db.models.review import ReviewVote
from node.db.types import utcnow


def record_vote(
    session: Session, chain_id: int, task_id: int, reviewer: str, item_id: str, value: str
) -> ReviewVote:
    """Insert or replace ``reviewer``'s vote on ``item_id`` (the caller commits)."""
    row = session.get(ReviewVote, (chain_id, task_id, reviewer, item_id))
    if row is None:
        row = ReviewVote(
            chain_id=chain_id, task_id=task_id, reviewer=reviewer, item_id=item_id, value=value
        )
    else:
        row.value = value
        row.updated_at = utcnow()
    session.add(row)
    return row


def votes_for(session: Session, chain_id: int, task_id: int, reviewer: str) -> dict[str, str]:
    """Every vote ``reviewer`` gave on the task, item id -> class, sorted by item id (the
    order votes are published in)."""
    query = (
        select(ReviewVote)
        .where(
            ReviewVote.chain_id == chain_id,
            ReviewVote.task_id == task_id,
            ReviewVote.reviewer == reviewer,
        )
        .order_by(col(ReviewVote.item_id))
    )
    return {row.item_id: row.value for row in session.exec(query)}
