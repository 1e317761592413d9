"""Time and peak memory of the default categorical fit, and of the validator's consensus and
reward rule, on tasks with many classes and many annotators (BENCHMARKS.md, "Many classes
and many annotators"): the dense fit's cost grew with annotators x classes², whatever the
number of answers.

    python scripts/bench_many_classes.py [--shapes 256x200,256x800] [--items 5000]
                                         [--whole] [--bloc-test bloc@1]
                                         [--result labelnet/result@4] [--json PATH]

Each shape ``KxW`` (classes x annotators) runs in its own process, so its peak resident
memory is its own: ``items`` items with three answers each from annotators drawn
uniformly, accuracy 0.7, errors uniform. ``--whole`` adds the validator's consensus
(``categorical_consensus``) and reward rule (``compute_rewards``, which counts each
annotator's confusion table for the result document) after the fit; ``--bloc-test``
runs that consensus with the bloc test, as a task that names it does; ``--result`` then
builds the result document in that paged schema and reports its root's size (every settling
node fetches the root whole).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.consensus.answers import Answers  # noqa: E402
from node.consensus.quality import krippendorff_alpha_nominal  # noqa: E402
from node.consensus.registry import categorical_estimator  # noqa: E402
from node.consensus.result import categorical_document  # noqa: E402
from node.consensus.rewards import compute_rewards  # noqa: E402
from node.consensus.task import categorical_consensus  # noqa: E402
from node.protocol.ids import DEFAULT_ALGORITHM  # noqa: E402
from node.protocol.result import payout_result  # noqa: E402
from node.protocol.result_pages import RESULT_V4_SCHEMAS, page_document  # noqa: E402
from node.protocol.rules import RewardParams  # noqa: E402

DEFAULT_SHAPES = "20x3000,64x800,256x50,256x200,256x800,256x3000"


def task(k: int, annotators: int, items: int) -> tuple[Answers, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, k, items)
    item = np.repeat(np.arange(items), 3)
    annotator = rng.integers(0, annotators, len(item))
    label = np.where(rng.random(len(item)) < 0.7, truth[item], rng.integers(0, k, len(item)))
    answers = Answers.from_codes(
        item,
        annotator,
        label,
        items=[f"i{i:07d}" for i in range(items)],
        annotators=[f"0x{a:040x}" for a in range(annotators)],
        classes=[f"c{c:03d}" for c in range(k)],
        keep_classes=True,
    )
    return answers, truth


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(
    k: int, annotators: int, items: int, whole: bool, bloc_test: str, result: str
) -> dict[str, float]:
    answers, truth = task(k, annotators, items)
    before = peak_mb()
    start = time.perf_counter()
    fitted = categorical_estimator(DEFAULT_ALGORITHM).fit(answers)
    fit_seconds = time.perf_counter() - start
    kept = np.array([int(i[1:]) for i in fitted.items_])
    out = {
        "classes": k,
        "annotators": answers.n_annotators,
        "answers": len(answers),
        "fit_seconds": fit_seconds,
        "fit_peak_mb": peak_mb(),
        "before_fit_mb": before,
        "accuracy": float(np.mean(fitted.label_codes_ == truth[kept])),
    }
    if whole:
        start = time.perf_counter()
        consensus = categorical_consensus(answers, {}, DEFAULT_ALGORITHM, bloc_test)
        middle = time.perf_counter()
        params = RewardParams.create(10**15, 10**21)
        rewards = compute_rewards(answers, consensus.probas_ppb, params, consensus.flagged)
        out["consensus_seconds"] = middle - start
        out["rewards_seconds"] = time.perf_counter() - middle
        if result:
            start = time.perf_counter()
            document = categorical_document(
                task_id=1,
                fit=consensus,
                params=params,
                rewards=rewards,
                alpha=krippendorff_alpha_nominal(answers),
                payouts=payout_result(answers.annotators, rewards.payouts),
                cell_confusion=result in RESULT_V4_SCHEMAS,
            )
            paged = page_document(document, result)
            out["document_seconds"] = time.perf_counter() - start
            out["root_mb"] = len(paged.root_bytes) / 1e6
        out["whole_peak_mb"] = peak_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shapes", default=DEFAULT_SHAPES, help="classes x annotators, comma-separated"
    )
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument(
        "--whole", action="store_true", help="also the consensus and the reward rule"
    )
    parser.add_argument(
        "--bloc-test", default="", help="with --whole: the bloc test the consensus runs"
    )
    parser.add_argument(
        "--result", default="", help="with --whole: also the result document in this schema"
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        k, w = (int(x) for x in args.worker.split("x"))
        print(json.dumps(worker(k, w, args.items, args.whole, args.bloc_test, args.result)))
        return
    bloc = f", bloc test {args.bloc_test}" if args.bloc_test else ""
    print(f"{DEFAULT_ALGORITHM}{bloc}, {args.items} items, 3 answers each, one process per shape")
    document = f"  {args.result} root MB  document s" if args.result else ""
    print(
        "classes  annotators  answers   fit s  fit peak MB  consensus s  rewards s  peak MB"
        + document
    )
    results = []
    for shape in args.shapes.split(","):
        command = [sys.executable, __file__, "--worker", shape, "--items", str(args.items)]
        if args.whole:
            command.append("--whole")
        if args.bloc_test:
            command += ["--bloc-test", args.bloc_test]
        if args.result:
            command += ["--result", args.result]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
        whole = (
            f"{row['consensus_seconds']:11.1f}  {row['rewards_seconds']:9.1f}  "
            f"{row['whole_peak_mb']:7.0f}"
            if args.whole
            else f"{'-':>11}  {'-':>9}  {'-':>7}"
        )
        print(
            f"{row['classes']:7d}  {row['annotators']:10,d}  {row['answers']:7,d}  "
            f"{row['fit_seconds']:6.2f}  {row['fit_peak_mb']:11.0f}  {whole}"
            + (
                f"  {row['root_mb']:{len(args.result) + 8}.1f}  {row['document_seconds']:10.1f}"
                if args.result
                else ""
            ),
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {"bloc_test": args.bloc_test, "result": args.result, "shapes": results}
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
