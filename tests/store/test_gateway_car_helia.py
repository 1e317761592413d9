"""JavaScript IPFS clients read our gateway: @ipld/car parses its CARs, Helia reads the file
out of nothing but a CAR's blocks (offline, so the CAR must hold the whole DAG), and
@helia/verified-fetch uses the node as its trustless gateway for a multi-block file.

All of it runs in one Node process (loading Helia takes seconds): tests/js/car_gateway_read.mjs.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from node.protocol.cid import CHUNK_SIZE
from node.protocol.unixfs import build_file_dag
from node.protocol.unixfs_read import decode_file_node
from node.store import EmbeddedStore
from tests.store.servers import gateway_app, serve
from tests.support.node22 import run_node_json

pytestmark = pytest.mark.npm

CAR = "application/vnd.ipld.car"
ITEMS = random.Random(418).randbytes(5 * CHUNK_SIZE + 3)
ZEROS = bytes(4 * CHUNK_SIZE)
CUT = random.Random(419).randbytes(3 * CHUNK_SIZE)


def test_js_readers_take_our_cars_and_verified_fetch_uses_our_gateway(tmp_path: Path) -> None:
    store = EmbeddedStore.in_data_dir(tmp_path / "data")
    items, zeros, cut = (build_file_dag(content) for content in (ITEMS, ZEROS, CUT))
    for content in (ITEMS, ZEROS, CUT):
        store.put(content)
    # A file whose middle leaf this node lost: its CAR must not reach the client whole.
    store.path_for(decode_file_node(cut.blocks[cut.root]).links[1].cid).unlink()

    with serve(gateway_app(store)) as url:
        spec = {
            "gateway": url,
            "cars": [
                {"path": f"/ipfs/{items.root}", "accept": CAR},
                {"path": f"/ipfs/{zeros.root}?format=car", "accept": f"{CAR}; dups=y"},
                {"path": f"/ipfs/{items.root}?format=car&dag-scope=block"},
                {"path": f"/ipfs/{cut.root}?format=car"},
            ],
            "verified": [str(items.root), str(zeros.root)],
        }
        out = run_node_json("car_gateway_read.mjs", json.dumps(spec), timeout=150)

    whole, dups, block, truncated = out["cars"]
    assert whole["status"] == 200
    assert whole["contentType"] == f"{CAR}; version=1; order=dfs; dups=n"
    assert (whole["version"], whole["roots"], whole["intact"]) == (1, [str(items.root)], True)
    assert whole["blocks"][0] == str(items.root)
    assert set(whole["blocks"]) == {str(cid) for cid in items.blocks}
    assert whole["cat"] == {"size": len(ITEMS), "sha256": hashlib.sha256(ITEMS).hexdigest()}

    assert dups["contentType"].endswith("dups=y")
    assert len(dups["blocks"]) == 5  # the root, then its one leaf four times
    assert dups["cat"]["sha256"] == hashlib.sha256(ZEROS).hexdigest()

    assert block["blocks"] == [str(items.root)]
    assert "error" in block["cat"]  # the root alone does not hold the file

    assert truncated["status"] == 200  # committed before the missing leaf was reached
    assert "error" in truncated  # and the body then failed: no complete-looking CAR

    for result, content in zip(out["verified"], (ITEMS, ZEROS), strict=True):
        assert result.get("status") == 200, result
        assert result["size"] == len(content)
        assert result["sha256"] == hashlib.sha256(content).hexdigest()
