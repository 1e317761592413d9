"""What the loader fetches to join a task, each block verified against its CID, and the
items it writes from it.

:class:`~node.roles.loader.TaskLoader` decides which tasks to look at, when to retry and
which outcome to record; :class:`ContentFetcher` reads a task's content for it: the manifest,
every item page (through the task key for a confidential task) and every media file the
items refer to, within the budgets below, and then writes the items from the local store a
few pages at a time. It is apart from the duty so that what a requester's content may cost
this node (its reads, its media, its disk) has one owner, and the duty's module is left
with the join's schedule and outcomes. Content that is malformed, or would cost more than
the node allows, raises :class:`DeclinedError` or
:class:`~node.protocol.manifest.ManifestError`, and the loader declines the task for good.

**Budgets.** Documents are read in the canonical layout (as validators read them), so a DAG
of another shape is refused after a few blocks. Media are what a requester controls and the
node pays for in disk: a task's media may take at most ``max_task_media_bytes``, and at most
one MiB per ``min_reward_per_mib`` token units of its reward pool, checked against each
file's declared size before its leaves are read; and no media are fetched while the disk
holds less than ``disk_reserve`` bytes beyond them, which is kept for the reveals and claims
of tasks already joined. A task over any of these is declined with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from node.db.models import ItemCreate, Task
from node.db.repositories.tasks import ItemRepository
from node.errors import LabelnetError
from node.protocol.annotation import pair_sides
from node.protocol.errors import InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.manifest import (
    MAX_DOCUMENT_BYTES,
    ItemPage,
    ItemSpec,
    Manifest,
    ManifestError,
)
from node.protocol.sealed import SealedError
from node.store.base import ContentStore
from node.store.errors import FileTooLargeError
from node.store.sealed import SealedView, read_item_page

__all__ = [
    "DEFAULT_DISK_RESERVE",
    "DEFAULT_REWARD_PER_MIB",
    "DEFAULT_TASK_MEDIA_BYTES",
    "MAX_ITEM_BYTES",
    "ContentFetcher",
    "DeclinedError",
]

T = TypeVar("T")

MAX_CID_LENGTH = 128
"""Longest CID the items table stores (``node.db.types.CID``); only identity CIDs inlining
over ~70 bytes are longer, and no honest task names media that way."""
WRITE_PAGES = 20
"""Item pages written per statement when a task is joined (10,000 items of 500)."""

MIB = 1024 * 1024
DEFAULT_TASK_MEDIA_BYTES = 1024 * MIB
MAX_ITEM_BYTES = 32 * MIB
"""Default cap on one media file a node fetches (and, sealed, opens for its page)."""
DEFAULT_REWARD_PER_MIB = 10**12
"""Token units of reward pool a task needs per MiB of media (10**-6 of an 18-decimal token):
a task escrowing a few wei cannot make the node store hundreds of megabytes."""
DEFAULT_DISK_RESERVE = 256 * MIB
"""The ``disk_reserve_bytes`` setting's default, which ``/readyz`` checks too."""


class DeclinedError(LabelnetError, ValueError):
    """This node does not take part in the task: not qualified, or malformed content."""


