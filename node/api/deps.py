"""Request dependencies, as ``Annotated`` aliases the routes declare as parameters.

They are ``async def`` on purpose: they never block, and FastAPI runs a plain ``def``
dependency in its thread pool, which would cost a thread hop on every request of the
ingest hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from node.api.metrics import ApiMetrics
from node.app.auth import token_matches
from node.app.runtime import NodeServices

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="NodeToken",
    description=(
        "The node's API token, from `<data_dir>/api-token`: writes, and reads of this "
        "node's labels and progress."
    ),
)


async def get_services(request: Request) -> NodeServices:
    services: NodeServices = request.app.state.services
    return services


async def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


ServicesDep = Annotated[NodeServices, Depends(get_services)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]


def _refused() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="missing or wrong API token (Authorization: Bearer <data_dir/api-token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_token(
    request: Request,
    services: ServicesDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless ``Authorization: Bearer <the node's token>`` (checked in constant time)."""
    if not token_matches(services.api_token, request.headers.get("authorization")):
        raise _refused()


async def optional_token(
    request: Request,
    services: ServicesDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bool:
    """True with the right token, False with none (a public view); 401 for a wrong one."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return False
    if not token_matches(services.api_token, authorization):
        raise _refused()
    return True


TokenAuth = Annotated[None, Depends(require_token)]
"""The route writes, or shows this node's labels or uncommitted work: the token is needed.

Labels are secret until the node commits to them (anyone who read them could copy them
before the deadline), and the API listens where other local processes and, through DNS
rebinding, web pages can reach it; see :mod:`node.api.hosts` for the second half."""
TokenGiven = Annotated[bool, Depends(optional_token)]
"""The route is public, but shows this node's own figures only to the token's holder."""


async def get_annotator(services: ServicesDep) -> str:
    """This node's account address; 503 for a read-only node."""
    return services.require_annotator()


AnnotatorDep = Annotated[str, Depends(get_annotator)]
