"""The task loader joins tasks on a real anvil, with a real database and content stores.

Task content is put in a requester's :class:`EmbeddedStore`; the annotator node reads it
through a :class:`GatewayStore` from the requester's gateway served over HTTP, or straight
from its own store, as a node that already holds the blocks would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts, Deployment
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.db.engine import Database, open_database
from node.db.models import Item, ParticipationState, TaskParticipation
from node.db.repositories.participation import (
    ParticipationNotFoundError,
    ParticipationRepository,
)
from node.db.repositories.tasks import ItemRepository
from node.protocol.annotation import AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.cid import compute_cid
from node.protocol.commitments import algorithm_id, gold_commitment
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.roles.loader import TaskLoader
from node.store.base import ContentStore
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore
from tests.chain.test_lifecycle import HOUR, TOKEN, fund, sender
from tests.conftest import Actors, advance_time
from tests.store.servers import TamperingGateway, gateway_app, serve
from tests.support.postgres import open_test_database

IMAGE = b"\x89PNG\r\n\x1a\n a tiny picture of a cat"
BOND = 2 * TOKEN


def task_content(kind: TaskKind = TaskKind.CATEGORICAL) -> TaskContent:
    """Three text items and one image, in this order."""
    items = [
        ItemSpec("q1", data={"text": "a cat"}),
        ItemSpec("q2", data={"text": "a dog"}),
        ItemSpec("img", content=compute_cid(IMAGE), media_type="image/png"),
        ItemSpec("q3", data={"text": "two cats"}),
    ]
    classes = () if kind is TaskKind.NUMERIC else ("cat", "dog")
    return build_task_content(
        items, title="Cats or dogs", instructions="Pick the animal.", kind=kind, classes=classes
    )


def publish(store: ContentStore, content: TaskContent, *, pages: bool = True) -> None:
    """Put the manifest, the image and (unless ``pages`` is false) the pages in ``store``."""
    store.put(IMAGE)
    for blob in content.blobs() if pages else [content.manifest_bytes]:
        store.put(blob)


def post_task(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    manifest_cid: str,
    num_items: int,
    *,
    bond: int = BOND,
) -> int:
    """``createTask`` with this manifest, an hour of commit window; returns the task id."""
    fund(w3, contracts, actors, actors.requester, 1_000 * TOKEN)
    requester = sender(w3, actors.requester)
    now = w3.eth.get_block("latest")["timestamp"]
    reward, fee, redundancy = TOKEN, TOKEN, 3
    params = (
        manifest_cid,
        algorithm_id("ds-gold@1"),
        gold_commitment(os.urandom(32), os.urandom(32)),
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
    return int(event.args.taskId)


@dataclass
class Annotator:
    """An annotator node's database, store and event sync (no account needed to load)."""

    db: Database
    local: EmbeddedStore
    sync: EventSync
    chain_id: int
    w3: Web3

    def clock(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def loader(self, *, store: ContentStore | None = None, **options: object) -> TaskLoader:
        return TaskLoader(
            db=self.db,
            store=store or self.local,
            chain_id=self.chain_id,
            clock=self.clock,
            **({"retry_delay": 0.0} | options),  # type: ignore[arg-type]
        )

    def participation(self, task_id: int) -> TaskParticipation | None:
        with self.db.session() as session:
            return ParticipationRepository(session).get(self.chain_id, task_id)

    def items(self, task_id: int) -> list[Item]:
        with self.db.session() as session:
            return ItemRepository(session).page(self.chain_id, task_id, limit=1000)


@pytest.fixture
def annotator(tmp_path: Path, w3: Web3, deployment: Deployment) -> Annotator:
    db = open_database(url=f"sqlite:///{tmp_path / 'node.db'}")
    mirror = ChainMirror(deployment.chain_id)
    sync = EventSync(
        w3, db, deployment, mirror, on_rewind=mirror.rewind, config=SyncConfig(confirmations=0)
    )
    return Annotator(db, EmbeddedStore(tmp_path / "node-store"), sync, deployment.chain_id, w3)


@pytest.fixture
def servers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_joins_a_task_served_by_a_peer_and_keeps_its_media(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    requester_store = EmbeddedStore(tmp_path / "requester")
    content = task_content()
    publish(requester_store, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    peer = servers.enter_context(serve(gateway_app(requester_store)))

    with GatewayStore(annotator.local, [peer]) as store:
        annotator.loader(store=store).tick()

    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED, row
    assert (row.title, row.instructions, row.kind) == (
        "Cats or dogs",
        "Pick the animal.",
        "categorical",
    )
    assert row.classes == ["cat", "dog"]
    assert (row.labeling_cursor, row.labeling_done) == (-1, False)
    items = annotator.items(task_id)
    assert [(i.item_id, i.position) for i in items] == [("q1", 0), ("q2", 1), ("img", 2), ("q3", 3)]
    assert items[0].data == {"text": "a cat"} and items[0].content_cid is None
    assert items[2].content_cid == compute_cid(IMAGE) and items[2].data is None
    assert {i.page_cid for i in items} == {content.manifest.pages[0]}
    # The image was fetched, verified and kept: this node can serve it on to others.
    assert annotator.local.get(compute_cid(IMAGE), max_size=1 << 20) == IMAGE


def test_ticks_are_idempotent(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    content = task_content()
    publish(annotator.local, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    first = [i.model_dump() for i in annotator.items(task_id)]
    annotator.loader().tick()  # a restarted node: nothing to do, nothing changes
    annotator.loader().tick()
    assert [i.model_dump() for i in annotator.items(task_id)] == first
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED and row.attempts == 0


@pytest.mark.parametrize(
    ("options", "num_items", "bond", "reason"),
    [
        ({"kinds": {TaskKind.NUMERIC}}, 4, BOND, "does not label categorical"),
        ({"max_bond": BOND - 1}, 4, BOND, "exceeds this node's max_bond"),
        ({}, 5, BOND, "the manifest lists 4 items, the task on chain 5"),
    ],
    ids=["kind", "bond", "item-count"],
)
def test_declines_tasks_it_is_not_qualified_for_or_that_disagree_with_the_chain(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    options: dict[str, Any],
    num_items: int,
    bond: int,
    reason: str,
) -> None:
    content = task_content()
    publish(annotator.local, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, num_items, bond=bond)
    annotator.sync.sync_once()
    annotator.loader(**options).tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.DECLINED
    assert reason in row.reason
    assert row.title == "Cats or dogs"  # the manifest was read: the page can say what it was
    assert annotator.items(task_id) == []
    annotator.loader().tick()  # declined is final, even for a node that would qualify now
    assert annotator.items(task_id) == []


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'{"schema":"labelnet/something@1"}', "labelnet/manifest@1"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested 100000 deep"),
        (
            task_content()
            .manifest_bytes.decode()
            .replace('"confidence_threshold":"0.8"', '"confidence_threshold":"1.5"')
            .encode(),
            "above the highest allowed 0.99",
        ),
        (  # issue #13: a floor nobody can meet would leave the labels public and unpaid
            task_content()
            .manifest_bytes.decode()
            .replace('"accuracy_floor":"0.6"', '"accuracy_floor":"1"')
            .encode(),
            "consensus.accuracy_floor is 1, above the highest allowed 0.9",
        ),
    ],
    ids=["wrong-schema", "nested-too-deep", "threshold-out-of-range", "unpayable-floor"],
)
def test_declines_a_malformed_manifest_for_good(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    document: bytes,
    reason: str,
) -> None:
    cid = annotator.local.put(document)
    task_id = post_task(w3, contracts, actors, cid, 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.DECLINED
    assert reason in row.reason and row.attempts == 0


def test_a_page_that_does_not_match_its_cid_is_never_stored(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    content = task_content()
    honest = EmbeddedStore(tmp_path / "requester")
    publish(honest, content)
    publish(annotator.local, content, pages=False)  # the manifest is here, the page is not
    liar = TamperingGateway(honest)
    liar_url = servers.enter_context(serve(liar.app))
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()

    with GatewayStore(annotator.local, [liar_url]) as store:
        annotator.loader(store=store).tick()

    assert liar.requests >= 1
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 1
    assert "does not hash" in row.reason
    assert not annotator.local.has(content.manifest.pages[0])
    assert annotator.items(task_id) == []


def test_a_missing_page_fails_then_joins_once_it_appears(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    content = task_content()
    publish(annotator.local, content, pages=False)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()

    annotator.loader().tick()
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 2
    assert content.manifest.pages[0] in row.reason
    assert annotator.items(task_id) == []

    annotator.local.put(content.pages[0])
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED and row.reason == ""
    assert len(annotator.items(task_id)) == 4


def test_gives_up_after_the_attempt_cap(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    content = task_content()
    publish(annotator.local, content, pages=False)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    for _ in range(3):
        annotator.loader(max_attempts=2).tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 2


def test_ignores_tasks_whose_commit_window_has_closed(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    content = task_content()
    publish(annotator.local, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    advance_time(w3, HOUR + 1)
    annotator.loader().tick()
    assert annotator.participation(task_id) is None
    assert annotator.items(task_id) == []


@pytest.fixture(params=("sqlite", "postgresql"))
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_test_database(request, request.param, tmp_path) as database:
        yield database


def test_participation_rows_keep_labeling_progress_across_outcomes(any_db: Database) -> None:
    """On both backends: the loader's upsert never resets the labeling cursor, and the
    labeling queries see exactly the joined, unfinished tasks."""
    with any_db.write() as session:
        repository = ParticipationRepository(session)
        repository.record(1, 7, ParticipationState.JOINED, kind="multilabel", classes=("a", "b"))
        repository.record(1, 8, ParticipationState.FAILED, reason="no peer", attempts=1)
        repository.record(2, 7, ParticipationState.JOINED, kind="numeric")
        repository.advance_labeling(1, 7, 199, done=False)
    with any_db.write() as session:
        repository = ParticipationRepository(session)
        repository.record(1, 7, ParticipationState.JOINED, kind="multilabel", classes=("a", "b"))
        repository.advance_labeling(1, 7, 150, done=False)  # never moves backwards
    with any_db.session() as session:
        repository = ParticipationRepository(session)
        row = repository.get(1, 7)
        assert row is not None and (row.labeling_cursor, row.classes) == (199, ["a", "b"])
        assert [r.task_id for r in repository.labeling_pending(1)] == [7]
        assert [r.task_id for r in repository.in_state(1, ParticipationState.FAILED)] == [8]
        assert not repository.is_labeling_done(1, 7) and not repository.is_labeling_done(1, 9)
    with any_db.write() as session:
        ParticipationRepository(session).advance_labeling(1, 7, 300, done=True)
    with any_db.session() as session:
        repository = ParticipationRepository(session)
        assert repository.is_labeling_done(1, 7) and repository.labeling_pending(1) == []
    with any_db.write() as session, pytest.raises(ParticipationNotFoundError):
        ParticipationRepository(session).advance_labeling(1, 9, 0, done=True)


PAIRWISE = AnnotationParams(TaskKind.PAIRWISE)


def pairwise_content(bad: JsonValue) -> TaskContent:
    pair = {"a": compute_cid(b"answer one"), "b": compute_cid(b"answer two")}
    items = [ItemSpec(f"p{i}", data=pair) for i in range(3)] + [ItemSpec("p3", data=bad)]
    return build_task_content(
        items, title="Which is better?", kind=TaskKind.PAIRWISE, annotation=PAIRWISE
    )


@pytest.mark.parametrize(
    ("bad", "reason", "state"),
    [
        ({"a": compute_cid(b"answer one"), "b": compute_cid(b"answer one")}, "two different", "d"),
        ({"a": "not a cid", "b": compute_cid(b"x")}, "side 'a' is not a CID", "d"),
        ({"a": compute_cid(b"answer three"), "b": compute_cid(b"x")}, "", "j"),
    ],
)
def test_a_pairwise_task_is_joined_only_if_every_item_is_a_pair(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    bad: JsonValue,
    reason: str,
    state: str,
) -> None:
    content = pairwise_content(bad)
    publish(annotator.local, content)
    for side in (b"answer one", b"answer two", b"answer three", b"x"):
        annotator.local.put(side)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state.value.startswith(state), row
    assert reason in row.reason
    if state == "j":  # the annotation section is kept for the label checks
        assert row.annotation == PAIRWISE.document()


def test_a_pairwise_task_waits_for_its_responses_and_keeps_them(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """The page shows both responses from this node's own store: a task whose responses no
    peer serves is not joined yet (a retry later), and once they appear they are fetched."""
    content = pairwise_content({"a": compute_cid(b"answer one"), "b": compute_cid(b"answer two")})
    publish(annotator.local, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED
    assert compute_cid(b"answer one") in row.reason
    assert annotator.items(task_id) == []

    for side in (b"answer one", b"answer two"):
        annotator.local.put(side)
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED and row.reason == ""
    assert len(annotator.items(task_id)) == 4
