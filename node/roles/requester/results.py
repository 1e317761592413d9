"""Following a task and fetching its verified result, from the chain and content alone.

:func:`fetch_results` needs no node database: the winning result document is found and
verified from the chain (:func:`node.roles.winning.winning_result`), and its items are joined
with the item data of the task's manifest pages (found through the ``TaskCreated`` event), so
an export carries the text or image reference next to each label.

The items stream (issue #14): :class:`ResultItems` reads the result and the manifest a page
at a time on each pass, in manifest order, so a reader holds pages, not the task. Putting
result entries (pages sorted by item id) into manifest order (the order the items were
imported in, any order) is a join of two orders: it is made through a temporary SQLite table
of the result entries keyed by item id, on disk, so memory stays bounded by a page whatever
the ids look like (see :class:`ResultItems` for why not in memory).
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from node.chain.contracts import Contracts
from node.chain.market import Phase, TaskStatus, read_task
from node.protocol.canonical import JsonValue, check_json_depth
from node.protocol.labels import LabelBatch, LabelBatchError
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemPage, Manifest
from node.protocol.result import (
    EMPTY_ROOT,
    PayoutResult,
    ResultAnnotatorEntry,
    ResultDocument,
    ResultDocumentError,
    ResultItemEntry,
)
from node.roles.settlement import result_page_bytes
from node.roles.validation import MAX_BATCH_BYTES
from node.roles.winning import ResultNotFinalError, ResultUnavailableError, winning_result
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError

__all__ = [
    "ResultItem",
    "ResultItems",
    "ResultNotFinalError",
    "ResultUnavailableError",
    "TaskProgress",
    "TaskResults",
    "fetch_results",
    "task_progress",
]

log = logging.getLogger(__name__)

SPILL_ROWS = 1000
"""Result entries written to the join table per statement (a result page's worth)."""


@dataclass(frozen=True)
class TaskProgress:
    """Where a task stands, as the chain sees it at ``now``."""

    task_id: int
    status: TaskStatus
    phase: Phase
    commits: int
    reveals: int
    attestations: int
    commit_deadline: int
    reveal_deadline: int
    attest_deadline: int
    gold_committed: bool
    gold_revealed: bool
    escrow: int
    """Reward pool plus validator fee, as escrowed at creation."""
    paid: int
    refundable: int

    @property
    def deadlines(self) -> tuple[int, int, int]:
        return self.commit_deadline, self.reveal_deadline, self.attest_deadline


def _phase(status: TaskStatus, reveals: int, deadlines: tuple[int, int, int], now: int) -> Phase:
    """``TaskMarket.phaseOf`` evaluated at ``now`` instead of the latest block."""
    commit, reveal, attest = deadlines
    if status is not TaskStatus.OPEN:
        return Phase.CLOSED
    if now <= commit:
        return Phase.COMMIT
    if now <= reveal:
        return Phase.REVEAL
    if now <= attest and reveals > 0:
        return Phase.ATTEST
    return Phase.FINALIZABLE


def task_progress(market: Contract, task_id: int, now: int) -> TaskProgress:
    """The progress of ``task_id``; ``now`` is a chain timestamp (the phase is taken at it)."""
    state = read_task(market, task_id)
    deadlines = (state.commit_deadline, state.reveal_deadline, state.attest_deadline)
    return TaskProgress(
        task_id=task_id,
        status=state.status,
        phase=_phase(state.status, state.reveal_count, deadlines, now),
        commits=state.commit_count,
        reveals=state.reveal_count,
        attestations=state.attest_count,
        commit_deadline=state.commit_deadline,
        reveal_deadline=state.reveal_deadline,
        attest_deadline=state.attest_deadline,
        gold_committed=state.gold_commitment != EMPTY_ROOT,
        gold_revealed=state.gold_revealed,
        escrow=state.reward_pool + state.validator_fee,
        paid=state.paid_out,
        refundable=state.refundable,
    )


@dataclass(frozen=True)
class ResultItem:
    """One item's consensus, with the item's own data for exports."""

    item: str
    value: JsonValue
    confidence: str | None
    """Posterior of the consensus value, a nine-decimal string such as ``"0.973000000"``
    (numeric tasks state none: their items have an agreement share instead)."""
    confident: bool
    gold: bool
    data: JsonValue | None = None
    content_cid: str | None = None

    @classmethod
    def joined(
        cls, entry: ResultItemEntry, data: JsonValue | None, content_cid: str | None
    ) -> ResultItem:
        """A result document's entry joined with the item's data and media CID."""
        return cls(
            item=entry.item,
            value=entry.value,
            confidence=entry.confidence,
            confident=entry.confident,
            gold=entry.gold,
            data=data,
            content_cid=content_cid,
        )


@dataclass(frozen=True)
class TaskResults:
    """A finalized task's verified result document, parsed and joined with item data."""

    task_id: int
    result_cid: str
    kind: str
    classes: tuple[str, ...]
    items: Iterable[ResultItem]
    """Every item, in order: a collection, or a re-iterable that reads the result page by
    page on each pass (:class:`ResultItems` from :func:`fetch_results`, the requester's
    page export); never a one-shot iterator, since the ``csv`` and ``labelstudio`` exports
    read it more than once."""
    annotators: tuple[ResultAnnotatorEntry, ...]
    document: dict[str, JsonValue]
    labels: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    """Item -> annotator (checksummed) -> the label they revealed, for every annotator of
    the result whose batch could be fetched and matched its revealed root. From
    :func:`fetch_results`, read on first use (exports that show no annotator skip it)."""
    manifest_cid: str = ""
    payouts: PayoutResult | None = field(default=None, repr=False)
    """The verified payout leaves and tree (what a claim proves against)."""


def _result_items(
    store: ContentStore, result: ResultDocument, task_id: int
) -> Iterator[ResultItemEntry]:
    """The result's item entries: inline (``result@1``) or read page by page (``result@2``),
    each page verified against the CID its root lists."""
    try:
        yield from result.iter_items(lambda cid: result_page_bytes(store, cid))
    except (StoreError, ResultDocumentError) as exc:
        raise ResultUnavailableError(f"task {task_id}: a result page: {exc}") from exc


def _document(store: ContentStore, cid: str) -> bytes:
    data = store.get(
        cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )
    check_json_depth(data)
    return data


_Stored = tuple[str, str, int, int, str | None, str | None]
"""A result entry as the join stores it: item, value (JSON), confident, gold, confidence,
agreement."""

_TABLES = (
    # the result's entries, keyed by item id, taken out as the manifest's pages claim them
    "CREATE TABLE entry (item TEXT PRIMARY KEY, position INTEGER NOT NULL, value TEXT NOT NULL,"
    " confident INTEGER NOT NULL, gold INTEGER NOT NULL, confidence TEXT, agreement TEXT)"
    " WITHOUT ROWID",
    # the joined items in output order (rowid), for the passes after the first
    "CREATE TABLE joined (item TEXT NOT NULL, value TEXT NOT NULL, confident INTEGER NOT NULL,"
    " gold INTEGER NOT NULL, confidence TEXT, agreement TEXT, data TEXT, content TEXT)",
)
_ENTRY = "item, value, confident, gold, confidence, agreement"


def _stored(entry: ResultItemEntry) -> _Stored:
    value = json.dumps(entry.value, ensure_ascii=False)
    return (entry.item, value, entry.confident, entry.gold, entry.confidence, entry.agreement)


def _entry(row: _Stored) -> ResultItemEntry:
    item, value, confident, gold, confidence, agreement = row
    return ResultItemEntry(
        item=item,
        value=json.loads(value),
        confident=bool(confident),
        gold=bool(gold),
        confidence=confidence,
        agreement=agreement,
    )


class _JoinTable:
    """The SQLite file of one join, in a temporary directory removed by :meth:`close` or
    when the table is collected."""

    def __init__(self) -> None:
        directory = tempfile.mkdtemp(prefix="labelnet-results-")
        self.path = Path(directory) / "join.db"
        # removed once, by close() or when collected (or at exit), without a warning
        self._remove = weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)

    def connect(self) -> closing[sqlite3.Connection]:
        # A generator may be resumed on another thread (a streamed HTTP response); each
        # connection is one pass's alone and used by one thread at a time.
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        return closing(db)

    def close(self) -> None:
        self._remove()


