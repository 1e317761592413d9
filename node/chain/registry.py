"""Gateway discovery through the NodeRegistry contract.

A node announces the URL of its trustless gateway once (and again when it changes); its
peers read the announcements from the chain. A URL found here is only a hint: every block
fetched from it is verified against its CID. Anyone can announce anything, so only URLs of
the form ``http(s)://host[:port][/]`` are returned (:func:`node.peer_url.parse_peer`); the
others are logged once each and left out, as if their node had announced nothing.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.tx import TxSender
from node.peer_url import OnceLog, PeerUrlError, parse_peer

log = logging.getLogger(__name__)
_bad_announcements = OnceLog(log)
"""Process-wide, like the log it writes to: a bad announcement is reported once, however
many times (and by however many nodes in this process) the registry is read."""


def announce_gateway(sender: TxSender, registry: Contract, url: str) -> None:
    """Announce ``url`` unless the chain already has exactly this announcement.

    :class:`~node.peer_url.PeerUrlError` for a URL peers would ignore (a path, a query...).
    """
    parse_peer(url, private_ok=True)
    if discover_gateways(registry).get(sender.address) == url:
        return
    sender.transact(registry.functions.announce(url))


def discover_gateways(registry: Contract, from_block: int = 0) -> dict[str, str]:
    """Every node's latest announced gateway URL, by node address (withdrawn ones and URLs
    that are not a bare ``http(s)://host[:port]`` omitted)."""
    announced = registry.events.GatewayAnnounced().get_logs(from_block=from_block)
    withdrawn = registry.events.GatewayWithdrawn().get_logs(from_block=from_block)
    latest: dict[str, tuple[tuple[int, int], str | None]] = {}
    for entry in announced:
        position = (entry["blockNumber"], entry["logIndex"])
        latest[entry["args"]["node"]] = max(
            latest.get(entry["args"]["node"], ((-1, -1), None)), (position, entry["args"]["url"])
        )
    for entry in withdrawn:
        position = (entry["blockNumber"], entry["logIndex"])
        current = latest.get(entry["args"]["node"])
        if current is None or current[0] < position:
            latest[entry["args"]["node"]] = (position, None)
    return {
        node: url
        for node, (_, url) in sorted(latest.items())
        if url is not None and _valid(node, url)
    }


def _valid(node: str, url: str) -> bool:
    try:
        parse_peer(url, private_ok=True)  # the address policy is the reader's to apply
    except PeerUrlError as exc:
        _bad_announcements.warning(
            f"{node} {url}", "ignoring the gateway %s announced: %s", node, exc
        )
        return False
    return True


def announce_encryption_key(sender: TxSender, registry: Contract, public_key: bytes) -> None:
    """Announce the node's X25519 public key (``NodeRegistry`` v2) unless the chain already
    holds exactly this one: a node announces at every start, and pays only to rotate."""
    if len(public_key) != 32:
        raise ValueError(f"an X25519 public key is 32 bytes, not {len(public_key)}")
    if encryption_key(registry, sender.address) == public_key:
        return
    sender.transact(registry.functions.announceKey(public_key))


def encryption_key(registry: Contract, node: str) -> bytes | None:
    """``node``'s announced X25519 public key, or None if it announced none: nothing can be
    wrapped to such a node, so it cannot be admitted to a confidential task."""
    key = bytes(registry.functions.encryptionKey(node).call())
    return None if key == bytes(32) else key
