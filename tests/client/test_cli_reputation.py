"""``labelnet reputation ADDRESS``: the counters a gated task's claims credited, per domain,
read from the chain through the SDK (``Network.reputation``)."""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3

from client.sdk import Network
from node.app.chain import write_deployment
from node.chain.contracts import Contracts, Deployment
from node.chain.devchain import DevChain
from node.chain.qualifications import Gate, Reputation
from tests.chain.test_qualifications import DOMAIN, _create, _run, _stake
from tests.client.conftest import run
from tests.conftest import Actors


def test_reputation_prints_each_domain_and_its_accuracy(
    anvil: DevChain,
    w3: Web3,
    deployment: Deployment,
    contracts: Contracts,
    actors: Actors,
    tmp_path: Path,
) -> None:
    _stake(w3, contracts, actors)
    task_id = _create(w3, contracts, actors, Gate(domain=DOMAIN))
    _run(w3, contracts, actors, task_id, {"annotator_a": 4, "annotator_b": 3, "annotator_c": 1})
    out = tmp_path / "deployment.json"
    write_deployment(out, deployment)
    b = actors.annotator_b.address

    network = Network.connect(anvil.url, out)
    assert network.reputation(b) == {DOMAIN: Reputation(accepted=3, answered=4, tasks=1)}
    assert network.reputation(b, "other") == {"other": Reputation(0, 0, 0)}

    args = ("--rpc-url", anvil.url, "--deployment", str(out))
    text = run("reputation", b, *args)
    assert text.exit_code == 0, text.stderr
    assert f"{b} in {DOMAIN}: 3 accepted of 4 answered (75.0%) over 1 tasks" in text.stdout
    as_json = run("reputation", b, "--domain", DOMAIN, "--json", *args)
    assert as_json.exit_code == 0, as_json.stderr
    counters = json.loads(as_json.stdout)["domains"][DOMAIN]
    assert counters == {"accepted": 3, "answered": 4, "tasks": 1, "accuracy": 0.75}
    nobody = run("reputation", actors.outsider.address, *args)
    assert "no reputation in any domain" in nobody.stdout
