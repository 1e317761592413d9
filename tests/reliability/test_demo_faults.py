"""One small demo network under fault and copy attacks (issue #7, parts 4 and 6).

A network of separate node processes (3 replayed workers, 1 spammer, 3 validators) runs one
task while the phase driver's hook attacks it:

* copy attempt: once every annotator has committed, and before any reveal is possible,
  every node's gateway is asked for every annotator's batch (its CID read from the
  annotator's own database): all must answer 404. After the reveals the same CIDs are
  served (so the 404s were asked for the right CIDs);
* faults: an annotator node is SIGKILLed while the reveals are under way and a validator
  while the attestations are, each started again on the same data directory. The driver
  moves the clock on only when everyone is done, so the killed nodes must catch up alone.

Afterwards no acknowledged label is lost (each annotator's database equals its worker's
answers, its committed batch equals its database, the chain shows the root it committed
to), the task finalized, every payout was claimed and every token is accounted for. The
long version (20 seeded trials, random kill points) is ``scripts/bench_faults.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx
import pytest

from client.demo.dataset import load_dataset, resolve_dataset
from client.demo.inspect import read_node_labels
from client.demo.runner import DemoOptions, DemoRun, default_datasets_dir, run_demo

pytestmark = pytest.mark.timeout(300)

DATASET = "web"
ITEMS, ANNOTATORS, SPAMMERS = 40, 3, 1


@dataclass
class Attack:
    """The demo's ``on_poll`` hook: looks for batches before the reveal, kills two nodes."""

    chain_id: int = 0
    run: DemoRun | None = None
    before_reveal: dict[str, dict[str, int]] = field(default_factory=dict)
    after_reveal: dict[str, dict[str, int]] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)

    def __call__(self, run: DemoRun, phase: str, done: int, total: int) -> None:
        if self.run is None:
            self.run, self.chain_id = run, int(run.devnet.w3.eth.chain_id)
        if phase == "commit" and done == total and not self.before_reveal:
            self.before_reveal = self.probe(run)
        elif phase == "reveal" and "annotator-2" not in self.killed:
            self.kill(run, "annotator-2")
        elif phase == "attest" and "validator-2" not in self.killed:
            self.kill(run, "validator-2")
        elif phase == "finalize" and not self.after_reveal:
            self.after_reveal = self.probe(run)

    def kill(self, run: DemoRun, name: str) -> None:
        next(node for node in run.nodes if node.name == name).restart()
        self.killed.append(name)

    def probe(self, run: DemoRun) -> dict[str, dict[str, int]]:
        """annotator -> gateway -> HTTP status for the annotator's committed batch CID."""
        assert run.task is not None
        statuses: dict[str, dict[str, int]] = {}
        with httpx.Client(timeout=10.0) as http:
            # A node killed a phase ago was restarted without waiting for it to listen: ask
            # each gateway only once it is up, or the probe races the restart.
            deadline = time.monotonic() + READY_SECONDS
            for peer in run.nodes:
                while not peer.ready(http):
                    assert time.monotonic() < deadline, f"{peer.name} not ready after a restart"
                    time.sleep(0.2)
            for node in run.by_role("annotator"):
                address = run.devnet.info.account(node.name).address
                held = read_node_labels(node.data_dir, self.chain_id, run.task.task_id, address)
                assert held.committed_cid is not None, f"{node.name} committed without a CID"
                statuses[node.name] = {
                    peer.name: http.get(
                        f"{peer.url}/ipfs/{held.committed_cid}?format=raw"
                    ).status_code
                    for peer in run.nodes
                }
        return statuses


READY_SECONDS = 60.0
"""How long a restarted node may take to answer ``/readyz`` before a probe."""


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Attack, dict[str, object]]:
    if not (default_datasets_dir() / DATASET).is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    out = tmp_path_factory.mktemp("faults")
    attack = Attack()
    options = DemoOptions(
        dataset=DATASET,
        items=ITEMS,
        annotators=ANNOTATORS,
        spammers=SPAMMERS,
        validators=3,
        lying_validators=0,
        out=out,
        quiet=True,
    )
    run_demo(options, on_poll=attack)
    summary: dict[str, object] = json.loads((out / "summary.json").read_text())
    return attack, summary


def test_no_gateway_serves_a_batch_before_its_reveal(
    attacked: tuple[Attack, dict[str, object]],
) -> None:
    attack, _ = attacked
    assert len(attack.before_reveal) == ANNOTATORS + SPAMMERS
    for annotator, statuses in attack.before_reveal.items():
        assert set(statuses.values()) == {404}, (annotator, statuses)


def test_the_same_batches_are_served_after_their_reveal(
    attacked: tuple[Attack, dict[str, object]],
) -> None:
    attack, _ = attacked
    for annotator, statuses in attack.after_reveal.items():
        assert statuses[annotator] == 200, (annotator, statuses)


def test_killed_nodes_lose_no_acknowledged_label(
    attacked: tuple[Attack, dict[str, object]],
) -> None:
    attack, summary = attacked
    run = attack.run
    assert run is not None and run.task is not None
    assert attack.killed == ["annotator-2", "validator-2"]
    dataset = load_dataset(
        resolve_dataset(DATASET, default_datasets_dir()),
        items=ITEMS,
        annotators=ANNOTATORS,
    )
    revealed = {row["name"]: row["labels"] for row in summary["annotator_table"]}  # type: ignore[attr-defined]
    for node in run.by_role("annotator"):
        address = run.devnet.info.account(node.name).address
        held = read_node_labels(node.data_dir, attack.chain_id, run.task.task_id, address)
        if node.name.startswith("annotator-"):
            worker = dataset.workers[int(node.name.rpartition("-")[2]) - 1]
            assert held.stored == dataset.answers[worker]
        assert held.stored and held.batch == held.stored
        assert held.revealed_root is not None and held.revealed_root == held.committed_root
        assert revealed[node.name] == len(held.stored)


def test_the_task_settles_and_every_token_is_accounted_for(
    attacked: tuple[Attack, dict[str, object]],
) -> None:
    _, summary = attacked
    accounting = summary["accounting"]
    assert isinstance(accounting, dict)
    assert accounting["balanced"] is True
    assert accounting["market_balance"] == accounting["still_owed"]
    pay = summary["pay"]
    assert isinstance(pay, dict) and pay["total_paid"] > 0
