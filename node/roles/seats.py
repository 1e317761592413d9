"""The annotator's seat duty: claim a seat of every seated task it joins (market v2).

A seated task (``batchSize > 0``, docs/settlement.md §1.2) lets only seat holders commit,
and deals each seat ``batchSize`` items once the seats close. So an annotator node that has
joined such a task (the loader stored its items) claims a seat while the seat window is
open, once: seats are first come, first served, and an address holds at most one.

``claimSeat`` is sent and waited for in one tick. A node killed after sending finds the seat
in its event mirror on restart (``SeatClaimed``), or sends again and is refused with
``TaskMarketAlreadySeated``, which counts as done. The refusals that end the attempt for
good (no seat left, the window closed) are logged once and not retried: the node then does
no work on the task, which is what a task with more joiners than seats asks of it.

A gated task (market v3, docs/qualification.md) is seated only through the market's gate,
which checks its rules. Before claiming, the node asks the gate whether it is admitted
(``checkAdmission``, the contract's own rules); a refusal names the rule, and the node logs
``skipped task N: <rule>`` once and never claims there. On a task with an allowlist the
node builds its own proof from the accounts the task's manifest lists (its ``allowlist``
field, :mod:`node.protocol.manifest_allowlist`), read from its store, where the loader put
the manifest before it joined; a manifest that lists none, or a list that is not the
gate's root, gives no proof, and the gate's ``NotOnAllowlist`` is logged with why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from web3.contract import Contract

from node.chain.errors import ContractRevertError
from node.chain.qualifications import Rule, admission_refusal, read_rule
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import ParticipationState, TaskStatus
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import TaskRepository
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.assignment import Assigner
from node.store.base import ContentStore

log = logging.getLogger(__name__)

FINAL_REFUSALS = frozenset(
    {"TaskMarketNoSeatsLeft", "TaskMarketSeatsClosed", "TaskMarketAlreadySeated"}
)
"""Reverts after which this node never asks for a seat of the task again."""


class SeatDuty:
    """Claim one seat of every joined seated task before its seat deadline."""

    name = "seats"

    def __init__(
        self,
        *,
        db: Database,
        market: Contract,
        token: Contract,
        sender: TxSender,
        chain_id: int,
        assigner: Assigner,
        clock: Callable[[], int],
        gate: Contract | None = None,
        store: ContentStore | None = None,
    ) -> None:
        self.db = db
        self.market = market
        self.gate = gate
        self.store = store
        """Where the joined tasks' manifests are (an allowlisted task's accounts)."""
        self.token = token
        self.sender = sender
        self.chain_id = chain_id
        self.assigner = assigner
        self.clock = clock
        self.annotator = sender.address
        self._done: set[int] = set()

    def tick(self) -> None:
        now = self.clock()
        for task_id, bond, manifest_cid in self._due(now):
            self._claim(task_id, bond, manifest_cid)

    def _due(self, now: int) -> list[tuple[int, int, str]]:
        """Joined, open, seated tasks whose seat window is open and where we hold none:
        their ids, bonds and manifest CIDs."""
        due: list[tuple[int, int, str]] = []
        with self.db.session() as session:
            tasks = TaskRepository(session)
            joined = ParticipationRepository(session).in_state(
                self.chain_id, ParticipationState.JOINED
            )
            for row in joined:
                if row.task_id in self._done:
                    continue
                task = tasks.get(self.chain_id, row.task_id)
                if task is None or task.status is not TaskStatus.OPEN:
                    continue
                due.append((task.task_id, task.annotator_bond, task.manifest_cid))
        out: list[tuple[int, int, str]] = []
        for task_id, bond, manifest_cid in due:
            seating = self.assigner.seating(task_id)
            if seating is None or self.annotator.lower() in seating.seats:
                self._done.add(task_id)  # open task, or seated already
            elif now > seating.seat_deadline:
                self._done.add(task_id)
                log.info("task %s: the seat window closed before this node joined", task_id)
            else:
                out.append((task_id, bond, manifest_cid))
        return out

    def _claim(self, task_id: int, bond: int, manifest_cid: str) -> None:
        gate = self.gate
        rule = read_rule(gate, task_id) if gate is not None else None
        if gate is not None and rule is not None:
            proof, why = self._proof(rule, manifest_cid) if rule.has_allowlist else ([], "")
            refusal = admission_refusal(gate, task_id, self.annotator, proof)
            if refusal is not None:
                self._done.add(task_id)
                log.info("skipped task %s: %s%s (rule: %s)", task_id, refusal, why, rule.describe())
                return
            call = gate.functions.claimSeat(task_id, proof)
        else:
            call = self.market.functions.claimSeat(task_id)
        try:
            if bond:
                self._approve(bond)
            receipt = self.sender.transact(call)
        except ContractRevertError as exc:
            if exc.name not in FINAL_REFUSALS:
                raise
            self._done.add(task_id)
            log.info("task %s: no seat for this node: %s", task_id, exc.name)
            return
        self._done.add(task_id)
        log.info("task %s: seat claimed (block %s)", task_id, receipt["blockNumber"])

    def _proof(self, rule: Rule, manifest_cid: str) -> tuple[list[bytes], str]:
        """This node's allowlist proof, built from the accounts the task's manifest lists,
        or no proof and why (said after the gate's ``NotOnAllowlist``)."""
        if self.store is None:
            return [], " (this node reads no manifests: no proof)"
        data = self.store.get(manifest_cid, max_size=MAX_DOCUMENT_BYTES, canonical=True)
        published = Manifest.from_bytes(data).allowlist
        if published is None:
            return [], " (the task's manifest lists no allowlist accounts)"
        tree = published.tree()
        if tree.root != rule.allowlist_root:
            return [], " (the manifest's allowlist is not the one the gate's root states)"
        if self.annotator.lower() not in {a.lower() for a in published.accounts}:
            return [], " (this account is not in the manifest's allowlist)"
        return tree.proof(self.annotator), ""

    def _approve(self, bond: int) -> None:
        """Let the market pull the bond ``claimSeat`` takes."""
        allowance = int(self.token.functions.allowance(self.annotator, self.market.address).call())
        if allowance < bond:
            self.sender.transact(self.token.functions.approve(self.market.address, bond))
