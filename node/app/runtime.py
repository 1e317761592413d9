"""The composition root: everything one node process runs, built from its settings.

:meth:`NodeServices.open` builds the parts in dependency order — database, content store,
API token, chain connection, account, event sync, role duties — and closes what it already
opened if a later part fails, so a node that refuses to start leaves nothing behind.
:meth:`NodeServices.start` starts the background threads and :meth:`NodeServices.close`
stops and joins them, then releases connections; the API's lifespan calls both.

Nothing runs at import time and nothing is global: tests build several nodes in one
process, each from its own settings and data directory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from node.app.auth import load_or_create_token
from node.app.chain import ChainConnection, connect, deployment_path, load_deployment
from node.app.errors import NoAccountError, NodeStoppingError
from node.app.ingest import LabelWriter
from node.app.peers import PeerDirectory
from node.app.workers import DutyRunner, SyncWorker
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.chain.tx import TxSender
from node.config import NodeSettings
from node.db.engine import Database, open_database
from node.keys import (
    EncryptionKey,
    KeystoreError,
    encryption_key_path,
    load_keystore,
    load_or_create_encryption_key,
)
from node.roles.assignment import Assigner
from node.roles.base import Duty
from node.store.base import ContentStore
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore

if TYPE_CHECKING:
    from node.roles.confidential import Keyring
    from node.roles.review_service import ReviewService

log = logging.getLogger(__name__)

DEFAULT_CHAIN_ID = 31337
"""Chain id keying the tables of a node with no deployment (anvil's default)."""
JOIN_TIMEOUT = 15.0
"""Seconds to wait for each background thread at shutdown (an RPC in flight may finish)."""

DutyFactory = Callable[["NodeServices"], Sequence[Duty]]
"""Builds a role's duties from the opened services (they need the db, store, chain...)."""


@dataclass
class NodeServices:
    """The shared services of one node process."""

    settings: NodeSettings
    db: Database
    store: ContentStore
    """What roles read and write through: local blocks first, then peers (or Kubo)."""
    gateway_store: ContentStore
    """What this node's own gateway serves: local blocks only, so gateways never loop."""
    api_token: str
    chain_id: int
    chain: ChainConnection | None = None
    account: LocalAccount | None = None
    sender: TxSender | None = None
    """The one transaction sender of the account: every duty shares it, so nonces are
    assigned in one place even when duties send concurrently."""
    encryption_key: EncryptionKey | None = None
    """The account's X25519 key (docs/confidential.md §4), beside its keystore; None for a
    node without an account."""
    sync: SyncWorker | None = None
    duties: list[DutyRunner] = field(default_factory=list)
    assigner: Assigner | None = None
    """The deals of seated tasks (market v2), shared by the API and the duties."""
    ingest: LabelWriter | None = None
    """Stores the API's label batches (group commit from one thread, see node.app.ingest)."""
    _review: ReviewService | None = field(default=None, repr=False)
    _keyring: Keyring | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)
    _started: bool = field(default=False, repr=False)
    _resources: ExitStack = field(default_factory=ExitStack, repr=False)

    @classmethod
    def open(cls, settings: NodeSettings, *, duties: DutyFactory | None = None) -> NodeServices:
        """Build every service from ``settings`` (no thread is started yet)."""
        with ExitStack() as resources:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            db = open_database(url=settings.database, durability=settings.db_durability)
            resources.callback(db.dispose)
            peers = PeerDirectory(
                settings.peers, settings.gateway_url, allow_private=settings.allow_private_peers
            )
            store, gateway_store = _open_store(settings, peers, resources)
            token = load_or_create_token(settings.data_dir)
            chain: ChainConnection | None = None
            path = deployment_path(settings)
            if path is not None:
                chain = connect(settings, load_deployment(path))
                chain_id = chain.chain_id
                peers.attach(chain.contracts.registry, chain.deployment.start_block)
            else:
                chain_id = settings.chain_id or DEFAULT_CHAIN_ID
                log.info("no deployment file: running without a chain (chain id %s)", chain_id)
            services = cls(
                settings=settings,
                db=db,
                store=store,
                gateway_store=gateway_store,
                api_token=token,
                chain_id=chain_id,
                chain=chain,
                account=_load_account(settings),
                ingest=LabelWriter(db, chain_id),
            )
            if services.account is not None and chain is not None:  # only duties use it
                services.encryption_key = _load_encryption_key(settings)
            if chain is not None:
                if services.account is not None:
                    services.sender = TxSender(chain.w3, services.account)
                services.assigner = Assigner(
                    db=db,
                    w3=chain.w3,
                    market=chain.contracts.market,
                    chain_id=chain_id,
                    finality_depth=settings.finality_depth,
                )
                sync = _event_sync(settings, db, chain)
                services.sync = SyncWorker(sync, interval=settings.sync_interval)
            for duty in duties(services) if duties is not None else ():
                services.duties.append(DutyRunner(duty, interval=settings.duty_interval))
            services._resources = resources.pop_all()
        return services

    @property
    def annotator(self) -> str | None:
        """This node's account address, if it has one."""
        return None if self.account is None else str(self.account.address)

    def require_annotator(self) -> str:
        """The account address, or :class:`NoAccountError` for a read-only node."""
        if self.account is None:
            raise NoAccountError(
                "this node has no account: create a keystore with `labelnet wallet new` "
                "(and give its password) to label"
            )
        return str(self.account.address)

    def require_ingest(self) -> LabelWriter:
        """The label writer, running; :class:`NodeStoppingError` before start or after stop."""
        if self.ingest is None or not self.ingest.running:
            raise NodeStoppingError("the node is not running: labels are not accepted now")
        return self.ingest

    def reviews(self) -> ReviewService:
        """The review page's service (:mod:`node.roles.review_service`), built on first use:
        it loads the consensus code, which a node that never reviews need not import."""
        if self._review is None:
            from node.roles.review_service import ReviewService

            market = None if self.chain is None else self.chain.contracts.market
            self._review = ReviewService(
                self.db, self.store, self.chain_id, market=market, assigner=self.assigner
            )
        return self._review

    def keyring(self) -> Keyring | None:
        """This node's access to confidential content (:class:`~node.roles.confidential.
        Keyring`), built on first use and shared by the duties and the API, so a task key
        unwrapped once serves both; None without a chain or an account."""
        if self._keyring is None and self.chain is not None and self.sender is not None:
            from node.roles.confidential import Keyring

            self._keyring = Keyring(
                address=self.sender.address,
                key=self.encryption_key,
                store=self.store,
                registry=self.chain.contracts.registry,
                task_keys=self.chain.contracts.task_keys,
            )
        return self._keyring

    @property
    def running(self) -> bool:
        return self._started

    def sync_alive(self) -> bool:
        """Whether the sync thread is running (False for a node without a chain)."""
        return any(t.name == "labelnet-sync" and t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Start the event sync and one thread per duty."""
        if self._started:
            return
        self._started = True
        self._stop.clear()
        if self.ingest is not None:
            self.ingest.start()
        if self.sync is not None:
            self._spawn("labelnet-sync", self.sync.run)
        for runner in self.duties:
            self._spawn(f"labelnet-duty-{runner.duty.name}", runner.run)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        # Daemon threads: a duty stuck in an RPC must not keep a killed node alive; close()
        # still joins them, so a normal shutdown waits for work in progress.
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Ask every background thread to stop and wait for them."""
        self._started = False
        self._stop.set()
        if self.ingest is not None:
            self.ingest.stop(JOIN_TIMEOUT)
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("%s did not stop within %.0fs", thread.name, JOIN_TIMEOUT)
        self._threads.clear()

    def close(self) -> None:
        """Stop the threads, then release the database and store connections (idempotent)."""
        self.stop()
        self._resources.close()


def _open_store(
    settings: NodeSettings, peers: PeerDirectory, resources: ExitStack
) -> tuple[ContentStore, ContentStore]:
    """(store for roles, store for the node's own gateway)."""
    if settings.store == "kubo":
        from node.store.kubo import KuboStore  # lazily: only Kubo nodes load its HTTP client

        kubo = KuboStore(settings.kubo_api)
        resources.callback(kubo.close)
        return kubo, kubo
    local = EmbeddedStore.in_data_dir(settings.data_dir)
    store = GatewayStore(
        local, peers, timeout=settings.peer_timeout, ban_seconds=settings.peer_ban_seconds
    )
    resources.callback(store.close)
    return store, local


def _load_account(settings: NodeSettings) -> LocalAccount | None:
    """The keystore's account; None (read-only node) when no keystore is configured or found."""
    path = settings.keystore_path
    if settings.keystore is None and not path.exists():
        log.info("no keystore at %s: read-only node (labels and duties need an account)", path)
        return None
    password = settings.password()
    if password is None:
        raise KeystoreError(
            f"keystore {path} is encrypted: set LABELNET_KEYSTORE_PASSWORD or "
            "keystore_password_file"
        )
    return load_keystore(path, password)


def _load_encryption_key(settings: NodeSettings) -> EncryptionKey:
    """The encryption key beside the keystore (made on first start), under its password."""
    password = settings.password()
    if password is None:  # _load_account refused this already
        raise KeystoreError("the encryption key needs the keystore password")
    return load_or_create_encryption_key(encryption_key_path(settings.keystore_path), password)


def _event_sync(settings: NodeSettings, db: Database, chain: ChainConnection) -> EventSync:
    mirror = ChainMirror(chain.chain_id)
    config = SyncConfig(
        confirmations=settings.confirmations,
        reorg_depth=settings.reorg_depth,
        # The deployment block (newer deployment files carry it) bounds the first scan.
        start_block=max(settings.sync_start_block, getattr(chain.deployment, "start_block", 0)),
        poll_interval=settings.sync_interval,
    )
    return EventSync(chain.w3, db, chain.deployment, mirror, on_rewind=mirror.rewind, config=config)
