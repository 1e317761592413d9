"""Blind SSRF through gateway announcements (issue #13, "Peers").

A node fetched from ``{announced URL}/ipfs/{cid}?format=raw``, so an announcement such as
``http://127.0.0.1:18700/internal/admin?x=`` made every node send
``GET /internal/admin?x=/ipfs/...`` to a service of the announcer's choosing. Now announced
URLs with anything but scheme, host and port are ignored, the node composes each request
path itself, and announced peers on loopback or private addresses are refused unless
``allow_private_peers`` is set (configured peers are the operator's choice).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.app.peers import PeerDirectory
from node.chain.contracts import Contracts
from node.chain.registry import discover_gateways
from node.chain.tx import TxSender
from node.config import load_settings
from node.store import BlockNotFoundError, EmbeddedStore, GatewayStore
from tests.conftest import Actors
from tests.security.peer_servers import RecordingServer, counting_gateway

pytestmark = pytest.mark.timeout(90)


def announce_raw(w3: Web3, contracts: Contracts, account: LocalAccount, url: str) -> None:
    """Announce ``url`` as an attacker would: straight to the contract, no client checks."""
    TxSender(w3, account).transact(contracts.registry.functions.announce(url))


def test_announced_urls_with_a_path_query_or_user_info_get_no_request(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cid = EmbeddedStore(tmp_path / "nobody").put(b"any block")
    with RecordingServer() as internal:
        port = internal.port
        hostile = [
            f"http://127.0.0.1:{port}/internal/admin?x=",
            f"http://127.0.0.1:{port}/internal/admin",
            f"http://127.0.0.1:{port}/?x=",
            f"http://127.0.0.1:{port}#fragment",
            f"http://admin:secret@127.0.0.1:{port}",
            "file:///etc/passwd",
            f"ftp://127.0.0.1:{port}",
        ]
        attackers = [actors.by_role[role] for role in list(actors.by_role)[: len(hostile)]]
        for account, url in zip(attackers, hostile, strict=True):
            announce_raw(w3, contracts, account, url)
        with caplog.at_level(logging.WARNING, logger="node.chain.registry"):
            assert discover_gateways(contracts.registry) == {}
            assert discover_gateways(contracts.registry) == {}
        ignored = [r for r in caplog.records if "ignoring the gateway" in r.getMessage()]
        assert len(ignored) == len(hostile)  # each bad announcement logged once, not per read
        # A reader that takes the chain's word for its peers (the requester client's way):
        announced = list(discover_gateways(contracts.registry).values())
        with (
            GatewayStore(EmbeddedStore(tmp_path / "reader"), announced) as store,
            pytest.raises(BlockNotFoundError, match="no peers known"),
        ):
            store.get_block(cid)
        # A node's peer directory, private peers allowed (as on a devnet) so that only the
        # URLs' form can be what refuses them:
        directory = PeerDirectory([], "http://127.0.0.1:1", refresh=0.0, allow_private=True)
        directory.attach(contracts.registry)
        assert directory() == []
        with (
            GatewayStore(EmbeddedStore(tmp_path / "node"), directory) as store,
            pytest.raises(BlockNotFoundError),
        ):
            store.get_block(cid)
    assert internal.paths == []


def test_announced_private_peers_are_used_only_when_allowed(
    w3: Web3, contracts: Contracts, actors: Actors, tmp_path: Path
) -> None:
    assert load_settings(data_dir=tmp_path / "defaults").allow_private_peers is False
    honest = EmbeddedStore(tmp_path / "honest")
    cid = honest.put(b"served on loopback")
    with counting_gateway(honest) as (url, asked):
        port = url.rsplit(":", 1)[1]
        by_name = f"http://localhost:{port}"  # a host name that resolves to loopback
        announce_raw(w3, contracts, actors.annotator_a, url)
        announce_raw(w3, contracts, actors.annotator_b, by_name)

        refusing = PeerDirectory([], "http://me.example:1", refresh=0.0, allow_private=False)
        refusing.attach(contracts.registry)
        # The address is refused at discovery; the name when the fetcher resolves it.
        assert [peer.origin for peer in refusing()] == [by_name]
        with (
            GatewayStore(EmbeddedStore(tmp_path / "refusing"), refusing) as store,
            pytest.raises(BlockNotFoundError, match="loopback"),
        ):
            store.get_block(cid)
        assert asked == []

        allowing = PeerDirectory([], "http://me.example:1", refresh=0.0, allow_private=True)
        allowing.attach(contracts.registry)
        with GatewayStore(EmbeddedStore(tmp_path / "allowing"), allowing) as store:
            assert store.get_block(cid) == b"served on loopback"
        assert asked and set(asked) == {f"/ipfs/{cid}?format=raw"}  # by address or name

        # A peer the operator configured is theirs to choose, private or not.
        before = len(asked)
        configured = PeerDirectory([url], "http://me.example:1", allow_private=False)
        with GatewayStore(EmbeddedStore(tmp_path / "configured"), configured) as store:
            assert store.get_block(cid) == b"served on loopback"
        assert len(asked) == before + 1
