"""The review round on a real anvil, driven through node/chain/review.py (docs/review.md §6).

A reviewed task: the requester opens the review, two staked reviewers commit, one reveals
and the other stays silent, the requester reveals its hidden review gold; the validators
attest a payout tree holding the annotators' leaves and the reviewers' *review leaves*
computed by ``review@1`` (node/consensus/review.py) and built with the project's Merkle
tree; the task finalizes, and the board pays, slashes, refunds and burns exactly what the
round says. The market itself refuses to pay a review leaf.
"""

from __future__ import annotations

import os

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.errors import ContractRevertError
from node.chain.market import TaskStatus, read_task
from node.chain.review import (
    approve_bond,
    bond_of,
    escrow_of,
    finish_review,
    finish_review_once,
    is_reviewed,
    open_review,
    read_review,
    read_reviewers,
    read_seat,
    reveal_review,
    reveal_review_gold,
    settle_review,
    submit_commit,
)
from node.chain.tx import TxSender
from node.consensus.review import ReviewerVotes, review_leaves, review_round
from node.protocol.commitments import algorithm_id, gold_commitment, label_commitment
from node.protocol.merkle import REVIEW_LEAF_TAG, PayoutTree
from node.protocol.review import (
    ReviewParams,
    ReviewTerms,
    contested_cap,
    read_review_leaf,
    review_commitment,
    review_leaf_amount,
    vote_batch,
)
from tests.conftest import Actors, advance_time

TOKEN = 10**18
HOUR = 3600
BURN = "0x000000000000000000000000000000000000dEaD"
ITEMS = 20
CLASSES = ("cat", "dog")
CONTESTED = ("i03", "i07")
PARAMS = ReviewParams.create(fee_per_vote=TOKEN // 100, slash_per_vote=3 * TOKEN // 100)


def send(w3: Web3, account: LocalAccount) -> TxSender:
    return TxSender(w3, account)


def fund(w3: Web3, contracts: Contracts, actors: Actors, account: str, amount: int) -> None:
    send(w3, actors.deployer).transact(contracts.token.functions.transfer(account, amount))


def stake(
    w3: Web3, contracts: Contracts, actors: Actors, account: LocalAccount, amount: int
) -> None:
    fund(w3, contracts, actors, account.address, amount)
    sender = send(w3, account)
    sender.transact(contracts.token.functions.approve(contracts.staking.address, amount))
    sender.transact(contracts.staking.functions.stake(amount))


def balance(contracts: Contracts, account: str) -> int:
    return int(contracts.token.functions.balanceOf(account).call())


def create_task(w3: Web3, contracts: Contracts, actors: Actors) -> tuple[int, int]:
    """A 20-item open task whose attest window leaves room for the three review windows."""
    fund(w3, contracts, actors, actors.requester.address, 1_000 * TOKEN)
    now = w3.eth.get_block("latest")["timestamp"]
    reveal = now + 2 * HOUR
    params = (
        "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        algorithm_id("ds-gold@1"),
        gold_commitment(os.urandom(32), os.urandom(32)),
        TOKEN,
        TOKEN,
        0,
        now + HOUR,
        reveal,
        reveal + 4 * HOUR,
        ITEMS,
        1,
        0,
        0,
    )
    requester = send(w3, actors.requester)
    requester.transact(contracts.token.functions.approve(contracts.market.address, 21 * TOKEN))
    receipt = requester.transact(contracts.market.functions.createTask(params))
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId), reveal


def review_terms(reveal: int, gold: bytes) -> ReviewTerms:
    return ReviewTerms(
        fee_per_vote=PARAMS.fee_per_vote,
        slash_per_vote=PARAMS.slash_per_vote,
        cap=contested_cap(ITEMS, PARAMS.contested_share_ppb),
        max_reviewers=PARAMS.max_reviewers,
        commit_deadline=reveal + HOUR,
        reveal_deadline=reveal + 2 * HOUR,
        gold_deadline=reveal + 3 * HOUR,
        gold_commitment=gold,
    )


