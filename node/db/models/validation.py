"""This validator's own attestations: what it decided to attest, before the chain shows it.

The mirror's ``attestations`` table says what the chain holds. A validator also needs to
remember what it *is about to* attest, so that a process killed between computing a result
and seeing its ``ResultAttested`` event neither attests twice nor recomputes into a
different answer: the intent (root, total, result CID) is written before the transaction
is sent and the transaction hash right after, exactly as annotators do for commits.

A row whose ``state`` is ``skipped`` records a task this validator decided, from
content-addressed inputs only, that it cannot attest (every batch dropped, nobody earns
anything, unknown algorithm...): every honest validator reaches the same decision, so there
is nothing to retry.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, CID, HASH32, Uint256, UtcDateTime, str_enum, utcnow


class ValidationState(StrEnum):
    """Where this validator's attestation of one task stands."""

    INTENT = "intent"
    SENT = "sent"
    SKIPPED = "skipped"


class ValidationIntent(SQLModel, table=True):
    """One row per (task, validator account) this node computed a result for."""

    __tablename__ = "validation_intents"
    __table_args__ = (sa.PrimaryKeyConstraint("chain_id", "task_id", "validator"),)

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    validator: str = Field(sa_type=ADDRESS)
    state: ValidationState = Field(
        default=ValidationState.INTENT, sa_type=str_enum(ValidationState)
    )
    payout_root: str | None = Field(default=None, sa_type=HASH32)
    total_payout: int | None = Field(default=None, sa_type=Uint256)
    result_cid: str | None = Field(default=None, sa_type=CID)
    attest_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    batches_used: int = 0
    batches_dropped: int = 0
    reason: str | None = Field(default=None, sa_type=sa.String(512))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
