"""Shared surface of the numeric estimators (one value per item, scored by absolute error).

Consensus values are floats computed with basic IEEE operations and sequential sums in
canonical order, and are published rounded to :data:`VALUE_DECIMALS` decimals, so every
validator reports the same value. Gold items (``gold={item: value}``) take the gold value.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt

from node.consensus.answers import NumericAnswers
from node.protocol.errors import InvalidAnswersError, NotFittedError

FloatArray = npt.NDArray[np.float64]
NumericGold = Mapping[str, float | str]


def encode_numeric_gold(answers: NumericAnswers, gold: NumericGold | None) -> FloatArray:
    """Gold value per item, NaN where an item has none; gold for unanswered items is ignored."""
    out = np.full(answers.n_items, np.nan, dtype=np.float64)
    if not gold:
        return out
    index = {item: i for i, item in enumerate(answers.items)}
    for item, value in gold.items():
        position = index.get(str(item))
        if position is None:
            continue
        try:
            number = float(value)
        except OverflowError:  # an integer past the largest float: refused as infinite below
            number = math.inf
        except (TypeError, ValueError) as exc:
            raise InvalidAnswersError(f"gold value {value!r} is not a number") from exc
        if not np.isfinite(number):
            raise InvalidAnswersError(f"gold value {value!r} is not finite")
        out[position] = number
    return out


class NumericEstimator(ABC):
    """``fit`` sets ``values_`` (one consensus value per item, aligned with ``items_``)."""

    algorithm: ClassVar[str]
    finite_range: ClassVar[bool] = False
    """Whether the id takes any finite answers (``median@2``, ``robust-mean@2``): then an
    answer or consensus too large for float millionths is published exactly and matches
    nothing (:func:`node.consensus.task_kinds.numeric_result`); ``median@1`` and
    ``robust-mean@1`` tasks fail on it, as they always did."""
    _values: FloatArray | None = None
    _answers: NumericAnswers | None = None

    @abstractmethod
    def _fit(self, answers: NumericAnswers, gold: FloatArray) -> FloatArray:
        """Consensus value per item (gold items may be left to the caller)."""

    def params(self) -> dict[str, int | str]:
        return {}

    def fit(self, answers: NumericAnswers, gold: NumericGold | None = None) -> Self:
        gold_values = encode_numeric_gold(answers, gold)
        values = self._fit(answers, gold_values)
        values = np.where(np.isnan(gold_values), values, gold_values)
        values.flags.writeable = False
        self._values, self._answers = values, answers
        return self

    def fit_predict(self, answers: NumericAnswers, gold: NumericGold | None = None) -> FloatArray:
        return self.fit(answers, gold).values_

    @property
    def values_(self) -> FloatArray:
        if self._values is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._values

    @property
    def items_(self) -> tuple[str, ...]:
        if self._answers is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._answers.items


def segment_starts(answers: NumericAnswers) -> npt.NDArray[np.int64]:
    """Index of each item's first row (rows are sorted by item)."""
    counts = np.bincount(answers.item, minlength=answers.n_items)
    starts = np.zeros(answers.n_items, dtype=np.int64)
    starts[1:] = np.cumsum(counts)[:-1]
    return starts
