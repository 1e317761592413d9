#!/usr/bin/env python3
"""End-to-end benchmark: a network of node processes labels a task, posting to last claim.

    scripts/bench_e2e.py [--annotators 16] [--items 3750] [--per-worker 1875] [--json FILE]

Runs the demo network (``client.demo``) on a synthetic crowd set large enough for the
target: ``annotators`` workers of accuracies 0.55..0.95 each answer ``per-worker`` of
``items`` items (5 classes), replayed by one annotator node each, with 3 validator nodes
and one requester node; every 10th item's gold is committed and revealed. Node start-up
(process launch, imports, first sync) happens before the clock starts; the clock runs from
the requester storing the task content to the last payout claimed, and includes the
commit, reveal, attest and finalize transactions. The devnet clock is moved to each
deadline as soon as a phase is complete (see client/demo/runner.py).

Besides the seconds, it reports each phase's own duration and every node's peak resident
memory (``VmHWM`` of each ``labelnet node start`` process, read on every poll of the phase
driver, so a node that dies keeps the last figure read). A run that stops (a phase times
out, a node exits) still writes its JSON, with the phase it stopped in and the error, so a
large run records how far it got.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.dataset import write_synthetic  # noqa: E402
from client.demo.runner import DemoOptions, DemoRun, run_demo  # noqa: E402

MIB = 1024 * 1024


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size (``VmHWM``), or None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


@dataclass
class Watch:
    """What the phase hook saw: the phase in progress, the timings, each node's peak RSS."""

    phase: str = "start"
    done: int = 0
    total: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    last_sample: float = 0.0

    def __call__(self, run: DemoRun, phase: str, done: int, total: int) -> None:
        self.phase, self.done, self.total = phase, done, total
        self.timings = dict(run.timings)
        now = time.monotonic()
        if now - self.last_sample < 1.0 and done < total:
            return
        self.last_sample = now
        for node in run.nodes:
            self.roles[node.name] = node.role
            if node.process is None:
                continue
            rss = peak_rss_bytes(node.process.pid)
            if rss is not None:
                self.peak_rss[node.name] = max(rss, self.peak_rss.get(node.name, 0))


def durations(timings: dict[str, float]) -> dict[str, float]:
    """Each phase's own seconds, from the seconds-after-posting at which each completed."""
    out: dict[str, float] = {}
    previous = 0.0
    for phase, at in timings.items():
        if phase == "nodes_ready":
            continue
        out[phase] = round(at - previous, 2)
        previous = at
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument("--items", type=int, default=3750)
    parser.add_argument("--per-worker", type=int, default=1875)
    parser.add_argument("--validators", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.5, help="node poll interval (s)")
    parser.add_argument(
        "--labeler-batch",
        type=int,
        default=DemoOptions.labeler_batch,
        help="items each replaying annotator node labels per duty tick",
    )
    parser.add_argument(
        "--phase-timeout", type=float, default=1800.0, help="seconds any one phase may take"
    )
    parser.add_argument(
        "--open",
        action="store_true",
        help="post an open task (v1's rules) instead of a seated one (assignment, the default)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "e2e")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    watch = Watch()
    error: str | None = None
    load_before = os.getloadavg()
    began = time.monotonic()
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
            phase_timeout=args.phase_timeout,
            labeler_batch=args.labeler_batch,
            seated=not args.open,
            out=args.out,
            quiet=True,
        )
        try:
            run_demo(options, on_poll=watch)
        # A stopped run is a result: record it, whether it failed or was stopped (SIGTERM
        # arrives as SystemExit, see client.demo.network.terminated_as_exit).
        except (Exception, SystemExit, KeyboardInterrupt) as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
    total = time.monotonic() - began
    timings = dict(watch.timings)
    if error is None:  # the hook last ran before the claim phase was timed: take the run's
        summary = json.loads((args.out / "summary.json").read_text())
        timings = dict(sorted(summary["timings"].items(), key=lambda kv: float(kv[1])))
        timings.pop("claimed", None)  # the same instant as "claim"
    by_role: dict[str, int] = {}
    for name, rss in watch.peak_rss.items():
        role = watch.roles[name]
        by_role[role] = max(rss, by_role.get(role, 0))
    result: dict[str, object] = {
        "command": " ".join(sys.argv),
        "completed": error is None,
        "stopped_in": None if error is None else watch.phase,
        "stopped_at": None if error is None else f"{watch.done}/{watch.total}",
        "error": error,
        "phases_completed_at": {k: round(v, 2) for k, v in timings.items()},
        "phase_seconds": durations(timings),
        "peak_rss_mib": {name: round(rss / MIB, 1) for name, rss in watch.peak_rss.items()},
        "peak_rss_mib_by_role": {role: round(rss / MIB, 1) for role, rss in by_role.items()},
        "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds_including_startup": round(total, 1),
    }
    if error is None:
        result.update(
            nodes=summary["nodes"],
            labels=summary["labels"],
            seconds=round(summary["seconds"], 2),
            accuracy=round(summary["accuracy"]["consensus"], 4),
            majority_vote_accuracy=round(summary["accuracy"]["majority_vote"], 4),
            phases=summary["timings"],
            gas=summary["gas"],
        )
        seconds = float(summary["seconds"])
        print(f"{'nodes':<34}{summary['nodes']:>12}")
        print(f"{'labels':<34}{summary['labels']:>12,}")
        print(f"{'seconds (post -> last claim)':<34}{seconds:>12.2f}")
        print(f"{'labels / second':<34}{summary['labels'] / seconds:>12,.0f}")
        print(f"{'consensus accuracy':<34}{summary['accuracy']['consensus']:>12.4f}")
        print(f"{'majority vote accuracy':<34}{summary['accuracy']['majority_vote']:>12.4f}")
    else:
        print(f"STOPPED in phase {watch.phase} at {watch.done}/{watch.total}: {error}")
    print(f"{'phase':<22}{'done at (s)':>12}{'own (s)':>12}")
    own = durations(timings)
    for phase, at in timings.items():
        print(f"  {phase:<20}{at:>12.2f}{own.get(phase, 0.0):>12.2f}")
    print(f"{'node':<22}{'peak RSS (MiB)':>16}")
    for name, rss in sorted(watch.peak_rss.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<20}{rss / MIB:>16.1f}")
    print(f"  {'(bench driver)':<20}{result['driver_peak_rss_mib']:>16}")
    print(f"{'load average before/after':<34}{load_before[0]:>6.2f} / {os.getloadavg()[0]:.2f}")
    print(f"{'wall incl. devnet + node start':<34}{total:>12.1f}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if error is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
