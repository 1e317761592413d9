"""The reviewer's money after the round (docs/review.md §6): settle its review leaf on the
ReviewBoard once the task is final, and end the review when it is due.

The leaf is in the task's final payout tree, so the proof comes from the winning result
(:func:`node.roles.settlement.load_winning_result`, which fetches, verifies and records it,
as for an annotator's claim). As the claimer uses the market's ``paidOf``, this duty uses the
board's seat (``settled``) as its record: no table of its own, and a restart after a settle
that landed sends nothing again.

``finishReview`` is permissionless; :func:`finish_due` is when it is worth sending. Whoever
settles the last seat sends it (the requester's refund and the burn then happen at once), for
a void or cancelled task the reviewer sends it to get its bond back, and the requester's duty
(:class:`RequesterReviewFinisher`) sends it for its own tasks, starting the settlement period
when a reviewer never settles and ending the review after it.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.market import TaskStatus, read_task
from node.chain.review import ReviewState, finish_review_once, read_review, read_seat
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import TaskStatus as DbStatus
from node.db.repositories.review import ReviewIntentRepository
from node.db.repositories.tasks import TaskRepository
from node.protocol.review import read_review_leaf
from node.roles.settlement import load_winning_result
from node.store.base import ContentStore

log = logging.getLogger(__name__)


def finish_due(board: Contract, review: ReviewState, status: TaskStatus, now: int) -> bool:
    """Whether ``finishReview`` would do something now (the board's rule): a void or
    cancelled task; a final one whose seats are all settled; a final one with seats
    unsettled whose settlement period has not started (the call starts it) or has run out."""
    if review.finished:
        return False
    if status in (TaskStatus.VOID, TaskStatus.CANCELLED):
        return True
    if status is not TaskStatus.FINALIZED:
        return False
    if review.settled_count >= review.reviewer_count or review.final_seen_at == 0:
        return True
    return now > review.final_seen_at + int(board.functions.settlePeriod().call())


class ReviewSettleDuty:
    """Settle this reviewer's review leaves and finish reviews that are due."""

    name = "review-settle"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        board: Contract,
        sender: TxSender,
        chain_id: int,
    ) -> None:
        self.db, self.store, self.market, self.board = db, store, market, board
        self.sender, self.chain_id, self.reviewer = sender, chain_id, sender.address
        self._done: set[int] = set()
        """Tasks whose review is finished or whose leaf cannot be settled: not asked again."""

    def tick(self) -> None:
        with self.db.session() as session:
            tasks = ReviewIntentRepository(session).task_ids(self.chain_id, self.reviewer)
        for task_id in tasks:
            if task_id not in self._done:
                self._advance(task_id)

    def _advance(self, task_id: int) -> None:
        review = read_review(self.board, task_id)
        if review is None or review.finished:
            self._done.add(task_id)
            return
        status = read_task(self.market, task_id).status
        if status in (TaskStatus.VOID, TaskStatus.CANCELLED):
            if finish_review_once(self.sender, self.board, task_id, review):
                log.info("task %s: review ended without a result; bonds returned", task_id)
            self._done.add(task_id)
            return
        if status is not TaskStatus.FINALIZED:
            return
        seat = read_seat(self.board, task_id, self.reviewer)
        if seat.commitment != bytes(32) and not seat.settled and not self._settle(task_id):
            return
        review = read_review(self.board, task_id)
        if review is not None and review.settled_count == review.reviewer_count:
            now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
            if finish_due(self.board, review, status, now) and finish_review_once(
                self.sender, self.board, task_id, review
            ):
                log.info("task %s: every reviewer settled; review finished", task_id)
        self._done.add(task_id)

    def _settle(self, task_id: int) -> bool:
        """Settle this reviewer's leaf; False while the winning result is not verified yet."""
        result = load_winning_result(self.db, self.store, self.chain_id, task_id)
        if result is None:
            return False
        mine = [leaf for leaf in result.leaves if leaf.account.lower() == self.reviewer.lower()]
        fields = read_review_leaf(mine[0].amount) if mine else None
        if fields is None:
            log.error("task %s: the final result holds no review leaf of this reviewer", task_id)
            self._done.add(task_id)
            return False
        pay, slashed, votes = fields
        proof = [bytes.fromhex(p.removeprefix("0x")) for p in mine[0].proof]
        self.sender.transact(
            self.board.functions.settle(task_id, self.reviewer, pay, slashed, votes, proof)
        )
        log.info("task %s: review settled: paid %d, slashed %d", task_id, pay, slashed)
        return True


class RequesterReviewFinisher:
    """The requester's part: finish the reviews of its own ended tasks when due, so its
    unspent escrow comes back (run by the requester's duty)."""

    def __init__(
        self, *, db: Database, market: Contract, board: Contract, sender: TxSender, chain_id: int
    ) -> None:
        self.db, self.market, self.board = db, market, board
        self.sender, self.chain_id = sender, chain_id
        self._done: set[int] = set()

    def tick(self, now: int) -> None:
        ended: list[int] = []
        mine = self.sender.address.lower()
        with self.db.session() as session:
            for mirrored in (DbStatus.FINALIZED, DbStatus.VOID, DbStatus.CANCELLED):
                after = 0
                while page := TaskRepository(session).page(
                    self.chain_id, status=mirrored, after_task_id=after, limit=500
                ):
                    ended += [t.task_id for t in page if t.requester.lower() == mine]
                    after = page[-1].task_id
        for task_id in sorted(ended):
            if task_id in self._done:
                continue
            review = read_review(self.board, task_id)
            if review is None or review.finished:
                self._done.add(task_id)
                continue
            status = read_task(self.market, task_id).status
            if finish_due(self.board, review, status, now) and finish_review_once(
                self.sender, self.board, task_id, review
            ):
                log.info("task %s: finishReview sent by the requester", task_id)
