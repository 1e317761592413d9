"""A node's keys to confidential content on a real anvil (docs/confidential.md §4, §7).

Announced keys, a task key document recorded in ``TaskKeys`` by the requester, the
annotator's sealed batch wrapped to the requester and a named validator: each reader gets
exactly what it was given, and a node given nothing is told it is not admitted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.registry import announce_encryption_key
from node.chain.task_keys import publish_keys
from node.chain.tx import TxSender
from node.keys import EncryptionKey, create_encryption_key
from node.protocol.cid import compute_cid
from node.protocol.labels import LABELS_V2, LabelBatch, read_batch
from node.protocol.manifest import ItemSpec
from node.protocol.sealed import SealedTamperedError, key_commitment, new_content_key, open_sealed
from node.protocol.sealed_keys import Recipient, build_key_document
from node.roles.confidential import Keyring, NotAdmittedError, task_scope
from node.roles.requester.posting import PlaintextMediaError, publish_content
from node.roles.requester.task_keys import TaskKeyError, TaskKeyVault, confidential_content
from node.store.embedded import EmbeddedStore
from node.store.sealed import ITEMS, MEDIA, SealedView, open_media, read_item_page
from tests.chain.test_seats import _create
from tests.conftest import Actors


def _node(
    w3: Web3, contracts: Contracts, store: EmbeddedStore, account: LocalAccount, path: Path
) -> tuple[Keyring, EncryptionKey]:
    key = create_encryption_key(path / f"{account.address}.json", "pw", fast=True)
    announce_encryption_key(TxSender(w3, account), contracts.registry, key.public_key)
    keyring = Keyring(
        address=account.address,
        key=key,
        store=store,
        registry=contracts.registry,
        task_keys=contracts.task_keys,
    )
    return keyring, key


def test_task_key_reaches_the_admitted_only_and_batches_their_readers(
    w3: Web3, contracts: Contracts, actors: Actors, tmp_path: Path
) -> None:
    assert contracts.task_keys is not None
    store = EmbeddedStore(tmp_path / "store")
    requester, _ = _node(w3, contracts, store, actors.requester, tmp_path)
    annotator, _ = _node(w3, contracts, store, actors.annotator_a, tmp_path)
    validator, _ = _node(w3, contracts, store, actors.validator_1, tmp_path)
    outsider, _ = _node(w3, contracts, store, actors.outsider, tmp_path)

    vault = TaskKeyVault(tmp_path / "vault")
    items = [ItemSpec(id=f"i{n}", data={"text": f"secret {n}"}) for n in range(3)]
    content = confidential_content(
        items, [actors.validator_1.address], vault, title="t", classes=("a", "b")
    )
    params = content.manifest.confidential
    assert params is not None and params.validators == (actors.validator_1.address,)
    for page in content.pages:
        store.put(page)
    task_key = vault.find(content.manifest_cid)
    assert task_key is not None and key_commitment(task_key) == params.commitment

    task_id, _ = _create(w3, contracts, actors, batch=4)
    with pytest.raises(NotAdmittedError, match="none of the 0 key documents"):
        annotator.task_key(task_id, params)
    # A document anyone could store, wrapping another key: never opens anything.
    forged = build_key_document(
        task_scope(task_id),
        new_content_key(),
        requester.recipients([actors.annotator_a.address]),
    )
    publish_keys(TxSender(w3, actors.requester), contracts.task_keys, task_id, store.put(forged))
    wrapped = build_key_document(
        task_scope(task_id),
        task_key,
        requester.recipients([actors.annotator_a.address.lower(), actors.validator_1.address]),
    )
    publish_keys(TxSender(w3, actors.requester), contracts.task_keys, task_id, store.put(wrapped))

    assert annotator.task_key(task_id, params) == task_key
    assert validator.task_key(task_id, params) == task_key
    with pytest.raises(NotAdmittedError, match="not admitted"):
        outsider.task_key(task_id, params)
    page = read_item_page(
        SealedView(store, task_key, ITEMS), content.manifest.pages[0], max_size=1 << 20
    )
    assert [item.data for item in page.items] == [item.data for item in items]

    # The annotator's batch: sealed, wrapped to the requester and the named validator.
    batch = LabelBatch.create(task_id, actors.annotator_a.address, [("i0", "a"), ("i1", "b")])
    readers = [actors.requester.address, *params.validators]
    cid = annotator.publish_batch(batch, LABELS_V2, task_id, readers)
    for reader in (requester, validator):
        opened = reader.open_batch(cid, task_id, actors.annotator_a.address)
        root = opened.view.get(opened.root_cid, max_size=1 << 20)
        read = read_batch(
            root,
            opened.view.fetch(1 << 20),
            task_id=task_id,
            annotator=actors.annotator_a.address,
            labels_root=batch.root(),
            schema=LABELS_V2,
        )
        assert read.labels == batch.labels
    with pytest.raises(NotAdmittedError):
        outsider.open_batch(cid, task_id, actors.annotator_a.address)
    assert b"secret" not in b"".join(content.pages)


def test_recipients_leave_out_accounts_without_a_key(
    w3: Web3, contracts: Contracts, actors: Actors, tmp_path: Path
) -> None:
    store = EmbeddedStore(tmp_path / "store")
    requester, key = _node(w3, contracts, store, actors.requester, tmp_path)
    recipients = requester.recipients([actors.requester.address, actors.annotator_c.address])
    assert recipients == [Recipient(actors.requester.address, key.public_key)]


VALIDATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
IMAGE = b"\x89PNG\r\n\x1a\n a confidential picture of a secret thing"


def test_media_not_given_to_seal_is_refused(tmp_path: Path) -> None:
    item = ItemSpec(id="m", content=compute_cid(IMAGE), media_type="image/png")
    with pytest.raises(TaskKeyError, match="not given to seal"):
        confidential_content(
            [item], [VALIDATOR], TaskKeyVault(tmp_path), title="t", classes=("a", "b")
        )


def test_media_is_sealed_under_the_task_key_with_its_own_context(tmp_path: Path) -> None:
    vault = TaskKeyVault(tmp_path / "vault")
    items = [
        ItemSpec(id="m", content=compute_cid(IMAGE), media_type="image/png"),
        ItemSpec(id="t", data={"text": "inline"}),
    ]
    content = confidential_content(
        items, [VALIDATOR], vault, title="t", classes=("a", "b"), media=[IMAGE]
    )
    key = vault.find(content.manifest_cid)
    assert key is not None and len(content.media) == 1
    sealed = content.media[0]
    cid = compute_cid(sealed)
    assert cid != compute_cid(IMAGE) and IMAGE not in sealed
    store = EmbeddedStore(tmp_path / "store")
    assert publish_content(store, content) == content.manifest_cid
    page = read_item_page(
        SealedView(store, key, ITEMS), content.manifest.pages[0], max_size=1 << 20
    )
    entry = {item.id: item for item in page.items}["m"]
    assert entry.content == cid and entry.media_type == "image/png"
    assert open_media(store, key, cid, max_size=1 << 20) == IMAGE
    with pytest.raises(SealedTamperedError):  # another key
        open_media(store, new_content_key(), cid, max_size=1 << 20)
    with pytest.raises(SealedTamperedError):  # a page is not media, nor media a page
        open_sealed(key, ITEMS, sealed)
    with pytest.raises(SealedTamperedError):
        open_sealed(key, MEDIA, store.get(content.manifest.pages[0], max_size=1 << 20))
    # Plaintext media beside sealed content would be served to anyone: refused.
    with pytest.raises(PlaintextMediaError, match="would publish them"):
        publish_content(store, content, [IMAGE])
    assert not store.has(compute_cid(IMAGE))
