"""A sealed task in a real store behind a real gateway: CIDs over ciphertext, key holders
read, everyone else (a non-admitted node, a gateway observer) sees ciphertext only."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from nacl.public import PrivateKey

from node.protocol.cid import CHUNK_SIZE, compute_cid
from node.protocol.labels import LABELS_V2, LabelBatch, parse_batch_root, read_batch
from node.protocol.manifest import ItemSpec, Manifest, build_task_content
from node.protocol.sealed import SealedKeyMissingError, SealedTamperedError, new_content_key
from node.protocol.sealed_keys import Recipient, build_key_document, parse_key_document, unwrap_key
from node.protocol.unixfs import build_file_dag
from node.store import EmbeddedStore
from node.store.sealed import (
    ITEMS,
    LABELS,
    MEDIA,
    SealedView,
    publish_sealed_batch,
    read_item_page,
    seal_task_content,
)
from tests.store.servers import gateway_app, serve

ITEM_COUNT = 1200  # three item pages
MEDIA_BYTES = random.Random(19).randbytes(2 * CHUNK_SIZE + 5)  # a three-leaf UnixFS file
CLASSES = ("benign", "malignant")


def _text(index: int) -> str:
    return f"confidential finding {index:05d} of patient zq{index * 7919:08d}"


@dataclass(frozen=True)
class SealedTask:
    store: EmbeddedStore
    url: str
    manifest: Manifest
    manifest_cid: str
    media_cid: str
    batch_cid: str
    labels_cid: str
    batch: LabelBatch
    task_keys: bytes
    batch_keys: bytes
    stored: tuple[bytes, ...]
    task_key: bytes
    batch_key: bytes


ANNOTATOR = Account.from_key(b"\x01" * 32)
REQUESTER = Account.from_key(b"\x02" * 32)
OUTSIDER = Account.from_key(b"\x03" * 32)
ANNOTATOR_SK = PrivateKey(b"\x11" * 32)
REQUESTER_SK = PrivateKey(b"\x12" * 32)
OUTSIDER_SK = PrivateKey(b"\x13" * 32)


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealedTask]:
    store = EmbeddedStore.in_data_dir(tmp_path_factory.mktemp("sealed") / "data")
    task_key, batch_key = new_content_key(), new_content_key()
    media_cid = SealedView(store, task_key, MEDIA).put(MEDIA_BYTES)
    items = [ItemSpec(id=f"scan-{i:05d}", data={"text": _text(i)}) for i in range(ITEM_COUNT)]
    items.append(ItemSpec(id="scan-image", content=media_cid, media_type="image/png"))
    content = seal_task_content(
        build_task_content(items, title="Findings", classes=CLASSES), task_key
    )
    stored = [*content.blobs()]
    cids = [store.put(blob) for blob in stored]
    task_keys = build_key_document(
        "task/7", task_key, [Recipient(ANNOTATOR.address, bytes(ANNOTATOR_SK.public_key))]
    )
    store.put(task_keys)
    labels = [(item.id, CLASSES[i % 2]) for i, item in enumerate(items)]
    batch = LabelBatch.create(7, ANNOTATOR.address, labels)
    batch_cid = publish_sealed_batch(batch, LABELS_V2, SealedView(store, batch_key, LABELS))
    batch_keys = build_key_document(
        "labels/7/1",
        batch_key,
        [Recipient(REQUESTER.address, bytes(REQUESTER_SK.public_key))],
        content=batch_cid,
    )
    labels_cid = store.put(batch_keys)  # what the annotator reveals
    with serve(gateway_app(store)) as url:
        yield SealedTask(
            store=store,
            url=url,
            manifest=content.manifest,
            manifest_cid=cids[-1],
            media_cid=media_cid,
            batch_cid=batch_cid,
            labels_cid=labels_cid,
            batch=batch,
            task_keys=task_keys,
            batch_keys=batch_keys,
            stored=tuple(stored),
            task_key=task_key,
            batch_key=batch_key,
        )


def test_cids_are_over_the_ciphertext(task: SealedTask) -> None:
    pages = task.stored[:-1]
    assert len(pages) == 3
    assert task.manifest.pages == tuple(compute_cid(page) for page in pages)
    for cid in task.manifest.pages:
        assert task.store.get(cid, max_size=1 << 20) in pages  # verified by the store


def test_admitted_annotator_reads_items_and_media(task: SealedTask) -> None:
    key = unwrap_key(parse_key_document(task.task_keys), ANNOTATOR.address, bytes(ANNOTATOR_SK))
    view = SealedView(task.store, key, ITEMS)
    first = read_item_page(view, task.manifest.pages[0], max_size=1 << 20)
    assert first.items[0].data == {"text": _text(0)}
    last = read_item_page(view, task.manifest.pages[-1], max_size=1 << 20)
    image = last.items[-1]
    assert image.content == task.media_cid
    media = SealedView(task.store, key, MEDIA).get(image.content, max_size=len(MEDIA_BYTES))
    assert media == MEDIA_BYTES


def test_requester_reads_the_revealed_batch(task: SealedTask) -> None:
    """From the revealed CID alone: the key document, the requester's key, the sealed root
    it names, then each sealed page through the ordinary ``read_batch`` checks."""
    document = parse_key_document(task.store.get(task.labels_cid, max_size=1 << 20))
    assert document.content == task.batch_cid
    key = unwrap_key(document, REQUESTER.address, bytes(REQUESTER_SK))
    view = SealedView(task.store, key, LABELS)
    root = view.get(document.content, max_size=1 << 20)
    batch = read_batch(
        parse_batch_root(root),
        view.fetch(4 << 20),
        task_id=7,
        annotator=ANNOTATOR.address,
        labels_root=task.batch.root(),
        schema=LABELS_V2,
    )
    assert batch == task.batch


def test_non_admitted_node_fetches_ciphertext_only(task: SealedTask) -> None:
    for document in (task.task_keys, task.batch_keys):
        with pytest.raises(SealedKeyMissingError):
            unwrap_key(parse_key_document(document), OUTSIDER.address, bytes(OUTSIDER_SK))
    # The annotator is not a recipient of the batch it revealed: it keeps its own key.
    with pytest.raises(SealedKeyMissingError):
        unwrap_key(parse_key_document(task.batch_keys), ANNOTATOR.address, bytes(ANNOTATOR_SK))
    guessed = SealedView(task.store, new_content_key(), ITEMS)
    with pytest.raises(SealedTamperedError):
        guessed.get(task.manifest.pages[0], max_size=1 << 20)


def _blocks_on_disk(root: Path) -> list[bytes]:
    return [path.read_bytes() for path in root.rglob("*.data")]


def test_gateway_observer_sees_no_plaintext(task: SealedTask) -> None:
    """Every block the store holds, and every block the gateway serves by CID, is free of
    item ids, item text, media bytes and (item, label) pairs."""
    on_disk = _blocks_on_disk(task.store.root)
    cids = [task.batch_cid, *task.manifest.pages, task.media_cid]
    served: list[bytes] = []
    with httpx.Client(base_url=task.url, timeout=10) as http:
        for blob_cid in cids:
            blob = task.store.get(blob_cid, max_size=4 << 20)
            for cid in build_file_dag(blob).blocks:
                response = http.get(f"/ipfs/{cid}", params={"format": "raw"})
                assert response.status_code == 200
                served.append(response.content)
    assert len(on_disk) > len(cids) and len(served) >= len(cids) + 3
    secrets = [
        *(f"scan-{i:05d}".encode() for i in range(0, ITEM_COUNT, 97)),
        *(_text(i).encode() for i in range(0, ITEM_COUNT, 97)),
        *(MEDIA_BYTES[start : start + 32] for start in range(0, len(MEDIA_BYTES), CHUNK_SIZE)),
        b'"item":"scan-00001","value":"malignant"',
        task.task_key,
        task.batch_key,
    ]
    for block in on_disk + served:
        assert not any(secret in block for secret in secrets)
    # The secrets are really in the plaintext: the check above can fail.
    assert (
        _text(97).encode()
        in build_task_content(
            [ItemSpec(id="scan-00097", data={"text": _text(97)})], title="t", classes=CLASSES
        ).pages[0]
    )
