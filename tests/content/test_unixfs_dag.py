"""UnixFS DAG structure, streaming, and verification of untrusted blocks."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from node.protocol.cid import CHUNK_SIZE, compute_cid, raw_block_cid
from node.protocol.unixfs import (
    MAX_LINKS,
    CidMismatchError,
    ContentError,
    ContentTooLargeError,
    FileDag,
    MalformedDagError,
    MissingBlockError,
    build_file_dag,
    encode_file_node,
    iter_file_blocks,
)
from node.protocol.unixfs_read import decode_file_node, iter_file, read_file


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def dag_pb_cid(block: bytes) -> CID:
    return CID("base32", 1, "dag-pb", multihash.digest(block, "sha2-256"))


@pytest.fixture(scope="module")
def two_level() -> tuple[bytes, FileDag]:
    """175 leaves: one more than a node holds, so the root has two children."""
    content = random_bytes(MAX_LINKS * CHUNK_SIZE + 1000, seed=7)
    return content, build_file_dag(content)


def test_small_content_is_a_single_raw_block() -> None:
    dag = build_file_dag(b"hello")
    assert dag.root == raw_block_cid(b"hello")
    assert dag.blocks == {dag.root: b"hello"}
    assert dag.size == 5


def test_two_chunks_make_a_root_over_two_raw_leaves() -> None:
    content = random_bytes(CHUNK_SIZE + 1)
    dag = build_file_dag(content)
    assert str(dag.root).startswith("bafybei")
    node = decode_file_node(dag.blocks[dag.root])
    assert [link.cid for link in node.links] == [
        raw_block_cid(content[:CHUNK_SIZE]),
        raw_block_cid(content[CHUNK_SIZE:]),
    ]
    assert node.blocksizes == (CHUNK_SIZE, 1)
    assert [link.tsize for link in node.links] == [CHUNK_SIZE, 1]
    assert [link.name for link in node.links] == ["", ""]
    assert node.filesize == CHUNK_SIZE + 1
    assert node.data == b""


def test_node_bytes_are_links_first_with_explicit_empty_name() -> None:
    leaf = raw_block_cid(b"x")
    block = encode_file_node([(leaf, 1, 1)])
    link = b"\x0a\x24" + bytes(leaf) + b"\x12\x00" + b"\x18\x01"  # Hash, Name="", Tsize
    unixfs = b"\x08\x02" + b"\x18\x01" + b"\x20\x01"  # Type=File, filesize, blocksizes
    assert block == b"\x12" + bytes([len(link)]) + link + b"\x0a" + bytes([len(unixfs)]) + unixfs


def test_balanced_layout_above_174_leaves(two_level: tuple[bytes, FileDag]) -> None:
    content, dag = two_level
    root = decode_file_node(dag.blocks[dag.root])
    assert root.blocksizes == (MAX_LINKS * CHUNK_SIZE, 1000)
    full, rest = (decode_file_node(dag.blocks[link.cid]) for link in root.links)
    assert len(full.links) == MAX_LINKS
    assert all(size == CHUNK_SIZE for size in full.blocksizes)
    assert rest.blocksizes == (1000,)  # the 175th leaf gets its own one-link node
    assert len(dag.blocks) == 175 + 3
    full_block = dag.blocks[root.links[0].cid]
    assert root.links[0].tsize == len(full_block) + MAX_LINKS * CHUNK_SIZE
    assert root.filesize == len(content) == dag.size


def test_exactly_174_leaves_fit_in_one_node() -> None:
    dag = build_file_dag(bytes(MAX_LINKS * CHUNK_SIZE))
    root = decode_file_node(dag.blocks[dag.root])
    assert len(root.links) == MAX_LINKS
    assert len(dag.blocks) == 2  # identical zero leaves deduplicate to one block


def test_round_trip_two_level(two_level: tuple[bytes, FileDag]) -> None:
    content, dag = two_level
    assert read_file(dag.root, dag.blocks) == content
    assert read_file(str(dag.root), dag.blocks.__getitem__) == content


def test_ten_mebibytes_build_and_verify_in_under_a_second() -> None:
    content = random_bytes(10 * 1024 * 1024, seed=3)
    start = time.perf_counter()
    dag = build_file_dag(content)
    assert read_file(dag.root, dag.blocks) == content
    assert time.perf_counter() - start < 1.0


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(0, 3 * CHUNK_SIZE + 10),
    seed=st.integers(0, 2**32),
    cuts=st.lists(st.integers(1, CHUNK_SIZE + 5), max_size=8),
)
def test_streamed_pieces_give_the_same_dag(size: int, seed: int, cuts: list[int]) -> None:
    content = random_bytes(size, seed)
    pieces, offset = [], 0
    for cut in cuts:
        pieces.append(content[offset : offset + cut])
        offset += cut
    pieces.append(content[offset:])
    streamed = list(iter_file_blocks(pieces))
    dag = build_file_dag(content)
    assert streamed[-1].cid == dag.root == CID.decode(compute_cid(content))
    assert {block.cid: block.data for block in streamed} == dag.blocks
    assert read_file(dag.root, dag.blocks) == content


def test_tampered_leaf_is_a_cid_mismatch(two_level: tuple[bytes, FileDag]) -> None:
    _, dag = two_level
    victim = next(cid for cid in dag.blocks if cid.codec.name == "raw")
    blocks = dict(dag.blocks)
    blocks[victim] = b"\xff" + blocks[victim][1:]
    with pytest.raises(CidMismatchError, match=str(victim)) as info:
        read_file(dag.root, blocks)
    assert isinstance(info.value, ValueError)


def test_tampered_root_is_a_cid_mismatch(two_level: tuple[bytes, FileDag]) -> None:
    _, dag = two_level
    blocks = {**dag.blocks, dag.root: dag.blocks[dag.root] + b"\x00"}
    with pytest.raises(CidMismatchError):
        read_file(dag.root, blocks)


def test_missing_block() -> None:
    dag = build_file_dag(random_bytes(3 * CHUNK_SIZE))
    blocks = {cid: data for cid, data in dag.blocks.items() if cid.codec.name != "raw"}
    with pytest.raises(MissingBlockError):
        read_file(dag.root, blocks)


def test_declared_size_larger_than_the_leaf() -> None:
    leaf = b"abc"
    node = encode_file_node([(raw_block_cid(leaf), 4, 3)])
    with pytest.raises(MalformedDagError, match="holds 3 bytes, parent says 4"):
        read_file(dag_pb_cid(node), {dag_pb_cid(node): node, raw_block_cid(leaf): leaf})


def test_wrong_tsize() -> None:
    leaf = b"abc"
    node = encode_file_node([(raw_block_cid(leaf), 3, 99)])
    with pytest.raises(MalformedDagError, match="Tsize"):
        read_file(dag_pb_cid(node), {dag_pb_cid(node): node, raw_block_cid(leaf): leaf})


def test_max_size_is_checked_before_reading_leaves() -> None:
    dag = build_file_dag(random_bytes(2 * CHUNK_SIZE))
    root_only = {dag.root: dag.blocks[dag.root]}
    with pytest.raises(ContentTooLargeError):
        next(iter_file(dag.root, root_only, max_size=CHUNK_SIZE))


@pytest.mark.parametrize(
    "block",
    [
        b"\xff\xff",  # truncated varint
        b"\x0a\x05ab",  # Data length past the end
        b"\x0a\x02\x08\x02" + b"\x12\x00",  # Data before Links
        b"\x0a\x02\x08\x01",  # UnixFS Directory, not a file
        b"\x12\x00\x0a\x04\x08\x02\x20\x01",  # link without Hash
    ],
)
def test_malformed_nodes_are_rejected(block: bytes) -> None:
    with pytest.raises(MalformedDagError):
        read_file(dag_pb_cid(block), {dag_pb_cid(block): block})


def test_unsupported_codec() -> None:
    cid = CID("base32", 1, "dag-cbor", multihash.digest(b"\xa0", "sha2-256"))
    with pytest.raises(ContentError, match="dag-cbor"):
        read_file(cid, {cid: b"\xa0"})
