"""``labelnet reputation ADDRESS [--domain D]``: an account's on-chain reputation counters."""

from __future__ import annotations

from typing import Annotated

import typer

from client.cli.common import (
    ChainOptions,
    DeploymentOpt,
    DevnetOpt,
    JsonOpt,
    RpcOpt,
    emit_json,
    errors,
)


def reputation(
    address: Annotated[str, typer.Argument(help="the account (0x…)", show_default=False)],
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="one domain (default: every domain the account has)"),
    ] = None,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Print an account's reputation per domain: labels accepted, labels answered, tasks and
    accuracy, as the gate credited them from finalized gated tasks' claims."""
    options = ChainOptions(devnet, rpc_url, deployment)
    with errors():
        network = options.connect(None, need_account=False)
        counters = network.reputation(address, domain)
    if json_output:
        emit_json(
            {
                "account": address,
                "domains": {
                    name: {
                        "accepted": rep.accepted,
                        "answered": rep.answered,
                        "tasks": rep.tasks,
                        "accuracy": rep.accuracy,
                    }
                    for name, rep in counters.items()
                },
            }
        )
        return
    if not counters:
        typer.echo(f"{address}: no reputation in any domain")
    for name, rep in counters.items():
        accuracy = "-" if rep.accuracy is None else f"{rep.accuracy:.1%}"
        typer.echo(
            f"{address} in {name or '(no domain)'}: {rep.accepted} accepted of {rep.answered}"
            f" answered ({accuracy}) over {rep.tasks} tasks"
        )
