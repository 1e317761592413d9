"""Encryption keys through NodeRegistry v2 on a real anvil: announced by the node, read by
a requester, used to wrap a task key that only the announcing node opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.errors import ContractRevertError
from node.chain.registry import announce_encryption_key, encryption_key
from node.chain.tx import TxSender
from node.keys import create_encryption_key
from node.protocol.sealed import SealedKeyMissingError, new_content_key
from node.protocol.sealed_keys import Recipient, build_key_document, parse_key_document, unwrap_key
from tests.conftest import Actors


def test_announced_key_is_the_one_wrapped_to(
    w3: Web3, contracts: Contracts, actors: Actors, tmp_path: Path
) -> None:
    registry = contracts.registry
    annotator = actors.annotator_a
    node_key = create_encryption_key(tmp_path / "enc.json", "pw", fast=True)
    assert encryption_key(registry, annotator.address) is None
    announce_encryption_key(TxSender(w3, annotator), registry, node_key.public_key)
    height = w3.eth.block_number
    announce_encryption_key(TxSender(w3, annotator), registry, node_key.public_key)
    assert w3.eth.block_number == height  # the same key again sends nothing

    # The requester's side: read the key from the chain, wrap the task key to it.
    announced = encryption_key(registry, annotator.address)
    assert announced == node_key.public_key
    task_key = new_content_key()
    document = parse_key_document(
        build_key_document("task/1", task_key, [Recipient(annotator.address, announced)])
    )
    assert unwrap_key(document, annotator.address, node_key.secret) == task_key
    with pytest.raises(SealedKeyMissingError):
        unwrap_key(document, actors.outsider.address, node_key.secret)


def test_zero_key_is_rejected_with_typed_error(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    with pytest.raises(ContractRevertError) as error:
        TxSender(w3, actors.outsider).transact(contracts.registry.functions.announceKey(bytes(32)))
    assert error.value.name == "NodeRegistryInvalidKey"
