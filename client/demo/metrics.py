"""The figures of a finished demo, read back from the chain and the nodes' gateways.

Nothing here trusts the orchestrator's own bookkeeping: labels are the batches the
annotators revealed (fetched through the gateways and checked against their CIDs), the
consensus is the winning result document, pay is what the market paid, slashing is what
the staking contract holds now. Accuracy is measured only on items whose gold answer was
*not* revealed to the validators (revealed gold is correct by construction).
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.demo.chain_figures import dealt_labels, gas_by_step, task_gas
from client.demo.posting import REWARD_PER_LABEL, VALIDATOR_STAKE
from client.demo.review import review_effect
from node.app.chain import load_deployment
from node.app.duties import task_key_vault
from node.chain.contracts import Contracts, bind
from node.chain.market import read_task
from node.consensus.majority_vote import MajorityVote
from node.consensus.task import answers_from_batches
from node.errors import LabelnetError
from node.keys import encryption_key_path, load_encryption_key
from node.protocol.labels import LabelBatch, read_batch
from node.protocol.paging import MAX_PAGE_BYTES, Fetch
from node.roles.confidential import Keyring
from node.roles.drop_rule import page_bytes
from node.roles.requester.results import fetch_results
from node.store.budget import FetchBudget
from node.store.embedded import EmbeddedStore
from node.store.errors import StoreError
from node.store.gateway import GatewayStore

if TYPE_CHECKING:
    from client.demo.dataset import DemoDataset
    from client.demo.runner import DemoRun

log = logging.getLogger(__name__)

TOKEN = 10**18
SKILLED = 0.2
"""True chance-corrected skill (kappa against gold) from which a replayed worker counts as
doing honest work worth paying: the default reward rule's skill floor, measured with gold."""
MAX_BATCH_BYTES = 64 * 1024 * 1024
BATCH_SECONDS = 30.0


def _tokens(amount: int) -> float:
    return amount / TOKEN


def revealed_batches(
    contracts: Contracts,
    store: GatewayStore,
    task_id: int,
    from_block: int,
    keyring: Keyring | None = None,
) -> list[LabelBatch]:
    """Every batch revealed for ``task_id`` that can be read, in the canonical layout as the
    validators read it (either schema, page by page), and is its reveal's task, annotator
    and root; others (an attacker's) are left out. A confidential task's batches are opened
    with ``keyring`` (the requester's: every batch key is wrapped to it)."""
    events = contracts.market.events.LabelsRevealed().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    batches = []
    for event in events:
        try:
            fetch: Fetch
            if keyring is None:
                data = store.get(
                    event["args"]["labelsCid"],
                    max_size=MAX_BATCH_BYTES,
                    budget=FetchBudget(BATCH_SECONDS),
                    canonical=True,
                )
                fetch = partial(page_bytes, store, seconds=BATCH_SECONDS)
            else:
                opened = keyring.open_batch(
                    str(event["args"]["labelsCid"]), task_id, str(event["args"]["annotator"])
                )
                budget = FetchBudget(BATCH_SECONDS)
                data = opened.view.get(opened.root_cid, max_size=MAX_BATCH_BYTES, budget=budget)
                fetch = opened.view.fetch(MAX_PAGE_BYTES, budget)
            batch = read_batch(
                data,
                fetch,
                task_id=task_id,
                annotator=str(event["args"]["annotator"]),
                labels_root=bytes(event["args"]["labelsRoot"]),
            )
        except (StoreError, LabelnetError) as exc:  # LabelBatchError, sealed errors
            log.warning("batch %s is left out: %s", event["args"]["labelsCid"], exc)
            continue
        batches.append(batch)
    return batches


def _requester_keys(
    run: DemoRun, contracts: Contracts, store: GatewayStore
) -> tuple[Keyring | None, bytes | None]:
    """On a confidential run, the requester's keyring and task key (what its node holds):
    the summary is the requester's view, which reads the items and every batch."""
    if not run.options.confidential:
        return None, None
    assert run.task is not None
    account = run.devnet.info.account("requester")
    password = run.devnet.info.password_file.read_text().rstrip("\n")
    keyring = Keyring(
        address=account.address,
        key=load_encryption_key(encryption_key_path(account.keystore), password),
        store=store,
        registry=contracts.registry,
        task_keys=contracts.task_keys,
    )
    requester = run.by_role("requester")[0]
    return keyring, task_key_vault(requester.data_dir).find(run.task.manifest_cid)


