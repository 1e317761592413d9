"""Real HTTP servers for the store tests: uvicorn on loopback, in a background thread.

Each server listens on a socket bound to port 0 before uvicorn starts, so there is no
window in which another process can take the port, and it is ready when uvicorn says it
started and the gateway's probe CID answers (polled, never a fixed sleep).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from node.api.gateway import gateway_router
from node.store.base import ContentStore
from node.store.errors import BlockNotFoundError

PROBE = "/ipfs/bafkqaaa?format=raw"
"""The trustless gateway spec's probe: the empty identity CID."""


def gateway_app(store: ContentStore) -> FastAPI:
    """The smallest app that serves ``store`` as a node does (the real factory adds more)."""
    app = FastAPI()
    app.include_router(gateway_router(store))
    return app


class TamperingGateway:
    """A peer that serves every block it holds with one byte flipped, counting requests
    for blocks (not the readiness probe).

    It answers like an honest gateway (status, content type), so only hashing the bytes
    can tell it apart, which is the point of the tests that use it.
    """

    def __init__(self, store: ContentStore) -> None:
        self.store = store
        self.requests = 0
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route("/ipfs/{cid}", self._serve, methods=["GET"])

    def _serve(self, cid: str) -> Response:
        if cid == "bafkqaaa":  # answer the probe honestly (and uncounted): the server is up
            return Response(b"", media_type="application/vnd.ipld.raw")
        with self._lock:
            self.requests += 1
        try:
            block = bytearray(self.store.get_block(cid))
        except BlockNotFoundError:
            return Response(b"not found\n", status_code=404, media_type="text/plain")
        if block:
            block[len(block) // 2] ^= 0xFF
        else:
            block = bytearray(b"\x00")
        return Response(bytes(block), media_type="application/vnd.ipld.raw")


@contextmanager
def serve(app: FastAPI, *, startup_timeout: float = 15.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 and yield its base URL; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(server, thread, url, startup_timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"uvicorn at {url} did not stop within 10 s")


def _wait_until_serving(
    server: uvicorn.Server, thread: threading.Thread, url: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    last_error = "not started"
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn at {url} exited during start-up")
        if server.started:
            try:
                if httpx.get(url + PROBE, timeout=2).status_code == 200:
                    return
            except httpx.TransportError as exc:
                last_error = repr(exc)
        time.sleep(0.02)  # poll interval, not a wait for readiness
    raise RuntimeError(f"uvicorn at {url} not serving after {timeout} s: {last_error}")
