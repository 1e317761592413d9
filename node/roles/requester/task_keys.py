"""The requester's side of a confidential task (docs/confidential.md §4): make the task key,
seal the content, keep the key, and wrap it to whoever may read.

Posting (:func:`confidential_content`) makes a random task key, builds the manifest with its
``confidential`` field (the key's commitment and the named validators) over the item pages
sealed under it, and saves the key beside the gold secrets, by manifest CID: the task id is
known only once ``createTask`` is mined, and the manifest CID is what the chain records.

The duty (:class:`KeyPublisher`) then keeps every reader's key wrapped: for each open task of
this account whose key it holds, the named validators and every seated annotator
(``SeatClaimed``, from the event journal) that are not yet recipients of a published
document get a new ``sealed-keys@1`` document, stored here (this node's gateway serves it)
and recorded with ``TaskKeys.publishKeys``. Recipients already covered are read back from
the documents published on chain, so a restarted node wraps nobody twice. An annotator
without an announced key gets nothing; its node says it is not admitted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from web3.contract import Contract

from node.chain.task_keys import publish_keys, published_keys
from node.chain.tx import TxSender
from node.db.engine import Database
from node.db.models import Task
from node.db.repositories.tasks import TaskRepository
from node.errors import LabelnetError
from node.files import write_atomic
from node.protocol.manifest import (
    MAX_DOCUMENT_BYTES,
    ItemSpec,
    Manifest,
    TaskContent,
    build_task_content,
)
from node.protocol.manifest_allowlist import AllowlistParams
from node.protocol.manifest_confidential import ConfidentialParams
from node.protocol.sealed import KEY_BYTES, key_commitment, new_content_key
from node.protocol.sealed_keys import build_key_document, parse_key_document
from node.roles.assignment import Assigner
from node.roles.confidential import Keyring, task_scope
from node.store.base import ContentStore
from node.store.budget import FetchBudget
from node.store.errors import StoreError
from node.store.sealed import SealedMediaError, seal_media, seal_task_content

log = logging.getLogger(__name__)

READ_SECONDS = 30.0


class TaskKeyError(LabelnetError, ValueError):
    """A stored task key is unreadable or does not match its manifest."""


class TaskKeyVault:
    """Task keys by manifest CID, one file each (mode 0600): ``<directory>/<cid>.key``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, manifest_cid: str, key: bytes) -> None:
        write_atomic(self.directory / f"{manifest_cid}.key", key.hex().encode(), mode=0o600)

    def find(self, manifest_cid: str) -> bytes | None:
        """The key saved for ``manifest_cid``, or None (a task posted from elsewhere)."""
        try:
            text = (self.directory / f"{manifest_cid}.key").read_text("ascii").strip()
        except FileNotFoundError:
            return None
        try:
            key = bytes.fromhex(text)
        except ValueError as exc:
            raise TaskKeyError(f"task key of {manifest_cid} is not hex") from exc
        if len(key) != KEY_BYTES:
            raise TaskKeyError(f"task key of {manifest_cid} is not {KEY_BYTES} bytes")
        return key


def task_key_vault(data_dir: Path) -> TaskKeyVault:
    """Where a requester node keeps its confidential tasks' keys (beside the gold): the one
    place both the poster (SDK, CLI, demo) and the node's :class:`KeyPublisher` look."""
    return TaskKeyVault(data_dir / "requester" / "task-keys")


