#!/usr/bin/env python3
"""Adversary campaign: spammers, a colluding group and lying validators on a real network.

    scripts/bench_adversaries.py [--dataset web] [--items 200] [--json FILE]

Every scenario is a demo network (``client.demo``: a devnet, one node process per
participant, real crowd answers replayed by the honest annotators) with 10 annotator nodes
of which some are adversaries, and validator nodes of which a minority attests a corrupted
payout root (``adversary=wrong-root``):

* ``random-10`` / ``random-30``: 1 or 3 of 10 annotators answer uniformly at random;
* ``colluding-30``: 3 of 10 annotators all answer the gold set's most frequent class on
  every item (``constant:<class>``): perfect agreement among themselves, no information;
* validators: 1 lying of 4 (25% of the stake) in every scenario above, and one more
  ``random-30`` run with 1 lying of 3 (exactly 1/3: still short of the 2/3 a root needs).

Reported per scenario: consensus accuracy (and majority vote over the same revealed
batches) on the items whose gold was not revealed, pay per label of honest annotators and
of adversaries, whether the task finalized with the honest root (the lying validators
slashed, the honest ones not) and whether every token is accounted for. Asserted: at 30%
random spammers their pay per label is at most 5% of the honest pay per label, and no
lying minority ever gets its root finalized. The offline simulation over every real data
set (``scripts/bench_incentives.py``, in ``bench-results/incentives.json``) is summarized
beside it when present: it covers more data sets and seeds than a network run can.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.dataset import load_dataset, resolve_dataset  # noqa: E402
from client.demo.runner import DemoOptions, run_demo  # noqa: E402

SPAM_PAY_CAP = 0.05
"""At 30% spammers their pay per label must be at most this share of honest pay per label."""


@dataclass(frozen=True)
class Scenario:
    name: str
    spammers: int
    labeler: str
    validators: int = 4
    lying: int = 1


def scenarios(majority_class: str, annotators: int) -> list[Scenario]:
    tenth = max(1, round(annotators / 10))
    third = round(annotators * 0.3)
    return [
        Scenario("random-10", tenth, "random"),
        Scenario("random-30", third, "random"),
        Scenario("colluding-30", third, f"constant:{majority_class}"),
        Scenario("random-30-lying-1of3", third, "random", validators=3, lying=1),
    ]


def run_scenario(args: argparse.Namespace, scenario: Scenario, out: Path) -> dict[str, Any]:
    options = DemoOptions(
        dataset=args.dataset,
        items=args.items,
        annotators=args.annotators - scenario.spammers,
        spammers=scenario.spammers,
        spammer_labeler=scenario.labeler,
        validators=scenario.validators,
        lying_validators=scenario.lying,
        out=out,
        quiet=True,
        poll_interval=args.interval,
    )
    began = time.monotonic()
    run_demo(options)
    summary = json.loads((out / "summary.json").read_text())
    pay = summary["pay"]
    honest, spam = pay["honest_per_label"], pay["spammer_per_label"]
    lying = [v for v in summary["slashing"] if v["adversary"]]
    honest_validators = [v for v in summary["slashing"] if not v["adversary"]]
    return {
        "scenario": scenario.name,
        "annotators": summary["annotators"],
        "adversaries": summary["spammers"],
        "adversary_labeler": scenario.labeler,
        "validators": scenario.validators,
        "lying_validators": scenario.lying,
        "lying_stake_share": scenario.lying / scenario.validators,
        "labels": summary["labels"],
        "consensus_accuracy": round(summary["accuracy"]["consensus"], 4),
        "majority_vote_accuracy": round(summary["accuracy"]["majority_vote"], 4),
        "scored_items": summary["accuracy"]["scored_items"],
        "honest_pay_per_label": honest,
        "honest_min_pay_per_label": pay["honest_min_per_label"],
        "adversary_pay_per_label": spam,
        "adversary_max_pay_per_label": pay["spammer_max_per_label"],
        "adversary_to_honest_pay": spam / honest if honest else None,
        # The task finalized (run_demo raises otherwise) and the lying minority lost stake
        # while the honest validators gained: the honest root is the one that won.
        "honest_root_finalized": all(v["slashed"] > 0 for v in lying)
        and all(v["slashed"] == 0 and v["rewarded"] > 0 for v in honest_validators),
        "lying_slashed": sum(v["slashed"] for v in lying),
        "balanced": summary["accounting"]["balanced"],
        "seconds": round(time.monotonic() - began, 1),
    }


def offline_reference(path: Path) -> list[dict[str, Any]]:
    """Mean pay ratios of the offline simulation per fraction and strategy (all data sets)."""
    if not path.exists():
        return []
    configs = json.loads(path.read_text())["configs"]
    rows = []
    for config in configs:
        groups: dict[tuple[float, str], list[dict[str, Any]]] = {}
        for dataset in config["datasets"]:
            for run in dataset["runs"]:
                groups.setdefault((run["fraction"], run["strategy"]), []).append(run)
        for (fraction, strategy), runs in sorted(groups.items()):
            ratios = [r["adversary_pay_per_label"] / r["honest_pay_per_label"] for r in runs
                      if r["honest_pay_per_label"]]  # fmt: skip
            rows.append(
                {
                    "gold_share": config["gold_share"],
                    "fraction": fraction,
                    "strategy": strategy,
                    "datasets": len(runs),
                    "mean_accuracy": round(sum(r["accuracy"] for r in runs) / len(runs), 4),
                    "max_adversary_to_honest_pay": round(max(ratios), 4) if ratios else None,
                }
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="web")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--annotators", type=int, default=10, help="honest + adversaries")
    parser.add_argument("--interval", type=float, default=0.25, help="node poll interval (s)")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    dataset = load_dataset(
        resolve_dataset(args.dataset, DemoOptions().datasets_dir),
        items=args.items,
        annotators=args.annotators,
    )
    majority = Counter(dataset.truth.values()).most_common(1)[0][0]
    wanted = {name for name in args.only.split(",") if name}
    results = []
    with tempfile.TemporaryDirectory(prefix="labelnet-adversaries-") as scratch:
        for scenario in scenarios(majority, args.annotators):
            if wanted and scenario.name not in wanted:
                continue
            result = run_scenario(args, scenario, Path(scratch) / scenario.name)
            results.append(result)
            ratio = result["adversary_to_honest_pay"]
            print(
                f"{result['scenario']:<22} acc {result['consensus_accuracy']:.4f} "
                f"(mv {result['majority_vote_accuracy']:.4f})  pay/label honest "
                f"{result['honest_pay_per_label']:.5f} adversary "
                f"{result['adversary_pay_per_label']:.5f} "
                f"({'n/a' if ratio is None else f'{100 * ratio:.1f}%'})  "
                f"lying {result['lying_validators']}/{result['validators']} "
                f"honest root {'won' if result['honest_root_finalized'] else 'LOST'}  "
                f"balanced {result['balanced']}  {result['seconds']:.0f}s",
                flush=True,
            )
    failures = []
    for result in results:
        if not result["honest_root_finalized"]:
            failures.append(f"{result['scenario']}: a lying minority's root was not defeated")
        if not result["balanced"]:
            failures.append(f"{result['scenario']}: tokens not accounted for")
        ratio = result["adversary_to_honest_pay"]
        if result["scenario"].startswith("random-30") and (ratio is None or ratio > SPAM_PAY_CAP):
            failures.append(f"{result['scenario']}: spammers paid {ratio} of honest pay")
    reference = offline_reference(ROOT / "bench-results" / "incentives.json")
    for row in reference:
        if row["fraction"] == 0.3:
            print(f"offline {row['strategy']:<9} 30% gold {row['gold_share']:.0%}: mean acc "
                  f"{row['mean_accuracy']:.4f}, worst adversary/honest pay "
                  f"{row['max_adversary_to_honest_pay']} over {row['datasets']} sets")  # fmt: skip
    for failure in failures:
        print(f"FAIL {failure}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"network": results, "offline": reference, "failures": failures}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
