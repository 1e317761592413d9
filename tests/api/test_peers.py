"""Nodes announce their gateways on chain and fetch from the gateways announced there."""

from __future__ import annotations

import time
from pathlib import Path

from web3 import Web3

from node.app.peers import PeerDirectory
from node.chain.contracts import Contracts
from node.chain.engines import attach
from node.chain.registry import announce_gateway, discover_gateways
from node.chain.tx import TxSender
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.conftest import Actors


def origins(directory: PeerDirectory) -> list[str]:
    return [peer.origin for peer in directory()]


def test_directory_merges_static_and_announced_peers_without_itself(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    directory = PeerDirectory(["http://static:1/"], "http://me:7420", refresh=0.0)
    assert origins(directory) == ["http://static:1"]  # no chain attached yet
    directory.attach(contracts.registry)
    announce_gateway(TxSender(w3, actors.annotator_a), contracts.registry, "http://a:7001")
    announce_gateway(TxSender(w3, actors.annotator_b), contracts.registry, "http://me:7420/")
    assert origins(directory) == ["http://static:1", "http://a:7001"]


def test_directory_rereads_the_registry_only_after_refresh(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    directory = PeerDirectory([], "http://me:1", refresh=3600.0)
    directory.attach(contracts.registry)
    assert origins(directory) == []
    announce_gateway(TxSender(w3, actors.annotator_c), contracts.registry, "http://late:1")
    assert origins(directory) == []  # cached for an hour
    directory.attach(contracts.registry)  # re-attaching forces a fresh read
    assert origins(directory) == ["http://late:1"]


def test_a_started_node_announces_its_gateway(
    node: NodeUnderTest, w3: Web3, contracts: Contracts, tmp_path: Path
) -> None:
    attach(w3).set_balance(ANNOTATOR.address, 10**20)
    node.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if discover_gateways(contracts.registry).get(ANNOTATOR.address) == node.url:
            return
        time.sleep(0.1)
    raise AssertionError(f"{node.url} was not announced: {discover_gateways(contracts.registry)}")
