"""``labelnet node start``: run a node (API, gateway, chain sync and role duties) in-process.

One uvicorn worker serves the app: the node's background threads and its SQLite writer
belong to one process. SIGTERM and SIGINT stop it gracefully (requests in flight finish,
the lifespan stops the threads and closes the database) and the command exits 0. Anything
that keeps the node from starting is one line on stderr naming the fix, never a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from node.config import NodeSettings, Role, SettingsFileError, load_settings
from node.errors import LabelnetError

app = typer.Typer(help="Run a labelnet node.", no_args_is_help=True)

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def _fail(message: str, code: int = EXIT_CONFIG) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(config: Path | None, overrides: dict[str, Any]) -> NodeSettings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        raise _fail(f"invalid settings: {problems}") from exc
    except (FileNotFoundError, SettingsFileError) as exc:
        raise _fail(str(exc)) from exc


def _devnet_overrides(directory: Path | None, account: str) -> dict[str, Any]:
    """Settings that make the node act as ``account`` of a devnet."""
    from client.cli.common import ChainOptions
    from client.devnet import DevnetError, DevnetInfo

    try:
        info = DevnetInfo.load(ChainOptions(devnet=directory).devnet_dir())
        keystore = info.account(account).keystore
    except DevnetError as exc:
        raise _fail(
            f"{exc} — start one with `labelnet devnet up` or fix --devnet/--account"
        ) from exc
    return {
        "rpc_url": info.rpc_url,
        "chain_id": info.chain_id,
        "deployment_file": info.deployment_file,
        "keystore": keystore,
        "keystore_password_file": info.password_file,
        "allow_private_peers": True,  # a devnet's nodes announce gateways on loopback
    }


@app.command()
def start(
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file", dir_okay=False)
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="data directory")] = None,
    role: Annotated[str | None, typer.Option(help="annotator, validator, requester, gateway")] = (
        None
    ),
    host: Annotated[str | None, typer.Option(help="address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind (default 7420)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    account: Annotated[
        str | None,
        typer.Option(
            help="run as this devnet account: rpc, deployment, keystore and password from "
            "the devnet (--devnet)"
        ),
    ] = None,
    devnet: Annotated[
        Path | None,
        typer.Option(help="devnet directory for --account [env LABELNET_DEVNET]"),
    ] = None,
) -> None:
    """Start a node and serve until SIGTERM or Ctrl-C."""
    role_value: Role | None = role  # type: ignore[assignment]  # validated by the settings
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "role": role_value,
        "host": host,
        "port": port,
    }
    if account is not None:
        overrides.update(_devnet_overrides(devnet, account))
    settings = _settings(config, overrides)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported here: `labelnet version` and the other commands need no web stack.
    import uvicorn

    from node.api.app import create_app
    from node.api.server import server_config

    try:
        application = create_app(settings)
    except LabelnetError as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot open the node's files: {exc}") from exc
    services = application.state.services
    base = f"http://{settings.host}:{settings.port}"
    token_file = settings.data_dir / "api-token"
    # The token opens the node's API: put it in the page link only for a person at a
    # terminal, never into a log file or a service manager's journal.
    page = f"{base}/ui/#token={services.api_token}" if sys.stdout.isatty() else f"{base}/ui/"
    typer.echo(
        f"labelnet node ({settings.role}, account {services.annotator or 'none: read-only'}) "
        f"on {base}; API token in {token_file}\nlabeling page: {page}"
    )
    # Header and body timeouts and a connection cap (node.api.server): a client that
    # stalls mid-request cannot hold the node's descriptors.
    server = uvicorn.Server(server_config(application, settings, log_level))
    _absorb_stop_signals()
    server.run()
    if not server.started:
        services.close()
        raise _fail("the node did not start (see the log above)", EXIT_STARTUP)
    typer.echo("labelnet node stopped")


def _absorb_stop_signals() -> None:
    """Make SIGTERM/SIGINT harmless once uvicorn has handled them.

    uvicorn shuts down gracefully on these signals, then restores the previous handlers and
    raises the signal again; with the default handlers a clean stop would end as "killed
    by SIGTERM" (or a KeyboardInterrupt traceback). With these, the command exits 0.
    """

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        return None

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, ignore)
