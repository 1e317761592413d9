"""The gateway's CAR responses, read back by an independent CAR reader (py-ipld-car, whose
header goes through the ``dag_cbor`` package), against a real uvicorn server.

What the trustless gateway spec asks of a CAR is checked from the outside: the root in the
header, every block hashing to its CID, depth-first order (each block linked by one sent
before it, children in link order), ``dups``, ``dag-scope``, the content-type parameters
and headers, and a stream cut (not completed) when a child block is missing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import httpx
import ipld_car
import pytest
from multiformats import CID

from node.protocol.cid import CHUNK_SIZE
from node.protocol.unixfs import build_file_dag
from node.protocol.unixfs_read import decode_file_node
from node.store import EmbeddedStore
from tests.store.servers import gateway_app, serve

CAR = "application/vnd.ipld.car"
BIG = random.Random(18).randbytes(3 * CHUNK_SIZE + 5)
ZEROS = bytes(3 * CHUNK_SIZE)  # three identical leaves: one block linked three times
SMALL = b'{"schema":"labelnet/items@1","page":1}'


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, EmbeddedStore]]:
    store = EmbeddedStore.in_data_dir(tmp_path_factory.mktemp("car") / "data")
    for content in (BIG, ZEROS, SMALL):
        store.put(content)
    with serve(gateway_app(store)) as url:
        yield url, store


@pytest.fixture
def http(node: tuple[str, EmbeddedStore]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node[0], timeout=10) as client:
        yield client


def read_car(body: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    """Roots and blocks (in stream order) by py-ipld-car, each block checked against its
    CID with hashlib (the reader does not verify)."""
    roots, blocks = ipld_car.decode(body)
    parsed = [(CID.decode(bytes(cid)), bytes(data)) for cid, data in blocks]
    for cid, data in parsed:
        assert cid.hashfun.name == "sha2-256"
        assert hashlib.sha256(data).digest() == bytes(cid.raw_digest), f"{cid} altered"
    return [CID.decode(bytes(root)) for root in roots], parsed


def dfs_order(root: CID, blocks: dict[CID, bytes]) -> list[CID]:
    """The depth-first pre-order of the DAG, every occurrence (dups=y)."""
    order = [root]
    if root.codec.name == "dag-pb":
        for link in decode_file_node(blocks[root]).links:
            order += dfs_order(link.cid, blocks)
    return order


def test_a_multi_block_file_as_a_car(http: httpx.Client) -> None:
    dag = build_file_dag(BIG)
    response = http.get(f"/ipfs/{dag.root}", headers={"Accept": CAR})

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{CAR}; version=1; order=dfs; dups=n"
    assert response.headers["content-disposition"] == f'attachment; filename="{dag.root}.car"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{dag.root}.car.all.dfs.n"'
    assert response.headers["content-location"] == (
        f"/ipfs/{dag.root}?format=car&dag-scope=all&car-version=1&car-order=dfs&car-dups=n"
    )
    roots, blocks = read_car(response.content)
    assert roots == [dag.root]
    assert [cid for cid, _ in blocks] == dfs_order(dag.root, dag.blocks)
    assert dict(blocks) == dag.blocks
    assert b"".join(data for cid, data in blocks if cid.codec.name == "raw") == BIG


def test_format_car_query_and_dag_scopes(http: httpx.Client) -> None:
    dag = build_file_dag(BIG)
    whole = http.get(f"/ipfs/{dag.root}?format=car").content
    assert "content-location" not in http.get(f"/ipfs/{dag.root}?format=car").headers
    entity = http.get(f"/ipfs/{dag.root}", params={"format": "car", "dag-scope": "entity"})
    assert entity.content == whole  # for a UnixFS file, the entity is the whole DAG
    assert entity.headers["etag"] == f'"{dag.root}.car.entity.dfs.n"'

    block = http.get(f"/ipfs/{dag.root}", params={"format": "car", "dag-scope": "block"})
    roots, blocks = read_car(block.content)
    assert roots == [dag.root]
    assert blocks == [(dag.root, dag.blocks[dag.root])]

    leaf = build_file_dag(SMALL).root  # a one-block (raw) file: every scope is that block
    for scope in ("block", "entity", "all"):
        response = http.get(f"/ipfs/{leaf}", params={"format": "car", "dag-scope": scope})
        assert read_car(response.content) == ([leaf], [(leaf, SMALL)])


def test_dups_n_sends_a_repeated_block_once_and_y_every_time(http: httpx.Client) -> None:
    dag = build_file_dag(ZEROS)
    leaf = next(cid for cid in dag.blocks if cid.codec.name == "raw")
    assert len(dag.blocks) == 2  # the root and one leaf, linked three times

    once = http.get(f"/ipfs/{dag.root}", headers={"Accept": f"{CAR}; version=1; dups=n"})
    assert [cid for cid, _ in read_car(once.content)[1]] == [dag.root, leaf]

    every = http.get(
        f"/ipfs/{dag.root}", headers={"Accept": f"{CAR}; version=1; order=dfs; dups=y"}
    )
    assert every.headers["content-type"] == f"{CAR}; version=1; order=dfs; dups=y"
    assert [cid for cid, _ in read_car(every.content)[1]] == [dag.root, leaf, leaf, leaf]
    assert every.headers["etag"] == f'"{dag.root}.car.all.dfs.y"'

    # The car-dups query parameter wins over the Accept parameter.
    query = http.get(
        f"/ipfs/{dag.root}?format=car&car-dups=n", headers={"Accept": f"{CAR}; dups=y"}
    )
    assert query.headers["content-type"].endswith("dups=n")


def test_car_variants_and_parameters_not_served(http: httpx.Client) -> None:
    root = build_file_dag(BIG).root
    for accept in (f"{CAR}; version=2", f"{CAR}; order=foo", f"{CAR}; dups=maybe"):
        assert http.get(f"/ipfs/{root}", headers={"Accept": accept}).status_code == 406
    assert http.get(f"/ipfs/{root}?format=car&car-version=2").status_code == 406
    # A client that also takes another variant gets that one.
    fallback = http.get(f"/ipfs/{root}", headers={"Accept": f"{CAR};version=2, {CAR};q=0.5"})
    assert fallback.status_code == 200
    assert http.get(f"/ipfs/{root}?format=car&dag-scope=nope").status_code == 400
    assert http.get(f"/ipfs/{root}?format=car&entity-bytes=0:99").status_code == 400
    assert http.get(f"/ipfs/{root}?format=raw&dag-scope=nope").status_code == 200  # CAR only


def test_probe_head_and_if_none_match(http: httpx.Client) -> None:
    probe = http.get("/ipfs/bafkqaaa?format=car")
    assert probe.status_code == 200
    assert read_car(probe.content) == ([CID.decode("bafkqaaa")], [])  # identity: not sent

    root = build_file_dag(BIG).root
    head = http.head(f"/ipfs/{root}", headers={"Accept": CAR})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"].startswith(CAR)
    etag = head.headers["etag"]
    cached = http.get(f"/ipfs/{root}", headers={"Accept": CAR, "If-None-Match": etag})
    assert cached.status_code == 304


def test_missing_root_is_404_and_missing_child_cuts_the_stream(
    node: tuple[str, EmbeddedStore], http: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, store = node
    unknown = build_file_dag(b"not on this node").root
    assert http.get(f"/ipfs/{unknown}?format=car").status_code == 404
    assert http.head(f"/ipfs/{unknown}?format=car").status_code == 404

    content = random.Random(7).randbytes(2 * CHUNK_SIZE + 1)
    dag = build_file_dag(content)
    store.put(content)
    last_leaf = decode_file_node(dag.blocks[dag.root]).links[-1].cid
    store.path_for(str(last_leaf)).unlink()
    with pytest.raises(httpx.RemoteProtocolError):  # the body never completes
        http.get(f"/ipfs/{dag.root}?format=car")
    # Without that leaf the DAG is cut before it, never sent as a complete-looking CAR.
    assert http.get(f"/ipfs/{dag.root}?format=car&dag-scope=block").status_code == 200
