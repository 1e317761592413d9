"""Issue #13, critical finding: one annotator's batch stalls every validator.

Before: the revealed ``labelsCid`` was not bound to anything a validator could check
cheaply and the validator handled tasks one after another, so one slow batch (a 100-deep
chain served at 3 s per block) kept three honest validators fetching past the attest
deadline, for every task. Now a batch must have the canonical layout (a deep chain is dropped
after its first block, by a rule on its bytes that every honest validator applies alike),
batches are read concurrently, and a tick gives one task a bounded time, so a tarpit delays
neither the honest batches nor the validator's other tasks; a batch still unread when half
the attest window is gone is left out.

A real anvil and real HTTP gateways: the honest batches are served by one peer, the
attacker's by a peer of its own that answers slowly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.tx import TxSender
from node.db.models import ValidationState
from node.db.repositories.validation import ValidationRepository
from node.roles import validator as validator_module
from node.roles.validator import ValidatorDuty
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore
from tests.conftest import Actors, advance_time
from tests.roles.network import SLOPPY, TRUTH, Network, make_network, post_task, reveal_all
from tests.security.attacker import SlowGateway, chain_dag
from tests.store.servers import gateway_app, serve

LABELS = {"annotator_a": TRUTH, "annotator_b": TRUTH, "annotator_c": SLOPPY}
DOCUMENT = b'{"schema":"labelnet/labels@1"}'


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


@pytest.fixture
def attacker() -> Iterator[tuple[SlowGateway, str]]:
    gateway = SlowGateway({})
    with serve(gateway.app) as url:
        try:
            yield gateway, url
        finally:
            gateway.close()


@pytest.fixture
def validator(net: Network, attacker: tuple[SlowGateway, str]) -> Iterator[ValidatorDuty]:
    """validator_1 reading through HTTP: the honest peer first, then the attacker's."""
    with ExitStack() as stack:
        honest = stack.enter_context(serve(gateway_app(net.store)))
        store = stack.enter_context(
            GatewayStore(EmbeddedStore(net.tmp_path / "v1-store"), [honest, attacker[1]])
        )
        peer = net.peer("validator_1")
        yield ValidatorDuty(
            db=peer.db,
            store=store,
            market=net.contracts.market,
            staking=net.contracts.staking,
            sender=TxSender(net.w3, peer.account),
            chain_id=net.chain_id,
            finalize_early=False,
        )


def _state(net: Network, task_id: int) -> tuple[ValidationState, int, int] | None:
    with net.peer("validator_1").db.session() as session:
        row = ValidationRepository(session).get(
            net.chain_id, task_id, net.actors.validator_1.address
        )
    return None if row is None else (row.state, row.batches_used, row.batches_dropped)


def _timed_tick(net: Network, duty: ValidatorDuty) -> float:
    net.sync("validator_1")
    started = time.monotonic()
    duty.tick()
    return time.monotonic() - started


def test_a_deep_chain_batch_served_slowly_is_dropped_on_its_first_block(
    net: Network, attacker: tuple[SlowGateway, str], validator: ValidatorDuty
) -> None:
    gateway, _ = attacker
    root, blocks = chain_dag(DOCUMENT, 100)
    gateway.blocks, gateway.delay = blocks, 1.0
    task = post_task(net)
    reveal_all(net, [task], LABELS, revealed_cids={"annotator_c": root})
    elapsed = _timed_tick(net, validator)
    assert _state(net, task.task_id) == (ValidationState.SENT, 2, 1)
    assert gateway.asked & set(blocks) == {root}  # the root only, not the 100 blocks below it
    assert elapsed < 1.0 + validator_module.TASK_FETCH_SECONDS


def test_a_tarpit_batch_neither_stalls_other_tasks_nor_outlives_half_the_window(
    net: Network,
    attacker: tuple[SlowGateway, str],
    validator: ValidatorDuty,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validator_module, "TASK_FETCH_SECONDS", 1.0)
    gateway, _ = attacker
    root, blocks = chain_dag(DOCUMENT, 0)  # canonical, but served after a minute
    gateway.blocks, gateway.delay = blocks, 60.0
    tasks = [post_task(net), post_task(net)]
    reveal_all(net, tasks, LABELS, revealed_cids={"annotator_c": root})

    elapsed = _timed_tick(net, validator)  # early in the window: both tasks wait for it
    assert [_state(net, task.task_id) for task in tasks] == [None, None]
    assert elapsed < 2 * (1.0 + 1.0) + 2.0  # two tasks, each its second and a block's grace

    advance_time(net.w3, 1800)  # half of the hour-long attest window has passed
    elapsed = _timed_tick(net, validator)
    assert [_state(net, task.task_id) for task in tasks] == [(ValidationState.SENT, 2, 0)] * 2
    assert elapsed < 2 * (1.0 + 1.0) + 2.0
