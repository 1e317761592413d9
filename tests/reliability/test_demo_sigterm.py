"""A demo stopped with SIGTERM stops its node processes and its chain.

Before, ``kill <demo pid>`` ended the orchestrator at once and left its eight or more node
processes and anvil running (found when a hung small demo was killed by hand: each kept
polling its chain and took a share of the CPU for good).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)


def _processes_under(directory: Path) -> list[int]:
    """Pids of processes whose command line or environment names ``directory``."""
    found = []
    needle = str(directory).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in text:
            found.append(int(entry.name))
    return found


def test_sigterm_stops_every_node_and_the_chain(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            *(sys.executable, "-m", "client.cli.main", "demo", "--dataset", "web"),
            *("--items", "20", "--annotators", "2", "--out", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "network").glob("*/node.log"))) < 7:  # 2+2 annotators, 3 more
            assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
            assert time.monotonic() < deadline, "the demo's nodes did not start"
            time.sleep(0.5)
        assert len(_processes_under(out)) >= 7
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) != 0
        deadline = time.monotonic() + 10
        while _processes_under(out) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_under(out) == []
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for pid in _processes_under(out):
            os.kill(pid, signal.SIGKILL)
