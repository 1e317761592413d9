"""One block from one peer over HTTP, on an event loop the synchronous fetcher drives.

The fetcher asks several peers at once and cancels the losers, and only asyncio can cancel a
request stuck on a silent socket: so the requests run as tasks on one event loop in a
background thread (:class:`LoopThread`), and the node's threads wait for their results.

Every request is composed here from a :class:`~node.peer_url.Peer`'s parts, never from a
URL someone announced, and goes to an address checked against the peer's address policy.
For a DNS name that means resolving it, checking every address in the answer, and then
connecting to the checked address (the URL carries the IP, the ``Host`` header and TLS SNI
the name), so a name that answers a public address to the check and a private one to the
connection (DNS rebinding) cannot get past it. What is left: connections are pooled per
address, so two HTTPS peers behind one IP and port may share a connection verified for the
other's name; only transport privacy depends on TLS here (every block is verified against
its CID), and proxies from the environment (``HTTP_PROXY``) are not used.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from multiformats import CID

from node.peer_url import IPAddress, Peer, PeerUrlError, check_addresses
from node.store.base import MAX_BLOCK_SIZE

RAW_BLOCK_MEDIA_TYPE = "application/vnd.ipld.raw"
MAX_ADDRESSES = 4
"""Addresses of one host name tried at most (all of them are checked)."""
RESOLVE_TTL = 30.0
"""Seconds a host name's checked addresses (or its refusal) are reused."""
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=32)
"""Connections to all peers together: enough for a few threads' fetches fanned out to a few
dozen peers each; cancelled requests give theirs back at once."""

T = TypeVar("T")


class PeerFailedError(Exception):
    """One peer could not deliver one block; ``kind`` (``not-found``, ``mismatch``,
    ``timeout``, ``unavailable``, ``refused``) decides what the fetcher makes of it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class LoopThread:
    """An event loop in a daemon thread, with the HTTP client its requests share.

    Started on first use; :meth:`close` cancels what is in flight, closes the connections
    and joins the thread. Thread-safe.
    """

    def __init__(self, name: str = "labelnet-peers") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client; only for coroutines running on this loop."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, limits=POOL_LIMITS
            )
        return self._client

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the loop; :class:`RuntimeError` once closed."""
        with self._lock:
            if self._closed:
                coroutine.close()
                raise RuntimeError("the peer fetcher is closed")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name=self._name, daemon=True
                )
                self._thread.start()
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel requests in flight, close the connections, stop the loop (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        # A close that hangs only leaks sockets: the loop is stopped below anyway.
        with contextlib.suppress(
            concurrent.futures.TimeoutError, concurrent.futures.CancelledError
        ):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()

    async def _shutdown(self) -> None:
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()


Addresses = tuple[IPAddress, ...]


class Resolver:
    """Host names to their checked addresses, cached for :data:`RESOLVE_TTL` seconds."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, bool], tuple[float, Addresses | PeerUrlError]] = {}

    async def addresses(self, peer: Peer) -> Addresses:
        """The addresses to connect to for ``peer`` (in the resolver's order of preference),
        or :class:`PeerUrlError` if any of them is refused."""
        literal = peer.ip
        if literal is not None:
            check_addresses(peer, [literal])
            return (literal,)
        key = (peer.host, peer.port, peer.private_ok)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            if isinstance(cached[1], PeerUrlError):
                raise cached[1]
            return cached[1]
        try:
            addresses = await self._resolve(peer)
        except PeerUrlError as exc:
            self._remember(key, exc)
            raise
        self._remember(key, addresses)
        return addresses

    def _remember(self, key: tuple[str, int, bool], value: Addresses | PeerUrlError) -> None:
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + RESOLVE_TTL, value)

    async def _resolve(self, peer: Peer) -> Addresses:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(peer.host, peer.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise PeerFailedError("unavailable", f"{peer}: cannot resolve: {exc}") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            try:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            except ValueError as exc:
                raise PeerUrlError(f"{peer}: resolves to {info[4][0]!r}") from exc
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise PeerFailedError("unavailable", f"{peer}: {peer.host} has no address")
        check_addresses(peer, addresses)
        return tuple(addresses[:MAX_ADDRESSES])


async def fetch_raw_block(
    client: httpx.AsyncClient, resolver: Resolver, peer: Peer, cid: CID, timeout: float
) -> bytes:
    """The bytes ``peer`` serves for ``cid`` (unverified), within ``timeout`` seconds in all
    (resolving, connecting, every byte), or :class:`PeerFailedError`. The host's addresses
    are tried in turn while connecting to them fails (an unreachable IPv6 address)."""
    try:
        async with asyncio.timeout(timeout):
            try:
                addresses = await resolver.addresses(peer)
            except PeerUrlError as exc:
                raise PeerFailedError("refused", str(exc)) from exc
            for address in addresses[:-1]:
                try:
                    return await _get(client, peer, address, cid, timeout)
                except PeerFailedError as exc:
                    if not isinstance(exc.__cause__, httpx.ConnectError):
                        raise
            return await _get(client, peer, addresses[-1], cid, timeout)
    except TimeoutError as exc:
        raise PeerFailedError("timeout", f"{peer}: no block within {timeout:.1f} s") from exc


async def _get(
    client: httpx.AsyncClient, peer: Peer, address: IPAddress, cid: CID, timeout: float
) -> bytes:
    host = f"[{address}]" if address.version == 6 else str(address)
    url = f"{peer.scheme}://{host}:{peer.port}/ipfs/{cid}?format=raw"
    headers = {"Accept": RAW_BLOCK_MEDIA_TYPE, "Host": _host_header(peer)}
    extensions = {"sni_hostname": peer.host} if peer.scheme == "https" and peer.ip is None else {}
    try:
        async with client.stream(
            "GET", url, headers=headers, timeout=timeout, extensions=extensions
        ) as response:
            if response.status_code == httpx.codes.NOT_FOUND:
                raise PeerFailedError("not-found", f"{peer}: not found")
            if response.status_code != httpx.codes.OK:
                raise PeerFailedError("unavailable", f"{peer}: HTTP {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_BLOCK_SIZE:
                    raise PeerFailedError("mismatch", f"{peer}: block over {MAX_BLOCK_SIZE} B")
            return bytes(data)
    except httpx.TimeoutException as exc:
        raise PeerFailedError("timeout", f"{peer}: {type(exc).__name__}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise PeerFailedError("unavailable", f"{peer}: {type(exc).__name__}: {exc}") from exc


def _host_header(peer: Peer) -> str:
    host = f"[{peer.host}]" if ":" in peer.host else peer.host
    default = 443 if peer.scheme == "https" else 80
    return host if peer.port == default else f"{host}:{peer.port}"
