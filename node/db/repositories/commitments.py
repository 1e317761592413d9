"""This node's commit-reveal bookkeeping, and everyone's reveals for validators.

The annotator role writes its intent (root, CID, salt, commitment) with
:meth:`CommitmentRepository.record_intent` and commits the transaction *before* sending the
commit transaction; it records the hashes of what it sent. After a crash,
:meth:`~CommitmentRepository.awaiting_reveal` lists what still has to be revealed, and
:meth:`~CommitmentRepository.pending` what may still have to be (re)committed. The chain
columns are written by the mirror only.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from node.db.models import Commitment, CommitState
from node.db.types import utcnow
from node.errors import LabelnetError


class CommitmentStateError(LabelnetError, RuntimeError):
    """An operation that the commitment's state does not allow (e.g. re-committing after a
    reveal)."""


class CommitmentRepository:
    """Commitments by (chain, task, annotator)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int, annotator: str) -> Commitment | None:
        return self.session.get(Commitment, (chain_id, task_id, annotator))

    def record_intent(
        self,
        chain_id: int,
        task_id: int,
        annotator: str,
        *,
        commitment: str,
        labels_root: str,
        labels_cid: str,
        salt: str,
    ) -> Commitment:
        """Remember what we are about to commit to, before the transaction is sent.

        Replacing an unrevealed intent is allowed (the contract lets an annotator replace its
        commitment before the deadline); after the reveal it is not.
        """
        row = self.get(chain_id, task_id, annotator)
        if row is None:
            row = Commitment(chain_id=chain_id, task_id=task_id, annotator=annotator)
        elif row.state is CommitState.REVEALED:
            raise CommitmentStateError(f"task {task_id}: {annotator} already revealed")
        row.own_commitment = commitment
        row.own_labels_root = labels_root
        row.own_labels_cid = labels_cid
        row.salt = salt
        row.own_commit_tx_hash = None
        row.own_reveal_tx_hash = None
        row.updated_at = utcnow()
        row.refresh_state()
        self.session.add(row)
        self.session.flush()
        return row

    def mark_commit_sent(self, chain_id: int, task_id: int, annotator: str, tx_hash: str) -> None:
        """Record the commit transaction's hash (to look for its receipt after a restart)."""
        row = self._own(chain_id, task_id, annotator)
        row.own_commit_tx_hash = tx_hash
        row.updated_at = utcnow()
        self.session.add(row)

    def mark_reveal_sent(self, chain_id: int, task_id: int, annotator: str, tx_hash: str) -> None:
        """Record the reveal transaction's hash."""
        row = self._own(chain_id, task_id, annotator)
        row.own_reveal_tx_hash = tx_hash
        row.updated_at = utcnow()
        self.session.add(row)

    def _own(self, chain_id: int, task_id: int, annotator: str) -> Commitment:
        row = self.get(chain_id, task_id, annotator)
        if row is None or row.salt is None:
            raise CommitmentStateError(f"task {task_id}: no commit intent for {annotator}")
        return row

    def pending(self, chain_id: int, annotator: str) -> list[Commitment]:
        """Our intents the chain does not show yet (commit unsent, in flight or lost)."""
        return self._own_in_state(chain_id, annotator, CommitState.PENDING)

    def awaiting_reveal(self, chain_id: int, annotator: str) -> list[Commitment]:
        """Our commitments that are on chain and not revealed: reveal them when the window
        opens (also after a restart)."""
        return self._own_in_state(chain_id, annotator, CommitState.COMMITTED)

    def _own_in_state(self, chain_id: int, annotator: str, state: CommitState) -> list[Commitment]:
        query = (
            select(Commitment)
            .where(
                Commitment.chain_id == chain_id,
                Commitment.state == state,
                Commitment.annotator == annotator,
                col(Commitment.salt).is_not(None),
            )
            .order_by(col(Commitment.task_id))
        )
        return list(self.session.exec(query))

    def for_task(self, chain_id: int, task_id: int) -> list[Commitment]:
        """Every annotator's commitment on a task, by annotator address."""
        query = (
            select(Commitment)
            .where(Commitment.chain_id == chain_id, Commitment.task_id == task_id)
            .order_by(col(Commitment.annotator))
        )
        return list(self.session.exec(query))

    def revealed(self, chain_id: int, task_id: int) -> list[Commitment]:
        """The revealed batches of a task (what a validator fetches and aggregates)."""
        return [c for c in self.for_task(chain_id, task_id) if c.state is CommitState.REVEALED]
