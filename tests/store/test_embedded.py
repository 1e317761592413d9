"""EmbeddedStore: kubo's CIDs, every block on disk, verified reads, atomic concurrent writes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from multiformats import CID, multibase, multihash

from node.errors import LabelnetError
from node.protocol.cid import CHUNK_SIZE, compute_cid
from node.protocol.unixfs import CidMismatchError, ContentTooLargeError, build_file_dag
from node.store import (
    BlockMismatchError,
    BlockNotFoundError,
    EmbeddedStore,
    InvalidCidError,
)
from node.store.embedded import STALE_TEMP_SECONDS

MIB = 1024 * 1024
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
"""``ipfs add --cid-version=1`` of an empty file (kubo)."""

SIZES = {
    "empty": 0,
    "small": 1_000,
    "one chunk": CHUNK_SIZE,
    "chunk + 1": CHUNK_SIZE + 1,
    "3 MiB + 7": 3 * MIB + 7,
}


def block_files(store: EmbeddedStore) -> list[Path]:
    return sorted(store.root.glob("*/*.data"))


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore.in_data_dir(tmp_path / "node")


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_round_trip_stores_every_block_of_kubo_dag(
    tmp_path: Path, store: EmbeddedStore, size: int
) -> None:
    content = random.Random(size).randbytes(size)
    dag = build_file_dag(content)

    cid = store.put(content)

    assert cid == compute_cid(content) == str(dag.root)
    assert len(block_files(store)) == len(dag.blocks)
    for block_cid, data in dag.blocks.items():
        assert store.has(str(block_cid))
        assert store.get_block(str(block_cid)) == data
    # A new instance on the same directory (a restarted node) reads the same content.
    reopened = EmbeddedStore.in_data_dir(tmp_path / "node")
    assert reopened.get(cid, max_size=size) == content


def test_empty_content_has_kubos_cid(store: EmbeddedStore) -> None:
    assert store.put(b"") == EMPTY_CID
    assert store.get(EMPTY_CID, max_size=0) == b""


def test_layout_shards_by_multihash(store: EmbeddedStore) -> None:
    content = random.Random(1).randbytes(2 * CHUNK_SIZE)
    root = CID.decode(store.put(content))
    key = multibase.encode(bytes(root.digest), "base32")[1:]
    path = store.path_for(str(root))

    assert key.startswith("ciq")  # sha2-256 multihash prefix 0x1220
    assert path == store.root / key[-3:-1] / f"{key}.data"
    assert path.read_bytes() == build_file_dag(content).blocks[root]
    # The same bytes under CIDv0, or under another codec, are the same block file.
    assert store.path_for(str(root.set(version=0, base="base58btc"))) == path
    assert store.path_for(str(CID("base32", 1, "raw", root.digest))) == path


def test_tampered_leaf_on_disk_is_detected(store: EmbeddedStore) -> None:
    content = random.Random(2).randbytes(MIB)
    cid = store.put(content)
    leaf = next(c for c in build_file_dag(content).blocks if c.codec.name == "raw")
    path = store.path_for(str(leaf))
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(CidMismatchError) as whole:
        store.get(cid, max_size=MIB)
    assert isinstance(whole.value, BlockMismatchError)
    assert isinstance(whole.value, LabelnetError)
    assert str(leaf) in str(whole.value)
    with pytest.raises(BlockMismatchError, match=r"local block file .*\.data"):
        store.get_block(str(leaf))

    # Putting the content again repairs the corrupt block instead of trusting the file.
    assert store.put(content) == cid
    assert store.get(cid, max_size=MIB) == content


def test_tampered_single_block_document(store: EmbeddedStore) -> None:
    cid = store.put(b'{"schema":"labelnet/task@1"}')
    store.path_for(cid).write_bytes(b'{"schema":"labelnet/task@2"}')
    with pytest.raises(CidMismatchError):
        store.get(cid, max_size=1024)


def test_missing_blocks_are_lookup_errors(store: EmbeddedStore) -> None:
    content = random.Random(3).randbytes(CHUNK_SIZE * 3)
    cid = store.put(content)
    unknown = compute_cid(b"never stored")
    with pytest.raises(LookupError):
        store.get_block(unknown)
    assert not store.has(unknown)

    leaf = next(c for c in build_file_dag(content).blocks if c.codec.name == "raw")
    store.path_for(str(leaf)).unlink()
    with pytest.raises(BlockNotFoundError, match=str(leaf)):
        store.get(cid, max_size=len(content))


def test_max_size_is_checked_before_reading_leaves(store: EmbeddedStore) -> None:
    content = random.Random(4).randbytes(CHUNK_SIZE * 4)
    cid = store.put(content)
    for path in block_files(store):
        if path != store.path_for(cid):
            path.unlink()  # only the root is left: the size check must not need leaves
    with pytest.raises(ContentTooLargeError, match=f"{len(content)} bytes"):
        store.get(cid, max_size=len(content) - 1)


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-cid",
        "",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",
        str(CID("base32", 1, "raw", multihash.digest(b"x", "sha2-512"))),
    ],
)
def test_invalid_cids_are_value_errors(store: EmbeddedStore, bad: str) -> None:
    with pytest.raises(InvalidCidError) as error:
        store.get_block(bad)
    assert isinstance(error.value, ValueError)
    with pytest.raises(ValueError):
        store.has(bad)


def test_put_block_verifies_before_writing(store: EmbeddedStore) -> None:
    data = b"a block someone else named"
    cid = compute_cid(data)
    with pytest.raises(CidMismatchError):
        store.put_block(cid, data + b"!")
    assert not store.has(cid)
    assert block_files(store) == []

    store.put_block(cid, data)
    assert store.get_block(cid) == data


def test_identity_cid_is_answered_from_the_cid(store: EmbeddedStore) -> None:
    assert store.has("bafkqaaa")
    assert store.get_block("bafkqaaa") == b""
    assert store.get("bafkqaaa", max_size=0) == b""
    assert block_files(store) == []


def test_concurrent_puts_and_reads_of_the_same_content(store: EmbeddedStore) -> None:
    content = random.Random(5).randbytes(2 * MIB + 3)
    expected = compute_cid(content)
    blocks = build_file_dag(content).blocks
    stop = threading.Event()
    seen: list[str] = []

    def read_until_stopped() -> None:
        # A reader racing the writers sees each block either absent or complete.
        while not stop.is_set():
            for block_cid, data in blocks.items():
                try:
                    read = store.get_block(str(block_cid))
                    seen.append("complete" if read == data else "wrong")
                except BlockNotFoundError:
                    seen.append("absent")
                except BlockMismatchError:
                    seen.append("torn")

    reader = threading.Thread(target=read_until_stopped)
    reader.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            cids = list(pool.map(lambda _: store.put(content), range(16)))
    finally:
        stop.set()
        reader.join()
    assert cids == [expected] * 16
    assert store.get(expected, max_size=len(content)) == content
    assert len(block_files(store)) == len(blocks)
    assert list((store.root / ".tmp").iterdir()) == []  # no temp file left behind
    assert "complete" in seen
    assert "torn" not in seen
    assert "wrong" not in seen


def test_stale_temp_files_from_a_crash_are_removed(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "blocks")
    stale = store.root / ".tmp" / "crashed-write"
    fresh = store.root / ".tmp" / "in-flight-write"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))

    EmbeddedStore(tmp_path / "blocks")

    assert not stale.exists()
    assert fresh.exists()


CRASHING_WRITER = """
import random, sys
from pathlib import Path
from node.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
rng = random.Random(7)
while True:
    store.put(rng.randbytes(256 * 1024))
"""


def test_sigkill_during_writes_leaves_only_complete_blocks(tmp_path: Path) -> None:
    """A writer killed mid-stream leaves every block file it created intact."""
    root = tmp_path / "blocks"
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(root)], cwd=Path(__file__).parents[2]
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(root.glob("*/*.data"))) < 40:
            assert writer.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer made no progress in 30 s"
            time.sleep(0.01)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    store = EmbeddedStore(root)
    files = list(root.glob("*/*.data"))
    assert len(files) >= 40
    for path in files:
        digest = multibase.decode("b" + path.stem)
        cid = CID("base32", 1, "raw", digest)
        assert store.path_for(str(cid)) == path
        assert len(store.get_block(str(cid))) == 256 * 1024  # verified against its hash
