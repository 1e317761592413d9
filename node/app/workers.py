"""The node's background threads: the chain event sync and the role duties.

Both loops wait on a shared ``threading.Event`` instead of sleeping, so setting it stops
the node within one RPC timeout rather than after a whole poll interval. Each loop keeps
a small status record (last success, last error) that ``/readyz`` and ``/metrics`` read:
a background failure is never silent, and never takes the API down with it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from web3.exceptions import Web3Exception

from node.chain.errors import ChainError
from node.chain.sync import EventSync, SyncError
from node.errors import LabelnetError
from node.roles.base import Duty

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


@dataclass
class SyncStatus:
    """What the last passes of the event sync achieved (read by health and metrics)."""

    last_block: int | None = None
    head: int | None = None
    """The chain head at the end of the last successful pass."""
    last_success: float | None = None
    last_error: str | None = None
    fatal: str | None = None
    """Why the sync stopped for good (a chain-id mismatch, a reorg deeper than remembered)."""
    passes: int = 0
    failures: int = 0


class SyncWorker:
    """Runs :meth:`EventSync.sync_once` in a loop and records how it went.

    It mirrors :meth:`EventSync.run`'s policy (RPC and lost-connection failures retried with
    exponential backoff, :class:`SyncError` final) in a loop of its own only to keep the
    status that readiness and metrics report.
    """

    def __init__(self, sync: EventSync, *, interval: float) -> None:
        self.sync = sync
        self.interval = interval
        self.status = SyncStatus()
        self._lock = threading.Lock()

    def snapshot(self) -> SyncStatus:
        """A consistent copy of the status."""
        with self._lock:
            return SyncStatus(**vars(self.status))

    def run(self, stop: threading.Event) -> None:
        delay = self.interval
        while not stop.is_set():
            try:
                report = self.sync.sync_once()
                head = int(self.sync.w3.eth.block_number)
            except SyncError as exc:
                log.error("event sync stopped: %s", exc)
                with self._lock:
                    self.status.fatal = str(exc)
                    self.status.last_error = str(exc)
                return
            except (ChainError, OperationalError, Web3Exception, OSError) as exc:
                self._failed(exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except Exception as exc:  # a bug: keep the node serving, say so loudly
                log.exception("event sync pass failed unexpectedly")
                self._failed(exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            with self._lock:
                self.status.last_block = report.last_block
                self.status.head = head
                self.status.last_success = time.time()
                self.status.last_error = None
                self.status.passes += 1
            delay = self.interval
            stop.wait(self.interval)

    def _failed(self, exc: Exception, delay: float) -> None:
        log.warning("event sync failed, retrying in %.1fs: %s", delay, exc)
        with self._lock:
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            self.status.failures += 1


@dataclass
class DutyStatus:
    """How one duty's ticks went."""

    name: str
    ticks: int = 0
    failures: int = 0
    last_error: str | None = None
    last_success: float | None = None


class DutyRunner:
    """Calls one duty's ``tick`` every ``interval`` seconds; logs what it raises.

    A duty is an idempotent state machine kept in the database (see
    :mod:`node.roles.base`), so a failed tick is simply tried again at the next interval.
    """

    def __init__(self, duty: Duty, *, interval: float) -> None:
        self.duty = duty
        self.interval = interval
        self.status = DutyStatus(name=duty.name)
        self._lock = threading.Lock()

    def snapshot(self) -> DutyStatus:
        with self._lock:
            return DutyStatus(**vars(self.status))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.duty.tick()
            except Exception as exc:  # any failure of a duty is logged, never propagated
                if isinstance(exc, LabelnetError):  # an expected condition: one clear line
                    log.warning("duty %s: %s", self.duty.name, exc)
                elif isinstance(exc, Web3Exception | OSError):  # the RPC is down or refused
                    log.warning(
                        "duty %s: the chain did not answer (retrying next tick): %s",
                        self.duty.name,
                        exc,
                    )
                else:  # a bug: keep the node serving, but show where
                    log.exception("duty %s failed", self.duty.name)
                with self._lock:
                    self.status.ticks += 1
                    self.status.failures += 1
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
            else:
                with self._lock:
                    self.status.ticks += 1
                    self.status.last_error = None
                    self.status.last_success = time.time()
            stop.wait(self.interval)
