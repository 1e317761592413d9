"""A reviewer's votes on a reviewed task's contested items (issue #17, docs/review.md §3).

A vote given on the review page exists only here until the reviewer duty builds the vote
batch, commits to it and reveals it, exactly as an annotator's label does: so the row is
written (and committed) before the API answers, and voting again on an item replaces the
value instead of adding a second one. No foreign key to ``items``: a validator node reads
a task's items from its manifest pages, it does not load them into its database.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, UtcDateTime, utcnow


class ReviewVote(SQLModel, table=True):
    """One reviewer's current vote (a class of the task) on one contested item."""

    __tablename__ = "review_votes"
    __table_args__ = (sa.PrimaryKeyConstraint("chain_id", "task_id", "reviewer", "item_id"),)

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    reviewer: str = Field(sa_type=ADDRESS)
    item_id: str = Field(sa_type=sa.String(256), min_length=1, max_length=256)
    value: str = Field(sa_type=sa.String(256), min_length=1, max_length=256)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
