#!/usr/bin/env python3
"""The small-task case of issue #15, offline: the demo's cut of a real set (``items``
items, the ``annotators`` workers with most gold answers), ``spammers`` random answerers
(one uniformly random class per item, seeded), every 10th item's gold revealed; run as a
validator would (``run_consensus``) and report accuracy on the unrevealed items against
majority vote, and pay per label of honest workers and spammers.

    scripts/small_task.py [--dataset zheng_d_product] [--items 100] [--annotators 4]
                          [--algorithm ID] [--seeds 0,1,2,3,4] [--json FILE]

One seed (the default, 0) prints the full result; several print one line per seed (the
random answerers' seed): accuracy, majority vote, honest and spammer pay per label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.dataset import load_dataset  # noqa: E402
from node.consensus.answers import Answers  # noqa: E402
from node.consensus.majority_vote import MajorityVote  # noqa: E402
from node.consensus.task import TaskSpec, run_consensus  # noqa: E402
from node.protocol.ids import BLOC_TEST_ID, DEFAULT_ALGORITHM  # noqa: E402
from node.protocol.labels import LabelBatch  # noqa: E402
from node.protocol.rules import RewardParams  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def address(n: int) -> str:
    return "0x" + f"{n + 1:040x}"


def small_task(
    dataset: str, items: int, annotators: int, spammers: int, algorithm: str, seed: int = 0
) -> dict[str, Any]:
    cut = load_dataset(DATASETS / dataset, items=items, annotators=annotators)
    rng = np.random.default_rng(seed)
    answers: dict[str, dict[str, str]] = {w: dict(cut.answers[w]) for w in cut.workers}
    names = [*cut.workers]
    for s in range(spammers):
        name = f"spammer-{s + 1}"
        answers[name] = {i: cut.classes[int(rng.integers(len(cut.classes)))] for i in cut.items}
        names.append(name)
    batches = [
        LabelBatch.create(1, address(n), sorted(answers[w].items())) for n, w in enumerate(names)
    ]
    gold = {item: cut.truth[item] for item in cut.items[::10]}
    params = RewardParams.create(reward_per_label=1000, reward_pool=1000 * items * len(names))
    spec = TaskSpec(1, params, classes=cut.classes, algorithm=algorithm, bloc_test=BLOC_TEST_ID)
    out = run_consensus(spec, batches, gold)
    items_ = out.document["items"]
    consensus = {row["item"]: row["value"] for row in items_}
    rows = [(i, w, v) for w in names for i, v in answers[w].items()]
    mv = MajorityVote().fit(Answers.from_rows(rows, classes=cut.classes))
    mv_labels = dict(zip(mv.items_, mv.labels_.tolist(), strict=True))
    held = [i for i in cut.items if i not in gold]
    assert out.rewards is not None
    per_label = {}
    for n, w in enumerate(names):
        index = sorted(address(m) for m in range(len(names))).index(address(n))
        labels = int(out.rewards.quality.labels[index])
        true_acc = float(np.mean([answers[w][i] == cut.truth[i] for i in answers[w]]))
        per_label[w] = {
            "labels": labels,
            "true_accuracy": true_acc,
            "paid_per_label": out.rewards.payouts[index] / max(labels, 1),
        }
    honest = [per_label[w] for w in cut.workers]
    spam = [per_label[w] for w in names[annotators:]]
    honest_rate = sum(h["paid_per_label"] * h["labels"] for h in honest) / sum(
        h["labels"] for h in honest
    )
    spam_rate = sum(s["paid_per_label"] * s["labels"] for s in spam) / max(
        sum(s["labels"] for s in spam), 1
    )
    return {
        "algorithm": algorithm,
        "accuracy": float(np.mean([consensus.get(i) == cut.truth[i] for i in held])),
        "mv_accuracy": float(np.mean([mv_labels[i] == cut.truth[i] for i in held])),
        "honest_pay_per_label": honest_rate,
        "spammer_pay_per_label": spam_rate,
        "spammer_share_of_honest": spam_rate / honest_rate if honest_rate else None,
        "workers": per_label,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="zheng_d_product")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--spammers", type=int, default=2)
    parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM)
    parser.add_argument("--seeds", default="0", help="comma-separated random answerers' seeds")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    runs = [
        small_task(args.dataset, args.items, args.annotators, args.spammers, args.algorithm, seed)
        for seed in seeds
    ]
    result: dict[str, Any] | list[dict[str, Any]] = runs[0] if len(runs) == 1 else runs
    if len(runs) == 1:
        print(json.dumps(result, indent=1))
    else:
        print(f"{args.algorithm}, {args.items} items: seed  accuracy  vote   honest / spammer pay")
        for seed, run in zip(seeds, runs, strict=True):
            print(
                f"  {seed:4d}  {run['accuracy']:.3f}  {run['mv_accuracy']:.3f}"
                f"  {run['honest_pay_per_label']:6.0f} / {run['spammer_pay_per_label']:.0f}"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
