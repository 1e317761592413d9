"""The annotator's chain duty: commit to its label batches, then reveal them.

Every step is written to the database before and after the transaction it sends, so the
duty can be killed anywhere and resume from the database alone:

1. **intent** — when a task is fully labelled, or its labeling program has gone through
   every item (it may skip some), or its commit deadline is near, the batch
   is built from the stored labels, and its root, CID, salt and commitment are recorded
   *before* the commit transaction exists; the API refuses label changes from then on;
2. **commit sent** — the transaction hash is recorded right after sending; after a restart
   a recorded hash is looked up instead of sending again, and an intent without a hash is
   (re)sent: replacing a commitment with the same value is harmless;
3. **committed** — the event sync sees ``LabelsCommitted`` and marks the row;
4. after the commit deadline the batch is rebuilt, checked against the recorded root,
   published to the content store, and revealed the same way (hash recorded, receipt looked
   up after a restart) until the sync sees ``LabelsRevealed``.

The batch is written in the schema the task's manifest names (``labelnet/labels@2``, paged,
for tasks built from now on; ``labels@1`` for older ones; validators drop the other): the
manifest is read from the node's own store, where the loader put it when the task was joined.
A ``labels@2`` batch is published pages first, then its root, whose CID is revealed.

The batch is published only at reveal time: before the commit deadline nobody, not even
a peer that guesses its CID, can read it from this node.

On a confidential task (the manifest's ``confidential`` field) the batch is sealed under a
fresh batch key wrapped to the requester and the named validators
(:meth:`node.roles.confidential.Keyring.publish_batch`), and the CID revealed is that key
document's. The commitment is unchanged (the labels root over the plaintext, and the salt):
the revealed CID is not part of it, so a resend after a crash may reveal another document.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select
from web3.contract import Contract

from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import Commitment, Task, TaskStatus
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.labels import LabelRepository
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import ItemRepository, TaskRepository
from node.db.types import utcnow
from node.errors import LabelnetError
from node.faults import crash_point
from node.protocol.commitments import label_commitment
from node.protocol.labels import LabelBatch
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.assignment import Assigner, NoSeatError, NotDealtYetError
from node.roles.confidential import Keyring
from node.store.base import ContentStore
from node.store.budget import FetchBudget

log = logging.getLogger(__name__)

MANIFEST_SECONDS = 30.0
"""Longest read of a task's manifest (normally in the node's own store already)."""


class RevealError(LabelnetError, RuntimeError):
    """The stored labels no longer produce the committed batch: it cannot be revealed."""


@dataclass(frozen=True)
class CommitPolicy:
    """When to commit: as soon as the labeling program has seen every item; once every item
    is labelled and no label has changed for ``grace`` seconds (wall clock: a person can
    still correct their last answers on the labeling page); or ``margin`` seconds (chain
    time) before the deadline with whatever is labelled by then."""

    margin: int = 120
    grace: float = 0.0


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class AnnotatorDuty:
    """Commit and reveal this node's label batches on every task it labelled."""

    name = "annotator"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        sender: TxSender,
        chain_id: int,
        policy: CommitPolicy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        assigner: Assigner | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.market = market
        self.sender = sender
        self.chain_id = chain_id
        self.annotator = sender.address
        self.policy = policy or CommitPolicy()
        self._clock = clock
        self.assigner = assigner
        self.keyring = keyring
        self._manifests: dict[int, tuple[str, Manifest]] = {}

    def tick(self) -> None:
        now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        self._commit_ready_tasks(now)
        self._follow_pending_commits(now)
        self._reveal_due(now)

    # ---------------------------------------------------------------- commit

    def _commit_ready_tasks(self, now: int) -> None:
        with self.db.session() as session:
            labels = LabelRepository(session)
            commitments = CommitmentRepository(session)
            tasks = TaskRepository(session)
            items = ItemRepository(session)
            participation = ParticipationRepository(session)
            ready: list[int] = []
            for task_id in labels.tasks_labelled_by(self.chain_id, self.annotator):
                task = tasks.get(self.chain_id, task_id)
                if task is None or task.status is not TaskStatus.OPEN or now > task.commit_deadline:
                    continue
                if commitments.get(self.chain_id, task_id, self.annotator) is not None:
                    continue
                progress = self._progress(labels, task, items.count(self.chain_id, task_id))
                if progress is None:
                    continue
                done, total = progress
                if (
                    (done >= total and self._settled(labels, task_id))
                    or now >= task.commit_deadline - self.policy.margin
                    or participation.is_labeling_done(self.chain_id, task_id)
                ):
                    ready.append(task_id)
        for task_id in ready:
            try:
                schema = self._schema(task_id)
            except LabelnetError as exc:  # the manifest is unreadable: try again next tick
                log.warning("task %s: cannot commit yet: %s", task_id, exc)
                continue
            self._record_intent(task_id, schema)

    def _progress(self, labels: LabelRepository, task: Task, stored: int) -> tuple[int, int] | None:
        """Labelled and to label: every stored item of an open task, its seat's batch on a
        seated one (labels on other items, which validators drop, do not count); None when
        it cannot commit (no seat, or nothing dealt yet: ``commit`` needs a seat, and labels
        made before the deal are not a batch)."""
        positions = None
        if self.assigner is not None:
            try:
                positions = self.assigner.dealt_positions(task, self.annotator)
            except (NoSeatError, NotDealtYetError):
                return None
        if positions is None:
            return labels.count_for(self.chain_id, task.task_id, self.annotator), stored
        done = labels.count_at(self.chain_id, task.task_id, self.annotator, positions)
        return done, len(positions)

    def _schema(self, task_id: int) -> str:
        """The label batch schema the task's manifest names (read once per task)."""
        return self._manifest(task_id)[1].labels

    def _manifest(self, task_id: int) -> tuple[str, Manifest]:
        """The task's requester and manifest (read once per task)."""
        if task_id not in self._manifests:
            with self.db.session() as session:
                task = TaskRepository(session).get(self.chain_id, task_id)
            if task is None:
                raise RevealError(f"task {task_id} is not known to this node")
            data = self.store.get(
                task.manifest_cid,
                max_size=MAX_DOCUMENT_BYTES,
                budget=FetchBudget(MANIFEST_SECONDS),
                canonical=True,
            )
            self._manifests[task_id] = (task.requester, Manifest.from_bytes(data))
        return self._manifests[task_id]

    def _settled(self, labels: LabelRepository, task_id: int) -> bool:
        if self.policy.grace <= 0:
            return True
        last = labels.last_change(self.chain_id, task_id, self.annotator)
        return last is None or (self._clock() - last).total_seconds() >= self.policy.grace

    def _batch(self, session: Session, task_id: int) -> LabelBatch:
        pairs = LabelRepository(session).pairs_for(self.chain_id, task_id, self.annotator)
        return LabelBatch.create(task_id, self.annotator, pairs)

    def _record_intent(self, task_id: int, schema: str) -> None:
        # Read the labels and record the intent in one write transaction, holding the task
        # row: the label API takes the same row (FOR SHARE; on SQLite BEGIN IMMEDIATE
        # serialises both), so no label can land between the batch and the intent.
        with self.db.write() as session:
            lock = select(Task).where(Task.chain_id == self.chain_id, Task.task_id == task_id)
            session.exec(lock.with_for_update()).first()
            batch = self._batch(session, task_id)
            root, salt = batch.root(), os.urandom(32)
            commitment = label_commitment(task_id, self.annotator, root, salt)
            CommitmentRepository(session).record_intent(
                self.chain_id,
                task_id,
                self.annotator,
                commitment=_hex(commitment),
                labels_root=_hex(root),
                labels_cid=batch.cid(schema),
                salt=_hex(salt),
            )
        log.info("task %s: committing to %d labels", task_id, len(batch.labels))
        crash_point("after-commit-intent")
        self._send_commit(task_id, commitment)

    def _send_commit(self, task_id: int, commitment: bytes) -> None:
        tx_hash = self.sender.submit(self.market.functions.commit(task_id, commitment))
        crash_point("after-commit-submit")
        with self.db.write() as session:
            CommitmentRepository(session).mark_commit_sent(
                self.chain_id, task_id, self.annotator, _hex(tx_hash)
            )

    def _follow_pending_commits(self, now: int) -> None:
        """Resend intents whose transaction was never sent, lost, or failed."""
        with self.db.session() as session:
            pending = CommitmentRepository(session).pending(self.chain_id, self.annotator)
            deadlines = {
                row.task_id: task.commit_deadline
                for row in pending
                if (task := TaskRepository(session).get(self.chain_id, row.task_id)) is not None
            }
        for row in pending:
            if row.task_id not in deadlines or now > deadlines[row.task_id]:
                continue
            if row.own_commit_tx_hash is not None and not self.sender.needs_resend(
                row.own_commit_tx_hash
            ):
                continue
            assert row.own_commitment is not None
            self._send_commit(row.task_id, bytes.fromhex(row.own_commitment.removeprefix("0x")))

    # ---------------------------------------------------------------- reveal

    def _reveal_due(self, now: int) -> None:
        with self.db.session() as session:
            waiting = CommitmentRepository(session).awaiting_reveal(self.chain_id, self.annotator)
            windows = {
                row.task_id: (task.commit_deadline, task.reveal_deadline)
                for row in waiting
                if (task := TaskRepository(session).get(self.chain_id, row.task_id)) is not None
            }
        for row in waiting:
            opens, closes = windows.get(row.task_id, (now, now - 1))
            if not opens < now <= closes:
                continue
            if row.own_reveal_tx_hash is not None and not self.sender.needs_resend(
                row.own_reveal_tx_hash
            ):
                continue
            self._reveal(row)

    def _reveal(self, row: Commitment) -> None:
        assert row.own_labels_root and row.own_labels_cid and row.salt
        with self.db.session() as session:
            batch = self._batch(session, row.task_id)
        root = batch.root()  # a Merkle tree over every label: computed once
        if _hex(root) != row.own_labels_root:
            raise RevealError(
                f"task {row.task_id}: stored labels changed after the commit; cannot reveal"
            )
        requester, manifest = self._manifest(row.task_id)
        if manifest.confidential is not None:
            if self.keyring is None:
                raise RevealError(f"task {row.task_id} is confidential: this node cannot seal")
            readers = [requester, *manifest.confidential.validators]
            cid = self.keyring.publish_batch(batch, manifest.labels, row.task_id, readers)
        else:
            cid = batch.publish(manifest.labels, self.store.put)
        if manifest.confidential is None and cid != row.own_labels_cid:
            raise RevealError(
                f"task {row.task_id}: batch CID {cid} != committed {row.own_labels_cid}"
            )
        salt = bytes.fromhex(row.salt.removeprefix("0x"))
        call = self.market.functions.reveal(row.task_id, root, cid, salt)
        tx_hash = self.sender.submit(call)
        crash_point("after-reveal-submit")
        with self.db.write() as session:
            CommitmentRepository(session).mark_reveal_sent(
                self.chain_id, row.task_id, self.annotator, _hex(tx_hash)
            )
        log.info("task %s: revealed %s", row.task_id, cid)
