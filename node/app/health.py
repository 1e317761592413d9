"""Readiness: can this node do its job right now, and if not, why.

Each check is cheap and bounded (the RPC probe has a 2 s timeout) because orchestrators
call ``/readyz`` every few seconds. A node is ready when its database answers, its content
store is usable, its disk has at least ``disk_reserve_bytes`` free, its chain answers and
the event sync is alive and no more than ``max_sync_lag`` blocks behind the confirmed head.
A node without a chain (no deployment) skips the two chain checks: it serves its gateway
and local data.

The disk check exists because a full disk fails writes, not reads: the database and the
store still answer ``SELECT 1`` and directory checks, so a node that can no longer store a
label looked ready. The reserve turns "full" into "not ready" shortly *before* writes fail,
so an orchestrator stops sending work while there is still room to finish what is running.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from web3.exceptions import Web3Exception

from node.app.runtime import NodeServices
from node.errors import LabelnetError
from node.store.embedded import EmbeddedStore


class Check(BaseModel):
    """One readiness check."""

    ok: bool
    detail: str


class Readiness(BaseModel):
    """All checks; ``ready`` only if every one passed."""

    ready: bool
    checks: dict[str, Check] = Field(
        description="database, store, disk, chain and sync, each with ok and a one-line detail"
    )
    head: int | None = Field(default=None, description="chain head block, if reachable")
    synced_block: int | None = Field(default=None, description="last block the sync applied")

    @property
    def reasons(self) -> list[str]:
        return [f"{name}: {check.detail}" for name, check in self.checks.items() if not check.ok]


@dataclass
class _Probe:
    head: int | None = None
    synced: int | None = None


def check_database(services: NodeServices) -> Check:
    try:
        with services.db.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Check(ok=False, detail=f"database unreachable: {type(exc).__name__}")
    ingest = services.ingest
    if services.running and ingest is not None and not ingest.running:
        return Check(ok=False, detail="the label writer thread has stopped")
    return Check(ok=True, detail=services.db.backend)


def check_store(services: NodeServices) -> Check:
    store = services.gateway_store
    if isinstance(store, EmbeddedStore):
        if store.root.is_dir() and os.access(store.root, os.W_OK | os.X_OK):
            return Check(ok=True, detail="embedded")
        return Check(ok=False, detail="embedded store directory missing or not writable")
    version = getattr(store, "version", None)
    if callable(version):
        try:
            return Check(ok=True, detail=f"kubo {version()}")
        except LabelnetError as exc:
            return Check(ok=False, detail=f"kubo unreachable: {exc}")
    return Check(ok=True, detail=type(store).__name__)


def _disk_paths(services: NodeServices) -> list[Path]:
    """Where the node writes: its data directory, a SQLite file's directory, the store."""
    paths = [services.settings.data_dir]
    url = make_url(services.settings.database)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        paths.append(Path(str(url.database)).parent)
    store = services.gateway_store
    if isinstance(store, EmbeddedStore):
        paths.append(store.root)
    return list(dict.fromkeys(paths))


def check_disk(services: NodeServices) -> Check:
    """Free space where the node writes, against ``disk_reserve_bytes``."""
    reserve = services.settings.disk_reserve_bytes
    lowest: tuple[int, Path] | None = None
    for path in _disk_paths(services):
        try:
            free = shutil.disk_usage(path).free
        except OSError as exc:
            return Check(ok=False, detail=f"cannot read free space of {path}: {exc.strerror}")
        if lowest is None or free < lowest[0]:
            lowest = (free, path)
    if lowest is None:
        return Check(ok=True, detail="nothing on local disk")
    free, path = lowest
    mib = 1024 * 1024
    detail = f"{free // mib} MiB free in {path} (reserve {reserve // mib} MiB)"
    return Check(ok=free >= reserve, detail=detail if free >= reserve else f"low: {detail}")


def _check_chain(services: NodeServices, probe: _Probe) -> Check:
    chain = services.chain
    if chain is None:
        return Check(ok=True, detail="no deployment configured")
    try:
        probe.head = chain.head()
    except (Web3Exception, OSError, ValueError) as exc:
        return Check(ok=False, detail=f"RPC unreachable: {type(exc).__name__}")
    return Check(ok=True, detail=f"chain {chain.chain_id} at block {probe.head}")


def _check_sync(services: NodeServices, probe: _Probe) -> Check:
    worker = services.sync
    if worker is None:
        return Check(ok=True, detail="no deployment configured")
    status = worker.snapshot()
    if status.fatal is not None:
        return Check(ok=False, detail=f"sync stopped: {status.fatal}")
    if services.running and not services.sync_alive():
        return Check(ok=False, detail="sync thread is not running")
    try:
        probe.synced = worker.sync.last_block()
    except SQLAlchemyError as exc:
        return Check(ok=False, detail=f"cannot read the sync cursor: {type(exc).__name__}")
    if probe.head is None:
        return Check(ok=False, detail="chain head unknown")
    lag = max(0, probe.head - services.settings.confirmations - probe.synced)
    if lag > services.settings.max_sync_lag:
        return Check(ok=False, detail=f"{lag} blocks behind (at {probe.synced})")
    return Check(ok=True, detail=f"{lag} blocks behind")


def readiness(services: NodeServices) -> Readiness:
    """Run every check (none stops the others, so the answer lists every reason)."""
    probe = _Probe()
    checks = {
        "database": check_database(services),
        "store": check_store(services),
        "disk": check_disk(services),
        "chain": _check_chain(services, probe),
    }
    checks["sync"] = _check_sync(services, probe)
    return Readiness(
        ready=all(check.ok for check in checks.values()),
        checks=checks,
        head=probe.head,
        synced_block=probe.synced,
    )
