"""Deploying labelnet to an existing EVM network and writing the deployment file.

``labelnet devnet up`` deploys to a chain it has just started and trusts; this is for a
chain someone else runs (a testnet, a shared Hardhat or anvil node). So it checks more: the
endpoint must serve the chain id the operator names, the deployer must hold ETH, and the
deployment file is written only once the last transaction has ``confirmations`` blocks on
top and every contract still has code — a deployment that a reorganisation dropped must not
end up in a file that nodes then trust. The file is the one nodes and the CLI already read
(:class:`~node.chain.contracts.Deployment`: chain id, addresses and ``start_block``, the
deployment's first block, where event scans start).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from web3 import Web3
from web3.exceptions import Web3Exception

from client.sdk.errors import SdkError
from client.sdk.network import RPC_TIMEOUT, NetworkError
from node.app.chain import write_deployment
from node.chain.contracts import DeployConfig, Deployment, deploy
from node.chain.tx import TxSender
from node.keys import load_keystore

Step = Callable[[str], None]


class DeployError(SdkError, RuntimeError):
    """The deployment was refused before it started, or did not reach its confirmations."""


class ChainIdMismatchError(DeployError, ValueError):
    """The RPC endpoint serves another chain than the operator named."""


def deploy_network(
    rpc_url: str,
    keystore: Path,
    password: str,
    out: Path,
    *,
    config: DeployConfig | None = None,
    chain_id: int | None = None,
    confirmations: int = 1,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    step: Step | None = None,
) -> Deployment:
    """Deploy the contracts to ``rpc_url`` as the keystore's account; write ``out``.

    ``chain_id``, if given, must be what the endpoint reports. Returns the deployment once
    the last transaction has ``confirmations`` blocks (itself included) and every contract
    still has code; ``timeout`` bounds that wait.
    """
    if confirmations < 1:
        raise DeployError(f"confirmations must be at least 1, not {confirmations}")
    report = step or (lambda _message: None)
    account = load_keystore(keystore, password)
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))
    try:
        served = int(w3.eth.chain_id)
        balance = int(w3.eth.get_balance(account.address))
    except (Web3Exception, OSError, ValueError) as exc:
        raise NetworkError(f"cannot reach the chain at {rpc_url} ({exc})") from exc
    if chain_id is not None and served != chain_id:
        raise ChainIdMismatchError(f"{rpc_url} serves chain {served}, not chain {chain_id}")
    if balance == 0:
        raise DeployError(f"the deployer {account.address} holds no ETH on chain {served}")
    report(f"deploying to chain {served} as {account.address}")
    deployment = deploy(TxSender(w3, account), config)
    report(f"waiting for {confirmations} confirmation(s)")
    wait_confirmations(w3, deployment, confirmations, timeout, poll_interval)
    write_deployment(out, deployment)
    return deployment


def wait_confirmations(
    w3: Web3, deployment: Deployment, confirmations: int, timeout: float, poll_interval: float
) -> None:
    """Wait until the newest block seen after deploying is ``confirmations`` deep.

    The head at the start is at or after the deployment's last transaction (its receipt
    was in hand), so counting from it never waits too little. The contracts must still
    have code afterwards: a reorganisation could have dropped them.
    """
    target = int(w3.eth.block_number) + confirmations - 1
    deadline = time.monotonic() + timeout
    while int(w3.eth.block_number) < target:
        if time.monotonic() > deadline:
            raise DeployError(
                f"block {target} did not arrive within {timeout}s: is the chain mining?"
            )
        time.sleep(poll_interval)
    for name in ("token", "staking", "market", "registry", "qualifications"):
        address = getattr(deployment, name)
        if address is not None and not w3.eth.get_code(address):
            raise DeployError(f"the {name} contract at {address} has no code any more (reorg?)")
