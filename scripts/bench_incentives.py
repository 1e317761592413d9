#!/usr/bin/env python3
"""Incentive simulation: does honest work pay, and does consensus survive adversaries?

    scripts/bench_incentives.py [--datasets DIR] [--sets a,b,...] [--gold-shares 0,0.1]
                                [--significance-z 2.576] [--bloc-test bloc@1] [--seeds 30]
                                [--crowdkit] [--json FILE]

Replays real crowd data sets (default: every categorical set in ``../shared/datasets``)
as labelnet tasks and replaces 10% and 30% of the annotators (chosen at random, seeded)
with adversaries who answer the same items as the annotator they replace:

* ``random``: a uniformly random class for every answer;
* ``constant``: always the task's most frequently answered class (the best constant);
* ``colluding``: all adversaries give the *same* class on each item, drawn at random per
  item, to fake agreement;
* ``biased``: a lazy answerer with a favourite: the task's most frequently answered class
  with probability ``adversaries.BIASED_SHARE`` (0.8), otherwise a uniformly random class;
* ``prior``: a class drawn from the task's answer distribution (as often as the crowd gives
  each class, knowing nothing about the item);
* ``flip``: a saboteur who knows the answer: the replaced annotator's own answer moved to
  the next class (``(label + 1) mod K``; on two classes, the opposite answer).

``biased``, ``prior`` and ``flip`` were added after the default was chosen, as adversaries
it had not been measured against (``--strategies`` runs a subset).

For each run: consensus accuracy against gold (default estimator; once with no gold
revealed to it, once with every 10th gold item revealed, accuracy then on the rest), the
accuracy with the replaced annotators simply *removed* (the honest information that is
left; the difference to the attacked accuracy is what the adversaries' answers did), the
accuracy when the same number of adversaries *join* the whole crowd instead (each answering
the items of a randomly chosen annotator; nothing honest is lost), what the Bayes rule with
every annotator's true confusion matrix (counted on all gold) loses with the replaced
annotators' answers (what is lost with the answers themselves, whatever the estimator), and
tokens paid per label to honest annotators and to adversaries under the default reward
parameters (``RewardParams.create``: confidence 0.8, accuracy floor 0.6, skill floor 0.2,
evidence test at ``significance_z`` 2.576; ``--significance-z 0`` gives the rule without
the evidence test, as tasks created before it have), with a pool large enough never to
scale payouts down. The consensus is the validators' (``categorical_consensus``): the
estimator, then the bloc test (``--bloc-test ''`` leaves it out, as tasks created before it
have); annotators it flags are paid nothing. Figures are means over ``--seeds`` seeds
(default 30: on bluebirds one item is 0.93 points, and 5 seeds left the mean of a 10% run
half a point from where 30 put it).

``--crowdkit`` also fits crowd-kit's DawidSkene (the ``bench`` extra) on each set and, at
10%, on the set with the replaced annotators removed: how much of the drop any estimator
loses with the honest work that left (crowd-kit takes no gold, so it is scored on the same
held-out items without it).
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

from node.consensus.answers import Answers  # noqa: E402
from node.consensus.result import CategoricalConsensus  # noqa: E402
from node.consensus.rewards import compute_rewards  # noqa: E402
from node.consensus.task import categorical_consensus  # noqa: E402
from node.protocol.ids import BLOC_TEST_ID, DEFAULT_ALGORITHM  # noqa: E402
from node.protocol.rules import DEFAULT_SIGNIFICANCE_Z, RewardParams  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from adversaries import FIRST_STRATEGIES, STRATEGIES, attack  # noqa: E402
from bench_consensus import DEFAULT_DATASETS, is_numeric, read_csv  # noqa: E402

FRACTIONS = (0.1, 0.3)
DEFAULT_SEEDS = 30
REWARD = 1_000


def join(answers: Answers, fraction: float, strategy: str, rng: np.random.Generator) -> Answers:
    """The answers plus new adversaries, ``fraction`` of all annotators afterwards, each
    answering the items of a randomly chosen annotator; the honest crowd stays whole."""
    n_new = round(fraction / (1 - fraction) * answers.n_annotators)
    copied = rng.choice(answers.n_annotators, size=n_new, replace=False)
    rows = np.concatenate([np.flatnonzero(answers.annotator == a) for a in copied])
    owner = np.concatenate(
        [np.full(int(np.count_nonzero(answers.annotator == a)), n) for n, a in enumerate(copied)]
    )
    extra = Answers.from_codes(
        answers.item[rows],
        owner,
        answers.label[rows],
        items=answers.items,
        annotators=tuple(f"~adversary-{n:04d}" for n in range(n_new)),
        classes=answers.classes,
    )
    attacked, _ = attack(extra, 1.0, strategy, rng)
    names = answers.annotators + attacked.annotators
    return Answers.from_codes(
        np.concatenate([answers.item, attacked.item]),
        np.concatenate([answers.annotator, attacked.annotator + answers.n_annotators]),
        np.concatenate([answers.label, attacked.label]),
        items=answers.items,
        annotators=names,
        classes=answers.classes,
    )


def consensus(
    answers: Answers, revealed: dict[str, str], bloc_test: str, algorithm: str = DEFAULT_ALGORITHM
) -> CategoricalConsensus:
    """The validators' consensus: the estimator (the default), then the bloc test if asked."""
    return categorical_consensus(answers, revealed, algorithm, bloc_test)


