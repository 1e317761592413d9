#!/usr/bin/env python3
"""Gas of a whole labelnet task lifecycle, per step and per label, against a naive design.

For each size N, 10 annotators label N items each (10·N labels) and the whole lifecycle
runs on a local anvil: create (with an EIP-2612 permit, one transaction), commits,
reveals, gold reveal, attests by 3 validators, finalize (which, in market v2, also pushes
the requester's refund), and every annotator's claim. Each row starts from the same chain
state (evm_snapshot/evm_revert): annotators who have never held tokens, validators already
staked.

The baseline is the naive design in which every label is its own transaction storing the
label (contracts/bench/NaiveLabelStore.sol). Its cost per label is constant (each label
writes one new slot), so it is measured on a sample of labels per row rather than by
sending 100,000 transactions; the sample size is printed and recorded.

With ``--seated`` the task is a seated one (market v2, docs/settlement.md §1.2): one seat per
annotator, a batch of all N items each (batchSize N, redundancy 10), and every annotator
claims its seat with ``claimSeat`` before it commits; the seat is counted as its own step.

With ``--gated`` the seated task is a gated one (market v3, docs/qualification.md): created
through the gate (``createGatedTaskWithPermit``, one transaction), seats claimed through the
gate, each claim crediting the annotator's reputation in the task's domain. The steady-state
task states every rule at once (an allowlist of the 10 annotators, a minimum reputation in
its domain, and passing the earlier task as its qualification task), so each seat pays for
every check; the first task states only the allowlist and the domain (nobody has a
reputation yet). With ``--relayed`` as well, one relayer (the requester) sends all the
seats in one ``claimSeats`` (each annotator's EIP-712 signature) and all the claims in one
``claimFor``, instead of one transaction per annotator for each.

Usage: scripts/bench_gas.py [--json FILE] [--sizes 10,100,1000,10000] [--naive-sample 100]
                            [--seated | --gated [--relayed]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402
from web3.contract.contract import ContractFunction  # noqa: E402

from node.chain.anvil import DEFAULT_MNEMONIC, Anvil  # noqa: E402
from node.chain.contracts import DeployConfig, bind, deploy  # noqa: E402
from node.chain.engines import attach  # noqa: E402
from node.chain.permit import sign_permit  # noqa: E402
from node.chain.qualifications import Gate, sign_seat_claim  # noqa: E402
from node.chain.tx import TxSender  # noqa: E402
from node.protocol.commitments import algorithm_id, gold_commitment, label_commitment  # noqa: E402
from node.protocol.labels import LabelBatch  # noqa: E402
from node.protocol.merkle import Allowlist, PayoutTree  # noqa: E402

TOKEN = 10**18
HOUR = 3600
ANNOTATORS = 10
VALIDATORS = 3
CLASSES = ("cat", "dog", "bird")


def compile_naive() -> tuple[list[dict[str, Any]], str]:
    """Compile the baseline with the same solc-js the project uses, outside forge's out/."""
    source = (ROOT / "contracts" / "bench" / "NaiveLabelStore.sol").read_text()
    request = {
        "language": "Solidity",
        "sources": {"NaiveLabelStore.sol": {"content": source}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 20000},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        ["node", str(ROOT / "scripts" / "solc-shim.js"), "--standard-json"],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=True,
    )
    compiled = json.loads(out.stdout)["contracts"]["NaiveLabelStore.sol"]["NaiveLabelStore"]
    return compiled["abi"], "0x" + compiled["evm"]["bytecode"]["object"]


