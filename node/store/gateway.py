"""Fetching blocks from other nodes' trustless gateways, and the store a node runs on.

Every node serves its blocks at ``GET /ipfs/{cid}?format=raw`` (the IPFS trustless gateway,
see :mod:`node.api.gateway`), so fetching content from a peer needs nothing but HTTP and a
hash: a block is accepted only if it hashes to the CID it was asked for, so a peer can
waste our time but never change what we read. Files are walked block by block, each
block fetched and verified on its own, so no peer is trusted with a whole DAG either.

Wasting our time is what junk peers can still do (announcing costs one transaction), so
:class:`GatewayFetcher` does not ask peers one after the other. It asks the best-scored
peer (:mod:`node.store.scoreboard`) first, two when it knows none to be fast, and hedges:
every :data:`HEDGE_DELAY` seconds without an answer it asks twice as many more, and a peer
that fails makes room for the next at once; the first verified block wins and the other
requests are cancelled. Thirty silent peers cost a fetch about a second, once: after that
they are scored behind the peers that answered. A peer that serves wrong bytes is banned,
one that times out is asked last and briefly. No fetch waits past the deadline of the read
it belongs to (:func:`node.store.budget.deadline`).

:class:`GatewayStore` is the composite a node uses: its own :class:`EmbeddedStore` first,
then peers, caching every fetched block locally so it is fetched once and can be served on
to others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import NamedTuple

from multiformats import CID

from node.peer_url import OnceLog, Peer, PeerUrlError, parse_peer
from node.store import budget
from node.store.base import ContentStore, verified
from node.store.budget import BudgetExceededError
from node.store.embedded import EmbeddedStore
from node.store.errors import (
    BlockMismatchError,
    BlockNotFoundError,
    InvalidContentError,
    StoreError,
    StoreUnavailableError,
)
from node.store.peer_http import LoopThread, PeerFailedError, Resolver, fetch_raw_block
from node.store.scoreboard import BAN_SECONDS, Scoreboard

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds one peer gets to deliver one block (at most 2 MiB); less once it has failed."""
HEDGE_DELAY = 0.2
"""Seconds without an answer before more peers are asked for the same block."""
MAX_IN_FLIGHT = 32
"""Requests for one block at once, at most: the hedging never fans out wider."""

PeerSource = Sequence[str | Peer] | Callable[[], Sequence[str | Peer]]
"""Peer gateways, or a function returning the current ones (peers come and go as they
announce on chain). A string is a peer the caller chose (``http://host:port``): it may be
a private address. Discovered peers come as :class:`~node.peer_url.Peer` values carrying
the address policy that applies to them."""


class _Request(NamedTuple):
    """A request in flight: to whom, since when, and whether the read's deadline (rather
    than the peer's own timeout) limits it."""

    peer: Peer
    started: float
    cut_by_deadline: bool


class _Failures:
    """Why each peer asked for one block did not deliver it, in the order they failed."""

    def __init__(self) -> None:
        self.reasons: list[tuple[str, str]] = []

    def add(self, kind: str, reason: str) -> None:
        self.reasons.append((kind, reason))

    def summary(self) -> str:
        return "; ".join(reason for _, reason in self.reasons) or "no peer answered yet"

    def error(self, cid: CID) -> StoreError:
        """The error for a fetch nobody delivered (see :meth:`GatewayFetcher.fetch_block`)."""
        kinds = {kind for kind, _ in self.reasons}
        reasons = "; ".join(reason for _, reason in self.reasons)
        if "deadline" in kinds:  # peers that ran out of our time did not fail: the read did
            return BudgetExceededError(f"the read ran out of time fetching block {cid}: {reasons}")
        if "mismatch" in kinds:
            return BlockMismatchError(f"no peer served block {cid} intact: {reasons}")
        if "not-found" in kinds or not kinds & {"timeout", "unavailable"}:
            return BlockNotFoundError(
                f"block {cid} is not at any peer gateway: {reasons or 'no peers known'}"
            )
        return StoreUnavailableError(f"no peer gateway answered for block {cid}: {reasons}")


