"""Attestations, payout leaves and what an account has earned.

Amount sums are done in Python: SQLite stores uint256 amounts as text (see
:class:`~node.db.types.Uint256`), where ``SUM`` would go through floats and lose wei.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from node.db.models import Attestation, Payout, ResultFetch, ResultFetchState
from node.db.types import utcnow
from node.db.upsert import upsert

_PAYOUT_KEYS = ("chain_id", "task_id", "account")


@dataclass(frozen=True)
class PayoutLeaf:
    """One leaf of a payout tree with its proof (hex strings), as the node computed it."""

    account: str
    amount: int
    proof: Sequence[str]


@dataclass(frozen=True)
class Earnings:
    """Token totals of one account over every task: claimed and still claimable."""

    claimed: int
    unclaimed: int
    tasks: int


class AttestationRepository:
    """Attestations as mirrored from the chain."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int, validator: str) -> Attestation | None:
        return self.session.get(Attestation, (chain_id, task_id, validator))

    def for_task(self, chain_id: int, task_id: int) -> list[Attestation]:
        """A task's attestations in chain order."""
        query = (
            select(Attestation)
            .where(Attestation.chain_id == chain_id, Attestation.task_id == task_id)
            .order_by(col(Attestation.block_number), col(Attestation.validator))
        )
        return list(self.session.exec(query))


class PayoutRepository:
    """Payout leaves: recorded by the node from the winning result, marked claimed by the
    mirror."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record_leaves(self, chain_id: int, task_id: int, leaves: Sequence[PayoutLeaf]) -> int:
        """Store a task's payout leaves with proofs; keeps the claimed flags (idempotent)."""
        if not leaves:
            return 0
        now = utcnow()
        rows = [
            {
                "chain_id": chain_id,
                "task_id": task_id,
                "account": leaf.account,
                "amount": leaf.amount,
                "proof": list(leaf.proof),
                "claimed": False,
                "updated_at": now,
            }
            for leaf in leaves
        ]
        statement = upsert(self.session, Payout, _PAYOUT_KEYS, ("amount", "proof", "updated_at"))
        self.session.execute(statement, rows)
        return len(rows)

    def get(self, chain_id: int, task_id: int, account: str) -> Payout | None:
        return self.session.get(Payout, (chain_id, task_id, account))

    def for_task(self, chain_id: int, task_id: int) -> list[Payout]:
        query = (
            select(Payout)
            .where(Payout.chain_id == chain_id, Payout.task_id == task_id)
            .order_by(col(Payout.account))
        )
        return list(self.session.exec(query))

    def for_account(self, chain_id: int, account: str) -> list[Payout]:
        """Every payout of ``account``, by task."""
        query = (
            select(Payout)
            .where(Payout.chain_id == chain_id, Payout.account == account)
            .order_by(col(Payout.task_id))
        )
        return list(self.session.exec(query))

    def claimable(self, chain_id: int, account: str) -> list[Payout]:
        """Unclaimed leaves the node holds a proof for (what a batch claim sends)."""
        return [
            p
            for p in self.for_account(chain_id, account)
            if not p.claimed and p.proof is not None and p.amount > 0
        ]

    def earnings(self, chain_id: int, account: str) -> Earnings:
        """Totals over every task (exact integer arithmetic)."""
        payouts = self.for_account(chain_id, account)
        return Earnings(
            claimed=sum(p.amount for p in payouts if p.claimed),
            unclaimed=sum(p.amount for p in payouts if not p.claimed),
            tasks=len(payouts),
        )


MAX_REASON = 500


class ResultFetchRepository:
    """Result CIDs of a winning root that gave no payout leaves: unusable, or retried later
    (see :class:`~node.db.models.ResultFetch`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_root(self, chain_id: int, task_id: int, payout_root: str) -> dict[str, ResultFetch]:
        """What is known about each failed CID of the task's winning root, by CID."""
        query = select(ResultFetch).where(
            ResultFetch.chain_id == chain_id,
            ResultFetch.task_id == task_id,
            ResultFetch.payout_root == payout_root,
        )
        return {row.result_cid: row for row in self.session.exec(query)}

    def record(
        self,
        chain_id: int,
        task_id: int,
        payout_root: str,
        result_cid: str,
        *,
        state: ResultFetchState,
        reason: str,
        next_attempt_at: dt.datetime | None = None,
    ) -> ResultFetch:
        """Record one more failure of ``result_cid`` (``attempts`` counts them)."""
        row = self.session.get(ResultFetch, (chain_id, task_id, payout_root, result_cid))
        if row is None:
            row = ResultFetch(
                chain_id=chain_id,
                task_id=task_id,
                payout_root=payout_root,
                result_cid=result_cid,
                state=state,
                reason="",
                attempts=0,
            )
        row.state, row.reason = state, reason[:MAX_REASON]
        row.attempts += 1
        row.next_attempt_at, row.updated_at = next_attempt_at, utcnow()
        self.session.add(row)
        return row
