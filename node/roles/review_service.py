"""The review page's use cases (issue #17 item 3): a reviewed task's contested items, as
this node's validators will compute them, and this node's votes on them.

**The same set as the validators.** The contested set (``contested@1``,
:func:`node.consensus.contested.contested_set`) is computed over the consensus of step 1 of
docs/review.md §1, from the inputs the validator duty uses, read the way it reads them:

- the reveals the event mirror holds, once it holds every reveal the chain counts (and the
  gold, if revealed): a lagging mirror would shrink the input;
- every revealed batch and the gold through :class:`~node.roles.validation.InputCollector`
  (the validator's drop rule, byte budgets and page checks), waiting for all of them
  (``wait_for_all``): a batch nobody serves yet is not left out, the set is refused;
- on a seated task, the deal (:class:`~node.roles.assignment.Assigner`) and its drop rule;
- the task's algorithm (the on-chain id) and bloc test, through
  :func:`node.consensus.task.answers_from_batches` and
  :func:`~node.consensus.task.categorical_consensus`, the two calls
  ``run_consensus``'s categorical path makes before its reward rule.

Anything short of that raises :class:`ReviewIncompleteError` (docs/review.md §11: a reviewer
who voted on a partial set would reveal an invalid batch). A set is cached per task and
recomputed when its inputs (manifest, reveals, gold) change.

No FastAPI here: the routes (:mod:`node.api.routes.review`, through
:mod:`node.app.review_views`) map these errors through :mod:`node.api.errors` like every
other. It is a role's service, below the app: the reviewer duty's vote source
(:mod:`node.roles.review_votes`) computes the same set through it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import numpy as np
from web3.contract import Contract

from node.chain.market import read_task
from node.consensus.answers import Answers
from node.consensus.contested import contested_set
from node.consensus.numerics import argmax_lowest
from node.consensus.task import answers_from_batches, categorical_consensus
from node.db.engine import Database
from node.db.models import Commitment, Task
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.tasks import TaskNotFoundError, TaskRepository
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.protocol.errors import ConsensusError
from node.protocol.manifest import ItemPage, ItemSpec, Manifest, ManifestError
from node.protocol.review import ContestedItem, ContestedSet
from node.protocol.rules import ppb_text
from node.protocol.values import categorical_value
from node.roles.assignment import Assigner
from node.roles.drop_rule import RETRYABLE
from node.roles.validation import InputCollector
from node.store.base import ContentStore
from node.store.budget import FetchBudget
from node.store.errors import StoreError

__all__ = [
    "NotReviewedError",
    "ReviewIncompleteError",
    "ReviewNotOpenError",
    "ReviewService",
]

log = logging.getLogger(__name__)

REVIEW_READ_SECONDS = 15.0
"""Seconds one request spends reading a task's batches (concurrently), as a validator tick
does (:data:`node.roles.validator.TASK_FETCH_SECONDS`): blocks read stay in the local store,
so a page that was refused as incomplete finds more of them on its next try."""


MEDIA_BYTES = 32 * 1024 * 1024
"""The largest media file fetched for the page: the loader's default per-item limit."""
MEDIA_PREFETCH = 64
"""Media files fetched per computed set at most: a validator node loads no task media (its
loader does not run), and the page shows an item's picture through this node's own
gateway, which serves local blocks only. The first ones are fetched when the set is
computed; the rest of a large set would hold the request too long."""


RETRY_SECONDS = 60.0
"""How long a manifest no peer served is not asked again (:meth:`ReviewService.manifest`)."""
LIST_READ_SECONDS = 2.0
"""Seconds the task list waits for one manifest this node does not hold."""


class NotReviewedError(LabelnetError, LookupError):
    """The task's manifest has no ``review`` section: it has no review round (404)."""


class ReviewNotOpenError(LabelnetError, FileExistsError):
    """The task's reveal window is still open: the contested set does not exist yet (409)."""


class ReviewIncompleteError(LabelnetError, FileExistsError):
    """This node has not read and checked every revealed batch (and the gold) yet, or its
    event mirror lags the chain: a vote on a partial set would be invalid (409, retry)."""


_Key = tuple[str, tuple[str, ...], str | None]


