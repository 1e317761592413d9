"""Reading UnixFS file DAGs back, trusting nothing (the building half is
:mod:`node.protocol.unixfs`).

Every block is hashed against the CID that named it, and every declared size is checked
against what the children actually hold, so a peer serving blocks cannot change the content
or its length without an error. Limits (:class:`DagLimits`) bound the work a hostile DAG
can cause before its bytes are known to be wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from multiformats import CID, multihash, varint

from node.protocol.cid import CHUNK_SIZE
from node.protocol.unixfs import (
    DAG_PB_CODEC,
    MAX_LINKS,
    RAW_CODEC,
    UNIXFS_FILE,
    UNIXFS_RAW,
    WIRE_LEN,
    WIRE_VARINT,
    CidMismatchError,
    ContentError,
    ContentTooLargeError,
    DagLimitError,
    MalformedDagError,
    MissingBlockError,
    NonCanonicalDagError,
    iter_file_blocks,
)

BlockSource = Mapping[CID, bytes] | Callable[[CID], bytes]
"""Where blocks come from: a mapping (e.g. :attr:`FileDag.blocks`) or a fetch function that
raises ``KeyError`` for a block it does not have."""


@dataclass(frozen=True)
class PBLink:
    """A decoded dag-pb link."""

    cid: CID
    name: str
    tsize: int | None


@dataclass(frozen=True)
class FileNode:
    """A decoded UnixFS file node: inline ``data`` (if any) comes before the children."""

    links: tuple[PBLink, ...]
    data: bytes
    filesize: int
    blocksizes: tuple[int, ...]


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Parse protobuf ``(field, wire_type, value)`` triples; only varints and bytes occur."""
    rest = memoryview(buf)
    try:
        while rest:
            key, _, tail = varint.decode_raw(rest)
            rest = memoryview(tail)
            field, wire_type = key >> 3, key & 7
            value, _, tail = varint.decode_raw(rest)
            rest = memoryview(tail)
            if wire_type == WIRE_VARINT:
                yield field, wire_type, value
            elif wire_type == WIRE_LEN:
                if value > len(rest):
                    raise MalformedDagError("length-delimited field runs past the block")
                yield field, wire_type, bytes(rest[:value])
                rest = rest[value:]
            else:
                raise MalformedDagError(f"unexpected protobuf wire type {wire_type}")
    except MalformedDagError:
        raise
    except ValueError as exc:  # multiformats raises ValueError for truncated varints
        raise MalformedDagError(f"invalid protobuf varint: {exc}") from exc


def _decode_link(buf: bytes) -> PBLink:
    cid: CID | None = None
    name = ""
    tsize: int | None = None
    for field, _, value in _fields(buf):
        if field == 1 and isinstance(value, bytes) and cid is None:
            try:
                cid = CID.decode(value).set(base="base32")  # binary CIDs default to base58
            except (ValueError, KeyError) as exc:
                raise MalformedDagError(f"invalid CID in link: {exc}") from exc
        elif field == 2 and isinstance(value, bytes):
            try:
                name = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedDagError("link Name is not UTF-8") from exc
        elif field == 3 and isinstance(value, int):
            tsize = value
        else:
            raise MalformedDagError(f"unexpected PBLink field {field}")
    if cid is None:
        raise MalformedDagError("PBLink without Hash")
    return PBLink(cid, name, tsize)


def decode_pb_node(block: bytes) -> tuple[tuple[PBLink, ...], bytes | None]:
    """The Links and the Data (None if absent) of any dag-pb block, strictly: what a walk
    that follows links without interpreting UnixFS (a CAR export) needs."""
    links: list[PBLink] = []
    data: bytes | None = None
    for field, wire_type, value in _fields(block):
        if wire_type != WIRE_LEN or not isinstance(value, bytes):
            raise MalformedDagError(f"PBNode field {field} is not length-delimited")
        if field == 2 and data is None:
            links.append(_decode_link(value))
        elif field == 1 and data is None:
            data = value
        else:
            raise MalformedDagError(f"unexpected PBNode field {field} (Links must precede Data)")
    return tuple(links), data


