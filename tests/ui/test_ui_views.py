"""The page's use cases: task cards, the labeling view, undo's item lookup, the requester's
report of a finalized task (verified against the finalized root) and its exports."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from web3 import Web3

from node.app import ui_report
from node.app.chain import ChainConnection
from node.app.runtime import NodeServices
from node.app.ui_report import ResultInvalidError, export_task, task_report
from node.app.ui_views import (
    NotJoinedError,
    chain_time,
    item_label,
    labeling_view,
    task_cards,
)
from node.chain.anvil import free_port
from node.chain.contracts import Contracts, Deployment
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.content.exports import ExportError
from node.db.engine import Database
from node.db.models import Attestation, ItemCreate, LabelCreate, ParticipationState, TaskStatus
from node.db.repositories import ItemRepository, LabelRepository, ParticipationRepository
from node.db.repositories.tasks import TaskNotFoundError, TaskRepository
from node.protocol.cid import compute_cid
from node.protocol.labels import LabelBatch
from node.protocol.result_pages import RESULT_V1, RESULT_V4
from tests.api.conftest import CHAIN, add_task
from tests.conftest import advance_time
from tests.roles.network import TINY_TASK_CONSENSUS

ANNOTATOR = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
PEERS = ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
VALIDATOR = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
ITEMS = {"q1": "a cat", "q2": "a dog", "q3": "two cats", "q4": "a puppy"}
TRUTH = {"q1": "cat", "q2": "dog", "q3": "cat", "q4": "dog"}


def join(db: Database, task_id: int, **manifest: object) -> None:
    fields: dict[str, object] = {
        "title": "Cats or dogs",
        "instructions": "Pick the **animal**. <script>alert(1)</script>",
        "kind": "categorical",
        "classes": ("cat", "dog"),
    }
    fields.update(manifest)
    with db.write() as session:
        ParticipationRepository(session).record(
            CHAIN,
            task_id,
            ParticipationState.JOINED,
            **fields,  # type: ignore[arg-type]
        )


def label(db: Database, task_id: int, values: dict[str, str]) -> None:
    with db.write() as session:
        LabelRepository(session).upsert_batch(
            CHAIN,
            task_id,
            ANNOTATOR,
            [LabelCreate(item_id=item, value=value) for item, value in values.items()],
        )


def text_task(db: Database, task_id: int) -> None:
    """A task whose four items carry text, as the loader stores them."""
    add_task(db, task_id, items=0, num_items=len(ITEMS))
    with db.write() as session:
        ItemRepository(session).upsert_many(
            CHAIN,
            task_id,
            [
                ItemCreate(item_id=item, position=n, data={"text": text})
                for n, (item, text) in enumerate(ITEMS.items())
            ],
        )


def settle(
    services: NodeServices, task_id: int, *, publish: bool = True, schema: str = RESULT_V1
) -> ConsensusOutcome:
    """Consensus of three annotators (one wrong on q4), attested and finalized in the DB."""
    sloppy = dict(TRUTH, q4="cat")
    batches = [
        LabelBatch.create(task_id, account, values.items())
        for account, values in zip((ANNOTATOR, *PEERS), (TRUTH, TRUTH, sloppy), strict=True)
    ]
    rewards = TINY_TASK_CONSENSUS.reward_params(10**18, 12 * 10**18)
    # rds@1 named: the figures below are pinned to one rule, not to whichever is the default
    spec = TaskSpec(
        task_id, rewards, classes=("cat", "dog"), algorithm="rds@1", result_schema=schema
    )
    outcome = run_consensus(spec, batches)
    root = "0x" + outcome.payout_root.hex()
    if publish:
        services.store.put(outcome.document_bytes)
        for page in outcome.pages:
            services.store.put(page)
    with services.db.write() as session:
        task = TaskRepository(session).get(CHAIN, task_id)
        assert task is not None
        task.status, task.payout_root, task.total_payout = (
            TaskStatus.FINALIZED,
            root,
            outcome.total_payout,
        )
        session.add(task)
        session.add(
            Attestation(
                chain_id=CHAIN,
                task_id=task_id,
                validator=VALIDATOR,
                payout_root=root,
                result_cid=outcome.cid,
                block_number=10,
                tx_hash="0x" + "bb" * 32,
                total_payout=outcome.total_payout,
                weight=10**21,
            )
        )
    return outcome


def test_cards_list_joined_and_declined_tasks_newest_first_with_progress(
    services: NodeServices,
) -> None:
    db = services.db
    add_task(db, 1, items=3)
    add_task(db, 2, items=4, commit_deadline=1_000)
    join(db, 1)
    join(db, 2, title="")
    with db.write() as session:
        ParticipationRepository(session).record(
            CHAIN, 3, ParticipationState.DECLINED, reason="no such task row"
        )  # a row without a mirrored task is not shown
    label(db, 1, {"img-0000": "cat", "img-0001": "dog"})
    cards = task_cards(db, CHAIN, ANNOTATOR, now=2_000)
    assert [(c.task_id, c.title, c.done, c.num_items) for c in cards] == [
        (2, "Task 2", 0, 4),
        (1, "Cats or dogs", 2, 3),
    ]
    assert cards[0].seconds_to_commit_deadline == 0
    assert cards[1].seconds_to_commit_deadline == 4_000_000_000 - 2_000
    assert cards[1].reward_per_label == str(10 * 10**18)
    assert [c.done for c in task_cards(db, CHAIN, None)] == [0, 0]


def test_labeling_view_renders_instructions_safely_and_reports_progress(
    services: NodeServices,
) -> None:
    add_task(services.db, 1, items=3)
    join(services.db, 1)
    label(services.db, 1, {"img-0002": "dog"})
    view = labeling_view(services.db, CHAIN, 1, ANNOTATOR, now=0)
    assert view.instructions_html == (
        "<p>Pick the <strong>animal</strong>. &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert (view.kind, view.classes) == ("categorical", ["cat", "dog"])
    assert (view.progress.done, view.progress.total) == (1, 3)


def test_labeling_view_of_a_task_the_node_did_not_join_is_not_found(
    services: NodeServices,
) -> None:
    add_task(services.db, 1, items=3)
    with pytest.raises(NotJoinedError):
        labeling_view(services.db, CHAIN, 1, ANNOTATOR)
    with services.db.write() as session:
        ParticipationRepository(session).record(
            CHAIN, 1, ParticipationState.DECLINED, reason="bond too high"
        )
    with pytest.raises(NotJoinedError):
        labeling_view(services.db, CHAIN, 1, ANNOTATOR)
    with pytest.raises(TaskNotFoundError):
        labeling_view(services.db, CHAIN, 99, ANNOTATOR)


def test_item_label_returns_the_current_label_for_undo(services: NodeServices) -> None:
    text_task(services.db, 1)
    label(services.db, 1, {"q2": "cat"})
    label(services.db, 1, {"q2": "dog"})  # changed: the latest value is the one shown
    answer = item_label(services.db, CHAIN, 1, "q2", ANNOTATOR)
    assert (answer.item.item_id, answer.item.data, answer.value) == ("q2", {"text": "a dog"}, "dog")
    assert item_label(services.db, CHAIN, 1, "q3", ANNOTATOR).value is None
    with pytest.raises(TaskNotFoundError):
        item_label(services.db, CHAIN, 1, "nope", ANNOTATOR)


def test_report_of_an_open_task_has_status_but_no_result(services: NodeServices) -> None:
    add_task(services.db, 1, items=3)
    report = task_report(services.db, services.store, CHAIN, 1)
    assert (report.final, report.title, report.items, report.annotators) == (
        False,
        "Task 1",
        [],
        [],
    )
    assert (report.commits, report.reveals, report.attestations) == (0, 0, 0)


def test_report_of_a_finalized_task_charts_the_verified_result(services: NodeServices) -> None:
    text_task(services.db, 1)
    join(services.db, 1)
    outcome = settle(services, 1)
    report = task_report(services.db, services.store, CHAIN, 1)
    assert report.final and report.result_cid == outcome.cid
    assert report.class_counts == {"cat": 2, "dog": 2}
    assert [(i.item, i.value, i.text) for i in report.items] == [
        (item, TRUTH[item], ITEMS[item]) for item in sorted(ITEMS)
    ]
    quality = {a.account: a for a in report.annotators}
    sloppy = quality[PEERS[1]]
    assert (sloppy.labels, sloppy.accepted) == (4, 3)
    assert sloppy.confusion == [[2, 0], [1, 1]]  # rows: consensus, columns: its answers
    assert quality[ANNOTATOR].confusion == [[2, 0], [0, 2]]
    # why each one was paid: skill, and no evidence figure (this tiny task's rule has no test)
    assert (sloppy.eligible, sloppy.skill, sloppy.evidence) == (True, "0.502546921", None)
    assert sloppy.bloc is None  # this settlement ran no bloc test, so the report states no flag
    assert quality[ANNOTATOR].skill == "0.973778720"
    assert report.total_payout == str(outcome.total_payout)


def test_the_report_draws_result_v4_cells_as_the_same_tables(
    services: NodeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``result@4`` lists each annotator's filled cells; the report draws the same tables
    as from ``result@1``'s dense rows, and none past its class bound."""
    text_task(services.db, 1)
    join(services.db, 1)
    settle(services, 1, schema=RESULT_V4)
    report = task_report(services.db, services.store, CHAIN, 1)
    quality = {a.account: a for a in report.annotators}
    assert quality[PEERS[1]].confusion == [[2, 0], [1, 1]]
    assert quality[ANNOTATOR].confusion == [[2, 0], [0, 2]]
    monkeypatch.setattr(ui_report, "REPORT_CONFUSION_CLASSES", 1)
    report = task_report(services.db, services.store, CHAIN, 1)
    assert [a.confusion for a in report.annotators] == [None] * 3
    assert report.annotators[0].labels == 4  # the rest of the row is still there


