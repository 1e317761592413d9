"""Content stores: where a node keeps and finds the blocks of protocol documents.

:class:`ContentStore` is the interface; :class:`EmbeddedStore` (local disk, the default),
:class:`GatewayStore` (local disk plus peers' trustless gateways, what a node runs on) and
:class:`node.store.kubo.KuboStore` (a Kubo daemon's RPC API; imported from its module so
nodes without Kubo never load its HTTP client) implement it. Every block is verified against
its CID on the way in and on the way out, whichever backend holds it.
"""

from __future__ import annotations

from node.store.base import MAX_BLOCK_SIZE, ContentStore, parse_cid
from node.store.embedded import EmbeddedStore
from node.store.errors import (
    BackendError,
    BlockMismatchError,
    BlockNotFoundError,
    FileTooLargeError,
    InvalidCidError,
    InvalidContentError,
    StoreConfigError,
    StoreError,
    StoreUnavailableError,
)
from node.store.gateway import GatewayFetcher, GatewayStore

__all__ = [
    "MAX_BLOCK_SIZE",
    "BackendError",
    "BlockMismatchError",
    "BlockNotFoundError",
    "ContentStore",
    "EmbeddedStore",
    "FileTooLargeError",
    "GatewayFetcher",
    "GatewayStore",
    "InvalidCidError",
    "InvalidContentError",
    "StoreConfigError",
    "StoreError",
    "StoreUnavailableError",
    "parse_cid",
]
