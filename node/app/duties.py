"""Which background duties a node runs for its role.

Duties need a chain and an account: a node without either runs none (it still serves its
API and gateway). Role modules are imported here, lazily, so a gateway-only node never
loads the annotator's or validator's code.
"""

from __future__ import annotations

import logging

from node.app.runtime import NodeServices
from node.roles.base import Duty

log = logging.getLogger(__name__)


def role_duties(services: NodeServices) -> list[Duty]:
    """The duties of ``services.settings.role`` (a :data:`~node.app.runtime.DutyFactory`)."""
    role = services.settings.role
    if services.chain is None or services.sender is None:
        if role in ("annotator", "validator"):
            log.warning("%s node without %s: no duties run", role, _missing(services))
        return []
    from node.roles.gateway import GatewayAnnouncer

    announcer = GatewayAnnouncer(
        registry=services.chain.contracts.registry,
        sender=services.sender,
        url=services.settings.gateway_url,
    )
    if role == "annotator":
        from node.roles.annotator import AnnotatorDuty

        duty = AnnotatorDuty(
            db=services.db,
            store=services.store,
            market=services.chain.contracts.market,
            sender=services.sender,
            chain_id=services.chain_id,
        )
        return [announcer, duty]
    log.info("no role duties for role %s yet; announcing the gateway only", role)
    return [announcer]


def _missing(services: NodeServices) -> str:
    return "a deployment (chain)" if services.chain is None else "an account (keystore)"
