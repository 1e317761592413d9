"""The claim duty pays an annotator exactly its winning leaves, in one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.db.repositories.settlement import PayoutRepository
from node.roles.settlement import load_winning_result
from tests.chain.test_lifecycle import TOKEN
from tests.conftest import Actors, advance_time
from tests.roles.network import SLOPPY, TRUTH, Network, Posted, make_network, post_task, reveal_all

LABELS = {"annotator_a": TRUTH, "annotator_b": TRUTH, "annotator_c": SLOPPY}
EXPECTED = {"annotator_a": 40 * TOKEN, "annotator_b": 40 * TOKEN, "annotator_c": 30 * TOKEN}


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def settle(net: Network, count: int) -> list[Posted]:
    """``count`` tasks labelled by LABELS, attested by two honest validators, finalized."""
    tasks = [post_task(net) for _ in range(count)]
    reveal_all(net, tasks, LABELS)
    for role in ("validator_1", "validator_2"):
        net.sync(role)
        net.validator(role, finalize_early=False).tick()
    advance_time(net.w3, 3600)
    net.sync("validator_1")
    net.validator("validator_1", finalize_early=False).tick()
    for task in tasks:
        assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED
    return tasks


def test_each_annotator_claims_its_leaves_of_every_task_in_one_transaction(net: Network) -> None:
    tasks = settle(net, 2)
    paid_of = net.contracts.market.functions.paidOf
    for role, amount in EXPECTED.items():
        net.sync(role)
        before, nonce = net.balance(role), net.nonce(role)
        net.claimer(role).tick()
        assert net.balance(role) - before == 2 * amount
        assert net.nonce(role) == nonce + 1  # one claimMany over both tasks
        address = getattr(net.actors, role).address
        assert [paid_of(t.task_id, address).call() for t in tasks] == [amount, amount]

        net.sync(role)  # the mirror marks the leaves claimed: nothing more to send
        with net.peer(role).db.session() as session:
            assert PayoutRepository(session).claimable(net.chain_id, address) == []
            earnings = PayoutRepository(session).earnings(net.chain_id, address)
        assert (earnings.claimed, earnings.unclaimed) == (2 * amount, 0)
        net.claimer(role).tick()
        assert net.nonce(role) == nonce + 1


def test_a_leaf_paid_before_a_restart_is_not_claimed_again(net: Network) -> None:
    first, second = settle(net, 2)
    net.sync("annotator_c")
    db = net.peer("annotator_c").db
    result = load_winning_result(db, net.store, net.chain_id, first.task_id)
    assert result is not None
    address = net.actors.annotator_c.address
    (leaf,) = [leaf for leaf in result.leaves if leaf.account == address]
    # Claimed on chain (say just before a crash); the node's mirror has not seen it yet.
    net.claimer("annotator_c").sender.transact(
        net.contracts.market.functions.claim(
            first.task_id, address, leaf.amount, [bytes.fromhex(p[2:]) for p in leaf.proof]
        )
    )
    before = net.balance("annotator_c")
    net.claimer("annotator_c").tick()
    assert net.balance("annotator_c") - before == EXPECTED["annotator_c"]
    assert net.contracts.market.functions.paidOf(second.task_id, address).call() == leaf.amount


def test_an_account_without_a_leaf_claims_nothing(net: Network) -> None:
    settle(net, 1)
    net.sync("validator_1")
    nonce = net.nonce("validator_1")
    net.claimer("validator_1").tick()  # validators are paid in stake, not in leaves
    assert net.nonce("validator_1") == nonce
