"""The IPFS trustless gateway every node serves: ``GET``/``HEAD /ipfs/{cid}``.

Peers fetch content from each other through it (see :mod:`node.store.gateway`), and so can
any IPFS client that speaks the trustless gateway protocol (Helia, kubo's ``boxo``), because
the responses follow the spec (specs.ipfs.tech/http-gateways/trustless-gateway). What is
sent is negotiated by :mod:`node.api.negotiation` (``?format=`` wins over ``Accept``):

* ``?format=raw`` or ``Accept: application/vnd.ipld.raw``: the block's bytes,
  ``Content-Type: application/vnd.ipld.raw``, a strong ``ETag: "<cid>.raw"``,
  ``Cache-Control: public, max-age=29030400, immutable`` (a block can never change),
  ``X-Content-Type-Options: nosniff`` and ``Content-Disposition: attachment`` so a browser
  never renders served bytes as a page;
* ``?format=car`` or ``Accept: application/vnd.ipld.car``: a CARv1 of the DAG under the CID
  (:mod:`node.protocol.car`), streamed depth first, ``dag-scope`` ``block``/``entity``/
  ``all`` (the default), ``dups`` ``n`` (the default) or ``y``; the ``Content-Type`` names
  ``version=1; order=dfs; dups=...``. Only blocks this node holds are sent: 404 if the root
  is missing, and a child missing halfway cuts the stream (the client sees an incomplete
  body, never a complete-looking CAR); ``entity-bytes`` is refused with 400;
* otherwise, for people and scripts (no ``Accept``, ``*/*``, ``application/octet-stream``,
  ``application/json``): the whole UnixFS file, verified, as ``application/json`` when it
  looks like a JSON document (every protocol document is) and ``application/octet-stream``
  otherwise (never ``text/html``), up to ``max_file_size``;
* 406 for an ``Accept`` that lists nothing above, or a CAR variant not served; 400 for a
  malformed CID or an unknown ``format``/``dag-scope``, 404 for a block the store does not
  hold, 304 for a matching ``If-None-Match``, 500 for a block corrupt on our disk and 503
  for an unreachable backend (their details are logged, not sent: they name local paths).
  The empty identity CID ``bafkqaaa`` answers 200 with no bytes (an empty CAR naming it as
  root for a CAR request), the spec's probe that this is a trustless gateway.

The router only maps HTTP to :class:`~node.store.base.ContentStore` calls. Give it the
node's *local* store: a gateway that fetched from peers on a miss could loop between nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from multiformats import CID
from starlette.types import Send

from node.api.negotiation import (
    CAR_MEDIA_TYPE,
    RAW_MEDIA_TYPE,
    Negotiated,
    NegotiationError,
    file_acceptable,
    negotiate,
)
from node.errors import LabelnetError
from node.protocol.car import car_stream
from node.protocol.unixfs import ContentError
from node.store.base import ContentStore, parse_cid
from node.store.budget import MAX_DEPTH
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

__all__ = ["CAR_MEDIA_TYPE", "RAW_MEDIA_TYPE", "file_media_type", "gateway_router"]

IMMUTABLE_CACHE = "public, max-age=29030400, immutable"
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024
"""Largest file served whole (the deserialized convenience response); blocks and CARs have
no limit beyond the store's, since they are verifiable piece by piece and streamed."""


