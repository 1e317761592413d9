"""The default event handler: mirror the contracts' events into the tables, idempotently.

Every event is first recorded in the ``chain_events`` journal under its unique
``(chain, block hash, log index)``; an event already there is skipped, so handing the mirror
the same range twice changes nothing. After a reorganisation, :meth:`ChainMirror.rewind`
deletes the journal above the common block, resets the chain-derived columns of every task
those events touched, and replays the task's remaining journal in chain order — so the
tables again equal a fold of the canonical events. Local data is never dropped by a
rewind: items, labels, and the salts and roots of our own commitments stay, and a task
whose creation was reorganised away is kept with status ``unknown``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from node.chain.sync import ChainEvent
from node.db.models import (
    Attestation,
    AttestationOutcome,
    ChainEventRecord,
    Commitment,
    Payout,
    Task,
    TaskStatus,
)
from node.db.types import utcnow
from node.protocol.canonical import JsonValue

log = logging.getLogger(__name__)

ZERO32 = "0x" + "00" * 32


def _task_id(event: ChainEvent) -> int:
    task_id = event.task_id
    if task_id is None:
        raise ValueError(f"{event.name} has no taskId")
    return task_id


def decode_algorithm(value: str) -> str:
    """A left-aligned ASCII bytes32 such as ``ds-gold@1``; other values stay hex."""
    raw = bytes.fromhex(value.removeprefix("0x")).rstrip(b"\0")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return value
    return text if text.isprintable() else value


class ChainMirror:
    """Applies market and staking events to tasks, commitments, attestations and payouts.

    Use as the sync's ``handler`` and its :meth:`rewind` as ``on_rewind``.
    """

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id
        self._apply: dict[str, Callable[[Session, ChainEvent], None]] = {
            "TaskCreated": self._task_created,
            "TaskCancelled": self._task_cancelled,
            "LabelsCommitted": self._labels_committed,
            "LabelsRevealed": self._labels_revealed,
            "GoldRevealed": self._gold_revealed,
            "ResultAttested": self._result_attested,
            "AttestationEvicted": self._attestation_evicted,
            "TaskFinalized": self._task_finalized,
            "TaskDisputed": self._task_disputed,
            "TaskVoided": self._task_voided,
            "ValidatorRewarded": self._validator_rewarded,
            "StakeReleased": self._stake_released,
            "Slashed": self._slashed,
            "PayoutClaimed": self._payout_claimed,
            "RequesterRefunded": self._requester_refunded,
        }

    def __call__(self, session: Session, events: Sequence[ChainEvent]) -> None:
        for event in events:
            if self._journal(session, event):
                self._dispatch(session, event)

    def _journal(self, session: Session, event: ChainEvent) -> bool:
        """Record the event; False if it was applied before (same block hash and index)."""
        seen = session.exec(
            select(ChainEventRecord.id).where(
                ChainEventRecord.chain_id == self.chain_id,
                ChainEventRecord.block_hash == event.block_hash,
                ChainEventRecord.log_index == event.log_index,
            )
        ).first()
        if seen is not None:
            return False
        session.add(
            ChainEventRecord(
                chain_id=self.chain_id,
                contract=event.contract,
                event=event.name,
                task_id=event.task_id,
                block_number=event.block_number,
                block_hash=event.block_hash,
                log_index=event.log_index,
                tx_hash=event.tx_hash,
                args=dict(event.args),
            )
        )
        return True

    def _dispatch(self, session: Session, event: ChainEvent) -> None:
        apply = self._apply.get(event.name)
        if apply is not None:
            apply(session, event)
            session.flush()

    def rewind(self, session: Session, to_block: int) -> None:
        """Forget events above ``to_block`` and rebuild what they touched from the rest."""
        journal = ChainEventRecord
        above = col(journal.block_number) > to_block
        affected = session.exec(
            select(journal.task_id)
            .where(journal.chain_id == self.chain_id, above, col(journal.task_id).is_not(None))
            .distinct()
        ).all()
        session.execute(delete(journal).where(col(journal.chain_id) == self.chain_id, above))
        for task_id in sorted(t for t in affected if t is not None):
            self._reset_task(session, task_id)
            remaining = session.exec(
                select(journal)
                .where(journal.chain_id == self.chain_id, journal.task_id == task_id)
                .order_by(col(journal.block_number), col(journal.log_index))
            ).all()
            for record in remaining:
                self._dispatch(session, _event_from_record(record))

    def _reset_task(self, session: Session, task_id: int) -> None:
        """Clear every chain-derived value of a task, keeping local data."""
        task = session.get(Task, (self.chain_id, task_id))
        if task is not None:
            task.status = TaskStatus.UNKNOWN
            task.gold_root = task.gold_cid = task.payout_root = None
            task.total_payout = task.refunded_amount = None
            task.created_block = task.settled_block = None
            task.created_tx_hash = None
            task.updated_at = utcnow()
            session.add(task)
        key = (col(Commitment.chain_id) == self.chain_id, col(Commitment.task_id) == task_id)
        session.execute(delete(Commitment).where(*key, col(Commitment.salt).is_(None)))
        for commitment in session.exec(select(Commitment).where(*key)):
            commitment.commitment = commitment.commit_tx_hash = None
            commitment.labels_root = commitment.labels_cid = commitment.reveal_tx_hash = None
            commitment.commit_block = commitment.reveal_block = None
            commitment.refresh_state()
            session.add(commitment)
        session.execute(
            delete(Attestation).where(
                col(Attestation.chain_id) == self.chain_id, col(Attestation.task_id) == task_id
            )
        )
        payout_key = (col(Payout.chain_id) == self.chain_id, col(Payout.task_id) == task_id)
        session.execute(delete(Payout).where(*payout_key, col(Payout.proof).is_(None)))
        for payout in session.exec(select(Payout).where(*payout_key)):
            payout.claimed = False
            payout.claim_block = None
            payout.claim_tx_hash = None
            session.add(payout)
        session.flush()

    # -- one method per event ---------------------------------------------------------

    def _task(self, session: Session, event: ChainEvent) -> Task | None:
        task = session.get(Task, (self.chain_id, event.task_id))
        if task is None:
            log.debug("%s for task %s created before the sync start", event.name, event.task_id)
        return task

    def _task_created(self, session: Session, event: ChainEvent) -> None:
        params = event.args["params"]
        gold = str(params["goldCommitment"])
        values = {
            "requester": event.args["requester"],
            "manifest_cid": params["manifestCid"],
            "algorithm": decode_algorithm(str(params["algorithm"])),
            "gold_commitment": None if gold == ZERO32 else gold,
            "reward_per_label": int(params["rewardPerLabel"]),
            "validator_fee": int(params["validatorFee"]),
            "annotator_bond": int(params["annotatorBond"]),
            "reward_pool": int(event.args["rewardPool"]),
            "commit_deadline": int(params["commitDeadline"]),
            "reveal_deadline": int(params["revealDeadline"]),
            "attest_deadline": int(params["attestDeadline"]),
            "num_items": int(params["numItems"]),
            "redundancy": int(params["redundancy"]),
            "status": TaskStatus.OPEN,
            "created_block": event.block_number,
            "created_tx_hash": event.tx_hash,
            "updated_at": utcnow(),
        }
        task = session.get(Task, (self.chain_id, event.task_id))
        if task is None:
            task = Task(chain_id=self.chain_id, task_id=_task_id(event), **values)
        else:
            for name, value in values.items():
                setattr(task, name, value)
        session.add(task)

    def _settle(
        self, session: Session, event: ChainEvent, status: TaskStatus, **values: JsonValue
    ) -> None:
        task = self._task(session, event)
        if task is None:
            return
        task.status = status
        for name, value in values.items():
            setattr(task, name, value)
        task.updated_at = utcnow()
        session.add(task)

    def _task_cancelled(self, session: Session, event: ChainEvent) -> None:
        self._settle(
            session,
            event,
            TaskStatus.CANCELLED,
            refunded_amount=int(event.args["refunded"]),
            settled_block=event.block_number,
        )

    def _task_finalized(self, session: Session, event: ChainEvent) -> None:
        self._settle(
            session,
            event,
            TaskStatus.FINALIZED,
            payout_root=event.args["payoutRoot"],
            total_payout=int(event.args["totalPayout"]),
            settled_block=event.block_number,
        )

    def _task_disputed(self, session: Session, event: ChainEvent) -> None:
        self._settle(session, event, TaskStatus.DISPUTED, settled_block=event.block_number)

    def _task_voided(self, session: Session, event: ChainEvent) -> None:
        self._settle(session, event, TaskStatus.VOID, settled_block=event.block_number)

    def _requester_refunded(self, session: Session, event: ChainEvent) -> None:
        task = self._task(session, event)
        if task is not None:
            # refund() may finalize in the same transaction: keep the status that set.
            self._settle(session, event, task.status, refunded_amount=int(event.args["amount"]))

    def _gold_revealed(self, session: Session, event: ChainEvent) -> None:
        task = self._task(session, event)
        if task is not None:
            task.gold_root = str(event.args["goldRoot"])
            task.gold_cid = str(event.args["goldCid"])
            session.add(task)

    def _commitment(self, session: Session, event: ChainEvent, annotator: str) -> Commitment:
        key = (self.chain_id, event.task_id, annotator)
        row = session.get(Commitment, key)
        if row is None:
            row = Commitment(chain_id=self.chain_id, task_id=_task_id(event), annotator=annotator)
        return row

    def _labels_committed(self, session: Session, event: ChainEvent) -> None:
        row = self._commitment(session, event, str(event.args["annotator"]))
        row.commitment = str(event.args["commitment"])
        row.commit_block = event.block_number
        row.commit_tx_hash = event.tx_hash
        row.refresh_state()
        row.updated_at = utcnow()
        session.add(row)

    def _labels_revealed(self, session: Session, event: ChainEvent) -> None:
        row = self._commitment(session, event, str(event.args["annotator"]))
        row.labels_root = str(event.args["labelsRoot"])
        row.labels_cid = str(event.args["labelsCid"])
        row.reveal_block = event.block_number
        row.reveal_tx_hash = event.tx_hash
        row.refresh_state()
        row.updated_at = utcnow()
        session.add(row)

    def _result_attested(self, session: Session, event: ChainEvent) -> None:
        validator = str(event.args["validator"])
        row = session.get(Attestation, (self.chain_id, event.task_id, validator))
        if row is None:
            row = Attestation(
                chain_id=self.chain_id,
                task_id=_task_id(event),
                validator=validator,
                payout_root=str(event.args["payoutRoot"]),
                result_cid=str(event.args["resultCid"]),
                total_payout=int(event.args["totalPayout"]),
                weight=int(event.args["weight"]),
                block_number=event.block_number,
                tx_hash=event.tx_hash,
            )
        session.add(row)

    def _attestation_evicted(self, session: Session, event: ChainEvent) -> None:
        """A heavier validator took this one's seat: its attestation no longer counts."""
        row = self._attestation(session, event)
        if row is not None:
            session.delete(row)

    def _attestation(self, session: Session, event: ChainEvent) -> Attestation | None:
        row = session.get(Attestation, (self.chain_id, event.task_id, str(event.args["validator"])))
        if row is None:
            log.debug("%s without a mirrored attestation on task %s", event.name, event.task_id)
        return row

    def _validator_rewarded(self, session: Session, event: ChainEvent) -> None:
        row = self._attestation(session, event)
        if row is not None:
            row.reward = int(event.args["reward"])
            session.add(row)

    def _stake_released(self, session: Session, event: ChainEvent) -> None:
        row = self._attestation(session, event)
        if row is not None:
            row.outcome = AttestationOutcome.RELEASED
            row.reward = int(event.args["reward"])
            session.add(row)

    def _slashed(self, session: Session, event: ChainEvent) -> None:
        row = self._attestation(session, event)
        if row is not None:
            row.outcome = AttestationOutcome.SLASHED
            row.slashed_amount = int(event.args["amount"])
            session.add(row)

    def _payout_claimed(self, session: Session, event: ChainEvent) -> None:
        account = str(event.args["account"])
        row = session.get(Payout, (self.chain_id, event.task_id, account))
        if row is None:
            row = Payout(
                chain_id=self.chain_id,
                task_id=_task_id(event),
                account=account,
                amount=int(event.args["amount"]),
            )
        row.amount = int(event.args["amount"])
        row.claimed = True
        row.claim_block = event.block_number
        row.claim_tx_hash = event.tx_hash
        row.updated_at = utcnow()
        session.add(row)


