"""The one place where labelnet errors become HTTP responses.

Domain code raises ``LabelnetError`` subclasses that also inherit the builtin category
that fits; the status code follows from that category, so no route maps errors itself.

Every error body is rendered with ``ensure_ascii``: an error often echoes what the client
sent (a validation error's ``input``), and a client can send strings that have no UTF-8
encoding (a lone UTF-16 surrogate, ``"\\ud800"``, is valid JSON text). Rendered as UTF-8,
such an echo raised while the 4xx was being written and turned it into a 500; escaped, it
is plain ASCII JSON that any client decodes back to what it sent.

A full disk is the one failure of the machine mapped here too: any write that finds no space
(``ENOSPC`` from a file, SQLite's "database or disk is full", PostgreSQL's ``disk_full``)
answers 503 ``DiskFullError`` (retry once space is freed; ``/readyz`` already says not
ready), never a 500. Every other ``OSError`` or database error stays the 500 it is.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from node.errors import DiskFullError, LabelnetError, is_disk_full

log = logging.getLogger(__name__)

DISK_FULL_DETAIL = (
    "the node's disk is full: nothing was stored; free space in the data directory and retry"
)


class ErrorResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so any string renders (see above)."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        return text.encode("ascii")


def status_for(exc: LabelnetError) -> int:
    """HTTP status for a labelnet error, by the builtin category it also belongs to."""
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, LookupError):
        return 404
    if isinstance(exc, FileExistsError):
        return 409
    if isinstance(exc, ValueError):
        return 422
    if isinstance(exc, TimeoutError):
        return 504
    return 503


def validation_issues(exc: RequestValidationError) -> list[Any]:
    """FastAPI's list of issues, with the offending ``input`` left out of any issue whose
    input cannot be encoded as JSON at all (bytes that are not UTF-8)."""
    issues: list[Any] = []
    for issue in exc.errors():
        try:
            issues.append(jsonable_encoder(issue))
        except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
            issues.append(jsonable_encoder({k: v for k, v in issue.items() if k != "input"}))
    return issues


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LabelnetError)
        return ErrorResponse(
            status_code=status_for(exc),
            content={"error": type(exc).__name__, "detail": str(exc)},
        )

    async def handle_http(_request: Request, exc: Exception) -> JSONResponse:
        # The API's refusals (401 for a missing token) in the same body as its errors.
        assert isinstance(exc, HTTPException)
        return ErrorResponse(
            status_code=exc.status_code,
            content={"error": HTTPStatus(exc.status_code).phrase, "detail": str(exc.detail)},
            headers=exc.headers,
        )

    async def handle_invalid(_request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own 422 shape (documented as RequestInvalid), rendered so it cannot fail.
        assert isinstance(exc, RequestValidationError)
        return ErrorResponse(status_code=422, content={"detail": validation_issues(exc)})

    async def handle_machine(_request: Request, exc: Exception) -> JSONResponse:
        # Only a full disk is answered here; anything else goes on to be the 500 it is.
        if not is_disk_full(exc):
            raise exc
        log.error("a request failed on a full disk: %s", exc)
        return ErrorResponse(
            status_code=503, content={"error": DiskFullError.__name__, "detail": DISK_FULL_DETAIL}
        )

    app.add_exception_handler(LabelnetError, handle)
    app.add_exception_handler(OSError, handle_machine)
    app.add_exception_handler(SQLAlchemyError, handle_machine)
    app.add_exception_handler(HTTPException, handle_http)
    app.add_exception_handler(RequestValidationError, handle_invalid)
