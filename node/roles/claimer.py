"""Claiming this account's payouts, automatically, in one transaction per tick.

Once a task is finalized, the account's payout leaf lives in the winning result document
(:func:`node.roles.settlement.load_winning_result` fetches and verifies it and records the
leaves with their proofs). The claimer then sends one ``claimMany`` over every leaf it holds
a proof for and has not been paid, across all tasks: one transfer, one gas overhead.

No intent table is needed: the chain's ``paidOf(taskId, account)`` is the record. Before
sending, leaves the chain has already paid (a claim that went out just before a crash, not
yet mirrored as ``PayoutClaimed``) are left out, so a restarted node never sends a claim the
contract would refuse, and the mirror marks the leaves claimed when it sees the events.

A gated task's requester relays every claim in one ``claimFor`` (:mod:`node.roles.claim_relay`),
so with a ``gate`` the claimer holds a leaf of a gated task back for ``grace`` seconds after
it first holds its proof: usually the relay pays it meanwhile and the leaf drops out as paid;
otherwise (no relayer, or a dead one) the node claims it itself, at the cost of its gas.
"""

from __future__ import annotations

import logging
import time

from web3.contract import Contract

from node.chain.errors import ContractRevertError
from node.chain.qualifications import read_rule
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import Payout, TaskStatus
from node.db.repositories.settlement import PayoutRepository
from node.db.repositories.validation import ClaimRepository
from node.roles.claim_relay import CLAIM_GRACE
from node.roles.settlement import load_winning_result
from node.store.base import ContentStore

log = logging.getLogger(__name__)


class ClaimDuty:
    """Claim every payout this node's account is owed by finalized tasks."""

    name = "claimer"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        sender: TxSender,
        chain_id: int,
        gate: Contract | None = None,
        grace: float = CLAIM_GRACE,
    ) -> None:
        self.db = db
        self.gate = gate
        """The market's gate: a gated task's leaves wait ``grace`` for the requester's relay."""
        self.grace = grace
        self._gated: dict[int, bool] = {}
        self._held_since: dict[int, float] = {}
        self._given_up: set[int] = set()
        self.store = store
        self.market = market
        self.sender = sender
        self.chain_id = chain_id
        self.account = sender.address
        self._refused: set[int] = set()
        """Tasks whose claim the contract refused for a reason a retry cannot fix."""

    def tick(self) -> None:
        self._load_missing_leaves()
        self._claim()

    def _load_missing_leaves(self) -> None:
        with self.db.session() as session:
            claims = ClaimRepository(session)
            missing = [
                task_id
                for task_id in claims.revealed_by(self.chain_id, self.account, TaskStatus.FINALIZED)
                if not claims.has_leaves(self.chain_id, task_id)
            ]
        for task_id in missing:
            if load_winning_result(self.db, self.store, self.chain_id, task_id) is None:
                # Debug: asked every tick until a result verifies (failures log themselves).
                log.debug("task %s: no verifiable result published yet", task_id)

    def _claim(self) -> None:
        with self.db.session() as session:
            leaves = [
                leaf
                for leaf in PayoutRepository(session).claimable(self.chain_id, self.account)
                if leaf.task_id not in self._refused
            ]
        paid = self.market.functions.paidOf
        leaves = [leaf for leaf in leaves if paid(leaf.task_id, self.account).call() == 0]
        leaves = [leaf for leaf in leaves if not self._left_to_relay(leaf.task_id)]
        while leaves:
            try:
                self._claim_many(leaves)
                return
            except ContractRevertError as exc:
                culprit = exc.args_[0] if exc.args_ and isinstance(exc.args_[0], int) else None
                if culprit not in {leaf.task_id for leaf in leaves}:
                    raise
                log.warning("task %s: claim refused, leaving it out: %s", culprit, exc)
                self._refused.add(culprit)
                leaves = [leaf for leaf in leaves if leaf.task_id != culprit]

    def _left_to_relay(self, task_id: int) -> bool:
        """Whether this leaf still waits for the requester's ``claimFor`` (a gated task's,
        within ``grace`` of this node first holding it)."""
        if self.gate is None:
            return False
        if task_id not in self._gated:
            self._gated[task_id] = read_rule(self.gate, task_id) is not None
        if not self._gated[task_id]:
            return False
        since = self._held_since.setdefault(task_id, time.monotonic())
        if time.monotonic() - since < self.grace:
            return True
        if task_id not in self._given_up:
            self._given_up.add(task_id)
            log.info("task %s: the requester's relay has not paid this leaf: claiming it", task_id)
        return False

    def _claim_many(self, leaves: list[Payout]) -> None:
        proofs = [
            [bytes.fromhex(p.removeprefix("0x")) for p in leaf.proof or []] for leaf in leaves
        ]
        call = self.market.functions.claimMany(
            [leaf.task_id for leaf in leaves],
            self.account,
            [leaf.amount for leaf in leaves],
            proofs,
        )
        self.sender.transact(call)
        log.info(
            "claimed %d tokens from %d tasks",
            sum(leaf.amount for leaf in leaves),
            len(leaves),
        )
