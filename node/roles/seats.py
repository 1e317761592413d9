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

**Relayed seats** (with ``offers``; :mod:`node.roles.seat_relay`). An admitted node does
not send its own ``claimSeat`` on a gated task: it approves the bond, signs an EIP-712
``SeatClaim`` valid until the seat deadline and offers it to the task's requester node,
which seats every offer in one ``claimSeats``. The seat appears in the event mirror like any
other. If no requester node takes the offer, the node claims at once; if one took it but
the seat has not appeared after :data:`~node.roles.seat_relay.OFFER_PATIENCE` seconds, or
:data:`~node.roles.seat_relay.FALLBACK_LEAD` seconds before the seat deadline, it claims
itself (a relayed ``claimSeats`` landing first makes that ``TaskMarketAlreadySeated``,
counted as done). A restarted node offers again; the requester keeps one claim per account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from web3.contract import Contract

from node.chain.errors import ContractRevertError
from node.chain.qualifications import Rule, admission_refusal, read_rule, sign_seat_claim
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import ParticipationState, TaskStatus
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import TaskRepository
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.assignment import Assigner
from node.roles.seat_offer import SeatOfferer
from node.roles.seat_relay import FALLBACK_LEAD, OFFER_PATIENCE
from node.store.base import ContentStore

log = logging.getLogger(__name__)

FINAL_REFUSALS = frozenset(
    {"TaskMarketNoSeatsLeft", "TaskMarketSeatsClosed", "TaskMarketAlreadySeated"}
)
"""Reverts after which this node never asks for a seat of the task again."""


@dataclass(frozen=True)
class _Due:
    """A joined seated task this node holds no seat of, while its seat window is open."""

    task_id: int
    bond: int
    manifest_cid: str
    requester: str
    seat_deadline: int


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
        offers: SeatOfferer | None = None,
        patience: float = OFFER_PATIENCE,
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
        self.offers = offers
        """Where signed seat claims of gated tasks are offered (None: always claim here)."""
        self.patience = patience
        self._done: set[int] = set()
        self._offered: dict[int, float] = {}
        """Gated tasks whose signed claim a requester node took, and when (monotonic)."""

    def tick(self) -> None:
        now = self.clock()
        for task in self._due(now):
            self._claim(task, now)

    def _due(self, now: int) -> list[_Due]:
        """Joined, open, seated tasks whose seat window is open and where we hold none."""
        due: list[tuple[int, int, str, str]] = []
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
                due.append((task.task_id, task.annotator_bond, task.manifest_cid, task.requester))
        out: list[_Due] = []
        for task_id, bond, manifest_cid, requester in due:
            seating = self.assigner.seating(task_id)
            if seating is None or self.annotator.lower() in seating.seats:
                self._done.add(task_id)  # open task, or seated already
            elif now > seating.seat_deadline:
                self._done.add(task_id)
                log.info("task %s: the seat window closed before this node joined", task_id)
            else:
                out.append(_Due(task_id, bond, manifest_cid, requester, seating.seat_deadline))
        return out

    def _claim(self, due: _Due, now: int) -> None:
        task_id, bond = due.task_id, due.bond
        gate = self.gate
        rule = read_rule(gate, task_id) if gate is not None else None
        if gate is not None and rule is not None:
            proof, why = self._proof(rule, due.manifest_cid) if rule.has_allowlist else ([], "")
            refusal = admission_refusal(gate, task_id, self.annotator, proof)
            if refusal is not None:
                self._done.add(task_id)
                log.info("skipped task %s: %s%s (rule: %s)", task_id, refusal, why, rule.describe())
                return
            if self._relayed(due, gate, proof, now):
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

    def _relayed(self, due: _Due, gate: Contract, proof: list[bytes], now: int) -> bool:
        """Whether the seat is left to the requester's relay for now (True), or this node
        claims it itself (False): no relay, nobody took the offer, or the relayer has not
        seated it in time."""
        task_id = due.task_id
        if self.offers is None or due.requester.lower() == self.annotator.lower():
            return False
        offered = self._offered.get(task_id)
        if offered is not None:
            late = now >= due.seat_deadline - FALLBACK_LEAD
            if late or time.monotonic() - offered >= self.patience:
                log.info(
                    "task %s: the requester's relay has not seated this node %s: claiming itself",
                    task_id,
                    "and the seat deadline is near" if late else f"in {self.patience:.0f}s",
                )
                return False
            return True
        if now >= due.seat_deadline - FALLBACK_LEAD:
            return False  # too late to wait for a relay
        if due.bond:
            self._approve(due.bond)  # the market pulls it from this account in claimSeats
        signed = sign_seat_claim(self.sender.account, gate, task_id, due.seat_deadline, proof)
        why_not = self.offers.offer(task_id, due.requester, signed)
        if why_not is not None:
            log.info("task %s: no relay for this seat (%s): claiming itself", task_id, why_not)
            return False
        self._offered[task_id] = time.monotonic()
        log.info("task %s: seat claim signed and offered to the requester's relay", task_id)
        return True

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
