"""Python bindings of the ReviewBoard (docs/review.md §6): typed reads of a task's review and
of a reviewer's seat, and the calls of each party (requester, reviewer, anyone settling).

The board is a contract beside the market: it reads the market's task (requester, reveal
and attest deadlines, status, final payout root) through the market's views, escrows the
review fee and the reviewers' bonds itself, and pays the round from the *review leaves* of
the task's final payout root (:func:`node.protocol.review.review_leaf_amount`). Whether a
task is reviewed at all is :func:`is_reviewed`, the one place nodes decide it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hexbytes import HexBytes
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from node.chain.errors import ChainError, revert_from
from node.chain.tx import TxSender
from node.protocol.merkle import PayoutTree
from node.protocol.review import ReviewParams, ReviewTerms, read_review_leaf


@dataclass(frozen=True)
class ReviewState:
    """``IReviewBoard.Review`` as stored: the terms, the seat and settlement counters, and
    the money the board holds for it (``held``) and has charged the requester (``charged``)."""

    requester: str
    terms: ReviewTerms
    reviewer_count: int
    settled_count: int
    gold_revealed: bool
    finished: bool
    final_seen_at: int
    held: int
    charged: int


@dataclass(frozen=True)
class ReviewSeat:
    """``IReviewBoard.Seat``: a reviewer's commitment (zero if none), weight, reveal, settlement."""

    commitment: bytes
    weight: int
    revealed: bool
    settled: bool


def terms_tuple(terms: ReviewTerms) -> tuple[int, int, int, int, int, int, int, bytes]:
    """``IReviewBoard.ReviewTerms`` as web3 encodes a struct argument."""
    return (
        terms.fee_per_vote,
        terms.slash_per_vote,
        terms.cap,
        terms.max_reviewers,
        terms.commit_deadline,
        terms.reveal_deadline,
        terms.gold_deadline,
        terms.gold_commitment,
    )


def escrow_of(terms: ReviewTerms) -> int:
    """What ``openReview`` pulls from the requester: ``cap · maxReviewers · feePerVote``."""
    return terms.cap * terms.max_reviewers * terms.fee_per_vote


def bond_of(terms: ReviewTerms) -> int:
    """What a reviewer's first ``commitReview`` pulls: ``cap · slashPerVote``."""
    return terms.cap * terms.slash_per_vote


def read_review(board: Contract, task_id: int) -> ReviewState | None:
    """The task's review, or None if its requester never opened one."""
    try:
        raw = board.functions.reviewOf(task_id).call()
    except ContractLogicError as exc:
        raise revert_from(exc) from exc
    (requester, seats, count, settled, gold_revealed, finished, fee, slash, cap) = raw[:9]
    (commit, reveal, gold, seen, held, charged, gold_commitment) = raw[9:]
    if int(requester, 16) == 0:
        return None
    terms = ReviewTerms(fee, slash, cap, seats, commit, reveal, gold, bytes(gold_commitment))
    return ReviewState(
        requester, terms, count, settled, gold_revealed, finished, seen, held, charged
    )


def read_seat(board: Contract, task_id: int, reviewer: str) -> ReviewSeat:
    """A reviewer's seat on the task (a zero commitment: it has none)."""
    commitment, weight, revealed, settled = board.functions.seatOf(task_id, reviewer).call()
    return ReviewSeat(bytes(commitment), weight, revealed, settled)


@dataclass(frozen=True)
class Reviewer:
    """A reviewer that committed, as validators need it for ``review@1``: its weight (stake at
    its first commit) and, if it revealed, its vote batch's root and CID (from the
    ``ReviewRevealed`` event: the board stores no CID)."""

    account: str
    weight: int
    votes_root: bytes | None
    votes_cid: str | None


def read_reviewers(board: Contract, task_id: int, from_block: int = 0) -> list[Reviewer]:
    """Every reviewer of the task in seat order, with its reveal if it made one. A validator
    fetches each revealed batch, keeps it only if ``valid_votes`` accepts it, and passes the
    rest to ``review_round`` as reviewers without a valid reveal (slashed as silent)."""
    reveals = {
        entry["args"]["reviewer"]: (bytes(entry["args"]["votesRoot"]), entry["args"]["votesCid"])
        for entry in board.events.ReviewRevealed().get_logs(
            from_block=from_block, argument_filters={"taskId": task_id}
        )
    }
    reviewers: list[Reviewer] = []
    for account in board.functions.reviewersOf(task_id).call():
        seat = read_seat(board, task_id, account)
        root, cid = reveals.get(account, (None, None))
        reviewers.append(Reviewer(account, seat.weight, root, cid))
    return reviewers