def collect_summary(run: DemoRun, dataset: DemoDataset) -> dict[str, Any]:
    """The demo's summary document (written as summary.json and drawn in the report)."""
    assert run.task is not None
    w3 = run.devnet.w3
    deployment = load_deployment(run.devnet.info.deployment_file)
    contracts = bind(w3, deployment)
    task_id = run.task.task_id
    from_block = deployment.start_block
    gateways = [node.url for node in run.nodes]
    with tempfile.TemporaryDirectory() as scratch:
        store = GatewayStore(EmbeddedStore(Path(scratch)), lambda: gateways)
        try:
            keyring, task_key = _requester_keys(run, contracts, store)
            results = fetch_results(
                w3, contracts, store, task_id, from_block=from_block, task_key=task_key
            )
            batches = revealed_batches(contracts, store, task_id, from_block, keyring)
            # The parsed items, not document["items"]: a result@2 document lists them in
            # pages, which the items read through the store as they stream (so before it
            # closes).
            gold_items = {entry.item for entry in results.items if entry.gold}
            consensus = {entry.item: entry.value for entry in results.items}
        finally:
            store.close()
    document = results.document
    # Manifest order, which deal@1 deals by: the demo posts the items in the data set's order
    # (a result lists only the items someone labelled, so its order can be shorter).
    order = list(dataset.items)
    answers = answers_from_batches(batches, task_id, dataset.classes)
    review: dict[str, Any] | None = None
    if run.review is not None and isinstance(document.get("review"), dict):
        # Reviewed items are decided as gold is (marked gold in the result); the accuracy
        # is still scored on them, against the data set's truth.
        public = {i: dataset.truth[i] for i in dataset.items[:: run.options.gold_every]}
        effect = review_effect(
            answers,
            public if run.options.gold_every else {},
            str(document["algorithm"]["id"]),
            str(document["parameters"].get("bloc_test", "")),
            run.review.params,
            dataset.truth,
            consensus,
        )
        gold_items -= set(effect["contested_items"])
        assert contracts.review_board is not None
        review = run.review.summary(
            contracts.token, contracts.review_board, task_id, document["review"]
        )
        review.update({k: v for k, v in effect.items() if k != "before"})
        before = effect["before"]
    scored = [item for item in dataset.items if item not in gold_items]
    majority = dict(zip(answers.items, MajorityVote().fit_predict(answers).tolist(), strict=True))

    def accuracy(labels: dict[str, str]) -> float:
        return sum(labels.get(i) == dataset.truth[i] for i in scored) / max(len(scored), 1)

    names = {
        run.devnet.info.account(node.name).address.lower(): node.name
        for node in run.nodes
        if node.role == "annotator"
    }
    workers = dict(zip((f"annotator-{i + 1}" for i in range(len(dataset.workers))),
                       dataset.workers, strict=True))  # fmt: skip
    estimated = {entry["account"].lower(): entry for entry in document["annotators"]}
    paid = {entry["account"].lower(): int(entry["amount"]) for entry in document["payouts"]}
    annotators = []

    def natural(batch: LabelBatch) -> tuple[str, int]:
        prefix, _, number = names.get(batch.annotator.lower(), batch.annotator).rpartition("-")
        return (prefix, int(number)) if number.isdigit() else (batch.annotator, 0)

    for batch in sorted(batches, key=natural):
        account = batch.annotator.lower()
        name = names.get(account, account)
        labels = dict(batch.labels)
        correct = sum(labels[item] == dataset.truth.get(item) for item in labels)
        pay = paid.get(account, 0)
        truth = [dataset.truth[item] for item in labels]
        annotators.append(
            {
                "name": name,
                "account": batch.annotator,
                "kind": "spammer" if name.startswith("spammer") else "honest",
                "worker": workers.get(name),
                "labels": len(labels),
                # What the validators counted: a seated task's labels on undealt items are
                # dropped before consensus, so this can be fewer than the batch held.
                "counted_labels": int(estimated.get(account, {}).get("labels", 0)),
                "true_accuracy": correct / len(labels),
                "true_skill": cohen_kappa([str(v) for v in labels.values()], truth),
                "estimated_accuracy": float(estimated.get(account, {}).get("accuracy", 0)),
                "estimated_skill": float(estimated.get(account, {}).get("skill", 0)),
                "evidence": float(estimated.get(account, {}).get("evidence", 0)),
                "eligible": bool(estimated.get(account, {}).get("eligible", False)),
                "pay": _tokens(pay),
                "pay_per_label": _tokens(pay) / len(labels),
            }
        )
    per_label: dict[str, list[float]] = defaultdict(list)
    for entry in annotators:
        per_label[str(entry["kind"])].append(float(entry["pay_per_label"]))
        if entry["kind"] == "honest" and float(entry["true_skill"]) >= SKILLED:
            per_label["skilled"].append(float(entry["pay_per_label"]))
    slashing = []
    for node in run.by_role("validator"):
        address = run.devnet.info.account(node.name).address
        now = int(contracts.staking.functions.stakeOf(address).call())
        lying = node.settings.get("adversary") == "wrong-root"
        slashing.append(
            {
                "name": node.name,
                "adversary": lying,
                "stake_before": _tokens(VALIDATOR_STAKE),
                "stake_after": _tokens(now),
                "slashed": _tokens(max(VALIDATOR_STAKE - now, 0)),
                "rewarded": _tokens(max(now - VALIDATOR_STAKE, 0)),
            }
        )
    state = read_task(contracts.market, task_id)
    dealt = dealt_labels(w3, contracts, task_id, order, batches) if state.seated else None
    assignment = assignment_summary(
        run, document, batches, dealt, state.seat_count, state.seat_limit, len(order)
    )
    balance = int(contracts.token.functions.balanceOf(contracts.market.address).call())
    owed = state.total_payout - state.paid_out + (0 if state.refunded else state.refundable)
    kinds = Counter(str(entry["kind"]) for entry in annotators)
    return {
        "dataset": dataset.name,
        "task_id": task_id,
        "items": len(dataset.items),
        "gold_revealed": len(gold_items),
        "labels": sum(int(entry["labels"]) for entry in annotators),
        "nodes": len(run.nodes),
        "annotators": kinds["honest"],
        "spammers": kinds["spammer"],
        "validators": len(run.by_role("validator")),
        "review": review,
        "accuracy": {
            "consensus": accuracy(consensus),
            "consensus_before_review": accuracy(before) if review is not None else None,
            "majority_vote": accuracy(majority),
            "scored_items": len(scored),
        },
        "result_cid": results.result_cid,
        "annotator_table": annotators,
        "pay": {
            "honest_per_label": _mean(per_label["honest"]),
            "honest_min_per_label": min(per_label["honest"], default=0.0),
            "skilled_min_per_label": min(per_label["skilled"], default=0.0),
            "skilled_annotators": len(per_label["skilled"]),
            "spammer_per_label": _mean(per_label["spammer"]),
            "spammer_max_per_label": max(per_label["spammer"], default=0.0),
            "paid_annotators": sum(1 for entry in annotators if float(entry["pay"]) > 0),
            "best_evidence": max((float(entry["evidence"]) for entry in annotators), default=0.0),
            "total_paid": _tokens(state.paid_out),
            # The event, not state.refundable: the market reads 0 once the refund is paid.
            "refunded": _tokens(
                sum(
                    int(event["args"]["amount"])
                    for event in contracts.market.events.RequesterRefunded().get_logs(
                        from_block=from_block, argument_filters={"taskId": task_id}
                    )
                )
            ),
        },
        "assignment": assignment,
        "slashing": slashing,
        "gas": gas_by_step(w3, contracts, from_block),
        "task_gas": task_gas(w3, contracts, task_id, from_block),
        "accounting": {
            "market_balance": str(balance),
            "still_owed": str(owed),
            "balanced": balance == owed,
        },
        "seconds": run.timings.get("claimed", 0.0),
        "timings": {name: round(value, 2) for name, value in run.timings.items()},
    }


