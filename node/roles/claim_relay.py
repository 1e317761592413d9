"""The requester's claim relay: one ``claimFor`` pays every leaf of a finalized gated task.

Each annotator's own claim costs a transaction; the gate's ``claimFor`` pays many leaves in
one, each to its own account (and credits its reputation), so anyone may send it and nobody
can redirect a payout (docs/qualification.md, "Relays"). The requester node holds the
verified winning result of its tasks like any node (:func:`load_winning_result`), so once
one of its gated tasks is finalized it sends ``claimFor`` over every leaf the chain has not
paid, in chunks of :data:`CHUNK` leaves. Annotator nodes wait :data:`CLAIM_GRACE` seconds for
it before claiming themselves (:mod:`node.roles.claimer`).

Gated tasks only: the relay is what keeps them under issue #19's gas bar, and paying its
annotators' claim gas is then the requester's choice of a gated task. An ungated task's
annotators already claim every task they were paid on in one ``claimMany``.

**Kill -9.** The chain's ``paidOf`` is the record, as for the claimer: leaves already paid
are left out before each send, and nothing is sent while the account has transactions in
flight (a ``claimFor`` sent just before a kill may be among them), so a restarted relayer
never sends a claim twice.
"""

from __future__ import annotations

import logging

from sqlmodel import select
from web3 import Web3
from web3.contract import Contract

from node.chain.qualifications import read_rule
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import Payout, Task, TaskStatus
from node.db.repositories.settlement import PayoutRepository
from node.db.repositories.validation import ClaimRepository
from node.roles.settlement import load_winning_result
from node.store.base import ContentStore

log = logging.getLogger(__name__)

CHUNK = 200
"""Leaves per ``claimFor`` (about 36,000 gas each: 200 stay far below a block's gas limit)."""
CLAIM_GRACE = 120.0
"""Seconds an annotator node waits, once it holds its leaf of a gated task, for the
requester's ``claimFor`` before it claims itself."""


class ClaimRelayDuty:
    """Pay every leaf of this requester's finalized gated tasks with ``claimFor``."""

    name = "claim-relay"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        gate: Contract,
        market: Contract,
        sender: TxSender,
        chain_id: int,
    ) -> None:
        self.db = db
        self.store = store
        self.gate = gate
        self.market = market
        self.sender = sender
        self.chain_id = chain_id
        self.requester = sender.address
        self._done: set[int] = set()
        """Tasks whose every leaf is paid, or that are not gated."""

    def tick(self) -> None:
        for task_id in self._finalized():
            if read_rule(self.gate, task_id) is None:
                self._done.add(task_id)
                continue
            self._relay(task_id)

    def _finalized(self) -> list[int]:
        with self.db.session() as session:
            query = select(Task.task_id).where(
                Task.chain_id == self.chain_id,
                Task.status == TaskStatus.FINALIZED,
                Task.requester == self.requester,
            )
            return [task_id for task_id in session.exec(query) if task_id not in self._done]

    def _leaves(self, task_id: int) -> list[Payout]:
        """The task's payout leaves, with proofs once the winning result is recorded here (a
        leaf the mirror saw claimed before that has no proof, and does not count)."""
        with self.db.session() as session:
            recorded = ClaimRepository(session).has_leaves(self.chain_id, task_id)
        if (
            not recorded
            and load_winning_result(self.db, self.store, self.chain_id, task_id) is None
        ):
            return []  # no result verifies yet (failures log themselves): next tick
        with self.db.session() as session:
            return PayoutRepository(session).for_task(self.chain_id, task_id)

    def _relay(self, task_id: int) -> None:
        leaves = self._leaves(task_id)
        if not leaves:
            return
        paid = self.market.functions.paidOf
        unpaid = [
            leaf
            for leaf in leaves
            if not leaf.claimed
            and leaf.amount > 0
            and leaf.proof is not None
            and int(paid(task_id, leaf.account).call()) == 0
        ]
        if not unpaid:
            self._done.add(task_id)
            return
        if self.sender.in_flight():
            return  # a claimFor sent just before a kill may be among them: look again later
        for start in range(0, len(unpaid), CHUNK):
            chunk = unpaid[start : start + CHUNK]
            call = self.gate.functions.claimFor(
                task_id,
                [Web3.to_checksum_address(leaf.account) for leaf in chunk],
                [leaf.amount for leaf in chunk],
                [[bytes.fromhex(p.removeprefix("0x")) for p in leaf.proof or []] for leaf in chunk],
            )
            receipt = self.sender.transact(call)
            log.info(
                "task %s: paid %d leaves (%d tokens) in one claimFor (gas %s)",
                task_id,
                len(chunk),
                sum(leaf.amount for leaf in chunk),
                receipt["gasUsed"],
            )
        self._done.add(task_id)
