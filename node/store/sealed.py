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
from collections.abc import Sequence
from typing import Final

from node.errors import LabelnetError
from node.protocol.cid import compute_cid
from node.protocol.labels import LabelBatch
from node.protocol.manifest import ItemPage, ItemSpec, TaskContent
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


class SealedMediaError(LabelnetError, ValueError):
    """An item names media the requester did not give to seal."""


@dataclasses.dataclass(frozen=True)
class SealedMedia:
    """What :func:`seal_media` gives: the items to build pages from, and the blobs to store."""

    items: tuple[ItemSpec, ...]
    blobs: tuple[bytes, ...]


def seal_media(items: Sequence[ItemSpec], media: Sequence[bytes], key: bytes) -> SealedMedia:
    """Each item's media file sealed under the task ``key`` with context :data:`MEDIA`, and
    the items naming the ciphertext's CID instead of the plaintext's.

    ``items`` name their media by the plaintext CID (as every importer makes them) and
    ``media`` holds the files; an item whose CID is not among them is refused, since the
    plaintext CID alone would let anyone holding the file confirm it. The context differs
    from the pages' (:data:`ITEMS`), so a sealed page never opens as media or back."""
    files = {compute_cid(blob): blob for blob in media}
    sealed: dict[str, bytes] = {}
    renamed: list[ItemSpec] = []
    for item in items:
        if item.content is None:
            renamed.append(item)
            continue
        blob = files.get(item.content)
        if blob is None:
            raise SealedMediaError(
                f"item {item.id!r} names media {item.content} that was not given to seal"
            )
        ciphertext = seal(key, MEDIA, blob)
        cid = compute_cid(ciphertext)
        sealed[cid] = ciphertext
        renamed.append(dataclasses.replace(item, content=cid))
    return SealedMedia(items=tuple(renamed), blobs=tuple(sealed.values()))


def open_media(
    store: ContentStore, key: bytes, cid: str, *, max_size: int, budget: FetchBudget | None = None
) -> bytes:
    """A sealed media file's plaintext: fetched and verified by its ciphertext ``cid``, then
    authenticated under the task ``key`` and :data:`MEDIA`."""
    return bytes(SealedView(store, key, MEDIA).get(cid, max_size=max_size, budget=budget))


def seal_task_content(
    content: TaskContent, key: bytes, media: tuple[bytes, ...] = ()
) -> TaskContent:
    """``content`` (from :func:`~node.protocol.manifest.build_task_content`) with each item
    page sealed under the task ``key`` and the manifest listing the sealed pages' CIDs, so
    readers verify ciphertext by CID, then open it.

    Media are sealed before the items are built (:func:`seal_media`) and the items name
    the sealed file's CID as their ``content``; ``media`` (those sealed blobs) are carried
    in the result, stored before the pages. The manifest stays public: a node decides
    whether to seat from it, before it can hold the key.
    """
    pages = tuple(seal(key, ITEMS, page) for page in content.pages)
    manifest = dataclasses.replace(
        content.manifest, pages=tuple(compute_cid(page) for page in pages)
    )
    return TaskContent(
        manifest=manifest, manifest_bytes=manifest.to_bytes(), pages=pages, media=media
    )


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
