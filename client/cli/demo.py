"""``labelnet demo``: a whole network on a devnet replaying real crowd answers (client.demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from client.cli.common import EngineOpt, JsonOpt, engine_name, errors


def demo(
    dataset: Annotated[str, typer.Option(help="dataset of crowd answers to replay")] = (
        "zheng_d_product"
    ),
    items: Annotated[int, typer.Option(min=1, help="items to label")] = 300,
    annotators: Annotated[int, typer.Option(min=1, help="annotator nodes")] = 10,
    out: Annotated[Path, typer.Option(help="directory for the report")] = Path("demo-output"),
    seated: Annotated[
        bool,
        typer.Option(
            help="post a seated task (seats, dealt items, exactly the rate per accepted label); "
            "--no-seated posts an open task under v1's rules"
        ),
    ] = True,
    redundancy: Annotated[
        int | None, typer.Option(min=1, help="labels per item (default: one per labelling node)")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="items per seat (default: every item)")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="boxes, spans, text or pairwise: a synthetic crowd of that label kind on an "
            "open task (seated tasks are categorical only) instead of a replayed data set"
        ),
    ] = None,
    confidential: Annotated[
        bool,
        typer.Option(
            help="post a confidential task: item pages sealed under a task key wrapped to the "
            "seated annotators and the validators it names; batches sealed; no gold"
        ),
    ] = False,
    reviewers: Annotated[
        str,
        typer.Option(
            help="a review round: comma-separated reviewing validators, each judge[:<accuracy>], "
            "lazy or careless (e.g. judge:0.95,lazy,careless); empty: no review"
        ),
    ] = "",
    qualified: Annotated[
        bool,
        typer.Option(
            help="run a gold-only qualification task first and gate the main task on it "
            "(simulated workers of chosen accuracies); the report says who was admitted and why"
        ),
    ] = False,
    chain: EngineOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Run the end-to-end demo on a fresh devnet and write its report."""
    # Imported here: the demo pulls in the whole node stack, which no other command needs.
    from client.demo.runner import DemoError, DemoOptions, run_demo
    from node.protocol.annotation import RULES
    from node.protocol.kinds import TaskKind

    with errors():
        if confidential and (kind is not None or not seated):
            raise DemoError("--confidential posts a seated categorical task (no --kind)")
        if qualified and (kind is not None or not seated):
            raise DemoError("--qualified posts seated categorical tasks (no --kind)")
        if reviewers.strip() and (confidential or qualified or kind is not None):
            # docs/confidential.md §8: no review round reads sealed batches yet.
            raise DemoError("--reviewers runs on a replayed data set's task only")
        if kind is not None and kind not in RULES:
            raise DemoError(f"--kind takes one of {', '.join(map(str, RULES))}, not {kind!r}")
        report = run_demo(
            DemoOptions(
                dataset=dataset,
                items=items,
                annotators=annotators,
                out=out,
                json=json_output,
                chain=engine_name(chain),
                seated=seated,
                redundancy=redundancy,
                batch_size=batch_size,
                kind=None if kind is None else TaskKind(kind),
                confidential=confidential,
                reviewers=tuple(r.strip() for r in reviewers.split(",") if r.strip()),
                validators=max(3, len([r for r in reviewers.split(",") if r.strip()]) + 1),
                qualified=qualified,
            )
        )
    if not json_output:  # with --json the runner printed the summary, report path included
        typer.echo(f"demo report: {report}")