def held_out_accuracy(
    fit: CategoricalConsensus, gold: dict[str, str], revealed: dict[str, str]
) -> float:
    labels = np.asarray(fit.answers.classes)[fit.probas_ppb.argmax(axis=1)]
    predicted = dict(zip(fit.answers.items, labels.tolist(), strict=True))
    held_out = [(i, v) for i, v in gold.items() if i not in revealed]
    return float(np.mean([predicted.get(i) == v for i, v in held_out]))


def evaluate(
    answers: Answers,
    gold: dict[str, str],
    bad: np.ndarray,
    params: RewardParams,
    revealed: dict[str, str],
    bloc_test: str,
    algorithm: str = DEFAULT_ALGORITHM,
) -> dict[str, float]:
    fit = consensus(answers, revealed, bloc_test, algorithm)
    accuracy = held_out_accuracy(fit, gold, revealed)
    rewards = compute_rewards(answers, fit.probas_ppb, params, excluded=fit.flagged)
    paid = np.array(rewards.payouts, dtype=np.float64)
    labels = rewards.quality.labels.astype(np.float64)
    out = {
        "accuracy": accuracy,
        "honest_flagged": float(np.count_nonzero(fit.flagged & ~bad)),
        "adversaries_flagged": float(np.count_nonzero(fit.flagged & bad)),
    }
    for group, mask in (("honest", ~bad), ("adversary", bad)):
        n = float(labels[mask].sum())
        out[f"{group}_pay_per_label"] = float(paid[mask].sum()) / n if n else float("nan")
        out[f"{group}_answer_share"] = n / float(labels.sum())
    return out


def removed(answers: Answers, bad: np.ndarray) -> Answers:
    """The answers without the replaced annotators at all: what is left of the honest work."""
    return answers.without_annotators(bad)


def oracle_accuracy(answers: Answers, gold: dict[str, str], revealed: dict[str, str]) -> float:
    """The Bayes rule with every annotator's *true* confusion matrix, scored like the model.

    The matrices and the class prior are counted on all gold items (add-one smoothing), the
    held-out ones included: no estimator can know more about the annotators. What this rule
    loses when annotators are removed is lost with their answers, whatever the estimator.
    """
    k = answers.n_classes
    code = {c: n for n, c in enumerate(answers.classes)}
    truth = np.array([code.get(gold.get(i, ""), -1) for i in answers.items])
    known = truth[answers.item] >= 0
    confusion = np.ones((answers.n_annotators, k, k))
    np.add.at(
        confusion,
        (answers.annotator[known], truth[answers.item[known]], answers.label[known]),
        1,
    )
    confusion /= confusion.sum(axis=2, keepdims=True)
    prior = np.bincount(truth[truth >= 0], minlength=k) + 1.0
    log_posterior = np.tile(np.log(prior / prior.sum()), (answers.n_items, 1))
    np.add.at(log_posterior, answers.item, np.log(confusion[answers.annotator, :, answers.label]))
    predicted = log_posterior.argmax(axis=1)
    held_out = (truth >= 0) & ~np.isin(np.asarray(answers.items), list(revealed))
    return float(np.mean(predicted[held_out] == truth[held_out]))


