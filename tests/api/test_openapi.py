"""The OpenAPI document is valid and documents every route."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

EXPECTED = {
    "/api/v1/tasks": {"get"},
    "/api/v1/tasks/{task_id}": {"get"},
    "/api/v1/tasks/{task_id}/items/next": {"get"},
    "/api/v1/tasks/{task_id}/labels": {"post"},
    "/api/v1/tasks/{task_id}/progress": {"get"},
    "/api/v1/tasks/{task_id}/results": {"get"},
    "/api/v1/tasks/{task_id}/seat-claims": {"post"},
    "/api/v1/earnings": {"get"},
    "/api/v1/review/tasks": {"get"},
    "/api/v1/review/tasks/{task_id}": {"get"},
    "/api/v1/review/tasks/{task_id}/votes/{item_id}": {"put", "post"},
    "/api/v1/review/tasks/{task_id}/progress": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/ipfs/{cid}": {"get", "head"},
}


def test_openapi_is_valid_and_complete(client: TestClient) -> None:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    validate(schema)  # raises on any violation of the OpenAPI 3.1 schema
    assert {path: set(ops) for path, ops in schema["paths"].items()} == EXPECTED
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("tags"), f"{where} has no tag"
            ok = operation["responses"]["200"]
            if path.startswith("/api/") or path in ("/healthz", "/readyz"):
                assert "$ref" in str(ok["content"]["application/json"]["schema"]), where
    labels = schema["paths"]["/api/v1/tasks/{task_id}/labels"]["post"]
    assert labels["security"] == [{"NodeToken": []}]
    assert {"401", "404", "409", "422"} <= set(labels["responses"])
    body = labels["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    assert schema["components"]["securitySchemes"]["NodeToken"]["scheme"] == "bearer"
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


def test_docs_page_is_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
