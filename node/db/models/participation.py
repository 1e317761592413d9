"""Whether this node takes part in a task, and how far its labeling program has got.

One row per task the annotator role has looked at. The task loader writes it together with
the task's items (one transaction: a task is either joined with all its items or not at
all); it keeps the manifest's title, instructions, kind, classes and annotation, which the
labeling page and the labeling duty need and would otherwise have to fetch and parse again.
The labeling duty moves ``labeling_cursor`` in the same transaction as the labels it stores, so a
restarted node continues after the last item it labelled, never before or after it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db.types import UtcDateTime, str_enum, utcnow


class ParticipationState(StrEnum):
    """``joined``: items stored, ready to label; ``declined``: not qualified or malformed
    content, final; ``failed``: the content could not be fetched yet, retried."""

    JOINED = "joined"
    DECLINED = "declined"
    FAILED = "failed"


class TaskParticipationBase(SQLModel):
    """What the labeling page and the API show about this node's part in a task."""

    chain_id: int = Field(sa_type=sa.BigInteger)
    task_id: int = Field(sa_type=sa.BigInteger)
    state: ParticipationState = Field(sa_type=str_enum(ParticipationState))
    reason: str = Field(default="", sa_type=sa.Text)
    attempts: int = 0
    title: str = Field(default="", sa_type=sa.Text)
    instructions: str = Field(default="", sa_type=sa.Text)
    kind: str | None = Field(default=None, sa_type=sa.String(16))
    classes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    annotation: dict[str, object] | None = Field(default=None, sa_type=sa.JSON)
    """The manifest's ``annotation`` section (boxes, spans, text, pairwise tasks): the
    limits a label is checked against when it is stored (schema version 2)."""
    labeling_cursor: int = -1
    labeling_done: bool = False


class TaskParticipation(TaskParticipationBase, table=True):
    """This node's participation in one task (written by the loader and the labeling duty)."""

    __tablename__ = "task_participation"
    __table_args__ = (
        sa.PrimaryKeyConstraint("chain_id", "task_id"),
        sa.Index("ix_task_participation_state", "chain_id", "state"),
    )

    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TaskParticipationPublic(TaskParticipationBase):
    """A participation row as the API returns it."""

    updated_at: dt.datetime
