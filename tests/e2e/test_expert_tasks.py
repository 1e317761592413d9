"""Expert tasks end to end: real node processes on a real anvil (issue #19 items 2, 4 and 5).

``labelnet demo --confidential --qualified`` with four simulated annotators of accuracies
0.95, 0.85, 0.75 and 0.65 (:mod:`client.demo.qualified`). A gold-only qualification task
(gated, no rule, reputation domain ``demo``) seats all four; the main task, confidential,
is gated on passing it at 0.8. The two better annotators are admitted and take its two
seats; the other two are refused on chain, with the error naming the rule
(``NotQualified``), both when their nodes ask the gate (they log ``skipped task N: ...``)
and when the test sends ``claimSeat`` from their accounts. After the two tasks, every
account's reputation counters (read with the SDK's ``Network.reputation``) are what the
two finalized result documents' payout leaves say. The demo finishes with every payout
claimed, and its report says who was admitted and why.

The nodes take the relayed path of a gated task (docs/qualification.md, "Relays"): on each
task every seat lands in one ``claimSeats`` and every payout in one ``claimFor``, both sent
by the requester's node, and no annotator sends a ``claimSeat`` or a claim of its own.

One demo run serves every test here: the CI budget allows one more network, not three.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from client.demo.posting import REWARD_PER_LABEL
from client.demo.qualified import DOMAIN, PASS_ACCURACY, crowd_accuracies
from client.demo.runner import DemoOptions, DemoRun, default_datasets_dir, run_demo
from client.sdk.network import Network
from node.app.chain import load_deployment
from node.chain.contracts import bind
from node.chain.errors import ContractRevertError
from node.chain.market import TaskStatus, read_task
from node.chain.qualifications import Reputation
from node.chain.tx import TxSender
from node.keys import load_keystore
from node.roles.winning import winning_result
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore

pytestmark = pytest.mark.timeout(900)

ITEMS, ANNOTATORS, VALIDATORS = 120, 4, 3
QUALIFICATION_ITEMS = ITEMS // 3  # client.demo.qualified.split_items: a third (>= 38 here)
ADMITTED = {"annotator-1", "annotator-2"}  # accuracies 0.95 and 0.85 pass 0.8
REFUSED = {"annotator-3", "annotator-4"}  # 0.75 and 0.65 do not


class Probe:
    """Looks at the chain while the nodes run (they and the devnet stop with the demo)."""

    def __init__(self) -> None:
        self.task_ids: list[int] = []
        self.refusals: dict[str, tuple[str, tuple[Any, ...]]] = {}
        self.direct_refusals: dict[str, str] = {}
        self.payouts: dict[int, dict[str, int]] = {}
        self.batches: dict[int, int] = {}
        self.reputation: dict[str, dict[str, Reputation]] = {}
        self.final: dict[int, tuple[TaskStatus, int, int]] = {}
        self.requester = ""
        self.relayed: dict[int, dict[str, list[tuple[str, str]]]] = {}
        """Per task, per event (``SeatClaimed``, ``PayoutClaimed``): each event's transaction
        as (function called, sender)."""

    def __call__(self, run: DemoRun, phase: str, done: int, total: int) -> None:
        assert run.task is not None
        task_id = run.task.task_id
        if task_id not in self.task_ids:
            self.task_ids.append(task_id)
        main = len(self.task_ids) == 2
        if main and phase == "seats" and not self.refusals:
            self._refused_on_chain(run, task_id)
        if phase == "claim" and done >= total and task_id not in self.final:
            self._after_claim(run, task_id)
            self._transactions(run, task_id)
            if main:
                self._reputation(run)

    def _refused_on_chain(self, run: DemoRun, task_id: int) -> None:
        """While the seat window is open, the refused accounts send ``claimSeat`` themselves:
        through the gate (reverts naming the rule) and to the market directly (a gated
        task takes seats from its gate only)."""
        contracts = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))
        assert contracts.qualifications is not None
        password = run.devnet.info.password()
        for name in sorted(REFUSED):
            account = load_keystore(run.devnet.info.account(name).keystore, password)
            sender = TxSender(run.devnet.w3, account)
            try:
                sender.transact(contracts.qualifications.functions.claimSeat(task_id, []))
            except ContractRevertError as exc:
                self.refusals[name] = (exc.name, exc.args_)
            try:
                sender.transact(contracts.market.functions.claimSeat(task_id))
            except ContractRevertError as exc:
                self.direct_refusals[name] = exc.name

    def _after_claim(self, run: DemoRun, task_id: int) -> None:
        """The winning result document's payout leaves, read through the nodes' gateways."""
        contracts = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))
        state = read_task(contracts.market, task_id)
        self.final[task_id] = (state.status, state.paid_out, state.total_payout)
        assert contracts.qualifications is not None
        rule = contracts.qualifications.functions.ruleOf(task_id).call()
        self.batches[task_id] = int(rule[1])
        gateways = [node.url for node in run.nodes]
        with tempfile.TemporaryDirectory() as scratch:
            store = GatewayStore(EmbeddedStore(Path(scratch)), lambda: gateways)
            try:
                _, document = winning_result(contracts.market, store, task_id)
            finally:
                store.close()
        self.payouts[task_id] = {
            account.lower(): amount for account, amount in document.payouts.leaves
        }

    def _transactions(self, run: DemoRun, task_id: int) -> None:
        """Which function, sent by whom, emitted each seat and payout of ``task_id``."""
        contracts = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))
        gate, market, w3 = contracts.qualifications, contracts.market, run.devnet.w3
        assert gate is not None
        by_event: dict[str, list[tuple[str, str]]] = {}
        for event in (market.events.SeatClaimed, market.events.PayoutClaimed):
            found = event().get_logs(from_block=0, argument_filters={"taskId": task_id})
            calls = []
            for log in found:
                tx = w3.eth.get_transaction(log["transactionHash"])
                called = gate if tx["to"] == gate.address else market
                function, _ = called.decode_function_input(tx["input"])
                calls.append((log["transactionHash"].hex(), f"{function.fn_name}:{tx['from']}"))
            by_event[event.event_name] = calls
        self.relayed[task_id] = by_event
        self.requester = run.devnet.info.account("requester").address

    def _reputation(self, run: DemoRun) -> None:
        info = run.devnet.info
        network = Network.connect(info.rpc_url, info.deployment_file)
        for node in run.by_role("annotator"):
            self.reputation[node.name] = network.reputation(info.account(node.name).address)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Probe, Path]:
    if not (default_datasets_dir() / "zheng_d_product").is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    out = tmp_path_factory.mktemp("expert")
    probe = Probe()
    options = DemoOptions(
        items=ITEMS,
        annotators=ANNOTATORS,
        spammers=0,
        validators=VALIDATORS,
        lying_validators=0,
        confidential=True,
        qualified=True,
        out=out,
        quiet=True,
    )
    run_demo(options, on_poll=probe)
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary, probe, out


def test_the_qualification_task_admits_the_two_annotators_above_its_accuracy(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, _ = outcome
    assert crowd_accuracies(ANNOTATORS) == [0.95, 0.85, 0.75, 0.65]
    admission = summary["admission"]
    rows = {row["name"]: row for row in admission["annotators"]}
    assert {name for name, row in rows.items() if row["admitted"]} == ADMITTED
    assert {name for name, row in rows.items() if row["seated"]} == ADMITTED
    qualification, main = probe.task_ids
    assert admission["qualification_task"] == qualification and admission["main_task"] == main
    for name, row in rows.items():
        # The gate's measure is the share of the batch paid for; gold-only, that is the share
        # answered right (for an annotator the evidence test pays at all).
        accuracy = row["qualification_accuracy"]
        assert (accuracy >= PASS_ACCURACY) is (name in ADMITTED), (name, accuracy)
    assert rows["annotator-1"]["qualification_accuracy"] == pytest.approx(0.95)
    assert rows["annotator-2"]["qualification_accuracy"] == pytest.approx(0.85)


def test_the_gated_task_refuses_the_others_on_chain_naming_the_rule(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, out = outcome
    qualification, main = probe.task_ids
    assert set(probe.refusals) == REFUSED
    rows = {row["name"]: row for row in summary["admission"]["annotators"]}
    for name, (error, args) in probe.refusals.items():
        # NotQualified(taskId, account, qualificationTaskId): the rule and who failed it.
        assert error == "NotQualified", (name, error)
        task, account, required = args
        assert (task, account.lower(), required) == (
            main,
            rows[name]["account"].lower(),
            qualification,
        )
    assert probe.direct_refusals == dict.fromkeys(REFUSED, "TaskMarketGated")
    for name in REFUSED:
        assert rows[name]["error"] == "NotQualified"
        log = (out / "network" / name / "node.log").read_text()
        assert f"skipped task {main}: NotQualified" in log
        assert rows[name]["logged"] is not None and "NotQualified" in rows[name]["logged"]
    for name in ADMITTED:
        assert "skipped task" not in (out / "network" / name / "node.log").read_text()


def test_reputation_matches_the_two_result_documents(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, _ = outcome
    accounts = {row["name"]: row["account"].lower() for row in summary["admission"]["annotators"]}
    for name, account in accounts.items():
        tasks = [t for t in probe.task_ids if account in probe.payouts[t]]
        expected = Reputation(
            accepted=sum(probe.payouts[t][account] // REWARD_PER_LABEL for t in tasks),
            answered=sum(probe.batches[t] for t in tasks),
            tasks=len(tasks),
        )
        got = probe.reputation[name]
        assert got == ({DOMAIN: expected} if tasks else {}), name
    # The admitted were paid on both tasks, so both count for them.
    for name in ADMITTED:
        assert probe.reputation[name][DOMAIN].tasks == 2
        assert probe.reputation[name][DOMAIN].answered == ITEMS
    # And the report shows the same counters.
    for row in summary["admission"]["annotators"]:
        counters = probe.reputation[row["name"]].get(DOMAIN, Reputation(0, 0, 0))
        assert row["reputation"] == {
            "accepted": counters.accepted,
            "answered": counters.answered,
            "tasks": counters.tasks,
        }


def test_the_demo_completes_with_every_payout_claimed_and_reports_the_admissions(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    summary, probe, out = outcome
    assert len(probe.final) == 2
    for status, paid, total in probe.final.values():
        assert status is TaskStatus.FINALIZED
        assert total > 0 and paid == total
    assert summary["accounting"]["balanced"] is True
    assert summary["assignment"]["seats_claimed"] == len(ADMITTED)
    assert summary["assignment"]["redundancy"] == len(ADMITTED)  # one seat each, every item
    assert {row["name"] for row in summary["annotator_table"]} == ADMITTED
    report = (out / "report.html").read_text()
    assert "Who was admitted, and why" in report
    assert report.count("refused: NotQualified") == len(REFUSED)
    assert report.count("admitted, seated") == len(ADMITTED)
    assert f"qualification task {probe.task_ids[0]}: accuracy &gt;= 80.00%" in report


def test_each_gated_task_is_seated_in_one_claim_seats_and_paid_in_one_claim_for(
    outcome: tuple[dict[str, Any], Probe, Path],
) -> None:
    _, probe, out = outcome
    for task_id in probe.task_ids:
        relayed = probe.relayed[task_id]
        for event, function in (("SeatClaimed", "claimSeats"), ("PayoutClaimed", "claimFor")):
            calls = relayed[event]
            assert calls, (task_id, event)
            transactions = {tx for tx, _ in calls}
            assert len(transactions) == 1, (task_id, event, calls)  # one transaction for all
            ((_, call),) = set(calls)
            name, sender = call.split(":")
            assert name == function, (task_id, event, call)
            assert sender.lower() == probe.requester.lower()  # the requester's node relays
    qualification, main = probe.task_ids
    assert len(probe.relayed[qualification]["SeatClaimed"]) == ANNOTATORS
    assert len(probe.relayed[main]["SeatClaimed"]) == len(ADMITTED)
    for name in ADMITTED | REFUSED:
        log = (out / "network" / name / "node.log").read_text()
        assert "claiming itself" not in log and "claiming it" not in log, name
    requester_log = (out / "network" / "requester" / "node.log").read_text()
    assert requester_log.count("in one claimSeats") == 2
    assert requester_log.count("in one claimFor") == 2
