"""A finalized task's result items, joined with their item data in manifest order, streamed.

:class:`ResultItems` is what :func:`~node.roles.requester.results.fetch_results` gives as
``TaskResults.items``: it reads the result and the manifest a page at a time, so a reader
holds pages, not the task (issue #14). Putting result entries (pages sorted by item id) into
manifest order (the order the items were imported in, any order) is a join of two orders:
it is made through a temporary SQLite table of the result entries keyed by item id, on
disk, so memory stays bounded by a page whatever the ids look like.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from node.protocol.canonical import JsonValue, check_json_depth
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemPage
from node.protocol.result import ResultDocument, ResultDocumentError, ResultItemEntry
from node.roles.settlement import result_page_bytes
from node.roles.winning import ResultUnavailableError
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError
from node.store.sealed import SealedView, read_item_page

SPILL_ROWS = 1000
"""Result entries written to the join table per statement (a result page's worth)."""


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


def _result_items(
    store: ContentStore, result: ResultDocument, task_id: int
) -> Iterator[ResultItemEntry]:
    """The result's item entries: inline (``result@1``) or read page by page (``result@2``),
    each page verified against the CID its root lists."""
    try:
        yield from result.iter_items(lambda cid: result_page_bytes(store, cid))
    except (StoreError, ResultDocumentError) as exc:
        raise ResultUnavailableError(f"task {task_id}: a result page: {exc}") from exc


def document_bytes(store: ContentStore, cid: str) -> bytes:
    """The bytes of a task's manifest or item page, read as the requester reads them: in the
    canonical layout, within the documents' size limit and a deadline, depth checked."""
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
        sealed: SealedView | None = None,
    ) -> None:
        """``sealed``: a confidential task's item pages are read through its task key."""
        self._store, self._task_id, self._result = store, task_id, result
        self._item_pages = item_pages
        self._sealed = sealed
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
                    specs = self._page(cid).items
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

    def _page(self, cid: str) -> ItemPage:
        if self._sealed is None:
            return ItemPage.from_bytes(document_bytes(self._store, cid))
        budget = FetchBudget(RESULT_SECONDS)
        return read_item_page(self._sealed, cid, max_size=MAX_DOCUMENT_BYTES, budget=budget)

    @staticmethod
    def _replay(table: _JoinTable) -> Iterator[ResultItem]:
        with table.connect() as db:
            for item, value, confident, gold, confidence, agreement, data, content in db.execute(
                "SELECT * FROM joined ORDER BY rowid"
            ):
                entry = _entry((item, value, confident, gold, confidence, agreement))
                yield ResultItem.joined(entry, None if data is None else json.loads(data), content)