class ResultItems:
    """A finalized task's result items joined with their item data, in manifest order,
    re-iterable (as the exports need) with memory bounded by a page.

    The first pass copies the result's entries, read a page at a time, into a temporary
    SQLite table keyed by item id; then it walks the manifest's item pages in order and
    takes each page's entries out of the table (one query per page), so the items come out
    as the manifest lists them, the first while later item pages are still unread; entries
    of items the manifest does not list follow, in the result's order. Memory holds one
    result page, one item page and SQLite's page cache. As it goes, the pass appends the
    joined items to a second table, which later passes read back in order without reading
    the store again (the ``csv`` and ``labelstudio`` exports make two or three). That copy
    is on disk, as large as the result's items and their data, until :meth:`close` or
    until this object is collected; a pass that stops early leaves none, and the next pass
    joins again.

    Why a table on disk: the result is sorted by item id and the manifest is in import
    order, which may be any order (ids that are hashes). An index of item id -> result page
    in memory would grow with the task, and reading the result page each item needs, in
    manifest order, would read a page per item when the two orders disagree.
    """

    def __init__(
        self,
        store: ContentStore,
        task_id: int,
        result: ResultDocument,
        item_pages: tuple[str, ...],
    ) -> None:
        self._store, self._task_id, self._result = store, task_id, result
        self._item_pages = item_pages
        self._joined: _JoinTable | None = None

    def __len__(self) -> int:
        """The number of items, from the result root (nothing is read)."""
        return self._result.item_count

    def __iter__(self) -> Iterator[ResultItem]:
        if self._joined is not None:
            return self._replay(self._joined)
        return self._join()

    def close(self) -> None:
        """Remove the joined copy now rather than when this object is collected (a later
        pass joins again)."""
        if self._joined is not None:
            self._joined.close()
            self._joined = None

    def _join(self) -> Iterator[ResultItem]:
        table = _JoinTable()
        try:
            with table.connect() as db:
                for statement in _TABLES:
                    db.execute(statement)
                entries = enumerate(_result_items(self._store, self._result, self._task_id))
                while chunk := list(itertools.islice(entries, SPILL_ROWS)):
                    db.executemany(
                        f"INSERT INTO entry (position, {_ENTRY}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(position, *_stored(entry)) for position, entry in chunk],
                    )
                for cid in self._item_pages:
                    specs = ItemPage.from_bytes(_document(self._store, cid)).items
                    marks = ", ".join("?" * len(specs))
                    # only "?" placeholders are formatted into the statement, never an id
                    taken: dict[str, _Stored] = {
                        row[0]: row
                        for row in db.execute(
                            f"DELETE FROM entry WHERE item IN ({marks}) RETURNING {_ENTRY}",
                            [spec.id for spec in specs],
                        )
                    }
                    joined: list[tuple[object, ...]] = []
                    for spec in specs:
                        if (row := taken.pop(spec.id, None)) is not None:
                            data = None if spec.data is None else json.dumps(spec.data)
                            joined.append((*row, data, spec.content))
                            yield ResultItem.joined(_entry(row), spec.data, spec.content)
                    db.executemany("INSERT INTO joined VALUES (?, ?, ?, ?, ?, ?, ?, ?)", joined)
                rest = db.execute(f"SELECT {_ENTRY} FROM entry ORDER BY position")
                while unlisted := rest.fetchmany(SPILL_ROWS):
                    for row in unlisted:
                        yield ResultItem.joined(_entry(row), None, None)
                    db.executemany(
                        "INSERT INTO joined VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)", unlisted
                    )
                db.commit()
        except BaseException:  # the pass failed or was abandoned: its table is incomplete
            table.close()
            raise
        if self._joined is None:
            self._joined = table
        else:  # another pass finished first
            table.close()

    @staticmethod
    def _replay(table: _JoinTable) -> Iterator[ResultItem]:
        with table.connect() as db:
            for item, value, confident, gold, confidence, agreement, data, content in db.execute(
                "SELECT * FROM joined ORDER BY rowid"
            ):
                entry = _entry((item, value, confident, gold, confidence, agreement))
                yield ResultItem.joined(entry, None if data is None else json.loads(data), content)


