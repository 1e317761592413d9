"""Attestations and payouts: how a task was settled and who was paid.

Attestations mirror ``ResultAttested`` and the staking outcome of each validator
(``StakeReleased`` with its reward, or ``Slashed``). Payouts are the leaves of a task's
payout tree: the node stores the leaves (with Merkle proofs) it computed or fetched from the
result document so it can claim, and the mirror marks them claimed from ``PayoutClaimed``.
Every token amount is a :class:`~node.db.types.Uint256` column.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, CID, HASH32, DecimalStr, Uint256, UtcDateTime, str_enum, utcnow


class AttestationOutcome(StrEnum):
    """What finalization did to the validator's locked stake."""

    PENDING = "pending"
    RELEASED = "released"
    SLASHED = "slashed"


class AttestationBase(SQLModel):
    """A validator's attestation of one task's payout root."""

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    validator: str = Field(sa_type=ADDRESS)
    payout_root: str = Field(sa_type=HASH32)
    result_cid: str = Field(sa_type=CID)
    outcome: AttestationOutcome = Field(
        default=AttestationOutcome.PENDING, sa_type=str_enum(AttestationOutcome)
    )
    block_number: int = Field(sa_type=sa.BigInteger)
    tx_hash: str = Field(sa_type=HASH32)


class Attestation(AttestationBase, table=True):
    """One row per (task, validator): the contract allows one attestation each."""

    __tablename__ = "attestations"
    __table_args__ = (sa.PrimaryKeyConstraint("chain_id", "task_id", "validator"),)

    total_payout: int = Field(sa_type=Uint256)
    weight: int = Field(sa_type=Uint256)
    reward: int | None = Field(default=None, sa_type=Uint256)
    slashed_amount: int | None = Field(default=None, sa_type=Uint256)


class AttestationPublic(AttestationBase):
    """An attestation as the API returns it."""

    total_payout: DecimalStr
    weight: DecimalStr
    reward: DecimalStr | None = None
    slashed_amount: DecimalStr | None = None


class PayoutBase(SQLModel):
    """One leaf ``(account, amount)`` of a task's payout tree and whether it was claimed."""

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    account: str = Field(sa_type=ADDRESS)
    claimed: bool = False
    claim_block: int | None = Field(default=None, sa_type=sa.BigInteger)
    claim_tx_hash: str | None = Field(default=None, sa_type=HASH32)


class Payout(PayoutBase, table=True):
    """A payout leaf; ``proof`` is set when the node knows the tree (it can claim)."""

    __tablename__ = "payouts"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id", "account"),
        sa.Index("ix_payouts_account", "chain_id", "account"),
    )

    amount: int = Field(sa_type=Uint256)
    proof: list[str] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PayoutPublic(PayoutBase):
    """A payout as the API returns it (amount as a decimal string)."""

    amount: DecimalStr
    proof: list[str] | None = None


class ResultFetchState(StrEnum):
    """Why a winning root's result CID is not tried on every tick."""

    UNUSABLE = "unusable"
    """Never usable: not a CID, or its (immutable) content is not the winning result."""
    RETRYING = "retrying"
    """Could not be fetched (nobody served it, a peer misbehaved): tried again later."""


class ResultFetch(SQLModel, table=True):
    """A result CID attested for a task's winning root that did not give its payout leaves.

    Content under a CID never changes, so a CID that is malformed or names a document that
    does not rebuild the winning root is recorded once as unusable and never fetched again
    (it used to be fetched, and warned about, on every duty tick for ever). A fetch that
    failed for a reason time can cure is retried with an exponential back-off. Keyed by the
    payout root as well: after a reorganisation to another root the verdict is redone.

    A table added to schema version 1: ``create_all`` creates it in an existing database,
    and a node that does not know it never reads it, so no migration or version bump.
    """

    __tablename__ = "result_fetches"
    __table_args__ = (sa.PrimaryKeyConstraint("chain_id", "task_id", "payout_root", "result_cid"),)

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    payout_root: str = Field(sa_type=HASH32)
    result_cid: str = Field(sa_type=CID)
    state: ResultFetchState = Field(sa_type=str_enum(ResultFetchState))
    reason: str = Field(sa_type=sa.String(500))
    attempts: int = 1
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
