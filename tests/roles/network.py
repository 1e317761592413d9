"""A small labelnet network on a real anvil for the settlement-duty tests.

Every participant is a node with its own SQLite database and event sync; they share one
embedded content store, standing for the network's content routing (each node's gateway
serving its peers). Tasks are posted with a real manifest, labels are committed and revealed
by direct contract calls (the annotator duty has its own tests), and validators and
claimers are the real duties.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts, Deployment
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.chain.tx import TxSender
from node.db.engine import Database, open_database
from node.protocol.annotation import RULES, AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.commitments import algorithm_id, gold_commitment, label_commitment
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABELS_V2, LabelBatch
from node.protocol.manifest import GOLD_V2, ConsensusParams, ItemSpec, build_task_content
from node.roles.claimer import ClaimDuty
from node.roles.validator import ValidatorDuty
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import HOUR, TOKEN, fund, sender, stake_validators
from tests.conftest import Actors, advance_time

TRUTH = {"q1": "cat", "q2": "dog", "q3": "cat", "q4": "dog"}
TINY_TASK_CONSENSUS = ConsensusParams(significance_z="0")
"""Consensus parameters for test tasks of a handful of items. With so few answers nobody can
show skill beyond chance, so the reward rule's evidence test (tested on its own in
tests/consensus) would leave every payout at zero; these tests are about the duties."""
SLOPPY = {**TRUTH, "q4": "cat"}
REWARD = 10 * TOKEN
FEE = 9 * TOKEN


@dataclass
class Peer:
    """One node: its account, database and event sync."""

    account: LocalAccount
    db: Database
    sync: EventSync


@dataclass
class Posted:
    """A task on chain and what its requester keeps secret until the reveal."""

    task_id: int
    gold: GoldSet | None
    gold_salt: bytes
    labels: str = LABELS_V2
    """The schema of the task's batches (its manifest's ``labels``)."""
    gold_schema: str = GOLD_V2


@dataclass
class Network:
    w3: Web3
    contracts: Contracts
    deployment: Deployment
    actors: Actors
    tmp_path: Path
    store: EmbeddedStore
    peers: dict[str, Peer] = field(default_factory=dict)

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    def peer(self, role: str) -> Peer:
        if role not in self.peers:
            db = open_database(url=f"sqlite:///{self.tmp_path / role}.db")
            mirror = ChainMirror(self.chain_id)
            sync = EventSync(
                self.w3,
                db,
                self.deployment,
                mirror,
                on_rewind=mirror.rewind,
                config=SyncConfig(confirmations=0),
            )
            self.peers[role] = Peer(getattr(self.actors, role), db, sync)
        return self.peers[role]

    def sync(self, *roles: str) -> None:
        for role in roles:
            self.peer(role).sync.sync_once()

    def validator(self, role: str, **options: bool | str) -> ValidatorDuty:
        """A fresh validator duty over ``role``'s database (as after a restart)."""
        peer = self.peer(role)
        return ValidatorDuty(
            db=peer.db,
            store=self.store,
            market=self.contracts.market,
            staking=self.contracts.staking,
            sender=TxSender(self.w3, peer.account),
            chain_id=self.chain_id,
            **options,  # type: ignore[arg-type]
        )

    def claimer(self, role: str) -> ClaimDuty:
        peer = self.peer(role)
        return ClaimDuty(
            db=peer.db,
            store=self.store,
            market=self.contracts.market,
            sender=TxSender(self.w3, peer.account),
            chain_id=self.chain_id,
        )

    def balance(self, role: str) -> int:
        address = getattr(self.actors, role).address
        return int(self.contracts.token.functions.balanceOf(address).call())

    def nonce(self, role: str) -> int:
        """Transactions ``role`` has sent, mined or not: anvil may answer a send before the
        block that mines it is in, so a count of mined ones can still grow afterwards."""
        address = getattr(self.actors, role).address
        return int(self.w3.eth.get_transaction_count(address, "pending"))


