"""One whole task lifecycle on a real chain, driven from Python as a node would drive it.

Three annotators commit and reveal, three validators attest (one of them a wrong root),
finalize slashes the liar and rewards the others, everyone claims with proofs from the
project's own Merkle tree, the requester is refunded, and every token is accounted for.
Every test here runs on both engines, anvil and Hardhat: the protocol must not depend on
which local chain a network is tried on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts, Deployment, deploy
from node.chain.devchain import DevChain
from node.chain.errors import ContractRevertError
from node.chain.market import TaskStatus, read_task
from node.chain.tx import TxSender
from node.protocol.commitments import algorithm_id, gold_commitment, label_commitment
from node.protocol.merkle import PayoutTree
from tests.conftest import TEST_CONFIG, Actors, advance_time

TOKEN = 10**18
STAKE = 10_000 * TOKEN
HOUR = 3600


@pytest.fixture(scope="module", params=["anvil", "hardhat"])
def w3(request: pytest.FixtureRequest) -> Web3:
    """This file's chain: the session's anvil, then the session's Hardhat node."""
    chain: DevChain = request.getfixturevalue(request.param)
    return Web3(Web3.HTTPProvider(chain.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def deployment(w3: Web3, actors: Actors) -> Deployment:
    """The contracts on this file's chain (per-test snapshots undo what tests do to them)."""
    return deploy(TxSender(w3, actors.deployer), TEST_CONFIG)


@dataclass
class Task:
    task_id: int
    reward_pool: int
    validator_fee: int
    bond: int
    gold_root: bytes
    gold_salt: bytes


def sender(w3: Web3, account: LocalAccount) -> TxSender:
    return TxSender(w3, account)


def fund(
    w3: Web3, contracts: Contracts, actors: Actors, account: LocalAccount, amount: int
) -> None:
    sender(w3, actors.deployer).transact(
        contracts.token.functions.transfer(account.address, amount)
    )


def stake_validators(w3: Web3, contracts: Contracts, actors: Actors) -> None:
    for role in ("validator_1", "validator_2", "validator_3"):
        fund(w3, contracts, actors, getattr(actors, role), STAKE)
        validator = sender(w3, getattr(actors, role))
        validator.transact(contracts.token.functions.approve(contracts.staking.address, STAKE))
        validator.transact(contracts.staking.functions.stake(STAKE))


def create_task(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    manifest_cid: str = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
) -> Task:
    """A 4-item task; ``manifest_cid`` names its manifest (by default the CID of b"hello",
    for tests where no node reads it)."""
    fund(w3, contracts, actors, actors.requester, 1_000 * TOKEN)
    requester = sender(w3, actors.requester)
    now = w3.eth.get_block("latest")["timestamp"]
    gold_root, gold_salt = os.urandom(32), os.urandom(32)
    num_items, redundancy, reward, fee, bond = 4, 3, 10 * TOKEN, 9 * TOKEN, 2 * TOKEN
    params = (
        manifest_cid,
        algorithm_id("ds-gold@1"),
        gold_commitment(gold_root, gold_salt),
        reward,
        fee,
        bond,
        now + HOUR,
        now + 2 * HOUR,
        now + 3 * HOUR,
        num_items,
        redundancy,
        0,  # seatDeadline: an open task (no seats)
        0,  # batchSize
    )
    pool = num_items * redundancy * reward
    requester.transact(contracts.token.functions.approve(contracts.market.address, pool + fee))
    receipt = requester.transact(contracts.market.functions.createTask(params))
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    assert event.args.rewardPool == pool
    return Task(event.args.taskId, pool, fee, bond, gold_root, gold_salt)


def test_whole_lifecycle_slashes_liar_and_pays_everyone(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    token, staking, market = contracts.token, contracts.staking, contracts.market
    stake_validators(w3, contracts, actors)
    task = create_task(w3, contracts, actors)
    annotators = [actors.annotator_a, actors.annotator_b, actors.annotator_c]

    # Commit: each annotator deposits the bond and commits to a secret batch root.
    batches = {a.address: (os.urandom(32), os.urandom(32)) for a in annotators}
    for annotator in annotators:
        fund(w3, contracts, actors, annotator, task.bond)
        s = sender(w3, annotator)
        s.transact(token.functions.approve(market.address, task.bond))
        root, salt = batches[annotator.address]
        s.transact(
            market.functions.commit(
                task.task_id, label_commitment(task.task_id, annotator.address, root, salt)
            )
        )
    assert read_task(market, task.task_id).commit_count == 3

    # Reveals are refused during the commit window: nothing readable leaks early.
    early_root, early_salt = batches[actors.annotator_a.address]
    with pytest.raises(ContractRevertError) as too_early:
        sender(w3, actors.annotator_a).transact(
            market.functions.reveal(task.task_id, early_root, "bafkreiearly", early_salt)
        )
    assert too_early.value.name == "TaskMarketTooEarly"

    advance_time(w3, HOUR + 1)
    for annotator in annotators:
        root, salt = batches[annotator.address]
        before = token.functions.balanceOf(annotator.address).call()
        sender(w3, annotator).transact(
            market.functions.reveal(
                task.task_id, root, f"bafkrei{annotator.address[2:10].lower()}", salt
            )
        )
        assert token.functions.balanceOf(annotator.address).call() == before + task.bond
    sender(w3, actors.requester).transact(
        market.functions.revealGold(task.task_id, task.gold_root, "bafkreigold", task.gold_salt)
    )

    # Attest: two validators agree on the consensus payouts, one attests a different root.
    payouts = [
        (actors.annotator_a.address, 40 * TOKEN),
        (actors.annotator_b.address, 40 * TOKEN),
        (actors.annotator_c.address, 20 * TOKEN),
    ]
    honest = PayoutTree.build(payouts)
    wrong = PayoutTree.build([(actors.annotator_c.address, 100 * TOKEN)])
    advance_time(w3, HOUR)
    for role, tree in (("validator_1", honest), ("validator_2", honest), ("validator_3", wrong)):
        sender(w3, getattr(actors, role)).transact(
            market.functions.attest(task.task_id, tree.root, tree.total, "bafkreiresult")
        )
    assert staking.functions.lockedOf(actors.validator_3.address).call() == STAKE // 10

    advance_time(w3, HOUR)
    requester_before = token.functions.balanceOf(actors.requester.address).call()
    receipt = sender(w3, actors.outsider).transact(market.functions.finalize(task.task_id))
    (finalized,) = market.events.TaskFinalized().process_receipt(receipt, errors=DISCARD)
    assert finalized.args.payoutRoot == honest.root
    assert finalized.args.winningWeight * 3 >= finalized.args.attestingWeight * 2

    # The liar lost its lock (10% of stake); the fee and the slashed stake went to the others.
    slashed = STAKE // 10
    share = (task.validator_fee + slashed) // 2
    assert staking.functions.stakeOf(actors.validator_3.address).call() == STAKE - slashed
    for role in ("validator_1", "validator_2"):
        address = getattr(actors, role).address
        assert staking.functions.stakeOf(address).call() == STAKE + share
        assert staking.functions.lockedOf(address).call() == 0
    assert staking.functions.lockedOf(actors.validator_3.address).call() == 0

    # Claim with proofs from the Python tree: one per account, never twice.
    for account, amount in payouts:
        claimer = next(a for a in annotators if a.address == account)
        sender(w3, claimer).transact(
            market.functions.claim(task.task_id, account, amount, honest.proof(account))
        )
        assert market.functions.paidOf(task.task_id, account).call() == amount
    with pytest.raises(ContractRevertError) as twice:
        sender(w3, actors.annotator_a).transact(
            market.functions.claim(
                task.task_id, payouts[0][0], payouts[0][1], honest.proof(payouts[0][0])
            )
        )
    assert twice.value.name == "TaskMarketAlreadyClaimed"

    # Refund, pushed by finalize (market v2): the unspent pool plus the validator split's dust.
    dust = task.validator_fee + slashed - 2 * share
    (refund_event,) = market.events.RequesterRefunded().process_receipt(receipt, errors=DISCARD)
    assert refund_event.args.amount == task.reward_pool - honest.total + dust
    after = token.functions.balanceOf(actors.requester.address).call()
    assert after - requester_before == refund_event.args.amount
    with pytest.raises(ContractRevertError) as again:
        sender(w3, actors.requester).transact(market.functions.refund(task.task_id))
    assert again.value.name == "TaskMarketAlreadyRefunded"

    # Every token is accounted for: the market owes nothing more and holds nothing more.
    assert token.functions.balanceOf(market.address).call() == 0
    assert token.functions.balanceOf(staking.address).call() == (
        staking.functions.totalStaked().call() + staking.functions.totalUnbonding().call()
    )


def test_commit_after_deadline_reverts_with_typed_error(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    task = create_task(w3, contracts, actors)
    advance_time(w3, HOUR + 1)
    with pytest.raises(ContractRevertError) as late:
        sender(w3, actors.annotator_a).transact(
            contracts.market.functions.commit(task.task_id, b"\x11" * 32)
        )
    assert late.value.name == "TaskMarketDeadlinePassed"
    task_id, deadline = late.value.args_
    assert task_id == task.task_id
    assert deadline == read_task(contracts.market, task.task_id).commit_deadline


def test_no_reveals_refunds_whole_bounty(w3: Web3, contracts: Contracts, actors: Actors) -> None:
    task = create_task(w3, contracts, actors)
    balance = contracts.token.functions.balanceOf(actors.requester.address).call()
    advance_time(w3, 2 * HOUR + 1)
    sender(w3, actors.requester).transact(contracts.market.functions.refund(task.task_id))
    after = contracts.token.functions.balanceOf(actors.requester.address).call()
    assert after - balance == task.reward_pool + task.validator_fee
    assert read_task(contracts.market, task.task_id).status is TaskStatus.VOID


def dispute_below_quorum(w3: Web3, contracts: Contracts, actors: Actors) -> tuple[Task, PayoutTree]:
    """Two minimum stakes attest one root paying annotator A the whole pool while a third
    validator, ten times heavier, stays silent; the task is finalized after the attest deadline.

    Unanimous and with ``minAttestations`` attesters, the root still has only 2 of the 12
    thousand staked behind it, below the market's quorum of just over a third.
    """
    market, staking = contracts.market, contracts.staking
    minimum = staking.functions.minStake().call()
    stakes = (("validator_1", minimum), ("validator_2", minimum), ("validator_3", STAKE))
    for role, amount in stakes:
        account = getattr(actors, role)
        fund(w3, contracts, actors, account, amount)
        sender(w3, account).transact(contracts.token.functions.approve(staking.address, amount))
        sender(w3, account).transact(staking.functions.stake(amount))
    task = create_task(w3, contracts, actors)
    annotator = sender(w3, actors.annotator_a)
    fund(w3, contracts, actors, actors.annotator_a, task.bond)
    annotator.transact(contracts.token.functions.approve(market.address, task.bond))
    root, salt = os.urandom(32), os.urandom(32)
    commitment = label_commitment(task.task_id, annotator.address, root, salt)
    annotator.transact(market.functions.commit(task.task_id, commitment))
    advance_time(w3, HOUR + 1)
    annotator.transact(market.functions.reveal(task.task_id, root, "bafkreilabels", salt))
    greedy = PayoutTree.build([(annotator.address, task.reward_pool)])
    advance_time(w3, HOUR)
    for role in ("validator_1", "validator_2"):
        sender(w3, getattr(actors, role)).transact(
            market.functions.attest(task.task_id, greedy.root, greedy.total, "bafkreiresult")
        )
    advance_time(w3, HOUR)
    return task, greedy


def test_result_below_the_stake_quorum_opens_round_one(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    """Market v2: a root below the stake quorum is not provisional; the deadline opens round 1
    instead of a dispute, and nothing is refunded or slashed while the task is open."""
    market, staking = contracts.market, contracts.staking
    assert market.functions.quorumBps().call() == 3334
    task, greedy = dispute_below_quorum(w3, contracts, actors)
    minimum = staking.functions.minStake().call()

    receipt = sender(w3, actors.outsider).transact(market.functions.finalize(task.task_id))
    (opened,) = market.events.RoundOpened().process_receipt(receipt, errors=DISCARD)
    assert opened.args.round == 1
    state = read_task(market, task.task_id)
    assert state.status is TaskStatus.OPEN and state.round == 1
    assert state.round_deadline == opened.args.deadline

    annotator = actors.annotator_a.address
    with pytest.raises(ContractRevertError) as unpaid:
        sender(w3, actors.annotator_a).transact(
            market.functions.claim(task.task_id, annotator, greedy.total, greedy.proof(annotator))
        )
    assert unpaid.value.name == "TaskMarketWrongStatus"
    for role in ("validator_1", "validator_2"):
        address = getattr(actors, role).address
        assert staking.functions.stakeOf(address).call() == minimum
    with pytest.raises(ContractRevertError) as open_refund:
        sender(w3, actors.requester).transact(market.functions.refund(task.task_id))
    assert open_refund.value.name == "TaskMarketNotFinal"
