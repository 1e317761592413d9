"""``labelnet demo --kind text`` end to end (issue #20): the CLI, a devnet, real node
processes with their own stores, the synthetic crowd's noisy oracles and random spammers,
an open task of the ``text`` kind, to the last claim.

One kind only: every kind's run takes as long, and the others are covered at the roles
level (tests/roles/test_kind_tasks.py: a task of each kind through the real validators).
``text`` is the cheapest to label and to score.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[2]


def test_demo_kind_text_claims_every_payout(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "client.cli.main",
            "demo",
            "--kind",
            "text",
            "--items",
            "40",
            "--annotators",
            "4",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    # --json: stdout is one JSON document, the summary the run also wrote, and its report.
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(run.stdout) == {**summary, "report": str(out / "report.html")}
    assert (summary["kind"], summary["items"], summary["seated"]) == ("text", 40, False)
    assert summary["metric"] == "exact match (loose)" and summary["baseline_name"] == "mode"
    assert summary["consensus"] >= summary["baseline"]
    assert summary["payouts"] > 0 and summary["all_claimed"] is True
    assert summary["claims"] == summary["payouts"]
    spammers = [p for p in summary["annotators"] if p["name"].startswith("spammer")]
    assert len(spammers) == 2 and all(p["paid"] == 0 for p in spammers)
    assert "exact match (loose)" in (out / "report.html").read_text()


def test_demo_refuses_an_unknown_kind(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "client.cli.main",
            "demo",
            "--kind",
            "video",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode != 0
    assert "--kind takes one of boxes, spans, text, pairwise" in run.stdout + run.stderr