def test_commitment_and_leaf_bytes_are_the_contracts(contracts: Contracts) -> None:
    """Solidity/Python cross-check: the board computes the same commitment and leaf amount."""
    board = contracts.review_board
    assert board is not None
    reviewer = "0x" + "ab" * 20
    root, salt = os.urandom(32), os.urandom(32)
    assert bytes(
        board.functions.reviewCommitment(7, Web3.to_checksum_address(reviewer), root, salt).call()
    ) == review_commitment(7, reviewer, root, salt)
    for pay, slashed, votes in ((0, 0, 0), (123, 456, 7), (2**96 - 1, 2**96 - 1, 2**32 - 1)):
        amount = board.functions.reviewLeafAmount(pay, slashed, votes).call()
        assert amount == review_leaf_amount(pay, slashed, votes)
        assert amount & REVIEW_LEAF_TAG
        assert read_review_leaf(amount) == (pay, slashed, votes)


def test_review_round_pays_slashes_refunds_and_burns_exactly(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    board, token, market = contracts.review_board, contracts.token, contracts.market
    assert board is not None
    for role in ("validator_1", "validator_2"):
        stake(w3, contracts, actors, getattr(actors, role), 10_000 * TOKEN)
    coherent, silent = actors.validator_3, actors.outsider
    for reviewer in (coherent, silent):
        stake(w3, contracts, actors, reviewer, 1_000 * TOKEN)
        fund(w3, contracts, actors, reviewer.address, TOKEN)
    task_id, reveal = create_task(w3, contracts, actors)
    assert not is_reviewed(board, task_id, PARAMS, ITEMS)

    # The requester opens the review before the reveal deadline, with hidden review gold.
    gold_root, gold_salt = os.urandom(32), os.urandom(32)
    terms = review_terms(reveal, gold_commitment(gold_root, gold_salt))
    requester_start = balance(contracts, actors.requester.address)
    open_review(send(w3, actors.requester), token, board, task_id, terms)
    assert balance(contracts, actors.requester.address) == requester_start - escrow_of(terms)
    assert is_reviewed(board, task_id, PARAMS, ITEMS)
    assert not is_reviewed(board, task_id, None, ITEMS)  # no manifest section: not reviewed
    assert not is_reviewed(board, task_id, PARAMS, ITEMS * 2)  # terms not the manifest's

    # Two annotators label; after the reveal deadline the reviewers commit.
    annotators = [actors.annotator_a, actors.annotator_b]
    salts = {a.address: (os.urandom(32), os.urandom(32)) for a in annotators}
    for annotator in annotators:
        root, salt = salts[annotator.address]
        send(w3, annotator).transact(
            market.functions.commit(
                task_id, label_commitment(task_id, annotator.address, root, salt)
            )
        )
    advance_time(w3, HOUR + 1)
    for annotator in annotators:
        root, salt = salts[annotator.address]
        send(w3, annotator).transact(market.functions.reveal(task_id, root, "bafkreilabels", salt))
    advance_time(w3, HOUR)

    votes = {"i03": "cat", "i07": "dog"}
    batch = vote_batch(task_id, coherent.address, votes)
    vote_salt = os.urandom(32)
    commitments = {
        coherent.address: review_commitment(task_id, coherent.address, batch.root(), vote_salt),
        silent.address: review_commitment(task_id, silent.address, os.urandom(32), vote_salt),
    }
    for reviewer in (coherent, silent):
        sender = send(w3, reviewer)
        approve_bond(sender, token, board, task_id)
        assert sender.wait(submit_commit(sender, board, task_id, commitments[reviewer.address]))
    with pytest.raises(ContractRevertError) as party:
        send(w3, actors.annotator_a).transact(board.functions.commitReview(task_id, os.urandom(32)))
    assert party.value.name == "ReviewerIsParty"
    weights = {r.address: read_seat(board, task_id, r.address).weight for r in (coherent, silent)}
    assert weights == {coherent.address: 1_000 * TOKEN, silent.address: 1_000 * TOKEN}

    advance_time(w3, HOUR)
    reveal_review(send(w3, coherent), board, task_id, batch.root(), "bafkreivotes", vote_salt)
    assert read_seat(board, task_id, coherent.address).revealed
    advance_time(w3, HOUR)
    reveal_review_gold(
        send(w3, actors.requester), board, task_id, gold_root, "bafkreigold", gold_salt
    )

    # What a validator reads: every reviewer with its weight, and the reveal if it made one.
    listed = read_reviewers(board, task_id)
    assert [(r.account, r.weight, r.votes_cid) for r in listed] == [
        (coherent.address, weights[coherent.address], "bafkreivotes"),
        (silent.address, weights[silent.address], None),
    ]
    assert listed[0].votes_root == batch.root() and listed[1].votes_root is None

    # review@1 decides the money; its leaves join the annotators' in one payout tree.
    outcome = review_round(
        CONTESTED,
        CLASSES,
        [
            ReviewerVotes(coherent.address, weights[coherent.address], votes, "bafkreivotes"),
            ReviewerVotes(silent.address, weights[silent.address], None),
        ],
        {"i03": "cat"},
        PARAMS,
    )
    pay = {row.account: row for row in outcome.reviewers}
    assert pay[coherent.address.lower()].pay == 4 * PARAMS.fee_per_vote
    assert pay[silent.address.lower()].slashed == 2 * PARAMS.slash_per_vote
    annotator_payouts = [
        (actors.annotator_a.address, 12 * TOKEN),
        (actors.annotator_b.address, 8 * TOKEN),
    ]
    tree = PayoutTree.build(annotator_payouts + review_leaves(outcome))
    assert tree.total == 20 * TOKEN  # the market's total leaves review leaves out
    for role in ("validator_1", "validator_2"):
        send(w3, getattr(actors, role)).transact(
            market.functions.attest(task_id, tree.root, tree.total, "bafkreiresult")
        )
    send(w3, actors.outsider).transact(market.functions.finalize(task_id))
    assert read_task(market, task_id).status is TaskStatus.FINALIZED

    # The market cannot pay a review leaf; the board pays each exactly.
    with pytest.raises(ContractRevertError) as refused:
        send(w3, coherent).transact(
            market.functions.claim(
                task_id,
                coherent.address,
                tree.amount(coherent.address),
                tree.proof(coherent.address),
            )
        )
    assert refused.value.name == "TaskMarketPayoutExceeded"
    bond = bond_of(terms)
    before = {r.address: balance(contracts, r.address) for r in (coherent, silent)}
    anyone = send(w3, actors.annotator_c)
    for reviewer in (coherent, silent):
        settle_review(anyone, board, task_id, reviewer.address, tree)
    assert (
        balance(contracts, coherent.address)
        == before[coherent.address] + pay[coherent.address.lower()].pay + bond
    )
    assert balance(contracts, silent.address) == before[silent.address]
    with pytest.raises(ContractRevertError) as twice:
        settle_review(anyone, board, task_id, coherent.address, tree)
    assert twice.value.name == "ReviewAlreadySettled"

    requester_before = balance(contracts, actors.requester.address)
    burn_before = balance(contracts, BURN)
    decided = read_review(board, task_id)  # what the requester's node read: due
    assert decided is not None and decided.settled_count == decided.reviewer_count
    finish_review(anyone, board, task_id)
    # The requester's node judged it due from the same block: its call reverts, and that
    # is no error, since the board shows the review finished by another.
    assert finish_review_once(send(w3, actors.requester), board, task_id, decided) is False
    refund = balance(contracts, actors.requester.address) - requester_before
    assert refund == escrow_of(terms) - outcome.votes_bought * PARAMS.fee_per_vote
    assert balance(contracts, BURN) - burn_before == outcome.burned
    assert balance(contracts, board.address) == 0
    review = read_review(board, task_id)
    assert review is not None and review.finished and review.held == 0
    # A failure that is no race is raised: a task with no review.
    with pytest.raises(ContractRevertError):
        finish_review_once(anyone, board, task_id + 1, decided)