@dataclass(frozen=True)
class Seating:
    """A seated task's seat parameters and its claimed seats, as the journal holds them."""

    seat_deadline: int
    batch_size: int
    seats: Mapping[str, int]
    """Seat number of each annotator (lowercase address), from ``SeatClaimed``."""


def seating(session: Session, chain_id: int, task_id: int) -> Seating | None:
    """The seats of ``task_id`` from the event journal; None for an open task (``batchSize``
    0, v1's rules) or one whose ``TaskCreated`` this node never saw. The journal is the one
    place seats are kept: it holds every event of the canonical chain (a reorganisation
    removes what it undid), so no table of seats has to be kept in step with it."""
    journal = ChainEventRecord
    records = session.exec(
        select(journal)
        .where(
            journal.chain_id == chain_id,
            journal.task_id == task_id,
            col(journal.event).in_(("TaskCreated", "SeatClaimed")),
        )
        .order_by(col(journal.block_number), col(journal.log_index))
    ).all()
    created = [r for r in records if r.event == "TaskCreated"]
    if not created:
        return None
    params = created[-1].args["params"]
    assert isinstance(params, dict)
    batch_size = int(str(params.get("batchSize") or 0))
    if batch_size == 0:
        return None
    seats = {
        str(r.args["annotator"]).lower(): int(str(r.args["seat"]))
        for r in records
        if r.event == "SeatClaimed"
    }
    return Seating(int(str(params["seatDeadline"])), batch_size, seats)


def _event_from_record(record: ChainEventRecord) -> ChainEvent:
    return ChainEvent(
        chain_id=record.chain_id,
        contract=record.contract,
        name=record.event,
        args=record.args,
        block_number=record.block_number,
        block_hash=record.block_hash,
        log_index=record.log_index,
        tx_hash=record.tx_hash,
    )
