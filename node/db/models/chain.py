"""Bookkeeping of the chain event sync: its cursor, recent checkpoints and the event journal.

The cursor says how far the sync has processed; it is written in the same transaction as
the effects of the events up to it, so the two can never disagree after a crash. The
checkpoints are the block hashes of recently processed blocks, kept for a bounded depth so
that after a reorganisation the sync can find the newest block both chains share. The
journal holds every decoded event the mirror applied: it makes applying an event
idempotent (a unique key per log) and lets the mirror rebuild a task's rows from the
events that remain canonical after a reorganisation.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import ADDRESS, HASH32, UtcDateTime, utcnow
from node.protocol.canonical import JsonValue


class SyncCursorBase(SQLModel):
    """How far one event stream (keyed by chain and market address) has been processed."""

    chain_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    contract: str = Field(sa_type=ADDRESS, primary_key=True)
    last_block: int = Field(sa_type=sa.BigInteger)
    block_hash: str | None = Field(default=None, sa_type=HASH32)


class SyncCursor(SyncCursorBase, table=True):
    """The last fully processed block of a stream and its hash (to detect reorgs)."""

    __tablename__ = "sync_cursors"

    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SyncCursorPublic(SyncCursorBase):
    """The cursor as health endpoints report it."""

    updated_at: dt.datetime


class SyncCheckpoint(SQLModel, table=True):
    """The hash of a block the sync processed up to; kept for ``reorg_depth`` blocks."""

    __tablename__ = "sync_checkpoints"

    chain_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    contract: str = Field(sa_type=ADDRESS, primary_key=True)
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    block_hash: str = Field(sa_type=HASH32)


class ChainEventRecord(SQLModel, table=True):
    """One applied contract event; ``args`` is JSON (bytes as 0x-hex, structs as objects)."""

    __tablename__ = "chain_events"
    __table_args__ = (
        sa.UniqueConstraint("chain_id", "block_hash", "log_index"),
        sa.Index("ix_chain_events_task", "chain_id", "task_id"),
        sa.Index("ix_chain_events_block", "chain_id", "block_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(sa_type=sa.BigInteger)
    contract: str = Field(sa_type=ADDRESS)
    event: str = Field(sa_type=sa.String(64))
    task_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    block_number: int = Field(sa_type=sa.BigInteger)
    block_hash: str = Field(sa_type=HASH32)
    log_index: int
    tx_hash: str = Field(sa_type=HASH32)
    args: dict[str, JsonValue] = Field(sa_type=sa.JSON)
    applied_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SchemaVersion(SQLModel, table=True):
    """The single row saying which schema version the database holds."""

    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
