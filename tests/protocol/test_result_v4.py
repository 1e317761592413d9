"""``labelnet/result@4``: ``result@2`` whose annotator rows list the confusion cells they
filled. Same items, pages and payouts as ``result@2``; each row's cells are exactly the
non-zero entries of its ``result@2`` table; the parser refuses cells that break the form;
a reviewed ``result@4`` task publishes ``result@5``; the root no longer grows with classes
squared; a seated task states its seal, seats and short items; and the bytes are pinned."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.chain.seal import SeedSource
from node.consensus.quality import ConfusionCells
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.deal import SEED_SOURCES
from node.protocol.errors import InvalidParameterError, ResultDocumentError
from node.protocol.labels import LabelBatch
from node.protocol.result import parse_result
from node.protocol.result_pages import RESULT_V1, RESULT_V2, RESULT_V4, RESULT_V5
from node.protocol.rules import RewardParams
from tests.consensus import test_assigned as assigned
from tests.consensus import test_reviewed as reviewed
from tests.consensus.helpers import address

TASK = 7
PARAMS = RewardParams.create(reward_per_label=10**15, reward_pool=10**22)
PINNED_V4_CID = "bafkreihkiefo3zgo5qzreyrrbiac6tgxuyxuelmkaenmuhajmvjz6aur2m"


def _batches(classes: str, annotators: int, items: int, seed: int) -> list[LabelBatch]:
    """Annotators of mixed skill, each on a random half of the items."""
    rng = random.Random(seed)
    truth = {f"item-{i:04d}": rng.choice(classes) for i in range(items)}
    batches = []
    for a in range(annotators):
        accuracy = rng.choice((0.95, 0.8, 0.6, 1 / len(classes)))
        labels = [
            (item, value if rng.random() < accuracy else rng.choice(classes))
            for item, value in truth.items()
            if rng.random() < 0.5
        ]
        batches.append(LabelBatch.create(TASK, address(a), labels))
    return batches


def _outcome(schema: str, classes: str = "abc", annotators: int = 6, items: int = 60) -> Any:
    spec = TaskSpec(TASK, PARAMS, classes=tuple(classes), algorithm="hds@8", result_schema=schema)
    return run_consensus(spec, _batches(classes, annotators, items, seed=len(classes)))


@pytest.fixture(scope="module")
def outcomes() -> tuple[ConsensusOutcome, ConsensusOutcome]:
    return _outcome(RESULT_V2), _outcome(RESULT_V4)


def test_cells_are_the_filled_entries_of_the_dense_rows(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    v2, v4 = outcomes
    assert v4.document["schema"] == RESULT_V4
    assert v4.pages == v2.pages  # the items are untouched
    assert v4.payout_root == v2.payout_root and v4.total_payout == v2.total_payout
    dense_rows, cell_rows = v2.document["annotators"], v4.document["annotators"]
    assert len(dense_rows) == len(cell_rows) == 6
    for dense, cells in zip(dense_rows, cell_rows, strict=True):
        filled = [[t, g, n] for t, row in enumerate(dense["confusion"]) for g, n in enumerate(row)]
        assert cells["confusion"] == [cell for cell in filled if cell[2] > 0]
        assert {**cells, "confusion": None} == {**dense, "confusion": None}
    assert {**v4.document, "schema": None, "annotators": None, "item_pages": None} == {
        **v2.document,
        "schema": None,
        "annotators": None,
        "item_pages": None,
    }


def test_the_parser_reads_either_form_into_the_same_table(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    v2, v4 = (parse_result(outcome.document_bytes, TASK) for outcome in outcomes)
    v2.verify(outcomes[0].payout_root, outcomes[0].total_payout)
    v4.verify(outcomes[1].payout_root, outcomes[1].total_payout)
    for dense, cells in zip(v2.annotators, v4.annotators, strict=True):
        assert dense.confusion_cells is None and cells.confusion is None
        assert cells.confusion_cells
        assert cells.confusion_rows(3) == dense.confusion_rows(3)
        assert sum(map(sum, cells.confusion_rows(3) or [])) == cells.labels


def _with_cells(outcome: ConsensusOutcome, cells: Any) -> bytes:
    document = dict(outcome.document)
    rows = [dict(row) for row in document["annotators"]]
    rows[0]["confusion"] = cells
    document["annotators"] = rows
    return canonical_json(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda cells: [*cells, [3, 0, 1]], "out of range"),
        (lambda cells: [[0, -1, 1], *cells], "out of range"),
        (lambda cells: [[*cells[0][:2], 0], *cells[1:]], "out of range"),
        (lambda cells: cells[::-1], "ascending"),
        (lambda cells: [cells[0], *cells], "ascending"),
        (lambda cells: [[*cells[0], 1], *cells[1:]], r"\[consensus, answered, count\]"),
        (lambda cells: [[True, *cells[0][1:]], *cells[1:]], "list of integers"),
        (lambda cells: [[*cells[0][:2], cells[0][2] + 1], *cells[1:]], "labels"),
        (lambda cells: cells[1:], "labels"),
        (lambda cells: {"0": cells}, "list of rows"),
    ],
)
def test_cells_that_break_the_form_are_refused(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome], change: Any, message: str
) -> None:
    v4 = outcomes[1]
    cells = v4.document["annotators"][0]["confusion"]
    assert len(cells) >= 2
    parse_result(_with_cells(v4, cells), TASK)  # unchanged, it parses
    with pytest.raises(ResultDocumentError, match=message):
        parse_result(_with_cells(v4, change(cells)), TASK)


def test_dense_rows_are_refused_under_result_v4(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    v2, v4 = outcomes
    dense = v2.document["annotators"][0]["confusion"]
    with pytest.raises(ResultDocumentError, match="confusion"):
        parse_result(_with_cells(v4, dense), TASK)


def test_a_reviewed_result_v4_task_publishes_result_v5() -> None:
    items = reviewed.contested()
    spec = TaskSpec(
        7,
        reviewed.REWARDS,
        classes=reviewed.CLASSES,
        algorithm="mv@1",
        result_schema=RESULT_V4,
        review=reviewed.review_input(items),
    )
    outcome = run_consensus(spec, reviewed.batches())
    old = run_consensus(replace(spec, result_schema=RESULT_V2), reviewed.batches())
    root = outcome.document
    assert root["schema"] == RESULT_V5 and old.document["schema"] == "labelnet/result@3"
    assert root["review"] == old.document["review"]
    assert outcome.pages == old.pages and outcome.payouts == old.payouts
    document = parse_result(outcome.document_bytes, 7)
    document.verify(outcome.payout_root, outcome.total_payout)
    for cells, dense in zip(
        document.annotators, parse_result(old.document_bytes, 7).annotators, strict=True
    ):
        assert cells.confusion_cells is not None
        assert cells.confusion_rows(2) == dense.confusion_rows(2)
    # The review section belongs to @5 alone: a @4 root with one, or a @5 without, is refused.
    for schema, review in ((RESULT_V4, root["review"]), (RESULT_V5, None)):
        changed = {**root, "schema": schema, "review": review}
        with pytest.raises(ResultDocumentError, match="review section"):
            parse_result(canonical_json({k: v for k, v in changed.items() if v is not None}), 7)
    with pytest.raises(InvalidParameterError, match="paged result"):
        run_consensus(replace(spec, result_schema=RESULT_V1), reviewed.batches())


def test_the_root_grows_with_the_answers_not_with_classes_squared() -> None:
    """64 classes, 40 annotators with about 40 answers each: every ``result@2`` row is a
    4,096-cell table, every ``result@4`` row at most one cell per answer."""
    classes = "".join(chr(0x100 + c) for c in range(64))
    v2 = _outcome(RESULT_V2, classes, annotators=40, items=80)
    v4 = _outcome(RESULT_V4, classes, annotators=40, items=80)
    answers = v4.document["answers"]["count"]
    cells = sum(len(row["confusion"]) for row in v4.document["annotators"])
    assert cells <= answers
    assert len(v2.document_bytes) > 40 * 64 * 64 * 2  # a digit and a comma per cell
    assert len(v4.document_bytes) < len(v2.document_bytes) / 10
    assert len(v4.document_bytes) < 1_000 * 40 + 30 * answers


def test_result_v4_bytes_are_pinned(outcomes: tuple[ConsensusOutcome, ConsensusOutcome]) -> None:
    """Any change to these bytes is a new result schema id."""
    assert outcomes[1].cid == PINNED_V4_CID


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 30),
    st.sampled_from((2, 3, 7, 256)),
    st.integers(0, 400),
    st.integers(0, 2**32 - 1),
)
def test_confusion_cells_by_sorting_equal_the_bincount(
    annotators: int, k: int, answers: int, seed: int
) -> None:
    """Both ways of counting the cells (a bincount where the table is small, sorting the
    keys where it is not: 256 classes and 16 annotators or more) give the cells of the
    dense table, in order."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, annotators * k * k, size=answers).astype(np.int64)
    cells = ConfusionCells.count(keys, annotators, k)
    dense = np.bincount(keys, minlength=annotators * k * k).reshape(annotators, k, k)
    for a in range(annotators):
        assert cells.dense(a) == dense[a].tolist()
        filled = zip(*np.nonzero(dense[a]), strict=True)
        assert cells.cells(a) == [[t, g, dense[a, t, g]] for t, g in filled]


