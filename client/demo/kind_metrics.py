"""The figures of the label kinds of issue #20: each kind's metric against the truth and
its plain baseline, shared by ``scripts/bench_kinds.py`` and ``labelnet demo --kind``.

* boxes: box F1 at IoU 0.5 with the right class (greedy one-to-one match to the truth);
  baseline: the consensus's own IoU matching, then a plain majority (a cluster kept when
  more than half of the item's annotators drew it, majority class, mean box).
* spans: exact span F1 (offsets and class); baseline: token majority (each character
  takes the class more than half of the item's annotators gave it).
* text: exact match after the task's normalization; baseline: the plain mode.
* pairwise: accuracy of the chosen side; baseline: the majority vote per pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from node.consensus.kinds.objects import match_item, overlaps
from node.labelers.synthetic import TEXT_LENGTH
from node.protocol.annotation import AnnotationParams, match_text
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind

Crowd = Mapping[str, Mapping[int, JsonValue]]
"""item -> annotator -> answer."""
Objects = Mapping[str, Sequence[Sequence[JsonValue]]]

METRICS = {
    TaskKind.BOXES: ("box F1 at IoU 0.5", "IoU majority"),
    TaskKind.SPANS: ("span F1 (exact)", "token majority"),
    TaskKind.TEXT: ("exact match (loose)", "mode"),
    TaskKind.PAIRWISE: ("pairwise accuracy", "majority vote"),
}
"""Each kind's metric and its baseline, as the reports name them."""


def _coords(entries: Sequence[Sequence[JsonValue]], dims: int) -> np.ndarray:
    return np.array([[int(str(v)) for v in e[: 2 * dims]] for e in entries], dtype=np.int64)


def object_f1(pred: Objects, truth: Objects, dims: int, exact: bool) -> float:
    """F1 of boxes (``dims`` 2) or spans (1) against the truth, at IoU 0.5 or exactly."""
    tp = n_pred = n_true = 0
    for item, real in truth.items():
        guess = pred.get(item, [])
        n_pred, n_true = n_pred + len(guess), n_true + len(real)
        if not guess or not real:
            continue
        inter, union = overlaps(_coords(guess, dims), _coords(real, dims), dims)
        iou = inter / union
        ok = (iou == 1.0) if exact else (iou >= 0.5)
        same = np.array([[a[-1] == b[-1] for b in real] for a in guess])
        rows, cols = np.nonzero(ok & same)
        used_r, used_c = set(), set()
        for k in np.argsort(-iou[rows, cols], kind="stable"):
            if rows[k] not in used_r and cols[k] not in used_c:
                used_r.add(rows[k])
                used_c.add(cols[k])
                tp += 1
    return 2 * tp / max(n_pred + n_true, 1)


def majority_objects(
    crowd: Crowd, dims: int, iou_ppb: int, classes: Sequence[str]
) -> dict[str, list[list[JsonValue]]]:
    """The IoU-majority baseline (boxes ``dims`` 2, spans 1)."""
    out: dict[str, list[list[JsonValue]]] = {}
    for item, answers in crowd.items():
        parsed = []
        for a in sorted(answers):
            value = answers[a]
            entries = value if isinstance(value, list) else []
            rows = [e for e in entries if isinstance(e, list)]
            coords = _coords(rows, dims).reshape(-1, 2 * dims)
            codes = np.array([classes.index(str(e[-1])) + 1 for e in rows], dtype=np.int64)
            parsed.append((a, coords, codes))
        kept: list[list[JsonValue]] = []
        for cluster in match_item(parsed, dims, iou_ppb):
            if 2 * len(cluster.members) > len(answers):
                votes = Counter(m[2] for m in cluster.members)
                cls = min(votes, key=lambda c: (-votes[c], c))
                mean = np.rint(np.mean([m[1] for m in cluster.members], axis=0)).astype(int)
                kept.append([*mean.tolist(), classes[cls - 1]])
        out[item] = kept
    return out


def token_majority(crowd: Crowd, classes: Sequence[str]) -> dict[str, list[list[JsonValue]]]:
    """The token-majority baseline of spans over texts of :data:`TEXT_LENGTH` characters."""
    out: dict[str, list[list[JsonValue]]] = {}
    for item, answers in crowd.items():
        votes = np.zeros((len(classes), TEXT_LENGTH), dtype=np.int64)
        for value in answers.values():
            for s, e, c in value if isinstance(value, list) else []:
                votes[classes.index(c), s:e] += 1
        spans: list[list[JsonValue]] = []
        for c, row in enumerate(votes):
            on = np.r_[False, 2 * row > len(answers), False]
            edges = np.flatnonzero(np.diff(on.astype(int)))
            spans += [
                [int(a), int(b), classes[c]] for a, b in zip(edges[::2], edges[1::2], strict=False)
            ]
        out[item] = spans
    return out


def mode(crowd: Crowd, normalization: str = "loose") -> dict[str, str]:
    """The most frequent normalized text per item (ties to the first in code point order)."""
    out = {}
    for item, answers in crowd.items():
        counts = Counter(match_text(str(v), normalization) for v in answers.values())
        out[item] = min(counts, key=lambda t: (-counts[t], t))
    return out


def majority_choice(crowd: Crowd) -> dict[str, str]:
    """The most frequent choice per pair (ties to "A", then "B")."""
    out = {}
    for item, answers in crowd.items():
        votes = Counter(str(v) for v in answers.values())
        out[item] = min(votes, key=lambda c: (-votes[c], c))
    return out


def exact_text(pred: Mapping[str, JsonValue], truth: Mapping[str, JsonValue]) -> float:
    """Share of items whose text matches the truth under the loose normalization."""
    hits = [
        match_text(str(pred.get(k, "")), "loose") == match_text(str(v), "loose")
        for k, v in truth.items()
    ]
    return float(np.mean(hits)) if hits else 0.0


def accuracy(pred: Mapping[str, JsonValue], truth: Mapping[str, JsonValue]) -> float:
    hits = [pred.get(k) == v for k, v in truth.items()]
    return float(np.mean(hits)) if hits else 0.0


def score(kind: TaskKind, pred: Mapping[str, JsonValue], truth: Mapping[str, JsonValue]) -> float:
    """The kind's metric of ``pred`` against ``truth``."""
    if kind in (TaskKind.BOXES, TaskKind.SPANS):
        dims = 2 if kind is TaskKind.BOXES else 1
        return object_f1(_objects(pred), _objects(truth), dims, kind is TaskKind.SPANS)
    if kind is TaskKind.TEXT:
        return exact_text(pred, truth)
    return accuracy(pred, truth)


def baseline(kind: TaskKind, crowd: Crowd, classes: Sequence[str]) -> dict[str, JsonValue]:
    """The kind's plain baseline over the crowd's answers."""
    if kind is TaskKind.BOXES:
        iou = AnnotationParams(TaskKind.BOXES).iou_ppb
        return dict(majority_objects(crowd, 2, iou, classes))
    if kind is TaskKind.SPANS:
        return dict(token_majority(crowd, classes))
    if kind is TaskKind.TEXT:
        return dict(mode(crowd))
    return dict(majority_choice(crowd))


def _objects(values: Mapping[str, JsonValue]) -> dict[str, list[list[JsonValue]]]:
    return {
        item: [e for e in value if isinstance(e, list)] if isinstance(value, list) else []
        for item, value in values.items()
    }
