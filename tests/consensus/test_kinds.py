"""Boxes, spans, text and pairwise results (issue #20): hand-checkable values, the evidence
rule against luck, determinism, and the pinned bytes of each kind's result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node.consensus.kinds import kind_result
from node.consensus.kinds.objects import median
from node.consensus.kinds.pairwise import bradley_terry
from node.consensus.kinds.text import levenshtein
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.annotation import AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.result import parse_result
from node.protocol.result_pages import RESULT_V2
from node.protocol.rules import RewardParams
from tests.consensus.helpers import address

NO_Z = RewardParams.create(10, 10_000, significance_z="0")
PARAMS = RewardParams.create(10, 10**9)
CLASSES = ("car", "person")
CID = [f"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvy{c}" for c in "abcdef"]
Rows = list[list[tuple[str, JsonValue]]]


def batches(rows: Rows, reverse: bool = False) -> list[LabelBatch]:
    out = [LabelBatch.create(1, address(i), labels) for i, labels in enumerate(rows) if labels]
    return out[::-1] if reverse else out


def by_account(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["account"][-1]: row for row in document["annotators"]}


BOXES: Rows = [
    [("i1", [[10, 10, 50, 50, "car"]]), ("i2", [])],
    [("i1", [[12, 10, 50, 52, "car"]]), ("i2", [])],
    [("i1", [[11, 9, 49, 50, "person"], [200, 200, 220, 230, "car"]]), ("i2", [])],
]


def test_boxes_match_vote_and_take_the_median() -> None:
    doc = kind_result(TaskKind.BOXES, 1, NO_Z, batches(BOXES), classes=CLASSES).document
    assert doc["kind"] == "boxes" and doc["algorithm"]["id"] == "boxes@1"
    items = {e["item"]: e["value"] for e in doc["items"]}
    # x0 median of 10, 11, 12; y0 of 9, 10, 10; x1 of 49, 50, 50; y1 of 50, 50, 52; car 2:1;
    # the stray box of the third annotator is one vote of three.
    assert items == {"i1": [[11, 10, 50, 50, "car"]], "i2": []}
    rows = by_account(doc)
    assert (rows["1"]["objects"], rows["1"]["matched"], rows["1"]["precision"]) == (
        1,
        1,
        "1.000000000",
    )
    assert (rows["3"]["objects"], rows["3"]["matched"]) == (2, 0)
    assert rows["3"]["precision"] == "0.000000000" and rows["3"]["recall"] == "0.000000000"
    assert rows["3"]["payout"] == "0"


def test_a_gold_box_is_the_consensus_on_its_item() -> None:
    gold = {"i1": [[0, 0, 5, 5, "person"]]}
    doc = kind_result(TaskKind.BOXES, 1, NO_Z, batches(BOXES), gold, classes=CLASSES).document
    entry = next(e for e in doc["items"] if e["item"] == "i1")
    assert entry["value"] == [[0, 0, 5, 5, "person"]] and entry["gold"] and entry["confident"]
    assert all(row["matched"] == 0 for row in doc["annotators"])


def test_boxes_below_the_iou_threshold_are_two_objects() -> None:
    strict = AnnotationParams(TaskKind.BOXES, iou="0.95")
    doc = kind_result(
        TaskKind.BOXES, 1, NO_Z, batches(BOXES), classes=CLASSES, annotation=strict
    ).document
    assert doc["algorithm"]["params"]["iou"] == "0.95"
    # [12,10,50,52] overlaps [10,10,50,50] at IoU 0.907: no longer the same object.
    assert by_account(doc)["2"]["matched"] == 0


def test_spans_exact_and_overlap_rules() -> None:
    rows: Rows = [
        [("d1", [[0, 5, "person"], [10, 14, "car"]])],
        [("d1", [[0, 5, "person"], [10, 15, "car"]])],
        [("d1", [[0, 6, "person"], [10, 15, "car"]])],
    ]
    overlap = kind_result(TaskKind.SPANS, 1, NO_Z, batches(rows), classes=CLASSES).document
    assert overlap["items"][0]["value"] == [[0, 5, "person"], [10, 15, "car"]]
    exact = AnnotationParams(TaskKind.SPANS, span_match="exact")
    doc = kind_result(
        TaskKind.SPANS, 1, NO_Z, batches(rows), classes=CLASSES, annotation=exact
    ).document
    # Exact offsets only: [0,5) twice and [10,15) twice are the majorities.
    assert doc["items"][0]["value"] == [[0, 5, "person"], [10, 15, "car"]]
    assert [r["matched"] for r in doc["annotators"]] == [1, 2, 1]


def test_median_is_floored_and_keeps_start_below_end() -> None:
    coords = np.array([[0, 3], [1, 2]], dtype=np.int64)
    assert median(coords).tolist() == [0, 2]
    rng = np.random.default_rng(7)
    for _ in range(200):
        starts = rng.integers(0, 50, 4)
        spans = np.stack([starts, starts + rng.integers(1, 9, 4)], axis=1)
        low, high = median(spans).tolist()
        assert low < high


TEXTS: Rows = [
    [("u1", "Hello world"), ("u2", "abc")],
    [("u1", "hello  world"), ("u2", "abd")],
    [("u1", "Helo world"), ("u2", "xyz")],
]


def test_text_agreement_after_normalization_else_the_medoid() -> None:
    doc = kind_result(TaskKind.TEXT, 1, NO_Z, batches(TEXTS)).document
    items = {e["item"]: (e["value"], e["agreement"], e["confident"]) for e in doc["items"]}
    # u1: two of three agree once case and spacing are folded; the published text is the
    # first of the tied original spellings. u2: no agreement; "abc" and "abd" both lie 4
    # edits from the others, "xyz" 6; the tie goes to the first in code point order.
    assert items == {
        "u1": ("Hello world", "0.666666666", True),
        "u2": ("abc", "0.333333333", False),
    }
    strict = AnnotationParams(TaskKind.TEXT, normalization="nfc")
    doc = kind_result(TaskKind.TEXT, 1, NO_Z, batches(TEXTS), annotation=strict).document
    assert doc["items"][0]["value"] == "Hello world" and not doc["items"][0]["confident"]


def test_levenshtein_matches_the_textbook_recurrence() -> None:
    def reference(a: str, b: str) -> int:
        row = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            prev, row[0] = row[0], i
            for j, y in enumerate(b, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
        return row[-1]

    rng = np.random.default_rng(3)
    for _ in range(300):
        a = "".join(rng.choice(list("abcé"), rng.integers(0, 9)))
        b = "".join(rng.choice(list("abcé"), rng.integers(0, 9)))
        assert levenshtein(a, b) == reference(a, b)


PAIRS = {"p1": (CID[0], CID[1]), "p2": (CID[1], CID[2]), "p3": (CID[0], CID[2])}
CHOICES: Rows = [
    [("p1", "A"), ("p2", "A"), ("p3", "A")],
    [("p1", "A"), ("p2", "A"), ("p3", "tie")],
    [("p1", "B"), ("p2", "A"), ("p3", "A")],
]


def test_pairwise_votes_and_bradley_terry_order() -> None:
    doc = kind_result(TaskKind.PAIRWISE, 1, NO_Z, batches(CHOICES), pairs=PAIRS).document
    assert [e["value"] for e in doc["items"]] == ["A", "A", "A"]
    scores = {s["response"]: s["score"] for s in doc["scores"]}
    assert scores[CID[0]] > scores[CID[1]] > scores[CID[2]]
    assert [s["comparisons"] for s in doc["scores"]] == [2, 2, 2]
    with pytest.raises(InvalidAnswersError, match="without their two sides"):
        kind_result(TaskKind.PAIRWISE, 1, NO_Z, batches(CHOICES), pairs={})


CHAIN = {f"q{i}{j}": (CID[i], CID[j]) for i in range(5) for j in range(i + 1, 5)}
"""Every pair of five responses; each pair but ``q04`` is voted A by everyone (0 > ... > 4)."""


def chain_rows(q04: list[str]) -> Rows:
    """One row of labels per annotator: A on every pair but ``q04``, then their vote on it."""
    return [[(k, "A") for k in CHAIN if k != "q04"] + [("q04", v)] for v in q04]


def test_the_scores_are_one_more_annotator_of_each_pair() -> None:
    split = kind_result(
        TaskKind.PAIRWISE, 1, NO_Z, batches(chain_rows(["B", "B", "A"])), pairs=CHAIN
    )
    q04 = next(e for e in split.document["items"] if e["item"] == "q04")
    # Two votes for B against one, but the scores (0 beat everything 4 lost to) side with A.
    assert (q04["value"], q04["from_scores"], q04["confident"]) == ("A", True, True)
    assert all(e["value"] == "A" for e in split.document["items"])
    # Paid against the published value: the lone A vote on q04 was the right one.
    assert [row["accepted"] for row in split.document["annotators"]] == [9, 9, 10]
    # Three votes against the scores, or a gold answer, are not overruled.
    for q04_votes, gold in ((["B", "B", "B"], None), (["B", "B", "A"], {"q04": "B"})):
        rows = batches(chain_rows(q04_votes))
        doc = kind_result(TaskKind.PAIRWISE, 1, NO_Z, rows, gold, pairs=CHAIN).document
        q04 = next(e for e in doc["items"] if e["item"] == "q04")
        assert (q04["value"], q04["from_scores"]) == ("B", False)


def test_bradley_terry_ties_are_half_a_win_each() -> None:
    first, second = np.array([0, 0]), np.array([1, 1])
    tie, a_wins, b_wins = [0, 0, 10**9], [10**9, 0, 0], [0, 10**9, 0]
    even = bradley_terry(first, second, np.array([tie, tie]), 2)
    assert even[0] == even[1] == 500_000_000
    split = bradley_terry(first, second, np.array([a_wins, b_wins]), 2)
    assert split.tolist() == even.tolist()
    ahead = bradley_terry(first, second, np.array([a_wins, tie]), 2)
    assert ahead[0] > 500_000_000 > ahead[1]


def _crowd(kind: TaskKind, seed: int) -> tuple[Rows, dict[str, tuple[str, str]]]:
    """50 items; annotators 0-3 right with probability 0.9, annotator 4 at random."""
    rng = np.random.default_rng(seed)
    rows: Rows = [[] for _ in range(5)]
    pairs = {}
    for i in range(50):
        item = f"i{i:02d}"
        pairs[item] = (CID[i % 3], CID[3 + i % 3])
        x, y = int(rng.integers(0, 500)), int(rng.integers(0, 500))
        truth: JsonValue = {
            TaskKind.BOXES: [[x, y, x + 60, y + 40, CLASSES[i % 2]]],
            TaskKind.SPANS: [[x, x + 8, CLASSES[i % 2]]],
            TaskKind.TEXT: f"text number {i}",
            TaskKind.PAIRWISE: "AB"[i % 2],
        }[kind]
        for a in range(4):
            rows[a].append((item, truth if rng.random() < 0.9 else _noise(kind, rng)))
        rows[4].append((item, _noise(kind, rng)))
    return rows, pairs


def _noise(kind: TaskKind, rng: np.random.Generator) -> JsonValue:
    if kind is TaskKind.BOXES:
        x, y = int(rng.integers(0, 500)), int(rng.integers(0, 500))
        return [[x, y, x + 30, y + 30, CLASSES[int(rng.integers(2))]]]
    if kind is TaskKind.SPANS:
        x = int(rng.integers(0, 500))
        return [[x, x + 5, CLASSES[int(rng.integers(2))]]]
    if kind is TaskKind.TEXT:
        return f"noise {int(rng.integers(5))}"
    return str(rng.choice(["A", "B", "tie"]))


@pytest.mark.parametrize("kind", [TaskKind.BOXES, TaskKind.SPANS, TaskKind.TEXT, TaskKind.PAIRWISE])
def test_the_evidence_rule_pays_skill_not_luck(kind: TaskKind) -> None:
    rows, pairs = _crowd(kind, 11)
    doc = kind_result(kind, 1, PARAMS, batches(rows), classes=CLASSES, pairs=pairs).document
    eligible = [row["eligible"] for row in doc["annotators"]]
    assert eligible == [True, True, True, True, False]
    assert doc["annotators"][4]["payout"] == "0"
    assert all(int(row["payout"]) >= 400 for row in doc["annotators"][:4])


PINS = {
    TaskKind.BOXES: (
        "bafkreibtteeqhftjuv5x4uxjbky7bnlirkj7zd4u4krvjyxb3d5vcs5go4 "
        "138b6d81250e5e7bd55bfe21398ff901585add125cecf21c7c5417212d9f2754"
    ),
    TaskKind.SPANS: (
        "bafkreigljnd7pu4wudyjuwad66yzjavlzbs4uenwybavskn2nkyucziszi "
        "c18c11ba403dd1a1bfd1b6592077b42c863c95cb2e546956eefd2d667e4aeb9c"
    ),
    TaskKind.TEXT: (
        "bafkreicb7d7tqpzgdicxlo45me6rj72nq6id7t5fyxmbe3pzhum4245jgy "
        "35c8ab648af5b96047933fbcec007cf00c35b2f5728c526d5006811f7c169236"
    ),
    TaskKind.PAIRWISE: (
        "bafkreidefrt5cgfo5cwxzh5ifatuhf4rir4cmlnokzebs5gp4ocwznekkq "
        "e26eb5bcc59828cccff779e41ecd7bab7749ca54817f287981804562b6cdb940"
    ),
}
"""The result CID and attested payout root of each kind on the crowd of ``_crowd(kind, 11)``
(a ``result@2`` document): any change to these bytes is a new rule id."""


def pinned_outcome(kind: TaskKind, reverse: bool = False) -> ConsensusOutcome:
    """The ``result@2`` outcome of ``_crowd(kind, 11)``, batches in order or reversed."""
    rows, pairs = _crowd(kind, 11)
    task = TaskSpec(
        1,
        PARAMS,
        classes=CLASSES,
        kind=kind,
        algorithm=f"{kind}@1",
        result_schema=RESULT_V2,
        annotation=AnnotationParams(kind),
        pairs=pairs,
    )
    return run_consensus(task, batches(rows, reverse=reverse))


@pytest.mark.parametrize("kind", list(PINS))
def test_results_are_pinned_and_independent_of_batch_order(kind: TaskKind) -> None:
    forward, backward = pinned_outcome(kind), pinned_outcome(kind, reverse=True)
    assert forward.document_bytes == backward.document_bytes and forward.pages == backward.pages
    parsed = parse_result(forward.document_bytes, 1)
    assert parsed.kind is kind and parsed.payouts.total == forward.total_payout > 0
    assert f"{forward.cid} {forward.payout_root.hex()}" == PINS[kind]


def test_run_consensus_runs_only_the_rule_the_task_names() -> None:
    task = TaskSpec(1, NO_Z, kind=TaskKind.TEXT, algorithm="hds@2")
    with pytest.raises(InvalidParameterError, match="runs text@1"):
        run_consensus(task, batches(TEXTS))


def test_kind_result_refuses_mismatched_parameters() -> None:
    with pytest.raises(InvalidParameterError):
        kind_result(TaskKind.NUMERIC, 1, NO_Z, batches(TEXTS))
    with pytest.raises(InvalidParameterError):
        kind_result(
            TaskKind.TEXT, 1, NO_Z, batches(TEXTS), annotation=AnnotationParams(TaskKind.BOXES)
        )
    with pytest.raises(InvalidAnswersError):
        kind_result(TaskKind.TEXT, 1, NO_Z, batches(BOXES))


_REPLAY = """
import sys
from tests.consensus.test_kinds import PINS, pinned_outcome
for kind in PINS:
    outcome = pinned_outcome(kind, reverse=sys.argv[1] == "reverse")
    print(f"{outcome.cid} {outcome.payout_root.hex()}")
"""


def test_another_process_with_another_hash_seed_gets_the_pinned_bytes() -> None:
    """Sets and dicts iterate by hash: a result must not depend on them."""
    root = Path(__file__).resolve().parents[2]
    lines = subprocess.run(
        [sys.executable, "-c", _REPLAY, "reverse"],
        cwd=root,
        env={**os.environ, "PYTHONHASHSEED": "4242"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split("\n")
    assert lines[:4] == list(PINS.values())
