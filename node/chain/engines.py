"""The development chain engines labelnet can run, by name and by what answers an endpoint."""

from __future__ import annotations

from web3 import Web3

from node.chain.anvil import Anvil
from node.chain.devchain import DevChain, DevChainError
from node.chain.hardhat import Hardhat
from node.chain.rpc import rpc_request

ENGINES: dict[str, type[DevChain]] = {"anvil": Anvil, "hardhat": Hardhat}
DEFAULT_ENGINE = "anvil"


class UnknownEngineError(DevChainError, ValueError):
    """A chain engine labelnet does not know."""


def engine_class(name: str) -> type[DevChain]:
    """The engine called ``name`` (``anvil`` or ``hardhat``)."""
    try:
        return ENGINES[name]
    except KeyError as exc:
        known = ", ".join(ENGINES)
        raise UnknownEngineError(f"unknown chain engine {name!r} (known: {known})") from exc


def attach(w3: Web3) -> DevChain:
    """Development controls for the chain behind ``w3``, by its ``web3_clientVersion``."""
    version = str(rpc_request(w3, "web3_clientVersion"))
    for engine in ENGINES.values():
        if version.startswith(engine.client_prefix):
            return engine.bound(w3)
    raise UnknownEngineError(f"{version!r} is not a development chain labelnet can control")