def test_report_refuses_a_document_that_does_not_rebuild_the_finalized_root(
    services: NodeServices,
) -> None:
    text_task(services.db, 1)
    outcome = settle(services, 1, publish=False)
    forged = dict(outcome.document, payouts=[{"account": PEERS[0], "amount": "12"}])
    services.store.put(json.dumps(forged).encode())
    with services.db.write() as session:
        row = session.get(Attestation, (CHAIN, 1, VALIDATOR))
        assert row is not None
        row.result_cid = compute_cid(json.dumps(forged).encode())
        session.add(row)
    with pytest.raises(ResultInvalidError, match="do not rebuild the finalized root"):
        task_report(services.db, services.store, CHAIN, 1)


def test_report_refuses_a_deeply_nested_document_without_crashing(
    services: NodeServices,
) -> None:
    text_task(services.db, 1)
    settle(services, 1, publish=False)
    bomb = b'{"task": 1, "kind": "categorical", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    services.store.put(bomb)
    with services.db.write() as session:
        row = session.get(Attestation, (CHAIN, 1, VALIDATOR))
        assert row is not None
        row.result_cid = compute_cid(bomb)
        session.add(row)
    with pytest.raises(ResultInvalidError):
        task_report(services.db, services.store, CHAIN, 1)


def test_report_without_a_fetchable_document_says_so(services: NodeServices) -> None:
    text_task(services.db, 1)
    settle(services, 1, publish=False)
    with pytest.raises(ResultInvalidError, match="no verifiable result document"):
        task_report(services.db, services.store, CHAIN, 1)


