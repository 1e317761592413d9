"""The reviewer's chain duty (docs/review.md §1 steps 2 and 3): commit to its votes on a
reviewed task's contested items on the ReviewBoard, then reveal them.

Where the votes come from is not this module's business: a :class:`VoteSource` (the review
page's stored votes, or a review program) names the tasks it has votes for and returns one
class per contested item when they are complete. The duty makes them a vote batch
(``labelnet/labels@2``, :func:`node.protocol.review.vote_batch`) and, as the annotator duty
does with labels, writes every step to the database before and after the transaction it
sends, so the process can be killed anywhere (``kill -9``) and resume from the database and
the board alone:

1. **intent** — in the board's commit window, the votes, root, CID, salt and commitment are
   recorded *before* the commit transaction exists;
2. **commit sent** — the hash is recorded right after sending; after a restart the board's
   seat is read: if it holds the recorded commitment the commit landed, otherwise the same
   commitment is sent again (the first commit pulls the bond, a replacement pulls nothing);
3. **reveal** — after the commit deadline, the batch is rebuilt from the recorded votes,
   checked against the recorded root, published, and revealed (hash recorded; the seat's
   ``revealed`` flag ends the row).

The batch is published only at reveal time, so nobody can copy the votes before they are
fixed. Whether a task is reviewed at all is the caller's (``node.chain.review.is_reviewed``):
the source names only reviewed tasks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Protocol

from web3.contract import Contract

from node.chain.market import TaskStatus, read_task
from node.chain.review import approve_bond, read_review, read_seat
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import ReviewIntent, ReviewState
from node.db.repositories.review import ReviewIntentRepository
from node.errors import LabelnetError
from node.faults import crash_point
from node.protocol.labels import LABELS_V2
from node.protocol.review import review_commitment, vote_batch
from node.store.base import ContentStore

log = logging.getLogger(__name__)


class VoteSource(Protocol):
    """Where a reviewer's votes come from (the review page's table, a review program)."""

    def tasks(self) -> Iterable[int]:
        """The reviewed tasks this reviewer means to review."""
        ...

    def votes(self, task_id: int) -> Mapping[str, str] | None:
        """One class per contested item of ``task_id`` once the reviewer has voted on every
        one of them; ``None`` while it has not (nothing is committed before)."""
        ...


class ReviewRevealError(LabelnetError, RuntimeError):
    """The recorded votes no longer produce the committed root: they cannot be revealed."""


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class ReviewerDuty:
    """Commit and reveal this node's votes on every reviewed task its source has votes for."""

    name = "reviewer"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        board: Contract,
        token: Contract,
        sender: TxSender,
        chain_id: int,
        source: VoteSource,
    ) -> None:
        self.db = db
        self.store = store
        self.market = market
        self.board = board
        self.token = token
        self.sender = sender
        self.chain_id = chain_id
        self.reviewer = sender.address
        self.source = source

    def tick(self) -> None:
        now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        self._record_new_intents(now)
        for row in self._unfinished():
            self._advance(row, now)

    # ---------------------------------------------------------------- commit

    def _record_new_intents(self, now: int) -> None:
        for task_id in self.source.tasks():
            with self.db.session() as session:
                known = ReviewIntentRepository(session).get(self.chain_id, task_id, self.reviewer)
            if known is not None:
                continue
            review = read_review(self.board, task_id)
            task = read_task(self.market, task_id)
            if review is None or task.status is not TaskStatus.OPEN:
                continue
            if not task.reveal_deadline < now <= review.terms.commit_deadline:
                continue
            votes = self.source.votes(task_id)
            if votes is None:
                continue
            batch = vote_batch(task_id, self.reviewer, votes)
            root, salt = batch.root(), os.urandom(32)
            commitment = review_commitment(task_id, self.reviewer, root, salt)
            with self.db.write() as session:
                ReviewIntentRepository(session).record_intent(
                    self.chain_id,
                    task_id,
                    self.reviewer,
                    votes=votes,
                    votes_root=_hex(root),
                    votes_cid=batch.cid(LABELS_V2),
                    salt=_hex(salt),
                    commitment=_hex(commitment),
                )
            log.info("task %s: committing to %d review votes", task_id, len(batch.labels))
            crash_point("after-review-intent")

    def _unfinished(self) -> list[ReviewIntent]:
        with self.db.session() as session:
            return list(ReviewIntentRepository(session).unfinished(self.chain_id, self.reviewer))

    def _advance(self, row: ReviewIntent, now: int) -> None:
        review = read_review(self.board, row.task_id)
        if review is None:
            return
        seat = read_seat(self.board, row.task_id, self.reviewer)
        key = (self.chain_id, row.task_id, self.reviewer)
        if seat.revealed:
            with self.db.write() as session:
                ReviewIntentRepository(session).mark(key, state=ReviewState.REVEALED)
            return
        committed = seat.commitment == _bytes(row.commitment)
        if committed and row.state is ReviewState.INTENT:
            with self.db.write() as session:
                ReviewIntentRepository(session).mark(key, state=ReviewState.COMMITTED)
        if not committed:
            if now <= review.terms.commit_deadline and self._needs_send(row.commit_tx_hash):
                self._send_commit(row, first=seat.commitment == bytes(32))
            return
        in_window = review.terms.commit_deadline < now <= review.terms.reveal_deadline
        if in_window and self._needs_send(row.reveal_tx_hash):
            self._reveal(row)

    def _needs_send(self, tx_hash: str | None) -> bool:
        return tx_hash is None or self.sender.needs_resend(tx_hash)

    def _send_commit(self, row: ReviewIntent, *, first: bool) -> None:
        if first:
            approve_bond(self.sender, self.token, self.board, row.task_id)
        call = self.board.functions.commitReview(row.task_id, _bytes(row.commitment))
        tx_hash = self.sender.submit(call)
        crash_point("after-review-commit-submit")
        with self.db.write() as session:
            ReviewIntentRepository(session).mark(
                (self.chain_id, row.task_id, self.reviewer), commit_tx_hash=_hex(tx_hash)
            )

    # ---------------------------------------------------------------- reveal

    def _reveal(self, row: ReviewIntent) -> None:
        batch = vote_batch(row.task_id, self.reviewer, row.votes)
        root = batch.root()
        if _hex(root) != row.votes_root:
            raise ReviewRevealError(f"task {row.task_id}: recorded votes do not give the root")
        cid = batch.publish(LABELS_V2, self.store.put)
        if cid != row.votes_cid:
            raise ReviewRevealError(f"task {row.task_id}: batch CID {cid} != {row.votes_cid}")
        call = self.board.functions.revealReview(row.task_id, root, cid, _bytes(row.salt))
        tx_hash = self.sender.submit(call)
        crash_point("after-review-reveal-submit")
        with self.db.write() as session:
            ReviewIntentRepository(session).mark(
                (self.chain_id, row.task_id, self.reviewer), reveal_tx_hash=_hex(tx_hash)
            )
        log.info("task %s: revealed review votes %s", row.task_id, cid)