class ReviewService:
    """Computes (and caches) contested sets for one node; safe to call from many threads."""

    def __init__(
        self,
        db: Database,
        store: ContentStore,
        chain_id: int,
        market: Contract | None = None,
        assigner: Assigner | None = None,
        *,
        read_seconds: float = REVIEW_READ_SECONDS,
    ) -> None:
        self.db, self.store, self.chain_id = db, store, chain_id
        self.market, self.assigner, self.read_seconds = market, assigner, read_seconds
        self._inputs = InputCollector(store)
        self._manifests: dict[str, Manifest | None] = {}
        self._unserved: dict[str, float] = {}
        self._sets: dict[int, tuple[_Key, ContestedSet]] = {}
        self._lock = threading.Lock()

    def manifest(self, task: Task, seconds: float | None = None) -> Manifest | None:
        """The task's manifest if this node can read it (None if unreadable or invalid).

        A manifest no peer served is not asked for again for :data:`RETRY_SECONDS`: the
        task list reads every open task's manifest, and a validator node holds a manifest
        only once its duty has read it, so without the pause one list of many unserved
        tasks would wait ``seconds`` on each of them, every time."""
        cid = task.manifest_cid
        if cid not in self._manifests:
            failed = self._unserved.get(cid)
            if failed is not None and time.monotonic() - failed < RETRY_SECONDS:
                return None
            try:
                data = self._inputs.document(cid, self.read_seconds if seconds is None else seconds)
                manifest: Manifest | None = Manifest.from_bytes(data)
            except RETRYABLE:
                self._unserved[cid] = time.monotonic()
                return None
            except (ManifestError, StoreError, ValueError, RecursionError) as exc:
                log.info("task %s: manifest unusable for review: %s", task.task_id, exc)
                manifest = None
            self._manifests[cid] = manifest
            self._unserved.pop(cid, None)
        return self._manifests[cid]

    def task(self, task_id: int) -> tuple[Task, Manifest]:
        """The task and its manifest, or :class:`NotReviewedError` if it has no review."""
        with self.db.session() as session:
            task = TaskRepository(session).get(self.chain_id, task_id)
        if task is None:
            raise TaskNotFoundError(f"task {task_id} is not known to this node")
        manifest = self.manifest(task)
        if manifest is None and task.manifest_cid not in self._manifests:
            raise ReviewIncompleteError(f"task {task_id}: its manifest is not read yet")
        if manifest is None or manifest.review is None:
            raise NotReviewedError(f"task {task_id} has no review round (no review section)")
        return task, manifest

    def contested(self, task_id: int, now: int) -> ContestedSet:
        """The task's contested set, or why there is none yet (see the module doc)."""
        task, manifest = self.task(task_id)
        if now <= task.reveal_deadline:
            raise ReviewNotOpenError(
                f"task {task_id}'s reveal window is open until {task.reveal_deadline}: the "
                "contested set is known only after it"
            )
        with self.db.session() as session:
            reveals = CommitmentRepository(session).revealed(self.chain_id, task_id)
        key: _Key = (
            task.manifest_cid,
            tuple(sorted(f"{r.annotator}:{r.labels_cid}" for r in reveals)),
            task.gold_cid,
        )
        with self._lock:
            known = self._sets.get(task_id)
            if known is not None and known[0] == key:
                return known[1]
            computed = self._compute(task, manifest, reveals)
            self._sets[task_id] = (key, computed)
            return computed

    def _compute(self, task: Task, manifest: Manifest, reveals: list[Commitment]) -> ContestedSet:
        assert manifest.review is not None
        task_id = task.task_id
        if self.market is not None:
            chain = read_task(self.market, task_id)
            if chain.reveal_count != len(reveals) or chain.gold_revealed != (
                task.gold_cid is not None
            ):
                raise ReviewIncompleteError(
                    f"task {task_id}: this node's event mirror has not caught up with the "
                    "chain's reveals yet"
                )
        try:
            item_ids = self._inputs.item_ids(manifest)
            inputs = self._inputs.collect(
                task, reveals, manifest, item_ids, seconds=self.read_seconds, wait_for_all=True
            )
        except RETRYABLE as exc:
            raise ReviewIncompleteError(f"task {task_id}: item pages not read yet: {exc}") from exc
        if inputs.missing:
            raise ReviewIncompleteError(
                f"task {task_id}: not read yet: {', '.join(inputs.missing)}"
            )
        if not inputs.batches:
            raise ReviewIncompleteError(f"task {task_id}: no valid batch to review")
        try:
            answers = answers_from_batches(inputs.batches, task_id, manifest.classes)
            if self.assigner is not None and self.assigner.seating(task_id) is not None:
                dealt = self.assigner.task_deal(task)
                if dealt is None:
                    raise ReviewIncompleteError(f"task {task_id}: its deal is not final yet")
                answers = self._inputs.assignment(manifest, dealt).restrict(answers)
            gold = {str(k): categorical_value(v) for k, v in (inputs.gold or {}).items()}
            fit = categorical_consensus(answers, gold, task.algorithm, manifest.consensus.bloc_test)
        except ConsensusError as exc:
            raise ReviewIncompleteError(f"task {task_id}: no consensus to review: {exc}") from exc
        contested = contested_set(fit, manifest.review)
        rows = {item: row for row, item in enumerate(fit.answers.items)}
        labels = _labels_of(fit.answers, frozenset(contested))
        specs = self._item_specs(manifest, frozenset(contested))
        self._fetch_media(specs.values())
        top = argmax_lowest(fit.probas_ppb)
        items = tuple(
            ContestedItem(
                item=specs[item],
                labels=labels.get(item, {}),
                consensus=fit.answers.classes[int(top[rows[item]])],
                posterior=ppb_text(int(fit.probas_ppb[rows[item]].max())),
            )
            for item in contested
        )
        return ContestedSet(
            task_id=task_id,
            manifest=manifest,
            items=items,
            consensus_items=len(fit.answers.items),
            batches_used=len(inputs.batches),
            batches_dropped=inputs.dropped,
        )

    def _item_specs(self, manifest: Manifest, wanted: frozenset[str]) -> dict[str, ItemSpec]:
        """The manifest's entries of the ``wanted`` items, read from its pages (a validator
        node has no item rows in its database: the loader runs for annotators)."""
        found: dict[str, ItemSpec] = {}
        try:
            for page in manifest.pages:
                for item in ItemPage.from_bytes(self._inputs.document(page)).items:
                    if item.id in wanted:
                        found[item.id] = item
        except RETRYABLE as exc:
            raise ReviewIncompleteError(f"item pages not read yet: {exc}") from exc
        return found

    def _fetch_media(self, items: Iterable[ItemSpec]) -> None:
        """Put the contested items' media this node lacks in its store (best effort: an
        item whose picture no peer serves is still reviewable by its other content)."""
        missing = [i.content for i in items if i.content and not self.store.has(i.content)]
        for cid in missing[:MEDIA_PREFETCH]:
            try:
                self.store.get(cid, max_size=MEDIA_BYTES, budget=FetchBudget(self.read_seconds))
            except StoreError as exc:
                log.info("media %s of a contested item not fetched: %s", cid, exc)


def _labels_of(answers: Answers, wanted: frozenset[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """For each wanted item, class -> annotators who gave it (vectorised selection of the
    rows first: a task's answer table can hold millions of rows)."""
    codes = [code for code, item in enumerate(answers.items) if item in wanted]
    mask = np.isin(answers.item, np.array(codes, dtype=np.int64))
    grouped: dict[str, dict[str, list[str]]] = {}
    for item, annotator, label in zip(
        answers.item[mask].tolist(),
        answers.annotator[mask].tolist(),
        answers.label[mask].tolist(),
        strict=True,
    ):
        by_class = grouped.setdefault(answers.items[item], {})
        by_class.setdefault(answers.classes[label], []).append(answers.annotators[annotator])
    return {
        item: {value: tuple(sorted(who)) for value, who in sorted(by_class.items())}
        for item, by_class in grouped.items()
    }


def item_content(item: ItemSpec) -> dict[str, JsonValue]:
    """An item as the page draws it (the labelling page's fields)."""
    return {
        "item_id": item.id,
        "data": item.data,
        "content_cid": item.content,
        "media_type": item.media_type,
    }
