"""The review API (issue #17 item 3) on a node without a chain: the contested set is the one
the validators' published result implies, votes are stored and refused as they should be,
and the set is refused before the reveal deadline, without a review section, and while a
revealed batch is not read yet."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.db.models import Commitment, CommitState
from node.db.repositories.review import votes_for
from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABELS_V2, LabelBatch
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.protocol.result import parse_result
from node.protocol.review import ReviewParams
from node.protocol.rules import PPB
from tests.api.conftest import CHAIN, add_task

CLASSES = ("cat", "dog", "fox")
ITEMS = 20
SHARE = "0.25"  # floor(0.25 * 20) = 5 contested items
PAST: dict[str, object] = {"commit_deadline": 500, "reveal_deadline": 1_000, "algorithm": "hds@4"}
ANNOTATORS = [Account.from_key("0x" + f"{n:02x}" * 32).address for n in (0x21, 0x22, 0x23)]


def item_ids() -> list[str]:
    return [f"img-{n:04d}" for n in range(ITEMS)]


def content(review: bool = True) -> TaskContent:
    return build_task_content(
        [ItemSpec(item, data={"text": f"picture {item}"}) for item in item_ids()],
        title="Animals",
        instructions="Pick the **animal** in the picture.",
        kind=TaskKind.CATEGORICAL,
        classes=CLASSES,
        review=ReviewParams.create(10, 30, contested_share=SHARE) if review else None,
    )


def answers() -> list[dict[str, str]]:
    """Three annotators: the first always right, the others each wrong on a few items."""
    truth = {item: CLASSES[n % 3] for n, item in enumerate(item_ids())}
    second = dict(truth, **{i: "fox" for i in item_ids()[0:12:3]})
    third = dict(truth, **{i: "dog" for i in item_ids()[1:14:4]})
    return [truth, second, third]


def reveal(services: NodeServices, task_id: int, labels: list[dict[str, str]]) -> list[LabelBatch]:
    """Each annotator's batch in the node's store and its reveal in the mirror's table."""
    batches = []
    for annotator, given in zip(ANNOTATORS, labels, strict=False):
        batch = LabelBatch.create(task_id, annotator, given.items())
        cid = batch.publish(LABELS_V2, services.store.put)
        with services.db.write() as session:
            session.add(
                Commitment(
                    chain_id=CHAIN,
                    task_id=task_id,
                    annotator=annotator,
                    state=CommitState.REVEALED,
                    commitment="0x" + "ab" * 32,
                    labels_root="0x" + batch.root().hex(),
                    labels_cid=cid,
                    reveal_block=7,
                )
            )
        batches.append(batch)
    return batches


def reviewed_task(services: NodeServices, task_id: int = 1, **overrides: object) -> TaskContent:
    task = content()
    for blob in task.blobs():
        services.store.put(blob)
    add_task(services.db, task_id, ITEMS, manifest_cid=task.manifest_cid, **{**PAST, **overrides})
    return task


