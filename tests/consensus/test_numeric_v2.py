"""``median@2`` and ``robust-mean@2``: a numeric task settles whatever finite answers one
annotator reveals; ``median@1`` and ``robust-mean@1`` keep their bytes (pinned here too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from node.consensus.answers import NumericAnswers
from node.consensus.fenced_mean import FencedRobustMean, fenced_values
from node.consensus.median import FiniteMedian, Median, finite_item_medians, midpoint
from node.consensus.registry import numeric_estimator
from node.consensus.robust_mean import RobustMean
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_NUMERIC_ALGORITHM
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.manifest import default_algorithm
from node.protocol.rules import RewardParams
from tests.consensus.helpers import address, load_dataset
from tests.consensus.replay import replayed_everywhere

PARAMS = RewardParams.create(reward_per_label=10, reward_pool=1_000)
LARGEST = 1.7976931348623157e308
ATTACKS = [1e300, -1e308, LARGEST]
Rows = list[list[tuple[str, JsonValue]]]
HONEST: Rows = [
    [("i1", 10), ("i2", 20), ("i3", 30)],
    [("i1", 10.2), ("i2", 20), ("i3", 29.9)],
    [("i1", 10), ("i2", 19.8), ("i3", 30)],
]


@contextmanager
def no_overflow() -> Iterator[None]:
    """Any overflow, NaN or division by zero in numpy raises (underflow is allowed)."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


def task(
    rows: Rows, algorithm: str = DEFAULT_NUMERIC_ALGORITHM, reverse: bool = False
) -> ConsensusOutcome:
    batches = [LabelBatch.create(1, address(i), labels) for i, labels in enumerate(rows)]
    spec = TaskSpec(1, PARAMS, kind=TaskKind.NUMERIC, algorithm=algorithm)
    return run_consensus(spec, batches[::-1] if reverse else batches)


def values(outcome: ConsensusOutcome) -> list[float]:
    return [float(i["value"]) for i in outcome.document["items"]]


def paid(outcome: ConsensusOutcome) -> dict[str, str]:
    return {p["account"][-1]: p["amount"] for p in outcome.document["payouts"]}


def test_new_numeric_tasks_get_robust_mean_2() -> None:
    assert DEFAULT_NUMERIC_ALGORITHM == "robust-mean@2"
    assert default_algorithm(TaskKind.NUMERIC) == "robust-mean@2"
    assert isinstance(numeric_estimator(), FencedRobustMean)
    assert isinstance(numeric_estimator("robust-mean@1"), RobustMean)
    assert isinstance(numeric_estimator("median@2"), FiniteMedian)


def test_midpoint_is_the_rounded_mean_and_never_overflows() -> None:
    with no_overflow():
        assert midpoint(np.array([1e308]), np.array([1.7e308])).tolist() == [1.35e308]
        assert midpoint(np.array([-LARGEST]), np.array([LARGEST])).tolist() == [0.0]
        assert midpoint(np.array([LARGEST]), np.array([LARGEST])).tolist() == [LARGEST]
    rng = np.random.default_rng(7)  # below 2**1022 it is (low + high) / 2, bit for bit
    low = rng.normal(size=2000) * 10.0 ** rng.integers(-300, 300, 2000)
    high = rng.normal(size=2000) * 10.0 ** rng.integers(-300, 300, 2000)
    assert np.array_equal(midpoint(low, high), (low + high) / 2.0)


def test_median_2_is_median_1_where_that_is_finite() -> None:
    rows = [("a", "w1", 3), ("a", "w2", 1), ("a", "w3", 10), ("b", "w1", 4), ("b", "w2", 1)]
    assert FiniteMedian().fit(NumericAnswers.from_rows(rows)).values_.tolist() == [3.0, 2.5]
    huge = NumericAnswers.from_rows([("a", "w1", 1e308), ("a", "w2", 1.5e308)])
    with no_overflow():
        assert FiniteMedian().fit(huge).values_.tolist() == [1.25e308]
    with np.errstate(over="ignore"):
        assert Median().fit(huge).values_.tolist() == [float("inf")]  # median@1: kept
    rows_e, _ = load_dataset("zheng_n_emotion")
    emotion = NumericAnswers.from_arrays(*zip(*rows_e, strict=True))
    assert np.array_equal(FiniteMedian().fit(emotion).values_, Median().fit(emotion).values_)


