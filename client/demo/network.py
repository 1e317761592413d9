"""Node processes of a demo network: one ``labelnet node start`` per participant.

Every node is a separate OS process with its own data directory, database, embedded
content store and API/gateway port, exactly as users run it; nodes find each other's
gateways through the chain's node registry (the requester's gateway is also given as a
peer, so annotators can fetch the task before the registry scan reaches it). Processes are
started together and waited for by polling ``/readyz``, and stopped with SIGTERM (then
SIGKILL) when the demo ends, whatever way it ends.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from node.errors import LabelnetError

READY_TIMEOUT = 120.0
PORT_RANGE = (20_000, 32_000)
"""Where node ports are picked: below Linux's ephemeral range (32768-60999), so no outgoing
connection of any process can take a port between picking it and the node binding it."""
STOP_TIMEOUT = 20.0


class NodeProcessError(LabelnetError, RuntimeError):
    """A demo node exited or never became ready."""


@dataclass
class NodeProcess:
    """One participant's node: its name, role, data directory, settings and process."""

    name: str
    role: str
    data_dir: Path
    settings: dict[str, str]
    port: int = field(default_factory=lambda: pick_port())
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"

    def token(self) -> str:
        return (self.data_dir / "api-token").read_text().strip()

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **{f"LABELNET_{key.upper()}": value for key, value in self.settings.items()},
            "LABELNET_DATA_DIR": str(self.data_dir),
            "LABELNET_ROLE": self.role,
            "LABELNET_PORT": str(self.port),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "client.cli.main", "node", "start", "--log-level", "info"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise NodeProcessError(
                f"node {self.name} exited with {self.process.returncode}: "
                f"{self.log_tail()} (log: {self.log_path})"
            )

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return "no log"
        return " | ".join(text[-lines:])

    def ready(self, client: httpx.Client) -> bool:
        self.check_alive()
        try:
            return client.get(f"{self.url}/readyz", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL the node (and anything it started): a crash, no chance to clean up."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        """Kill the node, then start it again on the same data directory and port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


_taken: set[int] = set()


def pick_port(rng: random.Random | None = None) -> int:
    """A free TCP port in :data:`PORT_RANGE` not handed out before by this process."""
    rng = rng or random.Random()
    for _ in range(1000):
        port = rng.randrange(*PORT_RANGE)
        if port in _taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise NodeProcessError(f"no free port in {PORT_RANGE}")


def node_settings(
    *,
    rpc_url: str,
    deployment_file: Path,
    keystore: Path,
    password_file: Path,
    peers: Iterable[str] = (),
    interval: float = 0.25,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The settings every demo node shares (as ``LABELNET_*`` environment values)."""
    return {
        "rpc_url": rpc_url,
        "deployment_file": str(deployment_file),
        "keystore": str(keystore),
        "keystore_password_file": str(password_file),
        "peers": json.dumps(list(peers)),
        "allow_private_peers": "true",  # every demo node's gateway is on 127.0.0.1
        "sync_interval": str(interval),
        "duty_interval": str(interval),
        **(extra or {}),
    }


def start_all(nodes: Iterable[NodeProcess], timeout: float = READY_TIMEOUT) -> None:
    """Start every node, then wait until all answer ``/readyz``."""
    pending = list(nodes)
    for node in pending:
        node.start()
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while pending:
            pending = [node for node in pending if not node.ready(client)]
            if pending and time.monotonic() > deadline:
                names = ", ".join(node.name for node in pending)
                raise NodeProcessError(f"nodes not ready after {timeout:.0f}s: {names}")
            if pending:
                time.sleep(0.2)


def stop_all(nodes: Iterable[NodeProcess]) -> None:
    """SIGTERM every node at once, then wait for each (SIGKILL after a timeout)."""
    running = [n for n in nodes if n.process is not None and n.process.poll() is None]
    for node in running:
        assert node.process is not None
        node.process.send_signal(signal.SIGTERM)
    for node in running:
        node.stop()


@contextmanager
def terminated_as_exit() -> Iterator[None]:
    """Turn SIGTERM into :class:`SystemExit` while the network runs, so a demo stopped with
    ``kill`` unwinds through its ``finally`` and stops its node processes and chain (by
    default SIGTERM ends Python at once and leaves them running). Main thread only: signal
    handlers cannot be set elsewhere, and a demo run from another thread keeps the default.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
