"""The one place where labelnet errors become HTTP responses.

Domain code raises ``LabelnetError`` subclasses that also inherit the builtin category
that fits; the status code follows from that category, so no route maps errors itself.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from node.errors import LabelnetError


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


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LabelnetError)
        return JSONResponse(
            status_code=status_for(exc),
            content={"error": type(exc).__name__, "detail": str(exc)},
        )

    async def handle_http(_request: Request, exc: Exception) -> JSONResponse:
        # The API's refusals (401 for a missing token) in the same body as its errors.
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": HTTPStatus(exc.status_code).phrase, "detail": str(exc.detail)},
            headers=exc.headers,
        )

    app.add_exception_handler(LabelnetError, handle)
    app.add_exception_handler(HTTPException, handle_http)
