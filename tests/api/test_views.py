"""Tasks, progress, earnings and results as the API reports them."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from node.db.models import Attestation, Task, TaskStatus
from node.db.repositories import PayoutLeaf, PayoutRepository
from tests.api.conftest import CHAIN, add_task

OTHER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
VALIDATOR = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
ROOT = "0x" + "aa" * 32
RESULT_CID = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


def test_tasks_list_pages_and_filters(client: TestClient, services: NodeServices) -> None:
    for task_id in (1, 2, 3):
        add_task(services.db, task_id, items=2)
    add_task(services.db, 4, items=2, status=TaskStatus.FINALIZED)
    listed = client.get("/api/v1/tasks").json()
    assert [t["task_id"] for t in listed] == [1, 2, 3, 4]
    assert listed[0]["reward_per_label"] == str(10 * 10**18)  # exact, as a string
    page = client.get("/api/v1/tasks", params={"after": 1, "limit": 2}).json()
    assert [t["task_id"] for t in page] == [2, 3]
    finalized = client.get("/api/v1/tasks", params={"status": "finalized"}).json()
    assert [t["task_id"] for t in finalized] == [4]
    assert client.get("/api/v1/tasks", params={"status": "bogus"}).status_code == 422


def test_task_detail_has_status_deadlines_and_counts(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db, 7, items=5)
    detail = client.get("/api/v1/tasks/7", headers=auth).json()
    assert detail["status"] == "open"
    assert detail["commit_deadline"] == 4_000_000_000
    assert detail["reveal_deadline"] == 4_000_003_600
    assert (detail["num_items"], detail["items_stored"], detail["labelled"]) == (5, 5, 0)
    assert (detail["commits"], detail["reveals"], detail["own_commit_state"]) == (0, 0, None)
    missing = client.get("/api/v1/tasks/8")
    assert missing.status_code == 404
    assert missing.json()["error"] == "TaskNotFoundError"


def test_progress_counts_and_time_to_commit(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    deadline = int(time.time()) + 600
    items = add_task(services.db, items=4, commit_deadline=deadline)
    batch = [{"item": item, "value": "cat"} for item in items[:3]]
    client.post("/api/v1/tasks/1/labels", json=batch, headers=auth)
    progress = client.get("/api/v1/tasks/1/progress", headers=auth).json()
    assert (progress["done"], progress["total"], progress["complete"]) == (3, 4, False)
    assert 590 <= progress["seconds_to_commit_deadline"] <= 600
    assert progress["commit_deadline"] == deadline
    client.post("/api/v1/tasks/1/labels", json=[{"item": items[3], "value": "x"}], headers=auth)
    assert client.get("/api/v1/tasks/1/progress", headers=auth).json()["complete"] is True

    add_task(services.db, 2, items=1, commit_deadline=int(time.time()) - 5)
    closed = client.get("/api/v1/tasks/2/progress", headers=auth).json()
    assert closed["seconds_to_commit_deadline"] == 0
    assert client.get("/api/v1/tasks/3/progress", headers=auth).status_code == 404


def test_earnings_split_claimed_claimable_pending(
    client: TestClient, services: NodeServices
) -> None:
    me = services.require_annotator()
    for task_id in (1, 2, 3):
        add_task(services.db, task_id, items=1)
    with services.db.write() as session:
        payouts = PayoutRepository(session)
        payouts.record_leaves(CHAIN, 1, [PayoutLeaf(me, 5 * 10**18, ["0x" + "01" * 32])])
        payouts.record_leaves(CHAIN, 2, [PayoutLeaf(me, 2**200, ["0x" + "02" * 32])])
        payouts.record_leaves(CHAIN, 3, [PayoutLeaf(me, 7, []), PayoutLeaf(OTHER, 9, [])])
    with services.db.write() as session:
        claimed = PayoutRepository(session).get(CHAIN, 1, me)
        assert claimed is not None
        claimed.claimed = True
        session.add(claimed)
        third = PayoutRepository(session).get(CHAIN, 3, me)
        assert third is not None
        third.proof = None  # the node does not know this tree's proof yet
        session.add(third)

    earnings = client.get("/api/v1/earnings").json()
    assert earnings["account"] == me
    assert earnings["claimed"] == str(5 * 10**18)
    assert earnings["claimable"] == str(2**200)  # exact beyond 2**53
    assert earnings["pending"] == "7"
    assert earnings["tasks"] == 3
    assert [p["task_id"] for p in earnings["payouts"]] == [1, 2, 3]

    other = client.get("/api/v1/earnings", params={"account": OTHER.lower()}).json()
    assert other["account"] == OTHER
    assert (other["claimable"], other["pending"]) == ("9", "0")
    assert client.get("/api/v1/earnings", params={"account": "nope"}).status_code == 422


def test_results_404_until_attested_then_payouts(
    client: TestClient, services: NodeServices
) -> None:
    add_task(services.db, items=1)
    before = client.get("/api/v1/tasks/1/results")
    assert before.status_code == 404
    assert before.json()["error"] == "ResultNotKnownError"

    with services.db.write() as session:
        session.add(
            Attestation(
                chain_id=CHAIN,
                task_id=1,
                validator=VALIDATOR,
                payout_root=ROOT,
                result_cid=RESULT_CID,
                block_number=10,
                tx_hash="0x" + "01" * 32,
                total_payout=30 * 10**18,
                weight=10**21,
            )
        )
    attested = client.get("/api/v1/tasks/1/results").json()
    assert attested["payout_root"] is None  # attested, not finalized
    assert attested["result_cid"] is None
    assert attested["attestations"][0]["total_payout"] == str(30 * 10**18)

    with services.db.write() as session:
        task = session.get_one(Task, (CHAIN, 1))
        task.status = TaskStatus.FINALIZED
        task.payout_root = ROOT
        task.total_payout = 30 * 10**18
        session.add(task)
        PayoutRepository(session).record_leaves(
            CHAIN, 1, [PayoutLeaf(services.require_annotator(), 30 * 10**18, [])]
        )
    final = client.get("/api/v1/tasks/1/results").json()
    assert final["status"] == "finalized"
    assert (final["payout_root"], final["result_cid"]) == (ROOT, RESULT_CID)
    assert final["total_payout"] == str(30 * 10**18)
    assert final["payouts"][0]["amount"] == str(30 * 10**18)
    assert client.get("/api/v1/tasks/2/results").status_code == 404