def unixfs_type(data: bytes) -> int | None:
    """The UnixFS ``Type`` a dag-pb node's Data declares (2 file, 1 directory, 5 HAMT
    shard...), or None if it declares none."""
    for field, _, value in _fields(data):
        if field == 1 and isinstance(value, int):
            return value
    return None


def decode_file_node(block: bytes) -> FileNode:
    """Decode a dag-pb block holding a UnixFS File (or Raw) node, strictly."""
    links, unixfs = decode_pb_node(block)
    if unixfs is None:
        raise MalformedDagError("dag-pb node without UnixFS Data")
    kind: int | None = None
    data = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for field, _, value in _fields(unixfs):
        if field == 1 and isinstance(value, int):
            kind = value
        elif field == 2 and isinstance(value, bytes):
            data = value
        elif field == 3 and isinstance(value, int):
            filesize = value
        elif field == 4 and isinstance(value, int):
            blocksizes.append(value)
        elif field not in (5, 6, 7, 8):  # hashType, fanout, mode, mtime: no effect on bytes
            raise MalformedDagError(f"unexpected UnixFS field {field}")
    if kind not in (UNIXFS_FILE, UNIXFS_RAW):
        raise MalformedDagError(f"UnixFS node of type {kind} is not a file")
    if len(blocksizes) != len(links):
        raise MalformedDagError(f"{len(links)} links but {len(blocksizes)} blocksizes")
    total = len(data) + sum(blocksizes)
    if filesize is not None and filesize != total:
        raise MalformedDagError(f"filesize {filesize} != data + blocksizes = {total}")
    return FileNode(links, data, total, tuple(blocksizes))


def verify_block(cid: CID, data: bytes) -> None:
    """Raise :class:`CidMismatchError` unless ``data`` hashes to ``cid``'s multihash."""
    try:
        actual = multihash.digest(data, cid.hashfun.name, size=len(cid.raw_digest))
    except (KeyError, ValueError) as exc:
        raise ContentError(f"cannot verify {cid}: unsupported hash {cid.hashfun.name}") from exc
    if actual != cid.digest:
        raise CidMismatchError(f"block {cid} does not hash to its CID")


def _fetch(source: BlockSource, cid: CID) -> bytes:
    try:
        data = source[cid] if isinstance(source, Mapping) else source(cid)
    except KeyError as exc:
        raise MissingBlockError(f"block {cid} is missing") from exc
    verify_block(cid, data)
    return data


