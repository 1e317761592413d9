#!/usr/bin/env python3
"""The review round (issue #17, docs/review.md) replayed on the real crowd sets: accuracy
before and after review, and what coherent, lazy and careless reviewers earn and lose.

    scripts/bench_review.py [--datasets DIR] [--json FILE] [--accuracy 0.95]
                            [--coherent 5] [--lazy 1] [--careless 1] [--seed 17]
                            [--threshold 1]

For every categorical set in DIR (default ``../shared/datasets``; a set is numeric, and
skipped, as in ``bench_consensus.py``: every label a number and more than 20 distinct):

1. **Annotators** are the crowd answers. The consensus is ``DEFAULT_ALGORITHM`` with no
   revealed gold and no bloc test (the public sets have no colluders, and a task's public
   gold is a requester's choice this replay does not make).
2. **Contested set**: ``contested@1`` with the review defaults: ``contested_below`` 1 (the
   least sure share is reviewed; ``--threshold``) and share 0.1 (the issue's bound). Neither
   was tuned to a set (docs/review.md §2 says why 1). ``--threshold 0.8`` is the requester
   who reviews only items under the task's confidence threshold.
3. **Hidden review gold**: the requester's hidden pool is every gold item whose
   ``keccak256(item id)`` is 0 mod 10 (a tenth of the items, fixed before anything is
   fitted); the pool's items that fall in the contested set are the checks.
4. **Reviewers**, equal stake (1,000 LABEL each), one seat each: ``--coherent`` (5)
   reviewers who answer the gold class with probability ``--accuracy`` (else a uniformly
   drawn other class; on an item without gold, only 12 of web's, a uniformly drawn class),
   ``--lazy`` (1) who vote the current consensus, ``--careless`` (1) who vote a uniformly
   drawn class. Draws come from ``numpy.random.default_rng(seed)`` with a
   per-set seed (``--seed`` plus the CRC-32 of the set's name), so a run is repeatable.
5. ``review@1`` with ``r`` = 0.01 LABEL per vote and ``s`` = 3r (docs/review.md §7 says why
   ``s = 3r``); reviewed answers then enter the consensus as gold and the estimator runs
   again.

Measured per set: the contested count, the errors on contested items before and after (gold
is known for every item of the sets), accuracy over every gold item before and after, the
done-when checks; per reviewer type, the pay per review (tokens per vote: fees plus pot
share) and the net stake change (pay minus slashed), integers in the token's smallest unit,
summed over the sets and averaged per reviewer of the type (floor). Time: wall-clock seconds
of the contested set, the round and the second fit. Gas: per call as measured from the
receipts of the demo's review round on anvil (``GAS_*`` below), per reviewer and per set.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from eth_utils.crypto import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.consensus.answers import Answers  # noqa: E402
from node.consensus.contested import contested_set  # noqa: E402
from node.consensus.numerics import argmax_lowest  # noqa: E402
from node.consensus.review import ReviewerVotes, review_round, reviewed_consensus  # noqa: E402
from node.consensus.task import categorical_consensus  # noqa: E402
from node.protocol.ids import DEFAULT_ALGORITHM  # noqa: E402
from node.protocol.review import ReviewParams  # noqa: E402

TOKEN = 10**18
FEE_PER_VOTE = TOKEN // 100
SLASH_PER_VOTE = 3 * FEE_PER_VOTE
STAKE = 1_000 * TOKEN
HIDDEN_GOLD_MODULUS = 10
GAS_COMMIT = 154_891
GAS_REVEAL = 39_332
GAS_SETTLE = 94_250
"""Per reviewer, the receipts' ``gasUsed`` (the 21,000 base included), mean of three
reviewers, in a review round of real node processes on anvil: ``labelnet demo --items 200
--no-seated --reviewers judge:0.95,lazy,careless --json`` (its ``review.gas``, 2026-12-06).
A call's gas does not depend on the number of votes (a reveal names one CID)."""
GAS_OPEN = 203_881
GAS_GOLD = 36_854
GAS_FINISH = 90_693
"""Per task, same run: the requester's ``openReview`` and ``revealReviewGold``, and the
``finishReview`` that did the work (the largest of that run's calls: others lost the race)."""
GAS_PER_REVIEWER = GAS_COMMIT + GAS_REVEAL + GAS_SETTLE
GAS_PER_TASK = GAS_OPEN + GAS_GOLD + GAS_FINISH
TYPES = ("coherent", "lazy", "careless")


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def is_numeric(labels: list[str]) -> bool:
    try:
        numbers = {float(v) for v in labels}
    except ValueError:
        return False
    return len(numbers) > 20


def hidden(item: str) -> bool:
    """Whether ``item`` is in the requester's hidden review gold pool (a tenth of items)."""
    return int.from_bytes(keccak(item.encode("utf-8"))[:8], "big") % HIDDEN_GOLD_MODULUS == 0


