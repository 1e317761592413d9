"""``labelnet task create|list|show|cancel|results|export``: the requester's commands."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from client.cli.common import (
    AMOUNT_HELP,
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
    format_amount,
    parse_amount,
    parse_duration,
    working,
)
from client.cli.gating import (
    AllowlistOpt,
    DomainOpt,
    MinAcceptedOpt,
    MinAccuracyOpt,
    QualificationAccuracyOpt,
    QualificationTaskOpt,
    gate_from_options,
)

if TYPE_CHECKING:
    from client.sdk.confidential import Confidential
    from client.sdk.requester import RequesterClient
    from node.protocol.annotation import AnnotationParams
    from node.protocol.kinds import TaskKind
    from node.roles.requester import TaskResults

stdout = Console()
app = typer.Typer(help="Post and follow labeling tasks (requester).", no_args_is_help=True)

DEFAULT_REQUESTER = "requester"
DataDirOpt = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="the requester node's data directory (content store and gold secrets)",
    ),
]
TaskArg = Annotated[int, typer.Argument(help="task id", min=1, show_default=False)]
PeerOpt = Annotated[
    list[str] | None, typer.Option("--peer", help="extra gateway URL to fetch results from")
]


def _client(
    options: ChainOptions, data_dir: Path, peers: list[str] | None = None, *, signer: bool = True
) -> RequesterClient:
    """The requester SDK (imported here: it loads the whole stack); ``signer=False`` for
    read-only commands, which need no keystore."""
    from client.sdk.requester import RequesterClient

    network = options.connect(DEFAULT_REQUESTER if signer else None, need_account=signer)
    return RequesterClient(
        network, data_dir, peers=peers or (), allow_private_peers=options.on_devnet
    )


LabelConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--label-config",
        help="the Label Studio project's label config (XML): its control and object names "
        "(and, on create, its choices as classes and its answer column)",
    ),
]


def _read_label_config(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(
            f"cannot read the label config {path}: {exc}",
            "give the XML file from the Label Studio project's Settings > Labeling Interface",
        ) from exc


NO_GOLD_WARNING = (
    "warning: the task has no gold answers. Without gold, a group of annotators who agree "
    "on wrong answers can capture the consensus and its pay (BENCHMARKS.md, Incentives). "
    "Give about one item in ten a known answer with --gold-file or --gold-field."
)


@app.command()
def create(
    items_file: Annotated[
        Path, typer.Argument(help="JSONL, CSV, image folder or Label Studio JSON")
    ],
    reward_per_label: Annotated[str, typer.Option(help=AMOUNT_HELP)],
    validator_fee: Annotated[str, typer.Option(help=AMOUNT_HELP)],
    data_dir: DataDirOpt,
    classes: Annotated[
        str | None, typer.Option(help="comma-separated classes (default: from the file)")
    ] = None,
    redundancy: Annotated[int, typer.Option(min=1, max=65535, help="labels per item")] = 3,
    commit_in: Annotated[str, typer.Option(help="commit window: 90s, 10m, 1h, 2d")] = "1h",
    reveal_in: Annotated[str, typer.Option(help="reveal window after the commit deadline")] = "10m",
    attest_in: Annotated[str, typer.Option(help="attest window after the reveal deadline")] = "10m",
    batch_size: Annotated[
        int,
        typer.Option(
            min=0,
            help="items per seat: post a seated task (each item labelled by at most "
            "--redundancy seat holders, every accepted label paid the rate); 0: an open task",
        ),
    ] = 0,
    seat_in: Annotated[
        str | None,
        typer.Option(
            help="seated tasks: the seat window from now (e.g. 10m); the commit "
            "window must leave the market's minimum labelling time after it"
        ),
    ] = None,
    gold_file: Annotated[
        Path | None, typer.Option(help='gold answers: JSON {item: value} or JSONL {"item","value"}')
    ] = None,
    gold_field: Annotated[
        str | None, typer.Option(help="field of each item holding its gold answer")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="auto, jsonl, csv, images, labelstudio")
    ] = "auto",
    kind: Annotated[
        str,
        typer.Option(help="categorical, multilabel, numeric, boxes, spans, text, pairwise"),
    ] = "categorical",
    annotation: Annotated[
        str | None,
        typer.Option(
            help="boxes, spans, text, pairwise: the manifest's annotation parameters as JSON, "
            'e.g. \'{"iou": "0.6", "max_objects": 50}\' (default: the kind\'s defaults)'
        ),
    ] = None,
    title: Annotated[str | None, typer.Option(help="task title (default: the file name)")] = None,
    instructions_file: Annotated[Path | None, typer.Option(help="markdown instructions")] = None,
    label_config: LabelConfigOpt = None,
    domain: DomainOpt = None,
    allowlist: AllowlistOpt = None,
    min_accepted: MinAcceptedOpt = 0,
    min_accuracy: MinAccuracyOpt = 0.0,
    qualification_task: QualificationTaskOpt = 0,
    qualification_accuracy: QualificationAccuracyOpt = 0.0,
    confidential: Annotated[
        bool,
        typer.Option(
            "--confidential",
            help="seal the items under a task key kept in DATA_DIR (docs/confidential.md): "
            "only seated annotators and the --validators can read them; seated, no gold",
        ),
    ] = False,
    validators: Annotated[
        str | None,
        typer.Option(
            "--validators",
            help="confidential task: the validators it names, ADDR[,ADDR...] (only they can "
            "attest it)",
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
    """Import items, publish the task content to DATA_DIR's store and escrow the bounty.

    Start `labelnet node start --role requester --data-dir DATA_DIR` so annotators can fetch
    the content and the gold is revealed after the commit deadline.
    """
    options = ChainOptions(devnet, rpc_url, deployment, keystore, password_file, account)
    from client.sdk.requester import Timing
    from node.protocol.kinds import TaskKind

    with errors():
        if format not in ("auto", "jsonl", "csv", "images", "labelstudio"):
            raise CliError(
                f"unknown format {format!r}", "use auto, jsonl, csv, images or labelstudio"
            )
        try:
            task_kind = TaskKind(kind)
        except ValueError as exc:
            raise CliError(
                f"unknown kind {kind!r}",
                "use categorical, multilabel, numeric, boxes, spans, text or pairwise",
            ) from exc
        params = _annotation(task_kind, annotation)
        gate = gate_from_options(
            domain,
            allowlist,
            min_accepted,
            min_accuracy,
            qualification_task,
            qualification_accuracy,
        )
        if gate is not None and not batch_size:
            raise CliError("a gated task must be seated", "give --batch-size and --seat-in")
        sealed = _confidential(confidential, validators)
        if batch_size and seat_in is None:
            raise CliError("a seated task needs its seat window", "give --seat-in, e.g. 10m")
        if not batch_size and seat_in is not None:
            raise CliError("--seat-in is for seated tasks", "give --batch-size too")
        timing = Timing(
            parse_duration(commit_in),
            parse_duration(reveal_in),
            parse_duration(attest_in),
            seats_in=parse_duration(seat_in) if seat_in is not None else 0,
        )
        reward = parse_amount(reward_per_label)
        fee = parse_amount(validator_fee, allow_zero=True)
        class_list = tuple(c.strip() for c in (classes or "").split(",") if c.strip())
        instructions = instructions_file.read_text() if instructions_file else ""
        config = _read_label_config(label_config)
        client = _client(options, data_dir)
        try:
            with working("posting the task", quiet=json_output):
                created = client.create_from_file(
                    items_file,
                    title=title or items_file.stem,
                    reward_per_label=reward,
                    redundancy=redundancy,
                    validator_fee=fee,
                    timing=timing,
                    classes=class_list,
                    instructions=instructions,
                    format=format,  # type: ignore[arg-type]  # checked above
                    gold_field=gold_field,
                    gold_file=gold_file,
                    kind=task_kind,
                    label_config=config,
                    batch_size=batch_size,
                    annotation=params,
                    gate=gate,
                    confidential=sealed,
                )
        finally:
            client.close()
    if json_output:
        emit_json({**dataclasses.asdict(created), "escrow": str(created.escrow)})
    else:
        typer.echo(
            f"task {created.task_id} created: escrowed {format_amount(created.escrow)} tokens, "
            f"manifest {created.manifest_cid}, {created.gold_items} gold items"
        )
        if created.batch_size:
            typer.echo(
                f"seated: {created.seats} seats of {created.batch_size} items (the least batch "
                f"for this task is {created.min_batch_size}: with it an annotator of accuracy "
                "0.8 passes the evidence test with probability 0.9)"
            )
    if created.gold_conflicts:
        typer.echo(
            f"{len(created.gold_conflicts)} items were not made gold: their annotators in "
            f"{items_file.name} disagree (e.g. {', '.join(created.gold_conflicts[:5])})",
            err=True,
        )
    if sealed is not None:
        typer.echo(
            f"confidential: task key kept in {data_dir}; start `labelnet node start --role "
            f"requester --data-dir {data_dir}` so it is wrapped to the named validators and "
            "each annotator that claims a seat",
            err=True,
        )
    elif created.gold_items == 0:
        typer.echo(NO_GOLD_WARNING, err=True)


def _confidential(confidential: bool, validators: str | None) -> Confidential | None:
    """The SDK's :class:`Confidential` from ``--confidential --validators``, or None."""
    from client.sdk.confidential import Confidential

    if validators is not None and not confidential:
        raise CliError("--validators is for confidential tasks", "give --confidential too")
    if not confidential:
        return None
    named = tuple(v.strip() for v in (validators or "").split(",") if v.strip())
    if not named:
        raise CliError(
            "a confidential task names its validators",
            "give --validators ADDR[,ADDR...] (only they can read and attest it)",
        )
    return Confidential(named)


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


