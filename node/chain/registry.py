"""Gateway discovery through the NodeRegistry contract.

A node announces the URL of its trustless gateway once (and again when it changes); its
peers read the announcements from the chain. A URL found here is only a hint: every block
fetched from it is verified against its CID.
"""

from __future__ import annotations

from web3.contract import Contract

from node.chain.tx import TxSender


def announce_gateway(sender: TxSender, registry: Contract, url: str) -> None:
    """Announce ``url`` unless the chain already has exactly this announcement."""
    if discover_gateways(registry).get(sender.address) == url:
        return
    sender.transact(registry.functions.announce(url))


def discover_gateways(registry: Contract, from_block: int = 0) -> dict[str, str]:
    """Every node's latest announced gateway URL, by node address (withdrawn ones omitted)."""
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
    return {node: url for node, (_, url) in sorted(latest.items()) if url is not None}
