"""Connecting a node to its chain: the deployment file, the RPC endpoint, the chain id.

A node that talks to the wrong chain would mirror foreign events and sign transactions
for a network its operator never meant to use, so the chain id is checked three ways:
the settings (if they name one), the deployment file and the RPC endpoint must agree. The
RPC may be down when the node starts; the node still starts (it serves what it has and
``/readyz`` says why it is not ready) and the event sync checks the id on first contact.
"""

from __future__ import annotations

import json
import logging
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception

from node.app.errors import ChainMismatchError, DeploymentError
from node.chain.contracts import Contracts, Deployment, bind
from node.config import NodeSettings
from node.files import write_atomic
from node.protocol.canonical import load_json

log = logging.getLogger(__name__)

DEPLOYMENT_FILENAME = "deployment.json"
PROBE_TIMEOUT = 2.0
"""Seconds a readiness probe waits for the RPC: a probe must answer quickly either way."""


def deployment_path(settings: NodeSettings) -> Path | None:
    """The deployment file to use: the setting, else ``data_dir/deployment.json`` if present."""
    if settings.deployment_file is not None:
        return settings.deployment_file
    default = settings.data_dir / DEPLOYMENT_FILENAME
    return default if default.is_file() else None


def load_deployment(path: Path) -> Deployment:
    """Read the deployment JSON ``labelnet devnet up`` and ``labelnet deploy`` write
    (``chain_id``, the contract addresses, optionally ``start_block``): every field
    :class:`Deployment` declares."""
    try:
        # Depth-checked: web3 lifts the recursion limit, and a file nested a few hundred
        # thousand deep crashed the node or the CLI with SIGSEGV.
        document = load_json(path.read_text().encode())
    except FileNotFoundError as exc:
        raise DeploymentError(
            f"no deployment file at {path}: run `labelnet devnet up` or set deployment_file"
        ) from exc
    except (OSError, ValueError) as exc:  # not JSON, not UTF-8, nested too deep
        raise DeploymentError(f"cannot read deployment file {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise DeploymentError(f"deployment file {path} is not a JSON object")
    values: dict[str, Any] = {}
    missing: list[str] = []
    for spec in fields(Deployment):
        if spec.name not in document:
            if spec.default is MISSING:
                missing.append(spec.name)
            continue
        raw = document[spec.name]
        if raw is None and spec.default is not MISSING:
            continue  # an optional contract this deployment does not have
        try:
            values[spec.name] = int(raw) if spec.type in ("int", int) else _address(raw)
        except (TypeError, ValueError) as exc:
            raise DeploymentError(f"deployment file {path}: bad {spec.name}: {exc}") from exc
    if missing:
        raise DeploymentError(f"deployment file {path} lacks {', '.join(missing)}")
    return Deployment(**values)


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Write the deployment file :func:`load_deployment` reads, atomically: a node started
    meanwhile finds the old file or the new one, never half of one."""
    document = json.dumps(deployment.to_json(), indent=2) + "\n"
    write_atomic(path, document.encode(), mode=0o644)


def _address(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected an address string, got {type(value).__name__}")
    return str(Web3.to_checksum_address(value))


def rpc_chain_id(w3: Web3) -> int | None:
    """The chain id the RPC reports, or None if it does not answer."""
    try:
        return int(w3.eth.chain_id)
    except (Web3Exception, OSError, ValueError) as exc:
        log.warning("RPC %s does not answer (%s): starting anyway", _endpoint(w3), exc)
        return None


def _endpoint(w3: Web3) -> str:
    return str(getattr(w3.provider, "endpoint_uri", "?"))


@dataclass(frozen=True)
class ChainConnection:
    """A web3 client bound to one deployment, and a short-timeout twin for health probes."""

    w3: Web3
    probe: Web3
    deployment: Deployment
    contracts: Contracts

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    def head(self) -> int:
        """The chain's newest block number, asked with the probe's short timeout."""
        return int(self.probe.eth.block_number)


def connect(settings: NodeSettings, deployment: Deployment) -> ChainConnection:
    """Clients for ``settings.rpc_url``; refuses a chain id that disagrees with the deployment."""
    if settings.chain_id is not None and settings.chain_id != deployment.chain_id:
        raise ChainMismatchError(
            f"settings name chain {settings.chain_id} but the deployment is on chain "
            f"{deployment.chain_id}: fix chain_id or deployment_file"
        )
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": settings.rpc_timeout}))
    probe = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": PROBE_TIMEOUT}))
    reported = rpc_chain_id(probe)
    if reported is not None and reported != deployment.chain_id:
        raise ChainMismatchError(
            f"{settings.rpc_url} serves chain {reported} but the deployment is on chain "
            f"{deployment.chain_id}: point rpc_url at the right chain or redeploy"
        )
    return ChainConnection(
        w3=w3, probe=probe, deployment=deployment, contracts=bind(w3, deployment)
    )
