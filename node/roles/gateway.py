"""Every node with an account announces where its trustless gateway is.

Peers find label batches, item pages and results through these announcements, so a node
that stops announcing (or moves) is simply not asked any more. Announcing is idempotent:
the transaction is sent only when the chain does not already show this exact URL.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.registry import announce_gateway
from node.chain.tx import TxSender

log = logging.getLogger(__name__)


class GatewayAnnouncer:
    """Announces ``url`` in the NodeRegistry until the chain shows it, then stays quiet."""

    name = "gateway-announcer"

    def __init__(self, *, registry: Contract, sender: TxSender, url: str) -> None:
        self.registry = registry
        self.sender = sender
        self.url = url
        self.announced = False

    def tick(self) -> None:
        if self.announced:
            return
        announce_gateway(self.sender, self.registry, self.url)
        self.announced = True
        log.info("gateway announced on chain: %s", self.url)
