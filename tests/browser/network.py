"""The rest of the network around the node under test, driven straight on the chain.

The browser test's node is the only annotator that labels through the page; two more
annotators commit and reveal from here, and two staked validators attest the consensus the
project's own code computes over all three revealed batches, so the task finalizes for
real and the requester view has an attested result to chart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.engines import attach
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import JsonValue
from node.protocol.commitments import algorithm_id, gold_commitment, label_commitment
from node.protocol.labels import LabelBatch
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.chain.test_lifecycle import HOUR, TOKEN, sender, stake_validators
from tests.conftest import Actors, advance_time
from tests.roles.network import TINY_TASK_CONSENSUS

REWARD, FEE, BOND, REDUNDANCY = 2 * TOKEN, TOKEN, TOKEN, 3


@dataclass(frozen=True)
class PostedTask:
    task_id: int
    reward_pool: int


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def joined(node: NodeUnderTest, task_id: int) -> bool:
    cards = httpx.get(f"{node.url}/api/v1/ui/tasks", headers=node.headers()).json()
    return any(c["task_id"] == task_id and c["participation"] == "joined" for c in cards)


def node_on_task(
    node: NodeUnderTest,
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    blobs: Iterable[bytes],
    manifest_cid: str,
    num_items: int,
) -> PostedTask:
    """The requester's content in the node's own store, the task posted on chain, and the
    node (bonded as the annotator) started and joined to it."""
    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in blobs:
        store.put(blob)
    task = post_task(w3, contracts, actors.deployer, actors.requester, manifest_cid, num_items)
    bond_ready(w3, contracts, actors.deployer, ANNOTATOR)
    node.start()
    wait_until(lambda: joined(node, task.task_id), "the node to join the task")
    return task


def post_task(
    w3: Web3,
    contracts: Contracts,
    deployer: LocalAccount,
    requester: LocalAccount,
    manifest_cid: str,
    num_items: int,
    algorithm: str = "ds-gold@1",
) -> PostedTask:
    """``createTask`` with an hour of commit window and three labels wanted per item;
    ``algorithm`` is the on-chain id (a node that runs the consensus needs a known one)."""
    sender(w3, deployer).transact(
        contracts.token.functions.transfer(requester.address, 1_000 * TOKEN)
    )
    escrow = REWARD * num_items * REDUNDANCY + FEE
    now = w3.eth.get_block("latest")["timestamp"]
    params = (
        manifest_cid,
        algorithm_id(algorithm),
        gold_commitment(os.urandom(32), os.urandom(32)),
        REWARD,
        FEE,
        BOND,
        now + HOUR,
        now + 2 * HOUR,
        now + 3 * HOUR,
        num_items,
        REDUNDANCY,
        0,  # seatDeadline: an open task (no seats)
        0,  # batchSize
    )
    poster = sender(w3, requester)
    poster.transact(contracts.token.functions.approve(contracts.market.address, escrow))
    receipt = poster.transact(contracts.market.functions.createTask(params))
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return PostedTask(int(event.args.taskId), int(event.args.rewardPool))


def bond_ready(
    w3: Web3, contracts: Contracts, deployer: LocalAccount, account: LocalAccount
) -> None:
    """Gas money and an approved annotator bond for ``account``."""
    attach(w3).set_balance(account.address, 10**20)
    sender(w3, deployer).transact(contracts.token.functions.transfer(account.address, BOND))
    sender(w3, account).transact(contracts.token.functions.approve(contracts.market.address, BOND))


@dataclass(frozen=True)
class Peer:
    """An annotator that labels from a script: its batch and the salt it committed with."""

    account: LocalAccount
    batch: LabelBatch
    salt: bytes

    def commit(self, w3: Web3, contracts: Contracts) -> None:
        commitment = label_commitment(
            self.batch.task_id, self.account.address, self.batch.root(), self.salt
        )
        sender(w3, self.account).transact(
            contracts.market.functions.commit(self.batch.task_id, commitment)
        )

    def reveal(self, w3: Web3, contracts: Contracts) -> None:
        sender(w3, self.account).transact(
            contracts.market.functions.reveal(
                self.batch.task_id, self.batch.root(), self.batch.cid(), self.salt
            )
        )


def peer(account: LocalAccount, task_id: int, labels: dict[str, JsonValue]) -> Peer:
    return Peer(
        account, LabelBatch.create(task_id, account.address, labels.items()), os.urandom(32)
    )


def settle(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    task: PostedTask,
    batches: list[LabelBatch],
    classes: tuple[str, ...],
) -> ConsensusOutcome:
    """Consensus over ``batches``, attested by two staked validators, then finalized.

    Call in the reveal window; returns the outcome (whose document the caller publishes).
    """
    spec = TaskSpec(
        task_id=task.task_id,
        rewards=TINY_TASK_CONSENSUS.reward_params(REWARD, task.reward_pool),
        classes=classes,
    )
    outcome = run_consensus(spec, batches)
    stake_validators(w3, contracts, actors)
    advance_time(w3, HOUR)  # the attest window
    for role in ("validator_1", "validator_2"):
        sender(w3, getattr(actors, role)).transact(
            contracts.market.functions.attest(
                task.task_id, outcome.payout_root, outcome.total_payout, outcome.cid
            )
        )
    advance_time(w3, HOUR)
    sender(w3, actors.outsider).transact(contracts.market.functions.finalize(task.task_id))
    return outcome