def is_reviewed(
    board: Contract | None, task_id: int, params: ReviewParams | None, items: int
) -> bool:
    """The rule: a task is reviewed iff its manifest has a ``review`` section (``params``)
    AND its requester opened the review on the board with terms matching that section
    (:meth:`ReviewTerms.matches`). Anything else runs as an unreviewed task, so neither a
    manifest promise without escrow nor an escrow without a promise changes the consensus."""
    if params is None or board is None:
        return False
    review = read_review(board, task_id)
    return review is not None and review.terms.matches(params, items)


def open_review(
    sender: TxSender, token: Contract, board: Contract, task_id: int, terms: ReviewTerms
) -> TxReceipt:
    """Requester: approve the fee escrow and open the task's review."""
    sender.transact(token.functions.approve(board.address, escrow_of(terms)))
    return sender.transact(board.functions.openReview(task_id, terms_tuple(terms)))


def approve_bond(sender: TxSender, token: Contract, board: Contract, task_id: int) -> None:
    """Reviewer, before its first commit: let the board pull the bond (a replaced commitment
    pulls nothing, and neither does a resent one)."""
    review = read_review(board, task_id)
    if review is None:
        raise ValueError(f"task {task_id} has no review")
    sender.transact(token.functions.approve(board.address, bond_of(review.terms)))


def submit_commit(sender: TxSender, board: Contract, task_id: int, commitment: bytes) -> HexBytes:
    """Reviewer: send ``commitReview`` without waiting (the duty records the hash first)."""
    return sender.submit(board.functions.commitReview(task_id, commitment))


def reveal_review(
    sender: TxSender, board: Contract, task_id: int, votes_root: bytes, votes_cid: str, salt: bytes
) -> TxReceipt:
    """Reviewer: reveal the committed vote batch (root, CID, salt)."""
    return sender.transact(board.functions.revealReview(task_id, votes_root, votes_cid, salt))


def reveal_review_gold(
    sender: TxSender, board: Contract, task_id: int, gold_root: bytes, gold_cid: str, salt: bytes
) -> TxReceipt:
    """Requester: reveal the hidden review gold committed at ``openReview``."""
    return sender.transact(board.functions.revealReviewGold(task_id, gold_root, gold_cid, salt))


def settle_review(
    sender: TxSender, board: Contract, task_id: int, reviewer: str, tree: PayoutTree
) -> TxReceipt:
    """Anyone, once the task is final on ``tree``'s root: settle ``reviewer``'s review leaf."""
    fields = read_review_leaf(tree.amount(reviewer))
    if fields is None:
        raise ValueError(f"{reviewer}'s leaf in this tree is not a review leaf")
    pay, slashed, votes = fields
    return sender.transact(
        board.functions.settle(task_id, reviewer, pay, slashed, votes, tree.proof(reviewer))
    )


def finish_review(sender: TxSender, board: Contract, task_id: int) -> TxReceipt:
    """Anyone: end the review (or, the first time with reviewers unsettled, start the
    settlement period)."""
    return sender.transact(board.functions.finishReview(task_id))


def finish_review_once(
    sender: TxSender, board: Contract, task_id: int, decided_on: ReviewState
) -> bool:
    """:func:`finish_review`, for a node that read ``decided_on`` and judged the call due.

    It is permissionless, and the requester and every reviewer may judge it due from the
    same block: all but the first revert (``ReviewAlreadyFinished``, ``ReviewSettling``
    when the first started the settlement period), at estimation or mined. Such a failure is
    no error: True if this call did it, False if the board shows another one did (the review
    finished, or its settlement period started, since ``decided_on``)."""
    try:
        finish_review(sender, board, task_id)
        return True
    except ChainError:
        now = read_review(board, task_id)
        if now is not None and (now.finished or now.final_seen_at != decided_on.final_seen_at):
            return False
        raise
