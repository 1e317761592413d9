"""``labelnet task create|list|show|cancel|results|export``: the requester's commands.

The command group and its short commands (``list``, ``show``, ``cancel``); ``create`` is
:mod:`client.cli.task_create`, ``results`` and ``export`` :mod:`client.cli.task_results`,
registered here in the order ``--help`` lists them.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from client.cli.common import (
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
)
from client.cli.task_create import create
from client.cli.task_options import DEFAULT_REQUESTER, TaskArg
from client.cli.task_results import export, results

stdout = Console()
app = typer.Typer(help="Post and follow labeling tasks (requester).", no_args_is_help=True)

app.command()(create)


@app.command("list")
def list_command(
    mine: Annotated[bool, typer.Option("--mine", help="only tasks of this account")] = False,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Tasks created on the deployment (from TaskCreated events)."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    from client.sdk.requester import list_tasks

    with errors():
        summaries = list_tasks(options.connect(DEFAULT_REQUESTER, need_account=mine), mine=mine)
    if json_output:
        emit_json([{**dataclasses.asdict(s), "reward_pool": str(s.reward_pool)} for s in summaries])
        return
    table = Table(title=f"{len(summaries)} task(s)")
    for column in ("id", "status", "items", "k", "reward pool", "requester", "manifest"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            str(s.task_id),
            s.status,
            str(s.num_items),
            str(s.redundancy),
            format_amount(s.reward_pool),
            s.requester,
            s.manifest_cid,
        )
    stdout.print(table)


def _when(timestamp: int, now: int) -> str:
    moment = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
    delta = timestamp - now
    return f"{moment} ({'in ' if delta > 0 else ''}{abs(delta)}s{'' if delta > 0 else ' ago'})"


@app.command()
def show(
    task_id: TaskArg,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """A task's status, phase, commit/reveal/attest counts, deadlines and escrow."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    from client.sdk.requester import progress_of

    with errors():
        network = options.connect(None, need_account=False)
        progress = progress_of(network, task_id)
        now = network.now()
    document = {
        **dataclasses.asdict(progress),
        "status": progress.status.name.lower(),
        "phase": progress.phase.name.lower(),
        "escrow": str(progress.escrow),
        "paid": str(progress.paid),
        "refundable": str(progress.refundable),
    }
    if json_output:
        emit_json(document)
        return
    typer.echo(f"task {task_id}: {document['status']}, phase {document['phase']}")
    gold = "committed" if progress.gold_committed else "none"
    gold = "revealed" if progress.gold_revealed else gold
    typer.echo(
        f"  commits {progress.commits}, reveals {progress.reveals}, "
        f"attestations {progress.attestations}; gold {gold}"
    )
    if progress.seat_limit:
        typer.echo(
            f"  seated: {progress.seats} of {progress.seat_limit} seats claimed; seat deadline "
            f"{_when(progress.seat_deadline, now)} (commits are counted by seat on chain)"
        )
    typer.echo(f"  commit deadline {_when(progress.commit_deadline, now)}")
    typer.echo(f"  reveal deadline {_when(progress.reveal_deadline, now)}")
    typer.echo(f"  attest deadline {_when(progress.attest_deadline, now)}")
    typer.echo(
        f"  escrow {format_amount(progress.escrow)}, paid {format_amount(progress.paid)}, "
        f"refundable {format_amount(progress.refundable)}"
    )


@app.command()
def cancel(
    task_id: TaskArg,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Cancel a task nobody has committed to; the whole escrow returns."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    from node.roles.requester import cancel_task

    with errors():
        network = options.connect(DEFAULT_REQUESTER)
        tx_hash = cancel_task(network.sender(), network.contracts.market, task_id)
    if json_output:
        emit_json({"task_id": task_id, "tx_hash": tx_hash, "cancelled": True})
    else:
        typer.echo(f"task {task_id} cancelled ({tx_hash})")


app.command()(results)
app.command()(export)
