"""Numeric and multi-label result documents: hand-checkable values, payouts, determinism."""

from __future__ import annotations

import pytest

from node.consensus.task import TaskSpec, run_consensus
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.rules import RewardParams
from node.protocol.values import tolerance_units, valid_value
from tests.consensus.helpers import address

PARAMS = RewardParams.create(reward_per_label=10, reward_pool=1_000)
CLASSES = ("cat", "dog", "person")
Rows = list[list[tuple[str, JsonValue]]]
NUMERIC: Rows = [
    [("i1", 3), ("i2", 7.5), ("i3", 10)],
    [("i1", 3.2), ("i2", 7.6), ("i3", 10)],
    [("i1", 9), ("i2", 1), ("i3", 30)],  # wild: never within half a unit
]
SETS: Rows = [
    [("i1", ["cat", "person"]), ("i2", ["dog"]), ("i3", [])],
    [("i1", ["person", "cat"]), ("i2", ["dog"]), ("i3", [])],
    [("i1", ["cat"]), ("i2", ["dog", "cat"]), ("i3", ["person"])],
]


def batches(rows: Rows, reverse: bool = False) -> list[LabelBatch]:
    out = [LabelBatch.create(1, address(i), labels) for i, labels in enumerate(rows)]
    return out[::-1] if reverse else out


def numeric(algorithm: str = "median@1", **options: str) -> TaskSpec:
    return TaskSpec(1, PARAMS, kind=TaskKind.NUMERIC, algorithm=algorithm, **options)  # type: ignore[arg-type]


def multilabel() -> TaskSpec:
    return TaskSpec(1, PARAMS, classes=CLASSES, kind=TaskKind.MULTILABEL, algorithm="multilabel@1")


def paid(document: dict[str, object]) -> dict[str, str]:
    return {p["account"][-1]: p["amount"] for p in document["payouts"]}  # type: ignore[attr-defined]


def test_numeric_median_pays_answers_within_the_tolerance() -> None:
    outcome = run_consensus(numeric(), batches(NUMERIC))
    doc = outcome.document
    assert doc["schema"] == "labelnet/result@1" and doc["kind"] == "numeric"
    assert [(i["item"], i["value"], i["confident"]) for i in doc["items"]] == [
        ("i1", "3.200000", True),  # median of 3, 3.2, 9; 3 and 3.2 are within 0.5
        ("i2", "7.500000", True),
        ("i3", "10.000000", True),
    ]
    assert doc["items"][0]["agreement"] == "0.666666666"
    assert paid(doc) == {"1": "30", "2": "30"}  # three matches each; the wild one: nothing
    wild = doc["annotators"][2]
    assert (wild["accepted"], wild["eligible"], wild["payout"]) == (0, False, "0")
    assert outcome.total_payout == 60 and outcome.refund == 940 and doc["refund"] == "940"
    # interval alpha of [3, 3.2, 9], [7.5, 7.6, 1], [10, 10, 30]: the wild answers cost it
    assert doc["krippendorff_alpha"] == "0.268874963"


def test_numeric_gold_fixes_the_value_and_the_pay() -> None:
    doc = run_consensus(numeric(), batches(NUMERIC), gold={"i1": 9}).document
    assert doc["items"][0] == {
        "item": "i1",
        "value": "9.000000",
        "agreement": "0.333333333",
        "confident": True,
        "gold": True,
    }
    assert paid(doc) == {"1": "20", "2": "20"}  # i1 no longer pays the two steady ones


def test_numeric_tolerance_zero_needs_exact_answers() -> None:
    doc = run_consensus(numeric(tolerance="0"), batches(NUMERIC)).document
    confident = [i["item"] for i in doc["items"] if i["confident"]]
    assert confident == ["i3"]  # only 10, 10 agree exactly (2 of 3)
    assert paid(doc) == {"1": "10", "2": "10"}


