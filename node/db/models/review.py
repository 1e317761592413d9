"""A reviewer's votes and vote commitments (docs/review.md §1 to §3).

``ReviewVote``: a vote given on the review page exists only here until the reviewer duty
builds the vote batch, commits to it and reveals it, exactly as an annotator's label does: so
the row is written (and committed) before the API answers, and voting again on an item
replaces the value. No foreign key to ``items``: a validator node reads a task's items from
its manifest pages.

``ReviewIntent``: this reviewer's own vote commitments (docs/review.md §1 step 2): what it
committed to on the ReviewBoard, recorded *before* the commit transaction exists.

A reviewer killed between recording and sending resends the same commitment (a replaced
commitment pulls no second bond); killed after sending, the board's seat shows the recorded
commitment and nothing is sent again. The votes themselves are kept so the batch can be
rebuilt, checked against the recorded root and published at reveal time, never earlier.

New tables and no new column: ``create_all`` adds them to an existing database, and a node
that predates them ignores them, so the schema version is unchanged.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, CID, HASH32, UtcDateTime, str_enum, utcnow


class ReviewState(StrEnum):
    """Where this reviewer's vote commitment on one task stands."""

    INTENT = "intent"
    COMMITTED = "committed"
    REVEALED = "revealed"


class ReviewIntent(SQLModel, table=True):
    """One row per (task, reviewer account) this node decided to review."""

    __tablename__ = "review_intents"
    __table_args__ = (sa.PrimaryKeyConstraint("chain_id", "task_id", "reviewer"),)

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    reviewer: str = Field(sa_type=ADDRESS)
    state: ReviewState = Field(default=ReviewState.INTENT, sa_type=str_enum(ReviewState))
    votes: dict[str, str] = Field(sa_type=sa.JSON)
    votes_root: str = Field(sa_type=HASH32)
    votes_cid: str = Field(sa_type=CID)
    salt: str = Field(sa_type=HASH32)
    commitment: str = Field(sa_type=HASH32)
    commit_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    reveal_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


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
