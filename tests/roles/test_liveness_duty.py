"""The annotator's liveness duty on a real anvil (docs/settlement.md §2.5, issue #16).

A seated task (six items, k = 2, three seats) whose batches are all revealed, and no
validator ever attests, although three hold stake. The annotator's node moves the empty
rounds 0 and 1 on with ``finalize``, votes the task's result in round 2 with the minimum
stake, and finalizes it after the challenge period; every annotator's claim then pays
exactly the rate per accepted label. The node is a real ``labelnet node start`` process,
killed with SIGKILL right after it records its vote's intent, or right after it sends the
vote, and started again: it neither loses the vote nor sends a second one. An annotator
without stake moves the rounds on too, and says once why it cannot vote.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from node.chain.anvil import Anvil, free_port
from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.chain.seal import seal_time
from node.db.repositories.tasks import TaskRepository
from node.faults import CRASH_ENV
from node.protocol.result import parse_result
from node.protocol.result_pages import iter_result_items
from node.roles.liveness import LivenessDuty
from node.store.embedded import EmbeddedStore
from tests.api.conftest import PASSWORD, write_deployment, write_keystore
from tests.chain.test_lifecycle import fund, sender, stake_validators
from tests.conftest import Actors, advance_time
from tests.roles.network import Network
from tests.roles.test_assignment import (
    ANNOTATORS,
    ITEMS,
    RATE,
    _commit_reveal,
    assigner,
    claim,
    post_seated,
)

pytestmark = pytest.mark.timeout(600)

PATIENCE = 180.0
"""Seconds a node gets to reach each step (about one on an idle machine; the shared CI
machine can be far slower)."""

COMMAND = (str(Path(sys.executable).parent / "labelnet"), "node", "start")
NODE = "annotator_a"
"""The annotator whose node runs the liveness duty."""


def seated_and_revealed(net: Network) -> int:
    """The seated task with every seat's honest labels on its dealt items revealed, the
    clock just past the reveal deadline (round 0, which nobody attests); its id."""
    task_id, seat_deadline = post_seated(net)
    for role in ANNOTATORS:
        claim(net, role, task_id)
    past(net, seal_time(seat_deadline))  # the seal block: the deal's seed
    net.sync(NODE)
    seats = assigner(net, NODE)
    with net.peer(NODE).db.session() as session:
        task = TaskRepository(session).get(net.chain_id, task_id)
    assert task is not None
    assert seats.task_deal(task) is not None
    item_ids = list(ITEMS)
    labels: dict[str, dict[str, object]] = {}
    for role in ANNOTATORS:
        positions = seats.dealt_positions(task, getattr(net.actors, role).address)
        assert positions is not None
        labels[role] = {item_ids[p]: ITEMS[item_ids[p]] for p in positions}
    _commit_reveal(net, task_id, labels)
    return task_id


def past(net: Network, timestamp: int) -> None:
    """Move the chain clock to just after ``timestamp``."""
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    advance_time(net.w3, max(1, timestamp + 1 - now))


def stake_minimum(net: Network, role: str) -> int:
    account = getattr(net.actors, role)
    amount = int(net.contracts.staking.functions.minStake().call())
    fund(net.w3, net.contracts, net.actors, account, amount)
    staker = sender(net.w3, account)
    staker.transact(net.contracts.token.functions.approve(net.contracts.staking.address, amount))
    staker.transact(net.contracts.staking.functions.stake(amount))
    return amount


def wait_until(
    condition: Callable[[], bool], what: str, node: NodeRun, timeout: float = PATIENCE
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        node.check_alive()
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; node log:\n{node.log_tail()}")


class NodeRun:
    """``labelnet node start`` for one annotator, its output in a log file (a pipe nobody
    reads would fill up and block the node)."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "node.log"

    def start(self, **extra: str) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*COMMAND, "--data-dir", str(self.data_dir), "--port", str(self.port)],
                env={**self.env, **extra},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"node not ready; log:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"node exited {self.process.returncode}:\n{self.log_tail()}")

    def wait_for_death(self) -> int:
        assert self.process is not None
        code = self.process.wait(PATIENCE)
        self.process = None
        return code

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    return tmp_path / "node"


@pytest.fixture
def net(
    w3: Web3,
    contracts: Contracts,
    deployment: Deployment,
    actors: Actors,
    tmp_path: Path,
    node_dir: Path,
) -> Network:
    """The network of tests/roles, whose shared content store is the node's own store
    (standing for its gateway and its peers')."""
    stake_validators(w3, contracts, actors)
    return Network(w3, contracts, deployment, actors, tmp_path, EmbeddedStore.in_data_dir(node_dir))


@pytest.fixture
def node(
    net: Network, node_dir: Path, tmp_path: Path, anvil: Anvil, deployment: Deployment
) -> Iterator[NodeRun]:
    account = getattr(net.actors, NODE)
    write_keystore(node_dir / "keystore.json", key=account.key.to_0x_hex())
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELNET_")}
    env.update(
        LABELNET_ROLE="annotator",
        LABELNET_RPC_URL=anvil.url,
        LABELNET_DEPLOYMENT_FILE=str(write_deployment(tmp_path / "deployment.json", deployment)),
        LABELNET_KEYSTORE_PASSWORD_FILE=str(tmp_path / "password"),
        LABELNET_SYNC_INTERVAL="0.1",
        LABELNET_DUTY_INTERVAL="0.2",
        LABELNET_FINALITY_DEPTH="0",
        LABELNET_ALLOW_PRIVATE_PEERS="true",
    )
    run = NodeRun(node_dir, env)
    try:
        yield run
    finally:
        run.stop()