def test_the_fence_by_hand() -> None:
    """Medians 10.1, 20, 30 (i1: 10, 10, 10.2 and X). Largest deviations: 0.1, 0.1, 0.2 and
    the attacker's, so S = (0.1 + 0.2) / 2 = 0.15 and the fence is 4 * 0.15 = 0.6 either
    side of each median: the attacker's answers become 10.7, 20.6, 30.6; nobody else's
    moves."""
    rows = [*HONEST, [("i1", 1e300), ("i2", 1e300), ("i3", 1e300)]]
    answers = NumericAnswers.from_rows(
        [(item, str(a), value) for a, labels in enumerate(rows) for item, value in labels]
    )
    with no_overflow():
        fenced = fenced_values(answers, finite_item_medians(answers), 4.0)
    expected = [10, 10.2, 10, 10.7, 20, 20, 19.8, 20.6, 30, 29.9, 30, 30.6]
    assert fenced.tolist() == pytest.approx(expected, abs=1e-12)
    assert fenced[answers.value < 1e300].tolist() == answers.value[answers.value < 1e300].tolist()


def test_robust_mean_2_is_robust_mean_1_on_real_data_at_any_scale() -> None:
    """Nothing is fenced on zheng_n_emotion, so the values are robust-mean@1's bit for bit
    (MAE 11.810). Multiplied by 2**500 or 2**900 (robust-mean@1: overflow) the rescaled
    route gives the same error."""
    rows, gold = load_dataset("zheng_n_emotion")
    columns = list(zip(*rows, strict=True))
    data = NumericAnswers.from_arrays(*columns)
    assert np.array_equal(FencedRobustMean().fit(data).values_, RobustMean().fit(data).values_)

    def mae(exponent: int) -> float:
        scaled = [np.ldexp(float(v), exponent) for v in columns[2]]
        answers = NumericAnswers.from_arrays(columns[0], columns[1], scaled)
        with no_overflow():
            fitted = np.ldexp(FencedRobustMean().fit(answers).values_, -exponent)
        by_item = dict(zip(answers.items, fitted.tolist(), strict=True))
        return float(np.mean([abs(by_item[i] - float(v)) for i, v in gold.items()]))

    assert mae(0) == pytest.approx(11.810389977)
    assert mae(500) == pytest.approx(mae(0), abs=1e-9)
    assert mae(900) == pytest.approx(mae(0), abs=1e-9)


@pytest.mark.parametrize("huge", ATTACKS)
def test_one_extreme_annotator_among_real_ones_changes_little(huge: float) -> None:
    """One answer added to a zheng_n_emotion item: robust-mean@1 has no result at 1e160
    and up, and at 1e6 already moves that item from 38.1 to 62 and the other items' MAE from
    11.81 to 12.65. robust-mean@2: the answer is fenced to 400 from the median."""
    rows, gold = load_dataset("zheng_n_emotion")
    target = rows[0][0]
    columns = list(zip(*[*rows, [target, "attacker", repr(huge)]], strict=True))
    answers = NumericAnswers.from_arrays(*columns)
    with no_overflow():
        fitted = FencedRobustMean().fit(answers).values_.tolist()
    by_item = dict(zip(answers.items, fitted, strict=True))
    others = np.mean([abs(by_item[i] - float(v)) for i, v in gold.items() if i != target])
    assert others == pytest.approx(11.82, abs=0.01)
    assert abs(by_item[target] - 38.125) < 4.0


@pytest.mark.parametrize("algorithm", ["robust-mean@2", "median@2"])
@pytest.mark.parametrize("huge", ATTACKS)
def test_a_task_with_one_extreme_annotator_settles(algorithm: str, huge: float) -> None:
    """The attacker answers every item: the task settles, the attacker matches nothing and
    is not paid, the others are paid as without them, and each item moves by under 0.15
    (robust-mean@1 and median@1: InvalidAnswersError, tests/consensus/test_task_kinds.py)."""
    clean = task(HONEST, algorithm)
    rows = [*HONEST, [("i1", huge), ("i2", huge), ("i3", huge)]]
    with no_overflow():
        attacked = task(rows, algorithm)
    assert paid(attacked) == paid(clean) == {"1": "30", "2": "30", "3": "30"}
    attacker = attacked.document["annotators"][3]
    assert (attacker["accepted"], attacker["eligible"], attacker["payout"]) == (0, False, "0")
    assert all(i["confident"] for i in attacked.document["items"])
    assert values(attacked) == pytest.approx(values(clean), abs=0.15)
    again = task(rows, algorithm, reverse=True)
    assert again.document_bytes == attacked.document_bytes
    assert again.payout_root == attacked.payout_root


