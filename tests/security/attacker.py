"""What the security tests attack with: hostile DAGs and a gateway that serves them slowly.

:func:`chain_dag` builds the deep-DAG attack of issue #13: a chain of single-link UnixFS
nodes over one leaf. Every node declares the same file size, so a reader that checks only
sizes walks the whole chain. :class:`SlowGateway` is a peer that serves any blocks it is
given, each after a delay, and counts what it was asked for.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time

from fastapi import FastAPI
from fastapi.responses import Response


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _cid_text(binary: bytes) -> str:
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def chain_dag(content: bytes, depth: int) -> tuple[str, dict[str, bytes]]:
    """A file of ``content`` whose root reaches its one raw leaf through ``depth`` nodes,
    as ``(root CID, {CID: block})``. Written with hashlib and a few lines of protobuf
    rather than :func:`node.protocol.unixfs.encode_file_node`, whose CID objects validate
    their types at a millisecond each (20 s for the 20,000-deep chain); the test that
    uses it checks the first node against the real encoder."""
    blocks: dict[str, bytes] = {}
    binary = b"\x01\x55\x12\x20" + hashlib.sha256(content).digest()  # CIDv1 raw sha2-256
    blocks[_cid_text(binary)] = content
    tsize, size = len(content), len(content)
    unixfs = _varint(1 << 3) + _varint(2) + _varint(3 << 3) + _varint(size)  # File, filesize
    unixfs += _varint(4 << 3) + _varint(size)
    for _ in range(depth):
        link = _field(1, binary) + _field(2, b"") + _varint(3 << 3) + _varint(tsize)
        node = _field(2, link) + _field(1, unixfs)
        binary = b"\x01\x70\x12\x20" + hashlib.sha256(node).digest()  # CIDv1 dag-pb
        blocks[_cid_text(binary)] = node
        tsize += len(node)
    return _cid_text(binary), blocks


class SlowGateway:
    """A trustless gateway serving ``blocks``, each after ``delay`` seconds (cut short by
    :meth:`close`, which a test calls before stopping the server); a block it does not hold
    is a 404 at once."""

    def __init__(self, blocks: dict[str, bytes], delay: float = 0.0) -> None:
        self.blocks = blocks
        self.delay = delay
        self.requests = 0
        self.asked: set[str] = set()
        """The distinct CIDs asked for (a hedging fetcher may ask for one twice)."""
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.app = FastAPI()
        self.app.add_api_route("/ipfs/{cid}", self._serve, methods=["GET"])

    async def _serve(self, cid: str) -> Response:
        if cid == "bafkqaaa":  # the readiness probe, answered at once and uncounted
            return Response(b"", media_type="application/vnd.ipld.raw")
        with self._lock:
            self.requests += 1
            self.asked.add(cid)
        block = self.blocks.get(cid)
        if block is None:  # what it does not hold it says at once, like any gateway
            return Response(b"not found\n", status_code=404, media_type="text/plain")
        until = time.monotonic() + self.delay
        while time.monotonic() < until and not self._closed.is_set():
            await asyncio.sleep(0.05)
        return Response(block, media_type="application/vnd.ipld.raw")

    def close(self) -> None:
        """Answer every pending request now, so the server can stop."""
        self._closed.set()
