"""Shared fixtures: one anvil per test session, a fresh chain state per test.

Anvil starts on a free port and is polled until it answers (never a fixed sleep); each test
runs between ``evm_snapshot`` and ``evm_revert`` so tests cannot see each other's state.
A Hardhat node (``hardhat``) starts only in sessions that run a test asking for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import DEFAULT_MNEMONIC, Anvil
from node.chain.contracts import Contracts, DeployConfig, Deployment, bind, deploy
from node.chain.engines import attach
from node.chain.hardhat import Hardhat
from node.chain.tx import TxSender

ROLES = (
    "deployer",
    "requester",
    "annotator_a",
    "annotator_b",
    "annotator_c",
    "validator_1",
    "validator_2",
    "validator_3",
    "outsider",
)


@dataclass(frozen=True)
class Actors:
    """Named accounts from anvil's development mnemonic, one per role."""

    by_role: dict[str, LocalAccount]

    def __getattr__(self, role: str) -> LocalAccount:
        try:
            return self.by_role[role]
        except KeyError as exc:
            raise AttributeError(role) from exc


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    chain = Anvil(accounts=len(ROLES) + 11)
    chain.start()
    try:
        assert chain.client_version.startswith("anvil/v1.")
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def hardhat() -> Iterator[Hardhat]:
    """The session's Hardhat node, with the same accounts as ``anvil``."""
    chain = Hardhat(accounts=len(ROLES) + 11)
    chain.start()
    try:
        assert chain.client_version.startswith("HardhatNetwork/2.")
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    web3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
    assert web3.is_connected()
    return web3


@pytest.fixture(scope="session")
def actors() -> Actors:
    Account.enable_unaudited_hdwallet_features()
    accounts = {
        role: Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i, role in enumerate(ROLES)
    }
    return Actors(accounts)


TEST_CONFIG = DeployConfig(
    min_stake=1_000 * 10**18,
    slash_bps=1_000,
    max_committee=16,
    min_attestations=2,
    quorum_bps=3_334,
)
"""The protocol parameters of the tests' deployments."""


@pytest.fixture(scope="session")
def deployment(w3: Web3, actors: Actors) -> Deployment:
    """Contracts deployed once per session; per-test snapshots undo what tests do to them."""
    return deploy(TxSender(w3, actors.deployer), TEST_CONFIG)


@pytest.fixture
def contracts(w3: Web3, deployment: Deployment) -> Contracts:
    return bind(w3, deployment)


@pytest.fixture(autouse=True)
def chain_snapshot(request: pytest.FixtureRequest) -> Iterator[None]:
    """Revert the chain after every test that touched it."""
    if "w3" not in request.fixturenames:
        yield
        return
    web3: Web3 = request.getfixturevalue("w3")
    # Deploy before the snapshot so the session deployment is never reverted away.
    if "deployment" in request.fixturenames:
        request.getfixturevalue("deployment")
    dev = attach(web3)
    snapshot = dev.snapshot()
    try:
        yield
    finally:
        dev.revert(snapshot)


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block at the new time."""
    dev = attach(w3)
    dev.increase_time(seconds)
    dev.mine()
