"""The one parser of ``labelnet/result@1``: every kind's document as validators write it
parses back to the same payouts, and a document that is not the task's result is refused."""

from __future__ import annotations

import pytest

from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.result import ResultDocumentError, parse_result
from node.protocol.rules import RewardParams
from tests.consensus.helpers import address

PARAMS = RewardParams.create(reward_per_label=10, reward_pool=1_000)
CLASSES = ("cat", "dog", "person")
ROWS: dict[TaskKind, list[list[tuple[str, JsonValue]]]] = {
    TaskKind.CATEGORICAL: [
        [("i1", "cat"), ("i2", "dog"), ("i3", "dog")],
        [("i1", "cat"), ("i2", "dog"), ("i3", "person")],
        [("i1", "cat"), ("i2", "cat"), ("i3", "dog")],
    ],
    TaskKind.NUMERIC: [
        [("i1", 3), ("i2", 7.5), ("i3", 10)],
        [("i1", 3.2), ("i2", 7.6), ("i3", 10)],
        [("i1", 9), ("i2", 1), ("i3", 30)],
    ],
    TaskKind.MULTILABEL: [
        [("i1", ["cat", "person"]), ("i2", ["dog"]), ("i3", [])],
        [("i1", ["person", "cat"]), ("i2", ["dog"]), ("i3", [])],
        [("i1", ["cat"]), ("i2", ["dog", "cat"]), ("i3", ["person"])],
    ],
    TaskKind.BOXES: [
        [("i1", [[0, 0, 9, 9, "cat"]]), ("i2", []), ("i3", [[5, 5, 20, 20, "dog"]])],
        [("i1", [[0, 1, 9, 9, "cat"]]), ("i2", []), ("i3", [[5, 5, 21, 20, "dog"]])],
        [("i1", []), ("i2", [[1, 1, 4, 4, "cat"]]), ("i3", [[5, 5, 20, 20, "cat"]])],
    ],
    TaskKind.SPANS: [
        [("i1", [[0, 4, "cat"]]), ("i2", []), ("i3", [[3, 9, "dog"]])],
        [("i1", [[0, 4, "cat"]]), ("i2", []), ("i3", [[3, 8, "dog"]])],
        [("i1", [[0, 5, "dog"]]), ("i2", [[1, 2, "cat"]]), ("i3", [])],
    ],
    TaskKind.TEXT: [
        [("i1", "a cat"), ("i2", "dog"), ("i3", "x")],
        [("i1", "A cat"), ("i2", "dog"), ("i3", "y")],
        [("i1", "a bat"), ("i2", "dig"), ("i3", "x")],
    ],
    TaskKind.PAIRWISE: [
        [("i1", "A"), ("i2", "B"), ("i3", "tie")],
        [("i1", "A"), ("i2", "B"), ("i3", "A")],
        [("i1", "B"), ("i2", "B"), ("i3", "tie")],
    ],
}
ALGORITHM = {
    TaskKind.CATEGORICAL: "mv@1",
    TaskKind.NUMERIC: "median@1",
    **{k: f"{k}@1" for k in (TaskKind.BOXES, TaskKind.SPANS, TaskKind.TEXT, TaskKind.PAIRWISE)},
}
SIDES = [f"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvy{c}" for c in "abc"]
PAIRS = {"i1": (SIDES[0], SIDES[1]), "i2": (SIDES[1], SIDES[2]), "i3": (SIDES[0], SIDES[2])}


def outcome(kind: TaskKind) -> ConsensusOutcome:
    spec = TaskSpec(
        1,
        PARAMS,
        classes=None if kind in (TaskKind.NUMERIC, TaskKind.TEXT, TaskKind.PAIRWISE) else CLASSES,
        kind=kind,
        algorithm=ALGORITHM.get(kind, "multilabel@1"),
        pairs=PAIRS,
    )
    batches = [LabelBatch.create(1, address(i), rows) for i, rows in enumerate(ROWS[kind])]
    return run_consensus(spec, batches)


@pytest.mark.parametrize("kind", list(TaskKind))
def test_every_kind_of_result_parses_back_to_its_payouts(kind: TaskKind) -> None:
    """The readers used to require categorical-only lines (``confidence``, ``agreement``,
    ``confusion``), so a numeric or multi-label result could not be read at all."""
    published = outcome(kind)
    result = parse_result(published.document_bytes, 1)
    result.verify(published.payout_root, published.total_payout)
    assert result.kind is kind
    assert result.payouts.leaves == tuple(sorted(published.payouts.leaves))
    assert [entry.item for entry in result.items] == ["i1", "i2", "i3"]
    assert len(result.annotators) == 3
    categorical = kind is TaskKind.CATEGORICAL
    assert all((a.confusion is not None) is categorical for a in result.annotators)
    without = kind in (TaskKind.NUMERIC, TaskKind.TEXT)  # they state an agreement instead
    assert all((i.confidence is None) is without for i in result.items)
    assert result.document == published.document


def test_a_result_of_another_task_or_root_is_refused() -> None:
    published = outcome(TaskKind.CATEGORICAL)
    with pytest.raises(ResultDocumentError, match="a result of task 1, not 2"):
        parse_result(published.document_bytes, 2)
    with pytest.raises(ResultDocumentError, match="do not rebuild the finalized root"):
        parse_result(published.document_bytes, 1).verify(bytes([1]) * 32)
    with pytest.raises(ResultDocumentError, match="total"):
        parse_result(published.document_bytes, 1).verify(
            published.payout_root, published.total_payout + 1
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "ranking"}, "unknown task kind"),
        ({"items": {}}, "items must be a list"),
        ({"annotators": {}}, "items and annotators must be lists"),
        ({"items": [{"item": "i1", "confident": "yes"}]}, "malformed item entry"),
        ({"annotators": [{"account": "0x1"}]}, "malformed annotator entry"),
        ({"payouts": [{"account": "0x1", "amount": True}]}, "malformed payouts"),
    ],
)
def test_a_line_that_breaks_the_form_is_refused(change: dict[str, JsonValue], message: str) -> None:
    document = {**outcome(TaskKind.CATEGORICAL).document, **change}
    with pytest.raises(ResultDocumentError, match=message):
        parse_result(canonical_json(document), 1)


def test_bytes_that_are_not_json_or_too_deep_are_refused() -> None:
    with pytest.raises(ResultDocumentError, match="not JSON"):
        parse_result(b"\xff", 1)
    with pytest.raises(ResultDocumentError, match="DocumentTooDeepError"):
        parse_result(b"[" * 100 + b"]" * 100, 1)
