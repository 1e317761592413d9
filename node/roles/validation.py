"""What a validator reads for one task: the items its manifest lists, the revealed batches
that pass the drop rule, and the gold. The duty that attests from them is
:class:`node.roles.validator.ValidatorDuty`.

**The drop rule** (:func:`~node.roles.drop_rule.check_batch`) looks only at
content-addressed bytes, so every honest validator drops the same batches: a batch is
dropped whole when its document is not a label batch of the schema the task's manifest names
(``labelnet/labels@2``, paged, for new tasks; ``labels@1`` for tasks whose manifest names
none), or a page of it breaks its schema (:func:`node.protocol.labels.read_batch`), or it
names another task or annotator than its reveal, has a root other than the revealed one,
labels an item the manifest does not list, or carries a value the task's kind and classes do
not allow. Gold is used only if it is of the task's gold schema, its root is the revealed
one and it labels known items with allowed values; otherwise the task runs without it.

**Budgets.** Every document is read in the canonical layout (kubo's defaults, which every
honest node writes), so its depth and block count follow from its declared size and a DAG of
another shape is dropped on its shape alone, after at most a handful of blocks: a
20,000-deep chain costs one block, not 20,000. Batches are fetched concurrently, each within
the seconds the duty grants this tick, so one slow batch delays neither the others nor
other tasks.

Fetching is the one non-deterministic input: a document (a batch's root or any of its
pages) that no peer served in time is reported as missing (:data:`RETRYABLE`), not dropped,
so the duty can wait for it.

**Memory.** A ``labels@2`` batch is read in two passes: first its root and every page are
fetched (concurrently across batches, the bytes left in the local store), then, once none
is awaited, each batch is verified page by page from there. A validator holds the labels
consensus needs and one page at a time, never a whole ``labels@2`` document (a ``labels@1``
batch, of older tasks, is one document and is read whole, as before).
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from node.consensus.assigned import Assignment
from node.db.models import Commitment, Task
from node.protocol.annotation import pair_sides
from node.protocol.canonical import DocumentTooDeepError, JsonValue, check_json_depth
from node.protocol.errors import InvalidParameterError
from node.protocol.gold import parse_gold_root, read_gold
from node.protocol.kinds import TaskKind
from node.protocol.labels import (
    LABELS_V1,
    BatchRoot,
    LabelBatch,
    LabelBatchError,
    parse_batch_root,
)
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemPage, Manifest, ManifestError
from node.protocol.paging import MAX_PAGE_BYTES, Fetch
from node.protocol.sealed import SealedError
from node.protocol.values import valid_value
from node.roles.assignment import TaskDeal
from node.roles.confidential import Keyring, NotAdmittedError
from node.roles.drop_rule import (
    DOCUMENT_SECONDS,
    RETRYABLE,
    LimitedPages,
    batch_limit,
    check_batch,
    page_bytes,
)
from node.store.base import ContentStore
from node.store.budget import FetchBudget, within
from node.store.errors import (
    StoreError,
)
from node.store.sealed import SealedView, read_item_page

# The duty's logger, not this module's: what collection drops or ignores belongs to the
# validator's log, under the name operators already filter on.
log = logging.getLogger("node.roles.validator")

FETCH_WORKERS = 8
"""Batches of one task fetched at once."""
PAGE_WORKERS = 4
"""Pages of one paged batch fetched at once."""


@dataclass
class TaskInputs:
    """What was collected for one task."""

    batches: list[LabelBatch] = field(default_factory=list)
    dropped: int = 0
    missing: list[str] = field(default_factory=list)
    gold: dict[str, JsonValue] | None = None


class InputCollector:
    """Fetches a task's documents from one content store and applies the drop rule.

    Raises the :data:`RETRYABLE` errors for a manifest or item page nobody serves yet;
    batches and gold nobody serves are listed in :attr:`TaskInputs.missing` instead.
    """

    def __init__(self, store: ContentStore, keyring: Keyring | None = None) -> None:
        self.store = store
        self.keyring = keyring
        """Opens a confidential task's batches (their key documents name this node)."""
        self._views: dict[str, SealedView] = {}
        """The view that opens each confidential batch read so far, by revealed CID."""
        self._items: dict[str, frozenset[str]] = {}
        self._order: dict[str, tuple[str, ...]] = {}
        self._page_ids: dict[str, tuple[str, ...]] = {}
        """Ids of the pages read so far of a manifest not yet read whole: a large task's
        pages take several ticks of the task's read deadline, and parsing the pages read
        before again on every tick left less of it to read new ones, until none were."""

    def document(self, cid: str, seconds: float = DOCUMENT_SECONDS) -> bytes:
        """A manifest, page or gold document in the canonical layout, refused if nested deep
        enough to crash json."""
        data = self.store.get(
            cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(seconds), canonical=True
        )
        check_json_depth(data)
        return data

    def _item_page(self, cid: str, view: SealedView | None) -> ItemPage:
        """An item page; a confidential task's opened through ``view`` (its task key)."""
        if view is None:
            return ItemPage.from_bytes(self.document(cid))
        budget = FetchBudget(DOCUMENT_SECONDS)
        return read_item_page(view, cid, max_size=MAX_DOCUMENT_BYTES, budget=budget)

    def item_ids(self, manifest: Manifest, view: SealedView | None = None) -> frozenset[str]:
        """The ids of every item the manifest's pages list, checked against its count."""
        key = manifest.cid()
        if key not in self._items:
            ordered: list[str] = []
            for page in manifest.pages:
                if page not in self._page_ids:
                    items = self._item_page(page, view).items
                    self._page_ids[page] = tuple(item.id for item in items)
                ordered.extend(self._page_ids[page])
            for page in manifest.pages:  # held only until the whole manifest is read
                self._page_ids.pop(page, None)
            ids = frozenset(ordered)
            if len(ids) != manifest.num_items:
                raise ManifestError(f"pages list {len(ids)} items, not {manifest.num_items}")
            self._items[key] = ids
            self._order[key] = tuple(ordered)
        return self._items[key]

    def pairs(
        self, manifest: Manifest, view: SealedView | None = None
    ) -> dict[str, tuple[str, str]] | None:
        """A pairwise task's sides per item (``TaskSpec.pairs``), from its item pages; None
        for other kinds. :class:`ManifestError` when an item is not a pair: the loader
        refuses such a task too, so no honest annotator labelled it."""
        if manifest.kind is not TaskKind.PAIRWISE:
            return None
        sides: dict[str, tuple[str, str]] = {}
        for page in manifest.pages:
            for item in self._item_page(page, view).items:
                try:
                    sides[item.id] = pair_sides(item.data)
                except InvalidParameterError as exc:
                    raise ManifestError(f"item {item.id!r}: {exc}") from exc
        return sides

    def assignment(self, manifest: Manifest, dealt: TaskDeal) -> Assignment:
        """The drop rule of a seated task (``Assignment.restrict``, applied before consensus
        with the batches' own drop rule above): items named by their manifest position, the
        order ``deal@1`` deals them in, and seats from the ``SeatClaimed`` events."""
        self.item_ids(manifest)
        order = self._order[manifest.cid()]
        return Assignment(
            deal=dealt.deal,
            item_index={item: index for index, item in enumerate(order)},
            seat_of=dict(dealt.seating.seats),
            seed_source=dealt.seal.source,
            seal_block=dealt.seal.block_number,
        )

    def collect(
        self,
        task: Task,
        reveals: list[Commitment],
        manifest: Manifest,
        item_ids: frozenset[str],
        *,
        seconds: float = DOCUMENT_SECONDS,
        wait_for_all: bool = False,
    ) -> TaskInputs:
        """The revealed batches that pass the drop rule, and the gold if it is usable.

        Batches are read concurrently, each within ``seconds``; one not read in time is
        listed as missing (its blocks fetched so far stay in the local store, so a later
        tick resumes where this one stopped). With ``wait_for_all``, a read that leaves
        anything missing returns at once with only :attr:`TaskInputs.missing`: the caller
        will wait for it, and checking the batches read (a Merkle tree over every label)
        would be thrown away, tick after tick, at the cost of minutes and gigabytes.
        """
        inputs = TaskInputs()
        revealed = [reveal for reveal in reveals if reveal.labels_cid is not None]
        has_gold = task.gold_cid is not None and task.gold_root is not None
        with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="batch") as pool:
            # The gold is read alongside the batches, each within ``seconds``, before any
            # batch is checked: checking is CPU work (a Merkle tree over every label) that,
            # for a large task, outlasts the task's read deadline, and a gold read started
            # after it (or after the batches' pages) ran out of time, tick after tick.
            gold = pool.submit(self._gold, task, manifest, item_ids, seconds) if has_gold else None
            fetched = list(pool.map(partial(self._fetch_batch, task, manifest, seconds), revealed))
            if gold is not None:
                try:
                    inputs.gold = gold.result()
                except RETRYABLE:
                    inputs.missing.append(f"gold {task.gold_cid}")
        for reveal, root in zip(revealed, fetched, strict=True):
            if isinstance(root, RETRYABLE):
                inputs.missing.append(f"batch {reveal.labels_cid} of {reveal.annotator}")
        if inputs.missing and wait_for_all:
            inputs.gold = None
            return inputs
        for reveal, root in zip(revealed, fetched, strict=True):
            if isinstance(root, RETRYABLE):
                continue
            checked: LabelBatch | str
            try:
                if isinstance(root, StoreError):
                    checked = f"unusable content: {root}"
                elif isinstance(root, str):
                    checked = root
                else:
                    # Outside the tick's read deadline (an empty context has none): the
                    # pages were fetched within it by the first pass and are read back from
                    # the local store, and checking a large task's batches is CPU work that
                    # outlasts it; each page read still has its own ``seconds``.
                    pages = LimitedPages(self._pages(seconds, reveal), batch_limit(task))
                    checked = contextvars.Context().run(
                        check_batch, root, reveal, manifest, item_ids, pages
                    )
            except RETRYABLE:  # a page read in the first pass and gone from the store since
                inputs.missing.append(f"batch {reveal.labels_cid} of {reveal.annotator}")
                continue
            except StoreError as exc:
                checked = f"unusable content: {exc}"
            if isinstance(checked, str):
                log.warning(
                    "task %s: dropped the batch of %s: %s", task.task_id, reveal.annotator, checked
                )
                inputs.dropped += 1
            else:
                inputs.batches.append(checked)
        return inputs

    def _pages(self, seconds: float, reveal: Commitment | None = None) -> Fetch:
        """Reads one page of a paged batch or gold set (:func:`page_bytes`); a confidential
        batch's through the view that opened its root."""
        view = None if reveal is None else self._views.get(str(reveal.labels_cid))
        if view is not None:
            return view.fetch(MAX_PAGE_BYTES, FetchBudget(seconds))
        return partial(page_bytes, self.store, seconds=seconds)

    def _sealed_root(
        self, task: Task, reveal: Commitment, max_size: int, seconds: float
    ) -> bytes | str:
        """The opened root of a confidential batch (its revealed CID is a key document), or
        why it is dropped: not wrapped to this node, or not a batch key document."""
        assert reveal.labels_cid is not None
        if self.keyring is None:
            return "a sealed batch, and this node holds no keys"
        try:
            opened = self.keyring.open_batch(reveal.labels_cid, task.task_id, reveal.annotator)
            data = opened.view.get(opened.root_cid, max_size=max_size, budget=FetchBudget(seconds))
        except (NotAdmittedError, SealedError) as exc:
            return f"sealed batch not readable here: {exc}"
        self._views[reveal.labels_cid] = opened.view
        return data

    def _fetch_batch(
        self, task: Task, manifest: Manifest, seconds: float, reveal: Commitment
    ) -> bytes | BatchRoot | str | StoreError:
        """The first pass over one revealed batch, within ``seconds`` in all. On a
        ``labels@1`` task: the document's bytes, parsed by :func:`check_batch` only once
        nothing is awaited (as before paging). On a ``labels@2`` task: the root, parsed, and
        every page fetched into the local store, where :func:`check_batch` reads it back
        (the page bytes are not kept); a drop reason if the document is no batch."""
        assert reveal.labels_cid is not None
        paged = manifest.labels != LABELS_V1
        limit = batch_limit(task)
        try:
            with within(seconds):
                size = MAX_DOCUMENT_BYTES if paged else limit
                if manifest.confidential is not None:
                    sealed = self._sealed_root(task, reveal, size, seconds)
                    if isinstance(sealed, str):
                        return sealed
                    data = sealed
                else:
                    data = self.store.get(
                        reveal.labels_cid,
                        max_size=size,
                        budget=FetchBudget(seconds),
                        canonical=True,
                    )
                if not paged:
                    return data
                try:
                    root = parse_batch_root(data)
                except LabelBatchError as exc:
                    return f"not a label batch: {type(exc).__name__}: {exc}"
                if root.label_count > task.num_items:
                    return f"{root.label_count} labels for a task of {task.num_items} items"
                if root.schema == manifest.labels:  # else check_batch refuses it, unread
                    self._prefetch(root.pages, LimitedPages(self._pages(seconds), limit))
        except StoreError as exc:
            return exc
        return root

    def _prefetch(self, pages: tuple[str, ...], fetch: Fetch) -> None:
        """Fetch the ``pages`` the local store does not hold yet, :data:`PAGE_WORKERS` at a
        time (a page is one small block, so one at a time a large batch's pages cost a round
        trip each), each under the caller's read deadline; raises the first page's error in
        order. Pages already held are not read again: at a million labels, re-reading the
        pages earlier ticks fetched took a tick's whole read deadline, and the last pages of
        each batch were never fetched. The byte budget of the whole batch is enforced when
        it is checked (every page read back, :class:`~node.roles.drop_rule.LimitedPages`),
        so it does not depend on which pages one tick happened to fetch."""
        wanted = [cid for cid in pages if not self.store.has(cid)]
        with ThreadPoolExecutor(max_workers=PAGE_WORKERS, thread_name_prefix="page") as pool:
            # Each page runs in a copy of this thread's context: the deadline goes with it.
            futures = [pool.submit(contextvars.copy_context().run, fetch, cid) for cid in wanted]
            try:
                for future in futures:
                    future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _gold(
        self, task: Task, manifest: Manifest, item_ids: frozenset[str], seconds: float
    ) -> dict[str, JsonValue] | None:
        """The gold, if usable: its document and pages fetched within ``seconds`` (the pages
        :data:`PAGE_WORKERS` at a time), then verified from the local store."""
        assert task.gold_cid is not None and task.gold_root is not None
        try:
            with within(seconds):
                root = parse_gold_root(self.document(task.gold_cid, seconds))
                if root.schema == manifest.gold:  # else refused below, unread
                    self._prefetch(
                        root.pages, LimitedPages(self._pages(seconds), batch_limit(task))
                    )
            gold = read_gold(
                root,
                LimitedPages(self._pages(seconds), batch_limit(task)),
                gold_root=bytes.fromhex(task.gold_root.removeprefix("0x")),
                schema=manifest.gold,
            )
        except (ManifestError, StoreError, DocumentTooDeepError, RecursionError) as exc:
            if isinstance(exc, RETRYABLE):
                raise
            log.warning("task %s: ignoring gold %s: %s", task.task_id, task.gold_cid, exc)
            return None
        answers = gold.as_dict()
        if any(
            item not in item_ids
            or not valid_value(manifest.kind, manifest.classes, value, manifest.annotation)
            for item, value in answers.items()
        ):
            log.warning("task %s: ignoring gold: it labels unknown items or classes", task.task_id)
            return None
        return answers