@app.command()
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
        client = _client(options, data_dir, peer, signer=False)
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
    return table, count - table.row_count


@app.command()
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
        config = _read_label_config(label_config)
        client = _client(options, data_dir, peer, signer=False)
        try:
            with working("fetching the result", quiet=json_output):
                written = client.export(task_id, out, format, label_config=config)  # type: ignore[arg-type]
        finally:
            client.close()
    if json_output:
        emit_json({"task_id": task_id, "format": format, "path": str(written)})
    else:
        typer.echo(f"task {task_id} exported to {written} ({format})")


def _annotation(kind: TaskKind, text: str | None) -> AnnotationParams | None:
    """``--annotation`` as the kind's parameters (its rule is the kind's: not given)."""
    from node.protocol.annotation import RULES, AnnotationParams
    from node.protocol.errors import InvalidParameterError

    if text is None:
        return None
    if kind not in RULES:
        raise CliError(f"a {kind} task has no annotation parameters", "drop --annotation")
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise TypeError("not an object")
        # The manifest's own parser: keys a kind does not use are refused, not ignored.
        merged = {**AnnotationParams(kind).document(), **fields, "rule": RULES[kind]}
        if merged.get("span_match") == "exact" and "iou" not in fields:
            merged.pop("iou", None)  # the default's, which exact matching does not state
        return AnnotationParams.from_document(kind, merged)
    except (ValueError, TypeError, InvalidParameterError) as exc:
        raise CliError(
            f"--annotation: {exc}", 'give a JSON object, e.g. \'{"iou": "0.6"}\''
        ) from exc
