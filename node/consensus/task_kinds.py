"""The numeric and multi-label result documents (which label values each kind allows is
:mod:`node.protocol.values`).

``run_consensus`` (:mod:`node.consensus.task`) handles categorical tasks with posteriors
and the full quality model; this module adds the two other task kinds with the same
reward rule and the same determinism, in integers wherever a decision is taken:

**Numeric** (``median@1``, ``robust-mean@1``, ``median@2``, ``robust-mean@2``). The
consensus value of an item is the estimator's, rounded to
:data:`~node.protocol.values.VALUE_DECIMALS` decimals. An answer *matches* when it is
within ``tolerance`` (an absolute amount in the task's unit) of the consensus, compared in
whole units of 10^-6 after correctly rounded IEEE scaling. An item is *confident* when it
is gold, or when at least two answers exist and strictly more than half of them match; its
*agreement* is the matching share. Above about 1.8e302 a value has no float in millionths:
a ``@1`` task with such an answer or consensus fails (``InvalidAnswersError``); a ``@2``
task publishes the value exactly and lets such an answer match nothing, so the annotator
who gave it is not paid for it and the task settles.

**Multi-label** (``multilabel@1`` = per-class ``rds@1``, or any categorical id applied
per class). An item's consensus is the set of classes whose posterior is above one half;
its confidence is the least decisive class posterior (``max(p, 1 - p)``), compared with
``confidence_threshold``. An answer matches when its set *equals* the consensus set.

For both, an annotator's *accuracy* is the matching share of its answers on confident
items; it is eligible at ``accuracy_floor`` (the skill floor is a categorical notion and is
not applied); it earns ``reward_per_label`` per matching answer on a confident item, paid
from the pool by :func:`node.consensus.rewards.allocate` (rounding down, remainder refunded).

Each document states Krippendorff's alpha of the answers: the interval metric over the
numeric values in whole 10^-6 units, and for multi-label the nominal metric over (item,
class) yes/no units, the decomposition the aggregation uses. Both exact
(:mod:`node.consensus.quality`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from eth_utils.address import is_address, to_checksum_address

from node.consensus.answers import NumericAnswers
from node.consensus.multilabel import MultiLabelAggregator, MultiLabelAnswers
from node.consensus.numerics import count_keys
from node.consensus.quality import (
    alpha_from_counts,
    fraction_ppb,
    krippendorff_alpha_interval,
)
from node.consensus.registry import CATEGORICAL, numeric_estimator
from node.consensus.regularized_ds import RegularizedDawidSkene
from node.consensus.rewards import allocate, entitlements
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.ids import MULTILABEL_ALGORITHM
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.result import SCHEMA, PayoutResult, payout_result
from node.protocol.rules import PPB, RewardParams, ppb_text
from node.protocol.values import DEFAULT_TOLERANCE, SCALE, VALUE_DECIMALS, tolerance_units

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def label_rows(batches: Iterable[LabelBatch], task_id: int) -> Iterator[tuple[str, str, Any]]:
    """``(item, lowercase annotator, value)`` of every label, checking task and address."""
    for batch in batches:
        if batch.task_id != task_id:
            raise InvalidAnswersError(f"batch of task {batch.task_id} given for task {task_id}")
        if not is_address(batch.annotator):
            raise InvalidAnswersError(f"annotator {batch.annotator!r} is not an address")
        annotator = batch.annotator.lower()
        for item, value in batch.labels:
            yield str(item), annotator, value


@dataclass(frozen=True)
class KindResult:
    """A result document (without its payout fields) and the payouts it implies."""

    document: dict[str, Any]
    payouts: PayoutResult
    refund: int


def _settle(
    *,
    annotators: tuple[str, ...],
    item: IntArray,
    annotator: IntArray,
    match: BoolArray,
    confident: BoolArray,
    params: RewardParams,
) -> tuple[list[dict[str, Any]], PayoutResult, int]:
    """Accepted labels, accuracy, eligibility and payouts per annotator (integers only)."""
    n = len(annotators)
    on_confident = confident[item]
    labels = count_keys(annotator, n)
    judged = count_keys(annotator[on_confident], n)
    accepted = count_keys(annotator[on_confident & match], n)
    accuracy = (accepted * PPB) // np.maximum(judged, 1)
    eligible = (judged > 0) & (accuracy >= params.accuracy_floor_ppb)
    paid, refund = allocate(
        entitlements(accepted, eligible, params.reward_per_label), params.reward_pool
    )
    payouts = payout_result(annotators, paid)
    rows = [
        {
            "account": to_checksum_address(account),
            "labels": int(labels[a]),
            "accepted": int(accepted[a]),
            "eligible": bool(eligible[a]),
            "accuracy": ppb_text(int(accuracy[a])),
            "payout": str(paid[a]),
        }
        for a, account in enumerate(annotators)
    ]
    return rows, payouts, refund


def _fixed_text(units: int) -> str:
    """A whole number of 10^-6 units as a fixed-decimal string."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), SCALE)
    return f"{sign}{whole}.{fraction:0{VALUE_DECIMALS}d}"


