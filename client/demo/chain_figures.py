"""Figures of a finished demo read from the chain alone: the gas of every step and of the
task's own transactions, and which revealed labels the deal gave each seat.

Split from :mod:`client.demo.metrics`, which assembles the summary from these and from the
nodes' gateways.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from web3 import Web3
from web3.contract import Contract

from node.chain.contracts import Contracts
from node.chain.market import read_task
from node.chain.qualifications import read_rule
from node.chain.seal import read_seal
from node.protocol.deal import deal
from node.protocol.labels import LabelBatch


def gas_by_step(w3: Web3, contracts: Contracts, from_block: int) -> dict[str, dict[str, int]]:
    """Gas of every transaction since ``from_block``, grouped by contract function."""
    gate = contracts.qualifications  # gated tasks' creation, seats and relays go through it
    by_address: dict[str, Contract] = {
        c.address.lower(): c
        for c in (contracts.market, contracts.staking, contracts.token, contracts.registry, gate)
        if c is not None
    }
    steps: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "gas": 0})
    for number in range(from_block, w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            contract = by_address.get(str(tx.get("to") or "").lower())
            if contract is None:
                continue
            function, _ = contract.decode_function_input(tx["input"])
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            step = steps[function.fn_name]
            step["count"] += 1
            step["gas"] += int(receipt["gasUsed"])
    return {
        name: {**step, "mean": step["gas"] // step["count"]} for name, step in sorted(steps.items())
    }


def task_gas(w3: Web3, contracts: Contracts, task_id: int, from_block: int) -> dict[str, Any]:
    """The gas of ``task_id``'s own transactions: every one that emitted a market event of
    the task (creation, seats, commits, reveals, attestations, finalize, claims), whoever
    sent it and through whichever contract. On a gated task ``per_label`` divides it by the
    labels its seats were dealt (seats times batch size: BENCHMARKS.md's measure of issue
    #19's bar; None on other tasks). Approvals and stakes serve more than one task and are
    left out, as the benchmark's lifecycle leaves them out."""
    market = contracts.market
    topic = "0x" + task_id.to_bytes(32, "big").hex()
    logs = w3.eth.get_logs(
        {"address": market.address, "fromBlock": from_block, "topics": [None, topic]}
    )
    by_address = {c.address.lower(): c for c in (market, contracts.qualifications) if c is not None}
    steps: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "gas": 0})
    for tx_hash in dict.fromkeys(entry["transactionHash"] for entry in logs):
        tx = w3.eth.get_transaction(tx_hash)
        contract = by_address.get(str(tx.get("to") or "").lower())
        name = contract.decode_function_input(tx["input"])[0].fn_name if contract else "other"
        steps[name]["count"] += 1
        steps[name]["gas"] += int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])
    gate = contracts.qualifications
    rule = None if gate is None else read_rule(gate, task_id)
    labels = 0 if rule is None else read_task(market, task_id).seat_count * rule.batch_size
    total = sum(step["gas"] for step in steps.values())
    return {
        "task_id": task_id,
        "total": total,
        "labels": labels,
        "per_label": round(total / labels, 1) if labels else None,
        "by_function": dict(sorted(steps.items())),
    }


def dealt_labels(
    w3: Web3, contracts: Contracts, task_id: int, order: list[str], batches: list[LabelBatch]
) -> list[tuple[str, str]]:
    """The ``(annotator, item)`` pairs of the revealed labels whose item was dealt to the
    annotator's seat: what the validators count (the rest they drop). The deal is computed
    here from the chain alone: the seal's seed and the ``SeatClaimed`` events."""
    market = contracts.market
    state = read_task(market, task_id)
    created = market.events.TaskCreated().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    params = created[0]["args"]["params"]
    seal = read_seal(
        w3,
        chain_id=int(w3.eth.chain_id),
        market=market.address,
        task_id=task_id,
        seat_deadline=state.seat_deadline,
        finality_depth=0,
    )
    if seal is None:
        raise ValueError(f"task {task_id} has no seal block yet")
    seats = {
        str(event["args"]["annotator"]).lower(): int(event["args"]["seat"])
        for event in market.events.SeatClaimed().get_logs(
            from_block=0, argument_filters={"taskId": task_id}
        )
    }
    dealt = deal(
        seal.seed,
        int(params["numItems"]),
        int(params["redundancy"]),
        int(params["batchSize"]),
        len(seats),
    )
    pairs = []
    for batch in batches:
        seat = seats.get(batch.annotator.lower())
        mine = set() if seat is None else {order[int(i)] for i in dealt.items_of(seat)}
        pairs += [(batch.annotator.lower(), item) for item, _ in batch.labels if item in mine]
    return pairs
