"""``labelnet demo --qualified``: a qualification task first, then the main task gated on it
(issue #19 items 2 and 5, docs/qualification.md).

**The crowd.** The data set's items, classes and gold answers, with simulated workers of
chosen accuracies (:func:`crowd_accuracies`: 0.95, 0.85, 0.75, ... down to 0.55), each
answering every item, right on exactly ``round(accuracy * n)`` of the qualification items
and of the main items. Chosen rather than replayed: who passes must not depend on which
real workers a cut of the data set happened to pick, so a reader of the report can check
the admissions against the accuracies.

**The qualification task** is gated (so its claims credit reputation in :data:`DOMAIN`)
but states no rule, and it is gold only: the requester commits to every item's answer and
reveals them after the commit deadline, so the consensus is the answer key and an
annotator's accepted labels are its correct answers (if it passes the reward rule's
evidence test; otherwise it is paid nothing, and fails). It has one seat per labelling
node, each dealt every qualification item.

**The main task** (the remaining items; confidential with ``--confidential``) is gated on
it: the gate admits an account paid for at least :data:`PASS_ACCURACY` of its batch there
(``NotQualified`` otherwise). It has as many seats as accounts passed, so the refused nodes'
skips leave no seat empty, and the demo's report says who was admitted and why
(:func:`admission_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from node.app.chain import load_deployment
from node.chain.contracts import bind
from node.chain.qualifications import (
    BPS,
    Gate,
    admission_refusal,
    read_reputation,
    read_rule,
)
from node.protocol.kinds import TaskKind
from node.protocol.manifest import default_consensus
from node.roles.requester.batch_size import minimum_batch_size

if TYPE_CHECKING:
    from web3.contract import Contract

    from client.demo.dataset import DemoDataset
    from client.demo.runner import DemoRun

DOMAIN = "demo"
"""The reputation domain both of the demo's tasks count in."""
PASS_ACCURACY = 0.8
"""The share of its qualification batch an account must be paid for to be admitted."""
TOP_ACCURACY, STEP, FLOOR = 0.95, 0.10, 0.55
QUALIFICATION_SHARE = 3
"""A third of the items (at least the least batch size) make the qualification task."""
CROWD_SEED = 19


def crowd_accuracies(workers: int) -> list[float]:
    """The simulated workers' accuracies: 0.95, 0.85, 0.75, 0.65, then 0.55 for the rest, so
    that of four the first two pass :data:`PASS_ACCURACY` and the others do not."""
    return [round(max(TOP_ACCURACY - STEP * i, FLOOR), 2) for i in range(workers)]


def worker_name(index: int, accuracy: float) -> str:
    return f"sim{index + 1}-acc{round(accuracy * 100)}"


def simulated_crowd(dataset: DemoDataset, qualification_items: int) -> DemoDataset:
    """``dataset`` with its workers replaced by simulated ones of :func:`crowd_accuracies`:
    each answers every item, right on exactly ``round(accuracy * n)`` of the first
    ``qualification_items`` items and of the rest (a wrong answer is another class)."""
    rng = np.random.default_rng(CROWD_SEED)
    parts = (dataset.items[:qualification_items], dataset.items[qualification_items:])
    workers: list[str] = []
    answers: dict[str, dict[str, str]] = {}
    for index, accuracy in enumerate(crowd_accuracies(len(dataset.workers))):
        name = worker_name(index, accuracy)
        workers.append(name)
        labels: dict[str, str] = {}
        for items in parts:
            wrong = set(rng.permutation(len(items))[: len(items) - round(accuracy * len(items))])
            for position, item in enumerate(items):
                truth = dataset.truth[item]
                if position in wrong:
                    others = [c for c in dataset.classes if c != truth]
                    labels[item] = str(others[int(rng.integers(len(others)))])
                else:
                    labels[item] = truth
        answers[name] = labels
    return replace(dataset, workers=tuple(workers), answers=answers)


def least_batch(classes: Sequence[str]) -> int:
    """The least batch size the requester's SDK accepts for a default categorical task of
    ``classes`` (:func:`node.roles.requester.batch_size.minimum_batch_size`)."""
    z_ppb = default_consensus(TaskKind.CATEGORICAL).reward_params(1, 1).significance_z_ppb
    return minimum_batch_size(len(classes), z_ppb)


