"""A task's content moves between nodes with separate data directories, over real HTTP.

Node A puts a task (a manifest document and a multi-MiB items file) in its own store and
serves it as a trustless gateway; node B reads it through A's gateway, verifying every
block, and caches it, so B can then serve it on to node C even after A is gone. A peer that
serves wrong bytes is caught by hashing, banned, and another peer is used.
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.unixfs import CidMismatchError, build_file_dag
from node.store import (
    BlockNotFoundError,
    EmbeddedStore,
    GatewayStore,
    StoreUnavailableError,
)
from tests.store.servers import TamperingGateway, gateway_app, serve

MIB = 1024 * 1024
_rng = random.Random(7)
ITEMS = canonical_json(
    {
        "schema": "labelnet/items@1",
        "items": [
            {"item": i, "uri": f"ipfs://item-{i}", "weight": _rng.random()} for i in range(60_000)
        ],
    }
)
"""An items document of about 4 MiB: 16 leaves and a root on the wire."""
MANIFEST = canonical_json(
    {"schema": "labelnet/task@1", "labels": ["cat", "dog"], "items_bytes": len(ITEMS)}
)


@dataclass
class Node:
    """One node: its data directory's store and the URL its gateway answers on."""

    store: EmbeddedStore
    url: str


@pytest.fixture
def servers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def start_node(servers: ExitStack, data_dir: Path) -> Node:
    store = EmbeddedStore.in_data_dir(data_dir)
    return Node(store, servers.enter_context(serve(gateway_app(store))))


def closed_port_url() -> str:
    """A loopback URL where nothing listens (bound but not listening: refused at once)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_task_content_moves_from_a_to_b_and_on_to_c(servers: ExitStack, tmp_path: Path) -> None:
    assert len(ITEMS) > 2 * MIB
    a = start_node(servers, tmp_path / "a")
    manifest_cid = a.store.put(MANIFEST)
    items_cid = a.store.put(ITEMS)
    items_dag = build_file_dag(ITEMS)

    b_local = EmbeddedStore.in_data_dir(tmp_path / "b")
    with GatewayStore(b_local, [a.url]) as b:
        assert not b.has(items_cid)
        assert b.get(manifest_cid, max_size=256 * 1024) == MANIFEST
        assert b.get(items_cid, max_size=16 * MIB) == ITEMS
    # Every block of both files is now in B's own data directory, verified.
    for cid, data in items_dag.blocks.items():
        assert b_local.get_block(str(cid)) == data
    assert b_local.has(manifest_cid)
    assert b_local.root != a.store.root

    # B serves what it fetched: C gets the task from B alone, with A listed but gone.
    b_url = servers.enter_context(serve(gateway_app(b_local)))
    with GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "c"), [closed_port_url(), b_url]) as c:
        assert c.get(items_cid, max_size=16 * MIB) == ITEMS
        assert c.get(manifest_cid, max_size=256 * 1024) == MANIFEST


def test_tampering_peer_is_rejected_and_the_next_peer_used(
    servers: ExitStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = start_node(servers, tmp_path / "a")
    items_cid = a.store.put(ITEMS)
    liar = TamperingGateway(a.store)  # has every block A has, serves each one altered
    liar_url = servers.enter_context(serve(liar.app))

    only_liar = GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "victim"), [liar_url])
    with only_liar, pytest.raises(CidMismatchError, match=liar_url):
        only_liar.get(items_cid, max_size=16 * MIB)
    assert liar.requests >= 1
    assert not only_liar.local.has(items_cid)  # nothing unverified was cached

    before = liar.requests
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="node.store.gateway"),
        GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "b"), [liar_url, a.url]) as b,
    ):
        assert b.get(items_cid, max_size=16 * MIB) == ITEMS
    assert len(build_file_dag(ITEMS).blocks) > 2
    # The liar is asked for one block at most, not for each of them: if it answers before
    # the honest peer, its first lie bans it; if after, it is scored as the slower peer.
    asked = liar.requests - before
    rejected = [r for r in caplog.records if "rejected block" in r.getMessage()]
    assert len(rejected) <= asked <= 1


def test_peers_that_lack_the_block_or_are_down(servers: ExitStack, tmp_path: Path) -> None:
    a = start_node(servers, tmp_path / "a")
    empty = start_node(servers, tmp_path / "empty")
    cid = a.store.put(MANIFEST)

    b = GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "b"), [empty.url])
    with b, pytest.raises(BlockNotFoundError, match="not found"):
        b.get(cid, max_size=MIB)
    with GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "c"), [closed_port_url()]) as c:
        with pytest.raises(StoreUnavailableError) as down:
            c.get_block(cid)
        assert isinstance(down.value, ConnectionError)
    d = GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "d"), [])
    with d, pytest.raises(LookupError, match="no peers known"):
        d.get_block(cid)
    # Peers can change between calls (they are announced on chain): a callable is asked.
    peers: list[str] = [empty.url]
    with GatewayStore(EmbeddedStore.in_data_dir(tmp_path / "e"), lambda: peers) as e:
        with pytest.raises(BlockNotFoundError):
            e.get_block(cid)
        peers.append(a.url)
        assert e.get_block(cid) == MANIFEST


def test_corrupt_local_block_is_fetched_again(servers: ExitStack, tmp_path: Path) -> None:
    a = start_node(servers, tmp_path / "a")
    cid = a.store.put(ITEMS)
    local = EmbeddedStore.in_data_dir(tmp_path / "b")
    with GatewayStore(local, [a.url]) as b:
        assert b.get(cid, max_size=16 * MIB) == ITEMS
        local.path_for(cid).write_bytes(b"rotten")  # the root block on B's disk decays
        assert b.get(cid, max_size=16 * MIB) == ITEMS
    assert local.get_block(cid) == build_file_dag(ITEMS).blocks[build_file_dag(ITEMS).root]