@pytest.mark.parametrize("crash_at", ["after-attest-intent", "after-attest-submit"])
def test_an_annotator_node_settles_a_task_nobody_attests_and_survives_sigkill(
    crash_at: str, net: Network, node: NodeRun
) -> None:
    market, staking = net.contracts.market, net.contracts.staking
    me = getattr(net.actors, NODE).address
    task_id = seated_and_revealed(net)
    minimum = stake_minimum(net, NODE)
    node.start(**{CRASH_ENV: crash_at})
    state = read_task(market, task_id)
    assert (state.round, state.attest_count) == (0, 0)

    past(net, state.attest_deadline)  # round 0 ends empty: the node opens round 1
    wait_until(lambda: read_task(market, task_id).round == 1, "round 1", node)
    past(net, read_task(market, task_id).round_deadline)  # round 1 ends empty: round 2
    wait_until(lambda: read_task(market, task_id).round == 2, "round 2", node)

    def vote() -> tuple[bytes, int, bool]:
        key, weight, settled = market.functions.finalVoteOf(task_id, me).call()
        return bytes(key), int(weight), bool(settled)

    # The node votes in round 2 and is killed at the crash point; then started again.
    assert node.wait_for_death() == -signal.SIGKILL
    assert (vote()[1] > 0) is (crash_at == "after-attest-submit")  # killed before/after it
    node.start()
    wait_until(lambda: vote()[1] > 0, "the round-2 vote", node)
    assert vote()[1] == minimum  # its whole active stake, once
    final = read_task(market, task_id)
    assert final.status is TaskStatus.OPEN  # below half of all stake: no rule M
    past(net, final.round_deadline)  # round 2's window ends; the vote led for longer
    wait_until(lambda: read_task(market, task_id).status is TaskStatus.FINALIZED, "finalize", node)
    wait_until(lambda: vote()[2], "the vote settled", node)
    wait_until(lambda: market.functions.paidOf(task_id, me).call() > 0, "the node's claim", node)
    node.stop()

    # Exactly one vote from the node, ever; it won the fee.
    attested = market.events.ResultAttested().get_logs(
        from_block=0, argument_filters={"taskId": task_id, "validator": me}
    )
    assert len(attested) == 1
    assert int(staking.functions.stakeOf(me).call()) > minimum
    assert int(staking.functions.frozenOf(me).call()) == 0

    # The other annotators claim with their own nodes' claimers.
    for role in ANNOTATORS:
        if role != NODE:
            net.sync(role)
            net.claimer(role).tick()
    (event,) = attested
    root = parse_result(net.store.get(event.args.resultCid, max_size=1 << 20), task_id).document
    rows = {row["account"]: row for row in root["annotators"]}  # type: ignore[union-attr]
    paid_total = 0
    for role in ANNOTATORS:
        address = getattr(net.actors, role).address
        row = rows[address]
        paid = int(market.functions.paidOf(task_id, address).call())
        assert paid == int(row["payout"]) == RATE * int(row["accepted"]) > 0  # type: ignore[index]
        paid_total += paid
    outcome = read_task(market, task_id)
    assert outcome.total_payout == outcome.paid_out == paid_total
    assert outcome.refundable == outcome.reward_pool - paid_total  # the requester: the rest
    items = list(iter_result_items(root, task_id, lambda c: net.store.get(c, max_size=1 << 20)))
    assert {item["item"] for item in items} == set(ITEMS)  # type: ignore[index]


def test_an_unstaked_annotator_moves_the_rounds_on_and_says_once_why_it_cannot_vote(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    market = net.contracts.market
    task_id = seated_and_revealed(net)
    role = "annotator_b"
    duty = LivenessDuty(
        db=net.peer(role).db,
        store=net.store,
        market=market,
        staking=net.contracts.staking,
        sender=sender(net.w3, getattr(net.actors, role)),
        chain_id=net.chain_id,
        assigner=assigner(net, role),
    )
    net.sync(role)
    nonce = net.nonce(role)
    duty.tick()  # round 0 still open: nothing to do
    assert net.nonce(role) == nonce
    past(net, read_task(market, task_id).attest_deadline)
    net.sync(role)
    duty.tick()
    assert read_task(market, task_id).round == 1
    past(net, read_task(market, task_id).round_deadline)
    net.sync(role)
    with caplog.at_level(logging.WARNING, logger="node.roles.liveness"):
        duty.tick()  # opens round 2, then finds it cannot vote
        assert read_task(market, task_id).round == 2
        nonce = net.nonce(role)
        net.sync(role)
        duty.tick()
    assert net.nonce(role) == nonce  # no vote sent, nothing else either
    said = [r.getMessage() for r in caplog.records if "cannot vote in round 2" in r.getMessage()]
    assert len(said) == 1 and "below the minimum" in said[0]
    assert market.functions.finalVoteOf(task_id, getattr(net.actors, role).address).call()[1] == 0
