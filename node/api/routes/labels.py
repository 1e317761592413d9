"""Submitting labels in batches: the ingest hot path.

The route is ``async``: it validates the body (one typed list of plain dicts, see
:mod:`node.roles.labels`) and awaits the label writer (:mod:`node.app.ingest`), which stores
it from its own thread and resolves the request only after the transaction committed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from node.api.deps import AnnotatorDep, MetricsDep, ServicesDep, TokenAuth
from node.api.routes import API_PREFIX, TaskId, error_responses
from node.roles.labels import MAX_BATCH, LabelInput

router = APIRouter(prefix=f"{API_PREFIX}/tasks", tags=["labelling"])


class LabelAck(BaseModel):
    """The batch is stored (committed to disk) under this node's account."""

    task_id: int
    annotator: str
    accepted: int = Field(description="distinct items the batch labelled")


@router.post(
    "/{task_id}/labels",
    response_model=LabelAck,
    summary="Submit a batch of labels",
    description=(
        f"Stores up to {MAX_BATCH} labels `[{{item, value}}]` for this node's account; "
        "re-submitting an item replaces its label. Refused with 409 once the node has "
        "committed to its labels for the task (or the task closed), 422 for an unknown "
        "item or a value with no canonical JSON (null, NaN)."
    ),
    responses=error_responses(400, 401, 404, 409, 422, 503),
)
async def post_labels(
    task_id: TaskId,
    labels: Annotated[list[LabelInput], Body(description="the batch", max_length=MAX_BATCH)],
    _auth: TokenAuth,
    services: ServicesDep,
    annotator: AnnotatorDep,
    metrics: MetricsDep,
) -> LabelAck:
    accepted = await services.require_ingest().submit(task_id, annotator, labels)
    metrics.labels_accepted.inc(accepted)
    return LabelAck(task_id=task_id, annotator=annotator, accepted=accepted)
