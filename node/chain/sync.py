"""Follow the market's and the staking contract's events into the database.

The sync reads logs of both contracts with ``eth_getLogs`` over bounded block ranges,
decodes them with the committed ABIs and hands each range's events to a handler together
with an open database transaction. The cursor (last processed block and its hash) is
written in that same transaction, so after a crash the database holds either a range's
effects *and* the cursor past it, or neither: a restarted node resumes exactly where the
last commit left it, without skipping or double-applying anything.

Confirmations: only blocks at most ``head - confirmations`` are processed, so events that a
short reorganisation could still remove are not acted on.

Reorganisations: the hash of every range's last block is kept as a checkpoint (for
``reorg_depth`` blocks). Before each pass the stored cursor hash is compared with the
chain's block at that height; when they differ (or the block is gone), the sync walks the
checkpoints back to the newest one that is still canonical, lets the handler undo what
came after it (``on_rewind``), moves the cursor there, and reprocesses. A reorganisation
deeper than ``reorg_depth`` stops the sync with :class:`ReorgTooDeepError` instead of
silently keeping orphaned data. Handlers must be idempotent: the default one
(:class:`node.chain.mirror.ChainMirror`) keeps a journal keyed by (block hash, log index).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound, Web3Exception, Web3RPCError
from web3.types import FilterParams, LogReceipt

from node.chain.contracts import Deployment, bind
from node.chain.errors import ChainError
from node.db.engine import Database
from node.db.repositories.sync import SyncCursorRepository
from node.protocol.canonical import JsonValue

log = logging.getLogger(__name__)


class SyncError(ChainError):
    """The event sync cannot go on by itself."""


class ReorgTooDeepError(SyncError):
    """The chain diverged below every block the sync still remembers."""


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event. ``args`` is JSON-ready: bytes as ``0x`` hex, structs as
    objects, integers exact."""

    chain_id: int
    contract: str
    name: str
    args: Mapping[str, JsonValue]
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str

    @property
    def task_id(self) -> int | None:
        """The task the event is about, if it has a ``taskId`` argument."""
        value = self.args.get("taskId")
        return None if value is None else int(value)


EventHandler = Callable[[Session, Sequence[ChainEvent]], None]
"""Applies one block range's events inside the sync's transaction."""

RewindHandler = Callable[[Session, int], None]
"""Undoes the effects of every event above the given block (after a reorganisation)."""


@dataclass(frozen=True)
class SyncConfig:
    """How the sync follows the chain."""

    confirmations: int = 2
    max_block_range: int = 2_000
    reorg_depth: int = 64
    start_block: int = 0
    poll_interval: float = 2.0


@dataclass(frozen=True)
class SyncReport:
    """What one :meth:`EventSync.sync_once` pass did."""

    last_block: int
    events: int
    rewound_to: int | None = None


def _json_ready(value: Any) -> JsonValue:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def _hex(value: bytes | str) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


class EventDecoder:
    """Decodes raw logs of known contracts by their first topic."""

    def __init__(self, chain_id: int, contracts: Sequence[Contract]) -> None:
        self.chain_id = chain_id
        self._events: dict[tuple[str, bytes], Any] = {}
        for contract in contracts:
            for entry in contract.abi:
                if entry["type"] != "event" or entry.get("anonymous"):
                    continue
                topic = event_abi_to_log_topic(entry)
                event = getattr(contract.events, entry["name"])()
                self._events[(contract.address, bytes(topic))] = event

    @property
    def addresses(self) -> list[str]:
        return sorted({address for address, _ in self._events})

    def decode(self, entry: LogReceipt) -> ChainEvent | None:
        """The decoded event, or None for a log of an event not in the ABIs."""
        if not entry["topics"]:
            return None
        address = Web3.to_checksum_address(entry["address"])
        event = self._events.get((address, bytes(entry["topics"][0])))
        if event is None:
            return None
        data = event.process_log(entry)
        return ChainEvent(
            chain_id=self.chain_id,
            contract=address,
            name=str(data["event"]),
            args=_json_ready(dict(data["args"])),
            block_number=int(entry["blockNumber"]),
            block_hash=_hex(entry["blockHash"]),
            log_index=int(entry["logIndex"]),
            tx_hash=_hex(entry["transactionHash"]),
        )


