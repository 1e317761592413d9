"""Sealed content in a store: what a confidential task writes and reads (``sealed@1``).

The store never sees a key: :class:`SealedView` seals before ``put`` and opens after
``get``, so the store, the gateway and every peer hold, serve and verify ciphertext by its
CID exactly as they do public content (``node.store.base`` is unchanged). A node without the
key can fetch and verify every block and read none of them.

Contexts are purposes (``items``, ``media``, ``labels``), not positions: where a blob sits
is already fixed by the CID lists that reference it (the manifest lists its pages in order,
a batch root its pages, and the chain the manifest's and the root's CIDs), and each purpose
under a task uses its own key or context, so a blob cannot be moved to another role.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from node.protocol.cid import compute_cid
from node.protocol.labels import LabelBatch
from node.protocol.manifest import ItemPage, TaskContent
from node.protocol.paging import Fetch
from node.protocol.sealed import OVERHEAD, Opened, open_sealed, seal
from node.store.base import ContentStore
from node.store.budget import FetchBudget

ITEMS: Final = "items"
"""Context of a task's item pages (the task key)."""
MEDIA: Final = "media"
"""Context of a task's media files (the task key)."""
LABELS: Final = "labels"
"""Context of a revealed label batch's root and pages (the batch key)."""


class SealedView:
    """``store`` seen through one content key and context: puts seal, gets open."""

    def __init__(self, store: ContentStore, key: bytes, context: str) -> None:
        self._store = store
        self._key = key
        self._context = context

    def put(self, plaintext: bytes) -> str:
        """Seal ``plaintext`` and store it; the CID returned is the ciphertext's."""
        return self._store.put(seal(self._key, self._context, plaintext))

    def get(self, cid: str, *, max_size: int, budget: FetchBudget | None = None) -> bytes:
        """The plaintext under ``cid`` (at most ``max_size`` bytes of it): fetched and
        verified by CID like any content, then authenticated and opened; returned as
        :class:`~node.protocol.sealed.Opened`, so page readers accept it for ``cid``."""
        blob = self._store.get(cid, max_size=max_size + OVERHEAD, budget=budget)
        return Opened(open_sealed(self._key, self._context, blob))

    def fetch(self, max_size: int, budget: FetchBudget | None = None) -> Fetch:
        """A :data:`~node.protocol.paging.Fetch` for the page readers (``read_batch``),
        with the caller's limits and deadline like any read of peer content."""
        return lambda cid: self.get(cid, max_size=max_size, budget=budget)


def seal_task_content(content: TaskContent, key: bytes) -> TaskContent:
    """``content`` (from :func:`~node.protocol.manifest.build_task_content`) with each item
    page sealed under the task ``key`` and the manifest listing the sealed pages' CIDs, so
    readers verify ciphertext by CID, then open it.

    Media are sealed before the items are built (:meth:`SealedView.put` with :data:`MEDIA`)
    and the items name the sealed file's CID as their ``content``. The manifest stays
    public: a node decides whether to seat from it, before it can hold the key.
    """
    pages = tuple(seal(key, ITEMS, page) for page in content.pages)
    manifest = dataclasses.replace(
        content.manifest, pages=tuple(compute_cid(page) for page in pages)
    )
    return TaskContent(manifest=manifest, manifest_bytes=manifest.to_bytes(), pages=pages)


def read_item_page(
    view: SealedView, cid: str, *, max_size: int, budget: FetchBudget | None = None
) -> ItemPage:
    """A sealed item page, verified by CID, opened with the task key and parsed."""
    return ItemPage.from_bytes(view.get(cid, max_size=max_size, budget=budget))


def publish_sealed_batch(batch: LabelBatch, schema: str, view: SealedView) -> str:
    """Store ``batch`` sealed under the batch key (pages, then root) and return the CID to
    reveal; the labels Merkle root committed on chain is over the plaintext labels, so a
    validator checks it after opening, as for a public batch."""
    return batch.publish(schema, view.put)
