"""A Kubo daemon as the content store, through its RPC API and ``ipfshttpclient``.

``ipfshttpclient.connect()`` asks the daemon for its version and refuses anything from 0.8
on (``assert_version`` with ``VERSION_MAXIMUM = "0.8.0"``), which is every Kubo release
of the last years. The ``Client`` constructor makes no request at all, so we build it
directly; the only other version-dependent code in the client, ``apply_workarounds()``,
enables a workaround for daemons *older* than 0.5 and nothing for newer ones, so skipping
it changes nothing. The few RPC calls used here (``add``, ``cat``, ``block/get``,
``block/put``, ``block/stat``, ``version``) have kept their form across Kubo releases and
are also served by js-ipfs, which the tests run as the daemon.

The daemon is not trusted more than a peer: every block it returns is verified, ``add``
must yield the CID we compute ourselves (a daemon with other import settings would publish
CIDs nobody else can reproduce), and ``cat`` output is accepted only if it re-imports to
the requested CID; otherwise the file is walked and verified block by block.

CIDs are compared as multihashes, not strings: js-ipfs answers in base58btc, and block
stores key blocks by multihash, so the CID version or codec a daemon reports does not
matter, only that it names the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipfshttpclient
from ipfshttpclient import exceptions as ipfs_errors
from multiformats import CID

from node.protocol.cid import CHUNK_SIZE, compute_cid
from node.store.base import ContentStore, is_identity, parse_cid
from node.store.budget import FetchBudget
from node.store.errors import (
    BackendError,
    BlockNotFoundError,
    FileTooLargeError,
    InvalidCidError,
    StoreConfigError,
    StoreUnavailableError,
)

DEFAULT_API = "/ip4/127.0.0.1/tcp/5001/http"

_NOT_FOUND_MARKERS = ("not found", "could not find", "timed out", "deadline exceeded")
"""How daemons say a block is not there: Kubo offline ("block was not found locally"),
Kubo or js-ipfs after the request's own ``timeout`` ("context deadline exceeded",
"request timed out"). The RPC API has no error codes, so the message is all there is."""


def _duration(seconds: float) -> str:
    """A duration both Kubo (Go) and js-ipfs parse: whole milliseconds."""
    return f"{max(1, round(seconds * 1000))}ms"


class KuboStore(ContentStore):
    """Blocks and files kept by a Kubo (or Kubo-RPC-compatible) daemon.

    ``timeout`` bounds each HTTP call; ``fetch_timeout`` is how long the daemon may look
    for a block it does not hold (on the IPFS network unless ``offline``) before it answers
    that the block was not found. ``has`` always asks offline, with ``lookup_timeout``.
    """

    def __init__(
        self,
        api: str = DEFAULT_API,
        *,
        timeout: float = 120.0,
        fetch_timeout: float = 30.0,
        lookup_timeout: float = 1.0,
        offline: bool = False,
    ) -> None:
        self.api = api
        self._fetch_timeout = fetch_timeout
        self._lookup_timeout = lookup_timeout
        self._offline = offline
        try:
            # Not ipfshttpclient.connect(): see the module docstring. No request is made.
            self._client: Any = ipfshttpclient.Client(api, timeout=timeout)
        except ipfs_errors.AddressError as exc:
            raise StoreConfigError(f"{api!r} is not a Kubo API multiaddr: {exc}") from exc

    def version(self) -> str:
        """The daemon's version string; also the cheapest check that it answers."""
        info = self._call("version", lambda: self._client.version())
        return str(info["Version"])

    def put(self, content: bytes) -> str:
        expected = parse_cid(compute_cid(content))
        returned = self._call(
            "add",
            lambda: self._client.add_bytes(
                content,
                opts={
                    "cid-version": "1",
                    "raw-leaves": "true",
                    "chunker": f"size-{CHUNK_SIZE}",
                    "hash": "sha2-256",
                    "pin": "true",
                },
            ),
        )
        actual = self._returned_cid("add", returned)
        if actual != expected:
            raise BackendError(
                f"Kubo at {self.api} imported content as {actual}, but "
                f"`ipfs add --cid-version=1` gives {expected}: check its Import settings"
            )
        return str(expected)

    def get(
        self,
        cid: str,
        *,
        max_size: int,
        budget: FetchBudget | None = None,
        canonical: bool = False,
    ) -> bytes:
        root = parse_cid(cid)
        if is_identity(root):
            return super().get(cid, max_size=max_size)
        data = self._call(
            f"cat {root}",
            lambda: self._client.cat(
                str(root),
                offline=self._offline,
                # cat's own offset/length arguments are dropped when opts is given
                opts={**self._wait(), "length": str(max_size + 1)},
            ),
        )
        if not isinstance(data, bytes):
            raise BackendError(f"Kubo at {self.api} answered cat with {type(data).__name__}")
        if len(data) > max_size:
            raise FileTooLargeError(f"file {root} is over the {max_size}-byte limit")
        if parse_cid(compute_cid(data)) == root:
            return data
        # Other bytes, or the same bytes imported with other settings (another chunker):
        # only a block-by-block walk can tell, and it verifies every block it reads.
        return super().get(cid, max_size=max_size, budget=budget, canonical=canonical)

    def _read_block(self, cid: CID) -> bytes:
        data = self._call(
            f"block/get {cid}",
            lambda: self._client.block.get(str(cid), offline=self._offline, opts=self._wait()),
        )
        if not isinstance(data, bytes):
            raise BackendError(f"Kubo at {self.api} answered block/get with {type(data)}")
        return data

    def _write_block(self, cid: CID, data: bytes) -> None:
        response = self._call(
            f"block/put {cid}",
            lambda: self._client.block.put(
                io.BytesIO(data),
                # format=raw: stored as bytes whatever the codec (js-ipfs would re-parse a
                # dag-pb block; Kubo accepts the deprecated option). Both key blocks by
                # multihash, so the block is then found under its own CID too.
                opts={"format": "raw", "mhtype": "sha2-256", "pin": "true"},
            ),
        )
        actual = self._returned_cid("block/put", response.get("Key"))
        if actual.digest != cid.digest:
            raise BackendError(f"Kubo at {self.api} stored block {cid} as {actual}")

    def _has_block(self, cid: CID) -> bool:
        try:
            self._call(
                f"block/stat {cid}",
                lambda: self._client.block.stat(
                    str(cid), offline=True, opts=self._wait(self._lookup_timeout)
                ),
            )
        except BlockNotFoundError:
            return False
        return True

    def _describe(self, cid: CID) -> str:
        return f"Kubo at {self.api}"

    def _wait(self, seconds: float | None = None) -> dict[str, str]:
        """The daemon-side ``timeout`` option, so a missing block is an answer, not a hang."""
        return {"timeout": _duration(self._fetch_timeout if seconds is None else seconds)}

    def _returned_cid(self, operation: str, value: Any) -> CID:
        try:
            return parse_cid(str(value))
        except InvalidCidError as exc:
            raise BackendError(
                f"Kubo at {self.api} answered {operation} with {value!r}, not a CID"
            ) from exc

    def _call(self, operation: str, request: Callable[[], Any]) -> Any:
        """Run one RPC call, turning the client's exceptions into store errors."""
        try:
            return request()
        except ipfs_errors.ErrorResponse as exc:
            message = str(exc)
            if any(marker in message.lower() for marker in _NOT_FOUND_MARKERS):
                raise BlockNotFoundError(
                    f"{operation}: not found at Kubo {self.api} ({message})"
                ) from exc
            raise BackendError(f"{operation}: Kubo at {self.api} answered: {message}") from exc
        except ipfs_errors.Error as exc:  # connection refused, HTTP timeout, bad protocol
            raise StoreUnavailableError(
                f"{operation}: Kubo at {self.api} is unreachable: {type(exc).__name__}: {exc}"
            ) from exc

    def close(self) -> None:
        """Release the HTTP client's connections."""
        self._client.close()
