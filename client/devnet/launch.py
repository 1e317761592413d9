"""Bringing a devnet up: detached with :func:`devnet_up`, or in-process with :class:`Devnet`.

Both refuse a directory whose devnet still runs, then provision the fresh chain; they differ
only in who owns anvil (its own session, or this process until ``__exit__``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from web3 import Web3

from client.devnet.info import PID_FILE, DevnetError, DevnetInfo
from client.devnet.process import _prepare, _spawn_detached, _stop_pid, _wait_ready
from client.devnet.provision import DEFAULT_ACCOUNTS, DEFAULT_TOKENS, Step, _provision
from node.app.chain import load_deployment
from node.chain.anvil import Anvil, free_port
from node.chain.contracts import DeployConfig, Deployment
from node.chain.tx import TxSender


def devnet_up(
    directory: Path,
    *,
    accounts: Sequence[str] = DEFAULT_ACCOUNTS,
    port: int | None = None,
    tokens_per_account: int = DEFAULT_TOKENS,
    stake: Mapping[str, int] | None = None,
    detach: bool = True,
    deploy_config: DeployConfig | None = None,
    block_time: float | None = None,
    step: Step | None = None,
) -> DevnetInfo:
    """Start anvil detached (it outlives this process), deploy and provision the accounts.

    ``stake`` maps account names to amounts; ``None`` stakes ten times the minimum for every
    account whose name starts with ``validator``. ``detach=False`` is :class:`Devnet` without
    the context manager: use :meth:`Devnet.start` for that.
    """
    if not detach:
        raise DevnetError("devnet_up(detach=False): use Devnet.start(...) as a context manager")
    _prepare(directory)
    report = step or (lambda _message: None)
    report("starting anvil")
    chosen = port or free_port()
    process = _spawn_detached(directory, chosen, block_time)
    rpc_url = f"http://127.0.0.1:{chosen}"
    try:
        _wait_ready(rpc_url, process)
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        return _provision(
            directory,
            w3,
            accounts=accounts,
            tokens_per_account=tokens_per_account,
            stake=stake,
            deploy_config=deploy_config,
            rpc_url=rpc_url,
            anvil_pid=process.pid,
            step=report,
        )
    except BaseException:
        _stop_pid(process.pid)
        (directory / PID_FILE).unlink(missing_ok=True)
        raise


class Devnet:
    """An in-process devnet: anvil is a child of this process and stops on ``__exit__``."""

    def __init__(self, info: DevnetInfo, w3: Web3, anvil: Anvil) -> None:
        self.info = info
        self.w3 = w3
        self.anvil = anvil

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        accounts: Sequence[str] = DEFAULT_ACCOUNTS,
        stake: Mapping[str, int] | None = None,
        tokens_per_account: int = DEFAULT_TOKENS,
        deploy_config: DeployConfig | None = None,
        block_time: float | None = None,
        step: Step | None = None,
    ) -> Devnet:
        _prepare(directory)
        anvil = Anvil(accounts=2, block_time=block_time).start()
        try:
            w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
            info = _provision(
                directory,
                w3,
                accounts=accounts,
                tokens_per_account=tokens_per_account,
                stake=stake,
                deploy_config=deploy_config,
                rpc_url=anvil.url,
                anvil_pid=None,
                step=step or (lambda _message: None),
            )
        except BaseException:
            anvil.stop()
            raise
        return cls(info, w3, anvil)

    @property
    def deployment(self) -> Deployment:
        return load_deployment(self.info.deployment_file)

    def sender(self, name: str) -> TxSender:
        """A transaction sender for the named account."""
        return TxSender(self.w3, self.info.signer(name))

    def stop(self) -> None:
        self.anvil.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
