"""Request bodies the node refuses before parsing: too deep (would crash it) or too large."""

from __future__ import annotations

from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from tests.api.conftest import add_task

LABELS = "/api/v1/tasks/1/labels"


def test_a_deeply_nested_body_is_refused_and_the_node_keeps_serving(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)
    body = b'[{"item": "x", "value": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]"
    response = client.post(
        LABELS, content=body, headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "DocumentTooDeepError"
    ok = client.post(LABELS, json=[{"item": items[0], "value": "cat"}], headers=auth)
    assert ok.status_code == 200


def test_brackets_inside_strings_do_not_count(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)
    value = "[" * 1_000
    response = client.post(LABELS, json=[{"item": items[0], "value": value}], headers=auth)
    assert response.status_code == 200


def test_an_oversized_body_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db)
    from node.api import limits

    body = b" " * (limits.MAX_BODY_BYTES + 1)
    response = client.post(
        LABELS, content=body, headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 413
