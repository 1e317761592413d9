"""Bad task content reaching an annotator node: malformed or oversized manifests and
pages, bytes that do not match their CID, items whose content nobody serves, and peers that
are down. Each is one ``task_participation`` outcome with one reason, and nothing half
joined: no item of the task is stored unless all of them are.

Malformed content is final (``declined``, never fetched again); content that could not be
fetched is ``failed`` and retried, and the task joins once the content appears.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

from web3 import Web3

from node.chain.contracts import Contracts
from node.db.models import ParticipationState, TaskParticipation
from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.manifest import (
    ITEMS_SCHEMA,
    MANIFEST_SCHEMA,
    MAX_DOCUMENT_BYTES,
    PAGE_SIZE,
    ItemSpec,
    build_task_content,
)
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore
from tests.conftest import Actors
from tests.roles.test_loader import (
    IMAGE,
    Annotator,
    annotator,
    post_task,
    publish,
    servers,
    task_content,
)
from tests.store.servers import TamperingGateway, gateway_app, serve

__all__ = ["annotator", "servers"]  # fixtures used here


def manifest(**fields: object) -> bytes:
    """A manifest document of one page, with ``fields`` replacing the valid ones."""
    document: dict[str, object] = {
        "schema": MANIFEST_SCHEMA,
        "title": "t",
        "kind": "categorical",
        "classes": ["cat", "dog"],
        "num_items": 4,
        "pages": [compute_cid(b"page")],
    }
    document.update(fields)
    return json.dumps(document).encode()


def declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator, data: bytes
) -> TaskParticipation:
    """Post a task whose manifest is ``data``; two loader ticks; the (final) outcome."""
    task_id = post_task(w3, contracts, actors, annotator.local.put(data), 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    annotator.loader().tick()  # declined is final: the second tick does not fetch again
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.DECLINED, row
    assert row.attempts == 0
    assert annotator.items(task_id) == []
    return row


def test_manifest_that_is_not_json_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "not a JSON document: Expecting value: line 1 column 1 (char 0)"."""
    row = declined(w3, contracts, actors, annotator, b"<html>not a manifest</html>")
    assert row.reason == "not a JSON document: Expecting value: line 1 column 1 (char 0)"


def test_manifest_with_another_schema_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "not a labelnet/manifest@1 document: schema='labelnet/items@1'"."""
    row = declined(w3, contracts, actors, annotator, manifest(schema=ITEMS_SCHEMA))
    assert row.reason == "not a labelnet/manifest@1 document: schema='labelnet/items@1'"


def test_manifest_that_is_a_json_list_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "a labelnet/manifest@1 document is a JSON object"."""
    row = declined(w3, contracts, actors, annotator, b'["labelnet/manifest@1"]')
    assert row.reason == "a labelnet/manifest@1 document is a JSON object"


def test_manifest_with_an_unknown_task_kind_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "unknown task kind 'video'"."""
    row = declined(w3, contracts, actors, annotator, manifest(kind="video"))
    assert row.reason == "unknown task kind 'video'"


def test_manifest_with_duplicate_classes_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "duplicate class names"."""
    row = declined(w3, contracts, actors, annotator, manifest(classes=["cat", "cat"]))
    assert row.reason == "duplicate class names"


def test_manifest_with_a_wrongly_typed_field_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "num_items must be an integer" (a string "4" is not one)."""
    row = declined(w3, contracts, actors, annotator, manifest(num_items="4"))
    assert row.reason == "num_items must be an integer"


def test_manifest_nested_too_deep_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "malformed labelnet/manifest@1 document: JSON nested 100002 deep (at
    most 64)"; the node does not crash on the parser's recursion."""
    deep = b'{"schema": "labelnet/manifest@1", "title": ' + b"[" * 100_001 + b"]" * 100_001 + b"}"
    row = declined(w3, contracts, actors, annotator, deep)
    assert row.reason == (
        "malformed labelnet/manifest@1 document: JSON nested 100002 deep (at most 64)"
    )