def make_network(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    stake_validators(w3, contracts, actors)
    return Network(w3, contracts, deployment, actors, tmp_path, EmbeddedStore(tmp_path / "ipfs"))


def post_task(
    net: Network,
    gold: dict[str, JsonValue] | None = None,
    *,
    kind: TaskKind = TaskKind.CATEGORICAL,
    algorithm: str = "rds@1",
    consensus: ConsensusParams = TINY_TASK_CONSENSUS,
    labels: str = LABELS_V2,
    gold_schema: str = GOLD_V2,
    items: Sequence[ItemSpec] | None = None,
    annotation: AnnotationParams | None = None,
) -> Posted:
    """A task over TRUTH's items, k=3, no bond: cat/dog (categorical) by default; its
    manifest names ``labels`` and ``gold_schema`` (the paged schemas of new tasks unless
    given the old ones). ``items`` replaces the items' data (same ids: a pairwise task's
    sides); a task of a kind of issue #20 runs its rule under ``annotation``."""
    algorithm = RULES.get(kind, algorithm)
    content = build_task_content(
        items or [ItemSpec(item, data={"text": item}) for item in TRUTH],
        title="cat or dog",
        kind=kind,
        classes=()
        if kind in (TaskKind.NUMERIC, TaskKind.TEXT, TaskKind.PAIRWISE)
        else ("cat", "dog"),
        algorithm=algorithm,
        consensus=consensus,
        labels=labels,
        gold=gold_schema,
        annotation=annotation,
    )
    for blob in content.blobs():
        net.store.put(blob)
    gold_set, salt = (GoldSet.create(gold) if gold else None), os.urandom(32)
    fund(net.w3, net.contracts, net.actors, net.actors.requester, 1_000 * TOKEN)
    requester = sender(net.w3, net.actors.requester)
    now = net.w3.eth.get_block("latest")["timestamp"]
    params = (
        content.manifest_cid,
        algorithm_id(algorithm),
        gold_commitment(gold_set.root(), salt) if gold_set else bytes(32),
        REWARD,
        FEE,
        0,
        now + HOUR,
        now + 2 * HOUR,
        now + 3 * HOUR,
        len(TRUTH),
        3,
        0,  # seatDeadline: an open task (no seats)
        0,  # batchSize
    )
    market = net.contracts.market
    requester.transact(net.contracts.token.functions.approve(market.address, 200 * TOKEN))
    receipt = requester.transact(market.functions.createTask(params))
    (event,) = market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return Posted(int(event.args.taskId), gold_set, salt, labels, gold_schema)


def reveal_all(
    net: Network,
    tasks: list[Posted],
    labels: dict[str, dict[str, JsonValue]],
    *,
    published: dict[str, LabelBatch | bytes | None] | None = None,
    revealed_cids: dict[str, str] | None = None,
) -> None:
    """Commit and reveal ``labels`` (by annotator role) on every task, reveal the gold, and
    move the clock into the attest window.

    Batches and gold are published in their task's schemas (pages, then the root).
    ``published`` replaces what a role stores under its revealed CID: another batch (one
    that does not match the committed root, published in the task's schema), other bytes
    (stored as they are) or None (nothing stored: nobody can fetch it).
    ``revealed_cids`` reveals another CID than the batch's for a role (content served
    elsewhere, e.g. by an attacker's gateway).
    """
    market = net.contracts.market
    secrets: dict[tuple[int, str], tuple[LabelBatch, bytes]] = {}
    schemas = {task.task_id: task.labels for task in tasks}
    for task in tasks:
        for role, answers in labels.items():
            account = getattr(net.actors, role)
            batch = LabelBatch.create(task.task_id, account.address, answers.items())
            salt = os.urandom(32)
            secrets[(task.task_id, role)] = (batch, salt)
            commitment = label_commitment(task.task_id, account.address, batch.root(), salt)
            sender(net.w3, account).transact(market.functions.commit(task.task_id, commitment))
    advance_time(net.w3, HOUR + 1)
    for (task_id, role), (batch, salt) in secrets.items():
        data = (published or {}).get(role, batch)
        cid = batch.cid(schemas[task_id])
        if isinstance(data, LabelBatch):
            cid = data.publish(schemas[task_id], net.store.put)
        elif data is not None:
            cid = net.store.put(data)
        cid = (revealed_cids or {}).get(role, cid)
        account = getattr(net.actors, role)
        sender(net.w3, account).transact(market.functions.reveal(task_id, batch.root(), cid, salt))
    for task in tasks:
        if task.gold is not None:
            cid = task.gold.publish(task.gold_schema, net.store.put)
            sender(net.w3, net.actors.requester).transact(
                market.functions.revealGold(task.task_id, task.gold.root(), cid, task.gold_salt)
            )
    advance_time(net.w3, HOUR)
