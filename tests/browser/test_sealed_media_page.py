"""The labelling page on a confidential task with an image (docs/confidential.md §9): a
real node process on anvil announces its encryption key, the requester wraps the task key
to it, the node joins and the page shows the sealed picture through a ``blob:`` URL it
fetched from the node's media route; ``/ipfs/CID`` of the same item serves ciphertext."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.registry import encryption_key
from node.chain.task_keys import publish_keys
from node.chain.tx import TxSender
from node.protocol.cid import compute_cid
from node.protocol.manifest import ItemSpec
from node.protocol.sealed_keys import Recipient, build_key_document
from node.roles.confidential import task_scope
from node.roles.requester.task_keys import TaskKeyVault, confidential_content
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.browser.content import IMAGES
from tests.browser.network import bond_ready, joined, post_task, wait_until
from tests.browser.pages import sign_in, watched_page
from tests.conftest import Actors

PICTURE = IMAGES["Picture smiling"]


def next_items(node: NodeUnderTest, task_id: int) -> list[object]:
    url = f"{node.url}/api/v1/tasks/{task_id}/items/next?limit=5"
    response = httpx.get(url, headers=node.headers())
    return list(response.json()) if response.status_code == 200 else []


def test_a_sealed_image_shows_through_a_blob_url(
    node: NodeUnderTest,
    browser: Browser,
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    tmp_path: Path,
) -> None:
    assert contracts.task_keys is not None
    vault = TaskKeyVault(tmp_path / "vault")
    items = [
        ItemSpec("pic", content=compute_cid(PICTURE), media_type="image/png"),
        ItemSpec("txt", data={"text": "a sealed sentence"}),
    ]
    content = confidential_content(
        items,
        [actors.validator_1.address],
        vault,
        title="Sealed pictures",
        classes=("positive", "negative"),
        media=[PICTURE],
    )
    key = vault.find(content.manifest_cid)
    assert key is not None
    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in content.blobs():
        store.put(blob)
    task = post_task(
        w3, contracts, actors.deployer, actors.requester, content.manifest_cid, len(items)
    )
    bond_ready(w3, contracts, actors.deployer, ANNOTATOR)
    node.start()
    wait_until(
        lambda: encryption_key(contracts.registry, ANNOTATOR.address) is not None,
        "the node to announce its encryption key",
    )
    public_key = encryption_key(contracts.registry, ANNOTATOR.address)
    assert public_key is not None
    document = build_key_document(
        task_scope(task.task_id), key, [Recipient(ANNOTATOR.address, public_key)]
    )
    publish_keys(
        TxSender(w3, actors.requester), contracts.task_keys, task.task_id, store.put(document)
    )
    wait_until(lambda: joined(node, task.task_id), "the node to join the task")
    # Joined first without the key ("sealed, not admitted yet"); the items come once the
    # loader's next look finds the document that wraps the key to this node.
    wait_until(lambda: bool(next_items(node, task.task_id)), "the node to open the items", 60)

    sealed_cid = compute_cid(content.media[0])
    gateway = httpx.get(f"{node.url}/ipfs/{sealed_cid}")
    assert gateway.status_code == 200 and gateway.content == content.media[0]
    assert PICTURE not in gateway.content

    page, problems = watched_page(browser)
    sign_in(page, node)
    page.goto(f"{node.url}/ui/#/task/{task.task_id}")
    expect(page.locator(".item-id")).to_have_text("id pic")
    image = page.locator("img.item-image")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function(
        "() => { const img = document.querySelector('img.item-image');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    assert image.evaluate("img => img.naturalWidth") == 160
    assert str(image.get_attribute("src")).startswith("blob:")
    assert not problems, problems
