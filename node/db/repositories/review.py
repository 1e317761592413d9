"""Reads and writes of this reviewer's vote commitments (:class:`ReviewIntent`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from node.db.models import ReviewIntent, ReviewState
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
