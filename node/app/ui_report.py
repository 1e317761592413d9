"""The requester's report of a task and the exports of its result, for the labeling page.

Both are built from the winning result document (``labelnet/result@1`` or a paged form),
fetched through the node's content store (verified against its CID) and accepted only if
its payouts rebuild the payout root the chain finalized, so the charts and files never show
numbers that were not attested. Read-only use cases like :mod:`node.app.ui_views`: one short read
session each, no FastAPI.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict

from pydantic import BaseModel, Field

from node.app.errors import ResultNotKnownError
from node.content.exports import (
    ExportError,
    ExportFormat,
    csv_columns,
    csv_lines,
    json_array_chunks,
    jsonl_lines,
    labelstudio_tasks,
)
from node.db.engine import Database
from node.db.models import CommitState, Task, TaskStatus
from node.db.repositories import (
    AttestationRepository,
    CommitmentRepository,
    ItemRepository,
    TaskRepository,
)
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import TaskNotFoundError
from node.db.types import DecimalStr
from node.protocol.canonical import JsonValue
from node.protocol.result import (
    ResultAnnotatorEntry,
    ResultDocument,
    ResultDocumentError,
    ResultItemEntry,
)
from node.roles.requester.results import ResultItem, TaskResults
from node.roles.settlement import (
    ResultUnavailableError,
    result_bytes,
    result_page_bytes,
    verified_result,
    winning_cids,
)
from node.store.base import ContentStore
from node.store.errors import StoreError

REPORT_ITEMS = 200
"""Items listed in a report (all of them count in the class totals; exports carry all)."""
REPORT_CONFUSION_CLASSES = 32
"""Largest task whose report draws each annotator's confusion table: past it a table is more
cells than a reader can take in, and a few hundred annotators' tables at 256 classes are
megabytes of zeros (the result itself lists only the filled cells, ``result@4``)."""
JOIN_ITEMS = 500
"""Result entries joined with their stored data per database query (well under SQLite's
bound on query parameters)."""


class ResultInvalidError(ResultUnavailableError):
    """No result document matching the finalized payout root could be fetched, or one of
    its pages could not be read or verified."""


class ConsensusItem(BaseModel):
    item: str
    value: JsonValue
    confidence: str | None = Field(
        default=None, description="the consensus posterior (not stated for numeric tasks)"
    )
    confident: bool
    gold: bool
    text: str | None = Field(default=None, description="the item's text, if this node has it")
    content_cid: str | None = Field(default=None, description="the item's media, if any")


class AnnotatorFigures(BaseModel):
    """One annotator's line of the result document, as the report shows it."""

    account: str
    labels: int
    accepted: int
    accuracy: str
    agreement: str | None = Field(default=None, description="categorical tasks only")
    confusion: list[list[int]] | None = Field(
        default=None,
        description=(
            "counts of (consensus class, their label); categorical tasks of at most "
            f"{REPORT_CONFUSION_CLASSES} classes only"
        ),
    )
    eligible: bool = Field(default=True, description="whether the reward rule paid them")
    skill: str | None = Field(default=None, description="chance-corrected accuracy (kappa)")
    evidence: str | None = Field(
        default=None, description="standard errors of skill above chance (if the rule tests it)"
    )
    bloc: bool | None = Field(
        default=None, description="flagged as coordinating with others (if the task tests it)"
    )


class AnnotatorQuality(AnnotatorFigures):
    payout: DecimalStr


class TaskReport(BaseModel):
    """A task for its requester: where it stands and, once final, its attested result."""

    task_id: int
    title: str
    status: TaskStatus
    num_items: int
    redundancy: int
    commit_deadline: int
    reveal_deadline: int
    attest_deadline: int
    commits: int
    reveals: int
    attestations: int
    final: bool
    result_cid: str | None = None
    classes: list[str] = Field(default_factory=list)
    class_counts: dict[str, int] = Field(default_factory=dict)
    items: list[ConsensusItem] = Field(default_factory=list, description="the first items")
    items_total: int = 0
    annotators: list[AnnotatorQuality] = Field(default_factory=list)
    total_payout: DecimalStr | None = None


