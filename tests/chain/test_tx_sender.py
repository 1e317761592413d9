"""One TxSender shared by many threads assigns every nonce exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.engines import attach
from node.chain.errors import ChainError
from node.chain.tx import TxSender
from tests.conftest import Actors


def test_concurrent_sends_from_one_account_all_land(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    sender = TxSender(w3, actors.deployer)
    recipients = [actors.annotator_a.address, actors.annotator_b.address]
    start = w3.eth.get_transaction_count(actors.deployer.address)

    def send(n: int) -> int:
        call = contracts.token.functions.transfer(recipients[n % 2], n + 1)
        return int(sender.transact(call)["blockNumber"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        blocks = list(pool.map(send, range(40)))
    assert len(blocks) == 40
    nonces = sorted(
        w3.eth.get_transaction(tx)["nonce"]
        for number in set(blocks)
        for tx in w3.eth.get_block(number)["transactions"]  # type: ignore[union-attr]
    )
    assert nonces == list(range(start, start + 40))  # no nonce reused, none skipped
    assert contracts.token.functions.balanceOf(recipients[0]).call() == sum(
        n + 1 for n in range(0, 40, 2)
    )


def test_rpc_refusal_is_a_chain_error_and_the_nonce_recovers(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    poor = actors.outsider
    attach(w3).set_balance(poor.address, 0)
    sender = TxSender(w3, poor)
    call = contracts.registry.functions.announce("http://127.0.0.1:1")
    with pytest.raises(ChainError, match="sending from"):
        sender.transact(call)
    attach(w3).set_balance(poor.address, 10**18)
    assert sender.transact(call)["status"] == 1
