"""The seed of ``deal@1`` (docs/settlement.md §1.3): ``keccak256(abi.encode("labelnet/deal@1",
chainId, market, taskId, R))``, pinned to the value Foundry's ``cast`` gives for the same
arguments::

    cast keccak $(cast abi-encode "f(string,uint256,address,uint256,bytes32)" \\
        "labelnet/deal@1" 31337 0x1111111111111111111111111111111111111111 1 \\
        0x2222222222222222222222222222222222222222222222222222222222222222)
"""

from __future__ import annotations

import pytest

from node.protocol.deal import SEAL_DELAY, deal_seed
from node.protocol.errors import InvalidDealError

MARKET = "0x" + "11" * 20
PINNED = "0a5f28b54220fe75be2c86de804c4e3b5506fd4a724abf8e2f2158b6d5588687"


def test_the_seed_is_the_abi_encoding_solidity_hashes() -> None:
    assert deal_seed(31337, MARKET, 1, b"\x22" * 32).hex() == PINNED
    assert SEAL_DELAY == 64


def test_the_seed_binds_the_chain_the_market_the_task_and_the_randomness() -> None:
    seeds = {
        deal_seed(31337, MARKET, 1, b"\x22" * 32),
        deal_seed(1, MARKET, 1, b"\x22" * 32),
        deal_seed(31337, "0x" + "12" * 20, 1, b"\x22" * 32),
        deal_seed(31337, MARKET, 2, b"\x22" * 32),
        deal_seed(31337, MARKET, 1, b"\x23" * 32),
    }
    assert len(seeds) == 5


def test_the_randomness_is_32_bytes() -> None:
    with pytest.raises(InvalidDealError):
        deal_seed(31337, MARKET, 1, b"\x22" * 31)
