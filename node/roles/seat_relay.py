"""The requester's seat relay: one ``claimSeats`` for the signed seats of a gated task.

Each annotator's own ``claimSeat`` through the gate costs a transaction's 21,000 base gas and
more; the gate's ``claimSeats`` seats every annotator who signed an EIP-712 ``SeatClaim`` in
one transaction, which is what keeps a gated task under issue #19's 250 gas per label
(BENCHMARKS.md, "A gated task"). Annotator nodes offer their signed claims to the task's
requester node (``POST /api/v1/tasks/{id}/seat-claims``, :func:`accept_offer`, stored in
:class:`~node.db.models.RelayedSeat` before the answer); this duty sends them.

**When.** A task's pending claims are sent together as soon as they fill the seats left, or
the first of them has waited :data:`SEND_WAIT` seconds for others, or the seat deadline is
:data:`SEND_LEAD` seconds away. ``claimSeats`` reverts as a whole, so each claim is checked
first as the gate will check it (:func:`seat_refusal`: deadline, signature, admission,
bond); one that fails is dropped with the reason. A relayer that never sends costs the
annotators only gas: each claims its seat itself when its offer has waited
:data:`OFFER_PATIENCE` or the deadline is :data:`FALLBACK_LEAD` away
(:mod:`node.roles.seats`).

**Kill -9.** The claims are in the database before the annotator hears they were taken.
Rows are marked ``sent`` *before* the transaction is signed, and its hash recorded after:
a restarted relayer waits while the account has transactions in flight (one sent just
before the kill may be among them), then reads the chain: a row whose annotator is seated
is done, whoever seated it, and the others are sent again. So a signed seat is never lost
and never sent twice by this node.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from web3 import Web3
from web3.contract import Contract

from node.chain.errors import ChainError, ContractRevertError
from node.chain.market import TaskState, read_task
from node.chain.market import TaskStatus as ChainTaskStatus
from node.chain.qualifications import SignedSeat, admission_refusal, read_rule, seat_claim_signer
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import RelayedSeat, RelayState
from node.db.repositories.relay import RelayedSeatRepository, annotators
from node.db.repositories.tasks import TaskRepository
from node.db.types import utcnow
from node.errors import LabelnetError
from node.faults import crash_point

log = logging.getLogger(__name__)

SEND_WAIT = 30.0
"""Seconds the relayer holds a task's first pending claim for more to join its transaction."""
SEND_LEAD = 300
"""Seconds before the seat deadline at which the relayer sends whatever it holds."""
OFFER_PATIENCE = 120.0
"""Seconds an annotator waits after its offer was taken before it claims the seat itself
(well above :data:`SEND_WAIT`, so an honest relayer always sends first)."""
FALLBACK_LEAD = 120
"""Seconds before the seat deadline at which an annotator still unseated claims itself
(below :data:`SEND_LEAD`, for the same reason)."""
MAX_PROOF = 32
"""Longest allowlist proof taken (a tree of 10,000 accounts needs 14 hashes)."""


class NotRelayedHereError(LabelnetError, LookupError):
    """This node relays no seats of that task: not its requester's, not gated, or the node
    does not relay."""


class SeatOfferError(LabelnetError, ValueError):
    """A seat claim the gate would refuse: expired, badly signed, or the account not
    admitted (the message names the rule)."""


class SeatWindowError(LabelnetError, FileExistsError):
    """The task's seats cannot be claimed any more (window closed, no seat left), or the
    annotator holds one already."""


def as_signed_seat(row: RelayedSeat) -> SignedSeat:
    """A stored claim as the gate's ``SignedSeat`` tuple."""
    return (
        Web3.to_checksum_address(row.annotator),
        row.deadline,
        [bytes.fromhex(h.removeprefix("0x")) for h in row.proof],
        row.v,
        bytes.fromhex(row.r.removeprefix("0x")),
        bytes.fromhex(row.s.removeprefix("0x")),
    )


def seat_refusal(
    *,
    gate: Contract,
    market: Contract,
    token: Contract,
    task_id: int,
    bond: int,
    seat: SignedSeat,
    now: int,
) -> str | None:
    """Why the gate's ``claimSeats`` would revert on ``seat`` (``task_id``, at chain time
    ``now``), or None: the checks the gate makes, asked of the chain where they are the
    chain's (admission, the bond's allowance and balance), so one bad claim is dropped
    rather than reverting a whole batch."""
    annotator, deadline, proof, *_ = seat
    if deadline < now:
        return f"its signed deadline {deadline} has passed"
    if (seat_claim_signer(gate, task_id, seat) or "").lower() != annotator.lower():
        return "its signature is not the annotator's (QualificationsBadSignature)"
    refusal = admission_refusal(gate, task_id, annotator, proof)
    if refusal is not None:
        return f"not admitted: {refusal}"
    if bond:
        allowance = int(token.functions.allowance(annotator, market.address).call())
        balance = int(token.functions.balanceOf(annotator).call())
        if min(allowance, balance) < bond:
            return (
                f"the market cannot pull its bond of {bond}"
                f" (allowance {allowance}, balance {balance})"
            )
    return None