def crowdkit_ds_accuracy(answers: Answers, gold: dict[str, str], revealed: dict[str, str]) -> float:
    """crowd-kit's DawidSkene on the answers, scored on the gold items not revealed."""
    import warnings

    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    frame = pd.DataFrame(
        {
            "task": np.asarray(answers.items, dtype=object)[answers.item],
            "worker": np.asarray(answers.annotators, dtype=object)[answers.annotator],
            "label": np.asarray(answers.classes, dtype=object)[answers.label],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = DawidSkene(n_iter=100).fit_predict(frame)
    held_out = [(i, v) for i, v in gold.items() if i not in revealed]
    return float(np.mean([predicted.get(i) == v for i, v in held_out]))


def simulate(
    name: str,
    rows: list[list[str]],
    gold: dict[str, str],
    gold_share: float,
    significance_z: str,
    crowdkit: bool = False,
    seeds: int = DEFAULT_SEEDS,
    bloc_test: str = BLOC_TEST_ID,
    strategies: tuple[str, ...] = STRATEGIES,
    algorithm: str = DEFAULT_ALGORITHM,
) -> dict[str, Any]:
    answers = Answers.from_arrays(*zip(*rows, strict=True))
    params = RewardParams.create(REWARD, REWARD * len(answers), significance_z=significance_z)
    none = np.zeros(answers.n_annotators, dtype=bool)
    step = round(1 / gold_share) if gold_share > 0 else 0
    revealed = {i: gold[i] for n, i in enumerate(sorted(gold)) if step and n % step == 0}
    baseline = evaluate(answers, gold, none, params, revealed, bloc_test, algorithm)
    baseline["oracle_accuracy"] = oracle_accuracy(answers, gold, revealed)
    if crowdkit:
        baseline["crowdkit_ds_accuracy"] = crowdkit_ds_accuracy(answers, gold, revealed)
    print(
        f"{name} ({len(revealed)} gold items revealed): baseline accuracy "
        f"{baseline['accuracy']:.4f}, pay/label {baseline['honest_pay_per_label']:.1f}",
        flush=True,
    )
    runs = []
    for fraction in FRACTIONS:
        for strategy in strategies:
            results = []
            for seed in range(1, seeds + 1):
                rng = np.random.default_rng([seed, int(fraction * 100), STRATEGIES.index(strategy)])
                attacked, bad = attack(answers, fraction, strategy, rng)
                result = evaluate(attacked, gold, bad, params, revealed, bloc_test, algorithm)
                without = consensus(removed(answers, bad), revealed, bloc_test, algorithm)
                result["accuracy_without_them"] = held_out_accuracy(without, gold, revealed)
                result["oracle_without_them"] = oracle_accuracy(
                    removed(answers, bad), gold, revealed
                )
                joined = consensus(
                    join(answers, fraction, strategy, rng), revealed, bloc_test, algorithm
                )
                result["accuracy_when_added"] = held_out_accuracy(joined, gold, revealed)
                if crowdkit and fraction == FRACTIONS[0]:
                    result["crowdkit_ds_without_them"] = crowdkit_ds_accuracy(
                        removed(answers, bad), gold, revealed
                    )
                results.append(result)
            run: dict[str, Any] = {"fraction": fraction, "strategy": strategy}
            for key in results[0]:
                run[key] = float(np.mean([r[key] for r in results]))
            run["accuracy_drop_points"] = 100 * (baseline["accuracy"] - run["accuracy"])
            run["adversarial_effect_points"] = 100 * (
                run["accuracy_without_them"] - run["accuracy"]
            )
            run["added_drop_points"] = 100 * (baseline["accuracy"] - run["accuracy_when_added"])
            run["oracle_removed_drop_points"] = 100 * (
                baseline["oracle_accuracy"] - run["oracle_without_them"]
            )
            if "crowdkit_ds_without_them" in run:
                run["crowdkit_ds_removed_drop_points"] = 100 * (
                    baseline["crowdkit_ds_accuracy"] - run["crowdkit_ds_without_them"]
                )
                run["removed_drop_points"] = 100 * (
                    baseline["accuracy"] - run["accuracy_without_them"]
                )
            adversary = run["adversary_pay_per_label"]
            ratio = run["honest_pay_per_label"] / adversary if adversary > 0 else None
            run["honest_to_adversary_pay"] = ratio
            print(
                f"  {int(fraction * 100):2d}% {strategy:9s} acc {run['accuracy']:.4f} "
                f"(drop {run['accuracy_drop_points']:+.2f} pts, of which "
                f"{run['adversarial_effect_points']:+.2f} by their answers; added instead of "
                f"replacing: drop {run['added_drop_points']:+.2f}; the true-matrix Bayes rule "
                f"loses {run['oracle_removed_drop_points']:+.2f} with the replaced annotators' "
                f"answers)  pay/label honest "
                f"{run['honest_pay_per_label']:6.1f} adversary {adversary:6.1f}  "
                f"flagged: {run['adversaries_flagged']:.1f} adversaries, "
                f"{run['honest_flagged']:.1f} honest  "
                f"ratio {'inf' if ratio is None else f'{ratio:.1f}x'}  "
                f"({100 * run['adversary_answer_share']:.0f}% of answers)",
                flush=True,
            )
            if "crowdkit_ds_removed_drop_points" in run:
                print(
                    f"      annotators removed instead: labelnet drops "
                    f"{run['removed_drop_points']:+.2f} pts, crowd-kit DawidSkene "
                    f"{run['crowdkit_ds_removed_drop_points']:+.2f} "
                    f"(from {baseline['crowdkit_ds_accuracy']:.4f})",
                    flush=True,
                )
            runs.append(run)
    return {"name": name, "gold_revealed": len(revealed), "baseline": baseline, "runs": runs}


def _ratio(value: float | None) -> str:
    return "∞ (0 paid)" if value is None else f"{value:.1f}\u00d7"


def summary_table(datasets: list[dict[str, Any]]) -> str:
    """One Markdown row per set: the figures BENCHMARKS.md quotes (worst strategy at 10%),
    over :data:`FIRST_STRATEGIES` (every one of them must have run)."""
    lines = [
        "| set | baseline acc. | 10% replaced: worst drop (points) | true-matrix Bayes rule: "
        "drop from the same removal | 10%: most by adversaries' answers | 10% added: worst "
        "drop | 30% random: adversary ÷ honest pay/label | 30% random: honest ÷ adversary | "
        "30% constant | 30% colluding | 30% colluding: drop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for data in datasets:
        runs = {(r["fraction"], r["strategy"]): r for r in data["runs"]}
        ten = [runs[(FRACTIONS[0], s)] for s in FIRST_STRATEGIES]
        worst = max(ten, key=lambda r: r["accuracy_drop_points"])
        by_answers = max(ten, key=lambda r: r["adversarial_effect_points"])
        added = max(ten, key=lambda r: r["added_drop_points"])
        rnd, const, coll = (runs[(FRACTIONS[1], s)] for s in FIRST_STRATEGIES)
        share = 100 * rnd["adversary_pay_per_label"] / rnd["honest_pay_per_label"]
        lines.append(
            f"| {data['name']} | {data['baseline']['accuracy']:.4f} "
            f"| {worst['accuracy_drop_points']:+.2f} ({worst['strategy']}) "
            f"| {worst['oracle_removed_drop_points']:+.2f} "
            f"| {by_answers['adversarial_effect_points']:+.2f} ({by_answers['strategy']}) "
            f"| {added['added_drop_points']:+.2f} ({added['strategy']}) | {share:.1f}% "
            f"| {_ratio(rnd['honest_to_adversary_pay'])} "
            f"| {_ratio(const['honest_to_adversary_pay'])} "
            f"| {_ratio(coll['honest_to_adversary_pay'])} "
            f"| {coll['accuracy_drop_points']:+.2f} |"
        )
    return "\n".join(lines)


def later_table(datasets: list[dict[str, Any]], strategies: tuple[str, ...]) -> str:
    """One Markdown row per set for ``strategies`` at 30%: accuracy drop and honest ÷
    adversary pay per label."""
    head = " | ".join(f"30% {s}: drop (points) | 30% {s}: honest ÷ adversary" for s in strategies)
    lines = [f"| set | baseline acc. | {head} |", "|---|---:|" + "---:|---:|" * len(strategies)]
    for data in datasets:
        runs = {(r["fraction"], r["strategy"]): r for r in data["runs"]}
        cells = []
        for strategy in strategies:
            run = runs[(FRACTIONS[1], strategy)]
            cells.append(
                f"{run['accuracy_drop_points']:+.2f} | {_ratio(run['honest_to_adversary_pay'])}"
            )
        baseline = data["baseline"]["accuracy"]
        lines.append(f"| {data['name']} | {baseline:.4f} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--sets", default="", help="comma-separated subset of data sets")
    parser.add_argument(
        "--gold-shares", default="0,0.1", help="shares of gold revealed to the estimator"
    )
    parser.add_argument(
        "--significance-z",
        default=DEFAULT_SIGNIFICANCE_Z,
        help="the reward rule's evidence test (0 switches it off)",
    )
    parser.add_argument(
        "--crowdkit",
        action="store_true",
        help="also measure crowd-kit's DawidSkene with the replaced annotators removed",
    )
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="runs per setting")
    parser.add_argument(
        "--bloc-test",
        default=BLOC_TEST_ID,
        help="the bloc test validators run ('' switches it off, as for tasks before it)",
    )
    parser.add_argument(
        "--strategies", default=",".join(STRATEGIES), help="comma-separated adversary kinds"
    )
    parser.add_argument(
        "--algorithm", default=DEFAULT_ALGORITHM, help="the categorical algorithm id validators run"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    strategies = tuple(s for s in args.strategies.split(",") if s)
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategies {unknown}; known: {', '.join(STRATEGIES)}")
    wanted = {s for s in args.sets.split(",") if s}
    folders = sorted(p for p in args.datasets.iterdir() if (p / "answers.csv").exists())
    configs = []
    for share in (float(s) for s in args.gold_shares.split(",") if s):
        print(f"\n== gold revealed to the estimator: {share:.0%} of gold items")
        results = []
        for folder in folders:
            if wanted and folder.name not in wanted:
                continue
            rows = [r[:3] for r in read_csv(folder / "answers.csv")]
            if is_numeric([r[2] for r in rows]):
                continue
            gold = {item: label for item, label, *_ in read_csv(folder / "gold.csv")}
            results.append(
                simulate(
                    folder.name,
                    rows,
                    gold,
                    share,
                    args.significance_z,
                    args.crowdkit,
                    args.seeds,
                    args.bloc_test,
                    strategies,
                    args.algorithm,
                )
            )
        if set(FIRST_STRATEGIES) <= set(strategies):
            print(f"\n{summary_table(results)}", flush=True)
        later = tuple(s for s in strategies if s not in FIRST_STRATEGIES)
        if later:
            print(f"\n{later_table(results, later)}", flush=True)
        configs.append(
            {
                "gold_share": share,
                "significance_z": args.significance_z,
                "bloc_test": args.bloc_test,
                "algorithm": args.algorithm,
                "seeds": args.seeds,
                "datasets": results,
            }
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"configs": configs}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
