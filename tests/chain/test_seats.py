"""Seated tasks on a real chain (market v2, docs/settlement.md §1.2), driven from Python.

A task posted with a batch size has ``numItems * redundancy / batchSize`` seats. Annotators
claim them with ``claimSeat`` until the seat deadline, one per address, and only a seat
holder may commit. An open task (batch size 0, what the node posts today) has no seats.
"""

from __future__ import annotations

import os

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.errors import ContractRevertError
from node.chain.market import read_task
from node.chain.tx import TxSender
from node.protocol.commitments import algorithm_id, label_commitment
from tests.conftest import TEST_CONFIG, Actors, advance_time

TOKEN = 10**18
HOUR = 3600
NUM_ITEMS, REDUNDANCY, BATCH = 4, 3, 4  # 12 positions: 3 seats of 4 items
REWARD, FEE, BOND = TOKEN, TOKEN, 2 * TOKEN


def _sender(w3: Web3, account: LocalAccount) -> TxSender:
    return TxSender(w3, account)


def _create(w3: Web3, contracts: Contracts, actors: Actors, *, batch: int) -> tuple[int, int]:
    """Post a task (seated unless ``batch`` is 0); its id and seat deadline (0 when open)."""
    deployer, requester = _sender(w3, actors.deployer), _sender(w3, actors.requester)
    escrow = NUM_ITEMS * REDUNDANCY * REWARD + FEE
    deployer.transact(contracts.token.functions.transfer(actors.requester.address, escrow))
    now = int(w3.eth.get_block("latest")["timestamp"])
    seat_deadline = now + HOUR if batch else 0
    commit_deadline = now + HOUR + TEST_CONFIG.min_label_time
    params = (
        "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        algorithm_id("ds-gold@1"),
        bytes(32),
        REWARD,
        FEE,
        BOND,
        commit_deadline,
        commit_deadline + HOUR,
        commit_deadline + 2 * HOUR,
        NUM_ITEMS,
        REDUNDANCY,
        seat_deadline,
        batch,
    )
    requester.transact(contracts.token.functions.approve(contracts.market.address, escrow))
    receipt = requester.transact(contracts.market.functions.createTask(params))
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId), seat_deadline


def _claim(w3: Web3, contracts: Contracts, actors: Actors, who: LocalAccount, task_id: int) -> int:
    """Fund and approve the bond, claim a seat; the seat number from ``SeatClaimed``."""
    _sender(w3, actors.deployer).transact(contracts.token.functions.transfer(who.address, BOND))
    annotator = _sender(w3, who)
    annotator.transact(contracts.token.functions.approve(contracts.market.address, BOND))
    receipt = annotator.transact(contracts.market.functions.claimSeat(task_id))
    (event,) = contracts.market.events.SeatClaimed().process_receipt(receipt, errors=DISCARD)
    assert event.args.taskId == task_id and event.args.annotator == who.address
    return int(event.args.seat)


def _commitment(task_id: int, who: LocalAccount) -> bytes:
    return label_commitment(task_id, who.address, os.urandom(32), os.urandom(32))


def test_seats_are_claimed_once_each_until_the_deadline(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    market, token = contracts.market, contracts.token
    assert market.functions.version().call() == 3  # v3: v2 plus gated tasks through the gate
    task_id, seat_deadline = _create(w3, contracts, actors, batch=BATCH)
    state = read_task(market, task_id)
    assert state.seated and state.seat_limit == NUM_ITEMS * REDUNDANCY // BATCH == 3
    assert state.seat_deadline == seat_deadline

    a, b, c = actors.annotator_a, actors.annotator_b, actors.annotator_c
    assert _claim(w3, contracts, actors, a, task_id) == 0
    assert _claim(w3, contracts, actors, b, task_id) == 1
    assert token.functions.balanceOf(a.address).call() == 0  # the seat took the bond
    state = read_task(market, task_id)
    assert (state.seat_count, state.commit_count) == (2, 0)
    assert market.functions.hasSeat(task_id, a.address).call()
    assert not market.functions.hasSeat(task_id, c.address).call()

    # One seat per address: a second claim is refused, and takes no second bond.
    _sender(w3, actors.deployer).transact(token.functions.transfer(a.address, BOND))
    _sender(w3, a).transact(token.functions.approve(market.address, BOND))
    with pytest.raises(ContractRevertError) as twice:
        _sender(w3, a).transact(market.functions.claimSeat(task_id))
    assert twice.value.name == "TaskMarketAlreadySeated"
    assert twice.value.args_ == (task_id, a.address.lower())
    assert token.functions.balanceOf(a.address).call() == BOND

    # Only a seat holder commits; its commit takes no bond (the seat did).
    with pytest.raises(ContractRevertError) as unseated:
        _sender(w3, c).transact(market.functions.commit(task_id, _commitment(task_id, c)))
    assert unseated.value.name == "TaskMarketNoSeat"
    commitment = _commitment(task_id, a)
    _sender(w3, a).transact(market.functions.commit(task_id, commitment))
    assert market.functions.commitmentOf(task_id, a.address).call() == commitment
    assert token.functions.balanceOf(a.address).call() == BOND

    # After the seat deadline the last seat stays empty.
    advance_time(w3, seat_deadline - int(w3.eth.get_block("latest")["timestamp"]) + 1)
    _sender(w3, actors.deployer).transact(token.functions.transfer(c.address, BOND))
    _sender(w3, c).transact(token.functions.approve(market.address, BOND))
    with pytest.raises(ContractRevertError) as late:
        _sender(w3, c).transact(market.functions.claimSeat(task_id))
    assert late.value.name == "TaskMarketSeatsClosed"
    assert late.value.args_ == (task_id, seat_deadline)
    assert read_task(market, task_id).seat_count == 2


def test_an_open_task_has_no_seats_and_anyone_commits(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    market = contracts.market
    task_id, _ = _create(w3, contracts, actors, batch=0)
    state = read_task(market, task_id)
    assert not state.seated and (state.seat_limit, state.seat_deadline) == (0, 0)
    a = actors.annotator_a
    with pytest.raises(ContractRevertError) as closed:
        _sender(w3, a).transact(market.functions.claimSeat(task_id))
    assert closed.value.name == "TaskMarketSeatsClosed"
    _sender(w3, actors.deployer).transact(contracts.token.functions.transfer(a.address, BOND))
    _sender(w3, a).transact(contracts.token.functions.approve(market.address, BOND))
    _sender(w3, a).transact(market.functions.commit(task_id, _commitment(task_id, a)))
    assert read_task(market, task_id).commit_count == 1


def test_a_seated_task_needs_a_batch_that_divides_the_positions(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    with pytest.raises(ContractRevertError) as invalid:
        _create(w3, contracts, actors, batch=5)  # 12 positions: not whole batches of 5
    assert invalid.value.name == "TaskMarketInvalidBatchSize"
    assert invalid.value.args_ == (5, NUM_ITEMS, REDUNDANCY)