class _RevealedLabels(Mapping[str, Mapping[str, JsonValue]]):
    """:attr:`TaskResults.labels`, read from the annotators' batches on first use: the JSONL
    and CSV exports and the CLI's table show no annotator's label, and the batches are the
    largest thing a result fetch reads (held whole until label batches are paged)."""

    def __init__(self, read: Callable[[], dict[str, dict[str, JsonValue]]]) -> None:
        self._read = read
        self._labels: dict[str, dict[str, JsonValue]] | None = None

    def _loaded(self) -> dict[str, dict[str, JsonValue]]:
        if self._labels is None:
            self._labels = self._read()
        return self._labels

    def __getitem__(self, item: str) -> Mapping[str, JsonValue]:
        return self._loaded()[item]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _revealed_labels(
    market: Contract,
    store: ContentStore,
    task_id: int,
    annotators: tuple[ResultAnnotatorEntry, ...],
    from_block: int,
) -> dict[str, dict[str, JsonValue]]:
    """Each result annotator's revealed labels, by item (see :attr:`TaskResults.labels`).

    A batch is used only if its labels root is the one revealed on chain; one that cannot be
    fetched or does not match is left out with a warning (the consensus stands without it).
    """
    counted = {a.account.lower() for a in annotators}
    labels: dict[str, dict[str, JsonValue]] = {}
    revealed = market.events.LabelsRevealed().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    for event in revealed:
        args = event["args"]
        if str(args["annotator"]).lower() not in counted:
            continue
        try:
            data = store.get(
                str(args["labelsCid"]),
                max_size=MAX_BATCH_BYTES,
                budget=FetchBudget(RESULT_SECONDS),
                canonical=True,
            )
            batch = LabelBatch.from_bytes(data)
            revealed_by = (batch.task_id, batch.annotator.lower(), batch.root())
            if revealed_by != (task_id, str(args["annotator"]).lower(), bytes(args["labelsRoot"])):
                raise LabelBatchError("the batch is not the one revealed")
        except (StoreError, LabelBatchError) as exc:
            log.warning("task %s: labels of %s left out: %s", task_id, args["annotator"], exc)
            continue
        for item, value in batch.labels:
            labels.setdefault(item, {})[batch.annotator] = value
    return labels


