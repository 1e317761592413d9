"""Submitting labels: the node's ingest hot path.

A batch is checked and stored in one write transaction: the task must exist and be open,
this node must not have committed to its labels for the task yet (the committed batch must
stay exactly revealable), and every item must belong to the task (the foreign key says so;
the repository turns a violation into a 422). The transaction commits before the function
returns, so the API acknowledges only what is on disk.

Cost matters here (thousands of labels a second): a batch is validated as one typed list
of plain dicts (no model object per label) and stored with one ``executemany`` upsert; the
guards are one cached Core statement, not ORM loads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, NamedTuple, cast

from pydantic import StringConstraints
from sqlalchemy import Select, and_, bindparam, exists, select
from sqlmodel import Session, col
from typing_extensions import TypedDict

from node.db.engine import Database
from node.db.models import Commitment, LabelCreate, Task, TaskParticipation, TaskStatus
from node.db.repositories.labels import LabelRepository
from node.db.repositories.tasks import TaskNotFoundError
from node.errors import LabelnetError
from node.protocol.annotation import RULES, AnnotationParams, check_value
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError
from node.protocol.kinds import TaskKind
from node.protocol.values import valid_value


class LabelsFrozenError(LabelnetError, FileExistsError):
    """The node has committed (or is committing) to its labels for the task: changing them
    now would make the committed batch impossible to reveal."""


class TaskClosedError(LabelnetError, FileExistsError):
    """The task is no longer open (finalized, disputed, cancelled or reorganised away)."""


class InvalidLabelError(LabelnetError, ValueError):
    """A label value that has no canonical JSON encoding, or none at all."""


MAX_BATCH = 10_000
"""Most labels one request may carry (bounds the transaction and the request body)."""
MAX_VALUES_BYTES = 16 * 1024 * 1024
"""Largest JSON encoding of one batch's values together."""

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LabelInput(TypedDict):
    """One label of a submitted batch: the item's id and the value given to it."""

    item: ItemId
    value: Any


class LabelRow(NamedTuple):
    """What the repository reads from each label (``item_id``, ``value``) at a tenth of the
    cost of building a :class:`LabelCreate` model per label."""

    item_id: str
    value: Any


INT64 = range(-(2**63), 2**63)
"""Integers a label's value may be: SQLite keeps a bare JSON number in the label column as
a 64-bit integer or a float, so a larger one was stored, and committed, as its float (the
class id ``12345678901234567890`` became ``1.2345678901234567e+19``, which no task allows:
validators then dropped the annotator's whole batch). One rule on every backend; nested
integers are stored as JSON text and keep every digit."""


def _rows(labels: Sequence[LabelInput]) -> list[LabelRow]:
    rows = [LabelRow(label["item"], label["value"]) for label in labels]
    for row in rows:
        if row.value is None:
            raise InvalidLabelError(f"item {row.item_id!r}: a label needs a value (got null)")
        if type(row.value) is int and row.value not in INT64:
            raise InvalidLabelError(
                f"item {row.item_id!r}: the integer {str(row.value)[:80]} does not fit in 64 "
                "bits; send a class id as a string, a number as a float"
            )
    try:
        # One C-level pass over every value: NaN and Infinity have no canonical JSON, and a
        # string holding a lone UTF-16 surrogate has no UTF-8 (the commitment's encoding):
        # stored, it would make the whole batch impossible to commit.
        text = json.dumps([row.value for row in rows], allow_nan=False, ensure_ascii=False)
        encoded = text.encode("utf-8")
    except ValueError as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidLabelError(f"a label value is not canonical JSON: {exc}") from exc
    if len(encoded) > MAX_VALUES_BYTES:
        raise InvalidLabelError(f"the batch's values exceed {MAX_VALUES_BYTES} bytes")
    return rows


