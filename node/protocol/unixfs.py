"""UnixFS file DAGs, byte for byte as ``ipfs add --cid-version=1`` (kubo defaults) builds them.

A CID we publish is only useful if any IPFS node computes the same one from the same bytes,
so every choice here mirrors kubo rather than what might seem tidier:

* fixed 256 KiB chunks, each stored as a ``raw`` leaf; content that fits in one chunk *is*
  that leaf (``bafkrei...``), with no UnixFS wrapper;
* a balanced layout: consecutive runs of at most 174 children per ``dag-pb`` node, level by
  level, so every leaf sits at the same depth;
* each node is a PBNode whose Links (field 2) precede Data (field 1) in the bytes, each
  PBLink ``{Hash, Name="", Tsize}`` with Tsize the serialized size of the whole subtree, and
  Data the UnixFS protobuf ``{Type=File, filesize, blocksizes[]}``.

Reading goes the other way, in :mod:`node.protocol.unixfs_read`; the errors both halves
raise are here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from multiformats import CID, multihash, varint

from node.errors import LabelnetError
from node.protocol.cid import CHUNK_SIZE, raw_block_cid

MAX_LINKS = 174
"""Kubo's balanced layout: at most 174 children per node (fits a 256 KiB block)."""

RAW_CODEC = "raw"
DAG_PB_CODEC = "dag-pb"
UNIXFS_RAW = 0
UNIXFS_FILE = 2

WIRE_VARINT = 0
WIRE_LEN = 2


class ContentError(LabelnetError, ValueError):
    """Content that cannot be stored or served as we promised (bad DAG, wrong block...)."""


class CidMismatchError(ContentError):
    """A block whose bytes do not hash to the CID it was fetched under."""


class MissingBlockError(ContentError):
    """A block the DAG links to is not available from the block source."""


class MalformedDagError(ContentError):
    """A block that hashes correctly but is not a well-formed UnixFS file node."""


class ContentTooLargeError(ContentError):
    """A file whose declared size exceeds the caller's limit."""


class DagLimitError(MalformedDagError):
    """A DAG deeper, or of more blocks, than the reader allows: refused on its shape alone,
    so every reader with the same limits refuses the same DAGs."""


class NonCanonicalDagError(MalformedDagError):
    """A DAG that is not the one ``ipfs add --cid-version=1`` builds for its bytes."""


@dataclass(frozen=True)
class Block:
    """One content-addressed block: ``cid`` is the hash of ``data``."""

    cid: CID
    data: bytes


@dataclass(frozen=True)
class FileDag:
    """A file's DAG: the root CID and every block reachable from it, root included.

    ``blocks`` is what a blockstore must hold to serve the file; it is ordered as built
    (each node after its children, the root last).
    """

    root: CID
    blocks: dict[CID, bytes]
    size: int


@dataclass(frozen=True)
class _Child:
    """What a parent needs to know about a finished subtree."""

    cid: CID
    filesize: int
    tsize: int


# --- protobuf wire format (composed from multiformats' varint; no schema needed) ----------


def _key(field: int, wire_type: int) -> bytes:
    return varint.encode((field << 3) | wire_type)


def _varint_field(field: int, value: int) -> bytes:
    return _key(field, WIRE_VARINT) + varint.encode(value)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, WIRE_LEN) + varint.encode(len(payload)) + payload


def encode_file_node(children: Iterable[tuple[CID, int, int]]) -> bytes:
    """Serialize a kubo UnixFS file node linking ``(cid, filesize, tsize)`` children.

    Links come first, then Data, as in kubo's (and the dag-pb spec's) canonical form; the
    empty Name is written explicitly because kubo writes it, and it changes the hash.
    """
    links: list[bytes] = []
    blocksizes: list[bytes] = []
    filesize = 0
    for cid, size, tsize in children:
        link = _bytes_field(1, bytes(cid)) + _bytes_field(2, b"") + _varint_field(3, tsize)
        links.append(_bytes_field(2, link))
        blocksizes.append(_varint_field(4, size))
        filesize += size
    unixfs = _varint_field(1, UNIXFS_FILE) + _varint_field(3, filesize) + b"".join(blocksizes)
    return b"".join(links) + _bytes_field(1, unixfs)


# --- building ---------------------------------------------------------------------------


def fixed_size_chunks(source: Iterable[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Re-cut arbitrary byte pieces into ``size``-byte chunks (the last may be shorter).

    Empty input still yields one empty chunk, because ``ipfs add`` of an empty file stores
    one empty raw block rather than nothing.
    """
    buffer = bytearray()
    emitted = False
    for piece in source:
        view = memoryview(piece).cast("B")
        while view:
            take = min(size - len(buffer), len(view))
            buffer += view[:take]
            view = view[take:]
            if len(buffer) == size:
                yield bytes(buffer)
                buffer.clear()
                emitted = True
    if buffer or not emitted:
        yield bytes(buffer)


def _file_node(children: list[_Child]) -> tuple[Block, _Child]:
    data = encode_file_node((c.cid, c.filesize, c.tsize) for c in children)
    cid = CID("base32", 1, DAG_PB_CODEC, multihash.digest(data, "sha2-256"))
    filesize = sum(c.filesize for c in children)
    return Block(cid, data), _Child(cid, filesize, len(data) + sum(c.tsize for c in children))


def iter_file_blocks(source: Iterable[bytes]) -> Iterator[Block]:
    """Yield the blocks of the file whose bytes ``source`` yields; the last one is the root.

    Streams: memory holds one chunk plus at most 174 pending links per tree level, so a
    file can be imported from ``iter(lambda: f.read(CHUNK_SIZE), b"")`` without loading it.
    A full run of 174 siblings is closed into a node as soon as it fills, which is exactly
    kubo's grouping, since runs never straddle a boundary; partial runs close at the end.
    """
    levels: list[list[_Child]] = [[]]
    leaves = 0
    for chunk in fixed_size_chunks(source):
        leaf = Block(raw_block_cid(chunk), chunk)
        yield leaf
        leaves += 1
        levels[0].append(_Child(leaf.cid, len(chunk), len(chunk)))
        height = 0
        while len(levels[height]) == MAX_LINKS:
            block, child = _file_node(levels[height])
            yield block
            levels[height] = []
            if height + 1 == len(levels):
                levels.append([])
            levels[height + 1].append(child)
            height += 1
    if leaves == 1:
        return  # the single leaf is the file: kubo does not wrap it
    for height in range(len(levels)):
        pending = levels[height]
        is_top = not any(levels[height + 1 :])
        if is_top and len(pending) == 1:
            return  # already yielded, and the last block yielded: the root
        if pending:
            block, child = _file_node(pending)
            yield block
            if height + 1 == len(levels):
                levels.append([])
            levels[height + 1].append(child)


def build_file_dag(content: bytes) -> FileDag:
    """The DAG ``ipfs add --cid-version=1`` builds for ``content`` (any size)."""
    blocks: dict[CID, bytes] = {}
    last: Block | None = None
    for block in iter_file_blocks((content,)):
        blocks[block.cid] = block.data
        last = block
    if last is None:  # pragma: no cover - iter_file_blocks always yields at least one block
        raise ContentError("importer produced no blocks")
    return FileDag(root=last.cid, blocks=blocks, size=len(content))
