#!/usr/bin/env python3
"""Accuracy and speed of labelnet's consensus estimators against crowd-kit, on real data
and on a synthetic grid with known truth; the leave-one-out selection of the default.

    scripts/bench_consensus.py [--datasets DIR] [--json FILE] [--skip-scaling]
                               [--grid short|full|held-out|held-out-2|none] [--grid-regimes N]
                               [--max-items N]
                               [--attacked selection|held-out|none]
                               [--slow-crowdkit] [--candidates REGEX]
                               [--speed-only [--repeats N] [--speed-algorithm ID]]

The default run (short grid: one factor of a base task changed at a time, see
``consensus_grid.py``) takes a few minutes; ``--grid full`` adds ``--grid-regimes`` random
regimes with up to ``--max-items`` items each (millions are fine: generated in chunks).
Every candidate, labelnet's majority vote and crowd-kit's DawidSkene and
OneCoinDawidSkene run on every unit in this one run (GLAD and MACE only with
``--slow-crowdkit``: minutes per set). The selection rule and its leave-one-out report
are in ``consensus_selection.py``; with a grid, ``--attacked selection`` adds the real sets
under attack (``consensus_attacked.py``) as the rule's third half, ``--attacked held-out``
runs attacks no choice has used (reported, not in the rule).

For every data set folder in DIR (default ``../shared/datasets`` relative to the
repository; each holds ``answers.csv`` = item,worker,label and ``gold.csv`` = item,label):
accuracy against gold (mean absolute error for numeric sets) and fit seconds of every
labelnet estimator and of crowd-kit's MajorityVote, DawidSkene, GLAD and MACE, all in
this one run. A set is numeric when every label parses as a number and there are more
than 20 distinct labels. Then synthetic scaling (1M and 10M answers, 5 classes), each size
in a fresh subprocess so its peak resident memory is its own.

Timing: wall-clock seconds. labelnet's include building the canonical answer table from
the string columns; crowd-kit's include only ``fit_predict`` on a prepared DataFrame. The
scaling runs also report the fit's CPU seconds, which a busy machine inflates less.
``--speed-only`` skips the accuracy study: per categorical set, the best of ``--repeats``
runs of the default (build + fit; ``--speed-algorithm``: of that registered id, or
candidate key, instead) and
of crowd-kit's DawidSkene, then the scaling runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.consensus.answers import Answers, NumericAnswers  # noqa: E402
from node.consensus.native import NATIVE_ENV  # noqa: E402
from node.consensus.numeric_base import NumericEstimator  # noqa: E402
from node.consensus.numerics import native_kernels  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))

import consensus_attacked  # noqa: E402
import consensus_grid  # noqa: E402
import consensus_selection as selection  # noqa: E402
from consensus_candidates import (  # noqa: E402
    ALWAYS,
    CANDIDATES,
    DEFAULT_KEY,
    DEFAULT_NUMERIC_KEY,
    LABELNET,
    NUMERIC,
    estimator_for,
)
from consensus_speed import fit_with, scaling, speed_set, timed  # noqa: E402
from scaling_task import PER_ITEM, ROWS  # noqa: E402

DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"


GOLD_SHARE = 10  # gold-anchored run: every 10th gold item (sorted by id) is revealed


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[1:]


def is_numeric(labels: list[str]) -> bool:
    try:
        numbers = {float(v) for v in labels}
    except ValueError:
        return False
    return len(numbers) > 20


def accuracy(predicted: dict[str, str], gold: dict[str, str]) -> float:
    return float(np.mean([predicted.get(item) == label for item, label in gold.items()]))


def published_best(datasets_dir: Path) -> dict[str, tuple[str, float]]:
    best: dict[str, tuple[str, float]] = {}
    path = datasets_dir / "published_results.csv"
    if not path.exists():
        return best
    for name, method, value, *_ in read_csv(path):
        if name not in best or float(value) > best[name][1]:
            best[name] = (method, float(value))
    return best


def crowdkit_runs(
    rows: list[list[str]], gold: dict[str, str], slow: bool = False
) -> dict[str, dict[str, float]]:
    import pandas as pd
    from crowdkit.aggregation import GLAD, MACE, DawidSkene, MajorityVote, OneCoinDawidSkene

    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    out: dict[str, dict[str, float]] = {}
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("crowdkit_mv", MajorityVote),
        ("crowdkit_ds", lambda: DawidSkene(n_iter=100)),
        ("crowdkit_ds1", lambda: OneCoinDawidSkene(n_iter=100)),
    ]
    if slow:
        makers += [("crowdkit_glad", GLAD), ("crowdkit_mace", MACE)]
    for key, make in makers:

        def run(make: Callable[[], Any] = make) -> Any:
            return make().fit_predict(frame)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted, seconds = timed(run)
        labels = {str(k): str(v) for k, v in predicted.items()}
        out[key] = {"accuracy": accuracy(labels, gold), "seconds": seconds}
        print(f"    {key:22s} acc={out[key]['accuracy']:.4f}  {seconds:8.3f}s", flush=True)
    return out


def categorical_set(
    rows: list[list[str]], gold: dict[str, str], slow: bool = False
) -> dict[str, Any]:
    columns = list(zip(*rows, strict=True))
    entry: dict[str, Any] = {"kind": "categorical"}
    for key, make in LABELNET.items():
        answers, build = timed(lambda: Answers.from_arrays(columns[0], columns[1], columns[2]))
        fitted, fit = timed(partial(fit_with, make, answers))
        labels = dict(zip(fitted.items_, (str(v) for v in fitted.labels_), strict=True))
        seconds = build + fit
        entry[key] = {"accuracy": accuracy(labels, gold), "seconds": seconds, "fit_seconds": fit}
        print(f"    {key:22s} acc={entry[key]['accuracy']:.4f}  {seconds:8.3f}s", flush=True)
    revealed = {item: gold[item] for n, item in enumerate(sorted(gold)) if n % GOLD_SHARE == 0}
    held_out = {item: label for item, label in gold.items() if item not in revealed}
    answers = Answers.from_arrays(columns[0], columns[1], columns[2])
    fitted, seconds = timed(lambda: LABELNET[DEFAULT_KEY]().fit(answers, revealed))
    labels = dict(zip(fitted.items_, (str(v) for v in fitted.labels_), strict=True))
    entry["default_gold10"] = {"accuracy": accuracy(labels, held_out), "seconds": seconds}
    print(f"    {'default_gold10':22s} acc={accuracy(labels, held_out):.4f} (held-out)")
    entry.update(crowdkit_runs(rows, gold, slow))
    entry["labelnet_default"] = entry[DEFAULT_KEY]
    return entry


def numeric_set(rows: list[list[str]], gold: dict[str, str]) -> dict[str, Any]:
    columns = list(zip(*rows, strict=True))
    entry: dict[str, Any] = {"kind": "numeric", "crowdkit_ds": None}
    truth = {item: float(value) for item, value in gold.items()}
    for key, make in NUMERIC.items():

        def run(make: Callable[[], NumericEstimator] = make) -> NumericEstimator:
            return make().fit(NumericAnswers.from_arrays(columns[0], columns[1], columns[2]))

        fitted, seconds = timed(run)
        values = dict(zip(fitted.items_, fitted.values_.tolist(), strict=True))
        mae = float(np.mean([abs(values[item] - v) for item, v in truth.items()]))
        entry[key] = {"accuracy": None, "mae": mae, "seconds": seconds}
        print(f"    {key:22s} MAE={mae:.3f}  {seconds:8.3f}s", flush=True)
    per_item: dict[str, list[float]] = {}
    for item, _, value in rows:
        per_item.setdefault(item, []).append(float(value))
    mean_mae = float(np.mean([abs(np.mean(per_item[i]) - v) for i, v in truth.items()]))
    entry["plain_mean"] = {"accuracy": None, "mae": mean_mae, "seconds": None}
    entry["labelnet_default"] = entry[DEFAULT_NUMERIC_KEY]
    return entry


def speed_only(datasets: Path, repeats: int, algorithm: str | None = None) -> list[dict[str, Any]]:
    """:func:`speed_set` on every categorical set, as a table: the default's times, or the
    registered ``algorithm``'s."""
    make = None if algorithm is None else estimator_for(algorithm)
    print(f"speed only ({algorithm or DEFAULT_KEY}; best of {repeats} runs each)")
    print("set               answers  build ms  fit ms  ck-DS ms  speedup (fit only)")
    out = []
    for folder in sorted(p for p in datasets.iterdir() if (p / "answers.csv").exists()):
        rows = [r[:3] for r in read_csv(folder / "answers.csv")]
        if is_numeric([r[2] for r in rows]):
            continue
        e = {"name": folder.name, **speed_set(rows, repeats, make)}
        print(
            f"{e['name']:17s} {e['answers']:7d}  {1e3 * e['build_seconds']:8.1f}  "
            f"{1e3 * e['fit_seconds']:6.1f}  {1e3 * e['crowdkit_ds_seconds']:8.1f}  "
            f"{e['speedup_vs_crowdkit_ds']:6.1f}x ({e['fit_speedup_vs_crowdkit_ds']:5.1f}x)",
            flush=True,
        )
        out.append(e)
    return out


