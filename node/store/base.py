"""The one interface every content backend implements, and the verification they share.

A store holds *blocks*, each named by the CID of its bytes, and files are DAGs of blocks
(see :mod:`node.protocol.unixfs`). The interface is deliberately small so the role logic
never knows whether blocks live on local disk, at a Kubo daemon, or at peers' gateways:

* ``put(content)`` stores a whole file and returns the CID ``ipfs add --cid-version=1``
  gives it; ``put_block(cid, data)`` stores one block someone else named;
* ``get(cid, max_size=...)`` returns a whole file, ``get_block(cid)`` one block;
* ``has(cid)`` says whether the block is held here, without asking anyone else.

Nothing is trusted: :class:`ContentStore` verifies every block it accepts and every block
it returns against its CID, whatever the backend, so a backend only moves bytes around.
Identity CIDs (the data is inlined in the CID, as in the gateway probe ``bafkqaaa``) are
answered from the CID itself and never stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from multiformats import CID

from node.protocol.unixfs import (
    CidMismatchError,
    ContentError,
    ContentTooLargeError,
    iter_file_blocks,
)
from node.protocol.unixfs_read import DagLimits, iter_file, verify_block
from node.store.budget import FetchBudget, within
from node.store.budget import check as check_deadline
from node.store.errors import (
    BlockMismatchError,
    FileTooLargeError,
    InvalidCidError,
    InvalidContentError,
    StoreError,
)

MAX_BLOCK_SIZE = 2 * 1024 * 1024
"""Largest block accepted from anyone: the bitswap limit every IPFS implementation uses
(our own blocks are at most 256 KiB); without a limit a peer could make us buffer anything."""

MAX_IDENTITY_SIZE = 128
"""Largest inline (identity-hash) block accepted, as kubo limits them."""

SUPPORTED_HASHES = frozenset({"sha2-256", "identity"})
"""Hash functions a CID may use here: what kubo and Helia produce; anything else would be a
block we could not verify as cheaply or that no peer serves."""


def parse_cid(cid: str | CID) -> CID:
    """``cid`` as a base32 CIDv1, or :class:`InvalidCidError` if it is none we can verify.

    CIDv0 (``Qm...``) becomes the equivalent CIDv1 ``dag-pb``: both name the same bytes.
    """
    if isinstance(cid, CID):
        parsed = cid
    else:
        try:
            parsed = CID.decode(cid.strip())
        # multibase raises KeyError for an unknown base, multiformats IndexError for an
        # empty payload ("0", "b"): every one of them is a string that names no CID.
        except (ValueError, KeyError, IndexError) as exc:
            raise InvalidCidError(f"{cid[:100]!r} is not a valid CID: {exc}") from exc
    if parsed.hashfun.name not in SUPPORTED_HASHES:
        raise InvalidCidError(
            f"CID {parsed} uses hash {parsed.hashfun.name}; only sha2-256 blocks are supported"
        )
    if parsed.hashfun.name == "identity" and len(parsed.raw_digest) > MAX_IDENTITY_SIZE:
        raise InvalidCidError(f"identity CID inlines more than {MAX_IDENTITY_SIZE} bytes")
    if parsed.version == 0:
        parsed = parsed.set(version=1)
    return parsed.set(base="base32")


def is_identity(cid: CID) -> bool:
    """Whether ``cid`` inlines its block (so the block is the digest, nothing to fetch)."""
    return bool(cid.hashfun.name == "identity")


def verified(cid: CID, data: bytes, source: str) -> bytes:
    """``data`` if it hashes to ``cid``; otherwise :class:`BlockMismatchError` naming
    ``source``, so the message says who handed over the wrong bytes."""
    if len(data) > MAX_BLOCK_SIZE:
        raise InvalidContentError(
            f"block {cid} from {source} is {len(data)} bytes, over the {MAX_BLOCK_SIZE} limit"
        )
    try:
        verify_block(cid, data)
    except CidMismatchError as exc:
        raise BlockMismatchError(f"block {cid} from {source} does not hash to its CID") from exc
    return data


class ContentStore(ABC):
    """Content-addressed storage of IPFS blocks and UnixFS files, verified end to end.

    Subclasses implement three primitives on already-parsed CIDs (``_read_block``,
    ``_write_block``, ``_has_block``); the public methods parse and verify around them, so
    a backend cannot weaken the guarantees by forgetting a check.
    """

    def put(self, content: bytes) -> str:
        """Store ``content`` as ``ipfs add --cid-version=1`` would and return its CID.

        Content up to 256 KiB is one raw block; larger content is stored as every block of
        its UnixFS DAG (raw leaves, balanced layout), so a peer can fetch it block by block.
        """
        root: CID | None = None
        for block in iter_file_blocks((content,)):
            self._write_block(block.cid, block.data)  # we just hashed it: no re-verify
            root = block.cid
        if root is None:  # pragma: no cover - the importer always yields the root
            raise InvalidContentError("importer produced no blocks")
        return str(root)

    def put_block(self, cid: str, data: bytes) -> None:
        """Store one block under ``cid`` after checking that ``data`` hashes to it."""
        parsed = parse_cid(cid)
        verified(parsed, data, "the caller")
        if not is_identity(parsed):
            self._write_block(parsed, data)

    def get_block(self, cid: str) -> bytes:
        """The verified bytes of the block ``cid`` (raises ``BlockNotFoundError``)."""
        parsed = parse_cid(cid)
        if is_identity(parsed):
            return bytes(parsed.raw_digest)
        return verified(parsed, self._read_block(parsed), self._describe(parsed))

    def has(self, cid: str) -> bool:
        """Whether this store holds block ``cid`` itself (it never fetches to answer)."""
        parsed = parse_cid(cid)
        return is_identity(parsed) or self._has_block(parsed)

    def get(
        self,
        cid: str,
        *,
        max_size: int,
        budget: FetchBudget | None = None,
        canonical: bool = False,
    ) -> bytes:
        """The whole file under ``cid``, every block verified on the way.

        ``max_size`` and ``budget`` bound the work a hostile DAG can cause: the root's
        declared size is checked before any leaf is read, the walk stops at the budget's
        depth and block count (:class:`InvalidContentError`, a property of the content) or
        at its deadline (:class:`~node.store.budget.BudgetExceededError`, a property of the
        peers). ``canonical`` demands kubo's default layout, which every protocol document
        has, and so bounds the blocks by the size alone. A raw CID is a one-block file.
        """
        if max_size < 0:
            raise ValueError(f"max_size must be at least 0, not {max_size}")
        budget = budget or FetchBudget()
        limits = DagLimits(budget.max_depth, budget.max_blocks, canonical=canonical)
        root = parse_cid(cid)
        try:
            with within(budget.seconds):
                return b"".join(
                    iter_file(root, self._read_for_dag, max_size=max_size, limits=limits)
                )
        except StoreError:
            raise  # already ours: not found, unavailable, a peer's mismatch, out of time
        except CidMismatchError as exc:
            raise BlockMismatchError(f"file {root}: {exc}") from exc
        except ContentTooLargeError as exc:
            raise FileTooLargeError(f"file {root}: {exc}") from exc
        except ContentError as exc:
            raise InvalidContentError(f"file {root}: {exc}") from exc

    def _read_for_dag(self, cid: CID) -> bytes:
        """Block source for :func:`iter_file`, which verifies every block itself; checks the
        read's deadline before each block, so a slow walk stops within one block's wait."""
        if is_identity(cid):
            return bytes(cid.raw_digest)
        check_deadline()
        return self._read_block(cid)

    def _describe(self, cid: CID) -> str:
        """Where the block ``cid`` comes from, for error messages."""
        return type(self).__name__

    @abstractmethod
    def _read_block(self, cid: CID) -> bytes:
        """The bytes stored under ``cid``; raise ``BlockNotFoundError`` if there are none.

        May return unverified bytes: every caller verifies them.
        """

    @abstractmethod
    def _write_block(self, cid: CID, data: bytes) -> None:
        """Durably store ``data`` (already verified to hash to ``cid``)."""

    @abstractmethod
    def _has_block(self, cid: CID) -> bool:
        """Whether the block is held by this backend itself."""
