"""A local development chain run as a child process, whatever the engine (anvil, Hardhat).

Used by the tests, the benchmarks, ``labelnet devnet`` and the demo. :class:`DevChain` is
the engine adapter: it starts and stops the process (free port, readiness by polling the
JSON-RPC endpoint, SIGINT → SIGTERM → SIGKILL so no chain outlives a finished test) and
offers the development controls labelnet uses — balances, snapshots, the clock, mining.
The engines (:mod:`node.chain.anvil`, :mod:`node.chain.hardhat`) differ only in their command
line and in the few RPC methods that are not standard ``evm_*`` calls; those names live in
the engine classes and nowhere else. :mod:`node.chain.engines` picks an engine by name or
recognises the one behind an RPC endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from web3 import Web3

from node.chain.rpc import raise_for_error, rpc_request
from node.errors import LabelnetError

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
"""The well-known development mnemonic of anvil and Hardhat. Its keys are public: devnets only."""
REPO_ROOT = Path(__file__).resolve().parents[2]


class DevChainError(LabelnetError, RuntimeError):
    """A development chain is missing, did not start, or refused a development control."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_tool(name: str, env_var: str) -> str:
    """Locate an npm-installed tool: ``$env_var``, the repository's npm install, then PATH."""
    override = os.environ.get(env_var)
    if override:
        return override
    repo_bin = REPO_ROOT / "node_modules" / ".bin" / name
    if repo_bin.exists():
        return str(repo_bin)
    found = shutil.which(name)
    if found:
        return found
    raise DevChainError(
        f"{name} not found: run scripts/setup.sh (its npm install provides it) or set {env_var}"
    )


def rpc_call(
    url: str, method: str, params: list[object] | None = None, timeout: float = 2.0
) -> object:
    """One raw JSON-RPC call, independent of web3 (used while waiting for startup)."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    return raise_for_error(method, reply)


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    engine: str,
    client_prefix: str,
    timeout: float,
    exit_detail: Callable[[], str],
) -> str:
    """Poll ``url`` until the chain answers; return its client version.

    Raises :class:`DevChainError` if the process exits first, if the port is answered by
    something other than ``engine``, or if nothing answers within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevChainError(f"{engine} exited with {process.returncode}: {exit_detail()}")
        try:
            version = rpc_call(url, "web3_clientVersion", timeout=1.0)
        except (OSError, urllib.error.URLError):
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
            continue
        if not isinstance(version, str) or not version.startswith(client_prefix):
            raise DevChainError(f"{url} answers but is not {engine}: {version!r}")
        return version
    raise DevChainError(f"{engine} did not answer on {url} within {timeout}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a child chain: SIGINT, then SIGTERM, then SIGKILL, each given time to work."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 5.0)):
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait(timeout=5.0)


@dataclass
class DevChain:
    """A managed development chain; use as a context manager, or call start()/stop().

    An instance that was never started still controls a chain someone else started on
    ``port`` (the detached devnet), and :meth:`bound` wraps an existing web3 client.
    """

    engine: ClassVar[str] = ""
    """The engine's name, as ``--chain`` spells it and as its process's command line shows."""
    client_prefix: ClassVar[str] = ""
    """How the engine's ``web3_clientVersion`` starts: recognises it behind an endpoint."""
    set_balance_method: ClassVar[str] = ""
    """The engine's own method for setting an account's ETH balance (no standard one exists)."""

    port: int = 0
    chain_id: int = 31337
    accounts: int = 20
    balance_ether: int = 10_000
    mnemonic: str = DEFAULT_MNEMONIC
    block_time: float | None = None
    """Mine a block every this many seconds instead of one per transaction."""
    gas_limit: int | None = None
    startup_timeout: float = 60.0
    extra_args: list[str] = field(default_factory=list)
    client_version: str = field(default="", init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _workdir: Path | None = field(default=None, init=False, repr=False)
    _w3: Web3 | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def w3(self) -> Web3:
        """The web3 client the development controls go through."""
        if self._w3 is None:
            self._w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))
        return self._w3

    @classmethod
    def bound(cls, w3: Web3) -> Self:
        """Controls for a chain of this engine reached through ``w3`` (no process)."""
        chain = cls()
        chain._w3 = w3
        return chain

    # The process ---------------------------------------------------------------------------

    def command(self, workdir: Path) -> list[str]:
        """The engine's command line; it may write files it needs into ``workdir``."""
        raise NotImplementedError

    def cwd(self) -> Path:
        """The directory the engine runs in."""
        return REPO_ROOT

    def env(self) -> dict[str, str]:
        """The engine's environment."""
        return dict(os.environ)

    def start(self) -> Self:
        if self._process is not None:
            raise DevChainError(f"{self.engine} already started")
        if self.port == 0:
            self.port = free_port()
        self._workdir = workdir = Path(tempfile.mkdtemp(prefix=f"labelnet-{self.engine}-"))
        # Errors go to a file, not a pipe: nobody drains a pipe, and a full one would block
        # the chain in the middle of a long test.
        errors = workdir / "stderr.log"
        try:
            with errors.open("wb") as stderr:
                self._process = subprocess.Popen(
                    self.command(workdir),
                    cwd=self.cwd(),
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            self.client_version = wait_ready(
                self.url,
                self._process,
                engine=self.engine,
                client_prefix=self.client_prefix,
                timeout=self.startup_timeout,
                exit_detail=lambda: errors.read_text(errors="replace").strip()[-2000:],
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # The development controls ---------------------------------------------------------------

    def set_balance(self, address: str, wei: int) -> None:
        """Give ``address`` exactly ``wei`` of ETH."""
        rpc_request(self.w3, self.set_balance_method, [address, hex(wei)])

    def snapshot(self) -> str:
        """Snapshot the chain state; :meth:`revert` returns to it (once)."""
        return str(rpc_request(self.w3, "evm_snapshot"))

    def revert(self, snapshot: str) -> None:
        """Return to ``snapshot``; raises if the chain does not know it (any more)."""
        if rpc_request(self.w3, "evm_revert", [snapshot]) is not True:
            raise DevChainError(f"{self.engine} cannot revert to snapshot {snapshot}")

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward by ``seconds`` for the next block."""
        rpc_request(self.w3, "evm_increaseTime", [seconds])

    def set_next_timestamp(self, timestamp: int) -> None:
        """Give the next block this timestamp (later than the latest block's)."""
        rpc_request(self.w3, "evm_setNextBlockTimestamp", [timestamp])

    def mine(self) -> None:
        """Mine one block now."""
        rpc_request(self.w3, "evm_mine")

    def set_automine(self, enabled: bool) -> None:
        """Mine a block per transaction (on), or leave transactions pending (off)."""
        rpc_request(self.w3, "evm_setAutomine", [enabled])
