"""The IPFS trustless gateway every node serves: ``GET``/``HEAD /ipfs/{cid}``.

Peers fetch content from each other through it (see :mod:`node.store.gateway`), and so can
any IPFS client that speaks the trustless gateway protocol (Helia, kubo's ``boxo``), because
the responses follow the spec (specs.ipfs.tech/http-gateways/trustless-gateway):

* ``?format=raw`` or ``Accept: application/vnd.ipld.raw`` (the query wins when both are
  given): the block's bytes, ``Content-Type: application/vnd.ipld.raw``, a strong
  ``ETag: "<cid>.raw"``, ``Cache-Control: public, max-age=29030400, immutable`` (a block
  can never change), ``X-Content-Type-Options: nosniff`` and ``Content-Disposition:
  attachment`` so a browser never renders served bytes as a page;
* CAR responses are not offered (406): every client we serve walks DAGs block by block;
* without a raw request, for people and scripts: the whole UnixFS file, verified, as
  ``application/json`` when it looks like a JSON document (every protocol document is) and
  ``application/octet-stream`` otherwise (never ``text/html``), up to ``max_file_size``;
* 400 for a malformed CID or an unknown ``format``, 404 for a block the store does not
  hold, 304 for a matching ``If-None-Match``, 500 for a block corrupt on our disk and 503
  for an unreachable backend (their details are logged, not sent: they name local paths).
  The empty identity CID ``bafkqaaa`` answers 200 with no bytes, the spec's probe that
  this is a trustless gateway.

The router only maps HTTP to :class:`~node.store.base.ContentStore` calls. Give it the
node's *local* store: a gateway that fetched from peers on a miss could loop between nodes.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from node.store.base import ContentStore, parse_cid
from node.store.errors import (
    BlockMismatchError,
    BlockNotFoundError,
    FileTooLargeError,
    InvalidCidError,
    InvalidContentError,
    StoreError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

RAW_MEDIA_TYPE = "application/vnd.ipld.raw"
CAR_MEDIA_TYPE = "application/vnd.ipld.car"
IMMUTABLE_CACHE = "public, max-age=29030400, immutable"
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024
"""Largest file served whole (the deserialized convenience response); blocks have no limit
beyond the store's, since a client reading a bigger file fetches it block by block."""

ResponseKind = Literal["raw", "file"]


class _GatewayError(Exception):
    """An HTTP error answer: status and the one-line reason sent as ``text/plain``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_STORE_ERROR_STATUS: tuple[tuple[type[StoreError], int], ...] = (
    (InvalidCidError, 400),
    (BlockNotFoundError, 404),
    (FileTooLargeError, 406),
    (InvalidContentError, 406),
    (BlockMismatchError, 500),  # our own disk is corrupt: a genuine server error
    (StoreUnavailableError, 503),
)


def _accepted_media_types(accept: str | None) -> set[str]:
    """The media types listed in an ``Accept`` header, without parameters or weights."""
    if not accept:
        return set()
    return {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}


def negotiate(format_param: str | None, accept: str | None) -> tuple[ResponseKind, bool]:
    """Which response the request asks for, and whether it named it in the query string.

    The ``format`` query parameter takes precedence over ``Accept``, as the spec says.
    """
    if format_param:
        if format_param == "raw":
            return "raw", True
        if format_param == "car":
            raise _GatewayError(406, "CAR responses are not supported; use format=raw")
        raise _GatewayError(400, f"unsupported format {format_param!r}; use format=raw")
    types = _accepted_media_types(accept)
    if RAW_MEDIA_TYPE in types:
        return "raw", False
    if CAR_MEDIA_TYPE in types and "*/*" not in types:
        raise _GatewayError(406, f"{CAR_MEDIA_TYPE} is not supported; accept {RAW_MEDIA_TYPE}")
    return "file", False


def file_media_type(content: bytes) -> str:
    """``application/json`` for what looks like a JSON document, else opaque bytes.

    A cheap look, not a parse: the header only helps a viewer, and ``nosniff`` plus never
    answering ``text/html`` is what keeps served bytes from running as a page.
    """
    if content.lstrip()[:1] in (b"{", b"["):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
        return "application/json"
    return "application/octet-stream"


def _common_headers(cid: str, etag: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": IMMUTABLE_CACHE,
        "X-Content-Type-Options": "nosniff",
        "X-Ipfs-Path": f"/ipfs/{cid}",
        "X-Ipfs-Roots": cid,
        "Vary": "Accept",
    }


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _answer(
    request: Request, store: ContentStore, cid: str, format_param: str | None, max_file_size: int
) -> Response:
    """The response to one ``/ipfs/{cid}`` request; raises ``_GatewayError`` to refuse."""
    kind, named_in_query = negotiate(format_param, request.headers.get("accept"))
    parsed = str(parse_cid(cid))
    etag = f'"{parsed}.raw"' if kind == "raw" else f'"{parsed}"'
    headers = _common_headers(parsed, etag)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)  # immutable: no need to look it up
    if kind == "raw":
        body = store.get_block(parsed)
        headers["Content-Type"] = RAW_MEDIA_TYPE
        headers["Content-Disposition"] = f'attachment; filename="{parsed}.bin"'
        if not named_in_query:
            headers["Content-Location"] = f"/ipfs/{parsed}?format=raw"
    else:
        body = store.get(parsed, max_size=max_file_size)
        headers["Content-Type"] = file_media_type(body)
    headers["Content-Length"] = str(len(body))
    return Response(content=b"" if request.method == "HEAD" else body, headers=headers)


def gateway_router(store: ContentStore, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> APIRouter:
    """Routes serving ``store`` as a trustless gateway at ``/ipfs/{cid}`` (mount at root)."""
    router = APIRouter(tags=["gateway"])

    @router.api_route(
        "/ipfs/{cid}",
        methods=["GET", "HEAD"],
        response_class=Response,
        summary="Trustless gateway: a raw block (format=raw) or a whole file",
        responses={
            200: {"content": {RAW_MEDIA_TYPE: {}, "application/octet-stream": {}}},
            400: {"description": "Malformed CID or unsupported format"},
            404: {"description": "Block not held by this node"},
            406: {"description": "Response type not offered (CAR, or file too large)"},
        },
    )
    def ipfs(
        cid: str,
        request: Request,
        format_: Annotated[
            str | None,
            Query(alias="format", description="raw: the block (as Accept: vnd.ipld.raw)"),
        ] = None,
    ) -> Response:
        # Sync on purpose: store calls do disk or network I/O, so FastAPI runs this in its
        # thread pool instead of blocking the event loop.
        try:
            return _answer(request, store, cid, format_, max_file_size)
        except _GatewayError as exc:
            return _error(request, exc.status, str(exc))
        except StoreError as exc:
            status = _status_of(exc)
            if status < 500:
                return _error(request, status, str(exc))
            # Details (paths in the data directory, backend addresses) stay in the log.
            log.error("gateway could not serve %s: %s", cid, exc)
            return _error(request, status, f"this node cannot serve {cid} right now")

    return router


def _status_of(exc: StoreError) -> int:
    return next((code for kind, code in _STORE_ERROR_STATUS if isinstance(exc, kind)), 500)


def _error(request: Request, status: int, message: str) -> Response:
    body = b"" if request.method == "HEAD" else f"{message}\n".encode()
    return Response(content=body, status_code=status, media_type="text/plain")
