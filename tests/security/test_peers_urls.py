"""Which peer URLs and addresses a node accepts (issue #13, "Peers", the SSRF finding).

Only ``http(s)://host[:port][/]`` is a peer URL: the node builds every request path itself.
Addresses of the node's own machine or network are refused for peers that may not be
private, whichever way they are written (IPv4 in IPv6, NAT64, legacy IPv4 forms).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from node.config import load_settings
from node.peer_url import (
    PeerUrlError,
    PrivatePeerError,
    check_addresses,
    parse_peer,
    refusal_reason,
)

REFUSED_URLS = [
    "file:///etc/passwd",
    "ftp://198.51.100.7:21",
    "gopher://example.org:70",
    "javascript:alert(1)",
    "example.org:8080",
    "http://",
    "http://:8080",
    "http://user@example.org",
    "http://user:secret@example.org:8080",
    "http://example.org/ipfs",
    "http://example.org/internal/admin?x=",
    "http://example.org:8080/?",
    "http://example.org#admin",
    "http://example.org:99999",
    "http://example.org:0",
    "http://exa mple.org",
    "http://example.org\\@evil.test",
    "http://ex%61mple.org",
    "http://127.1:8080",
    "http://0x7f.0.0.1",
    "http://2130706433",
    "http://[fe80::1%25eth0]:80",
    "http://" + "a" * 600 + ".org",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_anything_but_a_bare_http_origin_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(PeerUrlError):
        parse_peer(url, private_ok=True)
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, peers=[url])
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, public_url=url)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://example.org", "http://example.org:80"),
        ("https://Example.ORG:8443/", "https://example.org:8443"),
        ("http://node_a:7420", "http://node_a:7420"),
        ("http://93.184.215.14:7420", "http://93.184.215.14:7420"),
        (
            "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:80/",
            "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:80",
        ),
    ],
)
def test_a_bare_http_origin_is_accepted(url: str, origin: str, tmp_path: Path) -> None:
    assert parse_peer(url).origin == origin
    assert load_settings(data_dir=tmp_path, peers=[url]).peers == (url,)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.200.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "non-global"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private (through NAT64)"),
        ("fec0::1", "site-local"),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_addresses_of_our_own_network_are_refused(address: str, reason: str | None) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal_reason(ip) == reason
    host = f"[{address}]" if ip.version == 6 else address
    if reason is None:
        assert parse_peer(f"http://{host}:80").ip == ip
    else:
        with pytest.raises(PrivatePeerError, match="allow_private_peers"):
            parse_peer(f"http://{host}:80")
        assert parse_peer(f"http://{host}:80", private_ok=True).ip == ip


def test_one_private_address_among_a_names_addresses_refuses_it() -> None:
    """A resolver answering a public and a private address must not get the private one
    past the check (the fetcher then connects to an address it checked)."""
    peer = parse_peer("http://mixed.example:80")
    public, private = ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.5")
    check_addresses(peer, [public])
    with pytest.raises(PrivatePeerError, match=r"10\.0\.0\.5"):
        check_addresses(peer, [public, private])
    check_addresses(parse_peer("http://mixed.example:80", private_ok=True), [public, private])
