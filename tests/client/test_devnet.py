"""devnet up/down on a real anvil and Hardhat: files, funded and staked accounts, a detached
process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.devnet import (
    ACCOUNT_ETH,
    Devnet,
    DevnetError,
    DevnetInfo,
    DevnetNotFoundError,
    devnet_down,
    devnet_running,
    devnet_up,
)
from client.sdk import Network, NetworkError, ValidatorClient
from node.app.chain import load_deployment
from node.chain.contracts import DeployConfig
from tests.client.conftest import assert_one_line_error, run

TOKENS = 5_000 * 10**18


def test_devnet_up_funds_and_stakes_accounts_and_down_stops_anvil(tmp_path: Path) -> None:
    config = DeployConfig(min_stake=100 * 10**18)
    info = devnet_up(
        tmp_path,
        accounts=("requester", "validator-1"),
        tokens_per_account=TOKENS,
        deploy_config=config,
    )
    try:
        assert DevnetInfo.load(tmp_path) == info
        assert load_deployment(info.deployment_file).chain_id == info.chain_id == 31337
        assert oct(info.password_file.stat().st_mode & 0o777) == "0o600"
        assert devnet_running(tmp_path)
        requester = Network.from_devnet(tmp_path, "requester")
        assert requester.token_balance() == TOKENS
        assert requester.w3.eth.get_balance(requester.require_account().address) > 0
        validator = Network.from_devnet(tmp_path, "validator-1")
        status = ValidatorClient(validator).status()
        assert status.staked == 10 * config.min_stake
        assert status.balance == TOKENS - status.staked
        with pytest.raises(DevnetError, match="already running"):
            devnet_up(tmp_path, accounts=("requester",))
    finally:
        devnet_down(tmp_path)
    assert info.chain_pid is not None and info.engine == "anvil"
    assert not devnet_running(tmp_path)
    assert not (tmp_path / "anvil.pid").exists()


def test_devnet_down_without_a_devnet_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DevnetNotFoundError):
        devnet_down(tmp_path)
    assert_one_line_error(run("devnet", "down", "--devnet", str(tmp_path)), "no devnet")


def test_in_process_devnet_stops_its_chain_on_exit(tmp_path: Path) -> None:
    with Devnet.start(tmp_path, accounts=("annotator-1",), stake={}) as devnet:
        sender = devnet.sender("annotator-1")
        assert devnet.w3.eth.get_balance(sender.address) > 0
        assert devnet.info.chain_pid is None
        url = devnet.info.rpc_url
    with pytest.raises(NetworkError, match="cannot reach"):
        Network.connect(url, devnet.info.deployment_file)


def test_cli_devnet_up_json_then_down(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    result = run(
        "devnet",
        "up",
        "--devnet",
        str(directory),
        "--annotators",
        "1",
        "--validators",
        "1",
        "--json",
    )
    try:
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        names = [account["name"] for account in document["accounts"]]
        assert names == ["requester", "annotator-1", "validator-1"]
    finally:
        stopped = run("devnet", "down", "--devnet", str(directory))
    assert stopped.exit_code == 0
    assert "stopped" in stopped.stdout
    assert not devnet_running(directory)


def test_devnet_on_hardhat_funds_every_account_and_down_stops_it(tmp_path: Path) -> None:
    """#18: on Hardhat, anvil's balance call failed unnoticed and left the accounts unfunded."""
    config = DeployConfig(min_stake=100 * 10**18)
    info = devnet_up(
        tmp_path,
        accounts=("requester", "validator-1"),
        tokens_per_account=TOKENS,
        deploy_config=config,
        engine="hardhat",
    )
    try:
        assert info.engine == "hardhat" and DevnetInfo.load(tmp_path) == info
        assert (tmp_path / "hardhat.pid").exists() and not (tmp_path / "anvil.pid").exists()
        assert devnet_running(tmp_path)
        requester = Network.from_devnet(tmp_path, "requester")
        assert requester.w3.client_version.startswith("HardhatNetwork/2.")
        assert requester.w3.eth.get_balance(requester.require_account().address) == ACCOUNT_ETH
        assert requester.token_balance() == TOKENS
        status = ValidatorClient(Network.from_devnet(tmp_path, "validator-1")).status()
        assert status.staked == 10 * config.min_stake
    finally:
        devnet_down(tmp_path)
    assert not devnet_running(tmp_path)
    assert not (tmp_path / "hardhat.pid").exists()


def test_a_devnet_file_from_before_engines_loads_as_anvil(tmp_path: Path) -> None:
    document = {
        "rpc_url": "http://127.0.0.1:8545",
        "chain_id": 31337,
        "deployment_file": str(tmp_path / "deployment.json"),
        "password_file": str(tmp_path / "password"),
        "accounts": [],
        "anvil_pid": 4242,
    }
    (tmp_path / "devnet.json").write_text(json.dumps(document))
    info = DevnetInfo.load(tmp_path)
    assert (info.engine, info.chain_pid) == ("anvil", 4242)


def test_cli_devnet_up_with_an_unknown_chain_is_a_clear_error(tmp_path: Path) -> None:
    result = run("devnet", "up", "--devnet", str(tmp_path), "--chain", "ganache")
    assert_one_line_error(result, "unknown chain engine 'ganache'", "--chain hardhat")
    assert not (tmp_path / "devnet.json").exists()
