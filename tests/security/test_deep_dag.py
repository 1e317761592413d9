"""Issue #13, critical finding: hostile DAGs cannot make a node fetch without bound.

Before: reading a 1 KB document through a 20,000-deep chain of single-link nodes took
20,001 HTTP fetches and 112 s, because only the root's declared size was checked. Now every
read has a depth and block budget, protocol documents must have the canonical layout (so a
1 KB document is one raw block and anything else is refused after the first block), and a
read has a deadline that a slow peer cannot stretch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from multiformats import CID, multihash

from node.protocol.cid import raw_block_cid
from node.protocol.manifest import MAX_DOCUMENT_BYTES
from node.protocol.unixfs import DAG_PB_CODEC, build_file_dag, encode_file_node
from node.store import EmbeddedStore, GatewayStore
from node.store.budget import MAX_DEPTH, BudgetExceededError, FetchBudget
from node.store.errors import InvalidContentError
from tests.security.attacker import SlowGateway, chain_dag
from tests.store.servers import serve

DOCUMENT = b'{"schema":"labelnet/labels@1","padding":"' + b"x" * 980 + b'"}'
"""About 1 KB, the size of a small label batch."""


@pytest.fixture(scope="module")
def deep() -> tuple[str, dict[str, bytes]]:
    return chain_dag(DOCUMENT, 20_000)


def test_the_chain_is_what_the_real_encoder_writes() -> None:
    root, blocks = chain_dag(DOCUMENT, 1)
    leaf = raw_block_cid(DOCUMENT)
    node = encode_file_node([(leaf, len(DOCUMENT), len(DOCUMENT))])
    assert blocks == {str(leaf): DOCUMENT, root: node}
    assert root == str(CID("base32", 1, DAG_PB_CODEC, multihash.digest(node, "sha2-256")))


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[tuple[GatewayStore, SlowGateway]]:
    gateway = SlowGateway({})
    with serve(gateway.app) as url, GatewayStore(EmbeddedStore(tmp_path), [url]) as store:
        try:
            yield store, gateway
        finally:
            gateway.close()


def test_a_20000_deep_chain_is_refused_within_a_second(
    deep: tuple[str, dict[str, bytes]], reader: tuple[GatewayStore, SlowGateway]
) -> None:
    root, blocks = deep
    store, gateway = reader
    gateway.blocks = blocks
    started = time.monotonic()
    with pytest.raises(InvalidContentError, match="deeper than"):
        store.get(root, max_size=MAX_DOCUMENT_BYTES)
    assert time.monotonic() - started < 1.0
    assert len(gateway.asked) == MAX_DEPTH + 1


def test_a_deep_chain_as_a_protocol_document_costs_one_block(
    deep: tuple[str, dict[str, bytes]], reader: tuple[GatewayStore, SlowGateway]
) -> None:
    root, blocks = deep
    store, gateway = reader
    gateway.blocks = blocks
    with pytest.raises(InvalidContentError, match="deeper than 0"):
        store.get(root, max_size=MAX_DOCUMENT_BYTES, canonical=True)
    assert gateway.asked == {root}


def test_a_slow_peer_cannot_stretch_a_read_past_its_deadline(
    reader: tuple[GatewayStore, SlowGateway],
) -> None:
    root, blocks = chain_dag(DOCUMENT, MAX_DEPTH)  # within the depth budget: only time stops it
    store, gateway = reader
    gateway.blocks = blocks
    gateway.delay = 0.4
    started = time.monotonic()
    with pytest.raises(BudgetExceededError):
        store.get(root, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(seconds=1.0))
    assert time.monotonic() - started < 1.0 + 2 * gateway.delay
    assert len(gateway.asked) < MAX_DEPTH


def _wide_dag(content: bytes, chunk: int) -> tuple[str, dict[str, bytes]]:
    """``content`` as one root over raw leaves of ``chunk`` bytes: valid, not canonical."""
    leaves = [content[i : i + chunk] for i in range(0, len(content), chunk)]
    blocks = {str(raw_block_cid(leaf)): leaf for leaf in leaves}
    node = encode_file_node((raw_block_cid(leaf), len(leaf), len(leaf)) for leaf in leaves)
    root = CID("base32", 1, DAG_PB_CODEC, multihash.digest(node, "sha2-256"))
    return str(root), {**blocks, str(root): node}


def test_other_chunkers_are_media_but_not_protocol_documents(
    reader: tuple[GatewayStore, SlowGateway],
) -> None:
    content = bytes(range(256)) * 4096  # 1 MiB
    root, blocks = _wide_dag(content, 64 * 1024)
    store, gateway = reader
    gateway.blocks = blocks
    assert store.get(root, max_size=len(content)) == content
    with pytest.raises(InvalidContentError, match="more than 5 blocks"):
        store.local.get(root, max_size=len(content), canonical=True)


def test_too_many_tiny_blocks_are_refused_on_count(
    reader: tuple[GatewayStore, SlowGateway],
) -> None:
    content = bytes(range(256)) * 1024  # 256 KiB in 256-byte leaves: 1,024 blocks
    root, blocks = _wide_dag(content, 256)
    store, gateway = reader
    gateway.blocks = blocks
    with pytest.raises(InvalidContentError, match="more than"):
        store.get(root, max_size=len(content))
    assert len(gateway.asked) <= FetchBudget().max_blocks(len(content))


def test_canonical_documents_of_every_shape_are_read(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    for size in (0, 1, 256 * 1024, 256 * 1024 + 1, 174 * 256 * 1024 + 1):
        content = (bytes(range(251)) * (size // 251 + 1))[:size]
        cid = store.put(content)
        assert cid == str(build_file_dag(content).root)
        assert store.get(cid, max_size=size, canonical=True) == content
