"""A reviewed task's result (node/consensus/reviewed.py, docs/review.md §9): the reviewed
answers decide their items, the result lists every vote, the payout tree holds the review
leaves (which the market's total leaves out), and the ``result@3`` root parses and rebuilds
its root; the same task without review keeps ``result@2``."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from node.consensus.reviewed import RevealedReview, ReviewInput
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.errors import InvalidParameterError, ResultDocumentError
from node.protocol.labels import LabelBatch
from node.protocol.result import parse_result
from node.protocol.result_pages import RESULT_V1, RESULT_V2, RESULT_V3, page_document
from node.protocol.review import ReviewParams, read_review_leaf, vote_batch
from node.protocol.rules import RewardParams

CLASSES = ("cat", "dog")
ITEMS = [f"i{n:02d}" for n in range(20)]
TRUTH = {item: CLASSES[n % 2] for n, item in enumerate(ITEMS)}
ANNOTATORS = [Account.from_key("0x" + f"{n:02x}" * 32).address for n in (0x31, 0x32, 0x33)]
REVIEWERS = [Account.from_key("0x" + f"{n:02x}" * 32).address for n in (0x41, 0x42, 0x43)]
PARAMS = ReviewParams.create(10, 30, contested_share="0.2")  # 4 contested items
REWARDS = RewardParams.create(reward_per_label=100, reward_pool=10_000, significance_z="0")


def batches() -> list[LabelBatch]:
    """One annotator right everywhere, two that flip a third of the items each: the items
    they flip together are decided against the truth by the consensus."""
    flip = {"cat": "dog", "dog": "cat"}
    second = {i: flip[v] if n % 3 == 0 else v for n, (i, v) in enumerate(TRUTH.items())}
    third = {i: flip[v] if n % 3 != 2 else v for n, (i, v) in enumerate(TRUTH.items())}
    return [
        LabelBatch.create(7, who, labels.items())
        for who, labels in zip(ANNOTATORS, (TRUTH, second, third), strict=True)
    ]


def spec(review: ReviewInput | None) -> TaskSpec:
    return TaskSpec(
        7, REWARDS, classes=CLASSES, algorithm="mv@1", result_schema=RESULT_V2, review=review
    )


def contested() -> list[str]:
    """The contested set, as the unreviewed result shows it: the least confident 4."""
    rows = {row["item"]: row for row in _items(run_consensus(spec(None), batches()))}
    ranked = sorted(rows, key=lambda item: (rows[item]["confidence"], item))
    return sorted(ranked[:4])


def _items(outcome: ConsensusOutcome) -> list[dict[str, Any]]:
    """The item rows of a paged result, read from its pages (with their review entries)."""
    pages = {compute_cid(page): page for page in outcome.pages}
    rows: list[dict[str, Any]] = []
    for cid in outcome.document["item_pages"]:
        page = load_json(pages[cid])
        assert isinstance(page, dict) and isinstance(page["items"], list)
        rows += [entry for entry in page["items"] if isinstance(entry, dict)]
    return rows


def review_input(items: list[str]) -> ReviewInput:
    right = vote_batch(7, REVIEWERS[0], {item: TRUTH[item] for item in items})
    invalid = vote_batch(7, REVIEWERS[1], {items[0]: "cat"})  # one vote only: no reveal
    return ReviewInput(
        PARAMS,
        (
            RevealedReview(REVIEWERS[0], 5, right, "bafy-right"),
            RevealedReview(REVIEWERS[1], 5, invalid, "bafy-partial"),
            RevealedReview(REVIEWERS[2], 5, None, None),
        ),
        hidden_gold={items[1]: TRUTH[items[1]], "not-contested": "cat"},
    )


def test_reviewed_answers_decide_and_every_vote_is_in_the_result() -> None:
    items = contested()
    plain = run_consensus(spec(None), batches())
    reviewed = run_consensus(spec(review_input(items)), batches())

    assert plain.document["schema"] == RESULT_V2 and "review" not in plain.document
    root = reviewed.document
    assert root["schema"] == RESULT_V3
    section = root["review"]
    assert section["rule"] == "review@1" and section["contested"] == 4
    assert section["hidden_gold_checks"] == 1 and "items" not in section
    by_account = {row["account"]: row for row in section["reviewers"]}
    good, partial, silent = (by_account[a] for a in REVIEWERS)
    assert (good["revealed"], good["eligible"], good["coherent"]) == (True, True, 4)
    assert (partial["revealed"], silent["revealed"]) == (False, False)
    assert partial["slashed"] == silent["slashed"] == str(4 * 30)
    assert good["votes_cid"] == "bafy-right"

    rows = {row["item"]: row for row in _items(reviewed)}
    before = {row["item"]: row for row in _items(plain)}
    assert any(before[i]["value"] != TRUTH[i] for i in items)  # review has work to do
    order = [row["account"].lower() for row in section["reviewers"]]
    for item in ITEMS:
        if item not in items:
            assert "review" not in rows[item]
            continue
        entry = rows[item]["review"]
        assert isinstance(entry, dict)
        assert rows[item]["value"] == entry["value"] == TRUTH[item]
        assert rows[item]["gold"] is True  # decided as gold is
        assert entry["votes"][order.index(REVIEWERS[0].lower())] == TRUTH[item]
        assert entry["votes"].count(None) == 2
        assert entry["hidden_gold"] == (item == items[1])

    # The payout tree: the annotators' leaves and one review leaf per seated reviewer; the
    # market's total counts only the former.
    document = parse_result(reviewed.document_bytes, 7)
    document.verify(reviewed.payout_root, reviewed.total_payout)
    leaves = dict(reviewed.payouts.leaves)
    assert all(read_review_leaf(leaves[a]) is not None for a in REVIEWERS)
    annotator_total = sum(v for a, v in leaves.items() if a not in REVIEWERS)
    assert reviewed.total_payout == annotator_total == int(root["total_payout"])
    assert read_review_leaf(leaves[REVIEWERS[2]]) == (0, 4 * 30, 0)
    assert set(review_leaves_of(reviewed)) == set(REVIEWERS)


def review_leaves_of(outcome: ConsensusOutcome) -> list[str]:
    return [a for a, amount in outcome.payouts.leaves if read_review_leaf(amount) is not None]


def test_no_reviewer_changes_no_answer_but_still_publishes_the_round() -> None:
    items = contested()
    plain = run_consensus(spec(None), batches())
    empty = run_consensus(spec(ReviewInput(PARAMS, ())), batches())
    assert empty.document["schema"] == RESULT_V3
    assert empty.document["review"]["reviewers"] == []
    assert empty.total_payout == plain.total_payout
    assert {r["item"]: r["value"] for r in _items(empty)} == {
        r["item"]: r["value"] for r in _items(plain)
    }
    for row in _items(empty):
        if row["item"] in items:
            assert row["review"] == {
                "value": None,
                "hidden_gold": False,
                "tally": {},
                "votes": [],
            }


def test_a_review_section_is_in_result_3_roots_only() -> None:
    reviewed = run_consensus(spec(review_input(contested())), batches())
    plain = run_consensus(spec(None), batches())
    without = {k: v for k, v in reviewed.document.items() if k != "review"}
    with pytest.raises(ResultDocumentError):
        parse_result(canonical_json(without), 7)
    with pytest.raises(ResultDocumentError):
        parse_result(canonical_json({**plain.document, "review": {}}), 7)
    with pytest.raises(ResultDocumentError):
        page_document({"task": 7, "items": []}, RESULT_V1)


def test_a_reviewed_task_needs_a_paged_result() -> None:
    task = TaskSpec(7, REWARDS, classes=CLASSES, algorithm="mv@1", review=ReviewInput(PARAMS, ()))
    with pytest.raises(InvalidParameterError):
        run_consensus(task, batches())
