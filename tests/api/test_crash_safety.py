"""SIGKILL a real node process mid-work; after a restart nothing acknowledged is lost.

Two kinds of crash, both on a node started as `labelnet node start` against anvil:

* while clients are submitting label batches: every batch the API acknowledged (HTTP 200)
  is in the restarted node's database, value for value;
* at each step of the commit-reveal protocol, by a named crash point
  (:mod:`node.faults`): the node kills itself with SIGKILL right after recording its
  intent, right after sending the commit, or right after sending the reveal; restarted
  without the crash point, it completes the commit and the reveal on chain.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.engines import attach
from node.chain.tx import TxSender
from node.faults import CRASH_ENV
from node.protocol.labels import LABELS_V2, read_batch
from node.protocol.manifest import ItemSpec, build_task_content
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.chain.test_lifecycle import HOUR, create_task, fund
from tests.conftest import Actors, advance_time

REVEALED = (1).to_bytes(32, "big")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_during_label_submission_loses_no_acknowledged_label(
    node: NodeUnderTest, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    task = create_task(w3, contracts, actors)
    node.start()
    items = [f"item-{n:05d}" for n in range(4000)]
    node.store_items(task.task_id, items)
    labels_url = f"{node.url}/api/v1/tasks/{task.task_id}/labels"
    headers = node.headers()
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(timeout=10.0) as http:
            for start in range(offset, len(items), 200):
                batch = [{"item": item, "value": f"v{start}"} for item in items[start : start + 50]]
                try:
                    response = http.post(labels_url, json=batch, headers=headers)
                except httpx.TransportError:
                    return  # the node died under this request: not acknowledged
                if response.status_code != 200:
                    return
                with lock:
                    acknowledged.update({entry["item"]: entry["value"] for entry in batch})

    threads = [threading.Thread(target=client, args=(offset,)) for offset in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 500, "the first acknowledged batches")
    node.kill()
    for thread in threads:
        thread.join(30)
    assert 500 <= len(acknowledged) < len(items), "the kill must land mid-submission"

    node.start()
    stored = node.labels(task.task_id)
    missing = {item for item in acknowledged if item not in stored}
    assert not missing, f"{len(missing)} acknowledged labels lost"
    assert {item: stored[item] for item in acknowledged} == acknowledged
    progress = httpx.get(
        f"{node.url}/api/v1/tasks/{task.task_id}/progress", headers=node.headers()
    ).json()
    assert progress["done"] == len(stored) >= len(acknowledged)


@pytest.mark.parametrize(
    "crash_at", ["after-commit-intent", "after-commit-submit", "after-reveal-submit"]
)
def test_sigkill_mid_commit_reveal_then_restart_completes_both(
    crash_at: str, node: NodeUnderTest, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    items = [f"q{n}" for n in range(6)]
    content = build_task_content(
        [ItemSpec(item, data=item) for item in items], title="t", classes=("cat", "dog")
    )
    task = create_task(w3, contracts, actors, manifest_cid=content.manifest_cid)
    attach(w3).set_balance(ANNOTATOR.address, 10**20)
    fund(w3, contracts, actors, ANNOTATOR, task.bond)
    TxSender(w3, ANNOTATOR).transact(
        contracts.token.functions.approve(contracts.market.address, task.bond)
    )
    market = contracts.market.functions
    answers = {item: ["cat", "dog"][n % 2] for n, item in enumerate(items)}
    node.store_content(content)

    node.start(**{CRASH_ENV: crash_at})
    wait_until(
        lambda: httpx.get(f"{node.url}/api/v1/tasks/{task.task_id}").status_code == 200,
        "the task to be mirrored",
    )
    node.store_items(task.task_id, items)
    response = httpx.post(
        f"{node.url}/api/v1/tasks/{task.task_id}/labels",
        json=[{"item": item, "value": value} for item, value in answers.items()],
        headers=node.headers(),
    )
    assert response.status_code == 200, response.text
    if crash_at == "after-reveal-submit":
        wait_until(
            lambda: market.commitmentOf(task.task_id, ANNOTATOR.address).call() != bytes(32),
            "the commit",
        )
        advance_time(w3, HOUR + 1)
    assert node.wait_for_death() == -signal.SIGKILL  # died at the crash point

    node.start()  # no crash point this time
    if crash_at != "after-reveal-submit":
        wait_until(
            lambda: market.commitmentOf(task.task_id, ANNOTATOR.address).call() != bytes(32),
            "the commit after the restart",
        )
        advance_time(w3, HOUR + 1)
    wait_until(
        lambda: market.commitmentOf(task.task_id, ANNOTATOR.address).call() == REVEALED,
        "the reveal after the restart",
    )

    # What was revealed is exactly the acknowledged labels, served by the node's gateway,
    # and the bond came back.
    (revealed,) = contracts.market.events.LabelsRevealed().get_logs(
        from_block=0, argument_filters={"taskId": task.task_id}
    )
    batch = read_batch(
        httpx.get(f"{node.url}/ipfs/{revealed.args.labelsCid}").content,
        lambda cid: httpx.get(f"{node.url}/ipfs/{cid}").content,
        task_id=task.task_id,
        annotator=ANNOTATOR.address,
        labels_root=revealed.args.labelsRoot,
        schema=LABELS_V2,  # the task's manifest names it
    )
    assert dict(batch.labels) == answers
    assert contracts.token.functions.balanceOf(ANNOTATOR.address).call() == task.bond
    assert json.loads(json.dumps(node.labels(task.task_id))) == answers
