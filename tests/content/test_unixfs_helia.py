"""Our CIDs against Helia's, for the same bytes, imported with kubo's settings.

Helia is an independent IPFS implementation; agreeing with it on chunk boundaries and on
DAGs of more than 174 leaves (two levels) shows the chunker and the balanced layout, not
just the block encoding, match. All files go through one Node process: its start-up costs
more than hashing most of these sizes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from node.protocol.cid import CHUNK_SIZE, compute_cid
from node.protocol.unixfs import MAX_LINKS
from tests.support import node22
from tests.support.node22 import run_node_json

MIB = 1024 * 1024
_sizes = random.Random(2024)

SIZES = {
    "empty": 0,
    "one byte": 1,
    "chunk - 1": CHUNK_SIZE - 1,
    "chunk": CHUNK_SIZE,
    "chunk + 1": CHUNK_SIZE + 1,
    "10 MiB": 10 * MIB,
    "random small": _sizes.randrange(2, CHUNK_SIZE),
    "random multi-chunk": _sizes.randrange(CHUNK_SIZE + 2, 40 * CHUNK_SIZE),
    "174 leaves, full node": MAX_LINKS * CHUNK_SIZE,
    "175 leaves, two levels": MAX_LINKS * CHUNK_SIZE + 1,
    "random two levels": _sizes.randrange(MAX_LINKS * CHUNK_SIZE + 2, 180 * CHUNK_SIZE),
    "three top-level children": 2 * MAX_LINKS * CHUNK_SIZE + 3 * CHUNK_SIZE + 7,
}


@pytest.fixture(scope="module")
def cid_pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """``name -> (python CID, helia CID)`` for random content of each size in SIZES."""
    directory: Path = tmp_path_factory.mktemp("unixfs")
    ours: dict[str, str] = {}
    paths: list[str] = []
    for seed, (name, size) in enumerate(SIZES.items()):
        content = random.Random(seed).randbytes(size)
        path = directory / f"{seed}.bin"
        path.write_bytes(content)
        paths.append(str(path))
        ours[name] = compute_cid(content)
    theirs = run_node_json("unixfs_cids.mjs", *paths, timeout=120)
    assert len(theirs) == len(SIZES)
    return {name: (ours[name], helia) for name, helia in zip(SIZES, theirs, strict=True)}


@pytest.mark.parametrize("name", list(SIZES))
def test_cid_matches_helia(name: str, cid_pairs: dict[str, tuple[str, str]]) -> None:
    ours, helia = cid_pairs[name]
    assert ours == helia
    expected_prefix = "bafkrei" if SIZES[name] <= CHUNK_SIZE else "bafybei"
    assert ours.startswith(expected_prefix)


def test_missing_node22_fails_with_setup_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A missing toolchain must fail (never skip) and say how to install it."""
    monkeypatch.setattr(node22, "NODE22", tmp_path / "no-such-node")
    with pytest.raises(pytest.fail.Exception, match=r"scripts/setup\.sh"):
        run_node_json("unixfs_cids.mjs")
