"""The annotator's own labels, as the API accepted them.

A label is the one thing the node cannot recover from the chain or IPFS before it is
committed: it exists only here until the batch is built. So the row is written (and the
transaction committed) before the API acknowledges it, and re-submitting a label for the
same item replaces the previous value instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, UtcDateTime, utcnow
from node.protocol.canonical import JsonValue


class LabelBase(SQLModel):
    """An item and the value given to it."""

    item_id: str = Field(sa_type=sa.String(256), min_length=1, max_length=256)
    value: JsonValue = Field(sa_type=sa.JSON)


class LabelCreate(LabelBase):
    """One label of a submitted batch (the task and annotator come from the request)."""


class Label(LabelBase, table=True):
    """One annotator's current label for one item; unique per (task, item, annotator)."""

    __tablename__ = "labels"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id", "annotator", "item_id"),
        sa.ForeignKeyConstraint(
            ["chain_id", "task_id", "item_id"],
            ["items.chain_id", "items.task_id", "items.item_id"],
            ondelete="CASCADE",
        ),
    )

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    annotator: str = Field(sa_type=ADDRESS)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class LabelPublic(LabelBase):
    """A stored label as the API returns it."""

    task_id: int
    annotator: str
    created_at: dt.datetime
    updated_at: dt.datetime
