"""The requester's node duty: reveal the hidden gold of its tasks in the reveal window, and
finish the review rounds of its ended tasks when due (:mod:`node.roles.review_settlement`).

State lives in the mirrored task rows (``gold_root`` is set when the chain's
``GoldRevealed`` is seen) and next to the gold secret (the hash of the sent ``revealGold``),
so a process killed anywhere resumes correctly:

* killed before sending: the next tick sends;
* killed after sending, before recording the hash: nothing is sent while the account has a
  transaction pending, then the chain says ``goldRevealed`` (checked before every send), or
  the transaction never made it and is sent again;
* killed after recording: the receipt is looked up; only a failed or vanished transaction
  is sent again.

The gold document is put into the content store before the reveal, so peers that see the
event can fetch and verify it at once. It is written in the schema the task's manifest
names (``labelnet/gold@2``, paged, for tasks built from now on: pages first, then the root
whose CID is revealed; ``gold@1`` for older ones), read from this node's store, where
posting put it.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.market import read_task
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import Task, TaskStatus
from node.db.repositories.tasks import TaskRepository
from node.errors import LabelnetError
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.requester.gold import GoldSecrets
from node.roles.review_settlement import RequesterReviewFinisher
from node.store.base import ContentStore
from node.store.budget import FetchBudget

log = logging.getLogger(__name__)

MANIFEST_SECONDS = 30.0
"""Longest read of the task's manifest (posting stored it in this node's store)."""


class GoldRevealError(LabelnetError, RuntimeError):
    """The stored gold cannot be revealed as committed."""


class RequesterDuty:
    """Reveal gold for this account's open tasks once their commit deadline has passed."""

    name = "requester"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        sender: TxSender,
        chain_id: int,
        secrets: GoldSecrets,
        review_finisher: RequesterReviewFinisher | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.market = market
        self.sender = sender
        self.chain_id = chain_id
        self.secrets = secrets
        self.requester = sender.address.lower()
        self.review_finisher = review_finisher
        """Finishes the reviews of this requester's ended tasks (None: no ReviewBoard)."""

    def tick(self) -> None:
        now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        for task in self._due(now):
            assert task.gold_commitment is not None
            self._reveal(task, bytes.fromhex(task.gold_commitment.removeprefix("0x")))
        if self.review_finisher is not None:
            self.review_finisher.tick(now)

    def _due(self, now: int) -> list[Task]:
        """Own open tasks with unrevealed gold whose reveal window is open now."""
        with self.db.session() as session:
            tasks = TaskRepository(session).open_before(self.chain_id, now, deadline="reveal")
        return [
            task
            for task in tasks
            if task.status is TaskStatus.OPEN
            and task.requester.lower() == self.requester
            and task.gold_commitment is not None
            and task.gold_root is None
            and task.commit_deadline < now <= task.reveal_deadline
        ]

    def _reveal(self, task: Task, commitment: bytes) -> None:
        task_id = task.task_id
        secret = self.secrets.find(commitment)
        if secret is None:
            return  # posted from another machine: nothing this node can reveal
        sent = self.secrets.reveal_tx(commitment)
        if sent is not None and not self.sender.needs_resend(sent):
            return
        if self.sender.in_flight():
            return  # a reveal sent just before a crash may be among them: look again later
        if read_task(self.market, task_id).gold_revealed:
            return  # the mirror has not caught up with a reveal already on chain
        gold, salt = secret
        manifest = Manifest.from_bytes(
            self.store.get(
                task.manifest_cid,
                max_size=MAX_DOCUMENT_BYTES,
                budget=FetchBudget(MANIFEST_SECONDS),
                canonical=True,
            )
        )
        cid, expected = gold.publish(manifest.gold, self.store.put), gold.cid(manifest.gold)
        if cid != expected:
            raise GoldRevealError(f"task {task_id}: store returned {cid}, gold is {expected}")
        tx_hash = self.sender.submit(
            self.market.functions.revealGold(task_id, gold.root(), cid, salt)
        )
        self.secrets.record_reveal(commitment, "0x" + bytes(tx_hash).hex())
        log.info("task %s: revealed gold %s (%d answers)", task_id, cid, len(gold.labels))
