"""``labelnet task create``: post a task (its items, gold, kind, gate and sealing options).

Registered on the command group by :mod:`client.cli.tasks`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
from client.cli.task_options import (
    DataDirOpt,
    LabelConfigOpt,
    read_label_config,
    requester_client,
)

if TYPE_CHECKING:
    from client.sdk.confidential import Confidential
    from node.protocol.annotation import AnnotationParams
    from node.protocol.kinds import TaskKind


NO_GOLD_WARNING = (
    "warning: the task has no gold answers. Without gold, a group of annotators who agree "
    "on wrong answers can capture the consensus and its pay (BENCHMARKS.md, Incentives). "
    "Give about one item in ten a known answer with --gold-file or --gold-field."
)


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
        config = read_label_config(label_config)
        client = requester_client(options, data_dir)
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
