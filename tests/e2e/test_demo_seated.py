"""A seated task end to end: real node processes on a real anvil (issue #16 items 1 and 4).

Six labelling nodes want seats of a task that has four (80 items, k = 2, batch 40): the two
late ones get none and do no work. Before the seal a seated node's API answers 409
``not_dealt_yet`` and a node without a seat 403 ``no_seat``; after it, a seated node serves
only its dealt items. One seated node is also given a label on an item it was not dealt,
through its own API: the validators drop it. At the end no item has more than k labels,
every paid annotator got exactly the posted rate per accepted label, and every token is
accounted for.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.demo.network import NodeProcess
from client.demo.posting import REWARD_PER_LABEL
from client.demo.runner import (
    FINALITY_DEPTH,
    DemoOptions,
    DemoRun,
    default_datasets_dir,
    run_demo,
)
from node.app.chain import load_deployment
from node.chain.contracts import bind
from node.chain.market import read_task
from node.chain.seal import read_seal
from node.protocol.deal import deal
from node.protocol.manifest import ItemPage, Manifest
from node.store.embedded import EmbeddedStore

pytestmark = pytest.mark.timeout(900)

ITEMS, K, BATCH, LABELLERS = 80, 2, 40, 6
SEATS = ITEMS * K // BATCH


def _get(node: NodeProcess, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {node.token()}"}
    return httpx.get(f"{node.url}/api/v1{path}", headers=headers, timeout=10)


class Probe:
    """The phase hook: looks at the nodes' API at each step and plants one undealt label."""

    def __init__(self) -> None:
        self.before_seal: dict[str, int] = {}
        self.after_seal: dict[str, list[str]] = {}
        self.no_seat: dict[str, int] = {}
        self.planted: str | None = None
        """The seated node given a label on every item before the seal."""
        self.dealt: dict[str, set[str]] = {}

    def __call__(self, run: DemoRun, phase: str, done: int, total: int) -> None:
        assert run.task is not None
        if phase == "seats" and done >= total and not self.before_seal:
            self._before_seal(run)
        if phase == "commit" and not self.dealt:
            self._after_seal(run)

    def _seats(self, run: DemoRun) -> dict[str, int]:
        assert run.task is not None
        market = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file)).market
        events = market.events.SeatClaimed().get_logs(
            from_block=0, argument_filters={"taskId": run.task.task_id}
        )
        return {str(e["args"]["annotator"]).lower(): int(e["args"]["seat"]) for e in events}

    def _address(self, run: DemoRun, node: NodeProcess) -> str:
        return run.devnet.info.account(node.name).address.lower()

    def _before_seal(self, run: DemoRun) -> None:
        assert run.task is not None
        seats = self._seats(run)
        path = f"/tasks/{run.task.task_id}/items/next"
        for node in run.by_role("annotator"):
            seated = self._address(run, node) in seats
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until the node's mirror has the seats
                status = _get(node, path).status_code
                if status == (409 if seated else 403):
                    break
                time.sleep(0.2)
            (self.before_seal if seated else self.no_seat)[node.name] = status
        # Before the seal nobody knows which items a seat gets: label every item on one
        # seated node, through its own API. After the deal, the items not dealt to it are
        # in its batch, and the validators must drop them.
        target = next(n for n in run.by_role("annotator") if self._address(run, n) in seats)
        store = EmbeddedStore.in_data_dir(run.by_role("requester")[0].data_dir)
        manifest = Manifest.from_bytes(store.get(run.task.manifest_cid, max_size=1 << 22))
        items = [
            item.id
            for page in manifest.pages
            for item in ItemPage.from_bytes(store.get(page, max_size=1 << 22)).items
        ]
        response = httpx.post(
            f"{target.url}/api/v1/tasks/{run.task.task_id}/labels",
            headers={"Authorization": f"Bearer {target.token()}"},
            json=[{"item": item, "value": manifest.classes[0]} for item in items],
            timeout=10,
        )
        assert response.status_code == 200, response.text
        self.planted = self._address(run, target)

    def _after_seal(self, run: DemoRun) -> None:
        assert run.task is not None
        w3 = run.devnet.w3
        deployment = load_deployment(run.devnet.info.deployment_file)
        market = bind(w3, deployment).market
        state = read_task(market, run.task.task_id)
        seal = read_seal(
            w3,
            chain_id=deployment.chain_id,
            market=deployment.market,
            task_id=run.task.task_id,
            seat_deadline=state.seat_deadline,
            finality_depth=FINALITY_DEPTH,
        )
        assert seal is not None
        seats = self._seats(run)
        store = EmbeddedStore.in_data_dir(run.by_role("requester")[0].data_dir)
        manifest = Manifest.from_bytes(store.get(run.task.manifest_cid, max_size=1 << 22))
        order = [
            item.id
            for page in manifest.pages
            for item in ItemPage.from_bytes(store.get(page, max_size=1 << 22)).items
        ]
        dealt = deal(seal.seed, ITEMS, K, BATCH, len(seats))
        self.dealt = {
            account: {order[int(i)] for i in dealt.items_of(seat)}
            for account, seat in seats.items()
        }
        seated = [n for n in run.by_role("annotator") if self._address(run, n) in seats]
        target = next(n for n in seated if self._address(run, n) != self.planted)
        path = f"/tasks/{run.task.task_id}/items/next?limit=1000"
        deadline = time.monotonic() + 30
        served: list[str] = []
        while time.monotonic() < deadline:
            response = _get(target, path)
            if response.status_code == 200:
                served = [item["item_id"] for item in response.json()]
                break
            time.sleep(0.1)
        self.after_seal[target.name] = served


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Probe, Path]:
    if not (default_datasets_dir() / "zheng_d_product").is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    out = tmp_path_factory.mktemp("seated")
    probe = Probe()
    options = DemoOptions(
        items=ITEMS,
        annotators=LABELLERS - 2,
        spammers=2,
        validators=3,
        redundancy=K,
        batch_size=BATCH,
        out=out,
        quiet=True,
    )
    run_demo(options, on_poll=probe)
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary, probe, out


