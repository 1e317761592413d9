"""Serving the app under uvicorn with limits on what one client can hold.

uvicorn closes a keep-alive connection that stays silent (``timeout_keep_alive``), but it
cancels that timer on the first byte of a request and has no timeout for the rest of the
headers or for the body. A client that sends half a header and stalls holds a connection,
and a file descriptor, forever; twenty thousand of them exhausted the node's descriptors
and ``/healthz`` stopped answering. Three limits, enforced per connection here:

* **headers**: a request's line and headers must be complete ``http_header_timeout``
  seconds after the connection opened, or after the previous response on it (also bounds
  a byte-a-second drip, which a timer reset on each byte would not);
* **body**: the body must be complete ``http_body_timeout`` seconds after its headers;
* **connections**: at most ``http_max_connections`` open at once; one more is answered
  ``503`` at once and closed, instead of the node running out of descriptors. The limit is
  kept below the process's descriptor limit (raised to the hard limit when it is lower):
  the database, the store and the RPC connection need descriptors too.

The clock runs while the *client* owes the server bytes; once a request is complete the
app may take as long as it needs. A connection cut by a timeout is closed without an answer
(a client that cannot send a request in time will not read one either).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from node.config import NodeSettings

log = logging.getLogger(__name__)

FD_RESERVE = 256
"""Descriptors kept free beyond the connection limit: database pool, WAL and store files,
RPC and peer connections, refused connections on their way out."""


@dataclass(frozen=True)
class ConnectionLimits:
    """What one client may hold: seconds for headers and for a body, connections at once."""

    header_timeout: float
    body_timeout: float
    max_connections: int


def _refusal() -> bytes:
    body = json.dumps(
        {"error": "ServiceUnavailable", "detail": "the node has too many open connections"}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\nretry-after: 1\r\n\r\n"
    )
    return head.encode() + body


REFUSAL = _refusal()
REFUSAL_LOG_INTERVAL = 10.0
REFUSED_LINGER = 1.0
"""Seconds a refused connection stays open to read the client's request and close cleanly
(closing a socket with unread input resets it, and the client could lose the 503)."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a body deadline and a connection cap.

    Use :func:`guarded_protocol` to get a subclass bound to one server's limits.
    """

    limits: ClassVar[ConnectionLimits]
    refused_since_log: ClassVar[int] = 0
    last_refusal_log: ClassVar[float] = float("-inf")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body": what the timer is for
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse()
            return
        self._watch()

    def _refuse(self) -> None:
        self._refused = True
        self.connections.discard(self)  # it is not served: it does not count
        self._log_refusal()
        self.transport.write(REFUSAL)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(REFUSED_LINGER, self.transport.close)

    def _log_refusal(self) -> None:
        # At most one line per REFUSAL_LOG_INTERVAL: a flood must not also flood the log.
        cls = type(self)
        cls.refused_since_log += 1
        now = self.loop.time()
        if now - cls.last_refusal_log >= REFUSAL_LOG_INTERVAL:
            log.warning(
                "connection limit (%d) reached: answered 503 to %d connection(s)",
                self.limits.max_connections,
                cls.refused_since_log,
            )
            cls.refused_since_log, cls.last_refusal_log = 0, now

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped, so the close after the client's EOF is clean
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the timer for what the client owes now (headers, a body) or disarm it."""
        if self.transport is None or self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        owed = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if owed == self._waiting_for:
            return  # the clock keeps running: a byte does not reset it
        self._disarm()
        if owed is not None:
            seconds = self.limits.header_timeout if owed == "headers" else self.limits.body_timeout
            self._deadline = self.loop.call_later(seconds, self._expire, owed)
            self._waiting_for = owed

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, None

    def _expire(self, owed: str) -> None:
        self._deadline, self._waiting_for = None, None
        if self.transport.is_closing():
            return
        # Debug only: a slow-client attack must not also flood the log.
        log.debug("closing %s: its request %s did not arrive in time", self.client, owed)
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A protocol class for uvicorn's ``http=`` bound to ``limits``."""
    return type("NodeHttpProtocol", (GuardedH11Protocol,), {"limits": limits})


def connection_budget(requested: int) -> int:
    """``requested`` connections, or fewer if the descriptor limit leaves less room.

    Raises the soft descriptor limit towards the hard one first (what a server should do:
    the soft default is often 1024), then keeps :data:`FD_RESERVE` free.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = requested + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError) as exc:
                log.warning("cannot raise the descriptor limit to %d: %s", target, exc)
    if soft == resource.RLIM_INFINITY:
        return requested
    budget = max(1, min(requested, soft - FD_RESERVE))
    if budget < requested:
        log.warning("serving at most %d connections (descriptor limit %d)", budget, soft)
    return budget


def limits_from(settings: NodeSettings) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        max_connections=connection_budget(settings.http_max_connections),
    )


def server_config(app: Any, settings: NodeSettings, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's settings for one node: one worker, its lifespan, the guarded protocol."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        lifespan="on",
        log_level=log_level.lower(),
        access_log=False,
        http=guarded_protocol(limits_from(settings)),
        ws="none",  # the node serves no websockets: no protocol switch escapes the limits
    )