def millionths(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Values in whole 10^-6 units: ``round(v * 10^6)`` in float64 (the product correctly
    rounded, then rounded half to even), infinite where the product overflows (``|v|`` above
    about 1.8e302). What answers and the consensus are compared in."""
    with np.errstate(over="ignore"):  # overflow to +-inf is the defined IEEE result here
        units: npt.NDArray[np.float64] = np.round(np.multiply(values, float(SCALE))).astype(
            np.float64, copy=False
        )
    return units


def within_tolerance(
    given: npt.NDArray[np.float64], consensus: npt.NDArray[np.float64], tol: int
) -> BoolArray:
    """Whether each answer's millionths are within ``tol`` of its item's consensus. An
    answer or a consensus whose millionths are infinite (:func:`millionths`) matches
    nothing: only ``median@2`` and ``robust-mean@2`` tasks get that far with one, and
    there such an answer is the one to leave unpaid."""
    comparable = np.isfinite(given) & np.isfinite(consensus)
    gap = np.zeros(given.shape, dtype=np.float64)
    np.subtract(given, consensus, out=gap, where=comparable)
    out: BoolArray = comparable & (np.abs(gap) <= tol)
    return out


def exact_units(values: npt.NDArray[np.float64], units: npt.NDArray[np.float64]) -> list[int]:
    """``units`` (:func:`millionths` of ``values``) as Python integers, exact where they
    overflowed: such a value is above 2**1000, hence a whole number, and its millionths are
    ``int(v) * 10^6``. Published values and Krippendorff's alpha use these."""
    return [
        int(u) if math.isfinite(u) else int(v) * SCALE
        for v, u in zip(values.tolist(), units.tolist(), strict=True)
    ]


def numeric_result(
    task_id: int,
    params: RewardParams,
    batches: Iterable[LabelBatch],
    gold: Mapping[str, JsonValue] | None,
    *,
    algorithm: str,
    tolerance: str = DEFAULT_TOLERANCE,
) -> KindResult:
    """The ``labelnet/result@1`` document of a numeric task."""
    tol = tolerance_units(tolerance)
    answers = NumericAnswers.from_rows(label_rows(batches, task_id))
    known = set(answers.items)
    gold_values = {str(k): v for k, v in (gold or {}).items() if str(k) in known}
    estimator = numeric_estimator(algorithm).fit(answers, gold_values)
    consensus = millionths(estimator.values_)
    given = millionths(answers.value)
    if not estimator.finite_range and not (
        np.all(np.isfinite(consensus)) and np.all(np.isfinite(given))
    ):
        # Finite answers can still overflow: 1e160 squared in robust-mean@1's weights, 1e303
        # in millionths. There is no fixed-point value to publish, so the task fails here as
        # unusable input rather than as a ValueError escaping every validator.
        raise InvalidAnswersError(
            f"task {task_id}: answers too large for {estimator.algorithm} (a value or a "
            "consensus overflows the float range in millionths)"
        )
    match = within_tolerance(given, consensus[answers.item], tol)
    counts = count_keys(answers.item, len(answers.items))
    matching = count_keys(answers.item[match], len(answers.items))
    is_gold = np.array([item in gold_values for item in answers.items], dtype=bool)
    confident = is_gold | ((counts >= 2) & (2 * matching > counts))
    rows, payouts, refund = _settle(
        annotators=answers.annotators,
        item=answers.item,
        annotator=answers.annotator,
        match=match,
        confident=confident,
        params=params,
    )
    value_units = exact_units(estimator.values_, consensus)
    items = [
        {
            "item": item,
            "value": _fixed_text(value_units[i]),
            "agreement": ppb_text(int(matching[i]) * PPB // int(counts[i])),
            "confident": bool(confident[i]),
            "gold": bool(is_gold[i]),
        }
        for i, item in enumerate(answers.items)
    ]
    document = {
        "kind": str(TaskKind.NUMERIC),
        "algorithm": {"id": estimator.algorithm, "params": estimator.params()},
        "tolerance": tolerance,
        "answers": {
            "count": len(answers.value),
            "dropped_conflicts": answers.dropped_conflicts,
            "gold_items": int(is_gold.sum()),
        },
        "items": items,
        "annotators": rows,
        "krippendorff_alpha": alpha_text(
            krippendorff_alpha_interval(answers.item, exact_units(answers.value, given))
        ),
    }
    return KindResult(with_payouts(document, task_id, params, payouts, refund), payouts, refund)


def multilabel_result(
    task_id: int,
    params: RewardParams,
    batches: Iterable[LabelBatch],
    gold: Mapping[str, JsonValue] | None,
    *,
    classes: tuple[str, ...],
    algorithm: str = MULTILABEL_ALGORITHM,
) -> KindResult:
    """The ``labelnet/result@1`` document of a multi-label task."""
    if algorithm == MULTILABEL_ALGORITHM:
        factory = CATEGORICAL[RegularizedDawidSkene.algorithm]
    elif algorithm in CATEGORICAL:
        factory = CATEGORICAL[algorithm]
    else:
        raise InvalidParameterError(f"unknown multi-label algorithm {algorithm!r}")
    rows_in = [
        (item, annotator, _label_set(value))
        for item, annotator, value in label_rows(batches, task_id)
    ]
    answers = MultiLabelAnswers.from_rows(rows_in, classes)
    known = set(answers.items)
    gold_sets = {str(k): _label_set(v) for k, v in (gold or {}).items() if str(k) in known}
    model = MultiLabelAggregator(factory).fit(answers, gold_sets)
    probas, chosen = model.probas_ppb_, model.labels_
    decisive = np.maximum(probas, PPB - probas).min(axis=1)
    is_gold = np.array([item in gold_sets for item in answers.items], dtype=bool)
    confident = is_gold | (decisive >= params.confidence_threshold_ppb)
    match = (answers.chosen == chosen[answers.item]).all(axis=1)
    rows, payouts, refund = _settle(
        annotators=answers.annotators,
        item=answers.item,
        annotator=answers.annotator,
        match=match,
        confident=confident,
        params=params,
    )
    items = [
        {
            "item": item,
            "value": list(labels),
            "confidence": ppb_text(int(decisive[i])),
            "confident": bool(confident[i]),
            "gold": bool(is_gold[i]),
        }
        for i, (item, labels) in enumerate(zip(answers.items, model.label_sets_, strict=True))
    ]
    document = {
        "kind": str(TaskKind.MULTILABEL),
        "algorithm": {"id": algorithm, "params": factory().params()},
        "classes": list(answers.classes),
        "answers": {
            "count": len(answers.item),
            "dropped_conflicts": answers.dropped_conflicts,
            "gold_items": int(is_gold.sum()),
        },
        "items": items,
        "annotators": rows,
        "krippendorff_alpha": alpha_text(_multilabel_alpha(answers)),
    }
    return KindResult(with_payouts(document, task_id, params, payouts, refund), payouts, refund)


def _multilabel_alpha(answers: MultiLabelAnswers) -> Fraction | None:
    """Nominal alpha over (item, class) units, each answer a yes/no for the class: the
    binary decomposition the aggregation itself uses."""
    n_items, k = len(answers.items), len(answers.classes)
    per_item = count_keys(answers.item, n_items)
    ones = np.zeros((n_items, k), dtype=np.int64)
    np.add.at(ones, answers.item, answers.chosen.astype(np.int64))
    yes = ones.reshape(-1)
    no = np.repeat(per_item, k) - yes
    return alpha_from_counts(np.stack([no, yes], axis=1))


def alpha_text(alpha: Fraction | None) -> str | None:
    return None if alpha is None else ppb_text(fraction_ppb(alpha))


def _label_set(value: JsonValue) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidAnswersError(f"a multi-label label is a list of class ids, got {value!r}")
    return tuple(value)


def with_payouts(
    document: dict[str, Any],
    task_id: int,
    params: RewardParams,
    payouts: PayoutResult,
    refund: int,
) -> dict[str, Any]:
    """``document`` with the fields every kind's result states the same way: schema, task,
    parameters and payouts (shared by :mod:`node.consensus.kinds`)."""
    return {
        **document,
        "schema": SCHEMA,
        "task": task_id,
        "parameters": params.document(),
        "payouts": [{"account": a, "amount": str(x)} for a, x in payouts.leaves],
        "total_payout": str(payouts.total),
        "refund": str(refund),
        "payout_root": "0x" + payouts.root.hex(),
    }
