#!/usr/bin/env python3
"""How sure the selection rule is of its winner: the rule's scores over a benchmark JSON,
and the rule applied to bootstrap resamples of its units (issue #15).

    scripts/selection_bootstrap.py RESULT.json --candidates REGEX [--rounds 2000]
                                   [--seed 0] [--against KEY] [--json FILE]

The rule (``consensus_selection.rule_score``) averages a mean over the real sets, a
mean over the grid's regimes and, where the JSON has them (``--attacked selection``), a
mean over the attacked units. Each round draws each half with replacement on its own (the
attacked units a real set at a time: the eighteen attacks of one set are not eighteen
independent units) and records which candidate the rule picks on the draw; ``--against``
adds, for every candidate, the 90% interval of its score minus that key's on the same draws
(a paired difference). Two candidates whose interval straddles zero are ones the rule
cannot tell apart on this many units.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from consensus_selection import Unit, combine_halves, rule_score, unit_score  # noqa: E402


def units(result: dict[str, Any], keys: list[str]) -> tuple[list[Unit], list[Unit], list[Unit]]:
    """The real sets, regimes and (if they are the rule's) attacked units of a
    ``bench_consensus.py`` JSON that every key and crowd-kit DawidSkene were run on."""

    def usable(unit: Unit) -> bool:
        return "crowdkit_ds" in unit and all(k in unit for k in keys)

    attacked = result.get("attacked", []) if result.get("attacked_variants") == "selection" else []
    return (
        [u for u in result.get("datasets", []) if usable(u)],
        [u for u in result.get("grid", []) if usable(u)],
        [u for u in attacked if usable(u)],
    )


def bootstrap(
    real: list[Unit],
    grid: list[Unit],
    keys: list[str],
    rounds: int,
    rng: np.random.Generator,
    against: str | None = None,
    attacked: Sequence[Unit] = (),
) -> dict[str, Any]:
    """Winner counts over ``rounds`` resamples and, with ``against``, paired intervals."""
    halves = [
        np.array([[unit_score(u, k) for k in keys] for u in part]) for part in (real, grid) if part
    ]
    groups: list[np.ndarray] = []
    if attacked:
        by_set: dict[str, list[int]] = {}
        for index, unit in enumerate(attacked):
            by_set.setdefault(str(unit["name"]).split(":")[0], []).append(index)
        scored = np.array([[unit_score(u, k) for k in keys] for u in attacked])
        groups = [scored[members] for members in by_set.values()]
    wins: Counter[str] = Counter()
    paired: list[np.ndarray] = []
    base = keys.index(against) if against is not None else None
    for _ in range(rounds):
        means = [h[rng.integers(len(h), size=len(h))].mean(axis=0) for h in halves]
        if groups:
            drawn = rng.integers(len(groups), size=len(groups))
            means.append(np.concatenate([groups[g] for g in drawn]).mean(axis=0))
        scores = combine_halves(means)
        wins[keys[int(np.argmax(scores))]] += 1
        if base is not None:
            paired.append(scores - scores[base])
    out: dict[str, Any] = {"rounds": rounds, "wins": dict(wins.most_common())}
    if paired:
        diffs = np.array(paired)
        low, high = np.percentile(diffs, [5, 95], axis=0)
        out["against"] = against
        out["paired_90"] = {
            k: [float(low[j]), float(high[j])] for j, k in enumerate(keys) if k != against
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path, help="a bench_consensus.py --json file")
    parser.add_argument("--candidates", required=True, help="regex over the result's keys")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--against", default=None, help="key for paired differences")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = json.loads(args.result.read_text(encoding="utf-8"))
    first = (result.get("datasets") or result.get("grid") or [{}])[0]
    keys = sorted(k for k in first if re.search(args.candidates, k))
    if args.against is not None and args.against not in keys:
        keys.append(args.against)
    if not keys or args.rounds < 1:
        parser.error("no candidate matches, or --rounds < 1")
    real, grid, attacked = units(result, keys)
    if not real and not grid:
        parser.error("no unit has every candidate and crowd-kit DawidSkene")
    report = bootstrap(
        real, grid, keys, args.rounds, np.random.default_rng(args.seed), args.against, attacked
    )
    report["scores"] = {k: rule_score(real, grid, k, attacked) for k in keys}
    print(
        f"{len(real)} real sets, {len(grid)} regimes, {len(attacked)} attacked units, "
        f"{args.rounds} resamples"
    )
    print("candidate                 rule score  wins   paired 90% vs " + str(args.against))
    for key in sorted(keys, key=lambda k: -report["scores"][k]):
        interval = report.get("paired_90", {}).get(key)
        shown = f"[{interval[0]:+.3f}, {interval[1]:+.3f}]" if interval else ""
        wins = report["wins"].get(key, 0)
        print(f"{key:24s}  {report['scores'][key]:+9.3f}  {wins:5d}  {shown}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
