"""Bringing a devnet up: detached with :func:`devnet_up`, or in-process with :class:`Devnet`.

Both refuse a directory whose devnet still runs, then provision the fresh chain; they differ
only in who owns the chain process (its own session, or this process until ``__exit__``).
Either engine (``anvil``, ``hardhat``) runs the same devnet: the engine adapter
(:class:`~node.chain.devchain.DevChain`) hides how each one is started and controlled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from web3 import Web3

from client.devnet.info import DevnetError, DevnetInfo, pid_file_name
from client.devnet.process import _prepare, _spawn_detached, _stop_pid, _wait_ready
from client.devnet.provision import DEFAULT_ACCOUNTS, DEFAULT_TOKENS, Step, _provision
from node.app.chain import load_deployment
from node.chain.contracts import DeployConfig, Deployment
from node.chain.devchain import DevChain, free_port
from node.chain.engines import DEFAULT_ENGINE, engine_class
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
    engine: str = DEFAULT_ENGINE,
    step: Step | None = None,
) -> DevnetInfo:
    """Start the chain detached (it outlives this process), deploy and provision the accounts.

    ``engine`` is ``anvil`` or ``hardhat``. ``stake`` maps account names to amounts;
    ``None`` stakes ten times the minimum for every account whose name starts with
    ``validator``. ``detach=False`` is :class:`Devnet` without the context manager: use
    :meth:`Devnet.start` for that.
    """
    if not detach:
        raise DevnetError("devnet_up(detach=False): use Devnet.start(...) as a context manager")
    chain = engine_class(engine)(port=port or free_port(), block_time=block_time)
    _prepare(directory)
    report = step or (lambda _message: None)
    report(f"starting {chain.engine}")
    process = _spawn_detached(directory, chain)
    try:
        _wait_ready(directory, chain, process)
        return _provision(
            directory,
            chain,
            accounts=accounts,
            tokens_per_account=tokens_per_account,
            stake=stake,
            deploy_config=deploy_config,
            chain_pid=process.pid,
            step=report,
        )
    except BaseException:
        _stop_pid(process.pid, chain.engine)
        (directory / pid_file_name(chain.engine)).unlink(missing_ok=True)
        raise


class Devnet:
    """An in-process devnet: the chain is a child of this process and stops on ``__exit__``."""

    def __init__(self, info: DevnetInfo, chain: DevChain) -> None:
        self.info = info
        self.chain = chain
        self.w3: Web3 = chain.w3

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
        engine: str = DEFAULT_ENGINE,
        step: Step | None = None,
    ) -> Devnet:
        chain = engine_class(engine)(accounts=2, block_time=block_time)
        _prepare(directory)
        chain.start()
        try:
            info = _provision(
                directory,
                chain,
                accounts=accounts,
                tokens_per_account=tokens_per_account,
                stake=stake,
                deploy_config=deploy_config,
                chain_pid=None,
                step=step or (lambda _message: None),
            )
        except BaseException:
            chain.stop()
            raise
        return cls(info, chain)

    @property
    def deployment(self) -> Deployment:
        return load_deployment(self.info.deployment_file)

    def sender(self, name: str) -> TxSender:
        """A transaction sender for the named account."""
        return TxSender(self.w3, self.info.signer(name))

    def stop(self) -> None:
        self.chain.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
