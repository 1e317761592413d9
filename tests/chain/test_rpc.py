"""Raw JSON-RPC errors raise, and each engine is driven through its own adapter.

Before #18, ``make_request`` handed back ``{"error": ...}`` and callers went on: Hardhat
refused ``anvil_setBalance`` and a devnet carried on with unfunded accounts.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from node.chain.anvil import Anvil
from node.chain.devchain import DevChainError, free_port
from node.chain.engines import UnknownEngineError, attach, engine_class
from node.chain.errors import ChainError
from node.chain.hardhat import Hardhat
from node.chain.rpc import RpcError, raise_for_error, rpc_request

SOMEONE = "0x" + "5a" * 20


def test_hardhat_refusing_an_anvil_method_raises(hardhat: Hardhat) -> None:
    with pytest.raises(RpcError, match="anvil_setBalance failed") as refused:
        rpc_request(hardhat.w3, "anvil_setBalance", [SOMEONE, hex(7)])
    assert refused.value.code == -32004  # Hardhat: method not supported
    hardhat.set_balance(SOMEONE, 7)  # the adapter uses Hardhat's own method
    assert hardhat.w3.eth.get_balance(Web3.to_checksum_address(SOMEONE)) == 7


def test_anvil_refusing_a_method_raises(w3: Web3) -> None:
    with pytest.raises(RpcError, match="evm_noSuchMethod failed") as refused:
        rpc_request(w3, "evm_noSuchMethod", [SOMEONE])
    assert refused.value.code == -32601  # method not found


def test_attach_recognises_each_engine(w3: Web3, hardhat: Hardhat) -> None:
    assert isinstance(attach(w3), Anvil)
    assert isinstance(attach(hardhat.w3), Hardhat)
    assert engine_class("hardhat") is Hardhat
    with pytest.raises(UnknownEngineError, match="ganache"):
        engine_class("ganache")


def test_reverting_to_an_unknown_snapshot_raises(w3: Web3) -> None:
    with pytest.raises(DevChainError, match="cannot revert"):
        attach(w3).revert("0xdeadbeef")


def test_an_unreachable_endpoint_is_a_chain_error() -> None:
    nobody = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ChainError, match="cannot be reached") as failed:
        rpc_request(nobody, "evm_mine")
    assert not isinstance(failed.value, RpcError)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}, "no"),
        ({"jsonrpc": "2.0", "id": 1, "error": "plain text"}, "plain text"),
        ({"jsonrpc": "2.0", "id": 1}, "without a result"),
        (["not", "a", "reply"], "malformed"),
    ],
)
def test_every_error_shape_raises(reply: object, message: str) -> None:
    with pytest.raises(RpcError, match=message):
        raise_for_error("some_method", reply)
    assert raise_for_error("some_method", {"result": None}) is None