@dataclass
class Tally:
    """One reviewer type's totals over every set: votes, pay and slashes, reviewer-sets."""

    votes: int = 0
    pay: int = 0
    slashed: int = 0
    reviewers: int = 0

    def add(self, votes: int, pay: int, slashed: int) -> None:
        self.votes += votes
        self.pay += pay
        self.slashed += slashed

    def summary(self, sets: int) -> dict[str, int]:
        per_reviewer = max(self.reviewers // max(sets, 1), 1)
        return {
            "pay_per_review": self.pay // max(self.votes, 1),
            "net_stake_change": (self.pay - self.slashed) // per_reviewer,
        }


def account(n: int) -> str:
    return "0x" + f"{n + 1:040x}"


def replay(
    name: str, rows: list[list[str]], gold: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, tuple[int, int, int]]]:
    """One set: the row of the JSON ``sets`` list, and per type (votes, pay, slashed)."""
    columns = list(zip(*rows, strict=True))
    answers = Answers.from_arrays(columns[0], columns[1], columns[2])
    start = time.perf_counter()
    fit = categorical_consensus(answers, {}, DEFAULT_ALGORITHM)
    fit_seconds = time.perf_counter() - start
    items, classes = answers.items, answers.classes
    before = {
        item: classes[int(c)] for item, c in zip(items, argmax_lowest(fit.probas_ppb), strict=True)
    }
    params = ReviewParams.create(
        FEE_PER_VOTE,
        SLASH_PER_VOTE,
        contested_below=args.threshold,
        max_reviewers=args.coherent + args.lazy + args.careless,
    )
    start = time.perf_counter()
    contested = contested_set(fit, params)
    contested_seconds = time.perf_counter() - start
    rng = np.random.default_rng(args.seed + zlib.crc32(name.encode()))
    kinds = ["coherent"] * args.coherent + ["lazy"] * args.lazy + ["careless"] * args.careless
    reviewers = []
    for n, kind in enumerate(kinds):
        votes: dict[str, str] = {}
        for item in contested:
            if kind == "lazy":
                votes[item] = before[item]
            elif kind == "careless":
                votes[item] = classes[int(rng.integers(len(classes)))]
            elif item in gold and rng.random() < args.accuracy:
                votes[item] = gold[item]
            else:
                wrong = [c for c in classes if c != gold.get(item)]
                votes[item] = wrong[int(rng.integers(len(wrong)))]
        reviewers.append(ReviewerVotes(account(n), STAKE, votes))
    checks = {item: gold[item] for item in contested if item in gold and hidden(item)}
    start = time.perf_counter()
    outcome = review_round(contested, classes, reviewers, checks, params)
    round_seconds = time.perf_counter() - start
    start = time.perf_counter()
    refit = reviewed_consensus(answers, {}, DEFAULT_ALGORITHM, outcome)
    refit_seconds = time.perf_counter() - start
    after = {
        item: classes[int(c)]
        for item, c in zip(items, argmax_lowest(refit.probas_ppb), strict=True)
    }
    graded = [item for item in items if item in gold]
    errors_before = sum(1 for item in contested if item in gold and before[item] != gold[item])
    errors_after = sum(1 for item in contested if item in gold and after[item] != gold[item])
    accuracy_before = sum(before[i] == gold[i] for i in graded) / len(graded)
    accuracy_after = sum(after[i] == gold[i] for i in graded) / len(graded)
    by_kind: dict[str, tuple[int, int, int]] = {}
    per_type: dict[str, list[tuple[int, int]]] = {kind: [] for kind in TYPES}
    for kind, reviewer in zip(kinds, reviewers, strict=True):
        row = next(r for r in outcome.reviewers if r.account == reviewer.account.lower())
        votes_, pay, slashed = by_kind.get(kind, (0, 0, 0))
        by_kind[kind] = (votes_ + len(contested), pay + row.pay, slashed + row.slashed)
        per_type[kind].append((row.pay, row.slashed))
    gain = (accuracy_after - accuracy_before) * len(graded)
    entry: dict[str, Any] = {
        "name": name,
        "items": len(items),
        "classes": len(classes),
        "contested": len(contested),
        "hidden_gold_checks": len(checks),
        "contested_errors_before": errors_before,
        "contested_errors_after": errors_after,
        "accuracy_before": round(accuracy_before, 6),
        "accuracy_after": round(accuracy_after, 6),
        "done_accuracy_rises_by_half_contested_errors": gain >= errors_before / 2,
        "reviewers": {
            kind: {
                "pay_per_review": sum(p for p, _ in per_type[kind])
                // max(len(contested) * len(per_type[kind]), 1),
                "net_stake_change": sum(p - s for p, s in per_type[kind])
                // max(len(per_type[kind]), 1),
            }
            for kind in TYPES
        },
        "seconds": {
            "consensus": round(fit_seconds, 3),
            "contested": round(contested_seconds, 4),
            "review_round": round(round_seconds, 4),
            "consensus_with_review": round(refit_seconds, 3),
        },
        "gas": len(kinds) * GAS_PER_REVIEWER + GAS_PER_TASK if contested else 0,
        "gas_per_vote": GAS_PER_REVIEWER // len(contested) if contested else 0,
    }
    return entry, by_kind


