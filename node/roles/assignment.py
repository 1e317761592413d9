"""A seated task's deal, as every role reads it (docs/settlement.md §1.3, §1.4, §1.6).

One place computes which items each seat of a market v2 task holds, from three inputs every
node reads the same way: the task's parameters and its ``SeatClaimed`` events (the event
journal, :func:`node.chain.mirror.seating`), the seal block's seed
(:func:`node.chain.seal.read_seal`), and ``deal@1`` (:mod:`node.protocol.deal`). The annotator
node uses it to serve and label only its seat's items; validators use it to drop labels on
undealt items (:class:`node.consensus.assigned.Assignment`).

A deal is computed once per task and kept: after the seal no seat can be claimed, so it never
changes (short of a reorganisation deeper than the finality depth, which the sync refuses).
It is used only once the event mirror holds as many seats as the chain counts, so a lagging
mirror never deals a short seat list.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from web3 import Web3
from web3.contract import Contract

from node.chain.market import read_task
from node.chain.mirror import Seating, seating
from node.chain.seal import DEFAULT_FINALITY_DEPTH, Seal, read_seal
from node.db.engine import Database
from node.db.models import Task
from node.errors import LabelnetError
from node.protocol.deal import Deal, deal


class NoSeatError(LabelnetError, PermissionError):
    """``no_seat``: this account holds no seat of the seated task, so it is dealt nothing."""


class NotDealtYetError(LabelnetError, FileExistsError):
    """``not_dealt_yet``: the task's seal block is not final yet, so no item is dealt."""


@dataclass(frozen=True)
class TaskDeal:
    """A sealed task's seats, seed and deal."""

    seating: Seating
    seal: Seal
    deal: Deal

    def seat_of(self, annotator: str) -> int | None:
        return self.seating.seats.get(annotator.lower())

    def positions_of(self, annotator: str) -> tuple[int, ...]:
        """The manifest positions dealt to ``annotator``'s seat, in dealing order (none
        without a seat)."""
        seat = self.seat_of(annotator)
        if seat is None:
            return ()
        return tuple(int(i) for i in self.deal.items_of(seat))


class Assigner:
    """Reads and keeps the deals of seated tasks for one node (thread-safe)."""

    def __init__(
        self,
        *,
        db: Database,
        w3: Web3,
        market: Contract,
        chain_id: int,
        finality_depth: int = DEFAULT_FINALITY_DEPTH,
    ) -> None:
        self.db = db
        self.w3 = w3
        self.market = market
        self.chain_id = chain_id
        self.finality_depth = finality_depth
        self._deals: dict[int, TaskDeal] = {}
        self._lock = threading.Lock()

    def seating(self, task_id: int) -> Seating | None:
        """The task's seats so far; None for an open (v1-rule) task."""
        with self.db.session() as session:
            return seating(session, self.chain_id, task_id)

    def task_deal(self, task: Task) -> TaskDeal | None:
        """The deal of a seated ``task``; None while its seal is not final or the mirror has
        not caught up with its seats. Raises ``ValueError`` for an open task."""
        with self._lock:
            known = self._deals.get(task.task_id)
        if known is not None:
            return known
        seats = self.seating(task.task_id)
        if seats is None:
            raise ValueError(f"task {task.task_id} is open: it has no seats to deal")
        seal = read_seal(
            self.w3,
            chain_id=self.chain_id,
            market=str(self.market.address),
            task_id=task.task_id,
            seat_deadline=seats.seat_deadline,
            first_block=task.created_block or 0,
            finality_depth=self.finality_depth,
        )
        if seal is None:
            return None
        if read_task(self.market, task.task_id).seat_count != len(seats.seats):
            return None  # the mirror has not seen every seat yet
        dealt = TaskDeal(
            seating=seats,
            seal=seal,
            deal=deal(
                seal.seed, task.num_items, task.redundancy, seats.batch_size, len(seats.seats)
            ),
        )
        with self._lock:
            self._deals[task.task_id] = dealt
        return dealt

    def dealt_positions(self, task: Task, annotator: str) -> tuple[int, ...] | None:
        """The positions dealt to ``annotator`` on ``task``; None for an open task.

        Raises :class:`NoSeatError` without a seat and :class:`NotDealtYetError` before the
        seal: the two answers of the labelling API and page.
        """
        with self._lock:
            known = self._deals.get(task.task_id)
        if known is not None:  # sealed: the seats can no longer change
            if known.seat_of(annotator) is None:
                raise NoSeatError(f"no_seat: {annotator} holds no seat of task {task.task_id}")
            return known.positions_of(annotator)
        seats = self.seating(task.task_id)
        if seats is None:
            return None
        if annotator.lower() not in seats.seats:
            raise NoSeatError(f"no_seat: {annotator} holds no seat of task {task.task_id}")
        dealt = self.task_deal(task)
        if dealt is None:
            raise NotDealtYetError(
                f"not_dealt_yet: task {task.task_id}'s items are dealt once the first block "
                f"after its seat deadline ({seats.seat_deadline}) is final"
            )
        return dealt.positions_of(annotator)
