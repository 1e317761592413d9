"""``scripts/selection_bootstrap.py``: the rule's winner over resamples of its units, on
units small enough to check by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import selection_bootstrap as sb  # noqa: E402


def unit(name: str, a: float, b: float, ck: float = 0.8, mv: float = 0.8) -> dict[str, object]:
    return {
        "name": name,
        "a": {"accuracy": a},
        "b": {"accuracy": b},
        "crowdkit_ds": {"accuracy": ck},
        "labelnet_mv": {"accuracy": mv},
    }


def test_a_candidate_better_on_every_unit_wins_every_resample() -> None:
    real = [unit(f"r{i}", 0.85, 0.82) for i in range(3)]
    grid = [unit(f"g{i}", 0.9, 0.8) for i in range(5)]
    out = sb.bootstrap(real, grid, ["a", "b"], 200, np.random.default_rng(0), against="b")
    assert out["wins"] == {"a": 200}
    # a - b is 3 points on every real set and 10 on every regime: (3 + 10) / 2 on any draw.
    low, high = out["paired_90"]["a"]
    assert abs(low - 6.5) < 1e-9 and abs(high - 6.5) < 1e-9


def test_a_split_decision_is_reported_as_one() -> None:
    """a wins one real set by 20 points, b the other by 20: each resample of the two real
    sets picks whichever it drew more of, so both win often and the interval spans 0."""
    real = [unit("r0", 0.9, 0.7), unit("r1", 0.7, 0.9)]
    grid = [unit("g0", 0.8, 0.8)]
    out = sb.bootstrap(real, grid, ["a", "b"], 400, np.random.default_rng(1), against="b")
    assert out["wins"]["a"] > 50 and out["wins"]["b"] > 50
    low, high = out["paired_90"]["a"]
    assert low < 0 < high


def test_the_command_reads_a_bench_json(tmp_path: Path) -> None:
    result = {"datasets": [unit("r0", 0.85, 0.82)], "grid": [unit("g0", 0.9, 0.8)]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    out = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "selection_bootstrap.py"),
            str(path),
            "--candidates",
            "^[ab]$",
            "--rounds",
            "50",
            "--against",
            "b",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 real sets, 1 regimes, 0 attacked units, 50 resamples" in run.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["wins"] == {"a": 50}
    assert abs(report["scores"]["a"] - report["scores"]["b"] - 6.5) < 1e-9


def test_the_attacked_half_is_drawn_a_set_at_a_time() -> None:
    """Two real sets under attack: on s0's three attacks a wins by 30 points, on s1's b by
    30. Drawn a set at a time, a resample holds s0 twice, s1 twice or one of each, so the
    attacked half's a - b is +30, -30 or 0 (then +3 from the other halves), never the
    +10 or -10 that drawing single attacks would also give; and the rule's score has three
    equal halves."""
    real = [unit("r0", 0.85, 0.82)]
    grid = [unit("g0", 0.83, 0.80)]
    attacked = [unit(f"s0:biased:{i}", 0.9, 0.6, mv=0.5) for i in range(3)]
    attacked += [unit(f"s1:biased:{i}", 0.6, 0.9, mv=0.5) for i in range(3)]
    out = sb.bootstrap(
        real, grid, ["a", "b"], 300, np.random.default_rng(2), against="b", attacked=attacked
    )
    low, high = out["paired_90"]["a"]
    assert abs(low - (3 + 3 - 30) / 3) < 1e-9 and abs(high - (3 + 3 + 30) / 3) < 1e-9
    # a: 5 points over crowd-kit DS on the real set, 3 on the regime, (10 - 20) / 2 attacked
    assert abs(sb.rule_score(real, grid, "a", attacked) - (5 + 3 - 5) / 3) < 1e-9
    assert sb.units({"attacked": attacked, "attacked_variants": "held-out"}, ["a"])[2] == []