class GatewayFetcher:
    """Fetches single verified blocks from peers' trustless gateways, several at once.

    Synchronous and thread-safe: the node's duties call it from their own threads, while
    the requests run on one event loop in a background thread (started on first use,
    stopped by :meth:`close`).
    """

    def __init__(
        self,
        peers: PeerSource,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ban_seconds: float = BAN_SECONDS,
        hedge_delay: float = HEDGE_DELAY,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._peers = peers
        self._timeout = timeout
        self.hedge_delay = hedge_delay
        self.max_in_flight = max_in_flight
        self.scores = Scoreboard(ban_seconds=ban_seconds)
        self._loop = LoopThread()
        self._resolver = Resolver()
        self._bad_peers = OnceLog(log)
        # A fetcher dropped without close() still stops its thread and connections.
        self._finalizer = weakref.finalize(self, self._loop.close)

    def peers(self) -> list[Peer]:
        """The peer gateways to ask, in the source's order (invalid URLs logged, skipped)."""
        listed = self._peers() if callable(self._peers) else self._peers
        found: dict[str, Peer] = {}
        for entry in listed:
            if isinstance(entry, Peer):
                peer = entry
            else:
                try:
                    peer = parse_peer(entry, private_ok=True)
                except PeerUrlError as exc:
                    self._bad_peers.warning(entry, "ignoring peer: %s", exc)
                    continue
            found.setdefault(peer.origin, peer)
        return list(found.values())

    def fetch_block(self, cid: CID) -> bytes:
        """Block ``cid`` from the first peer that serves bytes hashing to it.

        A peer that answers with other bytes is logged and banned. If none delivers, the
        error says why each failed: :class:`BlockMismatchError` if any peer served wrong
        bytes (someone is misbehaving; a banned peer counts), else
        :class:`BlockNotFoundError` if any peer said it has no such block (or none could be
        asked), else :class:`StoreUnavailableError` (nobody answered).
        :class:`~node.store.budget.BudgetExceededError` if the read's deadline passes first.
        """
        until = budget.deadline()
        budget.remaining(self._timeout)  # raises if the deadline has already passed
        peers = self.peers()
        try:
            future = self._loop.submit(self._race(cid, peers, until))
        except RuntimeError as exc:
            raise StoreUnavailableError(f"cannot fetch block {cid}: {exc}") from exc
        wait = None if until is None else max(0.0, until - time.monotonic()) + 0.5
        try:
            return future.result(timeout=wait)
        except BudgetExceededError:
            raise
        except concurrent.futures.TimeoutError as exc:
            raise BudgetExceededError(f"the read ran out of time fetching block {cid}") from exc
        except concurrent.futures.CancelledError as exc:
            raise StoreUnavailableError(f"fetching block {cid} stopped: fetcher closed") from exc
        finally:
            future.cancel()  # no-op once done; else stops the requests still in flight

    async def _race(self, cid: CID, peers: Sequence[Peer], until: float | None) -> bytes:
        loop = asyncio.get_running_loop()
        ordered, banned = self.scores.rank(peers)
        failures = _Failures()
        for peer in banned:
            left = self.scores.banned_until(peer) - loop.time()
            failures.add("mismatch", f"{peer}: banned {left:.0f} s more for serving wrong bytes")
        queue = deque(ordered)
        running: dict[asyncio.Task[bytes], _Request] = {}
        wave = 1 if queue and self.scores.proven(queue[0], self.hedge_delay) else 2
        allowed, launched = wave, 0
        next_wave = loop.time() + self.hedge_delay
        try:
            while True:
                now = loop.time()
                if until is not None and now >= until:
                    raise BudgetExceededError(
                        f"the read ran out of time fetching block {cid}: {failures.summary()}"
                    )
                while queue and launched < allowed and len(running) < self.max_in_flight:
                    peer = queue.popleft()
                    timeout = allotted = self.scores.timeout(peer, self._timeout)
                    if until is not None:
                        timeout = min(allotted, until - now)
                    request = fetch_raw_block(self._loop.client, self._resolver, peer, cid, timeout)
                    running[loop.create_task(request)] = _Request(peer, now, timeout < allotted)
                    launched += 1
                if not running:
                    raise failures.error(cid)
                wake = [next_wave] if queue else []
                if until is not None:
                    wake.append(until)
                wait = max(0.0, min(wake) - now) if wake else None
                done, _ = await asyncio.wait(
                    running, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                now = loop.time()
                winner: bytes | None = None
                for task in done:
                    data = self._judge(task, running.pop(task), cid, now, failures)
                    if data is None:
                        allowed += 1  # a failure makes room for the next peer at once
                    elif winner is None:
                        winner = data
                if winner is not None:
                    return winner
                if queue and now >= next_wave:
                    allowed += wave
                    wave *= 2
                    next_wave = now + self.hedge_delay
        finally:
            await self._abandon(running, loop.time())

    def _judge(
        self,
        task: asyncio.Task[bytes],
        request: _Request,
        cid: CID,
        now: float,
        failures: _Failures,
    ) -> bytes | None:
        """The verified block ``task`` got, or None (the peer scored, the failure recorded)."""
        peer, seconds = request.peer, now - request.started
        try:
            data = verified(cid, task.result(), f"peer {peer}")
        except PeerFailedError as exc:
            if exc.kind == "timeout" and request.cut_by_deadline:
                failures.add("deadline", str(exc))
                self.scores.outrun(peer, seconds)  # silent until our deadline, not its own
                return None
            failures.add(exc.kind, str(exc))
            if exc.kind == "mismatch":
                self._ban(peer, exc)
            elif exc.kind == "not-found":
                self.scores.missing(peer, seconds)
            elif exc.kind == "refused":
                self._bad_peers.warning(peer.origin, "refusing peer: %s", exc)
            else:
                self.scores.failed(peer, timed_out=exc.kind == "timeout")
            return None
        except (BlockMismatchError, InvalidContentError) as exc:
            failures.add("mismatch", str(exc))
            self._ban(peer, exc)
            return None
        self.scores.success(peer, seconds)
        return data

    def _ban(self, peer: Peer, reason: Exception) -> None:
        until = self.scores.lied(peer)
        log.warning(
            "rejected block: %s (peer %s banned for %.1f s)", reason, peer, until - time.monotonic()
        )

    async def _abandon(self, running: dict[asyncio.Task[bytes], _Request], now: float) -> None:
        """Cancel the requests still in flight; their peers were slower than the winner."""
        for task, request in running.items():
            task.cancel()
            self.scores.outrun(request.peer, now - request.started)
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    def close(self) -> None:
        """Cancel requests in flight and close the connections to peers (idempotent)."""
        self._finalizer()


class GatewayStore(ContentStore):
    """A node's content store: local blocks first, then peers' gateways, caching locally.

    ``has`` answers for local blocks only, and a node's own gateway must serve
    :attr:`local`, not this store: a gateway that fetched from peers on a miss would let two
    nodes ask each other for a block neither has, forever.
    """

    def __init__(
        self,
        local: EmbeddedStore,
        peers: PeerSource,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ban_seconds: float = BAN_SECONDS,
    ) -> None:
        self.local = local
        self.fetcher = GatewayFetcher(peers, timeout=timeout, ban_seconds=ban_seconds)

    def put(self, content: bytes) -> str:
        return self.local.put(content)

    def _write_block(self, cid: CID, data: bytes) -> None:
        self.local.put_block(str(cid), data)

    def _has_block(self, cid: CID) -> bool:
        return self.local.has(str(cid))

    def _read_block(self, cid: CID) -> bytes:
        try:
            return self.local.get_block(str(cid))
        except BlockNotFoundError:
            pass
        except BlockMismatchError as exc:
            log.warning("local copy of block %s is corrupt, fetching it again: %s", cid, exc)
        data = self.fetcher.fetch_block(cid)
        self.local.put_block(str(cid), data)
        return data

    def _describe(self, cid: CID) -> str:
        return f"the local store or peers of {type(self).__name__}"

    def close(self) -> None:
        """Release the HTTP connections to peers."""
        self.fetcher.close()

    def __enter__(self) -> GatewayStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
