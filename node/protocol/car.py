"""CARv1 streams of a DAG, as a trustless gateway serves them (``application/vnd.ipld.car``).

A CAR (ipld.io/specs/transport/car/carv1) is a varint-prefixed dag-cbor header
``{"roots": [root], "version": 1}`` followed by one section per block:
``varint(len(cid) + len(data)) || cid || data``. It lets a client fetch a whole file in one
request and still trust nothing: it hashes every block against its CID as it reads.

The blocks come in the one order the gateway spec lets a client rely on (``order=dfs``,
IPIP-412): depth first, each block before its children and the children in the order
their parent links them, which is also the order kubo's gateway sends. A streaming client
can then verify each block against a link it already holds and emit the file's bytes as
they arrive. ``dups`` says whether a block linked twice (a file of zeros repeats leaves) is
sent each time (``y``: the client can forget blocks once read) or once (``n``).

Only ``dag-pb`` and ``raw`` blocks are walked: they are all a UnixFS DAG has, and the only
codecs this node stores. The header is encoded here (two fixed keys and one CID) rather
than through a dag-cbor library: the tests read it back with independent CAR readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from multiformats import CID, varint

from node.protocol.unixfs import DAG_PB_CODEC, RAW_CODEC, UNIXFS_FILE, UNIXFS_RAW, ContentError
from node.protocol.unixfs_read import decode_pb_node, unixfs_type

DagScope = Literal["block", "entity", "all"]
"""The trustless gateway's ``dag-scope``: the root block only; the blocks needed to read
the entity the root is (a whole UnixFS file, a directory's own block); the whole DAG."""

DAG_SCOPES: tuple[DagScope, ...] = ("block", "entity", "all")

UNIXFS_HAMT_SHARD = 5

_CBOR_TAG_CID = b"\xd8\x2a"  # tag 42: a CID, as dag-cbor encodes links


class CarExportError(ContentError):
    """A DAG this node cannot export as a CAR of the requested scope (a codec it does not
    decode, a sharded directory), or one deeper than any read here may go."""


def _cbor_bytes(payload: bytes) -> bytes:
    """A CBOR byte string (major type 2) in the shortest form dag-cbor requires."""
    size = len(payload)
    if size < 24:
        head = bytes([0x40 | size])
    elif size < 0x100:
        head = bytes([0x58, size])
    else:
        head = b"\x59" + size.to_bytes(2, "big")  # a CID is far below 64 KiB
    return head + payload


def car_header(root: CID) -> bytes:
    """The varint-prefixed CARv1 header naming ``root``: ``{"roots": [root], "version": 1}``
    in dag-cbor's canonical form (keys sorted by length: "roots" before "version")."""
    link = _CBOR_TAG_CID + _cbor_bytes(b"\x00" + bytes(root))  # the 0x00 multibase prefix
    header = b"\xa2" + b"\x65roots" + b"\x81" + link + b"\x67version" + b"\x01"
    return bytes(varint.encode(len(header))) + header


def car_section(cid: CID, data: bytes) -> bytes:
    """One block's CARv1 section: its length, its binary CID, its bytes."""
    binary = bytes(cid)
    return bytes(varint.encode(len(binary) + len(data))) + binary + data


def _is_identity(cid: CID) -> bool:
    return bool(cid.hashfun.name == "identity")


def scope_walks_links(root: CID, root_data: bytes, scope: DagScope) -> bool:
    """Whether a CAR of ``scope`` goes past ``root``'s own block; raises
    :class:`CarExportError` before anything is sent if it cannot be produced at all.

    ``entity`` is the whole DAG for a UnixFS file and the root block alone for what else
    is not sharded (a directory lists its entries in its own block; non-UnixFS data has no
    entity beyond its block, as the spec says).
    """
    codec = root.codec.name
    if scope == "block" or codec == RAW_CODEC:
        return False
    if codec != DAG_PB_CODEC:
        if scope == "entity":
            return False
        raise CarExportError(f"cannot walk the DAG of {root}: codec {codec} is not dag-pb")
    _, data = decode_pb_node(root_data)
    kind = unixfs_type(data) if data is not None else None
    if scope == "all":
        return True
    if kind == UNIXFS_HAMT_SHARD:
        raise CarExportError(f"{root} is a sharded directory; ask for dag-scope=block or all")
    return kind in (UNIXFS_FILE, UNIXFS_RAW)


def dag_blocks(
    root: CID,
    root_data: bytes,
    read: Callable[[CID], bytes],
    *,
    scope: DagScope,
    dups: bool,
    max_depth: int,
) -> Iterator[tuple[CID, bytes]]:
    """The blocks of a CAR of ``root`` for ``scope``, depth first, root first.

    Raises :class:`CarExportError` at once (before a caller commits to a response) if no
    such CAR can be made; the walk itself is lazy. ``read`` returns a linked block's
    verified bytes or raises, so a block missing halfway ends the walk where it is. With
    ``dups`` false a block already sent is skipped with its whole subtree (sent with it).
    Identity blocks are never sent: their bytes are in the CID, which the parent already
    carries. Links deeper than ``max_depth`` below the root raise :class:`CarExportError`,
    bounding the walk's memory (the pending links) the way every DAG read here is bounded.
    """
    walk = scope_walks_links(root, root_data, scope)
    return _walk(root, root_data, read, walk=walk, dups=dups, max_depth=max_depth)


def _walk(
    root: CID,
    root_data: bytes,
    read: Callable[[CID], bytes],
    *,
    walk: bool,
    dups: bool,
    max_depth: int,
) -> Iterator[tuple[CID, bytes]]:
    seen: set[CID] = set()
    # Each entry: a block to send, its bytes if already read, its depth below the root.
    stack: list[tuple[CID, bytes | None, int]] = [(root, root_data, 0)]
    while stack:
        cid, data, depth = stack.pop()
        if not dups:
            if cid in seen:
                continue
            seen.add(cid)
        if data is None:
            data = bytes(cid.raw_digest) if _is_identity(cid) else read(cid)
        if not _is_identity(cid):
            yield cid, data
        if not walk or cid.codec.name == RAW_CODEC:
            continue
        if cid.codec.name != DAG_PB_CODEC:
            raise CarExportError(f"cannot walk past {cid}: codec {cid.codec.name} is not dag-pb")
        links, _ = decode_pb_node(data)
        if links and depth >= max_depth:
            raise CarExportError(f"the DAG of {root} is deeper than {max_depth} levels")
        stack.extend((link.cid, None, depth + 1) for link in reversed(links))


def car_stream(
    root: CID,
    root_data: bytes,
    read: Callable[[CID], bytes],
    *,
    scope: DagScope,
    dups: bool,
    max_depth: int,
) -> Iterator[bytes]:
    """The CARv1 bytes of :func:`dag_blocks` (raising as early as it does), one chunk per
    section after the header."""
    blocks = dag_blocks(root, root_data, read, scope=scope, dups=dups, max_depth=max_depth)
    return _sections(root, blocks)


def _sections(root: CID, blocks: Iterator[tuple[CID, bytes]]) -> Iterator[bytes]:
    yield car_header(root)
    for cid, data in blocks:
        yield car_section(cid, data)
