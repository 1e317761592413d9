"""Lying peers (issue #13, "Peers"): a peer that serves wrong bytes is banned at once.

Before this change a lying peer listed first was asked for every block of every file (and
each answer hashed and thrown away); now its first lie bans it for ``peer_ban_seconds``.
Peers that say "not found" are honest and fast, and do not hold up the one with the block.
"""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from node.protocol.unixfs import build_file_dag
from node.store import BlockMismatchError, BlockNotFoundError, EmbeddedStore, GatewayStore
from tests.security.peer_servers import RecordingServer, counting_gateway
from tests.store.servers import TamperingGateway, serve

pytestmark = pytest.mark.timeout(90)

CONTENT = random.Random(13).randbytes(1024 * 1024)
"""A file of five blocks (four 256 KiB leaves and a root)."""


def test_a_lying_peer_is_banned_after_its_first_lie(tmp_path: Path) -> None:
    honest = EmbeddedStore(tmp_path / "honest")
    cid = honest.put(CONTENT)
    other = honest.put(b"another file")
    blocks = len(build_file_dag(CONTENT).blocks)
    liar = TamperingGateway(honest)
    with serve(liar.app) as liar_url, counting_gateway(honest) as (good_url, asked):
        peers = [liar_url]
        with GatewayStore(EmbeddedStore(tmp_path / "node"), lambda: peers) as store:
            with pytest.raises(BlockMismatchError, match=liar_url):
                store.get_block(cid)
            assert liar.requests == 1
            peers.append(good_url)
            assert store.get(cid, max_size=2 * len(CONTENT)) == CONTENT
            assert liar.requests == 1  # banned: asked for none of the file's blocks
            assert len(asked) == blocks  # the honest peer served them all
            peers.remove(good_url)  # with only the banned liar left, nobody is asked
            with pytest.raises(BlockMismatchError, match="banned"):
                store.get_block(other)
            assert liar.requests == 1


def test_the_ban_ends_after_the_ban_period(tmp_path: Path) -> None:
    honest = EmbeddedStore(tmp_path / "honest")
    cid = honest.put(b"a block the liar alters")
    liar = TamperingGateway(honest)
    with serve(liar.app) as liar_url:
        local = EmbeddedStore(tmp_path / "node")
        with GatewayStore(local, [liar_url], ban_seconds=0.5) as store:
            with pytest.raises(BlockMismatchError):
                store.get_block(cid)
            with pytest.raises(BlockMismatchError, match="banned"):
                store.get_block(cid)
            assert liar.requests == 1
            time.sleep(0.6)  # the ban period passing is what is tested
            with pytest.raises(BlockMismatchError):
                store.get_block(cid)
            assert liar.requests == 2


def test_peers_without_the_block_do_not_hold_up_the_one_that_has_it(tmp_path: Path) -> None:
    honest = EmbeddedStore(tmp_path / "honest")
    cid = honest.put(b"only the honest peer has this")
    with ExitStack() as stack:
        empty = [stack.enter_context(RecordingServer()) for _ in range(5)]
        good_url, asked = stack.enter_context(counting_gateway(honest))
        peers = [*(server.url for server in empty), good_url]
        with GatewayStore(EmbeddedStore(tmp_path / "node"), peers) as store:
            started = time.monotonic()
            assert store.get_block(cid) == b"only the honest peer has this"
            took = time.monotonic() - started
        with (
            GatewayStore(EmbeddedStore(tmp_path / "other"), peers[:-1]) as store,
            pytest.raises(BlockNotFoundError, match="not found"),
        ):
            store.get_block(cid)
    assert took < 1.0
    assert asked == [f"/ipfs/{cid}?format=raw"]
    for server in empty:  # asked once at most each time, with the path the node composed
        assert 1 <= len(server.paths) <= 2
        assert set(server.paths) == {f"/ipfs/{cid}?format=raw"}