def accept_offer(
    *,
    db: Database,
    chain_id: int,
    gate: Contract,
    market: Contract,
    token: Contract,
    requester: str,
    task_id: int,
    seat: SignedSeat,
    now: int,
) -> RelayedSeat:
    """Check one annotator's signed seat claim on ``requester``'s gated task ``task_id`` and
    store it for the relay (what ``POST /api/v1/tasks/{id}/seat-claims`` does). The stored
    row is returned; the caller answers only after the write is committed."""
    annotator, deadline, proof, v, r, s = seat
    if len(proof) > MAX_PROOF:
        raise SeatOfferError(f"an allowlist proof of {len(proof)} hashes (at most {MAX_PROOF})")
    with db.session() as session:
        task = TaskRepository(session).get(chain_id, task_id)
    if task is None or task.requester.lower() != requester.lower():
        raise NotRelayedHereError(f"task {task_id} is not a task of this node's requester")
    rule = read_rule(gate, task_id)
    if rule is None:
        raise NotRelayedHereError(f"task {task_id} is not gated: its seats are claimed directly")
    state = read_task(market, task_id)
    _check_window(state, task_id, now)
    if bool(market.functions.hasSeat(task_id, annotator).call()):
        raise SeatWindowError(f"task {task_id}: {annotator} holds a seat already")
    if deadline < state.seat_deadline:
        raise SeatOfferError(
            f"a claim signed until {deadline} could expire before the relay sends it: sign it "
            f"until the seat deadline ({state.seat_deadline}) or later"
        )
    refusal = seat_refusal(
        gate=gate,
        market=market,
        token=token,
        task_id=task_id,
        bond=state.annotator_bond,
        seat=seat,
        now=now,
    )
    if refusal is not None:
        raise SeatOfferError(f"task {task_id}: the gate would refuse {annotator}: {refusal}")
    row = RelayedSeat(
        chain_id=chain_id,
        task_id=task_id,
        annotator=Web3.to_checksum_address(annotator),
        deadline=deadline,
        proof=["0x" + bytes(h).hex() for h in proof],
        v=v,
        r="0x" + bytes(r).hex(),
        s="0x" + bytes(s).hex(),
    )
    with db.write() as session:
        stored = RelayedSeatRepository(session).offer(row)
    log.info("task %s: seat claim of %s taken for the relay (%s)", task_id, annotator, stored.state)
    return stored


def _check_window(state: TaskState, task_id: int, now: int) -> None:
    if state.status is not ChainTaskStatus.OPEN or now > state.seat_deadline:
        raise SeatWindowError(f"task {task_id}: the seat window is closed")
    if state.seat_count >= state.seat_limit:
        raise SeatWindowError(f"task {task_id}: no seat left")


