"""The event sync's cursor and checkpoints (see :mod:`node.chain.sync`)."""

from __future__ import annotations

from sqlmodel import Session, col, delete, func, select

from node.db.models import SyncCheckpoint, SyncCursor
from node.db.types import utcnow


class SyncCursorRepository:
    """Cursor and checkpoints of one event stream, keyed by chain id and contract address."""

    def __init__(self, session: Session, chain_id: int, contract: str) -> None:
        self.session = session
        self.chain_id = chain_id
        self.contract = contract

    def get(self) -> SyncCursor | None:
        return self.session.get(SyncCursor, (self.chain_id, self.contract))

    def save(self, last_block: int, block_hash: str | None) -> SyncCursor:
        """Move the cursor (in the caller's transaction, with the events' effects)."""
        cursor = self.get()
        if cursor is None:
            cursor = SyncCursor(
                chain_id=self.chain_id,
                contract=self.contract,
                last_block=last_block,
                block_hash=block_hash,
            )
        cursor.last_block = last_block
        cursor.block_hash = block_hash
        cursor.updated_at = utcnow()
        self.session.add(cursor)
        return cursor

    def add_checkpoint(self, block_number: int, block_hash: str) -> None:
        """Remember a processed block's hash (replacing one at the same height)."""
        existing = self.session.get(SyncCheckpoint, (self.chain_id, self.contract, block_number))
        if existing is None:
            existing = SyncCheckpoint(
                chain_id=self.chain_id,
                contract=self.contract,
                block_number=block_number,
                block_hash=block_hash,
            )
        existing.block_hash = block_hash
        self.session.add(existing)

    def checkpoints(self, at_most: int) -> list[SyncCheckpoint]:
        """Checkpoints at or below ``at_most``, newest first."""
        query = (
            select(SyncCheckpoint)
            .where(
                SyncCheckpoint.chain_id == self.chain_id,
                SyncCheckpoint.contract == self.contract,
                col(SyncCheckpoint.block_number) <= at_most,
            )
            .order_by(col(SyncCheckpoint.block_number).desc())
        )
        return list(self.session.exec(query))

    def drop_checkpoints_above(self, block_number: int) -> None:
        """Forget checkpoints of blocks that are no longer canonical."""
        self.session.execute(
            delete(SyncCheckpoint).where(
                col(SyncCheckpoint.chain_id) == self.chain_id,
                col(SyncCheckpoint.contract) == self.contract,
                col(SyncCheckpoint.block_number) > block_number,
            )
        )

    def prune_checkpoints(self, keep_from: int) -> None:
        """Drop checkpoints below ``keep_from``, except the newest of them.

        That one stays so a reorganisation exactly ``reorg_depth`` deep still finds a common
        block to rewind to.
        """
        floor = self.session.exec(
            select(func.max(SyncCheckpoint.block_number)).where(
                SyncCheckpoint.chain_id == self.chain_id,
                SyncCheckpoint.contract == self.contract,
                col(SyncCheckpoint.block_number) < keep_from,
            )
        ).one()
        if floor is None:
            return
        self.session.execute(
            delete(SyncCheckpoint).where(
                col(SyncCheckpoint.chain_id) == self.chain_id,
                col(SyncCheckpoint.contract) == self.contract,
                col(SyncCheckpoint.block_number) < floor,
            )
        )
