"""Submitting labels over HTTP: auth, round trip, idempotence, the commit freeze, 422s."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from node.db.models import TaskStatus
from node.db.repositories import LabelRepository
from tests.api.conftest import CHAIN, add_task, record_commit_intent

LABELS = "/api/v1/tasks/1/labels"


def stored(services: NodeServices, task_id: int = 1) -> dict[str, object]:
    assert services.annotator is not None
    with services.db.session() as session:
        rows = LabelRepository(session).list_for(CHAIN, task_id, services.annotator)
    return {row.item_id: row.value for row in rows}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong-token", "wrong-scheme", "empty"],
)
def test_writes_need_the_node_token(
    client: TestClient, services: NodeServices, headers: dict[str, str]
) -> None:
    add_task(services.db)
    response = client.post(LABELS, json=[{"item": "img-0000", "value": "cat"}], headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert stored(services) == {}


def test_public_reads_need_no_token_but_this_nodes_work_does(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db)
    assert client.get("/api/v1/tasks/1").status_code == 200
    assert client.get("/api/v1/tasks/1/items/next").status_code == 401
    assert client.get("/api/v1/tasks/1/items/next", headers=auth).status_code == 200


def test_batch_round_trip(
    client: TestClient, services: NodeServices, auth: dict[str, str], annotator: LocalAccount
) -> None:
    items = add_task(services.db)
    batch = [
        {"item": items[0], "value": "cat"},
        {"item": items[1], "value": {"box": [1, 2, 3, 4], "class": "dog"}},
        {"item": items[2], "value": 0.75},
    ]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 200
    assert response.json() == {"task_id": 1, "annotator": annotator.address, "accepted": 3}
    # Acknowledged means committed: a fresh session sees every label.
    assert stored(services) == {label["item"]: label["value"] for label in batch}
    detail = client.get("/api/v1/tasks/1", headers=auth).json()
    assert detail["labelled"] == 3
    assert detail["items_stored"] == 10
    assert client.get("/api/v1/tasks/1").json()["labelled"] is None  # not without the token


def test_resubmitting_is_idempotent_and_later_values_win(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)
    batch = [{"item": items[0], "value": "cat"}, {"item": items[1], "value": "dog"}]
    first = client.post(LABELS, json=batch, headers=auth).json()
    again = client.post(LABELS, json=batch, headers=auth).json()
    assert first["accepted"] == again["accepted"] == 2
    assert stored(services) == {items[0]: "cat", items[1]: "dog"}

    changed = [{"item": items[0], "value": "bird"}, {"item": items[0], "value": "fish"}]
    assert client.post(LABELS, json=changed, headers=auth).json()["accepted"] == 1
    assert stored(services) == {items[0]: "fish", items[1]: "dog"}
    progress = client.get("/api/v1/tasks/1/progress", headers=auth).json()
    assert progress["done"] == 2


def test_labels_freeze_once_the_node_committed(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)
    assert client.post(LABELS, json=[{"item": items[0], "value": "cat"}], headers=auth).is_success
    record_commit_intent(services)
    for batch in ([{"item": items[0], "value": "dog"}], [{"item": items[1], "value": "cat"}]):
        response = client.post(LABELS, json=batch, headers=auth)
        assert response.status_code == 409
        assert response.json()["error"] == "LabelsFrozenError"
    assert stored(services) == {items[0]: "cat"}
    progress = client.get("/api/v1/tasks/1/progress", headers=auth).json()
    assert progress["commit_state"] == "pending"


def test_closed_task_refuses_labels(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db, status=TaskStatus.CANCELLED)
    response = client.post(LABELS, json=[{"item": items[0], "value": "cat"}], headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == "TaskClosedError"


def test_unknown_task_is_404(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/tasks/99/labels", json=[{"item": "x", "value": "cat"}], headers=auth
    )
    assert response.status_code == 404
    assert response.json()["error"] == "TaskNotFoundError"


def test_unknown_item_rejects_the_whole_batch(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)
    batch = [{"item": items[0], "value": "cat"}, {"item": "not-an-item", "value": "dog"}]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "LabelRejectedError"
    assert stored(services) == {}  # all or nothing


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'[{"item": "img-0000", "value": null}]', "InvalidLabelError"),
        (b'[{"item": "img-0000", "value": NaN}]', "InvalidLabelError"),
        (b'[{"item": "img-0000", "value": [1, Infinity]}]', "InvalidLabelError"),
        (b'[{"item": "", "value": "cat"}]', None),
        (b'[{"item": "img-0000"}]', None),
        (b'[{"value": "cat"}]', None),
        (b'[{"item": 7, "value": "cat"}]', None),
        (b'{"item": "img-0000", "value": "cat"}', None),
        (b"not json", None),
    ],
    ids=[
        "null",
        "nan",
        "infinity",
        "empty-item",
        "no-value",
        "no-item",
        "item-not-string",
        "not-a-list",
        "not-json",
    ],
)
def test_bad_batches_are_422(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    body: bytes,
    error: str | None,
) -> None:
    add_task(services.db)
    headers = {**auth, "Content-Type": "application/json"}
    response = client.post(LABELS, content=body, headers=headers)
    assert response.status_code == 422
    if error is not None:
        assert response.json()["error"] == error
    assert stored(services) == {}


def test_empty_batch_is_accepted_as_nothing(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db)
    assert client.post(LABELS, json=[], headers=auth).json()["accepted"] == 0


def test_next_items_pages_through_what_is_not_labelled(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db, items=25)

    def next_ids(limit: int) -> list[str]:
        response = client.get("/api/v1/tasks/1/items/next", params={"limit": limit}, headers=auth)
        assert response.status_code == 200
        return [item["item_id"] for item in response.json()]

    assert next_ids(10) == items[:10]
    client.post(LABELS, json=[{"item": i, "value": "cat"} for i in items[:10]], headers=auth)
    assert next_ids(10) == items[10:20]
    # Labelling out of order leaves the gaps in manifest order.
    client.post(LABELS, json=[{"item": items[12], "value": "cat"}], headers=auth)
    assert next_ids(5) == [items[10], items[11], items[13], items[14], items[15]]
    client.post(LABELS, json=[{"item": i, "value": "dog"} for i in items], headers=auth)
    assert next_ids(10) == []
    next_url = "/api/v1/tasks/1/items/next"
    assert client.get(next_url, params={"limit": 0}, headers=auth).status_code == 422
    assert client.get("/api/v1/tasks/9/items/next", headers=auth).status_code == 404


def test_read_only_node_cannot_label(client: TestClient, services: NodeServices) -> None:
    add_task(services.db)
    services.account = None
    auth = {"Authorization": f"Bearer {services.api_token}"}
    response = client.post(LABELS, json=[{"item": "img-0000", "value": "cat"}], headers=auth)
    assert response.status_code == 503
    assert response.json()["error"] == "NoAccountError"
    assert client.get("/api/v1/tasks/1/items/next", headers=auth).status_code == 503
    assert client.get("/api/v1/tasks/1", headers=auth).json()["labelled"] is None