def confidential_content(
    items: Sequence[ItemSpec],
    validators: Sequence[str],
    vault: TaskKeyVault,
    *,
    title: str,
    classes: Sequence[str],
    instructions: str = "",
    allowlist: AllowlistParams | None = None,
    media: Sequence[bytes] = (),
) -> TaskContent:
    """A confidential task's content: items and their media sealed under a new task key,
    which is saved in ``vault`` under the manifest's CID. ``media``: the files the items
    name by plaintext CID (``ImportedItems.media``); they are sealed (context ``media``)
    and the items name the ciphertexts, which the result carries in ``media`` for
    :func:`~node.roles.requester.posting.publish_content` to store; the plaintext is never
    stored. ``allowlist``: a gated task's admitted accounts, listed in the (public)
    manifest as for any gated task."""
    key = new_content_key()
    try:
        sealed_media = seal_media(items, media, key)
    except SealedMediaError as exc:
        raise TaskKeyError(str(exc)) from exc
    params = ConfidentialParams.create(key_commitment(key), list(validators))
    content = build_task_content(
        sealed_media.items,
        title=title,
        instructions=instructions,
        classes=classes,
        confidential=params,
        allowlist=allowlist,
    )
    sealed = seal_task_content(content, key, sealed_media.blobs)
    vault.save(sealed.manifest_cid, key)
    return sealed


class KeyPublisher:
    """Wrap each confidential task's key to its named validators and seated annotators."""

    name = "task-keys"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        keyring: Keyring,
        task_keys: Contract,
        sender: TxSender,
        chain_id: int,
        vault: TaskKeyVault,
        assigner: Assigner,
    ) -> None:
        self.db = db
        self.store = store
        self.keyring = keyring
        self.task_keys = task_keys
        self.sender = sender
        self.chain_id = chain_id
        self.vault = vault
        self.assigner = assigner
        self.requester = sender.address.lower()
        self._covered: dict[int, set[str]] = {}
        self._manifests: dict[int, Manifest | None] = {}

    def tick(self) -> None:
        now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        with self.db.session() as session:  # a key is of use until the commit deadline
            tasks = [
                task
                for task in TaskRepository(session).open_before(self.chain_id, now)
                if task.requester.lower() == self.requester
            ]
        for task in tasks:
            key = self.vault.find(task.manifest_cid)
            if key is None:
                continue
            manifest = self._manifest(task)
            if manifest is None or manifest.confidential is None:
                continue
            self._wrap(task, manifest.confidential, key)

    def _manifest(self, task: Task) -> Manifest | None:
        if task.task_id not in self._manifests:
            data = self.store.get(
                task.manifest_cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(READ_SECONDS)
            )
            manifest = Manifest.from_bytes(data)
            self._manifests[task.task_id] = manifest
        return self._manifests[task.task_id]

    def _covered_by(self, task_id: int) -> set[str]:
        """Addresses (lower case) some published document of ``task_id`` already names."""
        if task_id not in self._covered:
            covered: set[str] = set()
            for cid in published_keys(self.task_keys, task_id):
                try:
                    document = parse_key_document(self.store.get(cid, max_size=MAX_DOCUMENT_BYTES))
                except (StoreError, LabelnetError) as exc:
                    log.warning("task %s: cannot read own key document %s: %s", task_id, cid, exc)
                    continue
                covered.update(document.addresses)
            self._covered[task_id] = covered
        return self._covered[task_id]

    def _wrap(self, task: Task, params: ConfidentialParams, key: bytes) -> None:
        if key_commitment(key) != params.commitment:
            raise TaskKeyError(f"task {task.task_id}: the stored key is not the manifest's")
        seating = self.assigner.seating(task.task_id)
        seated = [] if seating is None else sorted(seating.seats)
        covered = self._covered_by(task.task_id)
        wanted = [a for a in (*params.validators, *seated) if a.lower() not in covered]
        if not wanted:
            return
        recipients = self.keyring.recipients(wanted)
        if not recipients:
            return
        document = build_key_document(task_scope(task.task_id), key, recipients)
        cid = self.store.put(document)
        publish_keys(self.sender, self.task_keys, task.task_id, cid)
        covered.update(recipient.address.lower() for recipient in recipients)
        log.info(
            "task %s: task key wrapped to %d readers (%s)",
            task.task_id,
            len(recipients),
            ", ".join(r.address for r in recipients),
        )
