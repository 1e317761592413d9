"""The annotator's labeling duty: hand a joined task's items to a labeling program.

When the node runs with a labeler (``NodeSettings.labeler``), this duty plays the person at
the labeling page. For every joined task that is open, inside its commit window and not yet
committed to by this annotator, it takes the next ``batch`` items after the task's
``labeling_cursor``, gives them (with the verified bytes of media items) to the labeler,
checks every answer against the task (a program bug never reaches a committed batch), and
in one write transaction stores the labels exactly as the API would
(:func:`node.roles.labels.store_batch`) and moves the cursor. A process killed between two
ticks therefore neither loses nor repeats a batch, and a batch the program answered badly
is retried later with nothing stored. After the last page ``labeling_done`` is set, which
tells :class:`~node.roles.annotator.AnnotatorDuty` that the batch is complete even if the
program skipped items.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from node.db.engine import Database
from node.db.models import Item, Task, TaskParticipation, TaskStatus
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import ItemRepository, TaskRepository
from node.errors import LabelnetError
from node.labelers.base import (
    ItemToLabel,
    Labeler,
    LabelerError,
    LabelingTask,
    annotation_of,
    check_answers,
)
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemPage, ItemSpec
from node.roles.assignment import Assigner, NoSeatError, NotDealtYetError
from node.roles.labels import LabelInput, store_batch, validate_batch
from node.store.base import ContentStore

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 32 * 1024 * 1024
"""Largest media file read for a labeler (the loader fetched it under the same cap)."""


def _system_clock() -> int:
    return int(time.time())


class LabelingDuty:
    """Label joined tasks with a labeling program; see the module docstring."""

    name = "labeling"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        chain_id: int,
        annotator: str,
        labeler: Labeler,
        batch: int = 200,
        clock: Callable[[], int] = _system_clock,
        assigner: Assigner | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self.db = db
        self.store = store
        self.chain_id = chain_id
        self.annotator = annotator
        self.labeler = labeler
        self.batch = batch
        self.clock = clock
        self.assigner = assigner

    def tick(self) -> None:
        for row, positions in self._due():
            try:
                self._label_next(row, positions)
            except LabelnetError as exc:  # the program, the store or the task said no
                log.warning("task %s: labeling batch not stored: %s", row.task_id, exc)
            except Exception:  # one task's surprise must not starve the others
                log.exception("task %s: labeling failed unexpectedly", row.task_id)

    def _due(self) -> list[tuple[TaskParticipation, tuple[int, ...] | None]]:
        """Joined, unfinished tasks that are open, in their commit window and uncommitted,
        with the positions dealt to this annotator's seat (None: an open task, all items).
        A seated task is left alone without a seat, or until its items are dealt."""
        now = self.clock()
        with self.db.session() as session:
            tasks, commitments = TaskRepository(session), CommitmentRepository(session)
            due: list[tuple[TaskParticipation, Task]] = []
            for row in ParticipationRepository(session).labeling_pending(self.chain_id):
                task = tasks.get(self.chain_id, row.task_id)
                if task is None or task.status is not TaskStatus.OPEN or now > task.commit_deadline:
                    continue
                if commitments.get(self.chain_id, row.task_id, self.annotator) is not None:
                    continue
                due.append((row, task))
        out: list[tuple[TaskParticipation, tuple[int, ...] | None]] = []
        for row, task in due:
            try:
                positions = (
                    None
                    if self.assigner is None
                    else self.assigner.dealt_positions(task, self.annotator)
                )
            except (NoSeatError, NotDealtYetError):
                continue
            out.append((row, positions))
        return out

    def _label_next(self, row: TaskParticipation, positions: tuple[int, ...] | None) -> None:
        with self.db.session() as session:
            repository = ItemRepository(session)
            if positions is None:
                items = repository.page(
                    self.chain_id, row.task_id, after_position=row.labeling_cursor, limit=self.batch
                )
                total = repository.count(self.chain_id, row.task_id)
            else:  # a seat's items: the dealt positions after the cursor, in manifest order
                after = sorted(p for p in positions if p > row.labeling_cursor)[: self.batch]
                items = repository.at_positions(self.chain_id, row.task_id, after)
                total = max(positions, default=-1) + 1
        if row.kind is None:  # the loader sets the kind of every joined task
            raise LabelerError(f"task {row.task_id}: joined without a task kind")
        task = LabelingTask(
            chain_id=self.chain_id,
            task_id=row.task_id,
            kind=TaskKind(row.kind),
            classes=tuple(row.classes),
            title=row.title,
            instructions=row.instructions,
            annotation=annotation_of(TaskKind(row.kind), row.annotation),
        )
        values: list[JsonValue | None] = []
        if items:
            to_label = self._prepare(items)
            values = check_answers(task, to_label, self.labeler.label(task, to_label))
        cursor = items[-1].position if items else row.labeling_cursor
        done = cursor + 1 >= total
        labels: list[LabelInput] = [
            {"item": item.item_id, "value": value}
            for item, value in zip(items, values, strict=True)
            if value is not None
        ]
        rows = validate_batch(labels)
        with self.db.write() as session:
            store_batch(session, self.chain_id, row.task_id, self.annotator, rows)
            ParticipationRepository(session).advance_labeling(
                self.chain_id, row.task_id, cursor, done=done
            )
        log.info(
            "task %s: labeler answered %d of %d items%s",
            row.task_id,
            len(rows),
            len(items),
            " (done)" if done else "",
        )

    def _prepare(self, items: Sequence[Item]) -> list[ItemToLabel]:
        """The items as the labeler sees them, media bytes read (and verified) from the store.

        The media type is not a column of ``items``; it is read from the item's page, which
        the loader verified and stored locally.
        """
        pages: dict[str, dict[str, ItemSpec]] = {}
        prepared: list[ItemToLabel] = []
        for item in items:
            content: bytes | None = None
            media_type: str | None = None
            if item.content_cid is not None:
                content = self.store.get(item.content_cid, max_size=MAX_MEDIA_BYTES)
                if item.page_cid is not None:
                    if item.page_cid not in pages:
                        page = ItemPage.from_bytes(
                            self.store.get(
                                item.page_cid, max_size=MAX_DOCUMENT_BYTES, canonical=True
                            )
                        )
                        pages[item.page_cid] = {spec.id: spec for spec in page.items}
                    spec = pages[item.page_cid].get(item.item_id)
                    media_type = None if spec is None else spec.media_type
            prepared.append(
                ItemToLabel(
                    item_id=item.item_id,
                    position=item.position,
                    data=item.data,
                    content=content,
                    media_type=media_type,
                )
            )
        return prepared
