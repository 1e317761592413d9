"""What the four kinds of issue #20 share: the canonical answer rows, the payout step and
the result document's frame.

The input rule is the categorical one (:mod:`node.consensus.answers`), applied to whole
label values: items and annotators sorted by code point; an (item, annotator) pair given
the same value twice counts once, given two different values is dropped entirely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from eth_utils.address import to_checksum_address

from node.consensus.numerics import count_keys
from node.consensus.quality import annotator_figures
from node.consensus.rewards import allocate, entitlements
from node.consensus.task_kinds import KindResult, label_rows, with_payouts
from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.errors import InvalidAnswersError
from node.protocol.labels import LabelBatch
from node.protocol.result import payout_result
from node.protocol.rules import PPB, RewardParams, ppb_text

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class KindRows:
    """Canonical answers of one task: sorted ids, and one row per kept (item, annotator)."""

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    item: IntArray
    annotator: IntArray
    values: tuple[JsonValue, ...]
    dropped_conflicts: int

    @classmethod
    def from_batches(cls, batches: Iterable[LabelBatch], task_id: int) -> KindRows:
        seen: dict[tuple[str, str], tuple[bytes, JsonValue]] = {}
        conflicts: set[tuple[str, str]] = set()
        for item, annotator, value in label_rows(batches, task_id):
            key, encoded = (item, annotator), canonical_json(value)
            if key in seen and seen[key][0] != encoded:
                conflicts.add(key)
            seen.setdefault(key, (encoded, value))
        kept = sorted(key for key in seen if key not in conflicts)
        if not kept:
            raise InvalidAnswersError(f"task {task_id} has no revealed labels")
        items = tuple(sorted({i for i, _ in kept}))
        annotators = tuple(sorted({a for _, a in kept}))
        item_code = {v: c for c, v in enumerate(items)}
        annotator_code = {v: c for c, v in enumerate(annotators)}
        return cls(
            items=items,
            annotators=annotators,
            item=np.array([item_code[i] for i, _ in kept], dtype=np.int64),
            annotator=np.array([annotator_code[a] for _, a in kept], dtype=np.int64),
            values=tuple(seen[key][1] for key in kept),
            dropped_conflicts=len(conflicts),
        )

    def gold_of(self, gold: Mapping[str, JsonValue] | None) -> dict[str, JsonValue]:
        """The gold values of the items that have answers."""
        known = set(self.items)
        return {str(k): v for k, v in (gold or {}).items() if str(k) in known}


def ratio_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a nine-decimal string, floored (``0`` over nothing)."""
    return ppb_text(numerator * PPB // denominator if denominator else 0)


def settle(
    *,
    kind: str,
    task_id: int,
    params: RewardParams,
    annotators: tuple[str, ...],
    accepted: IntArray,
    eligible: BoolArray,
    figures: list[dict[str, Any]],
    body: dict[str, Any],
) -> KindResult:
    """Step 4 and 5 of the reward rule (:mod:`node.consensus.rewards`): ``reward_per_label``
    per accepted answer of an eligible annotator, pro rata if the pool is short; then the
    document: ``body`` (kind-specific), one row per annotator (``figures`` plus the payout
    fields every result states), and the payout frame."""
    paid, refund = allocate(
        entitlements(accepted, eligible, params.reward_per_label), params.reward_pool
    )
    payouts = payout_result(annotators, paid)
    rows = [
        {
            "account": to_checksum_address(account),
            **figures[a],
            "accepted": int(accepted[a]),
            "eligible": bool(eligible[a]),
            "payout": str(paid[a]),
        }
        for a, account in enumerate(annotators)
    ]
    document = {"kind": kind, **body, "annotators": rows}
    return KindResult(with_payouts(document, task_id, params, payouts, refund), payouts, refund)


@dataclass(frozen=True, eq=False)
class HardQuality:
    """Accuracy, skill and evidence per annotator against a consensus without posteriors."""

    accuracy_ppb: IntArray
    skill_ppb: IntArray
    evidence_ppb: IntArray

    def eligible(self, params: RewardParams) -> BoolArray:
        """Step 3 of the reward rule (:func:`node.consensus.rewards.judge`), same floors."""
        ok = (self.accuracy_ppb >= params.accuracy_floor_ppb) & (
            self.skill_ppb >= params.skill_floor_ppb
        )
        if params.significance_z_ppb:
            ok &= self.evidence_ppb >= params.significance_z_ppb
        out: BoolArray = ok
        return out


def hard_quality(
    annotator: IntArray, answered: IntArray, truth: IntArray, n_annotators: int
) -> HardQuality:
    """:func:`node.consensus.quality.annotator_quality` for a consensus that is one class per
    item (posteriors 0 or 1) over a class set too large for dense tables (every distinct
    text is a class): per row the annotator, the answered class and the consensus class.

    The same figures, exactly: accuracy ``p_o``; skill ``(p_o - p_e) / (1 - p_e)`` with
    ``p_e = sum_c a_c b_c`` over the annotator's answer frequencies ``a`` and the consensus
    class shares ``b`` of their items; evidence from the same
    :func:`~node.consensus.quality.annotator_figures`. Only classes in both ``a`` and ``b`` add to
    ``p_e`` or the variance, so the sums run over those (sparse) pairs."""
    width = int(max(int(answered.max(initial=0)), int(truth.max(initial=0)))) + 1
    n = count_keys(annotator, n_annotators)
    right = count_keys(annotator[answered == truth], n_annotators)
    keys_a, counts_a = np.unique(annotator * width + answered, return_counts=True)
    keys_b, counts_b = np.unique(annotator * width + truth, return_counts=True)
    common, ia, ib = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    owner = common // width
    f_counts, m_counts = counts_a[ia].tolist(), counts_b[ib].tolist()
    cuts = np.searchsorted(owner, np.arange(n_annotators + 1)).tolist()
    accuracy, skill, evidence = (np.zeros(n_annotators, dtype=np.int64) for _ in range(3))
    for a in range(n_annotators):  # per annotator, over its shared classes: exact integers
        total = int(n[a])
        if not total:
            continue
        # Posteriors of 0 or 1: a class's mass on the annotator's items is its count, PPB each.
        masses = [m * PPB for m in m_counts[cuts[a] : cuts[a + 1]]]
        accuracy[a], skill[a], evidence[a] = annotator_figures(
            total, int(right[a]) * PPB, f_counts[cuts[a] : cuts[a + 1]], masses
        )
    return HardQuality(accuracy_ppb=accuracy, skill_ppb=skill, evidence_ppb=evidence)
