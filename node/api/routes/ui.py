"""The labeling page: its HTML shell and assets under ``/ui/``, and the JSON it reads.

Everything the page loads comes from this node, under ``Content-Security-Policy:
default-src 'self'`` (no inline script, no CDN, images only from the node's own
``/ipfs/`` gateway, or ``blob:`` URLs the page makes from a confidential task's media,
which it reads opened from :func:`item_media`). The page authenticates with the node's
API token (its writes, and its reads of the node's tasks, labels and progress, which are
secret until committed), which it reads from the URL fragment (``/ui/#token=...``, printed
by ``labelnet node start``): browsers never send a fragment to a server, so the token
reaches no log or proxy, and the page moves it to ``sessionStorage`` and drops it from the
address bar at once.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel

from node.api.deps import AnnotatorDep, ServicesDep, TokenAuth
from node.api.routes import API_PREFIX, TaskId, error_responses
from node.app import media_views, reputation_views, ui_report, ui_views, views
from node.ui import STATIC_DIR

# Out of the OpenAPI document: these routes shape data for this page and change with it,
# unlike the versioned REST API that clients are generated from.
router = APIRouter(tags=["ui"], include_in_schema=False)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(js|css|svg)$")
_MEDIA_TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}


class Session(BaseModel):
    """Who the page is talking to; answered only for the right token."""

    account: str | None
    role: str
    chain_id: int


@router.get("/ui")
async def ui_redirect() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=308)


@router.get("/ui/")
async def ui_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/ui/assets/{name}")
async def ui_asset(name: str) -> Response:
    path = STATIC_DIR / name
    if not _ASSET_NAME.match(name) or not path.is_file():
        return Response("no such asset\n", status_code=404, media_type="text/plain")
    media_type = _MEDIA_TYPES[name.rsplit(".", 1)[1]]
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


UI_PREFIX = f"{API_PREFIX}/ui"


@router.get(
    f"{UI_PREFIX}/session",
    response_model=Session,
    summary="Check the API token; who the node is",
    responses=error_responses(401),
)
async def session(_auth: TokenAuth, services: ServicesDep) -> Session:
    return Session(
        account=services.annotator, role=services.settings.role, chain_id=services.chain_id
    )


@router.get(
    f"{UI_PREFIX}/tasks",
    response_model=list[ui_views.TaskCard],
    summary="Tasks this node joined, is loading or declined",
    responses=error_responses(401),
)
def task_cards(_auth: TokenAuth, services: ServicesDep) -> list[ui_views.TaskCard]:
    now = ui_views.chain_time(services.chain)
    return ui_views.task_cards(services.db, services.chain_id, services.annotator, now)


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}",
    response_model=ui_views.LabelingView,
    summary="A joined task's instructions (safe HTML), classes and progress",
    responses=error_responses(401, 404, 503),
)
def labeling_view(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, annotator: AnnotatorDep
) -> ui_views.LabelingView:
    now = ui_views.chain_time(services.chain)
    view = ui_views.labeling_view(
        services.db, services.chain_id, task_id, annotator, now, services.assigner
    )
    return view.model_copy(update={"sealed": media_views.is_sealed(services, task_id)})


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/progress",
    response_model=views.Progress,
    summary="This node's progress on a task, counted down by the chain's clock",
    responses=error_responses(401, 404, 503),
)
def progress(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, annotator: AnnotatorDep
) -> views.Progress:
    now = ui_views.chain_time(services.chain)
    return views.progress(
        services.db, services.chain_id, task_id, annotator, now, services.assigner
    )


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/reputation",
    response_model=reputation_views.TaskReputation,
    summary="This node's reputation in the task's domain, read from the gate",
    responses=error_responses(401, 503),
)
def reputation(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, annotator: AnnotatorDep
) -> reputation_views.TaskReputation:
    return reputation_views.task_reputation(services.chain, task_id, annotator)


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/items/{{item_id:path}}/media",
    response_class=Response,
    summary="A confidential task's item media, opened with the task key",
    responses=error_responses(401, 403, 404, 503),
)
def item_media(task_id: TaskId, item_id: str, _auth: TokenAuth, services: ServicesDep) -> Response:
    # Registered before the item route: both take ``{item_id:path}`` (item ids may hold
    # ``/``, decoded from ``%2F`` before routing), and ``.../media`` must reach this one.
    media = media_views.sealed_media(services, task_id, item_id)
    return Response(content=media.data, media_type=media.media_type, headers=SECURITY_HEADERS)


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/items/{{item_id:path}}",
    response_model=ui_views.ItemLabel,
    summary="An item and this node's current label for it",
    responses=error_responses(401, 404, 503),
)
def item_label(
    task_id: TaskId,
    item_id: str,
    _auth: TokenAuth,
    services: ServicesDep,
    annotator: AnnotatorDep,
) -> ui_views.ItemLabel:
    return ui_views.item_label(services.db, services.chain_id, task_id, item_id, annotator)


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/report",
    response_model=ui_report.TaskReport,
    summary="A task for its requester: status, and the verified result once final",
    responses=error_responses(404),
)
def task_report(task_id: TaskId, services: ServicesDep) -> ui_report.TaskReport:
    return ui_report.task_report(services.db, services.store, services.chain_id, task_id)


@router.get(
    f"{UI_PREFIX}/tasks/{{task_id}}/export",
    response_class=Response,
    summary="Download a finalized task's result (jsonl, csv, labelstudio)",
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}, "application/json": {}}},
        **error_responses(404, 422),
    },
)
def export(
    task_id: TaskId,
    services: ServicesDep,
    format: Annotated[Literal["jsonl", "csv", "labelstudio"], Query()] = "jsonl",
) -> Response:
    chunks, media_type, name = ui_report.export_task(
        services.db, services.store, services.chain_id, task_id, format
    )
    return StreamingResponse(
        content=chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
