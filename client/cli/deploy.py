"""``labelnet deploy``: the contracts on an existing EVM network, and its deployment file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from client.cli.common import (
    AMOUNT_HELP,
    CliError,
    JsonOpt,
    PasswordFileOpt,
    emit_json,
    errors,
    parse_amount,
    parse_duration,
    read_password,
    working,
)


def deploy(
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="JSON-RPC URL of the network")],
    keystore: Annotated[
        Path, typer.Option("--keystore", help="V3 keystore of the deployer (it pays the gas)")
    ],
    password_file: PasswordFileOpt = None,
    out: Annotated[Path, typer.Option("--out", help="where to write the deployment file")] = Path(
        "deployment.json"
    ),
    chain_id: Annotated[
        int | None, typer.Option("--chain-id", help="refuse unless the RPC serves this chain")
    ] = None,
    confirmations: Annotated[
        int, typer.Option(min=1, help="blocks on top of the last transaction, itself included")
    ] = 1,
    timeout: Annotated[
        float, typer.Option(min=1, help="seconds to wait for the confirmations")
    ] = 600.0,
    min_stake: Annotated[
        str | None, typer.Option(help=f"least validator stake. {AMOUNT_HELP}")
    ] = None,
    unbonding_delay: Annotated[
        str | None, typer.Option(help="how long unstaked tokens stay locked (e.g. 7d)")
    ] = None,
    min_attestations: Annotated[
        int | None, typer.Option(min=1, help="validator attestations a result needs")
    ] = None,
    quorum_bps: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="share of all stake a result needs, in bps"),
    ] = None,
    min_label_time: Annotated[
        str | None,
        typer.Option(
            help="least time a seated task leaves from its seat deadline to its commit "
            "deadline, to label the items dealt (e.g. 1h, the contracts' default)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing deployment file")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Deploy token, staking, market and registry to a running network.

    Protocol parameters not given keep the contracts' defaults. The deployer's keystore
    password comes from --password-file or a prompt. The deployment file (chain id,
    addresses, first block) is written once the deployment has its confirmations; nodes
    read it as deployment_file, the CLI as --deployment.
    """
    # Imported here: only this command needs the deployment code (see client.cli.common).
    from client.sdk.deploy import deploy_network
    from node.chain.contracts import DeployConfig

    with errors():
        if out.exists() and not force:
            raise CliError(
                f"{out} already exists", "choose another --out, or pass --force to replace it"
            )
        given = {
            "min_stake": None if min_stake is None else parse_amount(min_stake),
            "unbonding_delay": None if unbonding_delay is None else parse_duration(unbonding_delay),
            "min_attestations": min_attestations,
            "quorum_bps": quorum_bps,
            "min_label_time": None if min_label_time is None else parse_duration(min_label_time),
        }
        config = DeployConfig(**{k: v for k, v in given.items() if v is not None})
        password = read_password(password_file)
        with working("deploying", quiet=json_output) as step:
            deployment = deploy_network(
                rpc_url,
                keystore,
                password,
                out,
                config=config,
                chain_id=chain_id,
                confirmations=confirmations,
                timeout=timeout,
                step=step,
            )
    if json_output:
        emit_json({**deployment.to_json(), "deployment_file": str(out)})
        return
    typer.echo(f"deployed to chain {deployment.chain_id} from block {deployment.start_block}")
    for name in ("token", "staking", "market", "registry"):
        typer.echo(f"  {name}: {getattr(deployment, name)}")
    typer.echo(f"deployment: {out}")
