"""The event sync on a real anvil: mirror a whole lifecycle, resume, confirmations, reorgs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.engines import attach
from node.chain.mirror import ChainMirror
from node.chain.sync import ChainEvent, EventSync, ReorgTooDeepError, SyncConfig
from node.db import Database, create_db_engine
from node.db.models import (
    AttestationOutcome,
    ChainEventRecord,
    CommitState,
    Task,
    TaskStatus,
)
from node.db.repositories import (
    AttestationRepository,
    CommitmentRepository,
    PayoutRepository,
    SyncCursorRepository,
)
from node.protocol.commitments import algorithm_id, label_commitment
from node.protocol.merkle import PayoutTree
from tests.chain.test_lifecycle import (
    HOUR,
    STAKE,
    TOKEN,
    create_task,
    dispute_below_quorum,
    fund,
    sender,
)
from tests.chain.test_lifecycle import Task as CreatedTask
from tests.chain.test_lifecycle import stake_validators as stake
from tests.conftest import Actors, advance_time
from tests.support.postgres import open_test_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_test_database(request, request.param, tmp_path) as database:
        yield database


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_test_database(request, "sqlite", tmp_path) as database:
        yield database


def make_sync(w3: Web3, db: Database, deployment: Deployment, **config: float) -> EventSync:
    mirror = ChainMirror(deployment.chain_id)
    settings: dict[str, Any] = {"confirmations": 0, **config}
    return EventSync(
        w3, db, deployment, mirror, on_rewind=mirror.rewind, config=SyncConfig(**settings)
    )


def chain_logs(w3: Web3, deployment: Deployment, to_block: int | None = None) -> list[str]:
    """(block hash, log index) keys of every log the two contracts emitted."""
    addresses = [deployment.market, deployment.staking]
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": to_block or "latest", "address": addresses})
    return sorted(f"0x{bytes(e['blockHash']).hex()}:{e['logIndex']}" for e in logs)


def journal(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(
            f"{r.block_hash}:{r.log_index}" for r in session.exec(select(ChainEventRecord))
        )


@dataclass
class Lifecycle:
    task: CreatedTask
    batches: dict[str, tuple[bytes, bytes]]
    honest: PayoutTree
    payouts: list[tuple[str, int]]
    refunded: int


def commit_all(
    w3: Web3, contracts: Contracts, actors: Actors, task: CreatedTask
) -> dict[str, tuple[bytes, bytes]]:
    batches: dict[str, tuple[bytes, bytes]] = {}
    for role in ("annotator_a", "annotator_b", "annotator_c"):
        annotator = getattr(actors, role)
        batches[annotator.address] = (os.urandom(32), os.urandom(32))
        fund(w3, contracts, actors, annotator, task.bond)
        s = sender(w3, annotator)
        s.transact(contracts.token.functions.approve(contracts.market.address, task.bond))
        root, salt = batches[annotator.address]
        commitment = label_commitment(task.task_id, annotator.address, root, salt)
        s.transact(contracts.market.functions.commit(task.task_id, commitment))
    return batches


def run_lifecycle(w3: Web3, contracts: Contracts, actors: Actors) -> Lifecycle:
    """Commit, reveal, gold, attest (one liar), finalize, claims and refund."""
    market = contracts.market
    stake(w3, contracts, actors)
    task = create_task(w3, contracts, actors)
    batches = commit_all(w3, contracts, actors, task)
    advance_time(w3, HOUR + 1)
    for address, (root, salt) in batches.items():
        account = next(a for a in actors.by_role.values() if a.address == address)
        cid = f"bafkrei{address[2:10].lower()}"
        sender(w3, account).transact(market.functions.reveal(task.task_id, root, cid, salt))
    sender(w3, actors.requester).transact(
        market.functions.revealGold(task.task_id, task.gold_root, "bafkreigold", task.gold_salt)
    )
    a, b, c = (getattr(actors, f"annotator_{x}").address for x in "abc")
    payouts = [(a, 40 * TOKEN), (b, 40 * TOKEN), (c, 20 * TOKEN)]
    honest = PayoutTree.build(payouts)
    wrong = PayoutTree.build([(c, 100 * TOKEN)])
    advance_time(w3, HOUR)
    for role, tree in (("validator_1", honest), ("validator_2", honest), ("validator_3", wrong)):
        sender(w3, getattr(actors, role)).transact(
            market.functions.attest(task.task_id, tree.root, tree.total, "bafkreiresult")
        )
    advance_time(w3, HOUR)
    # Market v2: finalize pushes the requester's refund.
    before = contracts.token.functions.balanceOf(actors.requester.address).call()
    sender(w3, actors.outsider).transact(market.functions.finalize(task.task_id))
    refunded = contracts.token.functions.balanceOf(actors.requester.address).call() - before
    for account, amount in payouts:
        sender(w3, actors.outsider).transact(
            market.functions.claim(task.task_id, account, amount, honest.proof(account))
        )
    return Lifecycle(task, batches, honest, payouts, refunded)


def assert_mirrors_lifecycle(db: Database, chain_id: int, run: Lifecycle, actors: Actors) -> None:
    task_id = run.task.task_id
    with db.session() as session:
        task = session.get(Task, (chain_id, task_id))
        assert task is not None
        assert task.status is TaskStatus.FINALIZED
        assert task.requester == actors.requester.address
        assert task.algorithm == "ds-gold@1"
        assert task.manifest_cid == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
        assert (task.num_items, task.redundancy) == (4, 3)
        assert (task.reward_pool, task.validator_fee) == (run.task.reward_pool, 9 * TOKEN)
        assert task.payout_root == "0x" + run.honest.root.hex()
        assert task.total_payout == run.honest.total
        assert task.refunded_amount == run.refunded
        assert (task.gold_root, task.gold_cid) == ("0x" + run.task.gold_root.hex(), "bafkreigold")

        commitments = CommitmentRepository(session).for_task(chain_id, task_id)
        assert {c.annotator for c in commitments} == set(run.batches)
        for row in commitments:
            root, salt = run.batches[row.annotator]
            expected = label_commitment(task_id, row.annotator, root, salt)
            assert row.state is CommitState.REVEALED
            assert row.commitment == "0x" + expected.hex()
            assert row.labels_root == "0x" + root.hex()
            assert row.labels_cid == f"bafkrei{row.annotator[2:10].lower()}"
            assert row.salt is None  # not ours: the mirror never learns salts

        attestations = {
            a.validator: a for a in AttestationRepository(session).for_task(chain_id, task_id)
        }
        liar = attestations[actors.validator_3.address]
        assert (liar.outcome, liar.slashed_amount) == (AttestationOutcome.SLASHED, STAKE // 10)
        share = (run.task.validator_fee + STAKE // 10) // 2
        for role in ("validator_1", "validator_2"):
            honest = attestations[getattr(actors, role).address]
            assert (honest.outcome, honest.reward) == (AttestationOutcome.RELEASED, share)
            assert honest.payout_root == "0x" + run.honest.root.hex()

        paid = PayoutRepository(session).for_task(chain_id, task_id)
        assert sorted((p.account, p.amount, p.claimed) for p in paid) == sorted(
            (account, amount, True) for account, amount in run.payouts
        )


def test_sync_mirrors_a_whole_lifecycle(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, db: Database
) -> None:
    run = run_lifecycle(w3, contracts, actors)
    sync = make_sync(w3, db, deployment, max_block_range=7)
    report = sync.sync_once()
    head = w3.eth.block_number
    assert report.last_block == head and report.rewound_to is None
    assert journal(db) == chain_logs(w3, deployment)
    assert report.events == len(journal(db))
    assert_mirrors_lifecycle(db, deployment.chain_id, run, actors)

    again = sync.sync_once()  # nothing new: nothing applied twice
    assert (again.events, again.last_block) == (0, head)
    assert journal(db) == chain_logs(w3, deployment)


def test_sync_resumes_from_the_persisted_cursor(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, db: Database
) -> None:
    stake(w3, contracts, actors)
    task = create_task(w3, contracts, actors)
    commit_all(w3, contracts, actors, task)
    middle = w3.eth.block_number - 2  # the last commits are not processed by the first node
    first = make_sync(w3, db, deployment, max_block_range=5)
    assert first.sync_once(until=middle).last_block == middle
    with db.session() as session:
        committed = CommitmentRepository(session).for_task(deployment.chain_id, task.task_id)
        assert 0 < len(committed) < 3

    # "Restart": a new engine, a new sync and a new mirror over the same database.
    db.dispose()
    restarted = Database(create_db_engine(db.engine.url))
    second = make_sync(w3, restarted, deployment, max_block_range=5)
    assert second.last_block() == middle
    report = second.sync_once()
    assert report.last_block == w3.eth.block_number
    assert journal(restarted) == chain_logs(w3, deployment)  # no duplicates, nothing skipped
    with restarted.session() as session:
        rows = CommitmentRepository(session).for_task(deployment.chain_id, task.task_id)
        assert [r.state for r in rows] == [CommitState.COMMITTED] * 3
    restarted.dispose()


def test_a_failing_handler_leaves_neither_effects_nor_cursor(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, sqlite_db: Database
) -> None:
    stake(w3, contracts, actors)
    create_task(w3, contracts, actors)
    mirror = ChainMirror(deployment.chain_id)
    calls: list[int] = []

    def crashing(session: Session, events: Sequence[ChainEvent]) -> None:
        calls.append(len(events))
        mirror(session, events)
        if len(calls) == 2:
            raise RuntimeError("killed mid-range")

    sync = EventSync(
        w3, sqlite_db, deployment, crashing, config=SyncConfig(confirmations=0, max_block_range=4)
    )
    with pytest.raises(RuntimeError, match="killed"):
        sync.sync_once()
    committed_to = sync.last_block()
    assert committed_to >= 3  # the first range is committed...
    with sqlite_db.session() as session:
        newest = session.exec(select(func.max(ChainEventRecord.block_number))).one()
    assert newest is not None and newest <= committed_to  # ...and nothing of the second
    assert make_sync(w3, sqlite_db, deployment).sync_once().last_block == w3.eth.block_number
    assert journal(sqlite_db) == chain_logs(w3, deployment)


def test_confirmations_hold_back_the_newest_blocks(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, sqlite_db: Database
) -> None:
    stake(w3, contracts, actors)
    task = create_task(w3, contracts, actors)
    commit_all(w3, contracts, actors, task)  # each transaction mines a block with an event
    sync = make_sync(w3, sqlite_db, deployment, confirmations=3)
    head = w3.eth.block_number
    assert sync.sync_once().last_block == head - 3
    assert journal(sqlite_db) == chain_logs(w3, deployment, head - 3)
    assert len(chain_logs(w3, deployment)) > len(journal(sqlite_db))
    with sqlite_db.session() as session:
        rows = CommitmentRepository(session).for_task(deployment.chain_id, task.task_id)
        assert len(rows) < 3  # the last commits are too fresh to act on

    for _ in range(3):
        attach(w3).mine()
    assert sync.sync_once().last_block == head
    assert journal(sqlite_db) == chain_logs(w3, deployment, head)


def test_a_round_opened_for_want_of_stake_is_mirrored(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, sqlite_db: Database
) -> None:
    """Market v2: a root below the stake quorum opens round 1 (RoundOpened, journaled); the
    task stays open and the votes stay locked, waiting for the final root."""
    task, _ = dispute_below_quorum(w3, contracts, actors)
    sender(w3, actors.outsider).transact(contracts.market.functions.finalize(task.task_id))
    make_sync(w3, sqlite_db, deployment).sync_once()
    assert journal(sqlite_db) == chain_logs(w3, deployment)
    with sqlite_db.session() as session:
        row = session.get(Task, (deployment.chain_id, task.task_id))
        assert row is not None and row.status is TaskStatus.OPEN
        opened = session.exec(
            select(ChainEventRecord).where(ChainEventRecord.event == "RoundOpened")
        ).one()
        assert opened.task_id == task.task_id
        assert int(opened.args["round"]) == 1
        attestations = AttestationRepository(session).for_task(deployment.chain_id, task.task_id)
        assert len(attestations) == 2


def test_background_run_follows_the_head_until_stopped(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, sqlite_db: Database
) -> None:
    sync = make_sync(w3, sqlite_db, deployment, poll_interval=0.05)
    stop = threading.Event()
    worker = threading.Thread(target=sync.run, args=(stop,), daemon=True)
    worker.start()
    try:
        task_id = create_plain_task(w3, contracts, actors, "bafkreilive")
        deadline = time.monotonic() + 20
        while sync.last_block() < w3.eth.block_number and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    with sqlite_db.session() as session:
        task = session.get(Task, (deployment.chain_id, task_id))
        assert task is not None and task.manifest_cid == "bafkreilive"


def create_plain_task(w3: Web3, contracts: Contracts, actors: Actors, manifest: str) -> int:
    fund(w3, contracts, actors, actors.requester, 100 * TOKEN)
    now = w3.eth.get_block("latest")["timestamp"]
    params = (
        manifest,
        algorithm_id("mv@1"),
        b"\0" * 32,
        TOKEN,
        TOKEN,
        0,
        now + HOUR,
        now + 2 * HOUR,
        now + 3 * HOUR,
        2,
        1,
        0,  # seatDeadline: an open task (no seats)
        0,  # batchSize
    )
    requester = sender(w3, actors.requester)
    requester.transact(contracts.token.functions.approve(contracts.market.address, 3 * TOKEN))
    requester.transact(contracts.market.functions.createTask(params))
    return int(contracts.market.functions.taskCount().call())


def test_reorg_is_detected_and_reprocessed(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, db: Database
) -> None:
    chain_id = deployment.chain_id
    task = create_task(w3, contracts, actors)
    sync = make_sync(w3, db, deployment)
    fork_point = sync.sync_once().last_block
    snapshot = attach(w3).snapshot()

    # Branch 1: annotator A commits and a second task appears; the node syncs it.
    a = actors.annotator_a
    root, salt = os.urandom(32), os.urandom(32)
    commitment = label_commitment(task.task_id, a.address, root, salt)
    with db.write() as session:  # our own intent (this node is annotator A)
        CommitmentRepository(session).record_intent(
            chain_id,
            task.task_id,
            a.address,
            commitment="0x" + commitment.hex(),
            labels_root="0x" + root.hex(),
            labels_cid="bafkreimine",
            salt="0x" + salt.hex(),
        )
    fund(w3, contracts, actors, a, task.bond)
    sender(w3, a).transact(contracts.token.functions.approve(deployment.market, task.bond))
    sender(w3, a).transact(contracts.market.functions.commit(task.task_id, commitment))
    orphan_task = create_plain_task(w3, contracts, actors, "bafkreiorphaned")
    old_head = sync.sync_once().last_block
    with db.session() as session:
        mine = CommitmentRepository(session).get(chain_id, task.task_id, a.address)
        assert mine is not None and mine.state is CommitState.COMMITTED

    # Branch 2 replaces it: B commits instead, task 2 has another manifest, and the new
    # branch grows past the old head so only the block hashes tell the difference.
    attach(w3).revert(snapshot)
    b = actors.annotator_b
    other = label_commitment(task.task_id, b.address, root, salt)
    fund(w3, contracts, actors, b, task.bond)
    sender(w3, b).transact(contracts.token.functions.approve(deployment.market, task.bond))
    sender(w3, b).transact(contracts.market.functions.commit(task.task_id, other))
    assert create_plain_task(w3, contracts, actors, "bafkreicanonical") == orphan_task
    while w3.eth.block_number <= old_head:
        attach(w3).mine()

    report = sync.sync_once()
    assert report.rewound_to == fork_point
    assert report.last_block == w3.eth.block_number
    assert journal(db) == chain_logs(w3, deployment)  # no orphaned event is left
    with db.session() as session:
        rows = {
            r.annotator: r for r in CommitmentRepository(session).for_task(chain_id, task.task_id)
        }
        assert set(rows) == {a.address, b.address}
        assert rows[b.address].commitment == "0x" + other.hex()
        assert rows[b.address].state is CommitState.COMMITTED
        # Our commit is no longer on chain, but its secrets are kept to commit again.
        assert (rows[a.address].state, rows[a.address].commitment) == (CommitState.PENDING, None)
        assert rows[a.address].salt == "0x" + salt.hex()
        second = session.get(Task, (chain_id, orphan_task))
        assert second is not None and second.manifest_cid == "bafkreicanonical"
        cursor = SyncCursorRepository(session, chain_id, deployment.market).get()
        latest = w3.eth.get_block(report.last_block)["hash"]
        assert cursor is not None and cursor.block_hash == "0x" + bytes(latest).hex()


def test_a_shorter_branch_is_a_reorg_too_and_deep_ones_stop_the_sync(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, sqlite_db: Database
) -> None:
    create_task(w3, contracts, actors)
    snapshot = attach(w3).snapshot()
    base = w3.eth.block_number
    create_plain_task(w3, contracts, actors, "bafkreigone")
    sync = make_sync(w3, sqlite_db, deployment, max_block_range=1, reorg_depth=4)
    sync.sync_once()
    attach(w3).revert(snapshot)
    assert w3.eth.block_number < sync.last_block()  # the cursor's block no longer exists
    report = sync.sync_once()
    assert report.rewound_to == base
    assert journal(sqlite_db) == chain_logs(w3, deployment)
    with sqlite_db.session() as session:
        gone = session.exec(select(Task).where(col(Task.manifest_cid) == "bafkreigone")).all()
        assert [t.status for t in gone] == [TaskStatus.UNKNOWN]

    # A divergence deeper than reorg_depth: refuse rather than keep orphaned data.
    deep = attach(w3).snapshot()
    for _ in range(8):
        attach(w3).mine()
    sync.sync_once()
    attach(w3).revert(deep)
    advance_time(w3, 1)
    create_plain_task(w3, contracts, actors, "bafkreifork")
    for _ in range(10):
        attach(w3).mine()
    with pytest.raises(ReorgTooDeepError, match="diverged"):
        sync.sync_once()
