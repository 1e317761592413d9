#!/usr/bin/env python3
"""End-to-end benchmark: a 20-node network labels 30,000 answers, posting to last claim.

    scripts/bench_e2e.py [--annotators 16] [--items 3750] [--per-worker 1875] [--json FILE]

Runs the demo network (``client.demo``) on a synthetic crowd set large enough for the
target: ``annotators`` workers of accuracies 0.55..0.95 each answer ``per-worker`` of
``items`` items (5 classes), replayed by one annotator node each, with 3 validator nodes
and one requester node; every 10th item's gold is committed and revealed. Node start-up
(process launch, imports, first sync) happens before the clock starts; the clock runs from
the requester storing the task content to the last payout claimed, and includes the
commit, reveal, attest and finalize transactions. The devnet clock is moved to each
deadline as soon as a phase is complete (see client/demo/runner.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.dataset import write_synthetic  # noqa: E402
from client.demo.runner import DemoOptions, run_demo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument("--items", type=int, default=3750)
    parser.add_argument("--per-worker", type=int, default=1875)
    parser.add_argument("--validators", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.5, help="node poll interval (s)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "e2e")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        dataset = write_synthetic(
            Path(scratch) / "synthetic",
            items=args.items,
            workers=args.annotators,
            answers_per_worker=args.per_worker,
        )
        options = DemoOptions(
            dataset=str(dataset),
            items=args.items,
            annotators=args.annotators,
            spammers=0,
            validators=args.validators,
            lying_validators=0,
            poll_interval=args.interval,
            out=args.out,
            quiet=True,
        )
        began = time.monotonic()
        run_demo(options)
        total = time.monotonic() - began
    summary = json.loads((args.out / "summary.json").read_text())
    result = {
        "nodes": summary["nodes"],
        "labels": summary["labels"],
        "seconds": round(summary["seconds"], 2),
        "accuracy": round(summary["accuracy"]["consensus"], 4),
        "majority_vote_accuracy": round(summary["accuracy"]["majority_vote"], 4),
        "phases": summary["timings"],
        "wall_seconds_including_startup": round(total, 1),
        "gas": summary["gas"],
    }
    print(f"{'nodes':<34}{result['nodes']:>12}")
    print(f"{'labels':<34}{result['labels']:>12,}")
    print(f"{'seconds (post -> last claim)':<34}{result['seconds']:>12.2f}")
    print(f"{'labels / second':<34}{result['labels'] / result['seconds']:>12,.0f}")
    print(f"{'consensus accuracy':<34}{result['accuracy']:>12.4f}")
    print(f"{'majority vote accuracy':<34}{result['majority_vote_accuracy']:>12.4f}")
    for phase, seconds in summary["timings"].items():
        print(f"  {phase:<32}{seconds:>12.2f}")
    print(f"{'wall incl. devnet + node start':<34}{total:>12.1f}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
