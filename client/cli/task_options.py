"""What the ``labelnet task`` commands share: their common options and the requester SDK.

:mod:`client.cli.tasks` is the command group; ``create`` is :mod:`client.cli.task_create`,
``results`` and ``export`` :mod:`client.cli.task_results`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from client.cli.common import ChainOptions, CliError

if TYPE_CHECKING:
    from client.sdk.requester import RequesterClient

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


def requester_client(
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


def read_label_config(path: Path | None) -> str | None:
    """The ``--label-config`` file's XML (None if not given): one reader for ``create`` and
    ``export``, so both refuse an unreadable file with the same advice."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(
            f"cannot read the label config {path}: {exc}",
            "give the XML file from the Label Studio project's Settings > Labeling Interface",
        ) from exc
