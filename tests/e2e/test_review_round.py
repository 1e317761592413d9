"""A review round end to end (issue #17 item 4): ``labelnet demo`` with three reviewing
validator nodes on a real anvil, each its own ``labelnet node start`` process.

An open categorical task of 200 zheng_d_product items with a ``review`` section (10%: 20
contested items); the requester opens the review with a hidden review gold; annotators
replay the crowd; three validators review with review programs (a judge from the gold at
0.95, a lazy one voting the consensus, a careless one at random), commit and reveal in the
board's windows; the validators attest the reviewed result (``result@3``) after the hidden
gold deadline; every reviewer settles its leaf and the last one finishes the review.

Two reviewer nodes are killed with SIGKILL and restarted mid-round: the judge as the commit
window opens (around its vote commitment) and the lazy one once every commitment is on the
board (before its reveal). The round still ends with every vote revealed and one bond each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.demo.runner import DemoOptions, DemoRun, default_datasets_dir, run_demo

pytestmark = pytest.mark.timeout(900)


def test_reviewers_fix_contested_items_and_are_paid_as_review_1_says(tmp_path: Path) -> None:
    if not (default_datasets_dir() / "zheng_d_product").is_dir():
        pytest.fail(f"the shared data sets are missing: {default_datasets_dir()}")
    options = DemoOptions(
        items=200,
        annotators=5,
        spammers=1,
        validators=3,
        lying_validators=0,
        seated=False,
        reviewers=("judge:0.95", "lazy", "careless"),
        out=tmp_path,
        quiet=True,
    )
    killed: list[tuple[str, str]] = []

    def crash(run: DemoRun, phase: str, done: int, total: int) -> None:
        victim = {"review commit": "validator-1", "review reveal": "validator-2"}.get(phase)
        if victim is not None and (phase, victim) not in killed and done < total:
            (node,) = [n for n in run.nodes if n.name == victim]
            node.restart()  # SIGKILL, then the same data directory again
            killed.append((phase, victim))

    run_demo(options, on_poll=crash)
    assert killed == [("review commit", "validator-1"), ("review reveal", "validator-2")]
    summary = json.loads((tmp_path / "summary.json").read_text())
    review = summary["review"]
    assert review is not None and review["finished"] is True

    # The round: 20 contested items, every reviewer revealed one vote per item, and the
    # result lists them all (votes bought = reviewers x contested).
    assert review["contested"] == len(review["contested_items"]) == 20
    assert review["votes_bought"] == 3 * 20
    assert review["hidden_gold_checks"] > 0
    # The reviewed answers entered the result: the contested errors fell by at least half.
    before, after = review["contested_errors_before"], review["contested_errors_after"]
    assert before > 0 and 2 * after <= before
    accuracy = summary["accuracy"]
    assert accuracy["consensus"] > accuracy["consensus_before_review"]

    # review@1's money: the judge is eligible and paid, the lazy reviewer earns less per
    # review, the careless one loses stake; each balance moved by exactly pay - slashed
    # (the bond came back less the slash), and the board holds nothing at the end.
    judge, lazy, careless = review["reviewers"]
    assert (judge["kind"], lazy["kind"], careless["kind"]) == ("judge", "lazy", "careless")
    assert judge["eligible"] and int(judge["pay"]) > 0 and int(judge["net_change"]) > 0
    assert int(lazy["net_change"]) < int(judge["net_change"])
    assert int(careless["net_change"]) < 0
    for reviewer in review["reviewers"]:
        assert int(reviewer["net_change"]) == int(reviewer["pay"]) - int(reviewer["slashed"])
    assert int(review["board_balance"]) == 0
    # Gas as the receipts say: one open and one finish, a commit, a reveal and a settle per
    # reviewer (each at least the 21,000 of a transaction), the requester's gold reveal; the
    # finish is permissionless, so two nodes may race to send it (the loser reverts).
    gas = review["gas"]
    calls = {name: entry["calls"] for name, entry in gas.items()}
    assert calls.pop("finishReview") >= 1
    assert calls == {
        "openReview": 1,
        "commitReview": 3,
        "revealReview": 3,
        "revealReviewGold": 1,
        "settle": 3,
    }
    assert all(entry["gas"] >= 21_000 * entry["calls"] for entry in gas.values())

    # The annotators were paid through the market, whose books balance.
    assert summary["pay"]["total_paid"] > 0
    assert summary["accounting"]["balanced"] is True
