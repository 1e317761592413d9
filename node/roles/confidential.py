"""A node's keys to confidential tasks (docs/confidential.md §4): find, open and make them.

:class:`Keyring` is what every role shares:

* the **task key** of a task, from the key documents its requester published in
  ``TaskKeys`` (:func:`node.chain.task_keys.published_keys`), unwrapped with this node's
  X25519 key and checked against the manifest's commitment, so a document of another task
  or a forged wrap never opens anything. A node no document names gets
  :class:`NotAdmittedError`, which says why: it fetches ciphertext only;
* the **batch key** of a revealed label batch, whose ``labelsCid`` is a key document
  (``scope: labels/<task>/<annotator>``) naming the sealed batch root as its ``content``;
* the **recipients** a key is wrapped to: accounts with an announced key
  (``NodeRegistry.encryptionKey``); an account without one is left out and said so.

Every document read here is content like any other: fetched by CID and verified before it
is parsed. Keys are kept in memory only (the requester keeps its task keys on disk,
:mod:`node.roles.requester.task_keys`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from eth_utils.address import to_checksum_address
from web3.contract import Contract

from node.chain.registry import encryption_key
from node.chain.task_keys import published_keys
from node.errors import LabelnetError
from node.keys import EncryptionKey
from node.protocol.labels import LabelBatch
from node.protocol.manifest_confidential import ConfidentialParams
from node.protocol.sealed import SealedError, SealedKeyMissingError, new_content_key
from node.protocol.sealed_keys import (
    MAX_DOCUMENT_BYTES,
    KeyDocument,
    Recipient,
    build_key_document,
    parse_key_document,
    unwrap_key,
)
from node.store.base import ContentStore
from node.store.budget import FetchBudget
from node.store.sealed import LABELS, SealedView, publish_sealed_batch

log = logging.getLogger(__name__)

DOCUMENT_SECONDS = 30.0
"""Longest read of one key document."""


class NotAdmittedError(LabelnetError, PermissionError):
    """No key of a confidential task (or batch) is wrapped to this node: it can fetch and
    verify the ciphertext and read nothing."""


def task_scope(task_id: int) -> str:
    """The ``scope`` of a task's key documents."""
    return f"task/{task_id}"


def batch_scope(task_id: int, annotator: str) -> str:
    """The ``scope`` of an annotator's batch key document."""
    return f"labels/{task_id}/{annotator.lower()}"


@dataclass(frozen=True)
class OpenedBatch:
    """A revealed confidential batch: its sealed root's CID and a view that opens it."""

    root_cid: str
    view: SealedView


class Keyring:
    """This node's access to confidential content (see the module doc)."""

    def __init__(
        self,
        *,
        address: str,
        key: EncryptionKey | None,
        store: ContentStore,
        registry: Contract,
        task_keys: Contract | None,
    ) -> None:
        self.address = address
        self.key = key
        self.store = store
        self.registry = registry
        self.task_keys = task_keys
        self._task_keys: dict[int, bytes] = {}

    def _document(self, cid: str) -> KeyDocument:
        data = self.store.get(
            cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(DOCUMENT_SECONDS)
        )
        return parse_key_document(data)

    def _secret(self) -> bytes:
        if self.key is None:
            raise NotAdmittedError("this node has no encryption key (it has no account)")
        return self.key.secret

    def task_key(self, task_id: int, params: ConfidentialParams) -> bytes:
        """The task key of ``task_id`` wrapped to this node; :class:`NotAdmittedError` if
        no document its requester published names this node (yet)."""
        if task_id in self._task_keys:
            return self._task_keys[task_id]
        secret = self._secret()
        if self.task_keys is None:
            raise NotAdmittedError("the deployment has no TaskKeys contract")
        published = published_keys(self.task_keys, task_id)
        for cid in reversed(published):  # the newest names the latest seats
            try:
                document = self._document(cid)
            except SealedError as exc:
                log.warning("task %s: ignoring key document %s: %s", task_id, cid, exc)
                continue
            if document.scope != task_scope(task_id) or document.commitment != params.commitment:
                log.warning("task %s: key document %s is for another key", task_id, cid)
                continue
            try:
                key = unwrap_key(document, self.address, secret)
            except SealedKeyMissingError:
                continue
            self._task_keys[task_id] = key
            return key
        raise NotAdmittedError(
            f"not admitted: none of the {len(published)} key documents of task {task_id} "
            f"wraps its key to {self.address}; this node holds ciphertext only"
        )

    def open_batch(self, labels_cid: str, task_id: int, annotator: str) -> OpenedBatch:
        """The batch a confidential task's annotator revealed as ``labels_cid`` (its key
        document), opened with the batch key wrapped to this node."""
        document = self._document(labels_cid)
        if document.scope != batch_scope(task_id, annotator) or document.content is None:
            raise SealedError(f"{labels_cid} is not the batch key document of {annotator}")
        try:
            key = unwrap_key(document, self.address, self._secret())
        except SealedKeyMissingError as exc:
            raise NotAdmittedError(str(exc)) from exc
        return OpenedBatch(document.content, SealedView(self.store, key, LABELS))

    def recipients(self, addresses: Iterable[str]) -> list[Recipient]:
        """``addresses`` (each once) with their announced keys; those without a key are
        left out (and logged): nothing can be wrapped to them."""
        out: list[Recipient] = []
        seen: set[str] = set()
        for address in addresses:
            if address.lower() in seen:
                continue
            seen.add(address.lower())
            checksummed = to_checksum_address(address)
            public_key = encryption_key(self.registry, checksummed)
            if public_key is None:
                log.warning("%s announced no encryption key: nothing is wrapped to it", address)
                continue
            out.append(Recipient(checksummed, public_key))
        return out

    def publish_batch(
        self, batch: LabelBatch, schema: str, task_id: int, readers: Iterable[str]
    ) -> str:
        """Seal ``batch`` under a fresh batch key, wrap the key to ``readers`` (the requester
        and the named validators) and store both; the key document's CID is what the
        annotator reveals. :class:`NotAdmittedError` when no reader has a key."""
        recipients = self.recipients(readers)
        if not recipients:
            raise NotAdmittedError(f"task {task_id}: no reader of the batch announced a key")
        key = new_content_key()
        root_cid = publish_sealed_batch(batch, schema, SealedView(self.store, key, LABELS))
        document = build_key_document(
            batch_scope(task_id, batch.annotator), key, recipients, content=root_cid
        )
        return self.store.put(document)
