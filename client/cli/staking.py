"""``labelnet stake|unstake|withdraw`` (validators) and ``labelnet claim`` (annotators)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from client.cli.common import (
    AMOUNT_HELP,
    AccountOpt,
    ChainOptions,
    DeploymentOpt,
    DevnetOpt,
    JsonOpt,
    KeystoreOpt,
    PasswordFileOpt,
    RpcOpt,
    emit_json,
    errors,
    format_amount,
    parse_amount,
)

if TYPE_CHECKING:
    from client.sdk.validator import StakeStatus, ValidatorClient

DEFAULT_VALIDATOR = "validator-1"
DEFAULT_ANNOTATOR = "annotator-1"
DEFAULT_NODE_URL = "http://127.0.0.1:7420"

AmountArg = Annotated[str, typer.Argument(help=AMOUNT_HELP, show_default=False)]


def _status_json(status: StakeStatus, tx_hash: str | None) -> dict[str, object]:
    return {
        "validator": status.validator,
        "staked": str(status.staked),
        "locked": str(status.locked),
        "free": str(status.free),
        "unbonding": str(status.unbonding),
        "release_at": status.release_at,
        "unbonding_delay": status.unbonding_delay,
        "min_stake": str(status.min_stake),
        "balance": str(status.balance),
        "tx_hash": tx_hash,
    }


def _report(client: ValidatorClient, tx_hash: str | None, json_output: bool) -> None:
    status = client.status()
    if json_output:
        emit_json(_status_json(status, tx_hash))
        return
    line = (
        f"{status.validator}: staked {format_amount(status.staked)} "
        f"(locked {format_amount(status.locked)}), unbonding {format_amount(status.unbonding)}"
    )
    if status.unbonding:
        line += f" until {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(status.release_at))}"
    line += f", balance {format_amount(status.balance)}"
    if status.staked and status.staked < status.min_stake:
        line += f" — below the minimum {format_amount(status.min_stake)} to attest"
    typer.echo(line)


def _validator(options: ChainOptions) -> ValidatorClient:
    from client.sdk.validator import ValidatorClient

    return ValidatorClient(options.connect(DEFAULT_VALIDATOR))


def stake(
    amount: AmountArg,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Stake AMOUNT tokens as a validator (approves the staking contract if needed)."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        value = parse_amount(amount)
        client = _validator(options)
        tx_hash = client.stake(value)
        _report(client, tx_hash.to_0x_hex(), json_output)


def unstake(
    amount: AmountArg,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Start unbonding AMOUNT of free stake; `labelnet withdraw` after the delay."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        value = parse_amount(amount)
        client = _validator(options)
        tx_hash = client.request_unstake(value)
        _report(client, tx_hash.to_0x_hex(), json_output)


def withdraw(
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Withdraw stake whose unbonding delay has passed."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        client = _validator(options)
        tx_hash = client.withdraw()
        _report(client, tx_hash.to_0x_hex(), json_output)


def claim(
    task: Annotated[
        list[int] | None, typer.Option("--task", help="task id to claim (repeat; default: all)")
    ] = None,
    node_url: Annotated[
        str, typer.Option("--node-url", help="the annotator node whose recorded proofs to use")
    ] = DEFAULT_NODE_URL,
    from_results: Annotated[
        Path | None,
        typer.Option(
            "--from-results",
            help="no node: fetch each --task's result document into this data directory's "
            "store (from the gateways announced on chain) and claim from it",
        ),
    ] = None,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Claim your payouts of finalized tasks in one transaction (proofs from your node, or
    with --from-results from the verified result documents)."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        from client.sdk.annotator import AnnotatorClient, claim_from_results
        from client.sdk.requester import RequesterClient

        network = options.connect(DEFAULT_ANNOTATOR)
        if from_results is not None:
            client = RequesterClient(network, from_results, allow_private_peers=options.on_devnet)
            try:
                receipt = claim_from_results(network, client.store, task or [])
            finally:
                client.close()
        else:
            with AnnotatorClient(node_url) as node:
                receipt = node.claim(network, task or None)
    if json_output:
        emit_json(
            {
                "tx_hash": receipt.tx_hash,
                "account": receipt.account,
                "task_ids": list(receipt.task_ids),
                "amount": str(receipt.amount),
            }
        )
    else:
        tasks = ", ".join(map(str, receipt.task_ids))
        typer.echo(f"claimed {format_amount(receipt.amount)} for {receipt.account} (tasks {tasks})")


def register(app: typer.Typer) -> None:
    for command in (stake, unstake, withdraw, claim):
        app.command()(command)
