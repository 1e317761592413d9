"""Helia, an independent IPFS implementation, reads task content from our gateway.

Helia fetches each block through its trustless-gateway block broker and checks it against
its CID before using it, so getting the exact bytes back shows our gateway speaks the
protocol as IPFS clients expect; a gateway serving altered blocks is refused by Helia too.
One Node process runs every case, since loading Helia takes seconds.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.store import EmbeddedStore
from tests.store.servers import TamperingGateway, gateway_app, serve
from tests.support.node22 import run_node_json

pytestmark = pytest.mark.npm

MANIFEST = canonical_json({"schema": "labelnet/task@1", "labels": ["cat", "dog"]})
ITEMS = random.Random(31).randbytes(3 * 1024 * 1024 + 11)
RESULT = canonical_json({"schema": "labelnet/result@1", "items": 3})


def test_helia_reads_our_gateway_and_refuses_altered_blocks(tmp_path: Path) -> None:
    store = EmbeddedStore.in_data_dir(tmp_path / "data")
    manifest_cid, items_cid, result_cid = store.put(MANIFEST), store.put(ITEMS), store.put(RESULT)
    unknown = compute_cid(b"not on this node")
    liar = TamperingGateway(store)

    with serve(gateway_app(store)) as url, serve(liar.app) as liar_url:
        results = run_node_json(
            "helia_gateway_fetch.mjs",
            f"{url}={items_cid}",
            f"{url}={manifest_cid}",
            f"{url}={unknown}",
            f"{liar_url}={result_cid}",  # not fetched before, so not in Helia's cache
        )

    assert [r["cid"] for r in results] == [items_cid, manifest_cid, unknown, result_cid]
    items, manifest, missing, altered = results
    assert (items["size"], items["sha256"]) == (len(ITEMS), hashlib.sha256(ITEMS).hexdigest())
    assert manifest["sha256"] == hashlib.sha256(MANIFEST).hexdigest()
    assert "error" in missing
    assert "error" in altered
    assert "sha256" not in altered
    assert liar.requests >= 1  # Helia did ask the liar for the block, and rejected it
