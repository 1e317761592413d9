"""``GET /api/v1/ui/tasks/{id}/items/{item}/media`` (docs/confidential.md §9): a confidential
task's media, opened with the task key wrapped to this node on a real anvil. Before the
requester wraps the key the node answers 403; after, the original bytes with the item's
media type; the node's own gateway serves only ciphertext under the item's CID all along."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from web3 import Web3

from node.app.runtime import NodeServices
from node.chain.contracts import Contracts
from node.chain.registry import announce_encryption_key
from node.chain.task_keys import publish_keys
from node.chain.tx import TxSender
from node.db.models import ItemCreate
from node.db.repositories import ItemRepository
from node.keys import create_encryption_key
from node.protocol.cid import compute_cid
from node.protocol.manifest import ItemSpec
from node.protocol.sealed_keys import build_key_document
from node.roles.confidential import Keyring, task_scope
from node.roles.requester.posting import publish_content
from node.roles.requester.task_keys import TaskKeyVault, confidential_content
from tests.api.conftest import CHAIN, add_task
from tests.chain.test_seats import _create
from tests.conftest import Actors

IMAGE = b"\x89PNG\r\n\x1a\n a sealed picture that only admitted nodes may see"


def test_admitted_node_gets_the_media_others_get_ciphertext(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    tmp_path: Path,
) -> None:
    node = actors.annotator_a
    services.account = node
    services.encryption_key = create_encryption_key(tmp_path / "node.x25519", "pw", fast=True)
    announce_encryption_key(
        TxSender(w3, node), contracts.registry, services.encryption_key.public_key
    )
    # The node's keyring, as NodeServices.keyring builds it on a node with a chain.
    services._keyring = Keyring(
        address=node.address,
        key=services.encryption_key,
        store=services.store,
        registry=contracts.registry,
        task_keys=contracts.task_keys,
    )
    vault = TaskKeyVault(tmp_path / "vault")
    items = [ItemSpec(id="photo", content=compute_cid(IMAGE), media_type="image/png")]
    content = confidential_content(
        items, [actors.validator_1.address], vault, title="t", classes=("a", "b"), media=[IMAGE]
    )
    publish_content(services.store, content)
    task_id, _ = _create(w3, contracts, actors, batch=4)
    add_task(services.db, task_id=task_id, items=0, manifest_cid=content.manifest_cid)
    sealed_cid = compute_cid(content.media[0])
    with services.db.write() as session:
        ItemRepository(session).upsert_many(
            CHAIN,
            task_id,
            [
                ItemCreate(
                    item_id="photo",
                    position=0,
                    page_cid=content.manifest.pages[0],
                    content_cid=sealed_cid,
                )
            ],
        )
    url = f"/api/v1/ui/tasks/{task_id}/items/photo/media"

    assert client.get(url).status_code == 401
    refused = client.get(url, headers=auth)
    assert refused.status_code == 403, refused.text
    assert IMAGE not in refused.content
    assert (
        client.get(f"/api/v1/ui/tasks/{task_id}/items/nothing/media", headers=auth).status_code
        == 404
    )

    key = vault.find(content.manifest_cid)
    assert key is not None
    requester = Keyring(
        address=actors.requester.address,
        key=None,
        store=services.store,
        registry=contracts.registry,
        task_keys=contracts.task_keys,
    )
    document = build_key_document(task_scope(task_id), key, requester.recipients([node.address]))
    publish_keys(
        TxSender(w3, actors.requester), contracts.task_keys, task_id, services.store.put(document)
    )
    opened = client.get(url, headers=auth)
    assert opened.status_code == 200, opened.text
    assert opened.content == IMAGE
    assert opened.headers["content-type"] == "image/png"
    assert "blob:" in opened.headers["content-security-policy"]

    gateway = client.get(f"/ipfs/{sealed_cid}")
    assert gateway.status_code == 200
    assert gateway.content == content.media[0] and IMAGE not in gateway.content