def summarize(entries: list[dict[str, Any]], best: dict[str, tuple[str, float]]) -> dict[str, Any]:
    categorical = [e for e in entries if e["kind"] == "categorical"]
    rows = []
    for e in categorical:
        measured = {k: e[k]["accuracy"] for k in e if k.startswith("crowdkit_")}
        if e["name"] in best:
            bar_method, bar = best[e["name"]]
            bar_source = "published"
        else:
            bar_method, bar = max(measured.items(), key=lambda kv: kv[1])
            bar_source = "crowd-kit (this run)"
        e["bar"] = {"method": bar_method, "accuracy": bar, "source": bar_source}
        default, ds = e["labelnet_default"], e["crowdkit_ds"]
        e["speedup_vs_crowdkit_ds"] = ds["seconds"] / default["seconds"]
        e["fit_speedup_vs_crowdkit_ds"] = ds["seconds"] / default["fit_seconds"]
        e["margin_vs_crowdkit_ds_points"] = 100 * (default["accuracy"] - ds["accuracy"])
        rows.append((default["accuracy"], bar, ds["accuracy"]))
    return {
        "categorical_sets": len(rows),
        "mean_default_accuracy": float(np.mean([r[0] for r in rows])) if rows else None,
        "mean_bar_accuracy": float(np.mean([r[1] for r in rows])) if rows else None,
        "mean_crowdkit_ds_accuracy": float(np.mean([r[2] for r in rows])) if rows else None,
        "worst_margin_vs_crowdkit_ds_points": min(
            (e["margin_vs_crowdkit_ds_points"] for e in categorical), default=None
        ),
    }


