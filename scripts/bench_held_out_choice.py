#!/usr/bin/env python3
"""Can a held-out criterion choose, per task, between ``hds@2`` and BWA / EBCC (issue #15)?

    scripts/bench_held_out_choice.py [--datasets DIR] [--json FILE]

The criterion needs no gold: hold out a fifth of the answers (a fixed hash of item and
annotator codes; never an item's first answer, so every item keeps one), fit each model on
the rest, and score the held-out answers by their mean log predictive probability
``log sum_k P(k | training answers) * C_w[k, answer]``, with ``C_w`` the annotator's
confusion counted from the fit's own posteriors on the training answers (Laplace-smoothed
toward the crowd's pooled confusion; unseen annotators get the pooled one). The same
plug-in confusion for every model, so the score compares the models' consensus, not their
parameterizations. A per-task choice by this score is then compared with ``hds@2`` alone
on the real sets and on the short synthetic grid (``consensus_grid.short_grid``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import consensus_grid  # noqa: E402
import consensus_selection as selection  # noqa: E402
from bench_consensus import DEFAULT_DATASETS, is_numeric, read_csv  # noqa: E402

from node.consensus.answers import Answers  # noqa: E402
from node.consensus.base import CategoricalEstimator  # noqa: E402
from node.consensus.bwa import BayesianWeightedAveraging  # noqa: E402
from node.consensus.ebcc import EnhancedBayesianClassifierCombination  # noqa: E402
from node.consensus.staged_ds import StagedDawidSkene  # noqa: E402

MODELS: dict[str, Callable[[], CategoricalEstimator]] = {
    "hds2": StagedDawidSkene,
    "bwa": BayesianWeightedAveraging,
    "ebcc": EnhancedBayesianClassifierCombination,
}
POOLS = (("hds2", "bwa"), ("hds2", "ebcc"), ("hds2", "bwa", "ebcc"))
FOLDS = 5


def held_out_score(make: Callable[[], CategoricalEstimator], answers: Answers) -> float:
    """Mean log predictive probability of the held-out fifth (NaN if nothing is held)."""
    first = np.r_[True, answers.item[1:] != answers.item[:-1]]
    held = ((answers.item * 2654435761 + answers.annotator * 40503) % FOLDS == 0) & ~first
    if not np.any(held):
        return float("nan")
    keep = ~held
    train = Answers.from_codes(
        answers.item[keep],
        answers.annotator[keep],
        answers.label[keep],
        items=answers.items,
        annotators=answers.annotators,
        classes=answers.classes,
    )
    fitted = make().fit(train)
    post, k = fitted.probas_, answers.n_classes
    fit_answers = fitted.answers_
    w = fit_answers.n_annotators
    counts = np.zeros((w, k, k))
    for label in range(k):
        rows = fit_answers.label == label
        for true in range(k):
            weights = post[fit_answers.item[rows], true]
            counts[:, true, label] = np.bincount(fit_answers.annotator[rows], weights, w)
    pooled = counts.sum(axis=0) + 1.0
    pooled /= pooled.sum(axis=1, keepdims=True)
    confusion = (counts + k * pooled[None]) / (counts.sum(axis=2, keepdims=True) + k)
    item_index = {item: n for n, item in enumerate(fitted.items_)}
    annotator_index = {a: n for n, a in enumerate(fit_answers.annotators)}
    items = np.array([item_index[answers.items[i]] for i in answers.item[held]])
    who = np.array(
        [annotator_index.get(answers.annotators[a], -1) for a in answers.annotator[held]]
    )
    said = answers.label[held]
    rows = np.where((who >= 0)[:, None], confusion[np.maximum(who, 0), :, said], pooled[:, said].T)
    predictive = (post[items] * rows).sum(axis=1)
    return float(np.mean(np.log(np.maximum(predictive, 1e-300))))


def unit(name: str, answers: Answers, accuracy: Callable[[CategoricalEstimator], float]) -> Any:
    out: dict[str, Any] = {"unit": name}
    for key, make in MODELS.items():
        out[key] = {
            "accuracy": accuracy(make().fit(answers)),
            "held_out": held_out_score(make, answers),
        }
    return out


def real_units(datasets: Path) -> list[dict[str, Any]]:
    units = []
    for folder in sorted(p for p in datasets.iterdir() if (p / "answers.csv").exists()):
        rows = [r[:3] for r in read_csv(folder / "answers.csv")]
        if is_numeric([r[2] for r in rows]):
            continue
        gold = {item: label for item, label, *_ in read_csv(folder / "gold.csv")}
        columns = list(zip(*rows, strict=True))
        answers = Answers.from_arrays(columns[0], columns[1], columns[2])

        def accuracy(fitted: CategoricalEstimator, gold: dict[str, str] = gold) -> float:
            labels = dict(zip(fitted.items_, fitted.labels_.tolist(), strict=True))
            return float(np.mean([labels.get(i) == v for i, v in gold.items()]))

        units.append(unit(folder.name, answers, accuracy))
    return units


def grid_units() -> list[dict[str, Any]]:
    units = []
    for regime in consensus_grid.short_grid():
        task = consensus_grid.generate_large(regime)

        def accuracy(fitted: CategoricalEstimator, truth: Any = task.truth) -> float:
            codes = np.array([int(i) for i in fitted.items_])
            return float(np.mean(fitted.label_codes_ == truth[codes]))

        units.append(unit(regime.name, selection.task_answers(task), accuracy))
    return units


def choose(entry: dict[str, Any], pool: tuple[str, ...]) -> str:
    """The pool member with the best held-out score; ties and NaN go to the first."""
    scores = [entry[key]["held_out"] for key in pool]
    scores = [s if np.isfinite(s) else -np.inf for s in scores]
    return pool[int(np.argmax(scores))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    halves = {"real": real_units(args.datasets), "grid": grid_units()}
    print(f"{'unit':62s} " + "  ".join(f"{k:>15s}" for k in MODELS) + "   (accuracy / held-out)")
    for entries in halves.values():
        for e in entries:
            cells = "  ".join(f"{e[k]['accuracy']:.4f} {e[k]['held_out']:+.3f}" for k in MODELS)
            print(f"{e['unit']:62s} {cells}")
    summary: dict[str, Any] = {}
    for pool in POOLS:
        name = "+".join(pool)
        summary[name] = {}
        for half, entries in halves.items():
            chosen = [choose(e, pool) for e in entries]
            summary[name][half] = {
                "mean_chosen": float(
                    np.mean([e[c]["accuracy"] for e, c in zip(entries, chosen, strict=True)])
                ),
                "mean_hds2": float(np.mean([e["hds2"]["accuracy"] for e in entries])),
                "chose_other_than_hds2": sum(c != "hds2" for c in chosen),
                "units": len(entries),
            }
        print(f"choice among {name}: {json.dumps(summary[name])}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"units": halves, "summary": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
