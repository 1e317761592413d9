"""Tasks as this node has mirrored them from the chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from node.api.deps import ServicesDep, TokenGiven
from node.api.routes import API_PREFIX, AfterTaskId, TaskId, error_responses
from node.app import relay_views, views
from node.db.models import TaskPublic, TaskStatus

router = APIRouter(prefix=f"{API_PREFIX}/tasks", tags=["tasks"])


@router.get(
    "",
    response_model=list[TaskPublic],
    summary="List tasks",
    description="Tasks by id, a page at a time: pass the last id seen as `after`.",
)
def list_tasks(
    services: ServicesDep,
    status: Annotated[TaskStatus | None, Query(description="only tasks in this state")] = None,
    after: AfterTaskId = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TaskPublic]:
    return views.list_tasks(services.db, services.chain_id, status=status, after=after, limit=limit)


@router.get(
    "/{task_id}",
    response_model=views.TaskDetail,
    summary="One task: status, deadlines and counts",
    description=(
        "This node's own figures (`labelled`, `own_commit_state`) only with the API token; "
        "they are null without it."
    ),
    responses=error_responses(401, 404),
)
def get_task(task_id: TaskId, authorized: TokenGiven, services: ServicesDep) -> views.TaskDetail:
    annotator = services.annotator if authorized else None
    return views.task_detail(services.db, services.chain_id, task_id, annotator)


@router.post(
    "/{task_id}/seat-claims",
    response_model=relay_views.SeatClaimTaken,
    summary="Offer a signed seat claim of a gated task to its requester's relay",
    description=(
        "An annotator's EIP-712 `SeatClaim`, valid at least until the seat deadline. It is "
        "checked as the gate will check it (signature, admission, bond allowance) and stored "
        "before the answer; the requester node then seats it with the task's others in one "
        "`claimSeats`. 404: this node relays no seats of the task; 409: the seat window is "
        "closed, no seat is left, or the account holds one; 422: the gate would refuse it."
    ),
    responses=error_responses(404, 409, 422, 503),
)
def offer_seat_claim(
    task_id: TaskId,
    offer: Annotated[relay_views.SeatClaimOffer, Body()],
    services: ServicesDep,
) -> relay_views.SeatClaimTaken:
    return relay_views.offer_seat(services, task_id, offer)