class _GatewayError(Exception):
    """An HTTP error answer: status and the one-line reason sent as ``text/plain``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CarStreamCutError(LabelnetError, ConnectionAbortedError):
    """A CAR response that could not be finished (a child block missing or corrupt after
    the 200 was sent); the connection is dropped so the client cannot take it as whole."""


_STORE_ERROR_STATUS: tuple[tuple[type[StoreError], int], ...] = (
    (InvalidCidError, 400),
    (BlockNotFoundError, 404),
    (FileTooLargeError, 406),
    (InvalidContentError, 406),
    (BlockMismatchError, 500),  # our own disk is corrupt: a genuine server error
    (StoreUnavailableError, 503),
)


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
    request: Request,
    store: ContentStore,
    cid: str,
    choice: Negotiated,
    max_file_size: int,
) -> Response:
    """The response to one ``/ipfs/{cid}`` request; raises ``_GatewayError`` to refuse."""
    root = parse_cid(cid)
    parsed = str(root)
    if choice.kind == "raw":
        etag = f'"{parsed}.raw"'
    elif choice.kind == "car":
        etag = f'"{parsed}.car.{choice.scope}.dfs.{_dups(choice)}"'
    else:
        etag = f'"{parsed}"'
    headers = _common_headers(parsed, etag)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)  # immutable: no need to look it up
    if choice.kind == "car":
        return _car_response(request, store, root, choice, headers)
    if choice.kind == "raw":
        body = store.get_block(parsed)
        headers["Content-Type"] = RAW_MEDIA_TYPE
        headers["Content-Disposition"] = f'attachment; filename="{parsed}.bin"'
        if not choice.named_in_query:
            headers["Content-Location"] = f"/ipfs/{parsed}?format=raw"
    else:
        body = store.get(parsed, max_size=max_file_size)
        headers["Content-Type"] = file_media_type(body)
        if not file_acceptable(request.headers.get("accept"), headers["Content-Type"]):
            raise _GatewayError(406, f"the file is {headers['Content-Type']}, not accepted")
    headers["Content-Length"] = str(len(body))
    return Response(content=b"" if request.method == "HEAD" else body, headers=headers)


def _dups(choice: Negotiated) -> str:
    return "y" if choice.car.dups else "n"


def _car_response(
    request: Request, store: ContentStore, root: CID, choice: Negotiated, headers: dict[str, str]
) -> Response:
    """A streamed CAR of ``root``: everything that can fail before the first byte (the
    root missing, a DAG we cannot walk) is an HTTP error; later failures cut the stream."""
    root_data = store.get_block(str(root))
    try:
        chunks = car_stream(
            root,
            root_data,
            lambda cid: store.get_block(str(cid)),
            scope=choice.scope,
            dups=choice.car.dups,
            max_depth=MAX_DEPTH,
        )
    except ContentError as exc:
        raise _GatewayError(406, f"no CAR of {root} with dag-scope={choice.scope}: {exc}") from exc
    dups = _dups(choice)
    headers["Content-Type"] = f"{CAR_MEDIA_TYPE}; version=1; order=dfs; dups={dups}"
    headers["Content-Disposition"] = f'attachment; filename="{root}.car"'
    if not choice.named_in_query:
        query = {
            "format": "car",
            "dag-scope": choice.scope,
            "car-version": "1",
            "car-order": "dfs",
            "car-dups": dups,
        }
        headers["Content-Location"] = f"/ipfs/{root}?{urlencode(query)}"
    if request.method == "HEAD":
        return _CarResponse(iter(()), headers=headers)
    return _CarResponse(_cut_on_failure(chunks, root), headers=headers)


def _cut_on_failure(chunks: Iterator[bytes], root: CID) -> Iterator[bytes]:
    try:
        yield from chunks
    except (StoreError, ContentError) as exc:
        # The 200 is sent: all we can do is not finish the body (see the spec's "Streaming
        # and Missing Child Blocks"). A missing block is the expected case; log it plainly.
        log.warning("CAR of %s cut short: %s", root, exc)
        raise CarStreamCutError(f"CAR of {root} cut short") from exc


class _CarResponse(StreamingResponse):
    """A streamed CAR whose body is left unfinished, rather than ended cleanly, when
    :class:`CarStreamCutError` stops it: the server then drops the connection, so the
    client sees a truncated chunked body (an error in every HTTP client) instead of a
    shorter CAR that parses. Returning also spares the log a traceback per missing block."""

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                body = chunk if isinstance(chunk, bytes | memoryview) else chunk.encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except CarStreamCutError:
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def gateway_router(store: ContentStore, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> APIRouter:
    """Routes serving ``store`` as a trustless gateway at ``/ipfs/{cid}`` (mount at root)."""
    router = APIRouter(tags=["gateway"])

    @router.api_route(
        "/ipfs/{cid}",
        methods=["GET", "HEAD"],
        response_class=Response,
        summary="Trustless gateway: a raw block, a CAR of the DAG, or the whole file",
        responses={
            200: {
                "description": "The block, the CAR stream (chunked) or the file",
                "content": {
                    RAW_MEDIA_TYPE: {},
                    f"{CAR_MEDIA_TYPE}; version=1; order=dfs; dups=n": {},
                    f"{CAR_MEDIA_TYPE}; version=1; order=dfs; dups=y": {},
                    "application/octet-stream": {},
                    "application/json": {},
                },
            },
            304: {"description": "If-None-Match names this response's ETag"},
            400: {"description": "Malformed CID, unsupported format or dag-scope, entity-bytes"},
            404: {"description": "The (root) block is not held by this node"},
            406: {
                "description": "Accept lists no type served here, a CAR variant other than "
                "version=1, order=dfs, dups=y|n, a DAG that cannot be sent as a CAR, or a "
                "file too large to serve whole"
            },
        },
    )
    def ipfs(
        cid: str,
        request: Request,
        format_: Annotated[
            str | None,
            Query(alias="format", description="raw (a block) or car (a CAR); wins over Accept"),
        ] = None,
        dag_scope: Annotated[
            str | None,
            Query(alias="dag-scope", description="CAR only: block, entity or all (default)"),
        ] = None,
        entity_bytes: Annotated[
            str | None,
            Query(alias="entity-bytes", description="CAR only: not supported (400)"),
        ] = None,
        car_version: Annotated[
            str | None, Query(alias="car-version", description="CAR only: 1")
        ] = None,
        car_order: Annotated[
            str | None, Query(alias="car-order", description="CAR only: dfs (or unk)")
        ] = None,
        car_dups: Annotated[
            str | None, Query(alias="car-dups", description="CAR only: n (default) or y")
        ] = None,
    ) -> Response:
        # Sync on purpose: store calls do disk or network I/O, so FastAPI runs this in its
        # thread pool instead of blocking the event loop.
        try:
            car_query = {"version": car_version, "order": car_order, "dups": car_dups}
            choice = negotiate(format_, request.headers.get("accept"), car_query, dag_scope)
            if choice.kind == "car" and entity_bytes is not None:
                raise _GatewayError(400, "entity-bytes is not supported; ask for the whole DAG")
            return _answer(request, store, cid, choice, max_file_size)
        except (_GatewayError, NegotiationError) as exc:
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