def test_only_the_seats_work_and_no_item_gets_more_than_k_labels(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, _ = outcome
    seats = summary["assignment"]
    assert seats["seated"] and seats["seats"] == SEATS == seats["seats_claimed"]
    assert seats["batch_size"] == BATCH and seats["redundancy"] == K
    assert seats["max_labels_per_item"] <= K  # of the labels validators count
    # The planted node's labels on undealt items were revealed, and not counted: exactly
    # its ITEMS - BATCH undealt items are the difference. (Not "revealed > SEATS * BATCH":
    # a replayed worker labels only the dealt items it answered in the data set, so the
    # seats' own labels can fall short of a full batch each, depending on who won a seat.)
    assert seats["dealt_labels"] <= SEATS * BATCH
    assert seats["revealed_labels"] - seats["dealt_labels"] == ITEMS - BATCH
    planted = next(r for r in summary["annotator_table"] if r["account"].lower() == probe.planted)
    assert planted["labels"] == ITEMS
    # Only seat holders revealed a batch: the two late nodes did no work.
    assert len(summary["annotator_table"]) == SEATS
    assert len(probe.no_seat) == LABELLERS - SEATS
    assert set(probe.no_seat.values()) == {403}
    assert set(probe.before_seal.values()) == {409}


def test_a_seated_node_serves_and_labels_only_its_dealt_items(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, _ = outcome
    ((name, served),) = probe.after_seal.items()
    account = next(r["account"].lower() for r in summary["annotator_table"] if r["name"] == name)
    assert set(served) <= probe.dealt[account]  # what was left to label when asked
    for row in summary["annotator_table"]:
        account = row["account"].lower()
        if account != probe.planted:  # labelled by the node's own program: dealt items only
            assert row["labels"] == row["counted_labels"] <= BATCH


def test_every_paid_annotator_gets_exactly_the_rate_and_the_undealt_label_is_dropped(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, _ = outcome
    seats = summary["assignment"]
    assert seats["exact_rate"] is True
    assert seats["pay_per_accepted_label"] in ([], [REWARD_PER_LABEL / 10**18])
    assert summary["accounting"]["balanced"] is True
    row = next(r for r in summary["annotator_table"] if r["account"].lower() == probe.planted)
    # The revealed batch holds a label on every item; the validators counted the dealt ones.
    assert row["labels"] == ITEMS and row["counted_labels"] == BATCH
