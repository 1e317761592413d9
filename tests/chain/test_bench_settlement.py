"""``scripts/bench_settlement.py`` on two scenarios: the JSON has the issue's shape, with
integer token amounts, and the done-when holds on figures the test recomputes itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_settlement_scenarios_json(tmp_path: Path) -> None:
    out = tmp_path / "settlement.json"
    script = str(ROOT / "scripts" / "bench_settlement.py")
    subprocess.run(
        [sys.executable, script, "--scenarios", "happy,cartel_two_thirds", "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    rows = json.loads(out.read_text(encoding="utf-8"))["scenarios"]
    assert [row["name"] for row in rows] == ["happy", "cartel_two_thirds"]
    amounts = ("reward_pool", "requester_refund", "owed_to_annotators", "paid_to_annotators")
    for row in rows:
        for key in (*amounts, "pay_per_accepted_label", "posted_rate", "slashed"):
            assert isinstance(row[key], int), key
        assert row["seated"] == 9 and row["k"] == 3
        assert row["max_labels_per_item"] <= row["k"]
        assert row["paid_to_annotators"] == row["owed_to_annotators"] > 0
        assert row["pay_per_accepted_label"] == row["posted_rate"]
        assert row["requester_refund"] == row["reward_pool"] - row["owed_to_annotators"]
        assert row["final_root_honest"] and row["ok"]
        assert row["gas"]["finalize"] > 0
    happy, cartel = rows
    assert (happy["final_round"], happy["slashed"]) == (0, 0)
    # The cartel (validators of 3000 and 1000 LABEL) loses 10% of its round-0 weight.
    assert (cartel["final_round"], cartel["slashed"]) == (1, 400 * 10**18)
