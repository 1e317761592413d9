"""Hostile and honest peers for the peer tests, all real servers on 127.0.0.1.

:class:`Tarpits` is the junk-peer attack of issue #13: servers that accept connections and
never answer, or answer one byte every few seconds. :class:`RecordingServer` is the
internal service an SSRF would reach: it records every request it gets.
:func:`counting_gateway` is an honest gateway that counts the block requests it serves.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from fastapi import FastAPI, Request, Response

from node.store.base import ContentStore
from tests.store.servers import PROBE, gateway_app, serve

DRIP = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.ipld.raw\r\nContent-Length: 64\r\n\r\n"
"""What a dripping tarpit sends, a byte at a time: headers that promise a block."""


class Tarpits:
    """``count`` peers on 127.0.0.1 that accept every connection and then stall: silent
    ones never send a byte, dripping ones (every other one if ``drip_every`` is set) send
    one byte of a plausible answer every ``drip_every`` seconds. One thread serves all."""

    def __init__(self, count: int, *, drip_every: float | None = None) -> None:
        self.count = count
        self.drip_every = drip_every
        self.urls: list[str] = []
        self.accepted = 0
        self._listeners: list[socket.socket] = []
        self._connections: dict[socket.socket, int] = {}  # bytes of DRIP sent (-1: silent)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tarpits", daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> Tarpits:
        try:
            for _ in range(self.count):
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._listeners.append(listener)
                listener.bind(("127.0.0.1", 0))
                listener.listen(128)
                listener.setblocking(False)
                self.urls.append(f"http://127.0.0.1:{listener.getsockname()[1]}")
            self._thread.start()
        except BaseException:
            self._close_all()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._close_all()

    def _close_all(self) -> None:
        for sock in [*self._listeners, *self._connections]:
            sock.close()
        self._connections.clear()

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for index, listener in enumerate(self._listeners):
                selector.register(listener, selectors.EVENT_READ, index)
            next_drip = time.monotonic()
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    self._ready(selector, key)
                if self.drip_every is not None and time.monotonic() >= next_drip:
                    next_drip = time.monotonic() + self.drip_every
                    self._drip()

    def _ready(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        sock = key.fileobj
        assert isinstance(sock, socket.socket)
        if sock in self._listeners:
            try:
                connection, _ = sock.accept()
            except BlockingIOError:
                return
            connection.setblocking(False)
            dripping = self.drip_every is not None and key.data % 2 == 1
            self._connections[connection] = 0 if dripping else -1
            selector.register(connection, selectors.EVENT_READ, None)
            with self._lock:
                self.accepted += 1
            return
        try:
            if sock.recv(65536):
                return  # the request: read and ignored
        except OSError:
            pass
        selector.unregister(sock)  # the client gave up
        self._connections.pop(sock, None)
        sock.close()

    def _drip(self) -> None:
        for connection, sent in list(self._connections.items()):
            if 0 <= sent < len(DRIP):
                try:
                    connection.send(DRIP[sent : sent + 1])
                    self._connections[connection] = sent + 1
                except OSError:
                    self._connections[connection] = -1


class RecordingServer:
    """An HTTP server on 127.0.0.1 that answers 404 to everything and records each
    request's path (with query): what an internal service would have seen."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def counting_gateway(store: ContentStore) -> Iterator[tuple[str, list[str]]]:
    """An honest gateway serving ``store``: yields its URL and the list of block paths it
    was asked for (the readiness probe left out)."""
    asked: list[str] = []
    app: FastAPI = gateway_app(store)

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if path != PROBE:
            asked.append(path)
        return await call_next(request)

    with serve(app) as url:
        yield url, asked
