"""The peers a node fetches content from: configured ones, then those announced on chain.

The content store asks for the peer list on every miss; the registry is read at most once
per ``refresh`` seconds. A failed registry read keeps the last list: discovery can only add
places to look, and every block found anywhere is verified against its CID.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from web3.contract import Contract

from node.chain.registry import discover_gateways
from node.errors import LabelnetError

log = logging.getLogger(__name__)


class PeerDirectory:
    """A callable peer source for :class:`~node.store.gateway.GatewayStore`."""

    def __init__(self, static: Sequence[str], own_url: str, *, refresh: float = 30.0) -> None:
        self.static = [url.rstrip("/") for url in static]
        self.own_url = own_url.rstrip("/")
        self.refresh = refresh
        self._registry: Contract | None = None
        self._from_block = 0
        self._discovered: list[str] = []
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def attach(self, registry: Contract, from_block: int = 0) -> None:
        """Start discovering peers through ``registry`` (once the chain is connected)."""
        with self._lock:
            self._registry, self._from_block = registry, from_block
            self._read_at = float("-inf")

    def __call__(self) -> list[str]:
        with self._lock:
            if self._registry is not None and time.monotonic() - self._read_at >= self.refresh:
                self._read_at = time.monotonic()
                try:
                    found = discover_gateways(self._registry, self._from_block).values()
                    self._discovered = [url.rstrip("/") for url in found]
                except (LabelnetError, OSError, ValueError) as exc:
                    log.warning(
                        "peer discovery failed, keeping %d known: %s", len(self._discovered), exc
                    )
            merged = dict.fromkeys([*self.static, *self._discovered])
        return [url for url in merged if url != self.own_url]