class ContentFetcher:
    """Read, verify and store one task's content within this node's budgets; see the module
    docstring."""

    def __init__(
        self,
        *,
        store: ContentStore,
        chain_id: int,
        max_item_bytes: int,
        max_task_media_bytes: int,
        min_reward_per_mib: int,
        disk_reserve: int,
        data_dir: Path | None,
    ) -> None:
        self.store = store
        self.chain_id = chain_id
        self.max_item_bytes = max_item_bytes
        self.max_task_media_bytes = max_task_media_bytes
        self.min_reward_per_mib = min_reward_per_mib
        self.disk_reserve = disk_reserve
        self.data_dir = data_dir

    def manifest(self, task: Task) -> Manifest:
        data = self.store.get(task.manifest_cid, max_size=MAX_DOCUMENT_BYTES, canonical=True)
        return _parsed(Manifest.from_bytes, data, "manifest")

    def media_budget(self, task: Task) -> int:
        """Bytes of media this node stores for ``task``: its own cap, and what the reward
        pool pays for at ``min_reward_per_mib``."""
        if self.min_reward_per_mib == 0:
            return self.max_task_media_bytes
        return min(self.max_task_media_bytes, task.reward_pool * MIB // self.min_reward_per_mib)

    def _fetch_media(self, item: str, cid: str, left: int) -> int:
        """Fetch and store one media file within ``left`` bytes; returns its size."""
        if self.data_dir is not None:
            free = shutil.disk_usage(self.data_dir).free
            if free - min(left, self.max_item_bytes) < self.disk_reserve:
                raise DeclinedError(
                    f"item {item!r}: {free} bytes free on disk, and {self.disk_reserve} are "
                    "kept for the reveals and claims of tasks already joined"
                )
        try:
            return len(self.store.get(cid, max_size=min(self.max_item_bytes, left)))
        except FileTooLargeError as exc:
            raise DeclinedError(
                f"item {item!r}: media over this node's budget for the task "
                f"({min(self.max_item_bytes, left)} bytes left of it): {exc}"
            ) from exc

    def check_items(
        self, manifest: Manifest, media_budget: int, view: SealedView | None = None
    ) -> int:
        """Verify every page and media file and store them here; returns the item count.

        Only the ids are kept (to refuse an id on two pages): the items are written by
        :meth:`write_items`, a few pages at a time, so a million-item task never has a
        row object per item in memory (about a kilobyte each)."""
        count = 0
        seen: set[str] = set()
        sides: set[str] = set()
        for page_cid in manifest.pages:
            if len(page_cid) > MAX_CID_LENGTH:
                raise ManifestError(f"page CID {page_cid[:80]}... too long to store")
            for spec in self._page(page_cid, view).items:
                if spec.id in seen:
                    raise ManifestError(f"item id {spec.id!r} appears on two pages")
                seen.add(spec.id)
                if manifest.kind is TaskKind.PAIRWISE:
                    # The two responses are what the annotator compares: fetched (and so
                    # verified) like media, once each however many pairs share them.
                    for side in _check_pair(spec):
                        if side not in sides:
                            sides.add(side)
                            media_budget -= self._fetch_media(spec.id, side, media_budget)
                if spec.content is not None:
                    if len(spec.content) > MAX_CID_LENGTH:
                        raise ManifestError(f"item {spec.id!r}: content CID too long to store")
                    media_budget -= self._fetch_media(spec.id, spec.content, media_budget)
                count += 1
        if count != manifest.num_items:
            raise ManifestError(
                f"the pages list {count} items, the manifest says {manifest.num_items}"
            )
        return count

    def _page(self, page_cid: str, view: SealedView | None = None) -> ItemPage:
        if view is not None:
            try:
                return read_item_page(view, page_cid, max_size=MAX_DOCUMENT_BYTES)
            except SealedError as exc:  # a page that does not open under the task key
                raise DeclinedError(f"sealed item page {page_cid}: {exc}") from exc
        data = self.store.get(page_cid, max_size=MAX_DOCUMENT_BYTES, canonical=True)
        return _parsed(ItemPage.from_bytes, data, f"item page {page_cid}")

    def write_items(
        self,
        items: ItemRepository,
        task_id: int,
        manifest: Manifest,
        view: SealedView | None = None,
    ) -> None:
        """Every item in manifest order, from the pages :meth:`check_items` verified and
        stored here (read back from the local store), :data:`WRITE_PAGES` pages a statement."""
        chunk: list[ItemCreate] = []
        position = 0
        for number, page_cid in enumerate(manifest.pages, start=1):
            for spec in self._page(page_cid, view).items:
                chunk.append(
                    ItemCreate(
                        item_id=spec.id,
                        position=position,
                        page_cid=page_cid,
                        content_cid=spec.content,
                        data=spec.data,
                    )
                )
                position += 1
            if number % WRITE_PAGES == 0 or number == len(manifest.pages):
                items.upsert_many(self.chain_id, task_id, chunk)
                chunk = []


def _parsed(parse: Callable[[bytes], T], data: bytes, what: str) -> T:
    """``parse(data)``; any way the document can be malformed becomes :class:`DeclinedError`.

    The parsers promise :class:`ManifestError` (deep JSON included: they check the depth
    before parsing, see :func:`node.protocol.canonical.load_json`); any other ``ValueError``
    or ``RecursionError`` from them still means bytes that will never become a valid
    document, so it declines too rather than being retried.
    """
    try:
        return parse(data)
    except ManifestError:
        raise
    except (ValueError, RecursionError) as exc:
        raise DeclinedError(f"malformed {what}: {exc!r}") from exc


def _check_pair(spec: ItemSpec) -> tuple[str, str]:
    """A pairwise item names its two sides (:func:`node.protocol.annotation.pair_sides`),
    or validators could not score the task: joining it would be work nobody pays for."""
    try:
        return pair_sides(spec.data)
    except InvalidParameterError as exc:
        raise ManifestError(f"item {spec.id!r}: {exc}") from exc
