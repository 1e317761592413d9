"""Tasks as this node has mirrored them from the chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from node.api.deps import ServicesDep, TokenGiven
from node.api.routes import API_PREFIX, AfterTaskId, TaskId, error_responses
from node.app import views
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
