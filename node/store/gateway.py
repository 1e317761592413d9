"""Fetching blocks from other nodes' trustless gateways, and the store a node runs on.

Every node serves its blocks at ``GET /ipfs/{cid}?format=raw`` (the IPFS trustless gateway,
see :mod:`node.api.gateway`), so fetching content from a peer needs nothing but HTTP and a
hash: a block is accepted only if it hashes to the CID it was asked for, so a peer can
waste our time but never change what we read. Files are walked block by block, each
block fetched and verified on its own, so no peer is trusted with a whole DAG either.

:class:`GatewayStore` is the composite a node uses: its own :class:`EmbeddedStore` first,
then peers in order, caching every fetched block locally so it is fetched once and can be
served on to others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType

import httpx
from multiformats import CID

from node.store.base import MAX_BLOCK_SIZE, ContentStore, verified
from node.store.budget import check as check_deadline
from node.store.budget import remaining
from node.store.embedded import EmbeddedStore
from node.store.errors import (
    BlockMismatchError,
    BlockNotFoundError,
    InvalidContentError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

RAW_BLOCK_MEDIA_TYPE = "application/vnd.ipld.raw"
DEFAULT_TIMEOUT = 10.0
"""Seconds one peer gets to deliver one block (at most 2 MiB) before the next is tried."""

PeerSource = Sequence[str] | Callable[[], Sequence[str]]
"""Peer gateway base URLs (``http://host:port``), or a function returning the current ones
(peers come and go as they announce on chain)."""


class _PeerFailedError(Exception):
    """One peer could not deliver one block; ``kind`` decides what the caller reports."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class GatewayFetcher:
    """Fetches single verified blocks from peers' trustless gateways, trying them in order."""

    def __init__(
        self,
        peers: PeerSource,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        self._peers = peers
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def peers(self) -> list[str]:
        """The peer gateways to ask, in order of preference."""
        peers = self._peers() if callable(self._peers) else self._peers
        return [peer.rstrip("/") for peer in peers]

    def fetch_block(self, cid: CID) -> bytes:
        """Block ``cid`` from the first peer that serves bytes hashing to it.

        A peer that answers with other bytes is logged and skipped. If none delivers, the
        error says why each failed: :class:`BlockMismatchError` if any peer served wrong
        bytes (someone is misbehaving), else :class:`BlockNotFoundError` if any peer said
        it has no such block, else :class:`StoreUnavailableError` (nobody answered).
        """
        failures: dict[str, list[str]] = {"mismatch": [], "not-found": [], "unavailable": []}
        for peer in self.peers():
            try:
                return self._fetch_from(peer, cid)
            except _PeerFailedError as exc:
                failures[exc.kind].append(str(exc))
                if exc.kind == "mismatch":
                    log.warning("rejected block: %s", exc)
        check_deadline()  # peers that ran out of our time did not fail: the read did
        reasons = "; ".join(reason for kind in failures.values() for reason in kind)
        if failures["mismatch"]:
            raise BlockMismatchError(f"no peer served block {cid} intact: {reasons}")
        if failures["not-found"] or not reasons:
            raise BlockNotFoundError(
                f"block {cid} is not at any peer gateway: {reasons or 'no peers known'}"
            )
        raise StoreUnavailableError(f"no peer gateway answered for block {cid}: {reasons}")

    def _fetch_from(self, peer: str, cid: CID) -> bytes:
        url = f"{peer}/ipfs/{cid}"
        timeout = remaining(self._timeout)
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(
                "GET",
                url,
                params={"format": "raw"},
                headers={"Accept": RAW_BLOCK_MEDIA_TYPE},
                timeout=timeout,
            ) as response:
                if response.status_code == httpx.codes.NOT_FOUND:
                    raise _PeerFailedError("not-found", f"{peer}: not found")
                if response.status_code != httpx.codes.OK:
                    raise _PeerFailedError("unavailable", f"{peer}: HTTP {response.status_code}")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_BLOCK_SIZE:
                        raise _PeerFailedError("mismatch", f"{peer}: block over {MAX_BLOCK_SIZE} B")
                    if time.monotonic() > deadline:
                        raise _PeerFailedError("unavailable", f"{peer}: too slow")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _PeerFailedError("unavailable", f"{peer}: {type(exc).__name__}: {exc}") from exc
        try:
            return verified(cid, bytes(data), f"peer {peer}")
        except (BlockMismatchError, InvalidContentError) as exc:
            raise _PeerFailedError("mismatch", str(exc)) from exc

    def close(self) -> None:
        """Close the HTTP connection pool (only if this fetcher created it)."""
        if self._owns_client:
            self._client.close()


class GatewayStore(ContentStore):
    """A node's content store: local blocks first, then peers' gateways, caching locally.

    ``has`` answers for local blocks only, and a node's own gateway must serve
    :attr:`local`, not this store: a gateway that fetched from peers on a miss would let two
    nodes ask each other for a block neither has, forever.
    """

    def __init__(
        self,
        local: EmbeddedStore,
        peers: PeerSource,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        self.local = local
        self.fetcher = GatewayFetcher(peers, timeout=timeout, client=client)

    def put(self, content: bytes) -> str:
        return self.local.put(content)

    def _write_block(self, cid: CID, data: bytes) -> None:
        self.local.put_block(str(cid), data)

    def _has_block(self, cid: CID) -> bool:
        return self.local.has(str(cid))

    def _read_block(self, cid: CID) -> bytes:
        try:
            return self.local.get_block(str(cid))
        except BlockNotFoundError:
            pass
        except BlockMismatchError as exc:
            log.warning("local copy of block %s is corrupt, fetching it again: %s", cid, exc)
        data = self.fetcher.fetch_block(cid)
        self.local.put_block(str(cid), data)
        return data

    def _describe(self, cid: CID) -> str:
        return f"the local store or peers of {type(self).__name__}"

    def close(self) -> None:
        """Release the HTTP connections to peers."""
        self.fetcher.close()

    def __enter__(self) -> GatewayStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