def test_multilabel_pays_exact_set_matches() -> None:
    doc = run_consensus(multilabel(), batches(SETS)).document
    assert doc["kind"] == "multilabel" and doc["classes"] == list(CLASSES)
    assert [(i["item"], i["value"]) for i in doc["items"]] == [
        ("i1", ["cat", "person"]),
        ("i2", ["dog"]),
        ("i3", []),
    ]
    assert all(i["confident"] for i in doc["items"])
    assert paid(doc) == {"1": "30", "2": "30"}
    # Over the 9 (item, class) yes/no units, 27 values (10 yes): three units split 2 to 1,
    # observed disagreement 3 * 2 = 6, expected 27^2 - 10^2 - 17^2 = 340, so alpha is
    # 1 - 26 * 6 / 340 = 184 / 340.
    assert doc["krippendorff_alpha"] == "0.541176471"


@pytest.mark.parametrize("spec", [numeric(), numeric("robust-mean@1"), multilabel()])
def test_documents_do_not_depend_on_batch_order(spec: TaskSpec) -> None:
    rows = NUMERIC if spec.kind is TaskKind.NUMERIC else SETS
    first = run_consensus(spec, batches(rows))
    again = run_consensus(spec, batches(rows, reverse=True))
    assert first.document_bytes == again.document_bytes and first.cid == again.cid
    assert first.payout_root == again.payout_root


def test_a_numeric_task_needs_a_numeric_algorithm() -> None:
    with pytest.raises(InvalidParameterError):
        run_consensus(numeric("rds@1"), batches(NUMERIC))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("algorithm", "huge"), [("robust-mean@1", 1e160), ("median@1", 1e303), ("median@1", 1e308)]
)
def test_a_finite_answer_too_large_to_aggregate_is_invalid_answers(
    algorithm: str, huge: float
) -> None:
    """One annotator's finite but huge answer: robust-mean@1's squares overflow to NaN, and
    1e303 has no float in millionths. Was ValueError or OverflowError from turning NaN or
    infinity into an integer, which escaped every validator (they catch LabelnetError)."""
    rows: Rows = [[("i1", 3), ("i2", 1)], [("i1", 3), ("i2", 1)], [("i1", huge), ("i2", 1)]]
    with pytest.raises(InvalidAnswersError) as raised:
        run_consensus(numeric(algorithm), batches(rows))
    assert str(raised.value) == (
        f"task 1: answers too large for {algorithm} (a value or a consensus overflows the "
        "float range in millionths)"
    )
    # Just below where it overflows, the same answers still have a result, as before.
    fine = [[("i1", 3), ("i2", 1)], [("i1", 3), ("i2", 1)], [("i1", 1e150), ("i2", 1)]]
    assert run_consensus(numeric(algorithm), batches(fine)).document["items"][1]["value"] == (
        "1.000000"
    )


def test_tolerance_is_exact_in_millionths() -> None:
    assert tolerance_units("0.5") == 500_000 and tolerance_units("2") == 2_000_000
    for bad in ("-1", "0.0000001", "half"):
        with pytest.raises(InvalidParameterError):
            tolerance_units(bad)


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (TaskKind.CATEGORICAL, "cat", True),
        (TaskKind.CATEGORICAL, "bird", False),
        (TaskKind.CATEGORICAL, ["cat"], False),
        (TaskKind.MULTILABEL, ["cat", "dog"], True),
        (TaskKind.MULTILABEL, [], True),
        (TaskKind.MULTILABEL, ["cat", "cat"], False),
        (TaskKind.MULTILABEL, "cat", False),
        (TaskKind.NUMERIC, 2.5, True),
        (TaskKind.NUMERIC, True, False),
        (TaskKind.NUMERIC, float("inf"), False),
        (TaskKind.NUMERIC, "2.5", False),
        # No float holds 401 digits: was OverflowError (validators crashed), not False.
        pytest.param(TaskKind.NUMERIC, 10**400, False, id="numeric-10**400"),
        pytest.param(TaskKind.NUMERIC, -(10**400), False, id="numeric--10**400"),
        pytest.param(TaskKind.NUMERIC, 10**300, True, id="numeric-10**300"),
    ],
)
def test_valid_values_per_kind(kind: TaskKind, value: object, ok: bool) -> None:
    assert valid_value(kind, CLASSES, value) is ok
