"""Consensus over labels that are sets of classed intervals: boxes (2-D) and spans (1-D).

One algorithm for both (a span is a one-dimensional box), deterministic to the byte:

1. **Match** (per item). Annotators are taken in sorted order; each one's objects are
   matched one to one to the item's clusters so far, greedily by IoU (highest first; ties
   by the object's then the cluster's index), a pair qualifying when ``IoU >= iou``,
   compared exactly in integers (``inter * 1e9 >= iou_ppb * union``). An unmatched object
   starts a cluster. A cluster is compared by its representative, the lower median of its
   members, per coordinate (integers). On a gold item the gold objects seed the clusters and
   stay their representatives. The class plays no part in matching: it is voted.
2. **Vote** with annotator quality. Each cluster is a unit with classes ``absent`` and the
   task's classes; every annotator who labelled the item answers it (its member's class, or
   ``absent``). One-coin Dawid-Skene (``ds1@1``, fixed 50 iterations, parts per billion)
   over these units gives each annotator one accuracy and each cluster a posterior; its
   argmax (ties to ``absent``, then the first class) decides whether the object is there and
   its class. Gold clusters are clamped to the gold (gold objects present, others absent).
3. **Consensus object**: the lower median of the members' coordinates (a gold object on
   gold items). The k-th smallest start is below the k-th smallest end, so it is a valid
   box or span.
4. **Rewards**: the reward rule of categorical tasks over the units (:func:`node.consensus.
   rewards.judge`: confidence threshold, accuracy, skill and evidence floors), paying
   ``reward_per_label`` per *matched object*: an object in a confident present cluster with
   the consensus class. Precision and recall per annotator are stated against the present
   clusters (all, confident or not).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from node.consensus.answers import Answers
from node.consensus.kinds.common import IntArray, KindRows, ratio_text, settle
from node.consensus.numerics import argmax_lowest, count_keys
from node.consensus.one_coin import OneCoinDawidSkene
from node.consensus.quality import krippendorff_alpha_nominal
from node.consensus.rewards import judge
from node.consensus.task_kinds import KindResult, alpha_text
from node.protocol.annotation import AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError
from node.protocol.rules import PPB, RewardParams, ppb_text

ABSENT = 0


def _parse(value: JsonValue, dims: int, codes: dict[str, int]) -> tuple[IntArray, IntArray]:
    """``(coordinates, class codes)`` of a canonical label: lows then highs per row."""
    if not isinstance(value, list):
        raise InvalidAnswersError(f"an object label is a list, got {value!r}")
    coords = np.array([entry[: 2 * dims] for entry in value], dtype=np.int64).reshape(-1, 2 * dims)
    try:
        classes = np.array([codes[entry[2 * dims]] for entry in value], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        raise InvalidAnswersError(f"an object of an unknown class in {value!r}") from exc
    return coords, classes


def overlaps(a: IntArray, b: IntArray, dims: int) -> tuple[IntArray, IntArray]:
    """Intersection and union (integers) of every object of ``a`` with every one of ``b``."""
    low = np.maximum(a[:, None, :dims], b[None, :, :dims])
    high = np.minimum(a[:, None, dims:], b[None, :, dims:])
    inter = np.prod(np.maximum(high - low, 0), axis=2)
    area_a = np.prod(a[:, dims:] - a[:, :dims], axis=1)
    area_b = np.prod(b[:, dims:] - b[:, :dims], axis=1)
    return inter, area_a[:, None] + area_b[None, :] - inter


def lower_median(coords: IntArray) -> IntArray:
    """The lower median of each column (an integer, whatever the count)."""
    out: IntArray = np.sort(coords, axis=0)[(len(coords) - 1) // 2]
    return out


@dataclass
class Cluster:
    """Objects matched as one: ``(annotator, coordinates, class)`` members."""

    representative: IntArray
    gold_class: int = -1
    members: list[tuple[int, IntArray, int]] = field(default_factory=list)

    def add(self, annotator: int, coords: IntArray, cls: int) -> None:
        self.members.append((annotator, coords, cls))
        if self.gold_class < 0:
            self.representative = lower_median(np.stack([m[1] for m in self.members]))


def match_item(
    answers: list[tuple[int, IntArray, IntArray]],
    dims: int,
    iou_ppb: int,
    gold: tuple[IntArray, IntArray] | None = None,
) -> list[Cluster]:
    """Step 1 for one item: ``answers`` as ``(annotator, coordinates, classes)`` in
    annotator order; ``gold`` objects seed fixed clusters."""
    clusters: list[Cluster] = []
    if gold is not None:
        clusters = [Cluster(c, int(k)) for c, k in zip(gold[0], gold[1], strict=True)]
    for annotator, coords, classes in answers:
        free = np.ones(len(coords), dtype=bool)
        if clusters and len(coords):
            reps = np.stack([c.representative for c in clusters])
            inter, union = overlaps(coords, reps, dims)
            # Exact threshold in Python integers (areas times 1e9 can pass 2^63).
            ok = inter.astype(object) * PPB >= union.astype(object) * iou_ppb
            rows, cols = np.nonzero(ok.astype(bool))
            iou = inter[rows, cols] / union[rows, cols]  # correctly rounded: same everywhere
            taken = np.zeros(len(clusters), dtype=bool)
            for k in np.lexsort((cols, rows, -iou)):
                r, c = int(rows[k]), int(cols[k])
                if free[r] and not taken[c]:
                    free[r], taken[c] = False, True
                    clusters[c].add(annotator, coords[r], int(classes[r]))
        for r in np.flatnonzero(free).tolist():
            cluster = Cluster(coords[r])
            cluster.add(annotator, coords[r], int(classes[r]))
            clusters.append(cluster)
    return clusters


def object_result(
    *,
    kind: str,
    dims: int,
    task_id: int,
    params: RewardParams,
    rows: KindRows,
    gold: dict[str, JsonValue],
    classes: tuple[str, ...],
    annotation: AnnotationParams,
) -> KindResult:
    """The ``labelnet/result@1``-shaped document of a boxes or spans task."""
    names = tuple(sorted(classes))
    codes = {name: j + 1 for j, name in enumerate(names)}
    starts = np.flatnonzero(np.r_[True, np.diff(rows.item) != 0])
    bounds = [*starts.tolist(), len(rows.item)]
    unit_item: list[int] = []
    clusters: list[Cluster] = []
    unit_rows: list[tuple[int, int, int]] = []  # (unit, annotator, class code)
    for start, stop in itertools.pairwise(bounds):  # one item at a time
        item = int(rows.item[start])
        answers = [
            (int(rows.annotator[r]), *_parse(rows.values[r], dims, codes))
            for r in range(start, stop)
        ]
        seed = _parse(gold[rows.items[item]], dims, codes) if rows.items[item] in gold else None
        found = match_item(answers, dims, annotation.iou_ppb, seed)
        for cluster in found:
            unit = len(clusters)
            voted = {a: k for a, _, k in cluster.members}
            unit_rows.extend((unit, a, voted.get(a, ABSENT)) for a, _, _ in answers)
            clusters.append(cluster)
            unit_item.append(item)
    n_annotators = len(rows.annotators)
    units = tuple(f"{u:010d}" for u in range(len(clusters)))
    table = np.array(unit_rows, dtype=np.int64).reshape(-1, 3)
    labels = count_keys(rows.annotator, n_annotators)
    objects = count_keys(table[:, 1][table[:, 2] != ABSENT], n_annotators)
    accepted = np.zeros(n_annotators, dtype=np.int64)
    eligible = np.zeros(n_annotators, dtype=bool)
    matched = np.zeros(n_annotators, dtype=np.int64)
    present = np.zeros(n_annotators, dtype=np.int64)
    accuracy = skill = evidence = np.zeros(n_annotators, dtype=np.int64)
    consensus = np.zeros(0, dtype=np.int64)
    posterior = np.zeros(0, dtype=np.int64)
    confident = np.zeros(0, dtype=bool)
    alpha = None
    estimator = OneCoinDawidSkene()
    if len(clusters):
        answers_table = Answers.from_codes(
            table[:, 0],
            table[:, 1],
            table[:, 2],
            items=units,
            annotators=rows.annotators,
            classes=tuple(f"{j:04d}" for j in range(len(names) + 1)),
        )
        unit_gold = {
            units[u]: f"{max(c.gold_class, 0):04d}"
            for u, c in enumerate(clusters)
            if rows.items[unit_item[u]] in gold
        }
        probas = estimator.fit(answers_table, unit_gold).probas_ppb_
        consensus, posterior = argmax_lowest(probas), probas.max(axis=1)
        judged = judge(answers_table, probas, params)
        confident = judged.confident
        # Back from the table's (compacted) annotator codes to the task's.
        back = np.searchsorted(np.array(rows.annotators), np.array(answers_table.annotators))
        of, who, code = answers_table.item, back[answers_table.annotator], answers_table.label
        hit = (code != ABSENT) & (code == consensus[of])
        matched = count_keys(who[hit], n_annotators)
        accepted = count_keys(who[hit & confident[of]], n_annotators)
        present = count_keys(who[consensus[of] != ABSENT], n_annotators)
        eligible[back] = judged.eligible
        accuracy, skill, evidence = (np.zeros(n_annotators, dtype=np.int64) for _ in range(3))
        accuracy[back] = judged.quality.accuracy_ppb
        skill[back] = judged.quality.skill_ppb
        evidence[back] = judged.quality.evidence_ppb
        alpha = krippendorff_alpha_nominal(answers_table)
    items = _items(rows, clusters, unit_item, consensus, posterior, confident, names, gold)
    figures = [
        {
            "labels": int(labels[a]),
            "objects": int(objects[a]),
            "matched": int(matched[a]),
            "precision": ratio_text(int(matched[a]), int(objects[a])),
            "recall": ratio_text(int(matched[a]), int(present[a])),
            "accuracy": ppb_text(int(accuracy[a])),
            "skill": ppb_text(int(skill[a])),
            "evidence": ppb_text(int(evidence[a])),
        }
        for a in range(n_annotators)
    ]
    body = {
        "algorithm": {
            "id": annotation.rule,
            "params": {
                **annotation.document(),
                "estimator": {"id": estimator.algorithm, **estimator.params()},
            },
        },
        "answers": {
            "count": len(rows.values),
            "dropped_conflicts": rows.dropped_conflicts,
            "gold_items": sum(1 for item in rows.items if item in gold),
            "objects": int(objects.sum()),
        },
        "items": items,
        "krippendorff_alpha": alpha_text(alpha),
    }
    return settle(
        kind=kind,
        task_id=task_id,
        params=params,
        annotators=rows.annotators,
        accepted=accepted,
        eligible=eligible,
        figures=figures,
        body=body,
    )


def _items(
    rows: KindRows,
    clusters: list[Cluster],
    unit_item: list[int],
    consensus: IntArray,
    posterior: IntArray,
    confident: IntArray,
    names: tuple[str, ...],
    gold: dict[str, JsonValue],
) -> list[dict[str, JsonValue]]:
    """One entry per item: its consensus objects (canonical, sorted), whether every cluster
    on it is confident, and the least of their posteriors."""
    per_item: list[list[int]] = [[] for _ in rows.items]
    for unit, item in enumerate(unit_item):
        per_item[item].append(unit)
    out: list[dict[str, JsonValue]] = []
    for item, units in enumerate(per_item):
        chosen = sorted(
            {
                (*(int(v) for v in clusters[u].representative), names[int(consensus[u]) - 1])
                for u in units
                if consensus[u] != ABSENT
            }
        )
        least = min((int(posterior[u]) for u in units), default=PPB)
        out.append(
            {
                "item": rows.items[item],
                "value": [list(entry) for entry in chosen],
                "confidence": ppb_text(least),
                "confident": all(bool(confident[u]) for u in units),
                "gold": rows.items[item] in gold,
            }
        )
    return out
