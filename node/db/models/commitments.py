"""Commits and reveals: every annotator's, as the chain shows them, plus our own secrets.

One row per (task, annotator). The chain columns (``commitment``, ``labels_root``,
``labels_cid`` and their blocks and transactions) mirror ``LabelsCommitted`` and
``LabelsRevealed`` for everyone, which is what validators need to collect batches. The
``own_*`` columns and ``salt`` are written only for this node's account, *before* it sends
the commit transaction: they are what lets a node that was killed after committing still
reveal after a restart. Keeping the two apart means replaying chain events (after a reorg)
can never overwrite or drop a salt.

``state`` summarises both: ``pending`` while our intended commitment is not (yet) the one on
chain, ``committed`` once the chain holds it, ``revealed`` once the reveal is on chain.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, CID, HASH32, UtcDateTime, str_enum, utcnow


class CommitState(StrEnum):
    """Where a (task, annotator) commit-reveal stands."""

    PENDING = "pending"
    COMMITTED = "committed"
    REVEALED = "revealed"


class CommitmentBase(SQLModel):
    """The publicly visible part: what the chain says about this annotator's batch."""

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    annotator: str = Field(sa_type=ADDRESS)
    state: CommitState = Field(default=CommitState.PENDING, sa_type=str_enum(CommitState))
    commitment: str | None = Field(default=None, sa_type=HASH32)
    commit_block: int | None = Field(default=None, sa_type=sa.BigInteger)
    commit_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    labels_root: str | None = Field(default=None, sa_type=HASH32)
    labels_cid: str | None = Field(default=None, sa_type=CID)
    reveal_block: int | None = Field(default=None, sa_type=sa.BigInteger)
    reveal_tx_hash: str | None = Field(default=None, sa_type=HASH32)


class Commitment(CommitmentBase, table=True):
    """The chain mirror of one annotator's commit-reveal plus, for our account, its secrets."""

    __tablename__ = "commitments"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id", "annotator"),
        sa.Index("ix_commitments_state", "chain_id", "state"),
    )

    own_commitment: str | None = Field(default=None, sa_type=HASH32)
    own_labels_root: str | None = Field(default=None, sa_type=HASH32)
    own_labels_cid: str | None = Field(default=None, sa_type=CID)
    salt: str | None = Field(default=None, sa_type=HASH32)
    own_commit_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    own_reveal_tx_hash: str | None = Field(default=None, sa_type=HASH32)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

    def refresh_state(self) -> None:
        """Recompute ``state`` from the chain and own columns (called after every change)."""
        if self.reveal_block is not None:
            self.state = CommitState.REVEALED
        elif self.commitment is not None and self.own_commitment in (None, self.commitment):
            self.state = CommitState.COMMITTED
        else:
            self.state = CommitState.PENDING


class CommitmentPublic(CommitmentBase):
    """A commitment as the API returns it: never the salt or the unrevealed root."""

    updated_at: dt.datetime
