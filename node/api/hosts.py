"""Answering only to the names this node is reached by: the defence against DNS rebinding.

A web page on ``evil.example`` can make a browser resolve that name to ``127.0.0.1`` (DNS
rebinding) and then read ``http://evil.example:7420/api/...`` as its own origin: the
same-origin policy protects nothing once the name points at the node. The browser still
sends ``Host: evil.example:7420``, so the node refuses every ``Host`` that is not a name it
is really reached by (421 Misdirected Request, or 400 for a missing or malformed one):

* the bind address (``settings.host``), and the loopback names ``localhost``,
  ``127.0.0.1`` and ``[::1]`` when the bind is loopback (or a wildcard, which includes it);
* the literal address the connection arrived on (the socket's own IP, which no attacker's
  name can be; in-process test clients name it ``testserver``);
* the host of ``public_url`` and any name in ``settings.allowed_hosts`` (a reverse proxy).

The port is not compared: a rebinding attack controls the name, never the port the browser
connects to, and the port the node sees is not always the one its clients used (a proxy,
``--port 0``). Comparing names is what stops the attack.

Which routes. The API (``/api/...``), the labeling page (``/ui``) and the API docs are
checked. Not checked, on purpose:

* ``/ipfs/...``, the trustless gateway: peers reach it by whatever name or address they
  found the node under (its announced ``public_url``, an IP behind NAT, a proxy's name) and
  it serves only content-addressed bytes that every fetcher verifies against the CID; a
  rebinding page can read nothing there that any peer could not fetch anyway (and content
  is found only by a CID someone published: there is no listing);
* ``/healthz``, ``/readyz`` and ``/metrics``: orchestrators and Prometheus probe them by pod
  IP or service name, and they carry no labels.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from node.api.limits import send_json_error
from node.config import NodeSettings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
UNCHECKED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNCHECKED_PREFIXES = ("/ipfs/",)

_HOST = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_.\-]+))(?::(?P<port>[0-9]{1,5}))?$"
)


def host_name(header: str) -> str | None:
    """The name of a ``Host`` header value (lower case, no port, no brackets, no final dot);
    None if it is not ``name[:port]`` or ``[ipv6][:port]``."""
    match = _HOST.match(header.strip())
    if match is None:
        return None
    name = match["ipv6"] or match["name"]
    return name.lower().rstrip(".") or None


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_host_names(settings: NodeSettings) -> frozenset[str]:
    """The names this node answers to on its API and page (see the module docstring)."""
    names = {name for raw in settings.allowed_hosts if (name := host_name(raw)) is not None}
    bind = settings.host.strip("[]").lower()
    if bind in WILDCARD_BINDS or _is_loopback(bind):
        names |= LOOPBACK_NAMES
    if bind not in WILDCARD_BINDS:
        names.add(bind)
    if settings.public_url:
        public = urlsplit(settings.public_url).hostname
        if public:
            names.add(public.lower().rstrip("."))
    return frozenset(names)


def checks_host(path: str) -> bool:
    """Whether a request to ``path`` must name this node in its ``Host`` header."""
    return path not in UNCHECKED_PATHS and not path.startswith(UNCHECKED_PREFIXES)


class HostGuard:
    """ASGI middleware: refuse API and page requests whose ``Host`` is not this node."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not checks_host(scope["path"]):
            await self.app(scope, receive, send)
            return
        raw = [value for key, value in scope["headers"] if key == b"host"]
        name = host_name(raw[0].decode("latin-1")) if len(raw) == 1 else None
        if name is None:
            detail = "a request to the node's API needs exactly one well-formed Host header"
            await send_json_error(send, 400, "BadRequest", detail)
            return
        server = scope.get("server")
        arrived_on = str(server[0]).strip("[]").lower() if server else None
        if name not in self.allowed and name != arrived_on:
            detail = (
                f"this node does not answer to the host {name[:100]!r}: use its address, "
                "localhost, or a name listed in the allowed_hosts setting"
            )
            await send_json_error(send, 421, "MisdirectedRequest", detail)
            return
        await self.app(scope, receive, send)
