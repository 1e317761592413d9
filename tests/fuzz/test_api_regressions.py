"""What the schemathesis campaign found in the API, one test each, so each stays fixed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.routes import MAX_DB_INTEGER
from node.app.runtime import NodeServices
from tests.api.conftest import add_task

TOO_BIG = str(MAX_DB_INTEGER + 1)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/tasks/{TOO_BIG}",
        f"/api/v1/tasks/{TOO_BIG}/items/next",
        f"/api/v1/tasks/{TOO_BIG}/progress",
        f"/api/v1/tasks/{TOO_BIG}/results",
        f"/api/v1/tasks?after={TOO_BIG}",
        f"/api/v1/ui/tasks/{TOO_BIG}/report",
    ],
)
def test_an_id_beyond_the_database_integer_is_refused_not_a_crash(
    client: TestClient, auth: dict[str, str], path: str
) -> None:
    # Was a 500: SQLite's driver raises OverflowError on an id past 2**63 - 1.
    response = client.get(path, headers=auth)
    assert response.status_code == 422


def test_the_largest_storable_id_is_merely_unknown(client: TestClient) -> None:
    response = client.get(f"/api/v1/tasks/{MAX_DB_INTEGER}")
    assert response.status_code == 404
    assert response.json()["error"] == "TaskNotFoundError"


def test_a_write_without_the_token_is_answered_in_the_documented_error_body(
    client: TestClient, services: NodeServices
) -> None:
    items = add_task(services.db, items=1)
    response = client.post("/api/v1/tasks/1/labels", json=[{"item": items[0], "value": "x"}])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body: dict[str, Any] = response.json()
    assert body["error"] == "Unauthorized"
    assert "API token" in body["detail"]


def test_a_body_that_is_not_json_is_a_documented_400(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db, items=1)
    response = client.post(
        "/api/v1/tasks/1/labels",
        content=b";'\xff",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    documented = client.get("/openapi.json").json()["paths"]["/api/v1/tasks/{task_id}/labels"]
    assert str(response.status_code) in documented["post"]["responses"]


def test_a_request_validation_422_matches_its_documented_schema(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db, items=1)
    response = client.post("/api/v1/tasks/1/labels", json={"not": "a list"}, headers=auth)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)  # FastAPI's shape, as documented
    schema = client.get("/openapi.json").json()
    documented = schema["paths"]["/api/v1/tasks/{task_id}/labels"]["post"]["responses"]["422"]
    assert "anyOf" in str(documented["content"]["application/json"]["schema"])


@pytest.mark.parametrize("cid", ["0", "b", "z", "f", "bafy", "Qm", "%00"])
def test_a_truncated_cid_at_the_gateway_is_a_400(client: TestClient, cid: str) -> None:
    # Was a 500: multiformats raised IndexError for a multibase prefix with no payload.
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 400
    assert client.head(f"/ipfs/{cid}").status_code == 400
