"""The peers a node fetches content from: configured ones, then those announced on chain.

The content store asks for the peer list on every miss; the registry is read at most once
per ``refresh`` seconds. A failed registry read keeps the last list: discovery can only add
places to look, and every block found anywhere is verified against its CID.

The two sources are trusted differently. Configured peers are the operator's choice and may
be private addresses (a requester's gateway on the same LAN). Announced ones are anyone's
choice, so they follow ``allow_private_peers``: off, a peer whose host is a loopback, private
or other non-public address is left out here (logged once), and one whose host *name*
resolves to such an address is refused when the fetcher resolves it
(:mod:`node.store.peer_http`), every time it does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from web3.contract import Contract

from node.chain.registry import discover_gateways
from node.errors import LabelnetError
from node.peer_url import OnceLog, Peer, PeerUrlError, parse_peer

log = logging.getLogger(__name__)


class PeerDirectory:
    """A callable peer source for :class:`~node.store.gateway.GatewayStore`."""

    def __init__(
        self,
        static: Sequence[str],
        own_url: str,
        *,
        refresh: float = 30.0,
        allow_private: bool = False,
    ) -> None:
        self.allow_private = allow_private
        self.refresh = refresh
        self._refused = OnceLog(log)
        self.static = [peer for url in static if (peer := self._parse(url, private_ok=True))]
        own = self._parse(own_url, private_ok=True)
        self.own_origin = None if own is None else own.origin
        self._registry: Contract | None = None
        self._from_block = 0
        self._discovered: list[Peer] = []
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def _parse(self, url: str, *, private_ok: bool) -> Peer | None:
        try:
            return parse_peer(url, private_ok=private_ok)
        except PeerUrlError as exc:
            self._refused.warning(url, "not fetching from peer: %s", exc)
            return None

    def attach(self, registry: Contract, from_block: int = 0) -> None:
        """Start discovering peers through ``registry`` (once the chain is connected)."""
        with self._lock:
            self._registry, self._from_block = registry, from_block
            self._read_at = float("-inf")

    def __call__(self) -> list[Peer]:
        with self._lock:
            if self._registry is not None and time.monotonic() - self._read_at >= self.refresh:
                self._read_at = time.monotonic()
                try:
                    found = discover_gateways(self._registry, self._from_block).values()
                    parsed = (self._parse(url, private_ok=self.allow_private) for url in found)
                    self._discovered = [peer for peer in parsed if peer is not None]
                except (LabelnetError, OSError, ValueError) as exc:
                    log.warning(
                        "peer discovery failed, keeping %d known: %s", len(self._discovered), exc
                    )
            merged: dict[str, Peer] = {}
            for peer in [*self.static, *self._discovered]:  # configured first, and they win
                merged.setdefault(peer.origin, peer)
        return [peer for origin, peer in merged.items() if origin != self.own_origin]
