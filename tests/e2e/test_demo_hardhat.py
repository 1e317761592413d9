"""The demo on Hardhat instead of anvil: a small network, run until every payout is claimed.

The demo exercises everything chain-facing a real network does (deploying, funding,
staking, the clock moved per phase, reverts decoded, events synced by separate node
processes), so it is the check that labelnet runs on "a local Anvil or Hardhat chain".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.demo.runner import DemoOptions, default_datasets_dir, run_demo

pytestmark = pytest.mark.timeout(300)


def test_the_demo_on_hardhat_settles_and_every_payout_is_claimed(tmp_path: Path) -> None:
    if not (default_datasets_dir() / "web").is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    options = DemoOptions(
        dataset="web",
        items=40,
        annotators=3,
        spammers=0,
        validators=3,
        out=tmp_path,
        quiet=True,
        chain="hardhat",
    )
    assert run_demo(options).is_file()
    devnet = json.loads((tmp_path / "network" / "devnet" / "devnet.json").read_text())
    assert devnet["engine"] == "hardhat"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["items"] == 40
    assert summary["pay"]["total_paid"] > 0
    assert summary["accounting"] == {"market_balance": "0", "still_owed": "0", "balanced": True}
    for validator in summary["slashing"]:
        if validator["adversary"]:
            assert validator["slashed"] > 0
        else:
            assert validator["slashed"] == 0 and validator["rewarded"] > 0
