"""Budgets on reading content that someone else controls.

Every file a node reads from peers is named by a CID, so a peer can never change what we
read; it can only make reading it expensive: a DAG of many tiny blocks, a chain of links
thousands deep, blocks served one every few seconds. A :class:`FetchBudget` bounds all three
for one read: blocks fetched, depth of the DAG, and wall-clock seconds. Whoever starts a read
states the budget; the content store enforces the structural limits while it walks the DAG,
and the peer fetcher never waits past the deadline (:func:`deadline`), which reaches it
through a context variable because the block-source interface has no room for it.

A read that exceeds its budget raises :class:`BudgetExceededError`: the structural limits
(blocks and depth) depend only on the content, so every honest node refuses the same DAGs;
the deadline is the one input that depends on who answered and when.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from node.store.errors import StoreError

MAX_DEPTH = 8
"""Deepest DAG read for anyone. Kubo's balanced layout (174 links per node, 256 KiB
leaves) holds 2**60 bytes within 6 levels below the root; 8 leaves room for other
chunkers. A 20,000-deep chain is refused after 9 blocks."""

MAX_BLOCKS_PER_MIB = 64
"""Blocks a file may have per MiB it declares, on top of :data:`MIN_BLOCKS`: kubo's
layout needs 4 per MiB (256 KiB leaves), a 16 KiB chunker 64."""

MIN_BLOCKS = 8
"""Blocks any file may have, however small it declares itself."""

RESULT_SECONDS = 30.0
"""Longest one read of a result document may take before it is retried later."""


class BudgetExceededError(StoreError, TimeoutError):
    """A read that would take more blocks, depth or time than its budget allows."""


@dataclass(frozen=True)
class FetchBudget:
    """Limits for one read: ``seconds`` of wall clock (None: no deadline), and the DAG's
    depth; the block limit follows from the declared size (:meth:`max_blocks`)."""

    seconds: float | None = None
    max_depth: int = MAX_DEPTH

    def max_blocks(self, declared_size: int) -> int:
        """Most blocks a file that declares ``declared_size`` bytes may take to read."""
        mebibytes = -(-declared_size // (1024 * 1024))
        return MIN_BLOCKS + MAX_BLOCKS_PER_MIB * mebibytes


_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "labelnet_fetch_deadline", default=None
)


def deadline() -> float | None:
    """The ``time.monotonic()`` instant the read in progress must finish by, if any."""
    return _DEADLINE.get()


def check() -> None:
    """Raise :class:`BudgetExceededError` if the current read's deadline has passed."""
    until = _DEADLINE.get()
    if until is not None and time.monotonic() >= until:
        raise BudgetExceededError("the read ran out of time")


def remaining(default: float) -> float:
    """Seconds left before the current deadline, at most ``default``; raises
    :class:`BudgetExceededError` once it has passed."""
    until = _DEADLINE.get()
    if until is None:
        return default
    left = until - time.monotonic()
    if left <= 0:
        raise BudgetExceededError("the read ran out of time")
    return min(default, left)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the enclosed reads under a deadline ``seconds`` from now (None: keep any outer
    deadline). A nested deadline never extends an outer one."""
    if seconds is None:
        yield
        return
    until = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _DEADLINE.reset(token)
