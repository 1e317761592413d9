"""One writer thread that stores label batches, several per transaction (group commit).

Why not the web framework's thread pool: every batch ends in the same database, and on
SQLite only one transaction writes at a time. Forty pool threads queueing for that one
lock spend their time handing the GIL and the lock around (a quarter of the node's CPU in
profiles) and the unlucky ones wait in SQLite's busy handler, which sleeps in steps of up
to 100 ms. Here the event loop validates a batch and queues it; a single thread takes
everything queued, stores it in one transaction and commits once, then wakes the waiting
requests. Under load a transaction carries several batches, so its fixed costs (begin,
commit, a thread hand-off) are shared; when idle, a batch is written at once.

A batch is still acknowledged only after the transaction holding it committed. If any
batch of a group fails (unknown task or item, labels frozen), the group is rolled back and
its batches are written one transaction each, so one client's bad batch never fails
another's.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from node.app.errors import DatabaseBusyError, NodeStoppingError
from node.db.engine import Database
from node.errors import DiskFullError, LabelnetError, is_disk_full
from node.roles.labels import LabelInput, LabelRow, store_batch, validate_batch

log = logging.getLogger(__name__)

MAX_GROUP = 64
"""Most batches one transaction carries (bounds the latency the first of them sees)."""


@dataclass
class _Job:
    task_id: int
    annotator: str
    rows: Sequence[LabelRow]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int]
    result: int | BaseException | None = field(default=None)


def _failure(exc: Exception) -> BaseException:
    """What a failed write tells the request: a full disk or a lock held by another writer
    is a clear 503 (nothing was stored, retry later); anything else stays the unexpected
    error it is."""
    if is_disk_full(exc):
        full = DiskFullError(
            "the node's disk is full: the batch was not stored; free space in the data "
            "directory and retry"
        )
        full.__cause__ = exc
        return full
    if isinstance(exc, OperationalError) and any(
        word in str(exc.orig).lower() for word in ("locked", "busy")
    ):
        busy = DatabaseBusyError(
            "the database is locked by another writer: the batch was not stored; retry"
        )
        busy.__cause__ = exc
        return busy
    return exc


def _settle(job: _Job) -> None:
    """Runs on the job's event loop: hand the result to the waiting request."""
    if job.future.done():  # the request was cancelled (client went away)
        return
    if isinstance(job.result, BaseException):
        job.future.set_exception(job.result)
    else:
        job.future.set_result(job.result or 0)


class LabelWriter:
    """Stores label batches for one chain from a single background thread."""

    def __init__(self, db: Database, chain_id: int) -> None:
        self.db = db
        self.chain_id = chain_id
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.transactions = 0
        self.batches = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._thread = threading.Thread(target=self._run, name="labelnet-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Write what is queued, then stop the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    async def submit(self, task_id: int, annotator: str, labels: Sequence[LabelInput]) -> int:
        """Validate and store one batch; returns the number of distinct items it labelled
        once the transaction holding it has committed."""
        rows = validate_batch(labels)
        if not self.running:
            raise NodeStoppingError("the node is stopping: labels are no longer accepted")
        loop = asyncio.get_running_loop()
        job = _Job(task_id, annotator, rows, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stopping = False
            while len(jobs) < MAX_GROUP:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
            self._write(jobs)
            for job in jobs:
                job.loop.call_soon_threadsafe(_settle, job)
            if stopping:
                return

    def _write(self, jobs: list[_Job]) -> None:
        """Store ``jobs`` in one transaction, or one transaction each if any fails."""
        if len(jobs) > 1:
            try:
                with self.db.write() as session:
                    counts = [self._store(session, job) for job in jobs]
            except LabelnetError:
                pass  # some batch is bad: retry each alone so only that one fails
            except Exception as exc:  # the database itself failed: every batch failed
                log.exception("label transaction failed")
                for job in jobs:
                    job.result = _failure(exc)
                return
            else:
                self._done(jobs, counts)
                return
        for job in jobs:
            try:
                with self.db.write() as session:
                    count = self._store(session, job)
            except LabelnetError as exc:  # the request maps it to its HTTP status
                job.result = exc
            except Exception as exc:  # 503 if locked or disk full, else 500; details stay here
                log.exception("label batch for task %s failed", job.task_id)
                job.result = _failure(exc)
            else:
                self._done([job], [count])

    def _store(self, session: Session, job: _Job) -> int:
        return store_batch(session, self.chain_id, job.task_id, job.annotator, job.rows)

    def _done(self, jobs: list[_Job], counts: list[int]) -> None:
        for job, count in zip(jobs, counts, strict=True):
            job.result = count
        self.transactions += 1
        self.batches += len(jobs)
