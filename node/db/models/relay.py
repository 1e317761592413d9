"""Seat claims a requester node relays for the annotators of its gated tasks (issue #19).

An annotator node signs its EIP-712 ``SeatClaim`` and offers it to the task's requester node
(``POST /api/v1/tasks/{id}/seat-claims``), which stores it here *before* it answers, so a
restarted relayer loses no signed seat. Its seat relay duty later sends every pending claim
of a task in one ``claimSeats`` (:mod:`node.roles.seat_relay`): it records the transaction's
hash on the rows it sent, and a row is ``seated`` once the chain holds the annotator's seat,
or ``dropped`` with the reason when it can no longer be sent (the annotator is no longer
admitted, its bond cannot be pulled, the seats are gone).

A new table and no new column: ``create_all`` adds it to an existing database, and a node
that predates it ignores it, so the schema version is unchanged.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, HASH32, UtcDateTime, str_enum, utcnow


class RelayState(StrEnum):
    """Where one relayed seat claim stands."""

    PENDING = "pending"
    """Stored, not sent yet (or sent in a transaction that did not land)."""
    SENT = "sent"
    """In the ``claimSeats`` whose hash is ``tx_hash``."""
    SEATED = "seated"
    """The chain holds the annotator's seat (whoever sent it)."""
    DROPPED = "dropped"
    """Never to be sent: ``reason`` says why."""


class RelayedSeat(SQLModel, table=True):
    """One annotator's signed seat claim on one gated task of this requester."""

    __tablename__ = "relayed_seats"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id", "annotator"),
        sa.Index("ix_relayed_seats_state", "chain_id", "state"),
    )

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    annotator: str = Field(sa_type=ADDRESS)
    deadline: int = Field(sa_type=sa.BigInteger)
    proof: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    """The allowlist proof, hex hashes (empty without an allowlist)."""
    v: int
    r: str = Field(sa_type=HASH32)
    s: str = Field(sa_type=HASH32)
    state: RelayState = Field(default=RelayState.PENDING, sa_type=str_enum(RelayState))
    tx_hash: str | None = Field(default=None, sa_type=HASH32)
    reason: str = Field(default="", sa_type=sa.Text)
    offered_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
