#!/usr/bin/env python3
"""The fits issue #15's grid lines are argued over, saved once per unit, so that a rule
choosing between them is scored over every regime in seconds instead of a full
``bench_consensus.py`` run.

    scripts/grid_fits.py save --grid GRID --out DIR
    scripts/grid_fits.py report DIR [DIR ...]

``save`` writes one ``.npz`` per unit of ``GRID``: a regime of the ``selection``,
``held-out`` or ``held-out-2`` grid, a ``real`` set of ``../shared/datasets``, or a real
set under attack as ``bench_consensus.py --attacked selection|held-out`` runs it
(``attacked``, ``attacked-held-out``). Each unit holds the answers as codes, the truth
(``-1`` where a real set has no gold), ``hds@8``'s ignored annotators and row strength,
and the labels of the vote (``mv@1``), ``hds@8``, ``hds@9``, the polish forced on every
task (``hds@9`` without its three gates) and crowd-kit's ``DawidSkene(n_iter=100)``. Each
regime is generated from its own seed (``consensus_grid.py``) and each attack from the
seeds ``consensus_attacked.py`` uses, so a saved unit is the one ``bench_consensus.py``
runs.

``report`` scores, per folder, the rules of BENCHMARKS.md "Toward the grid lines (session
24)", "``hds@10``" and "Crowd-kit's fit where it agrees (session 26)" against the issue's
two grid lines (at or above crowd-kit DS; not more than a point under the vote) and, for a
folder of real or attacked sets, against the real-set line (mean, and the worst set's
distance to crowd-kit DS and to the vote); then how closely ``ds@2`` and a float
Dawid-Skene started from the vote reproduce crowd-kit's labels, with and without
crowd-kit's stop.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import consensus_grid  # noqa: E402
from bench_consensus import DEFAULT_DATASETS, is_numeric, read_csv  # noqa: E402
from consensus_attacked import attacked_tables  # noqa: E402
from consensus_selection import MV_PENALTY, task_answers  # noqa: E402

from node.consensus.agreed_ds import heavy_share as agreed_heavy_share  # noqa: E402
from node.consensus.answers import Answers  # noqa: E402
from node.consensus.base import IntArray  # noqa: E402
from node.consensus.ignoring_ds import IgnoringDawidSkene  # noqa: E402
from node.consensus.polished_ds import PolishedDawidSkene  # noqa: E402
from node.consensus.pooled_one_coin import PooledOneCoin  # noqa: E402
from node.consensus.registry import categorical_estimator  # noqa: E402
from node.consensus.stopped_ds import StoppedDawidSkene  # noqa: E402
from node.consensus.uninformative import screen  # noqa: E402

Unit = dict[str, npt.NDArray[np.generic]]
Rule = Callable[[Unit], npt.NDArray[np.generic]]
FITS = ("mv@1", "hds@8", "hds@9")
Z = 2.576  # hds@9's side-test z (polished_ds.AGREEMENT_Z)
CROWDKIT_EPS = 1e-10  # crowd-kit's clip of error rates and priors
GRIDS: dict[str, Callable[[], list[consensus_grid.Regime]]] = {
    "selection": lambda: consensus_grid.full_grid(30, 50_000),
    "held-out": lambda: consensus_grid.held_out_grid(80, 50_000),
    "held-out-2": lambda: consensus_grid.second_held_out_grid(80, 50_000),
}


class ForcedPolish(PolishedDawidSkene):
    """``hds@9``'s polish kept on every task: its three gates removed."""

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        pulled = super(PolishedDawidSkene, self)._fit(answers, gold)
        return self._polish(answers, pulled, gold)[0]


