"""The node's HTTP routes, one module per concept; each route only maps HTTP to a use case
in :mod:`node.app` (errors become statuses in :mod:`node.api.errors`, never here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel

API_PREFIX = "/api/v1"

MAX_DB_INTEGER = 2**63 - 1
"""Largest id the database stores (a signed 64-bit column on SQLite and PostgreSQL): a
larger one in a request could only be unknown, and the driver raises on it, so the request
is refused as invalid instead of reaching the database."""

TaskId = Annotated[int, Path(ge=0, le=MAX_DB_INTEGER, description="the task's on-chain id")]
AfterTaskId = Annotated[
    int, Query(ge=0, le=MAX_DB_INTEGER, description="return tasks with a larger id")
]


class ErrorBody(BaseModel):
    """How every labelnet error is answered (see :mod:`node.api.errors`)."""

    error: str
    detail: str


class ValidationIssue(BaseModel):
    """One reason FastAPI refused a request's parameters or body."""

    loc: list[str | int]
    msg: str
    type: str


class RequestInvalid(BaseModel):
    """How a request that does not match this document is refused (FastAPI's own shape)."""

    detail: list[ValidationIssue]


_DESCRIPTIONS = {
    400: "The body could not be read (not UTF-8 JSON), or no usable Host header",
    401: "Missing or wrong API token",
    403: "This account may not do this (e.g. it holds no seat of a seated task)",
    404: "Unknown task, or nothing known yet",
    409: "The request conflicts with the task's state",
    421: "The Host header does not name this node (see node.api.hosts)",
    422: "Invalid request",
    503: "The node cannot do this now (read-only node, backend down)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {
        code: {
            # A 422 is either a labelnet error or FastAPI's refusal of the request's shape.
            "model": ErrorBody | RequestInvalid if code == 422 else ErrorBody,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }
