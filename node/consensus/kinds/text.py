"""Consensus over free-text answers (``text@1``), deterministic to the byte.

Texts are compared in the task's normalization (:func:`node.protocol.annotation.match_text`).
Per item, with annotator weights ``w`` (integers):

1. **Agreement**: a normalized text whose answers weigh strictly more than half of the
   item's total weight is the consensus.
2. **Otherwise the weighted medoid**: the normalized text ``t`` (one of the answers) with the
   least ``sum_j w_j * lev(t, t_j)`` over the item's answers, Levenshtein distance over code
   points (integers, so the sum is exact); ties to the heavier text, then the first in code
   point order.

Weights: every answer weighs the same in round 0; each of ``rounds`` further rounds weighs
an annotator by their smoothed agreement with the previous round's consensus,
``(matches + 1) / (answers + 2)`` in parts per billion. The published value is the most
frequent original (NFC) text of the winning group, ties to the first in code point order; on
a gold item, the gold text. An answer *matches* when its normalized text is the consensus.

Rewards as the numeric kind states confidence (:mod:`node.consensus.task_kinds`): an item
is confident when gold, or when at least two answers exist and strictly more than half
match; ``reward_per_label`` per matching answer on a confident item, for annotators whose
accuracy, skill and evidence (every distinct normalized text a class,
:func:`~node.consensus.kinds.common.hard_quality`) reach the task's floors.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

from node.consensus.kinds.common import IntArray, KindRows, hard_quality, ratio_text, settle
from node.consensus.numerics import count_keys
from node.consensus.task_kinds import KindResult
from node.protocol.annotation import TEXT_RULE, AnnotationParams, match_text
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.rules import PPB, RewardParams, ppb_text

DEFAULT_ROUNDS = 2
"""Quality-weighted rounds after the unweighted one (chosen in scripts/bench_kinds.py: the
count with the best mean exact-match over all regimes; see BENCHMARKS.md)."""


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute one code point), one row at a time in numpy:
    ``row[j] = min_k<=j (t[k] + j - k)`` is a running minimum, so a row has no Python loop."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    other = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    offsets = np.arange(len(b) + 1, dtype=np.int64)
    row = offsets.copy()
    step = np.empty(len(b) + 1, dtype=np.int64)
    for i, char in enumerate(np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32), 1):
        step[0] = i
        np.minimum(row[1:] + 1, row[:-1] + (other != char), out=step[1:])
        row = np.minimum.accumulate(step - offsets) + offsets
    return int(row[-1])


class TextConsensus:
    """Agreement, else the weighted medoid (module docstring); ``fit`` then ``labels_``."""

    algorithm = TEXT_RULE

    def __init__(self, rounds: int = DEFAULT_ROUNDS) -> None:
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 0 <= rounds <= 10:
            raise InvalidParameterError(f"rounds must be an integer in [0, 10], got {rounds!r}")
        self.rounds = rounds
        self._distances: dict[tuple[str, str], int] = {}

    def params(self) -> dict[str, int]:
        return {"rounds": self.rounds}

    def fit(
        self,
        item: IntArray,
        annotator: IntArray,
        texts: list[str],
        gold: dict[int, str] | None = None,
    ) -> TextConsensus:
        """``item``/``annotator`` codes sorted by (item, annotator), normalized ``texts``;
        ``gold`` maps an item code to its normalized gold text."""
        gold = gold or {}
        n_items, n_annotators = int(item.max()) + 1, int(annotator.max()) + 1
        starts = [*np.flatnonzero(np.r_[True, np.diff(item) != 0]).tolist(), len(item)]
        weights = np.full(n_annotators, PPB, dtype=np.int64)
        vocabulary = {t: c for c, t in enumerate(sorted({*texts, *gold.values()}))}
        answered = np.array([vocabulary[t] for t in texts], dtype=np.int64)
        total = count_keys(annotator, n_annotators)
        labels: list[str] = []
        for _ in range(self.rounds + 1):
            labels = [gold.get(i, "") for i in range(n_items)]
            for start, stop in itertools.pairwise(starts):
                code = int(item[start])
                if code not in gold:
                    labels[code] = self._choose(
                        texts[start:stop], weights[annotator[start:stop]].tolist()
                    )
            chosen = np.array([vocabulary[t] for t in labels], dtype=np.int64)
            match = answered == chosen[item]
            right = count_keys(annotator[match], n_annotators)
            weights = (right + 1) * PPB // (total + 2)
        self.labels_ = labels
        self.match_ = match
        return self

    def _choose(self, texts: list[str], weights: list[int]) -> str:
        mass: Counter[str] = Counter()
        for text, weight in zip(texts, weights, strict=True):
            mass[text] += weight
        heaviest = min(mass, key=lambda t: (-mass[t], t))
        if 2 * mass[heaviest] > sum(weights):
            return heaviest
        return min(
            mass,
            key=lambda t: (sum(w * self._distance(t, u) for u, w in mass.items()), -mass[t], t),
        )

    def _distance(self, a: str, b: str) -> int:
        key = (a, b) if a <= b else (b, a)
        if key not in self._distances:
            self._distances[key] = levenshtein(*key)
        return self._distances[key]


def text_result(
    *,
    task_id: int,
    params: RewardParams,
    rows: KindRows,
    gold: dict[str, JsonValue],
    annotation: AnnotationParams,
    rounds: int = DEFAULT_ROUNDS,
) -> KindResult:
    """The ``labelnet/result@1``-shaped document of a text task."""
    for value in (*rows.values, *gold.values()):
        if not isinstance(value, str):
            raise InvalidAnswersError(f"a text label is a string, got {value!r}")
    norm = [match_text(str(v), annotation.normalization) for v in rows.values]
    code_of = {item: code for code, item in enumerate(rows.items)}
    gold_codes = {code_of[k]: match_text(str(v), annotation.normalization) for k, v in gold.items()}
    model = TextConsensus(rounds).fit(rows.item, rows.annotator, norm, gold_codes)
    n_items, n_annotators = len(rows.items), len(rows.annotators)
    match = model.match_
    counts = count_keys(rows.item, n_items)
    matching = count_keys(rows.item[match], n_items)
    is_gold = np.array([i in gold_codes for i in range(n_items)], dtype=bool)
    confident = is_gold | ((counts >= 2) & (2 * matching > counts))
    vocabulary = {t: c for c, t in enumerate(sorted({*norm, *model.labels_}))}
    answered = np.array([vocabulary[t] for t in norm], dtype=np.int64)
    truth = np.array([vocabulary[t] for t in model.labels_], dtype=np.int64)[rows.item]
    quality = hard_quality(rows.annotator, answered, truth, n_annotators)
    accepted = count_keys(rows.annotator[match & confident[rows.item]], n_annotators)
    labels = count_keys(rows.annotator, n_annotators)
    starts = [*np.flatnonzero(np.r_[True, np.diff(rows.item) != 0]).tolist(), len(norm)]
    items = []
    for i, (start, stop) in enumerate(itertools.pairwise(starts)):
        item = rows.items[i]
        originals = Counter(str(rows.values[r]) for r in range(start, stop) if match[r])
        value = (
            str(gold[item]) if item in gold else min(originals, key=lambda t: (-originals[t], t))
        )
        items.append(
            {
                "item": item,
                "value": value,
                "agreement": ratio_text(int(matching[i]), int(counts[i])),
                "confident": bool(confident[i]),
                "gold": bool(is_gold[i]),
            }
        )
    figures = [
        {
            "labels": int(labels[a]),
            "accuracy": ppb_text(int(quality.accuracy_ppb[a])),
            "skill": ppb_text(int(quality.skill_ppb[a])),
            "evidence": ppb_text(int(quality.evidence_ppb[a])),
        }
        for a in range(n_annotators)
    ]
    body = {
        "algorithm": {
            "id": annotation.rule,
            "params": {**annotation.document(), **model.params()},
        },
        "answers": {
            "count": len(rows.values),
            "dropped_conflicts": rows.dropped_conflicts,
            "gold_items": int(is_gold.sum()),
        },
        "items": items,
    }
    return settle(
        kind=str(TaskKind.TEXT),
        task_id=task_id,
        params=params,
        annotators=rows.annotators,
        accepted=accepted,
        eligible=quality.eligible(params),
        figures=figures,
        body=body,
    )