def crowdkit_labels(answers: Answers) -> IntArray:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    frame = pd.DataFrame(
        {"task": answers.item, "worker": answers.annotator, "label": answers.label}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = DawidSkene(n_iter=100).fit_predict(frame)
    labels: IntArray = predicted.reindex(np.arange(answers.n_items)).to_numpy().astype(np.int64)
    return labels


def save_unit(answers: Answers, truth: IntArray, out: Path) -> None:
    unit: dict[str, npt.NDArray[np.generic]] = {
        "item": answers.item.astype(np.int32),
        "ann": answers.annotator.astype(np.int32),
        "lab": answers.label.astype(np.int16),
        "truth": truth.astype(np.int16),
    }
    for algorithm in FITS:
        unit[algorithm] = categorical_estimator(algorithm).fit(answers).label_codes_
    pulled = IgnoringDawidSkene().fit(answers)  # hds@8, for its gates' inputs
    unit["ignored"] = pulled.ignored_
    unit["strength"] = np.array([pulled.strength_, pulled.max_strength])
    unit["polish"] = ForcedPolish().fit(answers).label_codes_
    unit["ckds"] = crowdkit_labels(answers)
    np.savez_compressed(out, **unit)  # type: ignore[arg-type]


def real_sets() -> Iterator[tuple[str, Answers, dict[str, str]]]:
    """Every categorical set of ``../shared/datasets``: name, answers, gold."""
    for folder in sorted(p for p in DEFAULT_DATASETS.iterdir() if (p / "answers.csv").exists()):
        rows = read_csv(folder / "answers.csv")
        if is_numeric([row[2] for row in rows]):
            continue
        gold = {item: label for item, label in read_csv(folder / "gold.csv")}
        yield folder.name, Answers.from_rows([(row[0], row[1], row[2]) for row in rows]), gold


def real_units() -> Iterator[tuple[str, Answers, IntArray]]:
    for name, answers, gold in real_sets():
        yield name, answers, gold_codes(answers, gold)


def attacked_units(variants: str) -> Iterator[tuple[str, Answers, IntArray]]:
    """The real sets under attack as ``bench_consensus.py --attacked VARIANTS`` runs them
    (``consensus_attacked.py``: the same seeds, so the same attacked answers)."""
    for name, attacked, gold in attacked_tables(real_sets(), variants):
        yield name, attacked, gold_codes(attacked, dict(gold))


def gold_codes(answers: Answers, gold: dict[str, str]) -> IntArray:
    """Each item's gold class code, ``-1`` where it has none."""
    code = {name: index for index, name in enumerate(answers.classes)}
    return np.array([code.get(gold.get(item, ""), -1) for item in answers.items], dtype=np.int64)


def save(grid: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if grid in ("real", "attacked", "attacked-held-out"):
        units = (
            real_units()
            if grid == "real"
            else attacked_units("selection" if grid == "attacked" else "held-out")
        )
        for index, (name, answers, truth) in enumerate(units):
            path = out / f"{index:03d}_{name.replace(':', '_')}.npz"
            if not path.exists():
                save_unit(answers, truth, path)
                print(name, flush=True)
        return
    for index, regime in enumerate(GRIDS[grid]()):
        path = out / f"{index:03d}_{regime.name}.npz"
        if path.exists():
            continue
        task = consensus_grid.generate_large(regime)
        answers = task_answers(task)
        truth = task.truth[np.array([int(i) for i in answers.items])]
        save_unit(answers, truth, path)
        print(index, regime.name, flush=True)


def load(folder: Path) -> list[Unit]:
    units = []
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as data:
            unit: Unit = {key: data[key] for key in data.files}
        unit["name"] = np.array(path.stem[4:])
        units.append(unit)
    return units


def with_stopped_ds(unit: Unit) -> Unit:
    """``unit`` with ``ds@2``'s labels (``"ds2"``), fitted on its saved answers, and
    ``hds@10``'s fallback: whether it falls back (``"nobody"``: no annotator agrees with
    everyone beyond chance) and the equal-skill fit's labels where it does."""
    codes = (unit[key].astype(np.int64) for key in ("item", "ann", "lab", "truth"))
    answers = task_answers(consensus_grid.Task(*codes, accuracy=np.zeros(0)))
    nobody = not screen(answers).beyond_chance.any()
    pooled = PooledOneCoin().fit(answers).label_codes_ if nobody else unit["hds@9"]
    return {
        **unit,
        "ds2": StoppedDawidSkene().fit(answers).label_codes_,
        "nobody": np.array(nobody),
        "pooled": pooled,
    }


def fallback(alternative: str) -> Rule:
    """``alternative``'s labels where no annotator agrees with everyone beyond chance,
    ``hds@9``'s otherwise (with ``"pooled"``: ``hds@10``)."""
    return lambda unit: unit[alternative] if bool(unit["nobody"]) else unit["hds@9"]


def supported(alternative: str, min_row: float = 50.0, share: float = 0.5) -> Rule:
    """``alternative`` where the task has at least 500 items, annotators whose rarest row
    expects at least ``min_row`` answers (their answers times the smallest class share of
    ``hds@9``'s labels) give at least ``share`` of the answers, and the answers do not side
    with ``hds@8`` beyond ``hds@9``'s z; ``hds@9``'s labels otherwise."""

    def rule(unit: Unit) -> npt.NDArray[np.generic]:
        if len(unit["truth"]) < 500 or heavy_share(unit, min_row) < share:
            return unit["hds@9"]
        if side_z(unit, unit["hds@8"], unit[alternative]) > Z:
            return unit["hds@9"]
        return unit[alternative]

    return rule


def heavy_share(unit: Unit, min_row: float) -> float:
    """The share of the answers given by annotators whose rarest row expects at least
    ``min_row`` answers (their answers times the smallest class share of ``hds@9``'s
    labels)."""
    k = int(max(unit["lab"].max(), unit["hds@9"].max())) + 1
    return agreed_heavy_share(unit["ann"], unit["hds@9"], k, min_row)


def agreed(delta: float, min_row: float = 20.0, share: float = 0.5) -> Rule:
    """``hds@10``, or ``ds@2``'s labels where they differ from ``hds@10``'s on at most
    ``delta`` of the items and the data support full rows: no fallback, at least 500
    items, ``hds@8``'s row strength under its cap (``hds@9``'s first two gates) and
    :func:`heavy_share` at least ``share``. Session 26's candidate (BENCHMARKS.md,
    "Crowd-kit's fit where it agrees"): not adopted."""
    ours = fallback("pooled")

    def rule(unit: Unit) -> npt.NDArray[np.generic]:
        labels = ours(unit)
        strength, max_strength = (float(v) for v in unit["strength"])
        if (
            bool(unit["nobody"])
            or len(unit["truth"]) < 500
            or not strength < max_strength
            or heavy_share(unit, min_row) < share
            or float(np.mean(unit["ds2"] != labels)) > delta
        ):
            return labels
        return unit["ds2"]

    return rule


def accuracy(unit: Unit, labels: npt.NDArray[np.generic]) -> float:
    known = unit["truth"] >= 0
    return float(np.mean(labels[known] == unit["truth"][known]))


def side_z(unit: Unit, first: npt.NDArray[np.generic], second: npt.NDArray[np.generic]) -> float:
    """``hds@9``'s side test as a z: on the items the labelings differ on, answers (of the
    annotators ``hds@8`` does not ignore) giving ``first``'s label less those giving
    ``second``'s, over the square root of both."""
    on = (first != second)[unit["item"]]
    item, label = unit["item"][on], unit["lab"][on]
    heard = ~unit["ignored"][unit["ann"][on]]
    p = int(np.count_nonzero(heard & (label == first[item])))
    q = int(np.count_nonzero(heard & (label == second[item])))
    return (p - q) / float(np.sqrt(p + q)) if p + q else 0.0


def gated(alternative: str, cap: bool = True) -> Rule:
    """``hds@9``'s three gates with ``alternative`` in place of its polish."""

    def rule(unit: Unit) -> npt.NDArray[np.generic]:
        strength, max_strength = (float(v) for v in unit["strength"])
        if len(unit["truth"]) < 500 or (cap and not strength < max_strength):
            return unit["hds@8"]
        if side_z(unit, unit["hds@8"], unit[alternative]) > Z:
            return unit["hds@8"]
        return unit[alternative]

    return rule


def agreeing(delta: float) -> Rule:
    """crowd-kit's labels where they differ from ``hds@9``'s on at most ``delta`` of the
    items, else ``hds@9``'s."""

    def rule(unit: Unit) -> npt.NDArray[np.generic]:
        share = float(np.mean(unit["hds@9"] != unit["ckds"]))
        return unit["ckds"] if share <= delta else unit["hds@9"]

    return rule


def fit(key: str) -> Rule:
    return lambda unit: unit[key]


RULES: dict[str, Rule] = {
    "hds@9": fit("hds@9"),
    "hds@9's gates, polish (= hds@9)": gated("polish"),
    "hds@9's gates, crowd-kit DS": gated("ckds"),
    "hds@9's gates, crowd-kit DS, no cap": gated("ckds", cap=False),
    **{f"crowd-kit where within {d:.0%} of hds@9": agreeing(d) for d in (0.01, 0.03, 0.05)},
    "ds@2 alone": fit("ds2"),
    "hds@10 (equal-skill where nobody agrees)": fallback("pooled"),
    "hds@9, the vote where nobody agrees": fallback("mv@1"),
    **{
        f"ds@2 where rows hold {m}+ (half the answers)": supported("ds2", m)
        for m in (10, 20, 50, 100, 200)
    },
    **{f"hds@10, ds@2 where it relabels at most {d:.0%}": agreed(d) for d in (0.02, 0.05, 0.1)},
}


def mean_unit_score(units: list[Unit], rule: Rule) -> float:
    """The selection rule's mean unit score (``consensus_selection.unit_score``): points
    over crowd-kit DS, less :data:`MV_PENALTY` a point more than one under the vote."""
    scores = []
    for unit in units:
        ours = 100 * accuracy(unit, rule(unit))
        under_vote = 100 * accuracy(unit, unit["mv@1"]) - ours - 1.0
        reference = 100 * accuracy(unit, unit["ckds"])
        scores.append(ours - reference - MV_PENALTY * max(under_vote, 0.0))
    return float(np.mean(scores))


def grid_line(units: list[Unit], rule: Rule) -> str:
    at_least = under = 0
    for unit in units:
        ours = accuracy(unit, rule(unit))
        at_least += ours >= accuracy(unit, unit["ckds"]) - 1e-12
        under += ours < accuracy(unit, unit["mv@1"]) - 0.01
    mean = np.mean([accuracy(unit, rule(unit)) for unit in units])
    return (
        f"{at_least:4d} ≥ ck DS  {under:3d} > 1 pt under the vote  mean {mean:.4f}"
        f"  score {mean_unit_score(units, rule):+.3f}"
    )


def real_line(units: list[Unit], rule: Rule) -> str:
    ours = [accuracy(unit, rule(unit)) for unit in units]
    pairs = list(zip(ours, units, strict=True))
    worst = min(o - accuracy(unit, unit["ckds"]) for o, unit in pairs)
    vote = min(o - accuracy(unit, unit["mv@1"]) for o, unit in pairs)
    return (
        f"mean {np.mean(ours):.4f}  worst minus ck DS {100 * worst:+.2f} pts"
        f"  worst minus the vote {100 * vote:+.2f} pts  score {mean_unit_score(units, rule):+.3f}"
    )


def crowdkit_like(unit: Unit, elbo_stop: bool) -> IntArray:
    """crowd-kit's DawidSkene in float numpy: the vote's shares as the start, error rates
    and prior clipped at 1e-10 and unsmoothed, at most 100 iterations; with ``elbo_stop``,
    crowd-kit's stop (the evidence lower bound per answer gains less than 1e-5)."""
    item, ann = unit["item"].astype(np.int64), unit["ann"].astype(np.int64)
    label = unit["lab"].astype(np.int64)
    n, w = len(unit["truth"]), int(ann.max()) + 1
    k = int(max(label.max(), unit["truth"].max())) + 1
    votes = np.zeros((n, k))
    np.add.at(votes, (item, label), 1.0)
    posteriors = votes / votes.sum(axis=1, keepdims=True)
    seen = np.zeros((w, k), dtype=bool)
    seen[ann, label] = True

    def m_step(post: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        counts = np.zeros((w * k, k))
        np.add.at(counts, ann * k + label, post[item])
        rates = np.where(seen[:, :, None], np.maximum(counts.reshape(w, k, k), CROWDKIT_EPS), 0.0)
        out: npt.NDArray[np.float64] = rates / rates.sum(axis=1, keepdims=True)
        return out  # [annotator, answer, true class]

    prior, errors, bound = posteriors.mean(axis=0), m_step(posteriors), -np.inf
    for _ in range(100):
        scores = np.tile(np.log(np.maximum(prior, CROWDKIT_EPS)), (n, 1))
        np.add.at(scores, item, np.log(errors[ann, label, :]))
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        posteriors = weights / weights.sum(axis=1, keepdims=True)
        prior, errors = posteriors.mean(axis=0), m_step(posteriors)
        if not elbo_stop:
            continue
        joint = np.log(errors[ann, label, :]) + np.log(np.maximum(prior, CROWDKIT_EPS))
        clipped = np.maximum(posteriors, CROWDKIT_EPS)
        elbo = float((posteriors[item] * joint).sum()) - float((np.log(clipped) * clipped).sum())
        if elbo / len(item) - bound < 1e-5:
            break
        bound = elbo / len(item)
    labels: IntArray = np.argmax(posteriors, axis=1)
    return labels


def report(folders: list[Path]) -> None:
    for folder in folders:
        units = [with_stopped_ds(unit) for unit in load(folder)]
        real = any(bool(np.any(unit["truth"] < 0)) for unit in units) or len(units) < 20
        print(f"\n{folder} ({len(units)} units)")
        for name, rule in RULES.items():
            line = real_line(units, rule) if real else grid_line(units, rule)
            print(f"  {name:42s} {line}")
        same = sum(bool(np.all(u["ds2"] == u["ckds"])) for u in units)
        print(f"  ds@2: crowd-kit's labels on every item of {same} of {len(units)} units")
        for elbo_stop in (True, False):
            labels = [crowdkit_like(unit, elbo_stop) for unit in units]
            pairs = list(zip(labels, units, strict=True))
            differ = sum(bool(np.any(lab != u["ckds"])) for lab, u in pairs)
            at_least = sum(accuracy(u, lab) >= accuracy(u, u["ckds"]) - 1e-12 for lab, u in pairs)
            stop = "crowd-kit's stop" if elbo_stop else "100 iterations"
            print(
                f"  float DS from the vote, {stop}: labels differ from crowd-kit's on {differ},"
                f" at or above its accuracy on {at_least}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save")
    saving.add_argument(
        "--grid", choices=[*GRIDS, "real", "attacked", "attacked-held-out"], required=True
    )
    saving.add_argument("--out", type=Path, required=True)
    reporting = commands.add_parser("report")
    reporting.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "save":
        save(args.grid, args.out)
    else:
        report(args.folders)


if __name__ == "__main__":
    main()