@cache
def _guard_statement() -> Select[
    TaskStatus, bool, str | None, list[str] | None, dict[str, object] | None
]:
    """The task's status, whether our commitment row exists, and the task's kind and
    classes if this node joined it (the loader's participation row), in one statement.

    ``FOR SHARE OF tasks`` on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serialises
    writers): a commit intent recorded concurrently either waits for this batch or is seen
    by it, so no label lands after the batch it should have been part of was built.
    """
    frozen = (
        exists()
        .where(
            col(Commitment.chain_id) == bindparam("chain_id"),
            col(Commitment.task_id) == bindparam("task_id"),
            col(Commitment.annotator) == bindparam("annotator"),
        )
        .label("frozen")
    )
    joined = and_(
        col(TaskParticipation.chain_id) == col(Task.chain_id),
        col(TaskParticipation.task_id) == col(Task.task_id),
    )
    return (
        select(
            col(Task.status),
            frozen,
            col(TaskParticipation.kind),
            col(TaskParticipation.classes),
            col(TaskParticipation.annotation),
        )
        .select_from(Task)
        .outerjoin(TaskParticipation, joined)
        .where(
            col(Task.chain_id) == bindparam("chain_id"), col(Task.task_id) == bindparam("task_id")
        )
        .with_for_update(read=True, of=Task)
    )


def _check_values(
    rows: Sequence[LabelRow],
    kind: str,
    classes: Sequence[str],
    annotation: dict[str, object] | None = None,
) -> None:
    """Refuse a value the task does not allow (a class outside its set, a non-number).

    Validators drop a revealed batch holding any such value, and with it every label the
    annotator gave; refusing the one bad label here keeps the rest of the work payable.
    """
    task_kind, allowed = TaskKind(kind), tuple(classes)
    params = None
    if annotation is not None:
        params = AnnotationParams.from_document(task_kind, cast(JsonValue, annotation))
    for row in rows:
        if valid_value(task_kind, allowed, row.value, params):
            continue
        value = str(row.value)[:80]
        if task_kind in RULES:
            try:
                check_value(task_kind, allowed, row.value, params or AnnotationParams(task_kind))
            except InvalidAnswersError as exc:
                raise InvalidLabelError(f"item {row.item_id!r}: {exc}") from exc
        if task_kind is TaskKind.NUMERIC:
            raise InvalidLabelError(f"item {row.item_id!r}: {value!r} is not a finite number")
        raise InvalidLabelError(
            f"item {row.item_id!r}: {value!r} is not one of the task's classes "
            f"({', '.join(allowed)})"
        )


def validate_batch(labels: Sequence[LabelInput]) -> list[LabelRow]:
    """The batch's labels as rows to store; :class:`InvalidLabelError` for a bad one."""
    if len(labels) > MAX_BATCH:
        raise InvalidLabelError(f"at most {MAX_BATCH} labels per batch, got {len(labels)}")
    return _rows(labels)


def store_batch(
    session: Session, chain_id: int, task_id: int, annotator: str, rows: Sequence[LabelRow]
) -> int:
    """Check the task and store validated rows in the caller's write transaction.

    Returns the number of distinct items labelled. Re-submitting a label replaces it
    (idempotent); a later label for the same item in one batch wins.
    """
    guard = (
        session.connection()
        .execute(
            _guard_statement(), {"chain_id": chain_id, "task_id": task_id, "annotator": annotator}
        )
        .first()
    )
    if guard is None:
        raise TaskNotFoundError(f"task {task_id} is not known to this node (yet)")
    status, frozen, kind, classes, annotation = guard
    if frozen:
        raise LabelsFrozenError(
            f"task {task_id}: this node has committed its labels; they can no longer change"
        )
    if status is not TaskStatus.OPEN:
        raise TaskClosedError(f"task {task_id} is {status.value}: labels are closed")
    if not rows:
        return 0
    if kind is not None:  # a task known only from the chain (not joined) has no class set yet
        _check_values(rows, kind, classes or (), annotation)
    # The repository reads only ``item_id`` and ``value`` of each label.
    batch = cast(Sequence[LabelCreate], rows)
    return LabelRepository(session).upsert_batch(chain_id, task_id, annotator, batch)


def submit_labels(
    db: Database, chain_id: int, task_id: int, annotator: str, labels: Sequence[LabelInput]
) -> int:
    """Validate and store one batch in a transaction of its own (committed on return)."""
    rows = validate_batch(labels)
    with db.write() as session:
        return store_batch(session, chain_id, task_id, annotator, rows)