def test_manifest_whose_item_count_disagrees_with_the_chain_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "the manifest lists 3 items, the task on chain 4"."""
    content = build_task_content(
        [ItemSpec(f"q{i}", data=i) for i in range(3)], title="t", classes=("cat", "dog")
    )
    publish(annotator.local, content)
    row = declined(w3, contracts, actors, annotator, content.manifest_bytes)
    assert row.reason == "the manifest lists 3 items, the task on chain 4"


def test_oversized_manifest_is_declined_without_being_parsed(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: the store refuses to read more than 4 MiB for a manifest ("file <cid>:
    file is 4194491 bytes, limit is 4194304")."""
    big = manifest(title="x" * (MAX_DOCUMENT_BYTES + 1))
    row = declined(w3, contracts, actors, annotator, big)
    limit = f"limit is {MAX_DOCUMENT_BYTES}"
    assert row.reason == f"file {compute_cid(big)}: file is {len(big)} bytes, {limit}"


def test_item_page_with_too_many_items_is_declined(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Declined: "an item page lists 1..500 items" for a page of 501."""
    entries = [{"id": f"q{i}", "data": i} for i in range(PAGE_SIZE + 1)]
    page_cid = annotator.local.put(canonical_json({"schema": ITEMS_SCHEMA, "items": entries}))
    row = declined(w3, contracts, actors, annotator, manifest(pages=[page_cid]))
    assert row.reason == f"an item page lists 1..{PAGE_SIZE} items"


def test_page_served_with_wrong_bytes_by_a_tampering_peer_is_never_stored(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    """Failed (retried later): "no peer served block <cid> intact: block <cid> from peer
    <url> does not hash to its CID"; the forged bytes are not kept, no item is stored."""
    content = task_content()
    honest = EmbeddedStore(tmp_path / "requester")
    publish(honest, content)
    publish(annotator.local, content, pages=False)
    liar = servers.enter_context(serve(TamperingGateway(honest).app))
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    with GatewayStore(annotator.local, [liar]) as store:
        annotator.loader(store=store).tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 1
    page = content.manifest.pages[0]
    assert row.reason == (
        f"no peer served block {page} intact: block {page} from peer {liar} "
        "does not hash to its CID"
    )
    assert not annotator.local.has(page)
    assert annotator.items(task_id) == []


def test_item_pointing_at_missing_content_fails_then_joins_once_it_appears(
    w3: Web3, contracts: Contracts, actors: Actors, annotator: Annotator
) -> None:
    """Failed: "block <cid> is not in the local store"; nothing stored; the task joins with
    all four items on the first tick after the image appears."""
    content = task_content()
    for blob in content.blobs():  # everything but the image the third item refers to
        annotator.local.put(blob)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 1
    assert row.reason == f"block {compute_cid(IMAGE)} is not in the local store"
    assert annotator.items(task_id) == []

    annotator.local.put(IMAGE)
    annotator.loader().tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED and row.reason == ""
    assert len(annotator.items(task_id)) == 4


def test_store_unreachable_fails_then_joins_when_the_peer_is_back(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    tmp_path: Path,
) -> None:
    """Failed: "no peer gateway answered for block <cid>: ... ConnectError ..."; the same
    peer URL serving again later makes the next tick join the task."""
    content = task_content()
    requester = EmbeddedStore(tmp_path / "requester")
    publish(requester, content)
    task_id = post_task(w3, contracts, actors, content.manifest_cid, 4)
    annotator.sync.sync_once()
    with serve(gateway_app(requester)) as url:
        pass  # the peer's gateway went down; its URL is what the node knows
    with GatewayStore(annotator.local, [url], timeout=2) as store:
        annotator.loader(store=store).tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.FAILED and row.attempts == 1
    assert row.reason.startswith(
        f"no peer gateway answered for block {content.manifest_cid}: {url}: ConnectError"
    ), row.reason
    assert annotator.items(task_id) == []

    with serve(gateway_app(requester)) as back, GatewayStore(annotator.local, [back]) as store:
        annotator.loader(store=store).tick()
    row = annotator.participation(task_id)
    assert row is not None and row.state is ParticipationState.JOINED
    assert len(annotator.items(task_id)) == 4
