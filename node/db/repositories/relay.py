"""The requester's relayed seat claims (:class:`~node.db.models.RelayedSeat`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from node.db.models import RelayedSeat, RelayState
from node.db.types import utcnow


class RelayedSeatRepository:
    """Relayed seat claims by (chain, task, annotator: checksummed, as every address column);
    methods run in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, chain_id: int, task_id: int, annotator: str) -> RelayedSeat | None:
        return self.session.get(RelayedSeat, (chain_id, task_id, annotator))

    def offer(self, seat: RelayedSeat) -> RelayedSeat:
        """Store ``seat``, replacing an earlier offer of the same annotator unless that one
        is already sent or seated (a restarted annotator offers again: same seat, maybe a
        fresh signature; neither may undo a send)."""
        known = self.get(seat.chain_id, seat.task_id, seat.annotator)
        if known is not None and known.state in (RelayState.SENT, RelayState.SEATED):
            return known
        if known is not None:
            self.session.delete(known)
            self.session.flush()
        self.session.add(seat)
        return seat

    def in_state(self, chain_id: int, *states: RelayState) -> list[RelayedSeat]:
        """Every row in one of ``states``, by task then offer time."""
        query = (
            select(RelayedSeat)
            .where(RelayedSeat.chain_id == chain_id, col(RelayedSeat.state).in_(states))
            .order_by(col(RelayedSeat.task_id), col(RelayedSeat.offered_at))
        )
        return list(self.session.exec(query))

    def for_task(self, chain_id: int, task_id: int) -> list[RelayedSeat]:
        query = (
            select(RelayedSeat)
            .where(RelayedSeat.chain_id == chain_id, RelayedSeat.task_id == task_id)
            .order_by(col(RelayedSeat.offered_at))
        )
        return list(self.session.exec(query))

    def mark(
        self,
        rows: Iterable[RelayedSeat],
        state: RelayState,
        *,
        tx_hash: str | None = None,
        reason: str = "",
    ) -> None:
        """Move ``rows`` (detached or not) to ``state``."""
        now = utcnow()
        for row in rows:
            stored = self.get(row.chain_id, row.task_id, row.annotator)
            if stored is None:
                continue
            stored.state = state
            stored.reason = reason
            if state in (RelayState.PENDING, RelayState.SENT):
                stored.tx_hash = tx_hash  # a new intent forgets an older transaction
            stored.updated_at = now
            self.session.add(stored)


def annotators(rows: Sequence[RelayedSeat]) -> list[str]:
    """The rows' annotators, in order (for logs)."""
    return [row.annotator for row in rows]
