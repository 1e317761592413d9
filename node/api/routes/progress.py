"""Labelling progress, earnings and results: how this node's work is going and paying."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from node.api.deps import AnnotatorDep, ServicesDep, TokenAuth
from node.api.routes import API_PREFIX, TaskId, error_responses
from node.app import views

router = APIRouter(prefix=API_PREFIX, tags=["progress"])


@router.get(
    "/tasks/{task_id}/progress",
    response_model=views.Progress,
    summary="This node's progress on a task",
    description=(
        "Items labelled out of the task's items, and seconds left to commit. Needs the API "
        "token: progress is this node's uncommitted work."
    ),
    responses=error_responses(401, 404, 503),
)
def get_progress(
    task_id: TaskId, _auth: TokenAuth, services: ServicesDep, annotator: AnnotatorDep
) -> views.Progress:
    return views.progress(
        services.db, services.chain_id, task_id, annotator, assigner=services.assigner
    )


@router.get(
    "/earnings",
    response_model=views.Earnings,
    summary="Claimed, claimable and pending payouts",
    description="Of this node's account, or of `account` if given.",
    responses=error_responses(503),
)
def get_earnings(
    services: ServicesDep,
    account: Annotated[
        str | None, Query(pattern="^0x[0-9a-fA-F]{40}$", description="checksummed address")
    ] = None,
) -> views.Earnings:
    address = account or services.require_annotator()
    return views.earnings(services.db, services.chain_id, address)


@router.get(
    "/tasks/{task_id}/results",
    response_model=views.TaskOutcome,
    summary="A task's attested result and payouts",
    description="404 until a validator's attestation (or the finalization) has been synced.",
    responses=error_responses(404),
)
def get_results(task_id: TaskId, services: ServicesDep) -> views.TaskOutcome:
    return views.results(services.db, services.chain_id, task_id)