def canonical_shape(size: int) -> tuple[int, int]:
    """``(height, blocks)`` of the DAG :func:`iter_file_blocks` builds for ``size`` bytes:
    the levels of ``dag-pb`` nodes above the leaves, and the number of blocks in all."""
    leaves = max(1, -(-size // CHUNK_SIZE))
    height, blocks, level = 0, leaves, leaves
    while level > 1:
        level = -(-level // MAX_LINKS)
        blocks += level
        height += 1
    return height, blocks


@dataclass(frozen=True)
class DagLimits:
    """Bounds on the shape of a DAG a reader walks, whoever serves its blocks.

    ``max_depth`` is the most levels of links below the root; ``max_blocks`` maps the size
    the root declares to the most blocks the walk may fetch. ``canonical`` demands exactly
    the layout of :func:`iter_file_blocks` (kubo's defaults), which every protocol document
    has: its depth and block count then follow from its size, and its root is checked to be
    the canonical CID of the bytes read.
    """

    max_depth: int
    max_blocks: Callable[[int], int]
    canonical: bool = False


def iter_file(
    root: CID | str,
    blocks: BlockSource,
    *,
    max_size: int | None = None,
    limits: DagLimits | None = None,
) -> Iterator[bytes]:
    """Yield the file under ``root`` piece by piece, verifying every block on the way.

    Each block must hash to its CID; each child must hold exactly the bytes its parent's
    ``blocksizes`` claims and the subtree size its link's Tsize claims; children of size 0
    are rejected (kubo never links them) so the work done is bounded by the file size.
    ``max_size`` rejects a file whose root declares more bytes, before reading any leaf.
    ``limits`` bounds the depth and the number of blocks (:class:`DagLimitError`), which the
    declared size alone does not: a chain of single-link nodes keeps a consistent size at
    any depth.
    """
    root_cid = (CID.decode(root) if isinstance(root, str) else root).set(base="base32")
    # Depth-first, children pushed in reverse: (cid, expected bytes, expected tsize, depth).
    stack: list[tuple[CID, int | None, int | None, int]] = [(root_cid, None, None, 0)]
    max_depth = limits.max_depth if limits is not None else None
    block_limit: int | None = None
    fetched = 0
    hasher = None
    while stack:
        cid, expected_size, expected_tsize, depth = stack.pop()
        if block_limit is not None and fetched >= block_limit:
            raise DagLimitError(f"file {root_cid} needs more than {block_limit} blocks")
        data = _fetch(blocks, cid)
        fetched += 1
        if cid.codec.name == RAW_CODEC:
            size, tsize, node = len(data), len(data), None
        elif cid.codec.name == DAG_PB_CODEC:
            node = decode_file_node(data)
            size = node.filesize
            tsize = len(data) + sum(link.tsize or 0 for link in node.links)
        else:
            raise ContentError(f"block {cid} has codec {cid.codec.name}, not raw or dag-pb")
        if expected_size is None:
            if max_size is not None and size > max_size:
                raise ContentTooLargeError(f"file is {size} bytes, limit is {max_size}")
            if limits is not None:
                block_limit = limits.max_blocks(size)
                if limits.canonical:
                    height, block_limit = canonical_shape(size)
                    max_depth = min(limits.max_depth, height)
                    hasher = _CanonicalCheck(root_cid)
        if expected_size is not None and size != expected_size:
            raise MalformedDagError(f"block {cid} holds {size} bytes, parent says {expected_size}")
        if expected_tsize is not None and tsize != expected_tsize:
            raise MalformedDagError(f"block {cid} has Tsize {tsize}, link says {expected_tsize}")
        if node is None:
            if hasher is not None:
                hasher.feed(data)
            yield data
            continue
        if node.data:
            if hasher is not None:
                raise NonCanonicalDagError(f"node {cid} inlines data")
            yield node.data
        if max_depth is not None and node.links and depth >= max_depth:
            raise DagLimitError(f"file {root_cid} is deeper than {max_depth} levels")
        for link, blocksize in zip(reversed(node.links), reversed(node.blocksizes), strict=True):
            if blocksize == 0:
                raise MalformedDagError(f"node {cid} links an empty child")
            stack.append((link.cid, blocksize, link.tsize, depth + 1))
    if hasher is not None:
        hasher.finish()


class _CanonicalCheck:
    """Rebuilds the canonical DAG of the bytes a walk yields and compares its root. It keeps
    references to the pieces until the end: the callers join them into one document anyway."""

    def __init__(self, root: CID) -> None:
        self._root = root
        self._pieces: list[bytes] = []

    def feed(self, piece: bytes) -> None:
        self._pieces.append(piece)

    def finish(self) -> None:
        last: CID | None = None
        for block in iter_file_blocks(self._pieces):
            last = block.cid
        if last != self._root:
            raise NonCanonicalDagError(
                f"file {self._root} is not in the canonical layout (its bytes give {last})"
            )


def read_file(
    root: CID | str,
    blocks: BlockSource,
    *,
    max_size: int | None = None,
    limits: DagLimits | None = None,
) -> bytes:
    """The verified content of the file under ``root`` (see :func:`iter_file`)."""
    return b"".join(iter_file(root, blocks, max_size=max_size, limits=limits))
