"""A throwaway PostgreSQL cluster for the tests, on a free loopback port in a temp dir.

The database tests run against PostgreSQL as well as SQLite, and nothing may depend on a
server left running, so the tests make their own: ``initdb`` into a temporary directory,
``pg_ctl start`` on ``127.0.0.1:<free port>`` with trust authentication on loopback only,
readiness by polling ``pg_isready`` (never a fixed sleep), and ``pg_ctl stop -m fast``
(then SIGKILL of the postmaster) when the session ends.

``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then every server
command runs as the ``postgres`` system user through ``runuser`` in a directory it owns.
A missing PostgreSQL fails the tests with the fix instead of skipping them — a skipped
database test reads like a passing one in a summary line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.chain.anvil import free_port

PG_ROOT = Path("/usr/lib/postgresql")
BIN_ENV = "LABELNET_PG_BIN"
SERVER_USER = "postgres"
_STASH_KEY = pytest.StashKey["PostgresCluster"]()


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_bin_dir() -> Path:
    """``$LABELNET_PG_BIN``, else the newest ``/usr/lib/postgresql/<version>/bin``."""
    override = os.environ.get(BIN_ENV)
    if override:
        return Path(override)
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresUnavailableError(
            f"PostgreSQL server binaries not found under {PG_ROOT}: run scripts/setup.sh "
            f"(it installs the Debian 'postgresql' package) or set {BIN_ENV}"
        )
    return versions[-1]


@dataclass
class PostgresCluster:
    """One private PostgreSQL server. ``start()`` / ``stop()``, or use as a context manager."""

    bin_dir: Path = field(default_factory=find_bin_dir)
    startup_timeout: float = 30.0
    port: int = 0
    base_dir: Path | None = None
    _as_root: bool = field(default=False, init=False)

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / tool), *args]
        if self._as_root:
            return ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, tool: str, *args: str, timeout: float = 60.0) -> None:
        result = subprocess.run(
            self._cmd(tool, *args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def start(self) -> PostgresCluster:
        self._as_root = os.geteuid() == 0
        self.base_dir = Path(tempfile.mkdtemp(prefix="labelnet-pg-"))
        if self._as_root:
            shutil.chown(self.base_dir, SERVER_USER, SERVER_USER)
        try:
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", SERVER_USER, "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self) -> None:
        # The port is free when chosen but could be taken before the server binds it;
        # a failed bind shows as the postmaster exiting, so retry on a new port.
        last_error = ""
        for _ in range(3):
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.base_dir}",
                    # A throwaway cluster: durability buys nothing and costs test time.
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "-c max_connections=50",
                ]
            )
            log = str(self.base_dir / "server.log") if self.base_dir else "server.log"
            self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", log, "-W", "-o", options)
            if self._wait_ready():
                return
            last_error = Path(log).read_text(errors="replace")[-2000:]
            self._stop_server()
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")

    def _server_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.02
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", SERVER_USER, "-t", "1"],
                capture_output=True, check=False,
            )  # fmt: skip
            if ready.returncode == 0:
                return True
            if ready.returncode == 2 and self._server_pid() is None and delay >= 0.2:
                return False  # no server process and nobody answering: it died at startup
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return False

    def _stop_server(self) -> None:
        if self.base_dir is None or not self.data_dir.exists():
            return
        pid = self._server_pid()
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            if pid is not None:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then SIGKILL) and delete its directory."""
        try:
            self._stop_server()
        finally:
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                self.base_dir = None

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname=postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def session_cluster(request: pytest.FixtureRequest) -> PostgresCluster:
    """The session's one cluster, started on first use and stopped when pytest finishes.

    Kept on the pytest config (not in one conftest's fixture) so that tests in different
    directories share a single server.
    """
    config = request.config
    cluster = config.stash.get(_STASH_KEY, None)
    if cluster is None:
        try:
            cluster = PostgresCluster().start()
        except PostgresUnavailableError as exc:
            pytest.fail(str(exc), pytrace=False)
        config.stash[_STASH_KEY] = cluster
        config.add_cleanup(cluster.stop)
    return cluster


@contextmanager
def open_test_database(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[Any]:
    """A fresh, schema-initialised :class:`node.db.Database` on ``backend``.

    SQLite lives in ``tmp_path``; PostgreSQL gets a new database on the session's cluster
    (creating one takes ~50 ms, cheaper and safer than cleaning tables between tests). The
    environment's ``LABELNET_DATABASE_URL`` is ignored so a developer's setting cannot
    redirect the tests.
    """
    from node.db import open_database

    if backend == "sqlite":
        db = open_database(tmp_path / "data", env={})
    elif backend == "postgresql":
        cluster = session_cluster(request)
        db = open_database(url=cluster.create_database(f"t_{uuid.uuid4().hex[:16]}"), env={})
    else:
        raise ValueError(f"unknown backend {backend!r}")
    try:
        yield db
    finally:
        db.dispose()