def known_task(db: Database, chain_id: int, task_id: int) -> Task:
    """The task row, or TaskNotFoundError: the page's views share this lookup."""
    with db.session() as session:
        task = TaskRepository(session).get(chain_id, task_id)
    if task is None:
        raise TaskNotFoundError(f"task {task_id} is not known to this node (yet)")
    return task


def _result_items(
    store: ContentStore, task: Task, document: ResultDocument
) -> Iterator[ResultItemEntry]:
    """The result's items, inline or streamed page by page (each page verified)."""
    try:
        yield from document.iter_items(lambda cid: result_page_bytes(store, cid))
    except (StoreError, ResultDocumentError) as exc:
        raise ResultInvalidError(f"task {task.task_id}: a result page: {exc}") from exc


def _final_result(db: Database, store: ContentStore, task: Task) -> tuple[str, ResultDocument]:
    if task.status is not TaskStatus.FINALIZED or task.payout_root is None:
        raise ResultNotKnownError(f"task {task.task_id} is {task.status}, not finalized")
    root = task.payout_root
    with db.session() as session:
        cids = winning_cids(
            AttestationRepository(session).for_task(task.chain_id, task.task_id), root
        )
    try:
        return verified_result(
            cids,
            task.task_id,
            bytes.fromhex(root.lower().removeprefix("0x")),
            task.total_payout,
            lambda cid: result_bytes(store, cid),
        )
    except ResultUnavailableError as exc:
        raise ResultInvalidError(str(exc)) from exc


def task_report(db: Database, store: ContentStore, chain_id: int, task_id: int) -> TaskReport:
    """The requester's view of a task; with the verified result once it is finalized."""
    task = known_task(db, chain_id, task_id)
    with db.session() as session:
        row = ParticipationRepository(session).get(chain_id, task_id)
        commitments = CommitmentRepository(session).for_task(chain_id, task_id)
        attestations = AttestationRepository(session).for_task(chain_id, task_id)
    report = TaskReport(
        task_id=task_id,
        title=(row.title if row is not None else "") or f"Task {task_id}",
        status=task.status,
        num_items=task.num_items,
        redundancy=task.redundancy,
        commit_deadline=task.commit_deadline,
        reveal_deadline=task.reveal_deadline,
        attest_deadline=task.attest_deadline,
        commits=sum(1 for c in commitments if c.commitment is not None),
        reveals=sum(1 for c in commitments if c.state is CommitState.REVEALED),
        attestations=len(attestations),
        final=task.status is TaskStatus.FINALIZED,
        total_payout=None if task.total_payout is None else str(task.total_payout),
    )
    if not report.final:
        return report
    cid, document = _final_result(db, store, task)
    counts = dict.fromkeys(document.classes, 0)
    shown: list[ResultItemEntry] = []
    total = 0
    for entry in _result_items(store, task, document):
        total += 1
        if len(shown) < REPORT_ITEMS:
            shown.append(entry)
        for value in entry.value if isinstance(entry.value, list) else [entry.value]:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return report.model_copy(
        update={
            "result_cid": cid,
            "classes": document.classes,
            "class_counts": counts,
            "items": _with_item_data(db, task, tuple(shown)),
            "items_total": total,
            "annotators": [
                _annotator_quality(a, len(document.classes)) for a in document.annotators
            ],
        }
    )


def _annotator_quality(entry: ResultAnnotatorEntry, n_classes: int) -> AnnotatorQuality:
    figures = asdict(entry)
    del figures["confusion_cells"]
    figures["payout"] = str(entry.payout)
    figures["confusion"] = (
        entry.confusion_rows(n_classes) if n_classes <= REPORT_CONFUSION_CLASSES else None
    )
    return AnnotatorQuality(**figures)


