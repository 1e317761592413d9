"""The items this node's annotator should label next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from node.api.deps import AnnotatorDep, ServicesDep, TokenAuth
from node.api.routes import API_PREFIX, TaskId, error_responses
from node.app import views
from node.db.models import ItemPublic

router = APIRouter(prefix=f"{API_PREFIX}/tasks", tags=["labelling"])


@router.get(
    "/{task_id}/items/next",
    response_model=list[ItemPublic],
    summary="Next items to label",
    description=(
        "Up to `limit` items, in manifest order, that this node's account has not labelled "
        "yet. Labelling them and asking again pages through the task. Needs the API token: "
        "which items are labelled is this node's uncommitted work. On a seated task (market "
        "v2) only the items dealt to this account's seat: 403 `NoSeatError` (no_seat) without "
        "a seat, 409 `NotDealtYetError` (not_dealt_yet) before the seal block is final."
    ),
    responses=error_responses(401, 403, 404, 409, 503),
)
def next_items(
    task_id: TaskId,
    _auth: TokenAuth,
    services: ServicesDep,
    annotator: AnnotatorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[ItemPublic]:
    return views.next_items(
        services.db, services.chain_id, task_id, annotator, limit, services.assigner
    )