def test_the_contested_set_is_the_one_the_validators_result_implies(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    task = reviewed_task(services)
    batches = reveal(services, 1, answers())
    view = client.get("/api/v1/review/tasks/1", headers=auth)
    assert view.status_code == 200, view.text
    body: dict[str, Any] = view.json()

    # The validators' result: the least confident floor(share * N) items, ties by id.
    spec = TaskSpec(
        1,
        task.manifest.consensus.reward_params(10 * 10**18, ITEMS * 30 * 10**18),
        classes=CLASSES,
        algorithm="hds@4",
        result_schema=task.manifest.result,
    )
    published = {row["item"]: row for row in _result_items(run_consensus(spec, batches))}
    ranked = sorted(published, key=lambda item: (published[item]["confidence"], item))
    expected = sorted(ranked[: ITEMS // 4])
    assert [item["item_id"] for item in body["items"]] == expected
    for item in body["items"]:
        row = published[item["item_id"]]
        assert (item["consensus"], item["posterior"]) == (row["value"], row["confidence"])
        assert int(item["posterior"].replace(".", "")) < PPB
        given = {
            label["value"]: label["annotators"] for label in item["labels"]
        }  # every revealed label, by class
        assert given == _given(item["item_id"])
        assert item["data"] == {"text": f"picture {item['item_id']}"}
    assert body["progress"] == {"voted": 0, "total": 5}
    assert "<strong>animal</strong>" in body["instructions_html"]
    assert body["batches_used"] == 3 and body["classes"] == list(CLASSES)

    tasks = client.get("/api/v1/review/tasks", headers=auth).json()
    assert [(t["task_id"], t["voted"]) for t in tasks] == [(1, 0)]


def _result_items(outcome: ConsensusOutcome) -> list[dict[str, Any]]:
    """The published result's item rows, read back by the one result parser."""
    pages = {compute_cid(page): page for page in outcome.pages}
    document = parse_result(outcome.document_bytes, 1)
    return [
        {"item": row.item, "value": row.value, "confidence": row.confidence}
        for row in document.iter_items(pages.__getitem__)
    ]


def _given(item: str) -> dict[str, list[str]]:
    by_class: dict[str, list[str]] = {}
    for annotator, given in zip(ANNOTATORS, answers(), strict=True):
        by_class.setdefault(given[item], []).append(annotator.lower())
    return {value: sorted(who) for value, who in by_class.items()}


def test_votes_are_stored_replaced_and_refused_when_not_a_class(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    reviewed_task(services)
    reveal(services, 1, answers())
    items = [
        i["item_id"] for i in client.get("/api/v1/review/tasks/1", headers=auth).json()["items"]
    ]
    url = f"/api/v1/review/tasks/1/votes/{items[0]}"
    first = client.put(url, json={"value": "dog"}, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json() == {"voted": 1, "total": 5}
    assert client.post(url, json={"value": "fox"}, headers=auth).json() == {"voted": 1, "total": 5}
    assert services.annotator is not None
    with services.db.session() as session:
        assert votes_for(session, CHAIN, 1, services.annotator) == {items[0]: "fox"}

    wrong = client.put(url, json={"value": "cow"}, headers=auth)
    assert (wrong.status_code, wrong.json()["error"]) == (422, "InvalidVoteError")
    assert client.put(url, json={"value": ""}, headers=auth).status_code == 422
    calm = next(item for item in item_ids() if item not in items)
    outside = client.put(
        f"/api/v1/review/tasks/1/votes/{calm}", json={"value": "cat"}, headers=auth
    )
    assert (outside.status_code, outside.json()["error"]) == (404, "NotContestedError")
    assert client.put(url, json={"value": "dog"}).status_code == 401
    progress = client.get("/api/v1/review/tasks/1/progress", headers=auth).json()
    assert progress == {"voted": 1, "total": 5}
    with services.db.session() as session:
        assert votes_for(session, CHAIN, 1, services.annotator) == {items[0]: "fox"}


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("no review section", 404, "NotReviewedError"),
        ("reveal window open", 409, "ReviewNotOpenError"),
        ("a batch not read", 409, "ReviewIncompleteError"),
        ("unknown task", 404, "TaskNotFoundError"),
        ("manifest not read", 409, "ReviewIncompleteError"),
    ],
)
def test_the_set_is_refused_until_it_exists_whole(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    case: str,
    status: int,
    error: str,
) -> None:
    if case == "no review section":
        plain = content(review=False)
        for blob in plain.blobs():
            services.store.put(blob)
        add_task(services.db, 1, ITEMS, manifest_cid=plain.manifest_cid, **PAST)
        reveal(services, 1, answers())
    elif case == "reveal window open":
        reviewed_task(services, reveal_deadline=4_000_003_600, commit_deadline=4_000_000_000)
    elif case == "a batch not read":
        reviewed_task(services)
        reveal(services, 1, answers()[:2])
        services.reviews().read_seconds = 0.5  # no peer serves the third: fail fast
        missing = LabelBatch.create(1, ANNOTATORS[2], answers()[2].items())
        with services.db.write() as session:
            session.add(
                Commitment(
                    chain_id=CHAIN,
                    task_id=1,
                    annotator=ANNOTATORS[2],
                    state=CommitState.REVEALED,
                    labels_root="0x" + missing.root().hex(),
                    labels_cid=missing.cid(LABELS_V2),  # never stored on this node
                    reveal_block=7,
                )
            )
    elif case == "manifest not read":  # a validator node reads it when it validates
        services.reviews().read_seconds = 0.5
        add_task(services.db, 1, ITEMS, manifest_cid=content().manifest_cid, **PAST)
    for method, path, body in (
        ("GET", "/api/v1/review/tasks/1", None),
        ("GET", "/api/v1/review/tasks/1/progress", None),
        ("PUT", "/api/v1/review/tasks/1/votes/img-0001", {"value": "cat"}),
    ):
        answer = client.request(method, path, json=body, headers=auth)
        assert (answer.status_code, answer.json()["error"]) == (status, error), (method, path)
    assert services.annotator is not None
    with services.db.session() as session:
        assert votes_for(session, CHAIN, 1, services.annotator) == {}
