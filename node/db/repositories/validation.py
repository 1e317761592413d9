"""A validator's own attestation intents, and the settled tasks an account may claim from.

:class:`ValidationRepository` is the validator's write-ahead record: the duty stores the
result it is about to attest (:meth:`~ValidationRepository.record_intent`) and commits it
*before* sending, then the transaction hash (:meth:`~ValidationRepository.mark_sent`), so a
restarted node looks for the receipt instead of attesting again. :class:`ClaimRepository`
answers the claimer's one question: which finalized tasks might owe this account tokens.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from node.db.models import (
    Attestation,
    Commitment,
    CommitState,
    Payout,
    Task,
    TaskStatus,
    ValidationIntent,
    ValidationState,
)
from node.db.types import utcnow


class ValidationRepository:
    """This node's attestation intents by (chain, task, validator)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int, validator: str) -> ValidationIntent | None:
        return self.session.get(ValidationIntent, (chain_id, task_id, validator))

    def record_intent(
        self,
        chain_id: int,
        task_id: int,
        validator: str,
        *,
        payout_root: str,
        total_payout: int,
        result_cid: str,
        batches_used: int,
        batches_dropped: int,
    ) -> ValidationIntent:
        """Remember the result about to be attested (before the transaction exists)."""
        row = self.get(chain_id, task_id, validator) or ValidationIntent(
            chain_id=chain_id, task_id=task_id, validator=validator
        )
        row.state = ValidationState.INTENT
        row.payout_root = payout_root
        row.total_payout = total_payout
        row.result_cid = result_cid
        row.attest_tx_hash = None
        row.batches_used = batches_used
        row.batches_dropped = batches_dropped
        row.reason = None
        row.updated_at = utcnow()
        self.session.add(row)
        self.session.flush()
        return row

    def mark_sent(self, chain_id: int, task_id: int, validator: str, tx_hash: str | None) -> None:
        """Record the attest transaction's hash (its receipt is looked up after a restart);
        None when the chain already held the attestation (sent before a crash)."""
        row = self.get(chain_id, task_id, validator)
        if row is None:
            raise LookupError(f"task {task_id}: no attestation intent for {validator}")
        row.state = ValidationState.SENT
        row.attest_tx_hash = tx_hash
        row.updated_at = utcnow()
        self.session.add(row)

    def record_skipped(
        self,
        chain_id: int,
        task_id: int,
        validator: str,
        reason: str,
        *,
        batches_used: int = 0,
        batches_dropped: int = 0,
    ) -> None:
        """Remember that this task cannot be attested, and why (a deterministic verdict)."""
        row = self.get(chain_id, task_id, validator) or ValidationIntent(
            chain_id=chain_id, task_id=task_id, validator=validator
        )
        row.state = ValidationState.SKIPPED
        row.reason = reason[:512]
        row.batches_used = batches_used
        row.batches_dropped = batches_dropped
        row.updated_at = utcnow()
        self.session.add(row)

    def attested_tasks(self, chain_id: int, validator: str, status: TaskStatus) -> list[Task]:
        """Tasks in ``status`` that ``validator`` attested: mirrored, or sent by this node."""
        mirrored = select(Attestation.task_id).where(
            Attestation.chain_id == chain_id, Attestation.validator == validator
        )
        sent = select(ValidationIntent.task_id).where(
            ValidationIntent.chain_id == chain_id,
            ValidationIntent.validator == validator,
            ValidationIntent.state == ValidationState.SENT,
        )
        query = (
            select(Task)
            .where(
                Task.chain_id == chain_id,
                Task.status == status,
                col(Task.task_id).in_(mirrored.union(sent)),
            )
            .order_by(col(Task.task_id))
        )
        return list(self.session.exec(query))


class ClaimRepository:
    """Which tasks an account revealed in: the finalized ones may pay it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def revealed_by(self, chain_id: int, account: str, status: TaskStatus) -> list[int]:
        """Tasks in ``status`` on which ``account`` revealed a batch, by id: the finalized
        ones may pay it (the claimer), the open ones it may have to settle (the liveness
        duty, :mod:`node.roles.liveness`)."""
        query = (
            select(Commitment.task_id)
            .join(
                Task,
                (col(Task.chain_id) == col(Commitment.chain_id))
                & (col(Task.task_id) == col(Commitment.task_id)),
            )
            .where(
                Commitment.chain_id == chain_id,
                Commitment.annotator == account,
                Commitment.state == CommitState.REVEALED,
                Task.status == status,
            )
            .order_by(col(Commitment.task_id))
        )
        return list(self.session.exec(query))

    def has_leaves(self, chain_id: int, task_id: int) -> bool:
        """Whether the winning payout leaves (with proofs) of a task are recorded here."""
        query = select(Payout.account).where(
            Payout.chain_id == chain_id,
            Payout.task_id == task_id,
            col(Payout.proof).is_not(None),
        )
        return self.session.exec(query.limit(1)).first() is not None
