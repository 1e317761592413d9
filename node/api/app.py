"""The node's FastAPI app: REST API, trustless gateway, health and metrics.

:func:`create_app` is a factory (nothing is built at import time): it opens the node's
services from settings unless given ones, and its lifespan starts their background threads
and closes them at shutdown. Binding to 127.0.0.1 is the settings' default; the API answers
only to the node's own host names (:mod:`node.api.hosts`), and writes and reads of labels
require the API token (:mod:`node.api.deps`).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from node.api.errors import install_error_handlers
from node.api.gateway import gateway_router
from node.api.hosts import HostGuard, allowed_host_names
from node.api.limits import JsonBodyGuard
from node.api.metrics import ApiMetrics, MetricsMiddleware
from node.api.routes import error_responses, health, items, labels, progress, review, tasks, ui
from node.app.duties import role_duties
from node.app.runtime import NodeServices
from node.config import NodeSettings, load_settings

DESCRIPTION = """\
A labelnet node: the tasks it follows on chain, the items its annotator labels, label
batches, progress, earnings and results. Writes, and reads of this node's labels and
progress, need `Authorization: Bearer <token>` (the token is in the data directory); the
API answers only to the node's own host names (421 otherwise). Also the IPFS trustless
gateway at `/ipfs/{cid}`, `/healthz`, `/readyz` and Prometheus `/metrics`.
"""


def _version() -> str:
    try:
        return package_version("labelnet")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(
    settings: NodeSettings | None = None, services: NodeServices | None = None
) -> FastAPI:
    """The app of one node; it owns ``services`` (started and closed by its lifespan)."""
    if services is None:
        services = NodeServices.open(settings or load_settings(), duties=role_duties)
    node = services

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        node.start()
        try:
            yield
        finally:
            # Joining threads blocks (up to an RPC timeout): not on the event loop.
            await to_thread.run_sync(node.close)

    app = FastAPI(
        title="labelnet node",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    metrics = ApiMetrics(services)
    app.state.services = services
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Added last, so it runs first: no route or metrics code sees a body it refuses.
    app.add_middleware(JsonBodyGuard)
    # Outermost: a request to a name that is not this node is refused before anything else.
    app.add_middleware(HostGuard, allowed=allowed_host_names(services.settings))
    for module in (tasks, items, labels, progress, review):
        app.include_router(module.router, responses=error_responses(400, 421))
    for module in (health, ui):
        app.include_router(module.router)
    # The local store only: a gateway that fetched from peers on a miss could loop.
    app.include_router(gateway_router(services.gateway_store))
    _unique_operation_ids(app)
    return app


def _unique_operation_ids(app: FastAPI) -> None:
    """Give each method of a multi-method route its own ``operationId``.

    FastAPI names every method of one route (the gateway's ``GET``/``HEAD /ipfs/{cid}``)
    with the same id, which the OpenAPI specification forbids; clients generated from the
    schema would collide.
    """
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Duplicate Operation ID")
            schema = default()
        seen: set[str] = set()
        for path in schema.get("paths", {}).values():
            for method, operation in path.items():
                operation_id = operation.get("operationId")
                if operation_id in seen:
                    operation["operationId"] = f"{operation_id}_{method}"
                seen.add(operation["operationId"])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