def split_items(total: int, least_batch: int) -> int:
    """How many of ``total`` items make the qualification task: a third, at least
    ``least_batch`` (the least batch size of a task of these classes)."""
    return max(total // QUALIFICATION_SHARE, least_batch)


@dataclass
class Qualification:
    """The qualification task, once it is claimed: what the main task is gated on."""

    task_id: int
    items: tuple[str, ...]
    admitted: tuple[str, ...] = ()
    """The labelling nodes that passed (read from the market's payouts)."""
    timings: dict[str, float] | None = None

    def gate(self) -> Gate:
        """The main task's rule: pass this task at :data:`PASS_ACCURACY`, in :data:`DOMAIN`."""
        return Gate(
            domain=DOMAIN,
            qualification_task_id=self.task_id,
            qualification_accuracy_bps=round(PASS_ACCURACY * BPS),
        )


def measured_accuracy(market: Contract, gate: Contract, task_id: int, account: str) -> float:
    """``account``'s accuracy on gated task ``task_id`` as the gate judges it: the share of
    its batch it was paid for (``paidOf / (rate * batch)``)."""
    rule = read_rule(gate, task_id)
    if rule is None:
        raise ValueError(f"task {task_id} is not gated")
    paid = int(market.functions.paidOf(task_id, account).call())
    return paid / (rule.reward_per_label * rule.batch_size)


def passed(run: DemoRun, qualification: Qualification) -> list[str]:
    """The labelling nodes' names whose accounts pass ``qualification`` (what the gate will
    admit to the main task; read from the market's payouts, before the task exists)."""
    contracts = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))
    assert contracts.qualifications is not None
    names = []
    for node in run.by_role("annotator"):
        address = run.devnet.info.account(node.name).address
        accuracy = measured_accuracy(
            contracts.market, contracts.qualifications, qualification.task_id, address
        )
        if accuracy * BPS >= round(PASS_ACCURACY * BPS):
            names.append(node.name)
    return names


def skip_line(data_dir: Path, task_id: int) -> str | None:
    """The line a node logged when its seat duty skipped ``task_id`` (None if it did not)."""
    log = data_dir / "node.log"
    if not log.is_file():
        return None
    marker = f"skipped task {task_id}: "
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if marker in line:
            return line[line.index(marker) + len(marker) :]
    return None


def seat_decisions(run: DemoRun, market: Contract, task_id: int) -> int:
    """Labelling nodes whose seat duty has decided on ``task_id``: seated, or logged why not
    (skipped by the gate's rule, or no seat left). The demo holds the seat window open until
    all have, so the report can say why each node is where it is."""
    decided = 0
    for node in run.by_role("annotator"):
        address = run.devnet.info.account(node.name).address
        if market.functions.hasSeat(task_id, address).call():
            decided += 1
            continue
        log = node.data_dir / "node.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        if f"skipped task {task_id}: " in text or f"task {task_id}: no seat" in text:
            decided += 1
    return decided


def admission_summary(run: DemoRun, qualification: Qualification) -> dict[str, Any]:
    """Who was admitted to the main task and why, per labelling node: the rule, the
    accuracy the gate measured on the qualification task, the reputation in
    :data:`DOMAIN` after both tasks, and the gate's verdict (the error naming the rule it
    failed), beside what the node itself logged."""
    assert run.task is not None
    main = run.task.task_id
    contracts = bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))
    gate = contracts.qualifications
    assert gate is not None
    rule = read_rule(gate, main)
    assert rule is not None
    rows = []
    for node in run.by_role("annotator"):
        address = run.devnet.info.account(node.name).address
        refusal = admission_refusal(gate, main, address)
        reputation = read_reputation(gate, address, DOMAIN)
        rows.append(
            {
                "name": node.name,
                "account": address,
                "worker": node.settings.get("labeler", "").rpartition(":")[2],
                "qualification_accuracy": measured_accuracy(
                    contracts.market, gate, qualification.task_id, address
                ),
                "admitted": refusal is None,
                "error": None if refusal is None else refusal.name,
                "seated": bool(contracts.market.functions.hasSeat(main, address).call()),
                "logged": skip_line(node.data_dir, main),
                "reputation": {
                    "accepted": reputation.accepted,
                    "answered": reputation.answered,
                    "tasks": reputation.tasks,
                },
            }
        )
    return {
        "domain": DOMAIN,
        "qualification_task": qualification.task_id,
        "qualification_items": len(qualification.items),
        "main_task": main,
        "rule": rule.describe(),
        "pass_accuracy": PASS_ACCURACY,
        "annotators": rows,
    }
