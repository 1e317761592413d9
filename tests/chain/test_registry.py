"""Nodes find each other's gateways through the NodeRegistry contract."""

from __future__ import annotations

import pytest
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.errors import ContractRevertError
from node.chain.registry import announce_gateway, discover_gateways
from node.chain.tx import TxSender
from tests.conftest import Actors


def test_announcements_are_discovered_latest_first_and_withdrawals_removed(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    registry = contracts.registry
    a, b, v = actors.annotator_a, actors.annotator_b, actors.validator_1
    announce_gateway(TxSender(w3, a), registry, "http://127.0.0.1:7001")
    announce_gateway(TxSender(w3, b), registry, "http://127.0.0.1:7002")
    announce_gateway(TxSender(w3, v), registry, "http://127.0.0.1:7003")
    announce_gateway(TxSender(w3, a), registry, "http://127.0.0.1:7101")  # moved
    TxSender(w3, b).transact(registry.functions.withdraw())
    assert discover_gateways(registry) == {
        a.address: "http://127.0.0.1:7101",
        v.address: "http://127.0.0.1:7003",
    }
    assert registry.functions.announcedAt(a.address).call() > 0
    assert registry.functions.announcedAt(b.address).call() == 0


def test_announcing_the_same_url_twice_sends_nothing(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    sender = TxSender(w3, actors.annotator_c)
    announce_gateway(sender, contracts.registry, "http://127.0.0.1:7004")
    height = w3.eth.block_number
    announce_gateway(sender, contracts.registry, "http://127.0.0.1:7004")
    assert w3.eth.block_number == height


def test_empty_url_is_rejected_with_typed_error(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    with pytest.raises(ContractRevertError) as error:
        TxSender(w3, actors.outsider).transact(contracts.registry.functions.announce(""))
    assert error.value.name == "NodeRegistryInvalidUrl"
