"""A confidential task's media for the labeling page (docs/confidential.md §9).

A sealed media file is stored, fetched and served by its ciphertext's CID like any block,
so ``/ipfs/CID`` on this node's gateway returns ciphertext. The page instead asks
:func:`sealed_media`, behind the API token: the node opens the file with the task key the
requester wrapped to it (its :class:`~node.roles.confidential.Keyring`) and returns the
plaintext with the media type its sealed item page states. A node that holds no key for the
task answers 403 and never has plaintext to give.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.app.runtime import NodeServices
from node.app.ui_report import known_task
from node.db.models import Task
from node.db.repositories import ItemRepository
from node.errors import LabelnetError
from node.protocol.manifest import MAX_DOCUMENT_BYTES, Manifest
from node.roles.confidential import NotAdmittedError
from node.roles.content_fetch import MAX_ITEM_BYTES
from node.store.errors import BlockNotFoundError
from node.store.sealed import ITEMS, SealedView, open_media, read_item_page

DEFAULT_MEDIA_TYPE = "application/octet-stream"
SHOWN_MEDIA = ("image/", "audio/", "video/")
"""Media types served as stated; any other (``text/html``...) is served as
:data:`DEFAULT_MEDIA_TYPE`, so a requester's item cannot run as a page of this origin."""


class MediaNotFoundError(LabelnetError, LookupError):
    """No such item, no media on it, or the task is public (its media are at ``/ipfs/``)."""


@dataclass(frozen=True)
class Media:
    """An opened media file and the type its item page gives it."""

    data: bytes
    media_type: str


def _manifest(services: NodeServices, task: Task) -> Manifest:
    return Manifest.from_bytes(services.store.get(task.manifest_cid, max_size=MAX_DOCUMENT_BYTES))


def is_sealed(services: NodeServices, task_id: int) -> bool:
    """Whether ``task_id`` is confidential, as its manifest says.

    A node stores the manifest when it joins; a task it only knows from the chain (not
    joined, or its manifest not fetched yet) has no sealed media here to show, so it is
    answered as not sealed rather than failing the whole labeling view."""
    try:
        task = known_task(services.db, services.chain_id, task_id)
        return _manifest(services, task).confidential is not None
    except BlockNotFoundError:
        return False


def sealed_media(services: NodeServices, task_id: int, item_id: str) -> Media:
    """The plaintext of a confidential task's item media, for a node holding the task key.

    :class:`MediaNotFoundError` (404) for an unknown item, an item without media or a
    public task; :class:`~node.roles.confidential.NotAdmittedError` (403) when no key
    document wraps the task key to this node (or it has no account)."""
    task = known_task(services.db, services.chain_id, task_id)
    with services.db.session() as session:
        item = ItemRepository(session).get(services.chain_id, task_id, item_id)
    if item is None or item.content_cid is None or item.page_cid is None:
        raise MediaNotFoundError(f"task {task_id} has no media item {item_id!r} on this node")
    manifest = _manifest(services, task)
    if manifest.confidential is None:
        raise MediaNotFoundError(f"task {task_id} is public: its media are at /ipfs/CID")
    keyring = services.keyring()
    if keyring is None:
        raise NotAdmittedError("this node has no account, hence no task key")
    key = keyring.task_key(task_id, manifest.confidential)
    page = read_item_page(
        SealedView(services.store, key, ITEMS), item.page_cid, max_size=MAX_DOCUMENT_BYTES
    )
    spec = next((entry for entry in page.items if entry.id == item_id), None)
    if spec is None or spec.content != item.content_cid:
        raise MediaNotFoundError(f"item {item_id!r} is not on its page {item.page_cid}")
    data = open_media(services.store, key, item.content_cid, max_size=MAX_ITEM_BYTES)
    stated = spec.media_type or DEFAULT_MEDIA_TYPE
    shown = stated if stated.startswith(SHOWN_MEDIA) else DEFAULT_MEDIA_TYPE
    return Media(data=data, media_type=shown)
