"""This node's participation in tasks: joined, declined or failed, and labeling progress.

Writes are upserts on the natural key, so the loader can record an outcome without reading
first and a repeated tick stores the same row again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from node.db.models import ParticipationState, TaskParticipation
from node.db.types import utcnow
from node.db.upsert import upsert
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue

_KEYS = ("chain_id", "task_id")
_OUTCOME = (
    "state",
    "reason",
    "attempts",
    "title",
    "instructions",
    "kind",
    "classes",
    "annotation",
    "updated_at",
)


class ParticipationNotFoundError(LabelnetError, LookupError):
    """The node has no participation row for the task (it never loaded it)."""


class ParticipationRepository:
    """Participation rows by (chain, task); every method runs in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int) -> TaskParticipation | None:
        return self.session.get(TaskParticipation, (chain_id, task_id))

    def record(
        self,
        chain_id: int,
        task_id: int,
        state: ParticipationState,
        *,
        reason: str = "",
        attempts: int = 0,
        title: str = "",
        instructions: str = "",
        kind: str | None = None,
        classes: Sequence[str] = (),
        annotation: dict[str, JsonValue] | None = None,
    ) -> None:
        """Store the loader's outcome for a task; the labeling progress is left as it is."""
        row = {
            "chain_id": chain_id,
            "task_id": task_id,
            "state": state,
            "reason": reason,
            "attempts": attempts,
            "title": title,
            "instructions": instructions,
            "kind": kind,
            "classes": list(classes),
            "annotation": annotation,
            "labeling_cursor": -1,
            "labeling_done": False,
            "updated_at": utcnow(),
        }
        self.session.execute(upsert(self.session, TaskParticipation, _KEYS, _OUTCOME), [row])
        self.session.expire_all()

    def in_state(self, chain_id: int, state: ParticipationState) -> list[TaskParticipation]:
        """Every row in ``state``, by task id."""
        query = (
            select(TaskParticipation)
            .where(TaskParticipation.chain_id == chain_id, TaskParticipation.state == state)
            .order_by(col(TaskParticipation.task_id))
        )
        return list(self.session.exec(query))

    def labeling_pending(self, chain_id: int) -> list[TaskParticipation]:
        """Joined tasks whose labeling program has not gone through every item yet."""
        query = (
            select(TaskParticipation)
            .where(
                TaskParticipation.chain_id == chain_id,
                TaskParticipation.state == ParticipationState.JOINED,
                col(TaskParticipation.labeling_done).is_(False),
            )
            .order_by(col(TaskParticipation.task_id))
        )
        return list(self.session.exec(query))

    def advance_labeling(self, chain_id: int, task_id: int, cursor: int, *, done: bool) -> None:
        """Move the labeling cursor to ``cursor`` (the last position handed to the program)."""
        row = self.get(chain_id, task_id)
        if row is None:
            raise ParticipationNotFoundError(f"task {task_id}: no participation row to advance")
        row.labeling_cursor = max(row.labeling_cursor, cursor)
        row.labeling_done = row.labeling_done or done
        row.updated_at = utcnow()
        self.session.add(row)
        self.session.flush()

    def is_labeling_done(self, chain_id: int, task_id: int) -> bool:
        row = self.get(chain_id, task_id)
        return row is not None and row.labeling_done
