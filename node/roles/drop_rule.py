"""The drop rule and the byte budgets under which a validator reads a task's documents.

**The drop rule** (:func:`check_batch`) looks only at content-addressed bytes, so every
honest validator drops the same batches (the rule in full: :mod:`node.roles.validation`).
**The budgets**: a batch, or the gold set, may take one document's limit plus
:data:`BYTES_PER_LABEL` per item of the task in all, pages included (:func:`batch_limit`,
:class:`LimitedPages`); each document read gets :data:`DOCUMENT_SECONDS`. What a fetch
failure means is :data:`RETRYABLE`: it depends on which peers answered and when, so it is
retried, never a reason to drop.

Split from :mod:`node.roles.validation`, which collects a task's inputs under these rules;
the reviewers' vote batches (:mod:`node.roles.review_inputs`) and the requester's results
(:mod:`node.roles.requester.results`) read pages under the same budgets.
"""

from __future__ import annotations

import threading
from functools import partial

from node.db.models import Commitment, Task
from node.protocol.labels import (
    BatchRoot,
    LabelBatch,
    LabelBatchError,
    parse_batch_root,
    read_batch,
)
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.protocol.paging import MAX_PAGE_BYTES, Fetch
from node.protocol.values import valid_value
from node.store.base import ContentStore
from node.store.budget import BudgetExceededError, FetchBudget
from node.store.errors import (
    BlockMismatchError,
    BlockNotFoundError,
    FileTooLargeError,
    StoreUnavailableError,
)

BYTES_PER_LABEL = 1024
"""Largest batch accepted: this much per item of the task on top of one document's limit,
capped at MAX_BATCH_BYTES: a ``labels@1`` document, or the pages of a ``labels@2`` batch in
all (its root is read up to one document's limit, each page up to
:data:`~node.protocol.paging.MAX_PAGE_BYTES`). The gold set's pages get the same."""
MAX_BATCH_BYTES = 256 * 1024 * 1024
RETRYABLE = (BlockNotFoundError, StoreUnavailableError, BlockMismatchError, BudgetExceededError)
"""Fetch failures that depend on which peers answered, and when, not on the content: retried."""
DOCUMENT_SECONDS = 30.0
"""Longest one manifest, page or gold read may take before it is retried on a later tick."""


def page_bytes(store: ContentStore, cid: str, seconds: float = DOCUMENT_SECONDS) -> bytes:
    """The bytes of one page of a paged label batch or gold set, in the canonical layout,
    within a page's limit and ``seconds``; the protocol's reader verifies them against the
    CID its root lists (:func:`node.protocol.labels.read_batch`,
    :func:`node.protocol.gold.read_gold`)."""
    return store.get(cid, max_size=MAX_PAGE_BYTES, budget=FetchBudget(seconds), canonical=True)


def batch_limit(task: Task) -> int:
    """Most bytes a batch (or the gold set) of ``task`` may take: one document's limit and
    :data:`BYTES_PER_LABEL` per item, at most :data:`MAX_BATCH_BYTES`."""
    return min(MAX_DOCUMENT_BYTES + BYTES_PER_LABEL * task.num_items, MAX_BATCH_BYTES)


class LimitedPages:
    """A page reader that refuses to read more than ``limit`` bytes in all: a paged batch
    or gold set gets the byte budget a one-document ``labels@1`` batch had, so a root
    listing many large pages costs a validator no more than a large document did. The
    pages' sizes follow from the CIDs the root lists, so every honest validator refuses
    the same documents. Safe to call from several threads."""

    def __init__(self, fetch: Fetch, limit: int) -> None:
        self.fetch, self.limit, self.read = fetch, limit, 0
        self._lock = threading.Lock()

    def _check(self, size: int) -> None:
        with self._lock:
            self.read += size
            if self.read > self.limit:
                raise FileTooLargeError(f"the pages exceed {self.limit} bytes in all")

    def __call__(self, cid: str) -> bytes:
        self._check(0)  # over the limit already: read no more
        data = self.fetch(cid)
        self._check(len(data))
        return data


def bounded_pages(store: ContentStore, task: Task, seconds: float) -> Fetch:
    """A page reader for one paged batch (or gold set) of ``task`` within the byte budget
    of one batch (:class:`LimitedPages`): the reviewers' vote batches are read under it too."""
    return LimitedPages(partial(page_bytes, store, seconds=seconds), batch_limit(task))


def _no_pages(cid: str) -> bytes:
    raise ValueError(f"a paged batch needs a page reader to fetch {cid}")


def check_batch(
    data: bytes | BatchRoot,
    reveal: Commitment,
    manifest: Manifest,
    item_ids: frozenset[str],
    fetch: Fetch = _no_pages,
) -> LabelBatch | str:
    """The batch revealed by ``reveal`` if it passes the drop rule, else why it is dropped.

    ``data`` is the revealed document (or :func:`~node.protocol.labels.parse_batch_root` of
    it); ``fetch`` reads a ``labels@2`` page. A page ``fetch`` cannot read raises its
    :class:`~node.store.errors.StoreError`: the caller decides whether it is retried.
    """
    try:
        root = data if isinstance(data, BatchRoot) else parse_batch_root(data)
    except LabelBatchError as exc:  # not JSON, not an object, not the format
        return f"not a label batch: {type(exc).__name__}: {exc}"
    revealed = reveal.labels_root
    try:
        batch = read_batch(
            root,
            fetch,
            task_id=reveal.task_id,
            annotator=reveal.annotator,
            labels_root=None if revealed is None else bytes.fromhex(revealed.removeprefix("0x")),
            schema=manifest.labels,
        )
    except LabelBatchError as exc:
        return str(exc)
    for item, value in batch.labels:
        if item not in item_ids:
            return f"item {item[:80]!r} is not in the manifest"
        if not valid_value(manifest.kind, manifest.classes, value, manifest.annotation):
            return f"value {str(value)[:80]!r} of item {item[:80]!r} is not a valid label"
    return batch
