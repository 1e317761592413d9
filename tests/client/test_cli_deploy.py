"""``labelnet deploy`` to an existing network: a fresh anvil and a fresh Hardhat node.

Each engine mines a block a second here, as a real network does, so the confirmations are
really waited for; the deployment file is then read back the way nodes and the CLI read it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from client.sdk import Network
from node.app.chain import load_deployment
from node.chain.contracts import DeployConfig
from node.chain.devchain import DevChain
from node.chain.engines import ENGINES
from node.keys import FAST_SCRYPT_N, create_keystore
from tests.client.conftest import assert_one_line_error, run

PASSWORD = "correct horse battery staple"
ETHER = 10**18


def _deployer(tmp_path: Path, chain: DevChain | None = None) -> tuple[Path, Path, str]:
    """A new deployer key (keystore, password file, address), funded on ``chain``."""
    keystore = tmp_path / "deployer.json"
    account = create_keystore(keystore, PASSWORD, scrypt_n=FAST_SCRYPT_N)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    if chain is not None:
        chain.set_balance(account.address, 10 * ETHER)
    return keystore, password_file, account.address


@pytest.mark.parametrize("engine", list(ENGINES))
def test_deploy_waits_for_confirmations_and_writes_a_readable_deployment(
    engine: str, tmp_path: Path
) -> None:
    chain = ENGINES[engine](accounts=1, block_time=1.0)
    chain.start()
    try:
        keystore, password_file, address = _deployer(tmp_path, chain)
        out = tmp_path / "net" / "deployment.json"
        result = run(
            "deploy", "--rpc-url", chain.url, "--keystore", str(keystore),
            "--password-file", str(password_file), "--chain-id", "31337",
            "--confirmations", "2", "--min-stake", "50", "--min-label-time", "2m",
            "--out", str(out), "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        printed = json.loads(result.stdout)
        deployment = load_deployment(out)
        assert {**deployment.to_json(), "deployment_file": str(out)} == printed
        assert deployment.chain_id == 31337 and deployment.start_block >= 1
        w3 = Web3(Web3.HTTPProvider(chain.url))
        token_block = w3.eth.get_block(deployment.start_block, full_transactions=True)
        assert any(tx["to"] is None for tx in token_block["transactions"])  # a creation
        assert w3.eth.block_number >= deployment.start_block + 4 + 1  # 5 txs, 2 confirmations

        network = Network.connect(chain.url, out)
        assert network.token_balance(address) == DeployConfig().token_supply
        assert network.contracts.staking.functions.minStake().call() == 50 * ETHER
        assert network.contracts.market.functions.minLabelTime().call() == 120
        assert network.contracts.staking.functions.market().call() == deployment.market
        gate = network.contracts.qualifications
        assert gate is not None and gate.address == deployment.qualifications
        assert gate.functions.market().call() == deployment.market
    finally:
        chain.stop()


def test_deploy_asks_for_the_password_and_refuses_the_wrong_chain(
    anvil: DevChain, w3: Web3, tmp_path: Path
) -> None:
    keystore, _, _ = _deployer(tmp_path, anvil)
    out = tmp_path / "deployment.json"
    args = ("deploy", "--rpc-url", anvil.url, "--keystore", str(keystore), "--out", str(out))
    wrong = run(*args, "--chain-id", "1", input=PASSWORD + "\n")
    assert wrong.exit_code != 0
    assert "serves chain 31337, not chain 1" in wrong.stderr
    assert not out.exists()

    deployed = run(*args, input=PASSWORD + "\n")
    assert deployed.exit_code == 0, deployed.stderr
    assert load_deployment(out).chain_id == 31337
    assert_one_line_error(run(*args, input=PASSWORD + "\n"), "already exists", "--force")


def test_deploy_with_an_unfunded_key_is_a_clear_error(anvil: DevChain, tmp_path: Path) -> None:
    keystore, password_file, _ = _deployer(tmp_path)
    result = run(
        "deploy", "--rpc-url", anvil.url, "--keystore", str(keystore),
        "--password-file", str(password_file), "--out", str(tmp_path / "d.json"),
    )  # fmt: skip
    assert_one_line_error(result, "holds no ETH", "fund the deployer")
