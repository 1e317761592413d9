"""``labelnet devnet up|down``: a local chain with the contracts and funded accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from client.cli.common import (
    ChainOptions,
    DevnetOpt,
    EngineOpt,
    JsonOpt,
    emit_json,
    engine_name,
    errors,
    stderr,
    working,
)

app = typer.Typer(
    help="Run a local devnet (anvil or Hardhat + contracts + funded accounts).",
    no_args_is_help=True,
)


def account_names(annotators: int, validators: int) -> list[str]:
    """``requester``, ``annotator-1..N`` and ``validator-1..M``."""
    return [
        "requester",
        *(f"annotator-{i}" for i in range(1, annotators + 1)),
        *(f"validator-{i}" for i in range(1, validators + 1)),
    ]


@app.command()
def up(
    devnet: DevnetOpt = None,
    annotators: Annotated[int, typer.Option(min=0, max=500, help="annotator accounts")] = 3,
    validators: Annotated[int, typer.Option(min=0, max=100, help="staked validator accounts")] = 3,
    port: Annotated[int | None, typer.Option(help="chain RPC port (default: a free one)")] = None,
    block_time: Annotated[
        float | None, typer.Option(help="mine a block every N seconds (default: on each tx)")
    ] = None,
    chain: EngineOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Start a local chain in the background, deploy the contracts and fund the accounts.

    Each account gets a keystore in DIR/keystores (password in DIR/password), ETH, a million
    tokens; validators also stake. Stop it with `labelnet devnet down`.
    """
    from client.devnet import devnet_up

    directory = ChainOptions(devnet=devnet).devnet_dir()
    with errors(), working("starting the devnet", quiet=json_output) as step:
        info = devnet_up(
            directory,
            accounts=account_names(annotators, validators),
            port=port,
            block_time=block_time,
            engine=engine_name(chain),
            step=step,
        )
    if json_output:
        emit_json({**info.to_json(), "directory": str(directory.resolve())})
        return
    table = Table(title=f"devnet in {directory} — {info.rpc_url} (chain {info.chain_id})")
    table.add_column("account")
    table.add_column("address")
    table.add_column("keystore")
    for account in info.accounts:
        table.add_row(account.name, account.address, str(account.keystore))
    stderr.print(table)
    typer.echo(f"devnet up: {info.rpc_url} ({info.engine} pid {info.chain_pid})")
    typer.echo(f"deployment: {info.deployment_file}")


@app.command()
def down(devnet: DevnetOpt = None, json_output: JsonOpt = False) -> None:
    """Stop the devnet's chain (keystores and files stay in the directory)."""
    from client.devnet import devnet_down, devnet_running

    directory: Path = ChainOptions(devnet=devnet).devnet_dir()
    with errors():
        was_running = devnet_running(directory)
        devnet_down(directory)
    if json_output:
        emit_json({"directory": str(directory), "stopped": was_running})
    elif was_running:
        typer.echo(f"devnet in {directory} stopped")
    else:
        typer.echo(f"devnet in {directory} was not running")
