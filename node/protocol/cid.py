"""Content identifiers exactly as ``ipfs add --cid-version=1`` computes them.

Content of at most 256 KiB is a single raw block (CIDv1, codec ``raw``, sha2-256), which
is every protocol document we write. Larger content is chunked into a UnixFS file with raw
leaves (see :func:`compute_cid`).
"""

from __future__ import annotations

from multiformats import CID, multihash

CHUNK_SIZE = 256 * 1024
"""Kubo's default fixed-size chunker (``size-262144``)."""


def raw_block_cid(block: bytes) -> CID:
    """CIDv1 of a single raw block."""
    return CID("base32", 1, "raw", multihash.digest(block, "sha2-256"))


def compute_cid(content: bytes) -> str:
    """The CID ``ipfs add --cid-version=1`` gives ``content``, as a base32 string."""
    if len(content) <= CHUNK_SIZE:
        return str(raw_block_cid(content))
    from node.protocol.unixfs import build_file_dag

    return str(build_file_dag(content).root)
