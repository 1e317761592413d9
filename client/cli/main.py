"""The ``labelnet`` command line.

Commands: ``devnet``, ``deploy`` (to an existing network), ``wallet``, ``task`` (requesters),
``node``, ``stake``/``unstake``/``withdraw`` (validators), ``claim`` (annotators),
``reputation``, ``demo``, ``version``. Each is a thin layer over :mod:`client.sdk`; errors
print one line with the fix instead of a traceback.
"""

from __future__ import annotations

import json
from importlib.metadata import version as package_version

import typer

from client.cli import staking
from client.cli.demo import demo
from client.cli.deploy import deploy
from client.cli.devnet import app as devnet_app
from client.cli.node import app as node_app
from client.cli.reputation import reputation
from client.cli.tasks import app as task_app
from client.cli.wallet import app as wallet_app
from node.chain.artifacts import ARTIFACT_NAMES, ARTIFACTS_DIR, MANIFEST_NAME, load_artifact

app = typer.Typer(
    help="labelnet: decentralized data annotation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(devnet_app, name="devnet")
app.add_typer(wallet_app, name="wallet")
app.add_typer(task_app, name="task")
app.add_typer(node_app, name="node")
staking.register(app)
app.command()(demo)
app.command()(deploy)
app.command()(reputation)


@app.callback()
def main() -> None:
    """labelnet: decentralized data annotation."""


@app.command()
def version() -> None:
    """Print the labelnet version and the fingerprint of the bundled contracts."""
    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    typer.echo(f"labelnet {package_version('labelnet')}")
    typer.echo(f"contracts {', '.join(ARTIFACT_NAMES)} (sources {manifest['sources_sha256'][:12]})")
    for name in ARTIFACT_NAMES:
        size = (len(load_artifact(name).bytecode) - 2) // 2
        typer.echo(f"  {name}: {size:,} bytes of creation code")


if __name__ == "__main__":
    app()
