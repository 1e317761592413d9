"""The annotator's first duty: join new tasks by fetching and verifying their content.

The chain mirror writes a ``tasks`` row for every ``TaskCreated``. For each open task whose
commit window is still open and that this node has not settled on yet, the loader fetches
the manifest through the content store (every block verified against its CID), decides
whether to take part, fetches every item page and every media file the items refer to,
and stores the items together with a ``joined`` participation row in one write
transaction, so a crash never leaves a half-joined task. Media files are fetched even
though only a labeler reads them: fetching verifies them and keeps a local copy this
node's gateway serves on to its peers. How the content is read and verified, and the
**budgets** on what it may cost this node, are :mod:`node.roles.content_fetch`'s.

**Confidential tasks** (the manifest's ``confidential`` field, docs/confidential.md): the
item pages are sealed under a task key the requester wraps to each seated annotator after
its seat. Until a published key document names this node, the task is joined without items
(:data:`WAITING_FOR_KEY`, with why: "not admitted"), so the seat duty can claim a seat; the
pages are fetched all the same (ciphertext, verified by CID) and looked at again every
``retry_delay``. Once the key opens, the pages are read through it and the items stored.

Outcomes are recorded in ``task_participation``:

* ``declined`` — the node is not qualified (kind, bond) or the content is malformed
  (bad document, item count that disagrees with the chain, duplicate ids, invalid CID):
  it can never get better, so the task is not looked at again;
* ``failed`` — the content could not be fetched (no peer has it yet, a peer is down or
  served wrong bytes): retried on later ticks after a growing delay, up to
  :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path

from node.db.engine import Database
from node.db.models import ParticipationState, Task, TaskParticipation
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import ItemRepository, TaskRepository
from node.db.types import utcnow
from node.errors import LabelnetError
from node.protocol.kinds import TaskKind
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.confidential import Keyring, NotAdmittedError
from node.roles.content_fetch import (
    DEFAULT_DISK_RESERVE,
    DEFAULT_REWARD_PER_MIB,
    DEFAULT_TASK_MEDIA_BYTES,
    MAX_ITEM_BYTES,
    ContentFetcher,
    DeclinedError,
)
from node.store.base import ContentStore
from node.store.budget import BudgetExceededError, within
from node.store.errors import (
    BackendError,
    BlockMismatchError,
    BlockNotFoundError,
    StoreUnavailableError,
)
from node.store.sealed import ITEMS, SealedView

log = logging.getLogger(__name__)

MAX_REASON = 2000
"""Characters of an error kept as the reason (a peer's error page can be long)."""
MAX_ATTEMPTS = 20
"""Fetch attempts before a task whose content nobody serves is given up."""
RETRY_DELAY = 5.0
"""Seconds before the first retry of a failed fetch; doubled after every further failure."""
MAX_RETRY_DELAY = 600.0
LOAD_SECONDS = 120.0
"""Wall-clock seconds one attempt at loading one task may take: a slow peer delays that
task's join (retried later, with the blocks read so far kept), never the others'."""

TRANSIENT_ERRORS = (
    BlockNotFoundError,
    StoreUnavailableError,
    BackendError,
    BlockMismatchError,
    BudgetExceededError,
)
"""Fetch failures another attempt (another peer, later) can fix. Wrong bytes count: the next
peer asked may serve the right ones; everything else about content is final."""


WAITING_FOR_KEY = "sealed, not admitted yet"
"""Reason of a confidential task joined without its key (the seat comes first, the key
after it): the loader looks again, and the labeling page shows the reason."""


def _system_clock() -> int:
    return int(time.time())


class TaskLoader:
    """Join the tasks this node is qualified for; see the module docstring."""

    name = "loader"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        chain_id: int,
        max_bond: int | None = None,
        kinds: Collection[TaskKind] = tuple(TaskKind),
        max_item_bytes: int = MAX_ITEM_BYTES,
        max_task_media_bytes: int = DEFAULT_TASK_MEDIA_BYTES,
        min_reward_per_mib: int = DEFAULT_REWARD_PER_MIB,
        disk_reserve: int = DEFAULT_DISK_RESERVE,
        data_dir: Path | None = None,
        clock: Callable[[], int] = _system_clock,
        max_attempts: int = MAX_ATTEMPTS,
        retry_delay: float = RETRY_DELAY,
        keyring: Keyring | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.chain_id = chain_id
        self.max_bond = max_bond
        self.kinds = frozenset(kinds)
        self.content = ContentFetcher(
            store=store,
            chain_id=chain_id,
            max_item_bytes=max_item_bytes,
            max_task_media_bytes=max_task_media_bytes,
            min_reward_per_mib=min_reward_per_mib,
            disk_reserve=disk_reserve,
            data_dir=data_dir,
        )
        self.clock = clock
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.keyring = keyring
        self._key_checked: dict[int, float] = {}
        """When (monotonic) each task waiting for its key was last looked at."""

    def tick(self) -> None:
        for task, previous in self._due():
            try:
                self._load(task, previous)
            except Exception as exc:  # one task's surprise must not starve the others
                log.exception("task %s: loading failed unexpectedly", task.task_id)
                self._record_unexpected(task, previous, exc)

    def _due(self) -> list[tuple[Task, TaskParticipation | None]]:
        """Open tasks still in their commit window that are new or failed and retryable."""
        with self.db.session() as session:
            participation = ParticipationRepository(session)
            due: list[tuple[Task, TaskParticipation | None]] = []
            for task in TaskRepository(session).open_before(self.chain_id, self.clock()):
                row = participation.get(self.chain_id, task.task_id)
                if row is None or self._retry_due(row) or self._key_due(row):
                    due.append((task, row))
        return due

    def _retry_due(self, row: TaskParticipation) -> bool:
        """A failed task is retried after a delay that doubles with every attempt (content
        a requester has not published yet may take minutes to appear), until the cap."""
        if row.state is not ParticipationState.FAILED or row.attempts >= self.max_attempts:
            return False
        delay = min(self.retry_delay * 2 ** max(row.attempts - 1, 0), MAX_RETRY_DELAY)
        return utcnow() >= row.updated_at + dt.timedelta(seconds=delay)

    def _key_due(self, row: TaskParticipation) -> bool:
        """A confidential task joined without its key (:data:`WAITING_FOR_KEY`) is looked at
        again every ``retry_delay``: the requester wraps the key after the seat is claimed."""
        return (
            row.state is ParticipationState.JOINED
            and row.reason.startswith(WAITING_FOR_KEY)
            # Not the row's updated_at: the labeling duty touches the row every tick.
            and time.monotonic() >= self._key_checked.get(row.task_id, 0.0) + self.retry_delay
        )

    def _load(self, task: Task, previous: TaskParticipation | None) -> None:
        attempts = 0 if previous is None else previous.attempts
        manifest: Manifest | None = None
        try:
            with within(LOAD_SECONDS):
                manifest = self.content.manifest(task)
                self._check_qualified(task, manifest)
                view = self._view(task, manifest)
                if isinstance(view, str):
                    self._await_key(task, manifest, attempts, view)
                    return
                budget = self.content.media_budget(task)
                count, joined = self.content.check_items(manifest, budget, view), manifest
        except TRANSIENT_ERRORS as exc:
            self._record(task, ParticipationState.FAILED, str(exc), attempts + 1, manifest)
            log.info("task %s: content not available yet (%s)", task.task_id, exc)
            return
        except LabelnetError as exc:  # malformed content or not qualified: final
            self._record(task, ParticipationState.DECLINED, str(exc), attempts, manifest)
            log.info("task %s: declined: %s", task.task_id, exc)
            return
        with self.db.write() as session:
            self.content.write_items(ItemRepository(session), task.task_id, joined, view)
            _record(
                ParticipationRepository(session),
                task,
                ParticipationState.JOINED,
                "",
                attempts,
                joined,
            )
        log.info("task %s: joined, %d items", task.task_id, count)

    def _view(self, task: Task, manifest: Manifest) -> SealedView | str | None:
        """How to read a task's item pages: None for a public task; a confidential task's
        through its task key, or why not while no key is wrapped to this node
        (:class:`DeclinedError` if it can never hold one)."""
        if manifest.confidential is None:
            return None
        if self.keyring is None or self.keyring.key is None:
            raise DeclinedError("a confidential task, and this node has no encryption key")
        try:
            key = self.keyring.task_key(task.task_id, manifest.confidential)
        except NotAdmittedError as exc:
            return str(exc)
        return SealedView(self.store, key, ITEMS)

    def _await_key(self, task: Task, manifest: Manifest, attempts: int, why: str) -> None:
        """Join a confidential task without its key: the seat duty claims a seat (after
        which the requester wraps the key to this node) and the items are read on a later
        tick. Meanwhile the pages are fetched as they are, ciphertext verified by CID."""
        for page_cid in manifest.pages:
            self.store.get(page_cid, max_size=MAX_DOCUMENT_BYTES, canonical=True)
        self._key_checked[task.task_id] = time.monotonic()
        reason = f"{WAITING_FOR_KEY}: {why}"
        self._record(task, ParticipationState.JOINED, reason, attempts, manifest)
        log.info("task %s: %s", task.task_id, reason)

    def _record_unexpected(
        self, task: Task, previous: TaskParticipation | None, exc: Exception
    ) -> None:
        """Count an unexpected failure as an attempt, so a task that always fails the same
        surprising way is given up after the cap instead of being retried forever."""
        attempts = 1 + (0 if previous is None else previous.attempts)
        try:
            self._record(task, ParticipationState.FAILED, repr(exc), attempts, None)
        except Exception:  # the database itself is failing: the next tick tries again
            log.exception("task %s: cannot record the failure", task.task_id)

    def _check_qualified(self, task: Task, manifest: Manifest) -> None:
        if manifest.num_items != task.num_items:
            raise DeclinedError(
                f"the manifest lists {manifest.num_items} items, the task on chain {task.num_items}"
            )
        if manifest.kind not in self.kinds:
            raise DeclinedError(f"this node does not label {manifest.kind} tasks")
        if self.max_bond is not None and task.annotator_bond > self.max_bond:
            raise DeclinedError(
                f"the annotator bond {task.annotator_bond} exceeds this node's "
                f"max_bond {self.max_bond}"
            )

    def _record(
        self,
        task: Task,
        state: ParticipationState,
        reason: str,
        attempts: int,
        manifest: Manifest | None,
    ) -> None:
        with self.db.write() as session:
            _record(ParticipationRepository(session), task, state, reason, attempts, manifest)


def _record(
    repository: ParticipationRepository,
    task: Task,
    state: ParticipationState,
    reason: str,
    attempts: int,
    manifest: Manifest | None,
) -> None:
    """Store an outcome, with the manifest text the labeling page shows when there is one."""
    repository.record(
        task.chain_id,
        task.task_id,
        state,
        reason=reason[:MAX_REASON],
        attempts=attempts,
        title="" if manifest is None else manifest.title,
        instructions="" if manifest is None else manifest.instructions,
        kind=None if manifest is None else str(manifest.kind),
        classes=() if manifest is None else manifest.classes,
        annotation=None
        if manifest is None or manifest.annotation is None
        else manifest.annotation.document(),
    )