class SeatRelayDuty:
    """Send the pending signed seats of this requester's gated tasks, one ``claimSeats`` per
    task (see the module docstring for when, and how it survives a kill)."""

    name = "seat-relay"

    def __init__(
        self,
        *,
        db: Database,
        gate: Contract,
        market: Contract,
        token: Contract,
        sender: TxSender,
        chain_id: int,
        clock: Callable[[], int],
        send_wait: float = SEND_WAIT,
    ) -> None:
        self.db = db
        self.gate = gate
        self.market = market
        self.token = token
        self.sender = sender
        self.chain_id = chain_id
        self.clock = clock
        self.send_wait = dt.timedelta(seconds=send_wait)

    def tick(self) -> None:
        with self.db.session() as session:
            rows = RelayedSeatRepository(session).in_state(
                self.chain_id, RelayState.PENDING, RelayState.SENT
            )
        by_task: dict[int, list[RelayedSeat]] = defaultdict(list)
        for row in rows:
            by_task[row.task_id].append(row)
        for task_id, task_rows in by_task.items():
            self._relay(task_id, task_rows)

    def _relay(self, task_id: int, rows: list[RelayedSeat]) -> None:
        sent = [row for row in rows if row.state is RelayState.SENT]
        if sent and not self._settle_sent(sent):
            return  # a claimSeats of this task may still land: never send a second
        seats = self.market.functions.hasSeat
        seated = {row.annotator for row in rows if bool(seats(task_id, row.annotator).call())}
        self._mark([row for row in rows if row.annotator in seated], RelayState.SEATED)
        pending = [row for row in rows if row.annotator not in seated]
        if not pending:
            return
        now, state = self.clock(), read_task(self.market, task_id)
        try:
            _check_window(state, task_id, now)
        except SeatWindowError as exc:
            self._mark(pending, RelayState.DROPPED, reason=str(exc))
            log.info("task %s: dropped %d relayed seats: %s", task_id, len(pending), exc)
            return
        sendable = self._sendable(task_id, pending, state.annotator_bond, now)
        left = state.seat_limit - state.seat_count
        batch = sendable[:left]
        if not batch or not self._due(batch, left, state.seat_deadline, now):
            return
        if self.sender.in_flight():
            return  # a claimSeats sent just before a kill may be among them: look again later
        self._send(task_id, batch)

    def _settle_sent(self, sent: list[RelayedSeat]) -> bool:
        """Whether the rows marked sent are settled (True: go on with the task). A recorded
        transaction that is pending, or an unrecorded one while the account has transactions
        in flight, is not; one that landed, failed or vanished is, and its rows are pending
        again (the seated ones are then found seated)."""
        tx_hash = sent[0].tx_hash
        if tx_hash is None and self.sender.in_flight():
            return False
        pending = tx_hash is not None and self.sender.receipt(tx_hash) is None
        if pending and tx_hash is not None and not self.sender.needs_resend(tx_hash):
            return False
        self._mark(sent, RelayState.PENDING)
        for row in sent:
            row.state = RelayState.PENDING
        return True

    def _sendable(
        self, task_id: int, pending: list[RelayedSeat], bond: int, now: int
    ) -> list[RelayedSeat]:
        out: list[RelayedSeat] = []
        for row in pending:
            refusal = seat_refusal(
                gate=self.gate,
                market=self.market,
                token=self.token,
                task_id=task_id,
                bond=bond,
                seat=as_signed_seat(row),
                now=now,
            )
            if refusal is None:
                out.append(row)
                continue
            self._mark([row], RelayState.DROPPED, reason=refusal)
            log.info("task %s: not relaying the seat of %s: %s", task_id, row.annotator, refusal)
        return out

    def _due(self, batch: list[RelayedSeat], left: int, seat_deadline: int, now: int) -> bool:
        """Send now: the batch fills the seats left, its first claim waited long enough, or
        the seat deadline is near."""
        oldest = min(row.offered_at for row in batch)
        return (
            len(batch) >= left
            or utcnow() - oldest >= self.send_wait
            or now >= seat_deadline - SEND_LEAD
        )

    def _send(self, task_id: int, batch: list[RelayedSeat]) -> None:
        self._mark(batch, RelayState.SENT)  # the intent: before anything is signed
        crash_point("after-seat-relay-intent")
        call = self.gate.functions.claimSeats(task_id, [as_signed_seat(row) for row in batch])
        try:
            tx_hash = self.sender.submit(call)
        except ContractRevertError as exc:
            self._refused(task_id, batch, exc)
            return
        except ChainError:
            self._mark(batch, RelayState.PENDING)
            raise
        crash_point("after-seat-relay-submit")
        self._mark(batch, RelayState.SENT, tx_hash="0x" + bytes(tx_hash).hex())
        receipt = self.sender.wait(tx_hash)
        self._mark(batch, RelayState.SEATED)
        log.info(
            "task %s: relayed %d seats in one claimSeats (block %s, gas %s): %s",
            task_id,
            len(batch),
            receipt["blockNumber"],
            receipt["gasUsed"],
            annotators(batch),
        )

    def _refused(self, task_id: int, batch: list[RelayedSeat], exc: ContractRevertError) -> None:
        """The gate refused the batch at estimation (nothing was sent): drop the claim the
        revert names, or, naming none, the whole batch (its annotators will seat themselves)."""
        named = {str(arg).lower() for arg in exc.args_ if isinstance(arg, str)}
        culprits = [row for row in batch if row.annotator.lower() in named] or batch
        self._mark(culprits, RelayState.DROPPED, reason=str(exc))
        dropped = {row.annotator for row in culprits}
        self._mark([row for row in batch if row.annotator not in dropped], RelayState.PENDING)
        log.warning(
            "task %s: claimSeats refused (%s): dropped %s", task_id, exc, annotators(culprits)
        )

    def _mark(
        self,
        rows: Sequence[RelayedSeat],
        state: RelayState,
        *,
        tx_hash: str | None = None,
        reason: str = "",
    ) -> None:
        if not rows:
            return
        with self.db.write() as session:
            RelayedSeatRepository(session).mark(rows, state, tx_hash=tx_hash, reason=reason)
