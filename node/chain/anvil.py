"""Run a local anvil chain as a child process.

Used by the tests, the benchmarks and ``labelnet devnet``. The binary comes from the npm
install (``@foundry-rs/anvil``); ``LABELNET_ANVIL`` overrides it. Readiness is detected by
polling the JSON-RPC endpoint, and shutdown escalates SIGINT → SIGTERM → SIGKILL so no
chain is ever left running behind a finished test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from node.errors import LabelnetError

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
"""Anvil's well-known development mnemonic. Its keys are public: devnets only."""


class AnvilError(LabelnetError, RuntimeError):
    """anvil is missing, did not start, or did not answer in time."""


def find_anvil() -> str:
    """Locate the anvil binary: $LABELNET_ANVIL, the repository's npm install, then PATH."""
    override = os.environ.get("LABELNET_ANVIL")
    if override:
        return override
    repo_bin = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"
    if repo_bin.exists():
        return str(repo_bin)
    found = shutil.which("anvil")
    if found:
        return found
    raise AnvilError(
        "anvil not found: run scripts/setup.sh (npm ci installs it) or set LABELNET_ANVIL"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    if "error" in reply:
        raise AnvilError(f"{method} failed: {reply['error']}")
    return reply["result"]


@dataclass
class Anvil:
    """A managed anvil process. Use as a context manager, or call start()/stop()."""

    port: int = 0
    chain_id: int = 31337
    accounts: int = 20
    balance_ether: int = 10_000
    mnemonic: str = DEFAULT_MNEMONIC
    block_time: float | None = None
    gas_limit: int | None = None
    state_path: Path | None = None
    startup_timeout: float = 30.0
    extra_args: list[str] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    client_version: str = field(default="", init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Anvil:
        if self._process is not None:
            raise AnvilError("anvil already started")
        if self.port == 0:
            self.port = free_port()
        args = [
            find_anvil(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_ether),
            "--mnemonic", self.mnemonic,
        ]  # fmt: skip
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        if self.gas_limit is not None:
            args += ["--gas-limit", str(self.gas_limit)]
        if self.state_path is not None:
            args += ["--state", str(self.state_path)]
        args += self.extra_args
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.01
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise AnvilError(f"anvil exited with {self._process.returncode}: {stderr.strip()}")
            try:
                version = rpc_call(self.url, "web3_clientVersion", timeout=1.0)
            except (OSError, urllib.error.URLError):
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            if not isinstance(version, str) or not version.startswith("anvil/"):
                raise AnvilError(f"port {self.port} answers but is not anvil: {version!r}")
            self.client_version = version
            return
        raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout}s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
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

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