def assignment_summary(
    run: DemoRun,
    document: dict[str, Any],
    batches: list[LabelBatch],
    dealt: list[tuple[str, str]] | None,
    seats_claimed: int,
    seats: int,
    num_items: int,
) -> dict[str, Any]:
    """What the task promised its annotators and what they got: the seats, the batch size,
    the most labels any item received (at most k), and each paid annotator's pay per
    accepted label (exactly the posted rate on a seated task; scaled down pro rata on an
    open one when more labels come than the pool pays for)."""
    assert run.task is not None
    per_item: Counter[str] = Counter()
    if dealt is None:  # an open task: every revealed label counts
        for batch in batches:
            per_item.update({item for item, _ in batch.labels})
    else:
        per_item.update(item for _, item in set(dealt))
    rates = [
        int(row["payout"]) / int(row["accepted"])
        for row in document.get("annotators", [])
        if int(row.get("payout", 0)) > 0 and int(row.get("accepted", 0)) > 0
    ]
    return {
        "seated": bool(run.task.batch_size),
        # A seated task's k is its seats' items over its items (the demo's --qualified main
        # task has fewer seats than the options' labelling nodes).
        "redundancy": seats * run.task.batch_size // num_items
        if run.task.batch_size
        else run.options.redundancy or run.options.annotators + run.options.spammers,
        "batch_size": run.task.batch_size,
        "min_batch_size": run.task.min_batch_size,
        "seats": seats,
        "seats_claimed": seats_claimed,
        "max_labels_per_item": max(per_item.values(), default=0),
        "revealed_labels": sum(len(batch.labels) for batch in batches),
        "dealt_labels": None if dealt is None else len(set(dealt)),
        "posted_rate": _tokens(REWARD_PER_LABEL),
        "pay_per_accepted_label": sorted({_tokens(int(rate)) for rate in rates}),
        "exact_rate": all(rate == REWARD_PER_LABEL for rate in rates),
    }


def cohen_kappa(labels: list[str], truth: list[str]) -> float:
    """Chance-corrected agreement of ``labels`` with ``truth`` (Cohen's kappa).

    What the reward rule's skill floor estimates without gold: on a skewed task, answering
    the common class is accurate but worth nothing, and kappa says so.
    """
    n = len(labels)
    if n == 0:
        return 0.0
    observed = sum(a == b for a, b in zip(labels, truth, strict=True)) / n
    given, actual = Counter(labels), Counter(truth)
    expected = sum(given[c] * actual[c] for c in given) / (n * n)
    return 0.0 if expected >= 1 else (observed - expected) / (1 - expected)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
