"""KuboStore against a real Kubo-RPC daemon (js-ipfs, see tests/store/jsipfs.py)."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient
import pytest
from ipfshttpclient.exceptions import VersionMismatch

from node.protocol.cid import CHUNK_SIZE, compute_cid
from node.protocol.unixfs import ContentTooLargeError, build_file_dag
from node.store import (
    BlockNotFoundError,
    InvalidCidError,
    StoreConfigError,
    StoreUnavailableError,
    parse_cid,
)
from node.store.kubo import KuboStore
from tests.store.jsipfs import jsipfs_daemon

pytestmark = [
    pytest.mark.npm,
    # ipfshttpclient 0.7 passes urllib3 a parameter urllib3 2 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning"),
]

MIB = 1024 * 1024
SIZES = {
    "empty": 0,
    "small": 700,
    "chunk": CHUNK_SIZE,
    "chunk + 1": CHUNK_SIZE + 1,
    "3 MiB": 3 * MIB,
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with jsipfs_daemon(tmp_path_factory.mktemp("jsipfs") / "repo") as address:
        yield address


@pytest.fixture
def kubo(api: str) -> Iterator[KuboStore]:
    store = KuboStore(api, timeout=30, fetch_timeout=1.0, lookup_timeout=0.5, offline=True)
    yield store
    store.close()


def test_connect_refuses_the_daemon_but_the_store_works(api: str, kubo: KuboStore) -> None:
    with pytest.raises(VersionMismatch):
        ipfshttpclient.connect(api)
    assert kubo.version().count(".") == 2


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_round_trip_has_kubo_cids(kubo: KuboStore, size: int) -> None:
    content = random.Random(size).randbytes(size)
    dag = build_file_dag(content)

    cid = kubo.put(content)

    assert cid == compute_cid(content)
    assert kubo.has(cid)
    assert kubo.get(cid, max_size=size) == content
    for block_cid, data in dag.blocks.items():
        assert kubo.get_block(str(block_cid)) == data


def test_blocks_put_one_by_one_read_back_as_a_file(kubo: KuboStore) -> None:
    content = random.Random(11).randbytes(2 * MIB + 5)
    dag = build_file_dag(content)
    for block_cid, data in dag.blocks.items():
        kubo.put_block(str(block_cid), data)
    assert kubo.has(str(dag.root))
    assert kubo.get(str(dag.root), max_size=len(content)) == content


def test_file_imported_with_other_chunking_is_verified_block_by_block(
    api: str, kubo: KuboStore
) -> None:
    """cat output that re-imports to another CID is not rejected outright: the DAG is
    walked and every block verified, which is what proves the bytes."""
    content = random.Random(12).randbytes(MIB)
    client = ipfshttpclient.Client(api)
    try:
        other = client.add_bytes(
            content, opts={"cid-version": "1", "raw-leaves": "true", "chunker": "size-100000"}
        )
    finally:
        client.close()
    cid = str(parse_cid(other))
    assert cid != compute_cid(content)
    assert kubo.get(cid, max_size=len(content)) == content


def test_missing_content_is_not_found(kubo: KuboStore) -> None:
    missing = compute_cid(b"never added anywhere")
    assert not kubo.has(missing)
    with pytest.raises(BlockNotFoundError):
        kubo.get_block(missing)
    with pytest.raises(LookupError):
        kubo.get(missing, max_size=100)


def test_limits_and_bad_cids(kubo: KuboStore) -> None:
    content = random.Random(13).randbytes(CHUNK_SIZE * 2)
    cid = kubo.put(content)
    with pytest.raises(ContentTooLargeError):
        kubo.get(cid, max_size=len(content) - 1)
    with pytest.raises(InvalidCidError):
        kubo.get_block("not-a-cid")


def test_unreachable_daemon_is_a_connection_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        store = KuboStore(f"/ip4/127.0.0.1/tcp/{port}/http", timeout=5)
        with pytest.raises(StoreUnavailableError) as error:
            store.get_block(compute_cid(b"x"))
    assert isinstance(error.value, ConnectionError)


def test_api_address_must_be_a_multiaddr() -> None:
    with pytest.raises(StoreConfigError) as error:
        KuboStore("http://127.0.0.1:5001")
    assert isinstance(error.value, ValueError)