def _item_text(data: JsonValue) -> str | None:
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return str(data["text"])
    return None


def _with_item_data(
    db: Database, task: Task, entries: tuple[ResultItemEntry, ...]
) -> list[ConsensusItem]:
    """Consensus entries with the text or media CID of the items this node stored."""
    with db.session() as session:
        items = ItemRepository(session)
        stored = [items.get(task.chain_id, task.task_id, entry.item) for entry in entries]
    return [
        ConsensusItem(
            item=entry.item,
            value=entry.value,
            confidence=entry.confidence,
            confident=entry.confident,
            gold=entry.gold,
            text=None if item is None else _item_text(item.data),
            content_cid=None if item is None else item.content_cid,
        )
        for entry, item in zip(entries, stored, strict=True)
    ]


EXPORT_MEDIA_TYPES: dict[str, str] = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "labelstudio": "application/json",
}


class _JoinedItems:
    """A finalized task's result items joined with the item data this node stored, read
    afresh on each pass: the result a page at a time, the data :data:`JOIN_ITEMS` items per
    query, so an export holds a page, not the task (issue #14)."""

    def __init__(
        self, db: Database, store: ContentStore, task: Task, document: ResultDocument
    ) -> None:
        self._db, self._store, self._task, self._document = db, store, task, document

    def __iter__(self) -> Iterator[ResultItem]:
        entries = _result_items(self._store, self._task, self._document)
        while chunk := list(itertools.islice(entries, JOIN_ITEMS)):
            with self._db.session() as session:
                stored = ItemRepository(session).by_ids(
                    self._task.chain_id, self._task.task_id, [entry.item for entry in chunk]
                )
            for entry in chunk:
                item = stored.get(entry.item)
                yield ResultItem.joined(
                    entry,
                    None if item is None else item.data,
                    None if item is None else item.content_cid,
                )


def export_task(
    db: Database, store: ContentStore, chain_id: int, task_id: int, format: ExportFormat
) -> tuple[Iterator[bytes], str, str]:
    """A finalized task's result as a file: ``(its bytes in chunks, media type, file name)``.

    The formats are :mod:`node.content.exports`' (``hf`` writes a directory: not offered
    here), joined with the item data this node stored when it joined the task. Every format
    comes a line (``labelstudio``: a list element) at a time as the result's pages are read,
    the bytes :func:`~node.content.exports.export_results` writes to a file, and nothing is
    written to disk. One pass over the pages is made before the first chunk
    (``csv`` needs it for its columns), so a page that cannot be read or verified raises
    :class:`ResultInvalidError` here, while an HTTP status can still say so, not halfway
    through the download.
    """
    if format not in EXPORT_MEDIA_TYPES:
        raise ExportError(f"unknown export format {format!r}: jsonl, csv or labelstudio")
    task = known_task(db, chain_id, task_id)
    cid, document = _final_result(db, store, task)
    items = _JoinedItems(db, store, task, document)
    extension = "json" if format == "labelstudio" else format
    name = f"task-{task_id}-results.{extension}"
    columns = csv_columns(items)  # the checking pass
    if format == "jsonl":
        lines = jsonl_lines(items)
    elif format == "csv":
        lines = csv_lines(items, columns)
    else:
        results = TaskResults(
            task_id=task_id,
            result_cid=cid,
            kind=str(document.kind),
            classes=document.classes,
            items=items,  # re-read a page at a time on each pass, never held
            annotators=tuple(document.annotators),
            document=document.document,
            payouts=document.payouts,
        )
        # the JSON list an element at a time: the bytes ``export_results`` writes to a file
        lines = json_array_chunks(labelstudio_tasks(results), indent=1, ensure_ascii=False)
    return (line.encode() for line in lines), EXPORT_MEDIA_TYPES[format], name