class Meter:
    """Sends transactions and adds up their gas per lifecycle step."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.gas: dict[str, int] = defaultdict(int)
        self.count: dict[str, int] = defaultdict(int)
        self._senders: dict[str, TxSender] = {}

    def send(self, step: str, account: LocalAccount, call: ContractFunction) -> None:
        sender = self._senders.setdefault(account.address, TxSender(self.w3, account))
        receipt = sender.transact(call)
        self.gas[step] += int(receipt["gasUsed"])
        self.count[step] += 1

    def reset_nonces(self) -> None:
        self._senders.clear()


def advance(w3: Web3, seconds: int) -> None:
    dev = attach(w3)
    dev.increase_time(seconds)
    dev.mine()


def lifecycle(
    w3: Web3,
    market: Contract,
    token: Contract,
    requester: LocalAccount,
    annotators: list[LocalAccount],
    validators: list[LocalAccount],
    items: int,
    seated: bool = False,
    gate: Contract | None = None,
    qualification_task: int = 0,
    relayed: bool = False,
) -> Meter:
    """One task's lifecycle. With ``gate`` the task is gated through it: an allowlist of the
    annotators and the domain ``bench``, plus, given ``qualification_task``, a minimum
    reputation and that task as its qualification task."""
    meter = Meter(w3)
    seated = seated or gate is not None
    reward, fee = TOKEN, 3 * TOKEN
    pool = items * len(annotators) * reward
    gold_items = {f"item-{i:06d}": CLASSES[i % 3] for i in range(0, items, 20)}
    gold = LabelBatch.create(0, requester.address, list(gold_items.items()))
    gold_salt = os.urandom(32)
    now = int(w3.eth.get_block("latest")["timestamp"])
    # A seated task closes its seats an hour before the commit deadline (the market's minimum
    # labelling time); every later deadline moves by that hour.
    seat_window = HOUR if seated else 0
    params = (
        "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        algorithm_id("ds-gold@1"),
        gold_commitment(gold.root(), gold_salt),
        reward,
        fee,
        0,
        now + seat_window + HOUR,
        now + seat_window + 2 * HOUR,
        now + seat_window + 3 * HOUR,
        items,
        len(annotators),
        now + HOUR if seated else 0,
        items if seated else 0,
    )
    permit = sign_permit(requester, token, market.address, pool + fee, now + HOUR)
    allowlist = Allowlist.build([a.address for a in annotators])
    if gate is None:
        create = market.functions.createTaskWithPermit(
            params, permit.deadline, permit.v, permit.r, permit.s
        )
    else:
        rule = Gate(domain="bench", allowlist_root=allowlist.root)
        if qualification_task:
            rule = Gate(
                domain="bench",
                allowlist_root=allowlist.root,
                min_accepted=1,
                min_accuracy_bps=5_000,
                qualification_task_id=qualification_task,
                qualification_accuracy_bps=5_000,
            )
        create = gate.functions.createGatedTaskWithPermit(
            params, rule.as_tuple(), permit.deadline, permit.v, permit.r, permit.s
        )
    meter.send("create", requester, create)
    task_id = int(market.functions.taskCount().call())

    # Each annotator labels every item; annotator k is wrong on every (k+2)-th item.
    batches: dict[str, LabelBatch] = {}
    accepted: dict[str, int] = {}
    for k, annotator in enumerate(annotators):
        labels = []
        wrong = 0
        for i in range(items):
            truth = CLASSES[i % 3]
            if i % (k + 2) == 0:
                labels.append((f"item-{i:06d}", CLASSES[(i + 1) % 3]))
                wrong += 1
            else:
                labels.append((f"item-{i:06d}", truth))
        batches[annotator.address] = LabelBatch.create(task_id, annotator.address, labels)
        accepted[annotator.address] = items - wrong

    if gate is not None and relayed:
        deadline = now + HOUR
        seats = [
            sign_seat_claim(a, gate, task_id, deadline, allowlist.proof(a.address))
            for a in annotators
        ]
        meter.send("seat", requester, gate.functions.claimSeats(task_id, seats))
    elif gate is not None:
        for annotator in annotators:
            proof = allowlist.proof(annotator.address)
            meter.send("seat", annotator, gate.functions.claimSeat(task_id, proof))
    elif seated:
        for annotator in annotators:
            meter.send("seat", annotator, market.functions.claimSeat(task_id))
    salts = {a.address: os.urandom(32) for a in annotators}
    roots = {address: batch.root() for address, batch in batches.items()}
    for annotator in annotators:
        commitment = label_commitment(
            task_id, annotator.address, roots[annotator.address], salts[annotator.address]
        )
        meter.send("commit", annotator, market.functions.commit(task_id, commitment))

    advance(w3, seat_window + HOUR + 1)
    for annotator in annotators:
        batch = batches[annotator.address]
        meter.send(
            "reveal",
            annotator,
            market.functions.reveal(
                task_id, roots[annotator.address], batch.cid(), salts[annotator.address]
            ),
        )
    meter.send(
        "reveal_gold",
        requester,
        market.functions.revealGold(task_id, gold.root(), gold.cid(), gold_salt),
    )

    payouts = PayoutTree.build([(address, n * reward) for address, n in accepted.items()])
    advance(w3, HOUR)
    for validator in validators:
        meter.send(
            "attest",
            validator,
            market.functions.attest(task_id, payouts.root, payouts.total, "bafkreiresultdocument"),
        )
    advance(w3, HOUR)
    meter.send("finalize", validators[0], market.functions.finalize(task_id))
    if gate is not None and relayed:
        accounts = [a.address for a in annotators]
        claim_all = gate.functions.claimFor(
            task_id,
            accounts,
            [payouts.amount(a) for a in accounts],
            [payouts.proof(a) for a in accounts],
        )
        meter.send("claim", requester, claim_all)
    for annotator in annotators if gate is None or not relayed else []:
        amount = payouts.amount(annotator.address)
        meter.send(
            "claim",
            annotator,
            market.functions.claim(
                task_id, annotator.address, amount, payouts.proof(annotator.address)
            ),
        )
    # Market v2 pushes the requester's refund inside finalize: there is no refund transaction.
    assert token.functions.balanceOf(market.address).call() == 0, (
        "market must owe nothing at the end"
    )
    return meter


def naive_gas_per_label(
    w3: Web3, naive: Contract, annotators: list[LocalAccount], sample: int
) -> float:
    meter = Meter(w3)
    for n in range(sample):
        annotator = annotators[n % len(annotators)]
        meter.send("label", annotator, naive.functions.submitLabel(1, n, os.urandom(32)))
    return meter.gas["label"] / meter.count["label"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Gas per step and per label of the task lifecycle."
    )
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--sizes", default="10,100,1000,10000", help="labels per annotator, comma separated"
    )
    parser.add_argument(
        "--naive-sample", type=int, default=100, help="labels sent to the naive baseline per row"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--seated",
        action="store_true",
        help="seated tasks (market v2): each annotator claims a seat before committing",
    )
    modes.add_argument(
        "--gated",
        action="store_true",
        help="gated seated tasks (market v3): created, seated and credited through the gate",
    )
    parser.add_argument(
        "--relayed",
        action="store_true",
        help="with --gated: seats in one claimSeats and claims in one claimFor, by one relayer",
    )
    args = parser.parse_args()
    if args.relayed and not args.gated:
        parser.error("--relayed needs --gated")
    sizes = [int(s) for s in args.sizes.split(",")]

    Account.enable_unaudited_hdwallet_features()
    keys = [
        Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i in range(2 + ANNOTATORS + VALIDATORS)
    ]
    deployer, requester = keys[0], keys[1]
    annotators = keys[2 : 2 + ANNOTATORS]
    validators = keys[2 + ANNOTATORS :]
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with Anvil(accounts=len(keys), gas_limit=100_000_000) as chain:
        w3 = Web3(Web3.HTTPProvider(chain.url, request_kwargs={"timeout": 60}))
        admin = TxSender(w3, deployer)
        deployment = deploy(admin, DeployConfig(min_attestations=2))
        contracts = bind(w3, deployment)
        token, staking, market = contracts.token, contracts.staking, contracts.market
        gate = contracts.qualifications if args.gated else None
        stake = 10_000 * TOKEN
        for validator in validators:
            admin.transact(token.functions.transfer(validator.address, stake))
            sender = TxSender(w3, validator)
            sender.transact(token.functions.approve(staking.address, stake))
            sender.transact(staking.functions.stake(stake))
        admin.transact(token.functions.transfer(requester.address, 10_000_000 * TOKEN))
        naive_abi, naive_bytecode = compile_naive()
        naive_address = admin.deploy(naive_abi, naive_bytecode)["contractAddress"]
        naive = w3.eth.contract(address=naive_address, abi=naive_abi)

        for size in sizes:
            # First-ever task: every account touches its storage slots for the first time.
            snapshot = chain.snapshot()
            first = lifecycle(
                w3,
                market,
                token,
                requester,
                annotators,
                validators,
                size,
                args.seated,
                gate,
                relayed=args.relayed,
            )
            chain.revert(snapshot)
            # Steady state: the same accounts after one earlier task of 10 labels each (a gated
            # task's qualification task).
            snapshot = chain.snapshot()
            lifecycle(
                w3,
                market,
                token,
                requester,
                annotators,
                validators,
                10,
                args.seated,
                gate,
                relayed=args.relayed,
            )
            earlier = int(market.functions.taskCount().call())
            meter = lifecycle(
                w3,
                market,
                token,
                requester,
                annotators,
                validators,
                size,
                args.seated,
                gate,
                earlier if gate is not None else 0,
                relayed=args.relayed,
            )
            naive_per_label = naive_gas_per_label(w3, naive, annotators, args.naive_sample)
            chain.revert(snapshot)
            labels = size * ANNOTATORS
            total = sum(meter.gas.values())
            first_total = sum(first.gas.values())
            rows.append(
                {
                    "labels_per_annotator": size,
                    "annotators": ANNOTATORS,
                    "validators": VALIDATORS,
                    "labels": labels,
                    "total_gas": total,
                    "gas_per_label": round(total / labels, 2),
                    "first_task_total_gas": first_total,
                    "first_task_gas_per_label": round(first_total / labels, 2),
                    "naive_gas_per_label": round(naive_per_label, 2),
                    "naive_total_gas": round(naive_per_label * labels),
                    "naive_ratio": round(naive_per_label / (total / labels), 2),
                    "steps": {
                        step: {"transactions": meter.count[step], "gas": meter.gas[step]}
                        for step in meter.gas
                    },
                    "first_task_steps": {
                        step: {"transactions": first.count[step], "gas": first.gas[step]}
                        for step in first.gas
                    },
                }
            )

    steps = list(rows[0]["steps"])
    header = (
        f"{'labels/annot':>12} {'total gas':>11} {'gas/label':>10} {'1st task':>10}"
        f" {'naive/label':>11} {'ratio':>8}"
    )
    print(header + "".join(f" {s:>11}" for s in steps))
    for row in rows:
        line = (
            f"{row['labels_per_annotator']:>12,} {row['total_gas']:>11,}"
            f" {row['gas_per_label']:>10,.1f} {row['first_task_gas_per_label']:>10,.1f}"
            f" {row['naive_gas_per_label']:>11,.0f} {row['naive_ratio']:>7,.0f}x"
        )
        print(line + "".join(f" {row['steps'][s]['gas']:>11,}" for s in steps))
    print(
        "(gas/label: steady state, accounts that took part in an earlier task; 1st task: every"
        " account new; step columns: steady-state gas of all transactions of that step;"
        f" naive sample = {args.naive_sample} labels)"
    )
    result = {
        "rows": rows,
        "annotators": ANNOTATORS,
        "validators": VALIDATORS,
        "naive_sample_labels": args.naive_sample,
        "seated": args.seated or args.gated,
        "gated": args.gated,
        "relayed": args.relayed,
        "anvil": "anvil/v1.7.1",
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
