"""``labelnet node start --account NAME`` runs a node as a devnet account, on either engine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from client.devnet import DevnetInfo, devnet_running
from node.chain.anvil import free_port
from tests.client.conftest import assert_one_line_error, run

LABELNET = str(Path(sys.executable).parent / "labelnet")


def _run_node(devnet: Path, account: str, data_dir: Path) -> tuple[int, str, str]:
    """Start ``labelnet node start --devnet --account``, wait for /healthz, SIGTERM it."""
    port = free_port()
    process = subprocess.Popen(
        [
            LABELNET, "node", "start", "--devnet", str(devnet), "--account", account,
            "--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning",
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
    return process.returncode, stdout, stderr


def test_node_runs_as_a_devnet_account(session_devnet: Path, tmp_path: Path) -> None:
    address = DevnetInfo.load(session_devnet).account("annotator-1").address
    returncode, stdout, stderr = _run_node(session_devnet, "annotator-1", tmp_path / "node")
    assert returncode == 0, stderr
    assert f"account {address}" in stdout


def test_cli_devnet_up_on_hardhat_runs_a_node_and_down_stops_it(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    up = run(
        "devnet", "up", "--devnet", str(directory), "--chain", "hardhat",
        "--annotators", "1", "--validators", "1", "--json",
    )  # fmt: skip
    try:
        assert up.exit_code == 0, up.stderr
        document = json.loads(up.stdout)
        assert document["engine"] == "hardhat" and document["chain_pid"] is not None
        address = DevnetInfo.load(directory).account("annotator-1").address
        returncode, stdout, stderr = _run_node(directory, "annotator-1", tmp_path / "node")
        assert returncode == 0, stderr
        assert f"account {address}" in stdout
    finally:
        down = run("devnet", "down", "--devnet", str(directory))
    assert down.exit_code == 0, down.stderr
    assert "stopped" in down.stdout
    assert not devnet_running(directory)


def test_node_start_with_an_unknown_devnet_account(session_devnet: Path) -> None:
    result = run("node", "start", "--devnet", str(session_devnet), "--account", "nobody")
    assert_one_line_error(result, "no account 'nobody'")