def print_table(sets: list[dict[str, Any]], reviewers: dict[str, dict[str, int]]) -> None:
    head = (
        f"{'set':16s} {'items':>6s} {'cont':>5s} {'chk':>4s} {'err_b':>6s} {'err_a':>6s} "
        f"{'acc_b':>7s} {'acc_a':>7s} {'half':>5s} {'coh/vote':>10s} {'lazy/vote':>10s} "
        f"{'care_net':>12s} {'review_s':>8s}"
    )
    print(head)
    for s in sets:
        r = s["reviewers"]
        print(
            f"{s['name']:16s} {s['items']:6d} {s['contested']:5d} {s['hidden_gold_checks']:4d} "
            f"{s['contested_errors_before']:6d} {s['contested_errors_after']:6d} "
            f"{s['accuracy_before']:7.4f} {s['accuracy_after']:7.4f} "
            f"{'yes' if s['done_accuracy_rises_by_half_contested_errors'] else 'NO':>5s} "
            f"{r['coherent']['pay_per_review'] / 1e16:10.3f} "
            f"{r['lazy']['pay_per_review'] / 1e16:10.3f} "
            f"{r['careless']['net_stake_change'] / 1e18:12.4f} "
            f"{s['seconds']['review_round'] + s['seconds']['consensus_with_review']:8.2f}"
        )
    print("(per vote in units of r = 0.01 LABEL; careless net in LABEL; review_s: round + refit)")
    for kind, row in reviewers.items():
        print(
            f"{kind:9s} pay_per_review={row['pay_per_review']} "
            f"net_stake_change={row['net_stake_change']}"
        )
    print(
        f"gas (measured, receipts): {GAS_PER_REVIEWER:,} per reviewer (commit {GAS_COMMIT:,}, "
        f"reveal {GAS_REVEAL:,}, settle {GAS_SETTLE:,}); {GAS_PER_TASK:,} per task (open "
        f"{GAS_OPEN:,}, gold reveal {GAS_GOLD:,}, finish {GAS_FINISH:,})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--accuracy", type=float, default=0.95)
    parser.add_argument("--coherent", type=int, default=5)
    parser.add_argument("--lazy", type=int, default=1)
    parser.add_argument("--careless", type=int, default=1)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--threshold",
        default="1",
        help="the review's contested_below (a requester's choice; 1, the default, fills the share)",
    )
    args = parser.parse_args()
    sets: list[dict[str, Any]] = []
    tallies = {kind: Tally() for kind in TYPES}
    start = time.perf_counter()
    for folder in sorted(p for p in args.datasets.iterdir() if (p / "answers.csv").exists()):
        rows = read_csv(folder / "answers.csv")
        if is_numeric([r[2] for r in rows]):
            print(f"{folder.name}: numeric, skipped", flush=True)
            continue
        gold = dict((r[0], r[1]) for r in read_csv(folder / "gold.csv"))
        entry, by_kind = replay(folder.name, rows, gold, args)
        sets.append(entry)
        for kind, (votes, pay, slashed) in by_kind.items():
            tallies[kind].add(votes, pay, slashed)
            tallies[kind].reviewers += getattr(args, kind)
        print(f"{folder.name}: done ({entry['seconds']})", flush=True)
    reviewers = {kind: tallies[kind].summary(len(sets)) for kind in TYPES}
    print_table(sets, reviewers)
    done = {
        "accuracy_rises_by_half_contested_errors_every_set": all(
            s["done_accuracy_rises_by_half_contested_errors"] for s in sets
        ),
        "lazy_earn_less_per_review_every_set": all(
            s["reviewers"]["lazy"]["pay_per_review"] < s["reviewers"]["coherent"]["pay_per_review"]
            for s in sets
            if s["contested"]
        ),
        "careless_lose_stake_every_set": all(
            s["reviewers"]["careless"]["net_stake_change"] < 0 for s in sets if s["contested"]
        ),
        "lazy_earn_less_overall": reviewers["lazy"]["pay_per_review"]
        < reviewers["coherent"]["pay_per_review"],
        "careless_lose_overall": reviewers["careless"]["net_stake_change"] < 0,
    }
    print(json.dumps(done, indent=1))
    result = {
        "sets": sets,
        "reviewers": reviewers,
        "done": done,
        "config": {
            "algorithm": DEFAULT_ALGORITHM,
            "accuracy": args.accuracy,
            "coherent_reviewers": args.coherent,
            "lazy_reviewers": args.lazy,
            "careless_reviewers": args.careless,
            "seed": args.seed,
            "fee_per_vote": FEE_PER_VOTE,
            "slash_per_vote": SLASH_PER_VOTE,
            "stake": STAKE,
            "contested_share": "0.1",
            "threshold": args.threshold,
            "hidden_gold_share": "0.1",
        },
        "gas_per_reviewer": GAS_PER_REVIEWER,
        "gas_per_task": GAS_PER_TASK,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
