"""The ``labelnet task create`` options of a gated task (docs/qualification.md), turned into
the gate's rule: kept apart from ``tasks.py`` so the command stays readable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from client.cli.common import CliError

if TYPE_CHECKING:
    from node.chain.qualifications import Gate

DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain",
        help="gated task: the reputation domain its labels count in (e.g. radiology); "
        "giving any gate option posts the task through the market's gate",
    ),
]
AllowlistOpt = Annotated[
    Path | None,
    typer.Option("--allowlist", help="gated task: a file of admitted addresses, one a line"),
]
MinAcceptedOpt = Annotated[
    int, typer.Option("--min-accepted", min=0, help="gated task: least accepted labels in --domain")
]
MinAccuracyOpt = Annotated[
    float,
    typer.Option("--min-accuracy", min=0.0, max=1.0, help="gated task: least accuracy in --domain"),
]
QualificationTaskOpt = Annotated[
    int,
    typer.Option("--qualification-task", min=0, help="gated task: a finalized gated task to pass"),
]
QualificationAccuracyOpt = Annotated[
    float,
    typer.Option(
        "--qualification-accuracy",
        min=0.0,
        max=1.0,
        help="gated task: least accuracy on --qualification-task",
    ),
]


def read_allowlist(path: Path) -> list[str]:
    """The addresses of an allowlist file: one a line, blank lines and ``#`` comments skipped."""
    from web3 import Web3

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", "give a file of addresses") from exc
    accounts: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not Web3.is_address(text):
            raise CliError(f"{path}:{number}: {text!r} is not an address", "one 0x address a line")
        accounts.append(Web3.to_checksum_address(text))
    if not accounts:
        raise CliError(f"{path} lists no address", "one 0x address a line")
    return accounts


def gate_from_options(
    domain: str | None,
    allowlist: Path | None,
    min_accepted: int,
    min_accuracy: float,
    qualification_task: int,
    qualification_accuracy: float,
) -> Gate | None:
    """The task's ``Gate``, or None for an ungated task (no gate option given)."""
    from node.chain.qualifications import BPS, Gate, domain_id
    from node.protocol.merkle import Allowlist

    given = (domain, allowlist, min_accepted, min_accuracy, qualification_task)
    if not any(given) and not qualification_accuracy:
        return None
    if bool(qualification_task) != bool(qualification_accuracy):
        raise CliError(
            "a qualification task needs its accuracy, and an accuracy its task",
            "give --qualification-task and --qualification-accuracy together",
        )
    try:
        domain_id(domain or "")
    except ValueError as exc:
        raise CliError(str(exc), "use at most 32 ASCII characters") from exc
    accounts = read_allowlist(allowlist) if allowlist is not None else []
    return Gate(
        domain=domain or "",
        allowlist_root=Allowlist.build(accounts).root if accounts else b"\0" * 32,
        min_accepted=min_accepted,
        min_accuracy_bps=round(min_accuracy * BPS),
        qualification_task_id=qualification_task,
        qualification_accuracy_bps=round(qualification_accuracy * BPS),
        allowlist=tuple(accounts),
    )
