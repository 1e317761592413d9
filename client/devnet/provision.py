"""Provisioning a fresh chain: deploy the contracts, make keystores, fund and stake accounts.

:func:`_provision` is shared by the detached ``devnet_up`` and the in-process ``Devnet``; it
writes ``deployment.json`` and ``devnet.json`` last, atomically, so a half-built devnet never
looks like a ready one.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from client.devnet.info import (
    DEPLOYMENT_FILE,
    DEVNET_FILE,
    PASSWORD_FILE,
    DevnetAccount,
    DevnetError,
    DevnetInfo,
    _write_atomic,
)
from node.app.chain import write_deployment
from node.chain.contracts import Contracts, DeployConfig, bind, deploy
from node.chain.devchain import DEFAULT_MNEMONIC, DevChain
from node.chain.tx import TxSender
from node.keys import (
    FAST_SCRYPT_N,
    create_encryption_key,
    create_keystore,
    encryption_key_path,
)

DEFAULT_ACCOUNTS: tuple[str, ...] = (
    "requester",
    "annotator-1",
    "annotator-2",
    "annotator-3",
    "validator-1",
    "validator-2",
    "validator-3",
)
"""Accounts of a default devnet; names starting with ``validator`` are staked."""
DEFAULT_TOKENS = 1_000_000 * 10**18
ACCOUNT_ETH = 1_000 * 10**18

Step = Callable[[str], None]

DEVNET_MIN_LABEL_TIME = 60
"""A devnet market's ``minLabelTime``: a minute between a seated task's seat and commit
deadlines, so seated tasks fit a devnet's short windows (the contracts' default is 1 hour)."""


def _deployer(w3: Web3) -> TxSender:
    """The first account of the development mnemonic: it deploys and holds the token supply."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(DEFAULT_MNEMONIC)
    return TxSender(w3, account)


def _default_stake(accounts: Sequence[str], config: DeployConfig) -> dict[str, int]:
    return {name: 10 * config.min_stake for name in accounts if name.startswith("validator")}


def _provision(
    directory: Path,
    chain: DevChain,
    *,
    accounts: Sequence[str],
    tokens_per_account: int,
    stake: Mapping[str, int] | None,
    deploy_config: DeployConfig | None,
    chain_pid: int | None,
    step: Step,
) -> DevnetInfo:
    """Deploy, create and fund the accounts, stake, then write the devnet files."""
    w3 = chain.w3
    if len(set(accounts)) != len(accounts):
        raise DevnetError(f"account names repeat: {list(accounts)}")
    config = deploy_config or DeployConfig(min_label_time=DEVNET_MIN_LABEL_TIME)
    stakes = dict(_default_stake(accounts, config) if stake is None else stake)
    unknown = sorted(set(stakes) - set(accounts))
    if unknown:
        raise DevnetError(f"stake names accounts that do not exist: {', '.join(unknown)}")
    for name, amount in stakes.items():
        if amount > tokens_per_account:
            raise DevnetError(f"{name} cannot stake {amount}: it only gets {tokens_per_account}")
    if tokens_per_account * len(accounts) > config.token_supply:
        raise DevnetError(
            "tokens_per_account times the number of accounts exceeds the token supply"
        )
    step("deploying the contracts")
    deployer = _deployer(w3)
    deployment = deploy(deployer, config)
    contracts = bind(w3, deployment)

    step(f"creating {len(accounts)} accounts")
    password = secrets.token_urlsafe(18)
    password_file = directory / PASSWORD_FILE
    _write_atomic(password_file, password + "\n", 0o600)
    keystores = directory / "keystores"
    signers: dict[str, LocalAccount] = {}
    records: list[DevnetAccount] = []
    for name in accounts:
        path = keystores / f"{name}.json"
        path.unlink(missing_ok=True)  # a stale devnet's key: its chain is gone
        signers[name] = create_keystore(path, password, scrypt_n=FAST_SCRYPT_N)
        encryption = encryption_key_path(path)
        encryption.unlink(missing_ok=True)
        create_encryption_key(encryption, password, fast=True)
        records.append(DevnetAccount(name, signers[name].address, path.resolve()))

    step("funding the accounts")
    for signer in signers.values():
        chain.set_balance(signer.address, ACCOUNT_ETH)
    if tokens_per_account:
        _wait_all(
            deployer,
            [
                deployer.submit(contracts.token.functions.transfer(s.address, tokens_per_account))
                for s in signers.values()
            ],
        )
    if stakes:
        step(f"staking {len(stakes)} validators")
        _stake_all(w3, contracts, [(signers[n], amount) for n, amount in stakes.items()])

    deployment_file = directory / DEPLOYMENT_FILE
    write_deployment(deployment_file, deployment)
    info = DevnetInfo(
        rpc_url=chain.url,
        chain_id=deployment.chain_id,
        deployment_file=deployment_file.resolve(),
        password_file=password_file.resolve(),
        accounts=tuple(records),
        chain_pid=chain_pid,
        engine=chain.engine,
    )
    _write_atomic(directory / DEVNET_FILE, json.dumps(info.to_json(), indent=2) + "\n")
    return info


def _wait_all(sender: TxSender, hashes: Sequence[HexBytes]) -> None:
    for tx_hash in hashes:
        sender.wait(tx_hash)


def _stake_all(w3: Web3, contracts: Contracts, stakes: Sequence[tuple[LocalAccount, int]]) -> None:
    """Approve and stake for every validator: all approvals first, then all stakes."""
    senders = [(TxSender(w3, account), amount) for account, amount in stakes if amount > 0]
    approve = contracts.token.functions.approve
    approvals = [s.submit(approve(contracts.staking.address, amount)) for s, amount in senders]
    for (sender, _), tx_hash in zip(senders, approvals, strict=True):
        sender.wait(tx_hash)
    stakes_sent = [s.submit(contracts.staking.functions.stake(amount)) for s, amount in senders]
    for (sender, _), tx_hash in zip(senders, stakes_sent, strict=True):
        sender.wait(tx_hash)
