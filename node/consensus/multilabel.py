"""Multi-label classification: each annotator picks a *set* of classes per item.

Aggregated one class at a time: for class ``c`` every answer becomes a binary answer
("chose c" or not) and a categorical estimator (the default unless told otherwise) fits
those; an item's consensus set is every class whose posterior of "chosen" is strictly
above one half. Per-class aggregation lets annotator skill differ by class (someone
reliable on "cat" may over-tag "dog"), which a single set-valued model would blur.

Canonical form follows :mod:`node.consensus.answers`: one row per (item, annotator),
repeated identical sets collapse, an (item, annotator) pair given different sets is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers, canonical_rows
from node.consensus.base import CategoricalEstimator
from node.consensus.regularized_ds import RegularizedDawidSkene
from node.protocol import ids
from node.protocol.errors import InvalidAnswersError, NotFittedError
from node.protocol.rules import PPB

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
BINARY_CLASSES = ("0", "1")


@dataclass(frozen=True, eq=False)
class MultiLabelAnswers:
    """Set-valued answers: ``chosen[row, c]`` says whether the row's set contains class c."""

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    classes: tuple[str, ...]
    item: IntArray
    annotator: IntArray
    chosen: BoolArray
    dropped_conflicts: int = 0

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, Collection[str]]], classes: Sequence[str]
    ) -> MultiLabelAnswers:
        """Build from ``(item, annotator, chosen classes)``; ``classes`` is the task's list."""
        class_ids = tuple(sorted({str(c) for c in classes}))
        if not class_ids:
            raise InvalidAnswersError("a multi-label task needs at least one class")
        index = {c: k for k, c in enumerate(class_ids)}
        triples = list(rows)
        if not triples:
            raise InvalidAnswersError("no answers")
        item_ids = tuple(sorted({str(t[0]) for t in triples}))
        annotator_ids = tuple(sorted({str(t[1]) for t in triples}))
        item_index = {v: i for i, v in enumerate(item_ids)}
        annotator_index = {v: i for i, v in enumerate(annotator_ids)}
        chosen = np.zeros((len(triples), len(class_ids)), dtype=bool)
        for row, (_, _, picked) in enumerate(triples):
            for value in picked:
                if str(value) not in index:
                    raise InvalidAnswersError(f"value {value!r} is not a declared class")
                chosen[row, index[str(value)]] = True
        item = np.array([item_index[str(t[0])] for t in triples], dtype=np.int64)
        annotator = np.array([annotator_index[str(t[1])] for t in triples], dtype=np.int64)
        _, set_key = np.unique(chosen, axis=0, return_inverse=True)
        keep, conflicts = canonical_rows(
            item, annotator, set_key.astype(np.int64).reshape(-1), len(annotator_ids)
        )
        if len(keep) == 0:
            raise InvalidAnswersError("no answers left after dropping conflicting pairs")
        used_items = np.unique(item[keep])
        used_annotators = np.unique(annotator[keep])
        chosen_kept = chosen[keep]
        chosen_kept.flags.writeable = False
        return cls(
            items=tuple(item_ids[int(i)] for i in used_items),
            annotators=tuple(annotator_ids[int(a)] for a in used_annotators),
            classes=class_ids,
            item=np.searchsorted(used_items, item[keep]).astype(np.int64),
            annotator=np.searchsorted(used_annotators, annotator[keep]).astype(np.int64),
            chosen=chosen_kept,
            dropped_conflicts=conflicts,
        )

    def binary(self, class_code: int) -> Answers:
        """The answers to "does the item have class ``class_code``?" as 0/1 answers."""
        return Answers.from_codes(
            self.item,
            self.annotator,
            self.chosen[:, class_code].astype(np.int64),
            items=self.items,
            annotators=self.annotators,
            classes=BINARY_CLASSES,
            keep_classes=True,
        )


class MultiLabelAggregator:
    """Per-class binary aggregation with any categorical estimator."""

    algorithm = ids.MULTILABEL_ALGORITHM

    def __init__(
        self, estimator: Callable[[], CategoricalEstimator] = RegularizedDawidSkene
    ) -> None:
        self.estimator = estimator
        self._probas: IntArray | None = None
        self._answers: MultiLabelAnswers | None = None

    def fit(
        self, answers: MultiLabelAnswers, gold: Mapping[str, Collection[str]] | None = None
    ) -> Self:
        """Fit one binary model per class; ``gold`` maps items to their true class sets."""
        probas = np.zeros((len(answers.items), len(answers.classes)), dtype=np.int64)
        for code, name in enumerate(answers.classes):
            binary_gold = (
                {item: "1" if name in set(values) else "0" for item, values in gold.items()}
                if gold
                else None
            )
            model = self.estimator().fit(answers.binary(code), binary_gold)
            probas[:, code] = model.probas_ppb_[:, 1]
        probas.flags.writeable = False
        self._probas, self._answers = probas, answers
        return self

    def fit_predict(
        self, answers: MultiLabelAnswers, gold: Mapping[str, Collection[str]] | None = None
    ) -> list[tuple[str, ...]]:
        """Fit, then return each item's consensus class set (sorted class ids)."""
        return self.fit(answers, gold).label_sets_

    @property
    def probas_ppb_(self) -> IntArray:
        """``[item, class]``: posterior that the class is in the item's set, parts per billion."""
        if self._probas is None:
            raise NotFittedError("MultiLabelAggregator is not fitted")
        return self._probas

    @property
    def labels_(self) -> BoolArray:
        """``[item, class]``: class in the consensus set (posterior strictly above 1/2)."""
        out: BoolArray = self.probas_ppb_ > PPB // 2
        return out

    @property
    def label_sets_(self) -> list[tuple[str, ...]]:
        if self._answers is None:
            raise NotFittedError("MultiLabelAggregator is not fitted")
        classes = self._answers.classes
        return [tuple(classes[c] for c in np.flatnonzero(row)) for row in self.labels_]

    @property
    def items_(self) -> tuple[str, ...]:
        if self._answers is None:
            raise NotFittedError("MultiLabelAggregator is not fitted")
        return self._answers.items
