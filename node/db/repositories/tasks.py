"""Reading tasks and storing the items of their manifests.

Task rows are written by the chain mirror only (:mod:`node.chain.mirror`); the node's roles
read them here. Items are written once the manifest and item pages have been fetched and
verified; storing them again (after a restart half-way through) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from node.db.models import Item, ItemCreate, Task, TaskStatus
from node.db.upsert import dialect_name, upsert
from node.errors import LabelnetError

_ITEM_KEYS = ("chain_id", "task_id", "item_id")
_ITEM_UPDATE = ("position", "page_cid", "content_cid", "data")
_ANALYZE_AFTER = 500


class TaskNotFoundError(LabelnetError, LookupError):
    """The node does not know the task (not on this chain, or not synced yet)."""


class TaskRepository:
    """Queries over the mirrored tasks."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int) -> Task | None:
        return self.session.get(Task, (chain_id, task_id))

    def page(
        self,
        chain_id: int,
        *,
        status: TaskStatus | None = None,
        after_task_id: int = 0,
        limit: int = 100,
    ) -> list[Task]:
        """Tasks by id, a page at a time (keyset pagination: pass the last id seen)."""
        query = select(Task).where(Task.chain_id == chain_id, Task.task_id > after_task_id)
        if status is not None:
            query = query.where(Task.status == status)
        return list(self.session.exec(query.order_by(col(Task.task_id)).limit(limit)))

    def open_before(self, chain_id: int, now: int, *, deadline: str = "commit") -> list[Task]:
        """Open tasks whose ``deadline`` (commit, reveal or attest) is still ahead of ``now``."""
        column = {
            "commit": Task.commit_deadline,
            "reveal": Task.reveal_deadline,
            "attest": Task.attest_deadline,
        }[deadline]
        query = (
            select(Task)
            .where(Task.chain_id == chain_id, Task.status == TaskStatus.OPEN, column >= now)
            .order_by(col(Task.task_id))
        )
        return list(self.session.exec(query))


class ItemRepository:
    """The items of tasks, in manifest order."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert_many(self, chain_id: int, task_id: int, items: Sequence[ItemCreate]) -> int:
        """Store a manifest's items (idempotent); returns how many were given."""
        if not items:
            return 0
        rows = [{"chain_id": chain_id, "task_id": task_id, **item.model_dump()} for item in items]
        self.session.execute(upsert(self.session, Item, _ITEM_KEYS, _ITEM_UPDATE), rows)
        if len(rows) >= _ANALYZE_AFTER and dialect_name(self.session) == "postgresql":
            # Every label insert checks its item through the foreign key. Until autovacuum
            # gets to it (up to a minute), PostgreSQL plans that check from stale statistics
            # and scans the whole table: label batches ran 4x slower in measurements.
            self.session.execute(text("ANALYZE items"))
        return len(rows)

    def get(self, chain_id: int, task_id: int, item_id: str) -> Item | None:
        return self.session.get(Item, (chain_id, task_id, item_id))

    def by_ids(self, chain_id: int, task_id: int, item_ids: Sequence[str]) -> dict[str, Item]:
        """The stored items among ``item_ids``, by id (one query: a reader joins a page of
        result entries with their data without loading the task's items)."""
        query = select(Item).where(
            Item.chain_id == chain_id, Item.task_id == task_id, col(Item.item_id).in_(item_ids)
        )
        return {item.item_id: item for item in self.session.exec(query)}

    def page(
        self, chain_id: int, task_id: int, *, after_position: int = -1, limit: int = 100
    ) -> list[Item]:
        """Items in manifest order, a page at a time."""
        query = (
            select(Item)
            .where(
                Item.chain_id == chain_id,
                Item.task_id == task_id,
                col(Item.position) > after_position,
            )
            .order_by(col(Item.position))
            .limit(limit)
        )
        return list(self.session.exec(query))

    def at_positions(self, chain_id: int, task_id: int, positions: Sequence[int]) -> list[Item]:
        """The items at ``positions`` (a seat's dealt items), in manifest order."""
        if not positions:
            return []
        query = (
            select(Item)
            .where(
                Item.chain_id == chain_id,
                Item.task_id == task_id,
                col(Item.position).in_(sorted(positions)),
            )
            .order_by(col(Item.position))
        )
        return list(self.session.exec(query))

    def count(self, chain_id: int, task_id: int) -> int:
        query = select(func.count()).where(Item.chain_id == chain_id, Item.task_id == task_id)
        return int(self.session.exec(query).one())