def print_table(entries: list[dict[str, Any]]) -> None:
    print(
        "\nset               kind  default    ck-DS    MV       bar      speedup (fit only)"
        "  default s  ck-DS s"
    )
    for e in entries:
        d = e["labelnet_default"]
        if e["kind"] == "numeric":
            plain = e["plain_mean"]["mae"]
            print(f"{e['name']:17s} num   MAE {d['mae']:.3f} (plain mean {plain:.3f})")
            continue
        ds = e["crowdkit_ds"]
        print(
            f"{e['name']:17s} cat   {d['accuracy']:.4f}   {ds['accuracy']:.4f}   "
            f"{e['labelnet_mv']['accuracy']:.4f}   {e['bar']['accuracy']:.4f}   "
            f"{e['speedup_vs_crowdkit_ds']:6.1f}x ({e['fit_speedup_vs_crowdkit_ds']:6.1f}x)  "
            f"{d['seconds']:8.3f}  {ds['seconds']:7.3f}"
        )


def run_grid(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.grid == "short":
        regimes = consensus_grid.short_grid()
    elif args.grid == "held-out":
        regimes = consensus_grid.held_out_grid(args.grid_regimes, args.max_items)
    elif args.grid == "held-out-2":
        regimes = consensus_grid.second_held_out_grid(args.grid_regimes, args.max_items)
    else:
        regimes = consensus_grid.full_grid(args.grid_regimes, args.max_items)
    print(f"\nsynthetic grid: {len(regimes)} regimes")
    units = []
    for regime in regimes:
        unit = selection.run_regime(regime, LABELNET, glad=args.slow_crowdkit)
        units.append(unit)
        ds = unit.get("crowdkit_ds", {}).get("accuracy", float("nan"))
        print(
            f"  {regime.name:62s} default {unit[DEFAULT_KEY]['accuracy']:.3f}  "
            f"mv {unit['labelnet_mv']['accuracy']:.3f}  ck-DS {ds:.3f}",
            flush=True,
        )
    return units


def print_selection(chosen: dict[str, Any]) -> None:
    print(f"selection: winner {chosen['overall_winner']}; scores")
    for key, score in sorted(chosen["scores"].items(), key=lambda kv: -kv[1]):
        print(f"  {key:18s} {score:+.3f}")
    print(f"leave-one-out: {json.dumps(chosen['summary'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--scaling-sizes", default="1000000,10000000")
    parser.add_argument(
        "--scaling-rows",
        choices=ROWS,
        default="one_coin",
        help="the scaling task's confusion rows (scripts/scaling_task.py)",
    )
    parser.add_argument(
        "--scaling-per-item",
        type=int,
        default=PER_ITEM,
        help=f"the scaling task's answers per item (default {PER_ITEM})",
    )
    parser.add_argument(
        "--scaling-key",
        default=DEFAULT_KEY,
        help="estimator of the scaling runs: a candidate's key or a registered id (default: "
        "hds@10)",
    )
    parser.add_argument(
        "--grid",
        choices=("short", "full", "held-out", "held-out-2", "none"),
        default="short",
        help="held-out, held-out-2: --grid-regimes random regimes no selection has used "
        "(the second draw: none has been looked at either)",
    )
    parser.add_argument("--grid-regimes", type=int, default=60, help="random regimes (full)")
    parser.add_argument("--max-items", type=int, default=100_000, help="per regime (full)")
    parser.add_argument(
        "--attacked",
        choices=("selection", "held-out", "none"),
        default="none",
        help="the real sets under attack (with a grid): as the rule's third half, or held out",
    )
    parser.add_argument("--slow-crowdkit", action="store_true", help="also GLAD and MACE")
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="only the default's and crowd-kit DS's times on the real sets (and scaling)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="best of N runs (speed only; 0: scaling only)"
    )
    parser.add_argument(
        "--speed-algorithm",
        default=None,
        help="speed only: time this registered algorithm id (e.g. ds@2) instead of the default",
    )
    parser.add_argument(
        "--candidates", default="", help="regular expression: only the candidates it matches"
    )
    args = parser.parse_args()
    if args.candidates:
        kept = {k: v for k, v in CANDIDATES.items() if re.search(args.candidates, k)}
        CANDIDATES.clear()
        CANDIDATES.update(kept)
        LABELNET.clear()
        LABELNET.update({**ALWAYS, **kept})
    if args.speed_only:
        native = native_kernels() is not None
        print(f"native loops: {'on' if native else f'off ({NATIVE_ENV}=0 or not built)'}")
        speed: dict[str, Any] = {"speed": [], "native_loops": native}
        if args.repeats > 0:
            speed["speed"] = speed_only(args.datasets, args.repeats, args.speed_algorithm)
        if not args.skip_scaling:
            print(
                f"\nscaling ({args.scaling_key}, 5 classes, {args.scaling_rows} rows, "
                f"{args.scaling_per_item} answers an item)"
            )
            sizes = [int(s) for s in args.scaling_sizes.split(",") if s]
            speed["scaling"] = scaling(
                sizes, args.scaling_key, args.scaling_rows, args.scaling_per_item
            )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(speed, indent=2) + "\n", encoding="utf-8")
        return 0
    entries: list[dict[str, Any]] = []
    honest: list[tuple[str, Answers, dict[str, str]]] = []
    for folder in sorted(p for p in args.datasets.iterdir() if (p / "answers.csv").exists()):
        rows = [r[:3] for r in read_csv(folder / "answers.csv")]
        gold = {item: label for item, label, *_ in read_csv(folder / "gold.csv")}
        numeric = is_numeric([r[2] for r in rows])
        if not numeric and args.grid != "none" and args.attacked != "none":
            honest.append((folder.name, Answers.from_arrays(*zip(*rows, strict=True)), gold))
        print(f"{folder.name} ({'numeric' if numeric else 'categorical'}, {len(rows)} answers)")
        entry = (
            numeric_set(rows, gold) if numeric else categorical_set(rows, gold, args.slow_crowdkit)
        )
        entries.append({"name": folder.name, **entry})
    summary = summarize(entries, published_best(args.datasets))
    print_table(entries)
    print(f"\nsummary: {json.dumps(summary)}")
    result: dict[str, Any] = {"datasets": entries, "summary": summary, "scaling": []}
    if args.grid != "none":
        grid = run_grid(args)
        real = [e for e in entries if e["kind"] == "categorical"]
        result["grid"] = grid
        result["grid_summary"] = selection.grid_summary(grid, DEFAULT_KEY)
        attacked: list[dict[str, Any]] = []
        if args.attacked != "none":
            print(f"\nattacked real sets ({args.attacked})")
            units = consensus_attacked.attacked_units(honest, LABELNET, args.attacked)
            result["attacked"] = units
            result["attacked_variants"] = args.attacked
            result["attacked_summary"] = consensus_attacked.attacked_summary(units, DEFAULT_KEY)
            print(f"attacked summary: {json.dumps(result['attacked_summary'])}")
            if args.attacked == "selection":
                attacked = units
        print(f"\ngrid summary: {json.dumps(result['grid_summary'])}")
        if CANDIDATES:
            result["selection"] = selection.leave_one_out(real, grid, list(CANDIDATES), attacked)
            print_selection(result["selection"])
        else:  # --candidates kept none: the default and the earlier ones ran, nothing to choose
            print("selection: skipped (--candidates kept no candidate)")
    if not args.skip_scaling:
        print(
            f"\nscaling ({args.scaling_key}, 5 classes, {args.scaling_rows} rows, "
            f"{args.scaling_per_item} answers an item)"
        )
        sizes = [int(s) for s in args.scaling_sizes.split(",") if s]
        result["scaling"] = scaling(
            sizes, args.scaling_key, args.scaling_rows, args.scaling_per_item
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
