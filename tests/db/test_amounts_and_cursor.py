"""uint256 token amounts beyond 64 bits, payouts and earnings, the sync cursor."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError

from node.db import Database, open_database
from node.db.models import Payout, PayoutPublic, Task, TaskPublic
from node.db.repositories import PayoutLeaf, PayoutRepository, SyncCursorRepository
from node.db.types import MAX_UINT256
from tests.db.conftest import CHAIN, make_task

MARKET = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
ALICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
BOB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


@pytest.mark.parametrize("amount", [0, 2**64, 2**64 + 1, 10**30 + 7, MAX_UINT256])
def test_amounts_round_trip_exactly(db: Database, amount: int) -> None:
    with db.write() as session:
        session.add(make_task(1, reward_pool=amount, total_payout=amount))
    with db.session() as session:
        task = session.get(Task, (CHAIN, 1))
        assert task is not None
        assert task.reward_pool == amount and type(task.reward_pool) is int
        assert task.total_payout == amount
        assert TaskPublic.model_validate(task).reward_pool == str(amount)


@pytest.mark.parametrize("amount", [-1, MAX_UINT256 + 1])
def test_amounts_outside_uint256_are_refused(db: Database, amount: int) -> None:
    with pytest.raises(StatementError), db.write() as session:
        session.add(make_task(1, reward_pool=amount))
        session.flush()


def test_payout_leaves_and_earnings_beyond_64_bits(db: Database) -> None:
    big = 3 * 2**70 + 11
    with db.write() as session:
        repo = PayoutRepository(session)
        repo.record_leaves(CHAIN, 1, [PayoutLeaf(ALICE, big, ["0x" + "ab" * 32])])
        repo.record_leaves(CHAIN, 2, [PayoutLeaf(ALICE, big + 1, []), PayoutLeaf(BOB, 5, [])])
    with db.write() as session:
        claimed = session.get(Payout, (CHAIN, 1, ALICE))
        assert claimed is not None
        claimed.claimed = True
        session.add(claimed)
    with db.write() as session:  # recording again keeps the claim
        PayoutRepository(session).record_leaves(CHAIN, 1, [PayoutLeaf(ALICE, big, ["0x01"])])
    with db.session() as session:
        repo = PayoutRepository(session)
        earnings = repo.earnings(CHAIN, ALICE)
        assert (earnings.claimed, earnings.unclaimed, earnings.tasks) == (big, big + 1, 2)
        assert [(p.task_id, p.amount) for p in repo.claimable(CHAIN, ALICE)] == [(2, big + 1)]
        row = repo.get(CHAIN, 1, ALICE)
        assert row is not None and row.claimed and row.proof == ["0x01"]
        assert PayoutPublic.model_validate(row).amount == str(big)


def test_cursor_and_checkpoints_persist_across_reopen(tmp_path: Path) -> None:
    first = open_database(tmp_path, env={})
    try:
        with first.write() as session:
            cursors = SyncCursorRepository(session, CHAIN, MARKET)
            assert cursors.get() is None
            for block in range(10, 110, 10):
                cursors.add_checkpoint(block, f"0x{block:064x}")
            cursors.save(100, f"0x{100:064x}")
            cursors.prune_checkpoints(75)  # keeps 80..100 and the newest below: 70
    finally:
        first.dispose()
    again = open_database(tmp_path, env={})
    try:
        with again.session() as session:
            cursors = SyncCursorRepository(session, CHAIN, MARKET)
            cursor = cursors.get()
            assert cursor is not None
            assert (cursor.last_block, cursor.block_hash) == (100, f"0x{100:064x}")
            assert [c.block_number for c in cursors.checkpoints(1000)] == [100, 90, 80, 70]
            assert SyncCursorRepository(session, CHAIN + 1, MARKET).get() is None
    finally:
        again.dispose()


def test_cursor_moves_and_drops_orphaned_checkpoints(db: Database) -> None:
    with db.write() as session:
        cursors = SyncCursorRepository(session, CHAIN, MARKET)
        for block in (5, 6, 7, 8):
            cursors.add_checkpoint(block, f"0x{block:064x}")
        cursors.save(8, f"0x{8:064x}")
    with db.write() as session:
        cursors = SyncCursorRepository(session, CHAIN, MARKET)
        cursors.drop_checkpoints_above(6)
        cursors.save(6, f"0x{6:064x}")
        cursors.add_checkpoint(6, "0x" + "ee" * 32)
    with db.session() as session:
        cursors = SyncCursorRepository(session, CHAIN, MARKET)
        cursor = cursors.get()
        assert cursor is not None and cursor.last_block == 6
        assert [(c.block_number, c.block_hash[:4]) for c in cursors.checkpoints(100)] == [
            (6, "0xee"),
            (5, "0x00"),
        ]
