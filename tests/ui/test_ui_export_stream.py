"""The requester's export of a paged (``result@2``) task streams (issue #14): its file is the
one the held-items export writes, and result pages are read while lines are written, one
page ahead of the output, not all before the first line."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import node.app.ui_report as ui_report
from node.app.runtime import NodeServices
from node.app.ui_report import export_task
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.content.exports import ExportError, ExportFormat, export_results
from node.db.models import Attestation, ItemCreate, TaskStatus
from node.db.repositories import ItemRepository
from node.db.repositories.tasks import TaskRepository
from node.protocol.canonical import JsonValue
from node.protocol.labels import LabelBatch
from node.protocol.result_pages import PAGE_ITEMS, RESULT_V2
from node.protocol.rules import RewardParams
from node.roles.requester.results import ResultItem, TaskResults
from node.store.base import ContentStore
from tests.api.conftest import CHAIN, add_task

TASK = 1
ITEMS = 2 * PAGE_ITEMS + 7
"""Three result pages: two full, one of 7."""
ANNOTATORS = (
    "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
)


def _ids() -> list[str]:
    # stored in an order that is not the result's (sorted by id): the export follows the result
    return [f"item-{n:05d}" for n in reversed(range(ITEMS))]


def _finalized_paged_task(services: NodeServices) -> ConsensusOutcome:
    """A finalized ``result@2`` task of :data:`ITEMS` text items, stored as a node has it."""
    rng = random.Random(14)
    ids = _ids()
    add_task(services.db, TASK, items=0, num_items=ITEMS)
    with services.db.write() as session:
        ItemRepository(session).upsert_many(
            CHAIN,
            TASK,
            [
                ItemCreate(item_id=i, position=n, data={"text": f"text {i}"})
                for n, i in enumerate(ids)
            ],
        )
    truth = {item: rng.choice("ab") for item in ids}
    batches = [
        LabelBatch.create(
            TASK,
            account,
            [(i, v if rng.random() < accuracy else rng.choice("ab")) for i, v in truth.items()],
        )
        for account, accuracy in zip(ANNOTATORS, (0.95, 0.9, 0.8), strict=True)
    ]
    params = RewardParams.create(reward_per_label=10**15, reward_pool=10**22)
    spec = TaskSpec(TASK, params, classes=("a", "b"), result_schema=RESULT_V2)
    outcome = run_consensus(spec, batches)
    assert len(outcome.pages) == 3
    for blob in (*outcome.pages, outcome.document_bytes):
        services.store.put(blob)
    root = "0x" + outcome.payout_root.hex()
    with services.db.write() as session:
        task = TaskRepository(session).get(CHAIN, TASK)
        assert task is not None
        task.status, task.payout_root = TaskStatus.FINALIZED, root
        task.total_payout = outcome.total_payout
        session.add(task)
        session.add(
            Attestation(
                chain_id=CHAIN,
                task_id=TASK,
                validator="0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
                payout_root=root,
                result_cid=outcome.cid,
                block_number=10,
                tx_hash="0x" + "bb" * 32,
                total_payout=outcome.total_payout,
                weight=10**21,
            )
        )
    return outcome


@pytest.mark.parametrize("format", ["jsonl", "csv", "labelstudio"])
def test_a_paged_export_is_the_file_the_held_export_writes(
    services: NodeServices, tmp_path: Path, format: ExportFormat
) -> None:
    outcome = _finalized_paged_task(services)
    chunks, _, name = export_task(services.db, services.store, CHAIN, TASK, format)
    parts = list(chunks)
    streamed = b"".join(parts)
    entries = {e["item"]: e for page in outcome.pages for e in _page_entries(page)}
    held = TaskResults(
        task_id=TASK,
        result_cid=outcome.cid,
        kind="categorical",
        classes=("a", "b"),
        items=tuple(
            ResultItem(
                item=item,
                value=entries[item]["value"],
                confidence=entries[item]["confidence"],
                confident=entries[item]["confident"],
                gold=entries[item]["gold"],
                data={"text": f"text {item}"},
            )
            for item in sorted(_ids())
        ),
        annotators=(),
        document={},
    )
    assert streamed == export_results(held, tmp_path / name, format).read_bytes()
    if format == "labelstudio":  # the same JSON list, a task per item, in the result's order
        assert len(parts) == ITEMS + 1  # an element a chunk, then the closing bracket
        tasks = json.loads(streamed)
        assert [task["data"]["id"] for task in tasks] == sorted(_ids())
        return
    lines = streamed.decode().splitlines()
    assert len(lines) == ITEMS + (format == "csv")
    assert lines[-1].startswith('{"id": "item-02006"' if format == "jsonl" else "item-02006,")


def _page_entries(page: bytes) -> list[dict[str, JsonValue]]:
    entries: list[dict[str, JsonValue]] = json.loads(page)["items"]
    return entries


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_pages_are_read_as_lines_are_written(
    services: NodeServices, monkeypatch: pytest.MonkeyPatch, format: ExportFormat
) -> None:
    _finalized_paged_task(services)
    written: list[bytes] = []
    lines_when_read: list[int] = []
    real: Callable[[ContentStore, str], bytes] = ui_report.result_page_bytes

    def counting(store: ContentStore, cid: str) -> bytes:
        lines_when_read.append(b"".join(written).count(b"\n"))
        return real(store, cid)

    monkeypatch.setattr(ui_report, "result_page_bytes", counting)
    chunks, _, _ = export_task(services.db, services.store, CHAIN, TASK, format)
    assert lines_when_read == [0, 0, 0]  # the checking pass, before anything is written
    for chunk in chunks:
        written.append(chunk)
    header = int(format == "csv")  # written with the first row
    # each page is read when the line of its first item is due, never before
    assert lines_when_read[3:] == [0, PAGE_ITEMS + header, 2 * PAGE_ITEMS + header]
    assert b"".join(written).count(b"\n") == ITEMS + header


def test_the_download_streams_the_same_file(services: NodeServices, client: TestClient) -> None:
    _finalized_paged_task(services)
    response = client.get(f"/api/v1/ui/tasks/{TASK}/export?format=jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"] == 'attachment; filename="task-1-results.jsonl"'
    chunks, _, _ = export_task(services.db, services.store, CHAIN, TASK, "jsonl")
    assert response.content == b"".join(chunks)


def test_a_one_shot_iterator_is_refused_where_the_items_are_read_twice(tmp_path: Path) -> None:
    item = ResultItem("q1", "a", "0.900000000", True, False, {"text": "one"})
    once = TaskResults(TASK, "bafkreiresult", "categorical", ("a", "b"), iter([item]), (), {})
    with pytest.raises(ExportError, match="not an iterator"):
        export_results(once, tmp_path / "r.csv", "csv")
    empty = TaskResults(TASK, "bafkreiresult", "categorical", ("a", "b"), (), (), {})
    header = export_results(empty, tmp_path / "e.csv", "csv").read_bytes()
    assert header == b"id,label,confidence,confident,gold\r\n"
