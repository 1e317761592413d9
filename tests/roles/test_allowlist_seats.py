"""An allowlisted gated task on a real anvil: the seat duty builds its own proof from the
accounts the task's manifest lists (issue #19 item 2, ``allowlist@1``).

A listed node is seated through the gate with the proof it built; an unlisted node is
refused on chain (``NotOnAllowlist``) and says why; so is a listed node on a task whose
manifest publishes no list, or a list that is not the gate's root.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.qualifications import Gate
from node.db.models import ParticipationState
from node.db.repositories.participation import ParticipationRepository
from node.protocol.manifest_allowlist import AllowlistParams
from tests.conftest import Actors
from tests.roles.network import Network, make_network
from tests.roles.test_assignment import post_seated, seat_duty


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def _join(net: Network, role: str, *task_ids: int) -> None:
    net.sync(role)
    with net.peer(role).db.write() as session:
        for task_id in task_ids:
            ParticipationRepository(session).record(
                net.chain_id, task_id, ParticipationState.JOINED, kind="categorical"
            )


def test_a_listed_node_seats_with_the_proof_it_builds_from_the_manifest(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = net.actors.annotator_a, net.actors.annotator_b, net.actors.annotator_c
    listed = AllowlistParams.create([b.address, a.address])
    gate = Gate(domain="pets", allowlist_root=listed.tree().root)
    task_id, _ = post_seated(net, gate, listed)
    unpublished, _ = post_seated(net, gate)  # the root, but no accounts in the manifest
    other = AllowlistParams.create([a.address, c.address])  # a list that is not the root's
    mismatched, _ = post_seated(net, gate, other)
    for role in ("annotator_a", "annotator_c"):
        _join(net, role, task_id)
    _join(net, "annotator_a", unpublished, mismatched)
    market = net.contracts.market
    with caplog.at_level(logging.INFO, logger="node.roles.seats"):
        seat_duty(net, "annotator_a").tick()
        seat_duty(net, "annotator_c").tick()
    assert market.functions.hasSeat(task_id, a.address).call()
    assert not market.functions.hasSeat(task_id, c.address).call()
    assert (
        f"skipped task {task_id}: NotOnAllowlist({task_id}, {c.address.lower()}) (this account is "
        "not in the manifest's allowlist)"
    ) in caplog.text
    assert not market.functions.hasSeat(unpublished, a.address).call()
    assert f"skipped task {unpublished}: NotOnAllowlist" in caplog.text
    assert "(the task's manifest lists no allowlist accounts)" in caplog.text
    assert not market.functions.hasSeat(mismatched, a.address).call()
    assert f"skipped task {mismatched}: NotOnAllowlist" in caplog.text
    assert "(the manifest's allowlist is not the one the gate's root states)" in caplog.text
