"""The chain mirror on synthetic events: idempotency, rewinds, our own secrets."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import func, select

from node.chain.mirror import ChainMirror, decode_algorithm
from node.chain.sync import ChainEvent
from node.db import Database
from node.db.models import (
    AttestationOutcome,
    ChainEventRecord,
    CommitState,
    ItemCreate,
    LabelCreate,
    Task,
    TaskStatus,
)
from node.db.repositories import (
    AttestationRepository,
    CommitmentRepository,
    CommitmentStateError,
    ItemRepository,
    LabelRepository,
    PayoutRepository,
)
from node.protocol.commitments import algorithm_id, label_commitment
from tests.db.conftest import CHAIN, REQUESTER

MARKET = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
ME = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
OTHER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
VALIDATOR = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
ROOT, SALT = b"\x11" * 32, b"\x22" * 32
_log_index = itertools.count()


def h(n: int) -> str:
    return f"0x{n:064x}"


def ev(name: str, block: int, **args: object) -> ChainEvent:
    return ChainEvent(
        CHAIN, MARKET, name, args, block, h(block), next(_log_index), h(10**6 + block)
    )


def created(task_id: int, block: int, manifest: str = "bafkreimanifest") -> ChainEvent:
    params = {
        "manifestCid": manifest,
        "algorithm": "0x" + algorithm_id("mv@1").hex(),
        "goldCommitment": "0x" + "00" * 32,
        "rewardPerLabel": 10**18,
        "validatorFee": 2**65,
        "annotatorBond": 0,
        "commitDeadline": 100,
        "revealDeadline": 200,
        "attestDeadline": 300,
        "numItems": 2,
        "redundancy": 1,
    }
    return ev(
        "TaskCreated",
        block,
        taskId=task_id,
        requester=REQUESTER,
        params=params,
        rewardPool=2 * 10**18,
    )


def my_commitment(task_id: int) -> str:
    return "0x" + label_commitment(task_id, ME, ROOT, SALT).hex()


def count_journal(db: Database) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(ChainEventRecord)).one())


def test_decode_algorithm_reads_ascii_and_keeps_odd_values_hex() -> None:
    assert decode_algorithm("0x" + algorithm_id("ds-gold@1").hex()) == "ds-gold@1"
    assert decode_algorithm("0x" + "ff" * 32) == "0x" + "ff" * 32


def test_applying_the_same_events_twice_changes_nothing(db: Database) -> None:
    mirror = ChainMirror(CHAIN)
    events = [
        created(1, 10),
        ev("LabelsCommitted", 11, taskId=1, annotator=OTHER, commitment=h(5)),
        ev(
            "ResultAttested",
            12,
            taskId=1,
            validator=VALIDATOR,
            payoutRoot=h(7),
            totalPayout=2**70,
            weight=3 * 2**64,
            resultCid="bafkreiresult",
        ),
        ev("StakeReleased", 13, taskId=1, validator=VALIDATOR, amount=1, reward=2**66),
        ev(
            "TaskFinalized",
            13,
            taskId=1,
            payoutRoot=h(7),
            totalPayout=2**70,
            winningWeight=1,
            attestingWeight=1,
        ),
        ev("PayoutClaimed", 14, taskId=1, account=OTHER, amount=2**70),
    ]
    for _ in range(2):
        with db.write() as session:
            mirror(session, events)
    assert count_journal(db) == len(events)
    with db.session() as session:
        task = session.get(Task, (CHAIN, 1))
        assert task is not None
        assert (task.status, task.algorithm, task.validator_fee) == (
            TaskStatus.FINALIZED,
            "mv@1",
            2**65,
        )
        assert task.payout_root == h(7) and task.total_payout == 2**70
        (attestation,) = AttestationRepository(session).for_task(CHAIN, 1)
        assert attestation.outcome is AttestationOutcome.RELEASED
        assert (attestation.reward, attestation.weight) == (2**66, 3 * 2**64)
        payout = PayoutRepository(session).get(CHAIN, 1, OTHER)
        assert payout is not None and payout.claimed and payout.amount == 2**70


def test_own_commit_survives_a_crash_and_completes(db: Database) -> None:
    mirror = ChainMirror(CHAIN)
    with db.write() as session:
        mirror(session, [created(1, 10)])
    with db.write() as session:  # written before the commit transaction is sent
        CommitmentRepository(session).record_intent(
            CHAIN,
            1,
            ME,
            commitment=my_commitment(1),
            labels_root="0x" + ROOT.hex(),
            labels_cid="bafkreibatch",
            salt="0x" + SALT.hex(),
        )
        CommitmentRepository(session).mark_commit_sent(CHAIN, 1, ME, h(99))
    with db.session() as session:
        (pending,) = CommitmentRepository(session).pending(CHAIN, ME)
        assert pending.state is CommitState.PENDING and pending.own_commit_tx_hash == h(99)
    with db.write() as session:
        mirror(
            session,
            [ev("LabelsCommitted", 11, taskId=1, annotator=ME, commitment=my_commitment(1))],
        )
    with db.session() as session:  # after a restart: what is left to do is a reveal
        repo = CommitmentRepository(session)
        assert repo.pending(CHAIN, ME) == []
        (todo,) = repo.awaiting_reveal(CHAIN, ME)
        assert (todo.salt, todo.own_labels_cid) == ("0x" + SALT.hex(), "bafkreibatch")
    with db.write() as session:
        mirror(
            session,
            [
                ev(
                    "LabelsRevealed",
                    12,
                    taskId=1,
                    annotator=ME,
                    labelsRoot="0x" + ROOT.hex(),
                    labelsCid="bafkreibatch",
                )
            ],
        )
    with db.session() as session:
        repo = CommitmentRepository(session)
        assert repo.awaiting_reveal(CHAIN, ME) == []
        (revealed,) = repo.revealed(CHAIN, 1)
        assert (revealed.annotator, revealed.labels_cid) == (ME, "bafkreibatch")
    with pytest.raises(CommitmentStateError), db.write() as session:
        CommitmentRepository(session).record_intent(
            CHAIN, 1, ME, commitment=h(1), labels_root=h(2), labels_cid="x", salt=h(3)
        )


def test_rewind_rebuilds_from_canonical_events_and_keeps_local_data(db: Database) -> None:
    mirror = ChainMirror(CHAIN)
    with db.write() as session:
        mirror(session, [created(1, 10), created(2, 11, manifest="bafkreiorphan")])
        ItemRepository(session).upsert_many(CHAIN, 2, [ItemCreate(item_id="a", position=0)])
    with db.write() as session:
        LabelRepository(session).upsert_batch(CHAIN, 2, ME, [LabelCreate(item_id="a", value=1)])
        CommitmentRepository(session).record_intent(
            CHAIN,
            1,
            ME,
            commitment=my_commitment(1),
            labels_root="0x" + ROOT.hex(),
            labels_cid="bafkreibatch",
            salt="0x" + SALT.hex(),
        )
    with db.write() as session:
        mirror(
            session,
            [
                ev("LabelsCommitted", 12, taskId=1, annotator=ME, commitment=my_commitment(1)),
                ev("LabelsCommitted", 12, taskId=1, annotator=OTHER, commitment=h(5)),
                ev("TaskCancelled", 13, taskId=2, refunded=7),
            ],
        )

    with db.write() as session:  # blocks 11.. are reorganised away
        mirror.rewind(session, 10)
    assert count_journal(db) == 1
    with db.session() as session:
        orphan = session.get(Task, (CHAIN, 2))
        assert orphan is not None and orphan.status is TaskStatus.UNKNOWN
        assert orphan.refunded_amount is None
        assert LabelRepository(session).count_for(CHAIN, 2, ME) == 1  # labels are kept
        task = session.get(Task, (CHAIN, 1))
        assert task is not None and task.status is TaskStatus.OPEN and task.created_block == 10
        assert (task.validator_fee, task.reward_pool) == (2**65, 2 * 10**18)  # replayed exactly
        (mine,) = CommitmentRepository(session).for_task(CHAIN, 1)  # OTHER's row is gone
        assert (mine.annotator, mine.state, mine.commitment) == (ME, CommitState.PENDING, None)
        assert mine.salt == "0x" + SALT.hex()

    with db.write() as session:  # the new branch: task 2 again, our commit lands later
        mirror(
            session,
            [
                created(2, 11, manifest="bafkreinew"),
                ev("LabelsCommitted", 14, taskId=1, annotator=ME, commitment=my_commitment(1)),
            ],
        )
    with db.session() as session:
        task2 = session.get(Task, (CHAIN, 2))
        assert task2 is not None
        assert (task2.status, task2.manifest_cid) == (TaskStatus.OPEN, "bafkreinew")
        (mine,) = CommitmentRepository(session).for_task(CHAIN, 1)
        assert (mine.state, mine.commit_block) == (CommitState.COMMITTED, 14)


def test_slashed_validator_and_dispute(db: Database) -> None:
    mirror = ChainMirror(CHAIN)
    with db.write() as session:
        mirror(
            session,
            [
                created(1, 10),
                ev(
                    "ResultAttested",
                    12,
                    taskId=1,
                    validator=VALIDATOR,
                    payoutRoot=h(7),
                    totalPayout=5,
                    weight=10,
                    resultCid="bafkreir",
                ),
                ev("Slashed", 13, taskId=1, validator=VALIDATOR, amount=2**65),
                ev("TaskDisputed", 13, taskId=1, bestWeight=0, attestingWeight=10),
                ev("RequesterRefunded", 14, taskId=1, requester=REQUESTER, amount=2**67),
            ],
        )
    with db.session() as session:
        (attestation,) = AttestationRepository(session).for_task(CHAIN, 1)
        assert attestation.outcome is AttestationOutcome.SLASHED
        assert attestation.slashed_amount == 2**65
        task = session.get(Task, (CHAIN, 1))
        assert task is not None
        assert (task.status, task.refunded_amount, task.settled_block) == (
            TaskStatus.DISPUTED,
            2**67,
            13,
        )


def test_an_evicted_attestation_leaves_the_mirror(db: Database) -> None:
    """A heavier validator took the seat: the evicted vote no longer counts, and the
    StakeReleased that follows it in the same transaction finds nothing to mark."""
    mirror = ChainMirror(CHAIN)
    attested = {"payoutRoot": h(7), "totalPayout": 5, "resultCid": "bafkreiresult"}
    events = [
        created(1, 10),
        ev("ResultAttested", 11, taskId=1, validator=VALIDATOR, weight=100, **attested),
        ev("ResultAttested", 12, taskId=1, validator=OTHER, weight=400, **attested),
        ev("AttestationEvicted", 12, taskId=1, validator=VALIDATOR, replacedBy=OTHER),
        ev("StakeReleased", 12, taskId=1, validator=VALIDATOR, amount=10, reward=0),
    ]
    with db.write() as session:
        mirror(session, events)
    with db.session() as session:
        validators = [a.validator for a in AttestationRepository(session).for_task(CHAIN, 1)]
    assert validators == [OTHER]
