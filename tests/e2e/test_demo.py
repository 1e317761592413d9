"""The demo network end to end: separate node processes, a real chain, real crowd answers.

A smaller demo than ``labelnet demo`` (8 replayed workers, 2 spammers, 3 validators of which
one lies, >= 200 items of a real crowd set), asserting what the network promises: consensus
at least as accurate as majority vote, spammers paid less than any honest annotator, the
lying validator slashed, and every token accounted for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.demo.runner import DemoOptions, default_datasets_dir, run_demo

pytestmark = pytest.mark.timeout(600)

DATASET, ITEMS, ANNOTATORS = "web", 300, 8
"""web's eight most active workers all label far better than chance (kappa 0.68..0.77
against gold). In zheng_d_product, the demo's default, four of the top five are
near-constant or coin-flip workers on a task where 88% of items are one class: "paid less
than any honest annotator" would compare spammers with workers the protocol rightly pays
nothing. Checked offline over 8 spammer seeds: consensus beats majority vote by 5..13
points and every honest worker is paid in all of them (smaller cuts are not that stable)."""


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if not (default_datasets_dir() / DATASET).is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    out = tmp_path_factory.mktemp("demo")
    options = DemoOptions(
        dataset=DATASET,
        items=ITEMS,
        annotators=ANNOTATORS,
        spammers=2,
        validators=3,
        out=out,
        quiet=True,
    )
    report = run_demo(options)
    assert report.is_file()
    document: dict[str, object] = json.loads((out / "summary.json").read_text())
    return document


def test_demo_consensus_is_at_least_as_accurate_as_majority_vote(
    summary: dict[str, object],
) -> None:
    accuracy = summary["accuracy"]
    assert isinstance(accuracy, dict)
    assert summary["items"] >= 200  # type: ignore[operator]
    assert accuracy["consensus"] >= accuracy["majority_vote"]
    assert accuracy["consensus"] > 0.8


def test_demo_pays_spammers_less_than_any_honest_annotator(summary: dict[str, object]) -> None:
    pay = summary["pay"]
    assert isinstance(pay, dict)
    assert summary["spammers"] == 2 and summary["annotators"] == ANNOTATORS
    assert pay["skilled_annotators"] == ANNOTATORS
    assert pay["spammer_max_per_label"] < pay["honest_min_per_label"]


def test_demo_slashes_the_lying_validator_only(summary: dict[str, object]) -> None:
    slashing = summary["slashing"]
    assert isinstance(slashing, list)
    for validator in slashing:
        if validator["adversary"]:
            assert validator["slashed"] > 0
        else:
            assert validator["slashed"] == 0 and validator["rewarded"] > 0


def test_demo_accounts_for_every_token(summary: dict[str, object]) -> None:
    accounting = summary["accounting"]
    assert isinstance(accounting, dict)
    assert accounting["balanced"] is True
    assert accounting["market_balance"] == accounting["still_owed"]


def test_demo_writes_a_self_contained_report(summary: dict[str, object], tmp_path: Path) -> None:
    from client.demo.report import render

    html = render(summary)
    assert "<svg" in html and "http://" not in html and "https://" not in html
