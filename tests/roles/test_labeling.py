"""The labeling duty hands joined tasks' items to a labeling program (real anvil, real DB).

A task is posted on chain, mirrored, and joined by the real :class:`TaskLoader` from an
embedded store; then the duty labels it with a replay labeler over a tiny crowd csv, or
with small in-test programs that record what they were given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.chain.tx import TxSender
from node.db.engine import Database, open_database
from node.db.models import CommitState, TaskParticipation
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.labels import LabelRepository
from node.db.repositories.participation import ParticipationRepository
from node.labelers import ItemToLabel, Labeler, LabelingTask, load_labeler
from node.protocol.canonical import JsonValue
from node.roles.annotator import AnnotatorDuty
from node.roles.labeling import LabelingDuty
from node.roles.loader import TaskLoader
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import fund, sender
from tests.conftest import Actors
from tests.roles.test_loader import BOND, IMAGE, post_task, publish, task_content

ANSWERS = """item,worker,label
q1,w1,cat
q2,w2,dog
img,w1,dog
q3,w1,cat
q1,w2,dog
"""
"""Worker w1 answered q1, img and q3 (never q2)."""


@dataclass
class Recording:
    """A labeler that answers ``value`` for every item and records what it was given."""

    value: JsonValue = "cat"
    calls: list[list[ItemToLabel]] = field(default_factory=list)

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        self.calls.append(list(items))
        return [self.value for _ in items]


@dataclass
class Node:
    db: Database
    store: EmbeddedStore
    sync: EventSync
    account: LocalAccount
    chain_id: int
    contracts: Contracts
    task_id: int

    def clock(self) -> int:
        return int(self.contracts.market.w3.eth.get_block("latest")["timestamp"])

    def labeling(self, labeler: Labeler, batch: int = 2) -> LabelingDuty:
        """A fresh duty over the same database, as after a process restart."""
        return LabelingDuty(
            db=self.db,
            store=self.store,
            chain_id=self.chain_id,
            annotator=self.account.address,
            labeler=labeler,
            batch=batch,
            clock=self.clock,
        )

    def labels(self) -> dict[str, JsonValue]:
        with self.db.session() as session:
            rows = LabelRepository(session).list_for(
                self.chain_id, self.task_id, self.account.address
            )
        return {row.item_id: row.value for row in rows}

    def participation(self) -> TaskParticipation:
        with self.db.session() as session:
            row = ParticipationRepository(session).get(self.chain_id, self.task_id)
        assert row is not None
        return row


@pytest.fixture
def node(
    tmp_path: Path, w3: Web3, deployment: Deployment, contracts: Contracts, actors: Actors
) -> Node:
    """An annotator node that has joined a four-item task (q1, q2, img, q3)."""
    db = open_database(url=f"sqlite:///{tmp_path / 'node.db'}")
    mirror = ChainMirror(deployment.chain_id)
    sync = EventSync(
        w3, db, deployment, mirror, on_rewind=mirror.rewind, config=SyncConfig(confirmations=0)
    )
    store = EmbeddedStore(tmp_path / "store")
    content = task_content()
    publish(store, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    sync.sync_once()
    account = actors.annotator_a
    node = Node(db, store, sync, account, deployment.chain_id, contracts, task_id)
    TaskLoader(db=db, store=store, chain_id=node.chain_id, clock=node.clock).tick()
    return node


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS)
    return path


def test_replay_labels_exactly_the_workers_items_then_is_done(node: Node, answers: Path) -> None:
    duty = node.labeling(load_labeler(f"replay:{answers}:w1"), batch=2)
    duty.tick()
    assert node.labels() == {"q1": "cat"}  # q2, the batch's second item, w1 never answered
    assert (node.participation().labeling_cursor, node.participation().labeling_done) == (1, False)
    duty.tick()
    assert node.labels() == {"q1": "cat", "img": "dog", "q3": "cat"}
    assert (node.participation().labeling_cursor, node.participation().labeling_done) == (3, True)
    duty.tick()  # done: nothing more to hand out
    assert node.labels() == {"q1": "cat", "img": "dog", "q3": "cat"}


def test_the_program_gets_media_bytes_and_type(node: Node) -> None:
    program = Recording()
    node.labeling(program, batch=10).tick()
    (batch,) = program.calls
    assert [(i.item_id, i.position) for i in batch] == [("q1", 0), ("q2", 1), ("img", 2), ("q3", 3)]
    image = batch[2]
    assert (image.content, image.media_type, image.data) == (IMAGE, "image/png", None)
    assert (batch[0].content, batch[0].data) == (None, {"text": "a cat"})
    assert node.participation().labeling_done


def test_a_restarted_duty_resumes_after_the_last_stored_batch(node: Node) -> None:
    first = Recording()
    node.labeling(first, batch=3).tick()
    second = Recording("dog")
    node.labeling(second, batch=3).tick()  # a new process over the same database
    seen = [i.item_id for call in first.calls + second.calls for i in call]
    assert seen == ["q1", "q2", "img", "q3"]  # every item handed out once
    assert node.labels() == {"q1": "cat", "q2": "cat", "img": "cat", "q3": "dog"}


def test_a_crash_before_the_write_stores_nothing_and_the_batch_is_redone(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_args: object) -> int:
        raise KeyboardInterrupt("process killed before the labels were stored")

    monkeypatch.setattr("node.roles.labeling.store_batch", killed)
    with pytest.raises(KeyboardInterrupt):
        node.labeling(Recording(), batch=2).tick()
    monkeypatch.undo()
    assert node.labels() == {} and node.participation().labeling_cursor == -1

    again = Recording()
    node.labeling(again, batch=2).tick()
    assert [i.item_id for i in again.calls[0]] == ["q1", "q2"]
    assert node.labels() == {"q1": "cat", "q2": "cat"}


@pytest.mark.parametrize("value", ["horse", ["cat"], 3, True])
def test_an_invalid_value_from_the_program_stores_nothing(node: Node, value: JsonValue) -> None:
    node.labeling(Recording(value), batch=2).tick()  # logged, not raised
    assert node.labels() == {}
    row = node.participation()
    assert (row.labeling_cursor, row.labeling_done) == (-1, False)
    node.labeling(Recording("dog"), batch=2).tick()  # a fixed program continues where it was
    assert node.labels() == {"q1": "dog", "q2": "dog"}


def test_the_annotator_commits_once_labeling_is_done(
    w3: Web3, contracts: Contracts, actors: Actors, node: Node, answers: Path
) -> None:
    fund(w3, contracts, actors, node.account, BOND)
    sender(w3, node.account).transact(
        contracts.token.functions.approve(contracts.market.address, BOND)
    )
    annotator = AnnotatorDuty(
        db=node.db,
        store=node.store,
        market=contracts.market,
        sender=TxSender(w3, node.account),
        chain_id=node.chain_id,
    )
    labeling = node.labeling(load_labeler(f"replay:{answers}:w1"), batch=2)
    labeling.tick()
    annotator.tick()  # one item labelled, more to come, an hour left: wait
    with node.db.session() as session:
        assert (
            CommitmentRepository(session).get(node.chain_id, node.task_id, node.account.address)
            is None
        )

    labeling.tick()  # done, with 3 labels for 4 items (w1 skipped q2)
    annotator.tick()
    node.sync.sync_once()
    with node.db.session() as session:
        row = CommitmentRepository(session).get(node.chain_id, node.task_id, node.account.address)
    assert row is not None and row.state is CommitState.COMMITTED
    labeling.tick()  # done and committed: the labels stay as committed
    assert node.labels() == {"q1": "cat", "img": "dog", "q3": "cat"}
