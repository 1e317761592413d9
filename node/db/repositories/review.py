"""Reads and writes of a reviewer's votes (:class:`ReviewVote`) and vote commitments
(:class:`ReviewIntent`).

:func:`votes_for` is what the reviewer duty reads when it builds the vote batch it commits to
(``node.protocol.review.vote_batch``); the review page writes through :func:`record_vote`.
Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from node.db.models import ReviewIntent, ReviewState
from node.db.models.review import ReviewVote
from node.db.types import utcnow


class ReviewIntentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int, reviewer: str) -> ReviewIntent | None:
        return self.session.get(ReviewIntent, (chain_id, task_id, reviewer))

    def record_intent(
        self,
        chain_id: int,
        task_id: int,
        reviewer: str,
        *,
        votes: Mapping[str, str],
        votes_root: str,
        votes_cid: str,
        salt: str,
        commitment: str,
    ) -> ReviewIntent:
        """The commitment as decided, before any transaction: once per task (the votes are
        fixed from here on, as a label batch is once its intent is recorded)."""
        row = ReviewIntent(
            chain_id=chain_id,
            task_id=task_id,
            reviewer=reviewer,
            votes=dict(votes),
            votes_root=votes_root,
            votes_cid=votes_cid,
            salt=salt,
            commitment=commitment,
        )
        self.session.add(row)
        return row

    def mark(
        self,
        row_key: tuple[int, int, str],
        *,
        state: ReviewState | None = None,
        commit_tx_hash: str | None = None,
        reveal_tx_hash: str | None = None,
    ) -> None:
        """Record a sent transaction's hash or a state the board shows."""
        row = self.session.get(ReviewIntent, row_key)
        if row is None:
            raise LookupError(f"no review intent {row_key}")
        if state is not None:
            row.state = state
        if commit_tx_hash is not None:
            row.commit_tx_hash = commit_tx_hash
        if reveal_tx_hash is not None:
            row.reveal_tx_hash = reveal_tx_hash
        row.updated_at = utcnow()
        self.session.add(row)

    def task_ids(self, chain_id: int, reviewer: str) -> list[int]:
        """Every task the reviewer recorded a commitment on, by id (the tasks whose review
        leaf it may have to settle)."""
        query = (
            select(ReviewIntent.task_id)
            .where(ReviewIntent.chain_id == chain_id, ReviewIntent.reviewer == reviewer)
            .order_by(col(ReviewIntent.task_id))
        )
        return list(self.session.exec(query).all())

    def unfinished(self, chain_id: int, reviewer: str) -> Sequence[ReviewIntent]:
        """Rows not revealed yet, by task id."""
        query = (
            select(ReviewIntent)
            .where(
                ReviewIntent.chain_id == chain_id,
                ReviewIntent.reviewer == reviewer,
                ReviewIntent.state != ReviewState.REVEALED,
            )
            .order_by(col(ReviewIntent.task_id))
        )
        return self.session.exec(query).all()


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