def _seated(schema: str) -> ConsensusOutcome:
    """``tests/consensus/test_assigned.py``'s seated task: 10 items, 3 labels each, 5 seats
    of 6, four claimed (so six item slots are never dealt), and an annotator without a seat
    (``x``), each annotator named by an address."""
    names = ("a0", "a1", "a2", "a3", "x")
    assignment = replace(assigned._assignment(), seat_of={address(n).lower(): n for n in range(4)})
    batches = [
        LabelBatch.create(
            TASK, address(n), [(item, value) for item, who, value in assigned._rows() if who == w]
        )
        for n, w in enumerate(names)
    ]
    spec = TaskSpec(
        TASK,
        assigned._params(),
        classes=("a", "b"),
        algorithm="mv@1",
        result_schema=schema,
        assignment=assignment,
    )
    return run_consensus(spec, batches)


def test_a_seated_result_v4_states_its_seal_seats_and_short_items() -> None:
    outcome = _seated(RESULT_V4)
    dealt = assigned._assignment().deal
    expected = {item: 0 for item in range(dealt.num_items)}
    for seat in range(dealt.claimed):
        for item in dealt.items_of(seat).tolist():
            expected[item] += 1
    short = sum(1 for count in expected.values() if count < dealt.redundancy)
    assert 0 < short < dealt.num_items  # the unclaimed seat leaves some items short
    root = outcome.document
    assert root["assignment"] == {
        "deal": "deal@1",
        "reward_rule": "assigned@1",
        "seed_source": "mixHash",
        "seal_block": 12,
        "items": 10,
        "redundancy": 3,
        "batch_size": 6,
        "seats": 5,
        "claimed": 4,
        "short_items": short,
    }
    document = parse_result(outcome.document_bytes, TASK)
    assert document.assignment is not None and document.assignment.short_items == short
    assert [row.seat for row in document.annotators] == [0, 1, 2, 3]  # x had no seat: no row
    fetched = {compute_cid(page): page for page in outcome.pages}
    labels = {row.item: row.labels for row in document.iter_items(fetched.__getitem__)}
    assert labels == {f"i{item}": n for item, n in expected.items() if n}
    # The same task under result@2 keeps result@2's form: no section, seats or counts.
    old = _seated(RESULT_V2)
    assert "assignment" not in old.document and old.payouts == outcome.payouts
    assert all("seat" not in row for row in old.document["annotators"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed_source": "timestamp"}, "seed_source"),
        ({"claimed": "4"}, "claimed is an integer"),
        ({"deal": None}, "deal"),
    ],
)
def test_a_malformed_assignment_section_is_refused(change: dict[str, Any], message: str) -> None:
    outcome = _seated(RESULT_V4)
    section = {**outcome.document["assignment"], **change}
    data = canonical_json({**outcome.document, "assignment": section})
    with pytest.raises(ResultDocumentError, match=message):
        parse_result(data, TASK)
    v2 = canonical_json(
        {**_seated(RESULT_V2).document, "assignment": outcome.document["assignment"]}
    )
    with pytest.raises(ResultDocumentError, match="no assignment section"):
        parse_result(v2, TASK)


def test_the_seed_sources_a_result_may_state_are_the_seals() -> None:
    assert get_args(SeedSource) == SEED_SOURCES
