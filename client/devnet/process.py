"""The detached chain of a devnet: spawning it, its pid file, readiness, liveness, stopping.

A detached chain (anvil or Hardhat) runs in its own session and outlives the command that
started it, so every later command finds it again only through its pid file
(``<engine>.pid``) and must make sure that pid is still a chain of ours before signalling it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from client.devnet.info import (
    DEPLOYMENT_FILE,
    DEVNET_FILE,
    DevnetError,
    DevnetNotFoundError,
    _write_atomic,
    log_file_name,
    pid_file_name,
)
from node.chain.devchain import DevChain, wait_ready
from node.chain.engines import ENGINES


def _prepare(directory: Path) -> None:
    """Refuse a directory with a running devnet; clear the files of a stopped one."""
    directory.mkdir(parents=True, exist_ok=True)
    for engine, pid in _recorded(directory):
        if _is_running(pid, engine):
            raise DevnetError(
                f"a devnet is already running in {directory} ({engine} pid {pid}); "
                f"stop it with `labelnet devnet down --devnet {directory}`"
            )
    for name in (DEVNET_FILE, DEPLOYMENT_FILE, *map(pid_file_name, ENGINES)):
        (directory / name).unlink(missing_ok=True)


def _spawn_detached(directory: Path, chain: DevChain) -> subprocess.Popen[bytes]:
    """Start ``chain`` in its own session, its output in ``<engine>.log``, its pid recorded."""
    args = chain.command(directory.resolve())
    with (directory / log_file_name(chain.engine)).open("ab") as log:
        process = subprocess.Popen(
            args,
            cwd=chain.cwd(),
            env=chain.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    _write_atomic(directory / pid_file_name(chain.engine), f"{process.pid}\n")
    return process


def _wait_ready(directory: Path, chain: DevChain, process: subprocess.Popen[bytes]) -> None:
    log = directory / log_file_name(chain.engine)
    wait_ready(
        chain.url,
        process,
        engine=chain.engine,
        client_prefix=chain.client_prefix,
        timeout=chain.startup_timeout,
        exit_detail=lambda: f"see {log}",
    )


def _recorded(directory: Path) -> list[tuple[str, int]]:
    """``(engine, pid)`` of every chain pid file in ``directory``."""
    found = []
    for engine in ENGINES:
        try:
            found.append((engine, int((directory / pid_file_name(engine)).read_text().strip())))
        except (FileNotFoundError, ValueError):
            continue
    return found


def _is_running(pgid: int, engine: str) -> bool:
    """Whether a chain of ``engine`` in the process group ``pgid`` is still running.

    The whole group (the detached session) counts: the npm ``anvil`` is a Node wrapper that
    runs the real binary as its child. Zombies do not (this machine's init may never reap
    them), and a live process counts only if its command line names the engine, so a
    recycled pid is never mistaken for ours.
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
    marker = engine.encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            if marker in (entry / "cmdline").read_bytes():
                return True
        except (OSError, IndexError, ValueError):
            continue
    return False


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our exited child (an in-process ``devnet_up``)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(pid: int, engine: str) -> None:
    """Signal the detached session (the chain and any wrapper) until it is gone."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_running(pid, engine):
                return
            time.sleep(0.05)
    raise DevnetError(f"{engine} (pid {pid}) did not stop; kill it by hand")


def devnet_running(directory: Path) -> bool:
    """Whether the detached chain of the devnet in ``directory`` is alive."""
    return any(_is_running(pid, engine) for engine, pid in _recorded(directory))


def devnet_down(directory: Path) -> None:
    """Stop the devnet's detached chain, whichever engine runs it (SIGINT, SIGTERM, SIGKILL).

    The keystores and devnet files stay; a later ``devnet up`` in the same directory starts
    a fresh chain with fresh accounts.
    """
    recorded = _recorded(directory)
    if not (directory / DEVNET_FILE).exists() and not recorded:
        raise DevnetNotFoundError(f"no devnet in {directory} (no {DEVNET_FILE})")
    for engine, pid in recorded:
        if _is_running(pid, engine):
            _stop_pid(pid, engine)
        (directory / pid_file_name(engine)).unlink(missing_ok=True)
