"""Announce this node's encryption key (``NodeRegistry.announceKey``) once at start.

A requester wraps a confidential task's key only to accounts whose key is on chain
(docs/confidential.md §4), so every node with an account announces, whatever its role:
annotators to be admitted, validators to be named, requesters to receive label batches.
Nothing is sent when the chain already holds this key.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.registry import announce_encryption_key
from node.chain.tx import TxSender

log = logging.getLogger(__name__)


class KeyAnnouncer:
    """Announces ``public_key`` until the chain holds it, then stays quiet."""

    name = "key-announcer"

    def __init__(self, *, registry: Contract, sender: TxSender, public_key: bytes) -> None:
        self.registry = registry
        self.sender = sender
        self.public_key = public_key
        self.announced = False

    def tick(self) -> None:
        if self.announced:
            return
        announce_encryption_key(self.sender, self.registry, self.public_key)
        self.announced = True
        log.info("encryption key announced on chain: %s", self.public_key.hex()[:16])
