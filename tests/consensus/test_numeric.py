"""Numeric estimators: exact medians, robust weighting, and error on real data."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus.answers import NumericAnswers
from node.consensus.median import Median
from node.consensus.robust_mean import RobustMean
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from tests.consensus.helpers import load_dataset


def test_median_odd_and_even() -> None:
    rows = [("a", "w1", 3), ("a", "w2", 1), ("a", "w3", 10), ("b", "w1", 4), ("b", "w2", 1)]
    model = Median().fit(NumericAnswers.from_rows(rows))
    assert model.items_ == ("a", "b")
    assert model.values_.tolist() == [3.0, 2.5]


def test_robust_mean_discounts_a_noisy_annotator() -> None:
    """60 items: two steady annotators (off by 1) and a wild one (off by 40)."""
    truth = np.arange(60, dtype=np.float64) * 10
    rows = []
    for i, value in enumerate(truth):
        rows += [(f"i{i:02d}", "steady1", value + 1), (f"i{i:02d}", "steady2", value - 1)]
        rows.append((f"i{i:02d}", "wild", value + (40 if i % 2 else -40)))
    data = NumericAnswers.from_rows(rows)
    plain = RobustMean(n_iter=0).fit(data).values_
    robust = RobustMean().fit(data).values_
    assert np.abs(plain - truth).max() == pytest.approx(40 / 3)
    assert np.abs(robust - truth).max() < 3.0  # from 13.3: the wild answers weigh ~1/40


def test_gold_values_are_kept() -> None:
    rows = [("a", "w1", 1), ("a", "w2", 3), ("b", "w1", 5)]
    model = RobustMean().fit(NumericAnswers.from_rows(rows), gold={"a": "7.5", "zz": 1})
    assert model.values_.tolist()[0] == 7.5
    with pytest.raises(InvalidAnswersError):
        Median().fit(NumericAnswers.from_rows(rows), gold={"a": "x"})


def test_gold_past_any_float_is_not_finite() -> None:
    # Was OverflowError from float(): the gold check caught only TypeError and ValueError.
    rows = [("a", "w1", 1), ("a", "w2", 3)]
    with pytest.raises(InvalidAnswersError, match=r"is not finite$"):
        Median().fit(NumericAnswers.from_rows(rows), gold={"a": 10**400})


def test_invalid_robust_mean_parameters() -> None:
    with pytest.raises(InvalidParameterError):
        RobustMean(huber=0)


def test_robust_mean_beats_mean_and_median_on_emotion() -> None:
    rows, gold = load_dataset("zheng_n_emotion")
    data = NumericAnswers.from_arrays(*zip(*rows, strict=True))

    def mae(values: np.ndarray) -> float:
        by_item = dict(zip(data.items, values.tolist(), strict=True))
        return float(np.mean([abs(by_item[i] - float(v)) for i, v in gold.items()]))

    robust = mae(RobustMean().fit(data).values_)
    mean = mae(RobustMean(n_iter=0).fit(data).values_)
    median = mae(Median().fit(data).values_)
    assert mean == pytest.approx(12.022)
    assert median == pytest.approx(13.529285714)
    assert robust < mean - 0.15
