"""``scripts/bench_review.py`` on two small real sets: the JSON has the issue's shape, with
integer token amounts, and its figures agree with each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.consensus.helpers import DATASETS

ROOT = Path(__file__).resolve().parents[2]


def test_the_json_has_the_issues_shape(tmp_path: Path) -> None:
    sets = tmp_path / "sets"
    sets.mkdir()
    for name in ("rte", "ws_amt"):
        (sets / name).symlink_to(DATASETS / name)
    out = tmp_path / "review.json"
    script = str(ROOT / "scripts" / "bench_review.py")
    subprocess.run(
        [sys.executable, script, "--datasets", str(sets), "--json", str(out), "--threshold", "1"],
        check=True,
        capture_output=True,
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [entry["name"] for entry in data["sets"]] == ["rte", "ws_amt"]
    keys = {
        "name",
        "contested",
        "contested_errors_before",
        "contested_errors_after",
        "accuracy_before",
        "accuracy_after",
    }
    for entry in data["sets"]:
        assert keys <= set(entry)
        # Share 0.1 of rte's 800 and ws_amt's 300 items, filled (contested_below = 1).
        assert entry["contested"] == {"rte": 80, "ws_amt": 30}[entry["name"]]
        assert 0 <= entry["contested_errors_after"] <= entry["contested_errors_before"]
        assert entry["accuracy_after"] > entry["accuracy_before"]
    assert set(data["reviewers"]) == {"coherent", "lazy", "careless"}
    for row in data["reviewers"].values():
        assert set(row) == {"pay_per_review", "net_stake_change"}
        assert all(isinstance(value, int) for value in row.values())
    reviewers = data["reviewers"]
    assert reviewers["lazy"]["pay_per_review"] < reviewers["coherent"]["pay_per_review"]
    assert reviewers["careless"]["net_stake_change"] < 0 < reviewers["coherent"]["net_stake_change"]
