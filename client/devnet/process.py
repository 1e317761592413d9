"""The detached anvil of a devnet: spawning it, its pid file, readiness, liveness, stopping.

A detached anvil runs in its own session and outlives the command that started it, so every
later command finds it again only through ``anvil.pid`` and must make sure that pid is still
an anvil of ours before signalling it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
from pathlib import Path

from client.devnet.info import (
    DEPLOYMENT_FILE,
    DEVNET_FILE,
    LOG_FILE,
    PID_FILE,
    DevnetError,
    DevnetNotFoundError,
    _write_atomic,
)
from node.chain.anvil import DEFAULT_MNEMONIC, AnvilError, find_anvil, rpc_call


def _prepare(directory: Path) -> None:
    """Refuse a directory with a running devnet; clear the files of a stopped one."""
    directory.mkdir(parents=True, exist_ok=True)
    pid = _recorded_pid(directory)
    if pid is not None and _is_anvil(pid):
        raise DevnetError(
            f"a devnet is already running in {directory} (anvil pid {pid}); "
            f"stop it with `labelnet devnet down --devnet {directory}`"
        )
    for name in (DEVNET_FILE, DEPLOYMENT_FILE, PID_FILE):
        (directory / name).unlink(missing_ok=True)


def _spawn_detached(
    directory: Path, port: int, block_time: float | None
) -> subprocess.Popen[bytes]:
    args = [
        find_anvil(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--mnemonic",
        DEFAULT_MNEMONIC,
    ]
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    with (directory / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    _write_atomic(directory / PID_FILE, f"{process.pid}\n")
    return process


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(
                f"anvil exited with {process.returncode}: see its log next to devnet.json"
            )
        try:
            rpc_call(url, "web3_clientVersion", timeout=1.0)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    raise AnvilError(f"anvil did not answer on {url} within {timeout}s")


def _recorded_pid(directory: Path) -> int | None:
    try:
        return int((directory / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_anvil(pgid: int) -> bool:
    """Whether an anvil of the process group ``pgid`` is still running.

    The npm ``anvil`` is a Node wrapper that runs the real binary as its child, so the whole
    group (the detached session) counts. Zombies do not (this machine's init may never reap
    them), and a live process counts only if its command line names anvil, so a recycled pid
    is never mistaken for ours.
    """
    _reap(pgid)
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: trust the group signal
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            if b"anvil" in (entry / "cmdline").read_bytes():
                return True
        except (OSError, IndexError, ValueError):
            continue
    return False


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our exited child (an in-process ``devnet_up``)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(pid: int) -> None:
    """Signal the detached session (anvil's Node wrapper and the binary) until it is gone."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_anvil(pid):
                return
            time.sleep(0.05)
    raise DevnetError(f"anvil (pid {pid}) did not stop; kill it by hand")


def devnet_running(directory: Path) -> bool:
    """Whether the detached anvil of the devnet in ``directory`` is alive."""
    pid = _recorded_pid(directory)
    return pid is not None and _is_anvil(pid)


def devnet_down(directory: Path) -> None:
    """Stop the devnet's detached anvil (SIGINT, then SIGTERM, then SIGKILL).

    The keystores and devnet files stay; a later ``devnet up`` in the same directory starts
    a fresh chain with fresh accounts.
    """
    if not (directory / DEVNET_FILE).exists() and not (directory / PID_FILE).exists():
        raise DevnetNotFoundError(f"no devnet in {directory} (no {DEVNET_FILE})")
    pid = _recorded_pid(directory)
    if pid is not None and _is_anvil(pid):
        _stop_pid(pid)
    (directory / PID_FILE).unlink(missing_ok=True)