def test_the_attacked_task_by_hand() -> None:
    """robust-mean@2 on the fenced answers (10.7, 20.6, 30.6 for the attacker): the same
    bytes for 1e300 and for the largest float, which are fenced alike; pinned."""
    rows = [*HONEST, [("i1", 1e300), ("i2", 1e300), ("i3", 1e300)]]
    outcome = task(rows)
    assert [i["value"] for i in outcome.document["items"]] == [
        "10.188156",
        "20.061754",
        "30.086852",
    ]
    assert [i["value"] for i in task(HONEST).document["items"]] == [
        "10.063420",
        "19.934894",
        "29.968290",
    ]
    largest = task([*HONEST, [("i1", LARGEST), ("i2", LARGEST), ("i3", LARGEST)]])
    assert largest.cid == outcome.cid
    assert outcome.cid == "bafkreiaa2phkul43innxktq2nno2v4sta3ry5iliqyijnkff3n3p5xx7z4"


@pytest.mark.parametrize("algorithm", ["robust-mean@2", "median@2"])
def test_an_item_only_the_attacker_answered_is_published_exactly(algorithm: str) -> None:
    """An item with the largest float as its only answer: its value has no float in
    millionths and is written out exactly; it is not confident (one answer), the other
    items keep their values to 1e-3 (they are not rescaled with it) and the alpha is
    unchanged (the item has a single value)."""
    clean = task(HONEST, algorithm)
    with no_overflow():
        outcome = task([*HONEST, [("i4", LARGEST)]], algorithm)
    item = outcome.document["items"][3]
    assert item["value"] == f"{int(LARGEST)}.000000" and not item["confident"]
    assert values(outcome)[:3] == pytest.approx(values(clean), abs=1e-3)
    assert paid(outcome) == paid(clean)
    assert outcome.document["krippendorff_alpha"] == clean.document["krippendorff_alpha"]


def test_huge_gold_and_answers_do_not_overflow() -> None:
    rows = [("a", "w1", LARGEST), ("a", "w2", -LARGEST), ("b", "w1", 1.0), ("b", "w2", 2.0)]
    answers = NumericAnswers.from_rows(rows)
    with no_overflow():
        for model in (FencedRobustMean(), FencedRobustMean(n_iter=0), FiniteMedian()):
            fitted = model.fit(answers, gold={"b": -LARGEST}).values_
            assert np.all(np.isfinite(fitted)) and fitted[1] == -LARGEST


def test_the_fence_must_be_a_power_of_two() -> None:
    for bad in (3.0, 0.0, -4.0, float("inf")):
        with pytest.raises(InvalidParameterError):
            FencedRobustMean(fence=bad)
    assert FencedRobustMean().params()["fence"] == "4.0"


# Pinned: the same bytes in two fresh interpreters fed in opposite orders with different
# hash seeds, and in this one. The @1 pins were taken before the @2 ids existed; the @2
# documents differ from them only in their "algorithm" entry (nothing fenced or rescaled
# on this set), hence the same payout roots.
@pytest.mark.parametrize(
    ("algorithm", "pinned"),
    [
        (
            "robust-mean@1",
            "bafkreia6wygz5bo7k7os7ijjlmsggujocd7txt3rawnz25qmz657ho53qy "
            "10e51510051162391d71e02c0c0926917a29035a8108105708b852759bd22582",
        ),
        (
            "median@1",
            "bafkreihatmgrhhbtl3ovebo22cmvorswgwghl32xwbg4oiuytbwuvutfka "
            "0b1e131284b4c0e2715bcc11cb8c4b9b8abafdd31137629965d027ab3e63b65b",
        ),
        (
            "robust-mean@2",
            "bafkreief4gimc6tdfxm6scjlh2mhahosumkpc6teidjnqphr5fxxq5xn7y "
            "10e51510051162391d71e02c0c0926917a29035a8108105708b852759bd22582",
        ),
        (
            "median@2",
            "bafkreid3xwgsxi76va3z6pqmz25ligo5v3i2ia6oxertwakxdikdamn3cy "
            "0b1e131284b4c0e2715bcc11cb8c4b9b8abafdd31137629965d027ab3e63b65b",
        ),
    ],
)
def test_numeric_ids_replay_to_their_pins(algorithm: str, pinned: str) -> None:
    assert replayed_everywhere("zheng_n_emotion", algorithm) == pinned
