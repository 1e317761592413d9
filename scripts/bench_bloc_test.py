#!/usr/bin/env python3
"""CPU time and peak memory of a validator's whole categorical consensus with the bloc test
(issue #15: 10M answers in <= 15 s and <= 1.5 GB), one subprocess per size.

    scripts/bench_bloc_test.py [--sizes 2000000,10000000] [--algorithm ID] [--rows ROWS]
                               [--per-item N] [--json FILE]

Synthetic task: 5 classes, 2,000 annotators with accuracy uniform in [0.35, 0.95], 10
answers per item (duplicates of one annotator on one item dropped as the table does),
wrong answers uniform over the other classes, every 10th item's gold revealed; run through
``categorical_consensus`` with the bloc test, as ``run_consensus`` does. ``--rows
class_dependent`` gives every annotator class-dependent rows instead (``scaling_task.py``),
where ``hds@9``'s polish runs; ``--per-item`` changes the 10 answers an item. Peak memory
is the process's maximum resident set; the data generation's own peak is reported beside
it (when it is the larger, the consensus stayed below it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.consensus.numerics import native_kernels  # noqa: E402
from node.consensus.task import categorical_consensus  # noqa: E402
from node.protocol.ids import BLOC_TEST_ID, DEFAULT_ALGORITHM  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))

from scaling_task import PER_ITEM, ROWS, item_id, scaling_task  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(n_answers: int, algorithm: str, rows: str, per_item: int) -> dict[str, Any]:
    answers, truth, _ = scaling_task(n_answers, rows, per_item)
    gold = {item_id(i): str(int(truth[i])) for i in range(0, len(truth), 10)}
    before = peak_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    out = categorical_consensus(answers, gold, algorithm, BLOC_TEST_ID)
    return {
        "answers": len(answers),
        "algorithm": algorithm,
        "rows": rows,
        "per_item": per_item,
        "cpu_seconds": time.process_time() - cpu,
        "seconds": time.perf_counter() - wall,
        "peak_mb": peak_mb(),
        "peak_mb_before_consensus": before,
        "flagged": int(out.flagged.sum()),
        "native_loops": native_kernels() is not None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000000,10000000")
    parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM)
    parser.add_argument("--rows", choices=ROWS, default="one_coin")
    parser.add_argument("--per-item", type=int, default=PER_ITEM)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.algorithm, args.rows, args.per_item)))
        return 0
    results = []
    print("answers      algorithm  cpu s   wall s  peak MB  (before consensus)  flagged  native")
    for size in (int(s) for s in args.sizes.split(",") if s):
        command = [sys.executable, __file__, "--worker", str(size), "--algorithm", args.algorithm]
        command += ["--rows", args.rows, "--per-item", str(args.per_item)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"{r['answers']:>11,d}  {r['algorithm']:9s} {r['cpu_seconds']:6.1f}"
            f"  {r['seconds']:7.1f}  {r['peak_mb']:7.0f}"
            f"  ({r['peak_mb_before_consensus']:.0f})  {r['flagged']}  {r['native_loops']}",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
