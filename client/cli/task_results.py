"""``labelnet task results|export``: a finalized task's consensus labels, shown or exported.

Registered on the command group by :mod:`client.cli.tasks`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from client.cli.common import (
    AccountOpt,
    ChainOptions,
    CliError,
    DeploymentOpt,
    DevnetOpt,
    JsonOpt,
    KeystoreOpt,
    PasswordFileOpt,
    RpcOpt,
    emit_json,
    errors,
    working,
)
from client.cli.task_options import (
    DataDirOpt,
    LabelConfigOpt,
    PeerOpt,
    TaskArg,
    read_label_config,
    requester_client,
)

if TYPE_CHECKING:
    from node.roles.requester import TaskResults

stdout = Console()


def results(
    task_id: TaskArg,
    data_dir: DataDirOpt,
    peer: PeerOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="rows to show (0: all)")] = 50,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The consensus labels of a finalized task (verified against the on-chain root)."""
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        client = requester_client(options, data_dir, peer, signer=False)
        try:  # the items are read while they are written: the client's store stays open
            if json_output:
                _emit_results_json(client.results(task_id))
            else:
                with working("fetching the result"):
                    table, more = _results_table(client.results(task_id), task_id, limit)
                stdout.print(table)
                if more:
                    typer.echo(f"... {more} more (--limit 0 shows all)")
        finally:
            client.close()


def _emit_results_json(outcome: TaskResults) -> None:
    """``emit_json`` of the result, byte for byte, with the items written as they are read
    (a task's items are not held: they stream from the result's pages)."""
    from node.content.exports import json_array_chunks

    placeholder = "\u0000items\u0000"
    head, tail = json.dumps(
        {
            "task_id": outcome.task_id,
            "result_cid": outcome.result_cid,
            "kind": outcome.kind,
            "classes": list(outcome.classes),
            "items": placeholder,
            "annotators": [
                {**dataclasses.asdict(a), "payout": str(a.payout)} for a in outcome.annotators
            ],
            "assignment": (
                None if outcome.assignment is None else dataclasses.asdict(outcome.assignment)
            ),
        },
        indent=2,
        sort_keys=True,
        default=str,  # as emit_json writes it
    ).split(json.dumps(placeholder))
    typer.echo(head, nl=False)
    items = (dataclasses.asdict(item) for item in outcome.items)
    for chunk in json_array_chunks(items, indent=2, level=1):
        typer.echo(chunk, nl=False)
    typer.echo(tail)


def _results_table(outcome: TaskResults, task_id: int, limit: int) -> tuple[Table, int]:
    """The first ``limit`` items (0: all) as a table, and how many more there are: one
    pass, holding the rows shown."""
    table = Table()
    for column in ("item", "label", "confidence", "confident", "gold"):
        table.add_column(column)
    count = 0
    for item in outcome.items:
        count += 1
        if limit == 0 or count <= limit:
            table.add_row(
                item.item,
                str(item.value),
                item.confidence,
                "yes" if item.confident else "no",
                "yes" if item.gold else "",
            )
    table.title = f"task {task_id}: {count} items (result {outcome.result_cid})"
    if outcome.assignment is not None:  # a seated task: say what its lapsed seats left short
        dealt = outcome.assignment
        table.caption = (
            f"{dealt.short_items} of {dealt.items} items got fewer than {dealt.redundancy} "
            f"labels ({dealt.claimed} of {dealt.seats} seats claimed; seed from "
            f"{dealt.seed_source})"
        )
    return table, count - table.row_count


def export(
    task_id: TaskArg,
    out: Annotated[Path, typer.Option("--out", help="file (or directory for hf) to write")],
    data_dir: DataDirOpt,
    format: Annotated[str, typer.Option("--format", help="jsonl, csv, labelstudio, hf")] = "jsonl",
    label_config: LabelConfigOpt = None,
    peer: PeerOpt = None,
    devnet: DevnetOpt = None,
    rpc_url: RpcOpt = None,
    deployment: DeploymentOpt = None,
    keystore: KeystoreOpt = None,
    password_file: PasswordFileOpt = None,
    account: AccountOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Export a finalized task's results as JSONL, CSV, Label Studio JSON or a HF dataset.

    Label Studio: the consensus and each annotator's label are annotations, under the names
    of the project the task was imported from (or --label-config's); the label config to
    create or check the project with is written beside the file as NAME.label_config.xml.
    """
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    with errors():
        if format not in ("jsonl", "csv", "labelstudio", "hf"):
            raise CliError(f"unknown export format {format!r}", "use jsonl, csv, labelstudio or hf")
        config = read_label_config(label_config)
        client = requester_client(options, data_dir, peer, signer=False)
        try:
            with working("fetching the result", quiet=json_output):
                written = client.export(task_id, out, format, label_config=config)  # type: ignore[arg-type]
        finally:
            client.close()
    if json_output:
        emit_json({"task_id": task_id, "format": format, "path": str(written)})
    else:
        typer.echo(f"task {task_id} exported to {written} ({format})")
