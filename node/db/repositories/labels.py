"""Storing the annotator's labels: the API's hot path.

:meth:`LabelRepository.upsert_batch` is what a label submission costs in the database: one
``INSERT ... ON CONFLICT (task, annotator, item) DO UPDATE`` run with ``executemany`` over
the batch, inside the caller's single transaction — no ORM object, no read before write, no
per-row round trip on PostgreSQL (psycopg pipelines the executemany).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from node.db.models import Item, Label, LabelCreate
from node.db.types import utcnow
from node.db.upsert import upsert
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue

_KEYS = ("chain_id", "task_id", "annotator", "item_id")


class LabelRejectedError(LabelnetError, ValueError):
    """A batch names an item the task does not have (or a task the node does not know)."""


class LabelRepository:
    """Labels of this node's annotator(s); every method runs in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert_batch(
        self, chain_id: int, task_id: int, annotator: str, labels: Sequence[LabelCreate]
    ) -> int:
        """Insert or replace the labels of one batch; returns the number of distinct items.

        A later label for the same item in the same batch wins, as a later batch does. The
        caller commits (``Database.write()``), so a batch is stored whole or not at all.
        """
        latest: dict[str, LabelCreate] = {}
        for label in labels:
            latest[label.item_id] = label
        if not latest:
            return 0
        now = utcnow()
        rows = [
            {
                "chain_id": chain_id,
                "task_id": task_id,
                "annotator": annotator,
                "item_id": item_id,
                "value": label.value,
                "created_at": now,
                "updated_at": now,
            }
            for item_id, label in latest.items()
        ]
        statement = upsert(self.session, Label, _KEYS, ("value", "updated_at"))
        try:
            self.session.execute(statement, rows)
        except IntegrityError as exc:
            raise LabelRejectedError(
                f"task {task_id} has no such item, or the node does not know the task"
            ) from exc
        return len(rows)

    def get(self, chain_id: int, task_id: int, annotator: str, item_id: str) -> Label | None:
        """One stored label."""
        return self.session.get(Label, (chain_id, task_id, annotator, item_id))

    def list_for(self, chain_id: int, task_id: int, annotator: str) -> list[Label]:
        """All of an annotator's labels on a task, by item id (the order of a label batch)."""
        query = (
            select(Label)
            .where(
                Label.chain_id == chain_id, Label.task_id == task_id, Label.annotator == annotator
            )
            .order_by(col(Label.item_id))
        )
        return list(self.session.exec(query))

    def pairs_for(self, chain_id: int, task_id: int, annotator: str) -> list[tuple[str, JsonValue]]:
        """``(item, value)`` of all of an annotator's labels on a task, by item id: the
        content of a label batch, read as plain tuples (a row object per label costs about
        a kilobyte, hundreds of megabytes for the batch of a large task)."""
        query = (
            select(Label.item_id, Label.value)
            .where(
                Label.chain_id == chain_id, Label.task_id == task_id, Label.annotator == annotator
            )
            .order_by(col(Label.item_id))
        )
        return [(item, value) for item, value in self.session.exec(query)]

    def tasks_labelled_by(self, chain_id: int, annotator: str) -> list[int]:
        """Ids of the tasks in which the annotator has at least one label."""
        query = (
            select(Label.task_id)
            .where(Label.chain_id == chain_id, Label.annotator == annotator)
            .distinct()
            .order_by(col(Label.task_id))
        )
        return [int(task_id) for task_id in self.session.exec(query)]

    def count_for(self, chain_id: int, task_id: int, annotator: str) -> int:
        """How many items of the task the annotator has labelled (progress)."""
        query = select(func.count()).where(
            Label.chain_id == chain_id, Label.task_id == task_id, Label.annotator == annotator
        )
        return int(self.session.exec(query).one())

    def count_at(
        self, chain_id: int, task_id: int, annotator: str, positions: Sequence[int]
    ) -> int:
        """How many of the items at ``positions`` (a seat's dealt items) the annotator has
        labelled: a seated task's progress, whatever else was labelled."""
        if not positions:
            return 0
        query = select(func.count()).where(
            col(Label.chain_id) == chain_id,
            col(Label.task_id) == task_id,
            col(Label.annotator) == annotator,
            col(Item.chain_id) == col(Label.chain_id),
            col(Item.task_id) == col(Label.task_id),
            col(Item.item_id) == col(Label.item_id),
            col(Item.position).in_(sorted(positions)),
        )
        return int(self.session.exec(query).one())

    def last_change(self, chain_id: int, task_id: int, annotator: str) -> dt.datetime | None:
        """When the annotator last added or changed a label of the task (None: no labels)."""
        query = select(func.max(Label.updated_at)).where(
            Label.chain_id == chain_id, Label.task_id == task_id, Label.annotator == annotator
        )
        latest: dt.datetime | None = self.session.exec(query).one()
        return latest

    def unlabelled_items(
        self,
        chain_id: int,
        task_id: int,
        annotator: str,
        limit: int = 20,
        positions: Sequence[int] | None = None,
    ) -> list[Item]:
        """The next items (in manifest order) the annotator has not labelled yet; only those
        at ``positions`` if given (a seated task's dealt items)."""
        labelled = sa.exists().where(
            col(Label.chain_id) == col(Item.chain_id),
            col(Label.task_id) == col(Item.task_id),
            col(Label.annotator) == annotator,
            col(Label.item_id) == col(Item.item_id),
        )
        query = (
            select(Item)
            .where(Item.chain_id == chain_id, Item.task_id == task_id, ~labelled)
            .order_by(col(Item.position))
        )
        if positions is not None:
            query = query.where(col(Item.position).in_(sorted(positions)))
        return list(self.session.exec(query.limit(limit)))
