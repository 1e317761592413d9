"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from node.api.deps import MetricsDep, ServicesDep
from node.app.health import Readiness, readiness

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str = "ok"


@router.get("/healthz", response_model=Alive, summary="The process is alive")
async def healthz() -> Alive:
    return Alive()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to serve: database, store, disk space, chain and sync",
    description="200 when every check passes, else 503 with the same body naming the reasons.",
    responses={503: {"model": Readiness, "description": "Not ready; see the failing checks"}},
)
def readyz(services: ServicesDep) -> Readiness | JSONResponse:
    report = readiness(services)
    if report.ready:
        return report
    return JSONResponse(status_code=503, content=report.model_dump(mode="json"))


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "text exposition"}},
)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(content=metrics.render(), media_type=CONTENT_TYPE_LATEST)
