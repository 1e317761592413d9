"""The annotator duty commits and reveals on a real anvil, and resumes after crashes.

The duty runs against its own SQLite database, an embedded content store and an event
sync mirroring the chain, as in a node. Crashes are simulated by throwing the duty away
between steps and building a new one on the same database, exactly what a restarted
process does (the process-level SIGKILL test lives with the node runtime).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.chain.tx import TxSender
from node.db.engine import Database, open_database
from node.db.models import CommitState, ItemCreate, LabelCreate
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.labels import LabelRepository
from node.db.repositories.tasks import ItemRepository
from node.db.types import utcnow
from node.protocol.labels import LABELS_V1, LABELS_V2, read_batch
from node.protocol.manifest import ItemSpec, build_task_content
from node.roles.annotator import AnnotatorDuty, CommitPolicy
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import HOUR, Task, create_task, fund, sender
from tests.conftest import Actors, advance_time

ITEMS = ["q1", "q2", "q3", "q4"]


@dataclass
class Node:
    db: Database
    store: EmbeddedStore
    sync: EventSync
    account: LocalAccount
    chain_id: int
    contracts: Contracts

    def duty(
        self, policy: CommitPolicy | None = None, clock: Callable[[], dt.datetime] = utcnow
    ) -> AnnotatorDuty:
        """A fresh duty over the same database, as after a process restart."""
        return AnnotatorDuty(
            db=self.db,
            store=self.store,
            market=self.contracts.market,
            sender=TxSender(self.contracts.market.w3, self.account),
            chain_id=self.chain_id,
            policy=policy,
            clock=clock,
        )

    def state(self, task_id: int) -> CommitState | None:
        with self.db.session() as session:
            row = CommitmentRepository(session).get(self.chain_id, task_id, self.account.address)
        return None if row is None else row.state


@pytest.fixture
def node(
    tmp_path: Path, w3: Web3, deployment: Deployment, contracts: Contracts, actors: Actors
) -> Node:
    db = open_database(url=f"sqlite:///{tmp_path / 'node.db'}")
    mirror = ChainMirror(deployment.chain_id)
    sync = EventSync(
        w3, db, deployment, mirror, on_rewind=mirror.rewind, config=SyncConfig(confirmations=0)
    )
    return Node(
        db,
        EmbeddedStore(tmp_path / "store"),
        sync,
        actors.annotator_a,
        deployment.chain_id,
        contracts,
    )


def prepare(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    node: Node,
    labelled: list[str],
    labels: str = LABELS_V2,
) -> Task:
    """A task on chain, mirrored, with its manifest in the node's store (as the loader
    leaves it; it names the task's batch schema, ``labels``), its items stored and some of
    them labelled."""
    content = build_task_content(
        [ItemSpec(item, data=item) for item in ITEMS],
        title="t",
        classes=("cat", "dog"),
        labels=labels,
    )
    for blob in content.blobs():
        node.store.put(blob)
    task = create_task(w3, contracts, actors, manifest_cid=content.manifest_cid)
    fund(w3, contracts, actors, node.account, task.bond)
    sender(w3, node.account).transact(
        contracts.token.functions.approve(contracts.market.address, task.bond)
    )
    node.sync.sync_once()
    with node.db.write() as session:
        ItemRepository(session).upsert_many(
            node.chain_id,
            task.task_id,
            [ItemCreate(item_id=item, position=i) for i, item in enumerate(ITEMS)],
        )
        LabelRepository(session).upsert_batch(
            node.chain_id,
            task.task_id,
            node.account.address,
            [LabelCreate(item_id=item, value={"class": "cat"}) for item in labelled],
        )
    return task


@pytest.mark.parametrize("schema", [LABELS_V2, LABELS_V1])
def test_commit_then_reveal_publishes_the_committed_batch(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node, schema: str
) -> None:
    """The batch is revealed in the schema the task's manifest names: ``labels@2`` (pages,
    then the root whose CID is revealed) for new tasks, ``labels@1`` for older ones."""
    task = prepare(w3, contracts, actors, node, ITEMS, labels=schema)
    duty = node.duty()
    duty.tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED
    # Nothing is published before the reveal: the batch is not in the store yet.
    with node.db.session() as session:
        row = CommitmentRepository(session).get(node.chain_id, task.task_id, node.account.address)
    assert row is not None and row.own_labels_cid is not None
    assert not node.store.has(row.own_labels_cid)

    duty.tick()  # still in the commit window: nothing to do
    advance_time(w3, HOUR + 1)
    duty.tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.REVEALED
    market = contracts.market.functions
    assert market.commitmentOf(task.task_id, node.account.address).call() == (1).to_bytes(32, "big")
    assert row.own_labels_root is not None
    revealed = node.store.get(row.own_labels_cid, max_size=1 << 20)
    assert json.loads(revealed)["schema"] == schema
    published = read_batch(
        revealed,
        lambda cid: node.store.get(cid, max_size=1 << 20),
        task_id=task.task_id,
        annotator=node.account.address,
        labels_root=bytes.fromhex(row.own_labels_root.removeprefix("0x")),
        schema=schema,
    )
    assert [item for item, _ in published.labels] == ITEMS
    assert published.cid(schema) == row.own_labels_cid


def test_partial_labels_wait_until_the_deadline_margin(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node
) -> None:
    task = prepare(w3, contracts, actors, node, ITEMS[:2])
    node.duty().tick()
    assert node.state(task.task_id) is None  # half done, an hour left: keep labelling
    advance_time(w3, HOUR - 60)  # inside the default 120 s margin
    node.duty().tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED


def test_restart_after_intent_sends_the_commit(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = prepare(w3, contracts, actors, node, ITEMS)
    crashing = node.duty()

    def die(*_args: object) -> None:
        raise KeyboardInterrupt("process killed after recording the intent")

    monkeypatch.setattr(crashing, "_send_commit", die)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.PENDING  # intent stored, nothing sent
    monkeypatch.undo()

    node.duty().tick()  # the restarted node finds the intent and sends it
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED


def test_restart_after_unrecorded_send_does_not_lose_the_commit(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit went out but its hash was never recorded: the restart resends the same
    commitment, which the contract accepts as a replacement without a second bond."""
    task = prepare(w3, contracts, actors, node, ITEMS)
    crashing = node.duty()
    real_submit = crashing.sender.submit

    def submit_then_die(call: object, **kwargs: int) -> object:
        real_submit(call, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt("killed between send and record")

    monkeypatch.setattr(crashing.sender, "submit", submit_then_die)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    balance = contracts.token.functions.balanceOf(node.account.address).call()
    node.duty().tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED
    assert contracts.token.functions.balanceOf(node.account.address).call() == balance
    advance_time(w3, HOUR + 1)
    node.duty().tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.REVEALED


def test_a_person_has_the_grace_period_to_correct_the_last_answers(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node
) -> None:
    task = prepare(w3, contracts, actors, node, ITEMS)
    wall = [utcnow()]
    duty = node.duty(CommitPolicy(grace=60), clock=lambda: wall[0])
    duty.tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is None  # all labelled, but just now: wait

    with node.db.write() as session:  # a correction restarts the wait
        LabelRepository(session).upsert_batch(
            node.chain_id,
            task.task_id,
            node.account.address,
            [LabelCreate(item_id="q4", value="dog")],
        )
    wall[0] = utcnow() + dt.timedelta(seconds=59)
    duty.tick()
    assert node.state(task.task_id) is None

    wall[0] = utcnow() + dt.timedelta(seconds=61)
    duty.tick()
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED
    with node.db.session() as session:
        row = CommitmentRepository(session).get(node.chain_id, task.task_id, node.account.address)
        labels = LabelRepository(session).list_for(
            node.chain_id, task.task_id, node.account.address
        )
    assert row is not None and {label.item_id: label.value for label in labels}["q4"] == "dog"
