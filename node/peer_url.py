"""Peer gateway URLs: what a node accepts as a place to fetch blocks from, and where to.

Most peer URLs come from strangers: anyone can announce one in the ``NodeRegistry`` for the
price of a transaction, and every node then sends requests there. So a URL is cut down to
the three parts a gateway needs, scheme (``http``/``https``), host and port, and refused if
it has anything else (a path, a query, a fragment, user info): the node composes every
request itself (``{scheme}://{host}:{port}/ipfs/{cid}?format=raw``), so an announcement
cannot aim the node's requests at another path of someone's server
(``http://10.0.0.5:8080/internal/admin?x=``).

The host is the other half of that blind SSRF: a peer whose host is, or resolves to, an
address of the node's own machine or network (loopback, RFC 1918/4193 private, link-local,
unspecified, multicast, and the other special-purpose ranges) is refused unless the
:class:`Peer` says ``private_ok``. The node decides that per source: peers an operator
configured are its choice, discovered ones follow ``allow_private_peers`` (off by default;
devnets and tests, where every node is on 127.0.0.1, turn it on). Host names are checked
when they are resolved, every address of the answer, by whoever connects
(:mod:`node.store.peer_http`), which then connects to the address it checked.

Nothing here touches the network; it is imported by the settings, so it stays stdlib-only.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from logging import Logger
from urllib.parse import urlsplit

from node.errors import LabelnetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 512
"""Longest URL accepted: a host name is at most 253 characters, anything longer is junk."""

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
"""One DNS label, ASCII only (IDNs arrive as punycode); ``_`` for container host names."""
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
"""A final label like this makes a host that resolvers read as an IPv4 address in a
legacy form (``127.1``, ``0x7f.1``, ``2130706433``): refused, it is never a host name."""
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix: its addresses reach the IPv4 address in their low bits."""


class PeerUrlError(LabelnetError, ValueError):
    """A peer URL the node will not use: not ``http(s)://host[:port][/]``, or unusable."""


class PrivatePeerError(PeerUrlError):
    """A peer whose host is, or resolves to, an address the node may not send requests to
    (its own machine or network), and private addresses are not allowed for it."""


@dataclass(frozen=True)
class Peer:
    """A peer gateway: only what the node needs to compose requests to it.

    ``private_ok`` says whether this peer may be (or resolve to) a private address: true for
    peers the operator configured, ``allow_private_peers`` for discovered ones.
    """

    scheme: str
    host: str
    """Lower-case DNS name, or an IP address (IPv6 without brackets)."""
    port: int
    private_ok: bool = False

    @property
    def origin(self) -> str:
        """``scheme://host:port``: the peer's identity (scores, logs, de-duplication)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __str__(self) -> str:
        return self.origin

    @property
    def ip(self) -> IPAddress | None:
        """The host as an IP address, or None for a DNS name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def parse_peer(url: str, *, private_ok: bool = False) -> Peer:
    """The peer ``url`` names, or :class:`PeerUrlError` saying why it is refused.

    Accepted: ``http`` or ``https``, a host, an optional port and an optional ``/``; nothing
    else. An IP-address host is checked against the address policy here
    (:class:`PrivatePeerError` unless ``private_ok``); a DNS name when it is resolved.
    """
    if not isinstance(url, str) or not url:
        raise PeerUrlError(f"not a URL: {url!r}")
    if len(url) > MAX_URL_LENGTH:
        raise PeerUrlError(f"URL longer than {MAX_URL_LENGTH} characters: {url[:64]!r}...")
    if any(ch.isspace() or not ch.isprintable() or ch in "\\%" for ch in url):
        raise PeerUrlError(f"{url!r}: spaces, control characters, '\\' or '%' in the URL")
    if "?" in url or "#" in url:
        raise PeerUrlError(f"{url!r}: a peer URL has no query or fragment")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PeerUrlError(f"{url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise PeerUrlError(f"{url!r}: only http and https peers are used")
    if "@" in parts.netloc:
        raise PeerUrlError(f"{url!r}: a peer URL has no user info")
    if parts.path not in ("", "/"):
        raise PeerUrlError(f"{url!r}: a peer URL has no path (the node adds /ipfs/...)")
    if port == 0:
        raise PeerUrlError(f"{url!r}: port 0")
    peer = Peer(scheme, _host(url, parts.hostname), port or DEFAULT_PORTS[scheme], private_ok)
    ip = peer.ip
    if ip is not None and not private_ok:
        reason = refusal_reason(ip)
        if reason is not None:
            raise PrivatePeerError(f"{url!r}: {ip} is a {reason} address (allow_private_peers)")
    return peer


def _host(url: str, hostname: str | None) -> str:
    if not hostname:
        raise PeerUrlError(f"{url!r}: no host")
    try:
        return ipaddress.ip_address(hostname).compressed
    except ValueError:
        pass
    name = hostname[:-1] if hostname.endswith(".") else hostname
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise PeerUrlError(f"{url!r}: {hostname!r} is not a host name or an IP address")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise PeerUrlError(f"{url!r}: {hostname!r} is an IPv4 address in a legacy form")
    return name


def refusal_reason(ip: IPAddress) -> str | None:
    """Why a peer at ``ip`` is refused when private addresses are not allowed, or None.

    Anything that is not a globally routable unicast address is refused: loopback, private,
    link-local, unspecified, multicast, reserved, shared (CGNAT) and the other IANA
    special-purpose ranges; IPv4 addresses inside IPv6 (mapped, NAT64) are judged as IPv4.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return refusal_reason(ip.ipv4_mapped)
        if ip in _NAT64:
            inner = refusal_reason(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
            return None if inner is None else f"{inner} (through NAT64)"
        if ip.is_site_local:
            return "site-local"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    )
    return next((name for name, applies in checks if applies), None)


def check_addresses(peer: Peer, addresses: Iterable[IPAddress]) -> None:
    """Refuse ``peer`` (:class:`PrivatePeerError`) if any address its host resolved to is
    refused and the peer is not ``private_ok``: one private answer is enough to refuse, or
    a resolver could mix a public address into a private one's answer."""
    if peer.private_ok:
        return
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None:
            raise PrivatePeerError(
                f"{peer}: {peer.host} resolves to {address}, a {reason} address "
                "(allow_private_peers)"
            )


def gateway_url(host: str, port: int) -> str:
    """``http://host:port`` for a node's own listening address (IPv6 in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class OnceLog:
    """Logs each distinct problem once: peer lists are re-read every few seconds, and a bad
    announcement stays on chain forever. Remembers at most ``limit`` keys (then starts
    over), so announcements cannot grow it without bound."""

    def __init__(self, logger: Logger, limit: int = 4096) -> None:
        self._logger = logger
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def warning(self, key: str, message: str, *args: object) -> None:
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen.add(key)
        self._logger.warning(message, *args)
