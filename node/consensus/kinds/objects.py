"""Consensus over labels that are sets of classed intervals: boxes (2-D) and spans (1-D).

One algorithm for both (a span is a one-dimensional box), deterministic to the byte:

1. **Match** (per item). Annotators are taken in sorted order; each one's objects are
   matched one to one to the item's clusters so far, greedily by IoU (highest first; ties
   by the object's then the cluster's index), a pair qualifying when ``IoU >= iou``,
   compared exactly in integers (``inter * 1e9 >= iou_ppb * union``). An unmatched object
   starts a cluster. A cluster is compared by its representative, the median of its
   members per coordinate (floored to an integer, :func:`median`). On a gold item the gold
   objects seed the clusters and stay their representatives. The class plays no part in
   matching: it is voted.
2. **Vote** with annotator quality, in two questions. *Presence*: every annotator who
   labelled the item answers each of its clusters, ``present`` (it has a member there) or
   ``absent``. *Class*: the members' classes. Each is decided by the quality-weighted vote
   of :mod:`.weighted_vote` (smoothed accuracies, fixed rounds, integer sums, posteriors
   in parts per billion; ties to ``absent`` and to the first class). On gold items the gold
   objects are present with their class, every other cluster absent.
3. **Consensus object**: the representative, i.e. the median of the members' coordinates
   (a gold object on gold items). The k-th smallest start is below the k-th smallest end,
   so the (floored) median start is below the median end: a valid box or span.
4. **Rewards**: the reward rule of categorical tasks over the presence answers
   (:func:`node.consensus.rewards.judge`: accuracy, skill and evidence floors, so an
   annotator who draws at random or never draws is not paid), paying ``reward_per_label``
   per *matched object*: a member, with the consensus class, of a present cluster whose
   presence and class posteriors both reach the confidence threshold. Precision and recall
   per annotator are stated against the present clusters (all, confident or not).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from node.consensus.answers import Answers
from node.consensus.kinds.common import BoolArray, IntArray, KindRows, ratio_text, settle
from node.consensus.kinds.weighted_vote import BETA, ROUNDS, weighted_vote
from node.consensus.numerics import argmax_lowest, count_keys
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


def median(coords: IntArray) -> IntArray:
    """The median of each column, floored to an integer: the middle value, or the floored
    mean of the two middle values of an even count."""
    ordered = np.sort(coords, axis=0)
    n = len(coords)
    out: IntArray = (ordered[(n - 1) // 2] + ordered[n // 2]) // 2
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
            self.representative = median(np.stack([m[1] for m in self.members]))


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
    table = np.array(unit_rows, dtype=np.int64).reshape(-1, 3)
    gold_units = {
        u: c.gold_class for u, c in enumerate(clusters) if rows.items[unit_item[u]] in gold
    }
    vote = _vote(table, len(clusters), gold_units, rows.annotators, names, params)
    labels = count_keys(rows.annotator, n_annotators)
    objects = count_keys(table[:, 1][table[:, 2] != ABSENT], n_annotators)
    member = table[table[:, 2] != ABSENT]
    hit = vote.present[member[:, 0]] & (member[:, 2] - 1 == vote.classes[member[:, 0]])
    matched = count_keys(member[:, 1][hit], n_annotators)
    accepted = count_keys(member[:, 1][hit & vote.confident[member[:, 0]]], n_annotators)
    present = count_keys(table[:, 1][vote.present[table[:, 0]]], n_annotators)
    items = _items(rows, clusters, unit_item, vote, names, gold)
    figures = [
        {
            "labels": int(labels[a]),
            "objects": int(objects[a]),
            "matched": int(matched[a]),
            "precision": ratio_text(int(matched[a]), int(objects[a])),
            "recall": ratio_text(int(matched[a]), int(present[a])),
            "accuracy": ppb_text(int(vote.accuracy[a])),
            "skill": ppb_text(int(vote.skill[a])),
            "evidence": ppb_text(int(vote.evidence[a])),
        }
        for a in range(n_annotators)
    ]
    body = {
        "algorithm": {
            "id": annotation.rule,
            "params": {
                **annotation.document(),
                "vote": {"rounds": ROUNDS, "beta": BETA},
            },
        },
        "answers": {
            "count": len(rows.values),
            "dropped_conflicts": rows.dropped_conflicts,
            "gold_items": sum(1 for item in rows.items if item in gold),
            "objects": int(objects.sum()),
        },
        "items": items,
        "krippendorff_alpha": alpha_text(vote.alpha),
    }
    return settle(
        kind=kind,
        task_id=task_id,
        params=params,
        annotators=rows.annotators,
        accepted=accepted,
        eligible=vote.eligible,
        figures=figures,
        body=body,
    )


def _items(
    rows: KindRows,
    clusters: list[Cluster],
    unit_item: list[int],
    vote: Vote,
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
                (*(int(v) for v in clusters[u].representative), names[int(vote.classes[u])])
                for u in units
                if vote.present[u]
            }
        )
        least = min((int(vote.posterior[u]) for u in units), default=PPB)
        out.append(
            {
                "item": rows.items[item],
                "value": [list(entry) for entry in chosen],
                "confidence": ppb_text(least),
                "confident": all(bool(vote.confident[u]) for u in units),
                "gold": rows.items[item] in gold,
            }
        )
    return out


@dataclass(frozen=True, eq=False)
class Vote:
    """Step 2's outcome per cluster (``present``, ``classes``: index into the sorted class
    names, ``posterior``: the least of the presence and class posteriors, ``confident``)
    and per annotator (the detection quality and eligibility of the reward rule)."""

    present: BoolArray
    classes: IntArray
    posterior: IntArray
    confident: BoolArray
    accuracy: IntArray
    skill: IntArray
    evidence: IntArray
    eligible: BoolArray
    alpha: Fraction | None


def _fit(
    table: IntArray, n_units: int, gold: dict[int, int], annotators: tuple[str, ...], k: int
) -> tuple[IntArray, Answers | None]:
    """Posteriors (one row per unit, ``k`` classes, ppb) of one-coin Dawid-Skene over
    ``(unit, annotator, class)`` rows; a unit without rows keeps a uniform posterior."""
    probas = np.full((n_units, k), PPB // k, dtype=np.int64)
    if len(table) == 0:
        return probas, None
    units = tuple(f"{u:010d}" for u in range(n_units))
    answers = Answers.from_codes(
        table[:, 0],
        table[:, 1],
        table[:, 2],
        items=units,
        annotators=annotators,
        classes=tuple(f"{j:04d}" for j in range(k)),
    )
    row_of = {int(u): r for r, u in enumerate(answers.items)}
    unit_gold = {row_of[u]: c for u, c in gold.items() if u in row_of}
    fitted, _ = weighted_vote(answers, unit_gold)
    probas[[int(u) for u in answers.items]] = fitted
    for unit, cls in gold.items():  # gold units nobody answered too
        probas[unit] = 0
        probas[unit, cls] = PPB
    return probas, answers


def _vote(
    table: IntArray,
    n_units: int,
    gold: dict[int, int],
    annotators: tuple[str, ...],
    names: tuple[str, ...],
    params: RewardParams,
) -> Vote:
    """Step 2: presence over every answer to a cluster, class over its members' classes,
    each by one-coin Dawid-Skene; the reward rule's quality and floors on presence."""
    n = len(annotators)
    shown = table.copy()
    shown[:, 2] = shown[:, 2] != ABSENT
    presence_gold = {u: int(c >= 0) for u, c in gold.items()}
    presence, presence_answers = _fit(shown, n_units, presence_gold, annotators, 2)
    members = table[table[:, 2] != ABSENT]
    members[:, 2] -= 1
    class_gold = {u: c - 1 for u, c in gold.items() if c > 0}
    kinds, _ = _fit(members, n_units, class_gold, annotators, len(names))
    present = argmax_lowest(presence) == 1
    posterior = np.where(
        present, np.minimum(presence.max(axis=1), kinds.max(axis=1)), presence.max(axis=1)
    )
    zeros = np.zeros(n, dtype=np.int64)
    accuracy, skill, evidence = zeros.copy(), zeros.copy(), zeros.copy()
    eligible = np.zeros(n, dtype=bool)
    alpha = None
    if presence_answers is not None:
        judged = judge(presence_answers, presence[[int(u) for u in presence_answers.items]], params)
        # Back from the table's (compacted) annotator codes to the task's.
        back = np.searchsorted(np.array(annotators), np.array(presence_answers.annotators))
        eligible[back] = judged.eligible
        accuracy[back] = judged.quality.accuracy_ppb
        skill[back] = judged.quality.skill_ppb
        evidence[back] = judged.quality.evidence_ppb
        alpha = krippendorff_alpha_nominal(presence_answers)
    return Vote(
        present=present,
        classes=argmax_lowest(kinds),
        posterior=posterior,
        confident=posterior >= params.confidence_threshold_ppb,
        accuracy=accuracy,
        skill=skill,
        evidence=evidence,
        eligible=eligible,
        alpha=alpha,
    )
