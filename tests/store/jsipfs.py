"""A real Kubo-RPC-compatible daemon for the KuboStore tests: js-ipfs, offline, on loopback.

Kubo cannot be installed on these machines (its npm package downloads the binary at
install time); js-ipfs (npm ``ipfs``) is a real IPFS implementation whose HTTP RPC API
follows Kubo's, and it runs on the repository's Node 22. It is started fully offline: no
libp2p, no bootstrap or delegate peers, and no preload (js-ipfs otherwise POSTs every added
CID to public preload nodes). The API listens on port 0 and the daemon prints the port it
got, so there is no free-port race; readiness is its "Daemon is ready" line.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.node22 import REPO_ROOT, node22_binary

JSIPFS = Path(os.environ.get("LABELNET_JSIPFS", REPO_ROOT / "node_modules" / ".bin" / "jsipfs"))
"""The repository's js-ipfs CLI; ``LABELNET_JSIPFS`` points at one installed elsewhere."""
PACKAGE = '"ipfs": "0.66.1"'
_API_LINE = re.compile(r"HTTP API listening on (/ip4/127\.0\.0\.1/tcp/\d+/http)")


def jsipfs_binary() -> Path:
    """The repository's js-ipfs CLI, or a test failure saying how to get it."""
    if not JSIPFS.exists():
        pytest.fail(
            f"js-ipfs not found at {JSIPFS}: add {PACKAGE} to package.json devDependencies "
            "and run scripts/setup.sh (npm ci)",
            pytrace=False,
        )
    return JSIPFS


OFFLINE_CONFIG = {
    "Addresses": {
        "API": "/ip4/127.0.0.1/tcp/0",
        "Gateway": "",
        "RPC": "",
        "Swarm": [],
        "Delegates": [],
    },
    "Bootstrap": [],
    "Discovery": {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}},
}
"""Merged into the default config when the daemon creates its repo: API on any free
loopback port, no gateway, no swarm listeners, no peers to dial or ask."""


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    """Forward the daemon's output lines (draining the pipe so it never blocks)."""
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


@contextmanager
def jsipfs_daemon(repo: Path, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Run a js-ipfs daemon offline with a new repo at ``repo``; yield its API multiaddr."""
    binary = jsipfs_binary()
    env = {
        **os.environ,
        "IPFS_PATH": str(repo),
        # The CLI's shebang runs `node` from PATH; js-ipfs needs Node 22's built-ins.
        "PATH": f"{node22_binary().parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    config = repo.parent / f"{repo.name}-config.json"
    config.write_text(json.dumps(OFFLINE_CONFIG))
    # One process: the daemon creates the repo with that config, then serves (an extra
    # `jsipfs init` would load js-ipfs twice, which costs seconds).
    daemon = subprocess.Popen(
        [
            str(binary),
            "daemon",
            "--offline",
            "--enable-preload=false",
            "--init-config",
            str(config),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(daemon.stdout, lines), daemon=True).start()
    try:
        yield _wait_for_api(lines, startup_timeout)
    finally:
        daemon.terminate()  # SIGTERM: js-ipfs shuts down cleanly and releases the repo lock
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=5)


def _wait_for_api(lines: queue.Queue[str | None], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    output: list[str] = []
    api: str | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            pytest.fail("jsipfs daemon exited:\n" + "".join(output), pytrace=False)
        output.append(line)
        if match := _API_LINE.search(line):
            api = match.group(1)
        if "Daemon is ready" in line and api is not None:
            return api
    pytest.fail(f"jsipfs daemon not ready after {timeout} s:\n" + "".join(output), pytrace=False)