class EventSync:
    """Follows one deployment's events into ``db`` through ``handler``."""

    def __init__(
        self,
        w3: Web3,
        db: Database,
        deployment: Deployment,
        handler: EventHandler,
        *,
        on_rewind: RewindHandler | None = None,
        config: SyncConfig | None = None,
    ) -> None:
        self.w3 = w3
        self.db = db
        self.deployment = deployment
        self.handler = handler
        self.on_rewind = on_rewind
        self.config = config or SyncConfig()
        # Nothing of this deployment can be older than the block it was deployed in.
        self._start = max(self.config.start_block, deployment.start_block)
        contracts = bind(w3, deployment)
        self.decoder = EventDecoder(deployment.chain_id, [contracts.market, contracts.staking])
        self._chain_checked = False

    def _cursors(self, session: Session) -> SyncCursorRepository:
        return SyncCursorRepository(session, self.deployment.chain_id, self.deployment.market)

    def _rpc(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (Web3Exception, OSError, ValueError) as exc:
            raise ChainError(f"{what} failed: {exc}") from exc

    def _hash_at(self, block_number: int) -> str | None:
        """The canonical hash at a height, or None if the chain is not that long."""
        try:
            block = self.w3.eth.get_block(block_number)
        except BlockNotFound:
            return None
        except (Web3Exception, OSError, ValueError) as exc:
            raise ChainError(f"eth_getBlockByNumber({block_number}) failed: {exc}") from exc
        block_hash = block.get("hash")
        return None if block_hash is None else _hex(block_hash)

    def safe_head(self) -> int:
        """The newest block with enough confirmations to be processed."""
        if not self._chain_checked:
            chain_id = self._rpc("eth_chainId", lambda: self.w3.eth.chain_id)
            if chain_id != self.deployment.chain_id:
                raise SyncError(
                    f"connected to chain {chain_id}, deployment is on {self.deployment.chain_id}"
                )
            self._chain_checked = True
        head = int(self._rpc("eth_blockNumber", lambda: self.w3.eth.block_number))
        return head - self.config.confirmations

    def last_block(self) -> int:
        """The last processed block (``start_block - 1`` before the first pass)."""
        with self.db.session() as session:
            cursor = self._cursors(session).get()
        return self._start - 1 if cursor is None else cursor.last_block

    def sync_once(self, until: int | None = None) -> SyncReport:
        """Process every confirmed block not yet processed (up to ``until`` if given)."""
        rewound_to = self._check_reorg()
        target = self.safe_head()
        if until is not None:
            target = min(target, until)
        start = self.last_block() + 1
        total = 0
        while start <= target:
            end = min(start + self.config.max_block_range - 1, target)
            fetched = self._fetch(start, end)
            if fetched is None:
                break  # the chain moved under us; the next pass checks for a reorg first
            end, end_hash, events = fetched
            with self.db.write() as session:
                if events:
                    self.handler(session, events)
                cursors = self._cursors(session)
                cursors.save(end, end_hash)
                cursors.add_checkpoint(end, end_hash)
                cursors.prune_checkpoints(end - self.config.reorg_depth)
            total += len(events)
            start = end + 1
        return SyncReport(last_block=self.last_block(), events=total, rewound_to=rewound_to)

    def _fetch(self, start: int, end: int) -> tuple[int, str, list[ChainEvent]] | None:
        """Events of ``start..end`` (shrinking the range if the provider refuses it)."""
        while True:
            # The end block's hash is read before the logs: if a reorg lands in between,
            # the stored hash is the old one and the next pass detects and redoes the range.
            end_hash = self._hash_at(end)
            if end_hash is None:
                return None
            params: FilterParams = {
                "fromBlock": start,
                "toBlock": end,
                "address": self.decoder.addresses,  # type: ignore[typeddict-item]
            }
            try:
                logs = self.w3.eth.get_logs(params)
            except (Web3RPCError, ValueError) as exc:
                if end == start:
                    raise ChainError(f"eth_getLogs({start}) failed: {exc}") from exc
                end = start + (end - start) // 2
                log.info("eth_getLogs refused %s blocks, retrying with fewer: %s", start, exc)
                continue
            except (Web3Exception, OSError) as exc:
                raise ChainError(f"eth_getLogs({start}..{end}) failed: {exc}") from exc
            break
        ordered = sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"])))
        events: list[ChainEvent] = []
        for entry in ordered:
            if entry.get("removed"):
                continue
            if int(entry["blockNumber"]) == end and _hex(entry["blockHash"]) != end_hash:
                return None
            event = self.decoder.decode(entry)
            if event is not None:
                events.append(event)
        return end, end_hash, events

    def _check_reorg(self) -> int | None:
        """Rewind if the cursor's block is no longer canonical; returns the new cursor."""
        with self.db.session() as session:
            cursor = self._cursors(session).get()
        # RPCs happen outside any database transaction (a long-open SQLite read would hold
        # back WAL checkpoints).
        if cursor is None or cursor.block_hash is None:
            return None
        if self._hash_at(cursor.last_block) == cursor.block_hash:
            return None
        last_block = cursor.last_block
        with self.db.session() as session:
            checkpoints = self._cursors(session).checkpoints(at_most=last_block)
        target: int | None = None
        for checkpoint in checkpoints:
            if self._hash_at(checkpoint.block_number) == checkpoint.block_hash:
                target = checkpoint.block_number
                break
        if target is None:
            if last_block - (self._start - 1) > self.config.reorg_depth:
                raise ReorgTooDeepError(
                    f"chain {self.deployment.chain_id} diverged below every remembered block "
                    f"(cursor {last_block}, reorg_depth {self.config.reorg_depth}): the data "
                    "directory follows another chain; resync into a fresh database"
                )
            target = self._start - 1
        target_hash = self._hash_at(target) if target >= 0 else None
        log.warning("reorg detected at block %s: rewinding to %s", last_block, target)
        with self.db.write() as session:
            if self.on_rewind is not None:
                self.on_rewind(session, target)
            cursors = self._cursors(session)
            cursors.drop_checkpoints_above(target)
            cursors.save(target, target_hash)
        return target

    def run(self, stop: threading.Event) -> None:
        """Sync until ``stop`` is set, polling every ``poll_interval`` seconds.

        RPC failures and lost database connections are retried with exponential backoff
        (the node keeps serving from what it has); a reorganisation deeper than
        ``reorg_depth`` is not, and neither is any other error (a bug): both propagate.
        """
        delay = self.config.poll_interval
        while not stop.is_set():
            try:
                self.sync_once()
            except SyncError:
                raise
            except (ChainError, OperationalError) as exc:
                log.warning("event sync failed, retrying in %.1fs: %s", delay, exc)
                stop.wait(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = self.config.poll_interval
            stop.wait(self.config.poll_interval)