def fetch_results(
    w3: Web3, contracts: Contracts, store: ContentStore, task_id: int, from_block: int = 0
) -> TaskResults:
    """The verified result of a FINALIZED task, joined with its items' data, in manifest
    order (the order the items were imported in).

    Reads the winning result's root and the task's manifest now; the items
    (:class:`ResultItems`) and the revealed labels are read when used, through ``store``,
    which must stay open while they are. A result page that cannot be read or verified
    raises :class:`ResultUnavailableError` from the iteration.

    ``from_block`` bounds the event scan (the deployment's start block is a good value).
    """
    market = contracts.market
    cid, result = winning_result(market, store, task_id, from_block)
    created = market.events.TaskCreated().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    if not created:
        raise ResultUnavailableError(f"task {task_id}: no TaskCreated event after {from_block}")
    manifest_cid = str(created[0]["args"]["params"]["manifestCid"])
    manifest = Manifest.from_bytes(_document(store, manifest_cid))
    annotators = result.annotators
    return TaskResults(
        task_id=task_id,
        result_cid=cid,
        kind=str(result.kind),
        classes=result.classes,
        items=ResultItems(store, task_id, result, tuple(manifest.pages)),
        annotators=annotators,
        document=result.document,
        labels=_RevealedLabels(
            lambda: _revealed_labels(market, store, task_id, annotators, from_block)
        ),
        manifest_cid=manifest_cid,
        payouts=result.payouts,
    )
