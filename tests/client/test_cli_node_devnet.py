"""``labelnet node start --account NAME`` runs a node as a devnet account."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from client.devnet import DevnetInfo
from node.chain.anvil import free_port
from tests.client.conftest import assert_one_line_error, run

LABELNET = str(Path(sys.executable).parent / "labelnet")


def test_node_runs_as_a_devnet_account(session_devnet: Path, tmp_path: Path) -> None:
    port = free_port()
    address = DevnetInfo.load(session_devnet).account("annotator-1").address
    process = subprocess.Popen(
        [
            LABELNET, "node", "start", "--devnet", str(session_devnet), "--account", "annotator-1",
            "--data-dir", str(tmp_path / "node"), "--port", str(port), "--log-level", "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the node did not answer /healthz")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert f"account {address}" in stdout


def test_node_start_with_an_unknown_devnet_account(session_devnet: Path) -> None:
    result = run("node", "start", "--devnet", str(session_devnet), "--account", "nobody")
    assert_one_line_error(result, "no account 'nobody'")
