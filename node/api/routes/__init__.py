"""The node's HTTP routes, one module per concept; each route only maps HTTP to a use case
in :mod:`node.app` (errors become statuses in :mod:`node.api.errors`, never here)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

API_PREFIX = "/api/v1"


class ErrorBody(BaseModel):
    """How every labelnet error is answered (see :mod:`node.api.errors`)."""

    error: str
    detail: str


_DESCRIPTIONS = {
    401: "Missing or wrong API token",
    404: "Unknown task, or nothing known yet",
    409: "The request conflicts with the task's state",
    422: "Invalid request",
    503: "The node cannot do this now (read-only node, backend down)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}