def test_exports_carry_every_item_with_its_text(services: NodeServices) -> None:
    text_task(services.db, 1)
    settle(services, 1)
    chunks, media_type, name = export_task(services.db, services.store, CHAIN, 1, "csv")
    data = b"".join(chunks)
    assert (media_type, name) == ("text/csv; charset=utf-8", "task-1-results.csv")
    rows = data.decode().splitlines()
    assert rows[0] == "id,label,confidence,confident,gold,text"
    assert [row.split(",")[::5] for row in rows[1:]] == [
        [item, ITEMS[item]] for item in sorted(ITEMS)
    ]
    lines, _, _ = export_task(services.db, services.store, CHAIN, 1, "jsonl")
    assert [json.loads(line)["label"] for line in b"".join(lines).splitlines()] == [
        TRUTH[item] for item in sorted(ITEMS)
    ]
    studio, media_type, name = export_task(services.db, services.store, CHAIN, 1, "labelstudio")
    assert (media_type, name) == ("application/json", "task-1-results.json")
    assert len(json.loads(b"".join(studio))) == len(ITEMS)
    with pytest.raises(ExportError):
        export_task(services.db, services.store, CHAIN, 1, "hf")


def test_countdowns_use_the_chain_clock_and_fall_back_to_the_wall_clock(
    w3: Web3, deployment: Deployment, contracts: Contracts
) -> None:
    chain = ChainConnection(w3=w3, probe=w3, deployment=deployment, contracts=contracts)
    advance_time(w3, 10 * 86_400)  # a devnet clock, days ahead of the wall clock
    assert chain_time(chain) == w3.eth.get_block("latest")["timestamp"] > time.time() + 86_400
    down = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 1}))
    assert chain_time(dataclasses.replace(chain, probe=down)) is None
    assert chain_time(None) is None
