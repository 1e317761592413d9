"""The review page's API (issue #17 item 3): reviewed tasks, a task's contested items, this
node's votes and its progress. Thin: each route calls :mod:`node.app.review_views`; its
errors become statuses in :mod:`node.api.errors` (no review section 404, the reveal window
open or this node's reading of the batches incomplete 409, a vote that is no class 422).

Votes are this node's until its reviewer duty commits to them (a vote read before then
could be copied), so every route needs the API token.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body, Path

from node.api.deps import AnnotatorDep, ServicesDep, TokenAuth
from node.api.routes import API_PREFIX, TaskId, error_responses
from node.app import review_views as views
from node.app.runtime import NodeServices
from node.app.ui_views import chain_time

router = APIRouter(prefix=f"{API_PREFIX}/review", tags=["review"])

ItemId = Annotated[str, Path(min_length=1, max_length=256, description="a contested item")]


def _now(services: NodeServices) -> int:
    """The chain's clock (the reveal deadline is the chain's), else the wall clock."""
    now = chain_time(services.chain)
    return int(time.time()) if now is None else now


@router.get(
    "/tasks",
    response_model=list[views.ReviewTask],
    summary="Open tasks with a review round, and this node's votes on each",
    responses=error_responses(401),
)
def review_tasks(_auth: TokenAuth, services: ServicesDep) -> list[views.ReviewTask]:
    return views.review_tasks(services.reviews(), services.annotator, _now(services))


@router.get(
    "/tasks/{task_id}",
    response_model=views.ReviewView,
    summary="A reviewed task's contested items, the labels revealed for them, this node's votes",
    responses=error_responses(401, 404, 409, 503),
)
def review_view(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, reviewer: AnnotatorDep
) -> views.ReviewView:
    return views.review_view(services.reviews(), task_id, reviewer, _now(services))


def _vote(
    task_id: int, item_id: str, vote: views.Vote, services: NodeServices, reviewer: str
) -> views.ReviewProgress:
    return views.cast_vote(services.reviews(), task_id, reviewer, item_id, vote, _now(services))


_VOTE_SUMMARY = "Give (or change) this node's vote on a contested item"
_VOTE_DESCRIPTION = (
    "Stores `{value}` (one class of the task) before answering; 404 for an item that is "
    "not contested, 409 before the contested set exists, 422 for a value that is no class."
)
_VOTE_RESPONSES = error_responses(400, 401, 404, 409, 422, 503)


@router.api_route(
    "/tasks/{task_id}/votes/{item_id:path}",
    methods=["PUT", "POST"],
    response_model=views.ReviewProgress,
    summary=_VOTE_SUMMARY,
    description=_VOTE_DESCRIPTION,
    responses=_VOTE_RESPONSES,
)
def give_vote(
    task_id: TaskId,
    item_id: ItemId,
    vote: Annotated[views.Vote, Body()],
    _auth: TokenAuth,
    services: ServicesDep,
    reviewer: AnnotatorDep,
) -> views.ReviewProgress:
    """PUT (idempotent) and POST (what a form or ``sendBeacon`` can send) do the same.

    ``{item_id:path}``: item ids may hold ``/`` (the page sends it as ``%2F``, which the
    server decodes before routing)."""
    return _vote(task_id, item_id, vote, services, reviewer)


@router.get(
    "/tasks/{task_id}/progress",
    response_model=views.ReviewProgress,
    summary="How many contested items this node has voted on",
    responses=error_responses(401, 404, 409, 503),
)
def review_progress(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, reviewer: AnnotatorDep
) -> views.ReviewProgress:
    return views.review_progress(services.reviews(), task_id, reviewer, _now(services))
