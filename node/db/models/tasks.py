"""Tasks as mirrored from the chain, and the items their manifests list.

A task row is written only by the chain mirror (``TaskCreated`` and the settlement events),
so it never disagrees with the contract for long; items are written by the node when it
has fetched and verified the task's manifest and item pages. Keys are natural
``(chain_id, task_id[, item_id])`` so the mirror and the manifest loader can both upsert
without looking anything up first.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, CID, HASH32, DecimalStr, Uint256, UtcDateTime, str_enum, utcnow
from node.protocol.canonical import JsonValue


class TaskStatus(StrEnum):
    """The task's on-chain status as this node last saw it.

    ``unknown`` is a task whose ``TaskCreated`` the node no longer sees on the canonical chain
    (reorganised away): its row is kept, because labels the annotator made hang off it.
    """

    UNKNOWN = "unknown"
    OPEN = "open"
    FINALIZED = "finalized"
    DISPUTED = "disputed"
    """v1 markets only: no result won, everything was refunded."""
    VOID = "void"
    """Market v2: nothing was revealed, everything was refunded (there is no dispute in v2)."""
    CANCELLED = "cancelled"


class TaskBase(SQLModel):
    """What every task view shares (amounts live on the concrete models: int vs string)."""

    chain_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    task_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    requester: str = Field(sa_type=ADDRESS, index=True)
    manifest_cid: str = Field(sa_type=CID)
    algorithm: str = Field(sa_type=sa.String(66))
    gold_commitment: str | None = Field(default=None, sa_type=HASH32)
    commit_deadline: int = Field(sa_type=sa.BigInteger)
    reveal_deadline: int = Field(sa_type=sa.BigInteger)
    attest_deadline: int = Field(sa_type=sa.BigInteger)
    num_items: int
    redundancy: int
    status: TaskStatus = Field(default=TaskStatus.OPEN, sa_type=str_enum(TaskStatus), index=True)
    gold_root: str | None = Field(default=None, sa_type=HASH32)
    gold_cid: str | None = Field(default=None, sa_type=CID)
    payout_root: str | None = Field(default=None, sa_type=HASH32)
    created_block: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    settled_block: int | None = Field(default=None, sa_type=sa.BigInteger)


class Task(TaskBase, table=True):
    """One task of the market this node follows."""

    __tablename__ = "tasks"

    reward_per_label: int = Field(sa_type=Uint256)
    validator_fee: int = Field(sa_type=Uint256)
    annotator_bond: int = Field(sa_type=Uint256)
    reward_pool: int = Field(sa_type=Uint256)
    total_payout: int | None = Field(default=None, sa_type=Uint256)
    refunded_amount: int | None = Field(default=None, sa_type=Uint256)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TaskPublic(TaskBase):
    """A task as the API returns it: token amounts as decimal strings (JSON numbers lose
    precision above 2**53 in JavaScript clients)."""

    reward_per_label: DecimalStr
    validator_fee: DecimalStr
    annotator_bond: DecimalStr
    reward_pool: DecimalStr
    total_payout: DecimalStr | None = None
    refunded_amount: DecimalStr | None = None
    updated_at: dt.datetime


class ItemBase(SQLModel):
    """One item of a task as listed by its manifest."""

    item_id: str = Field(sa_type=sa.String(256), min_length=1, max_length=256)
    position: int = Field(ge=0)
    page_cid: str | None = Field(default=None, sa_type=CID)
    content_cid: str | None = Field(default=None, sa_type=CID)
    data: JsonValue | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))


class ItemCreate(ItemBase):
    """An item read from a verified manifest page, before it is stored."""


class Item(ItemBase, table=True):
    """An item to label; ``position`` is the manifest order the node serves items in."""

    __tablename__ = "items"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id", "item_id"),
        sa.ForeignKeyConstraint(
            ["chain_id", "task_id"], ["tasks.chain_id", "tasks.task_id"], ondelete="CASCADE"
        ),
        sa.UniqueConstraint("chain_id", "task_id", "position"),
    )

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)


class ItemPublic(ItemBase):
    """An item as the API returns it."""

    task_id: int
