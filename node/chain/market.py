"""Typed reads of TaskMarket state (web3 returns structs as bare tuples)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from web3.contract import Contract
from web3.exceptions import ContractLogicError

from node.chain.errors import revert_from


class TaskStatus(IntEnum):
    """``ITaskMarket.TaskStatus``. Value 3 is ``Void`` on a market v2 (nothing revealed, full
    refund) and was ``Disputed`` on v1, which v2 no longer has (docs/settlement.md §2.1)."""

    NONE = 0
    OPEN = 1
    FINALIZED = 2
    VOID = 3
    DISPUTED = 3  # the v1 name of the same value
    CANCELLED = 4


class Phase(IntEnum):
    NONE = 0
    COMMIT = 1
    REVEAL = 2
    ATTEST = 3
    FINALIZABLE = 4
    CLOSED = 5


@dataclass(frozen=True)
class TaskState:
    """``ITaskMarket.Task`` as stored on chain."""

    requester: str
    commit_deadline: int
    commit_count: int
    reveal_deadline: int
    attest_deadline: int
    reveal_count: int
    attest_count: int
    status: TaskStatus
    gold_revealed: bool
    refunded: bool
    reward_pool: int
    validator_fee: int
    annotator_bond: int
    paid_out: int
    gold_commitment: bytes
    payout_root: bytes
    total_payout: int
    refundable: int
    """Market v2: the refund paid as the task ended (0 while open); v1: the refund still due."""
    seat_deadline: int
    """0 for an open task (v1's rules, no seats)."""
    seat_count: int
    seat_limit: int
    """Seats of a seated task (``numItems * redundancy / batchSize``); 0 for an open task,
    whose ``commit_count`` counts its committers instead (a seated task's is 0)."""
    round: int
    """Settlement round (0, 1, 2; docs/settlement.md §2.2)."""
    provisional: bool
    """Whether ``payout_root``/``total_payout`` are a provisional result under challenge."""
    round_deadline: int
    """End of the current round's window, or of the challenge while ``provisional``."""

    @property
    def seated(self) -> bool:
        """Whether only seat holders may commit (market v2, ``batchSize > 0``)."""
        return self.seat_limit > 0


def read_task(market: Contract, task_id: int) -> TaskState:
    """Read one task; raises ContractRevertError(TaskMarketUnknownTask) for an unknown id."""
    try:
        raw = list(market.functions.getTask(task_id).call())
    except ContractLogicError as exc:
        raise revert_from(exc) from exc
    raw[7] = TaskStatus(raw[7])
    return TaskState(*raw)
