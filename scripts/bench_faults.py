#!/usr/bin/env python3
"""Fault campaign: SIGKILL annotator and validator nodes mid-run; nothing may be lost.

    scripts/bench_faults.py [--trials 20] [--seed 1] [--items 120] [--annotators 5]
                            [--kills 3] [--json FILE]

Each trial is a demo-sized network (``client.demo``: a devnet, one requester node,
``annotators`` replayed crowd workers plus one random spammer, 3 validator nodes, every
node its own process). At seeded random moments (a phase of the task, then a delay into
it) a randomly chosen annotator or validator node is SIGKILLed and started again on the
same data directory and port. The demo's phase driver only moves the clock on when every
participant is done with the phase, so a killed node must catch up from its database
alone after the restart, or the trial times out.

After every trial, from the nodes' own databases and stores and from the chain:

* no acknowledged label lost: each annotator's database holds exactly the labels its
  labeler produced (the replayed worker's answers), its committed batch holds the same,
  and the root the chain shows revealed is the root it committed to;
* the task finalized (or was refunded) and every payout was claimed;
* every token accounted for: the market's token balance equals what it still owes.

A trial that breaks any of these, or times out, is reported with the reason; the script
exits 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.dataset import DemoDataset, load_dataset, resolve_dataset  # noqa: E402
from client.demo.inspect import read_node_labels  # noqa: E402
from client.demo.runner import DemoOptions, DemoRun, run_demo  # noqa: E402
from node.errors import LabelnetError  # noqa: E402

PHASES = ("commit", "reveal", "attest", "finalize", "claim")


@dataclass(frozen=True)
class Kill:
    """SIGKILL ``node`` ``delay`` seconds into ``phase`` (or at once in a later phase)."""

    phase: str
    delay: float
    node: str


@dataclass
class FaultPlan:
    """The kills of one trial and what happened to them (the ``on_poll`` hook of the demo)."""

    kills: list[Kill]
    fired: list[dict[str, Any]] = field(default_factory=list)
    run: DemoRun | None = None
    chain_id: int = 0
    _phase_started: dict[str, float] = field(default_factory=dict)

    def __call__(self, run: DemoRun, phase: str, done: int, total: int) -> None:
        if self.run is None:
            self.run = run
            self.chain_id = int(run.devnet.w3.eth.chain_id)
        if phase not in PHASES:  # the seated task's "seats" phase: no kill is planned there
            return
        now = time.monotonic()
        started = self._phase_started.setdefault(phase, now)
        index = PHASES.index(phase)
        for kill in list(self.kills):
            due = PHASES.index(kill.phase) < index or (
                kill.phase == phase and now - started >= kill.delay
            )
            if not due:
                continue
            self.kills.remove(kill)
            node = next(n for n in run.nodes if n.name == kill.node)
            node.restart()
            self.fired.append(
                {
                    "node": kill.node,
                    "planned": f"{kill.phase}+{kill.delay:.2f}s",
                    "at_phase": phase,
                    "progress": f"{done}/{total}",
                }
            )


def plan_kills(rng: random.Random, names: list[str], kills: int) -> list[Kill]:
    """``kills`` kills at random phases and delays, of random annotators and validators."""
    return [
        Kill(rng.choice(PHASES), round(rng.uniform(0.0, 1.5), 2), rng.choice(names))
        for _ in range(kills)
    ]


def check_trial(out: Path, plan: FaultPlan, dataset: DemoDataset) -> tuple[list[str], int]:
    """Every way the finished trial broke a promise (empty: none), and the labels lost."""
    problems: list[str] = []
    summary = json.loads((out / "summary.json").read_text())
    run = plan.run
    assert run is not None and run.task is not None
    revealed = {entry["name"]: int(entry["labels"]) for entry in summary["annotator_table"]}
    workers = dict(zip((f"annotator-{i + 1}" for i in range(len(dataset.workers))),
                       dataset.workers, strict=True))  # fmt: skip
    lost = 0
    for node in run.by_role("annotator"):
        address = run.devnet.info.account(node.name).address
        held = read_node_labels(node.data_dir, plan.chain_id, run.task.task_id, address)
        expected = dataset.answers.get(workers.get(node.name, ""), None)
        if expected is not None and held.stored != expected:
            missing = len(set(expected) - set(held.stored))
            lost += missing
            problems.append(f"{node.name}: database differs from its labeler ({missing} missing)")
        if held.batch != held.stored:
            problems.append(f"{node.name}: committed batch differs from its database")
        if held.revealed_root is None or held.revealed_root != held.committed_root:
            problems.append(f"{node.name}: revealed root {held.revealed_root} != committed")
        if revealed.get(node.name) != len(held.stored):
            problems.append(f"{node.name}: revealed {revealed.get(node.name)} labels, "
                            f"holds {len(held.stored)}")  # fmt: skip
    accounting = summary["accounting"]
    if not accounting["balanced"]:
        problems.append(f"market holds {accounting['market_balance']}, owes "
                        f"{accounting['still_owed']}")  # fmt: skip
    return problems, lost


def run_trial(args: argparse.Namespace, trial: int, out: Path) -> dict[str, Any]:
    rng = random.Random(args.seed * 1_000_003 + trial)
    names = [
        *(f"annotator-{i + 1}" for i in range(args.annotators)),
        "spammer-1",
        *(f"validator-{i + 1}" for i in range(args.validators)),
    ]
    plan = FaultPlan(kills=plan_kills(rng, names, args.kills))
    planned = [f"{k.node}@{k.phase}+{k.delay:.2f}s" for k in plan.kills]
    options = DemoOptions(
        dataset=args.dataset,
        items=args.items,
        annotators=args.annotators,
        spammers=1,
        validators=args.validators,
        lying_validators=0,
        out=out,
        quiet=True,
        phase_timeout=args.phase_timeout,
        poll_interval=args.interval,
    )
    dataset = load_dataset(
        resolve_dataset(options.dataset, options.datasets_dir),
        items=options.items,
        annotators=options.annotators,
    )
    began = time.monotonic()
    lost = 0
    try:
        run_demo(options, on_poll=plan)
        problems, lost = check_trial(out, plan, dataset)
    except LabelnetError as exc:
        problems = [f"{type(exc).__name__}: {exc}"]
    summary_file = out / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return {
        "trial": trial,
        "planned": planned,
        "fired": plan.fired,
        "labels": summary.get("labels"),
        "lost_labels": lost,
        "balanced": summary.get("accounting", {}).get("balanced"),
        "paid_out": summary.get("pay", {}).get("total_paid"),
        "seconds": round(time.monotonic() - began, 1),
        "ok": not problems,
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="first trial (to rerun one)")
    parser.add_argument("--dataset", default="web")
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument("--validators", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs per trial")
    parser.add_argument("--interval", type=float, default=0.25, help="node poll interval (s)")
    parser.add_argument("--phase-timeout", type=float, default=180.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="labelnet-faults-") as scratch:
        for trial in range(args.first, args.first + args.trials):
            result = run_trial(args, trial, Path(scratch) / f"trial-{trial}")
            results.append(result)
            status = "ok" if result["ok"] else "FAIL " + "; ".join(result["problems"])
            kills = ", ".join(f"{f['node']}@{f['at_phase']}({f['progress']})"
                              for f in result["fired"])  # fmt: skip
            print(f"trial {trial:>2} {result['seconds']:>6.1f}s kills [{kills}] {status}",
                  flush=True)  # fmt: skip
            write_results(args, results, final=False)  # a campaign cut short still counts
    failed = write_results(args, results, final=True)
    return 1 if failed else 0


def write_results(args: argparse.Namespace, results: list[dict[str, Any]], *, final: bool) -> int:
    """Write (with ``--json``) the totals so far, print them at the end; the failed count."""
    failed = [r for r in results if not r["ok"]]
    totals = {
        "trials": len(results),
        "failed": len(failed),
        "kills": sum(1 for r in results for f in r["fired"]),
        "lost_labels": sum(int(r["lost_labels"]) for r in results),
        "unbalanced": sum(1 for r in results if r["balanced"] is not True),
        "labels_checked": sum(int(r["labels"] or 0) for r in results),
        "seed": args.seed,
    }
    if final:
        print(json.dumps(totals))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"totals": totals, "trials": results}, indent=2) + "\n")
    return len(failed)


if __name__ == "__main__":
    raise SystemExit(main())
