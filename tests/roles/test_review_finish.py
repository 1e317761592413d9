"""When ``finishReview`` is worth sending (node/roles/review_settlement.finish_due), judged
against the board's own settlement period on a real anvil deployment."""

from __future__ import annotations

import pytest

from node.chain.contracts import Contracts
from node.chain.market import TaskStatus
from node.chain.review import ReviewState
from node.protocol.review import ReviewTerms
from node.roles.review_settlement import finish_due

TERMS = ReviewTerms(10, 30, 4, 3, 100, 200, 300, bytes(32))


def state(*, reviewers: int, settled: int, seen: int = 0, finished: bool = False) -> ReviewState:
    return ReviewState("0x" + "11" * 20, TERMS, reviewers, settled, True, finished, seen, 0, 0)


@pytest.mark.parametrize(
    ("review", "status", "now", "due"),
    [
        (state(reviewers=2, settled=2), TaskStatus.FINALIZED, 1_000, True),
        (state(reviewers=2, settled=1), TaskStatus.FINALIZED, 1_000, True),  # starts the period
        (state(reviewers=2, settled=1, seen=1_000), TaskStatus.FINALIZED, 2_000, False),
        (state(reviewers=0, settled=0), TaskStatus.FINALIZED, 1_000, True),
        (state(reviewers=2, settled=0), TaskStatus.VOID, 1_000, True),
        (state(reviewers=2, settled=0), TaskStatus.CANCELLED, 1_000, True),
        (state(reviewers=2, settled=0), TaskStatus.OPEN, 1_000, False),
        (state(reviewers=2, settled=2, finished=True), TaskStatus.FINALIZED, 1_000, False),
    ],
)
def test_finish_is_due_as_the_board_allows(
    contracts: Contracts, review: ReviewState, status: TaskStatus, now: int, due: bool
) -> None:
    assert contracts.review_board is not None
    assert finish_due(contracts.review_board, review, status, now) is due


def test_an_unsettled_review_is_due_once_the_settlement_period_ran_out(
    contracts: Contracts,
) -> None:
    board = contracts.review_board
    assert board is not None
    period = int(board.functions.settlePeriod().call())
    review = state(reviewers=2, settled=1, seen=1_000)
    assert not finish_due(board, review, TaskStatus.FINALIZED, 1_000 + period)
    assert finish_due(board, review, TaskStatus.FINALIZED, 1_001 + period)
