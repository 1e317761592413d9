#!/usr/bin/env python3
"""The label kinds of issue #20 on synthetic crowds with known truth, against baselines.

    scripts/bench_kinds.py [--seeds 3] [--json FILE]

Each kind runs in four regimes (a crowd of 20 annotators, each item labelled by ``k`` of
them, chosen at random): ``mix`` (300 items, k=5, skill uniform in [0.3, 1]), ``spammers``
(300 items, k=5, 30% of the annotators answer at random, the rest skill in [0.6, 1]),
``small`` (40 items, k=3, skill in [0.4, 1]) and ``large`` (1000 items, k=5, skill in
[0.3, 1]). Every generator takes an explicit ``np.random.Generator`` (seed ``1000 * s +
regime``). Ours is the validators' computation (:func:`node.consensus.kinds.kind_result`
on label batches, default parameters); the baselines, in the same run:

* boxes: the same IoU matching, then a plain majority: a cluster is kept when more than
  half of the item's annotators drew it, majority class (ties to the first), mean box.
  Metric: box F1 at IoU 0.5 with the right class (greedy one-to-one match to the truth).
* spans: token majority (each character takes the class more than half of the item's
  annotators gave it, runs of one class are spans). Metric: exact span F1 (offsets and
  class). Ours under both span rules (``exact``; ``overlap`` at IoU 0.5).
* text: crowd-kit's ROVER (word tokens) and the plain mode of the normalized texts. Metric:
  exact match after the task's normalization. Ours with 0 and 2 weighted rounds: the default
  (``text.DEFAULT_ROUNDS``) is the count with the best mean over all regimes and seeds.
* pairwise: majority vote per pair and crowd-kit's BradleyTerry (per pair, the side with the
  higher score). Metric: pairwise accuracy, of our per-pair consensus (``ours``) and of our
  Bradley-Terry scores read the same way as crowd-kit's (``ours_bt``); also Spearman's rho
  of the Bradley-Terry scores with the latent ones (ours and crowd-kit's).

Prints a table (means over ``--seeds``) and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.demo.kind_metrics import (  # noqa: E402
    majority_choice,
    majority_objects,
    mode,
    object_f1,
    token_majority,
)
from node.consensus.kinds import kind_result  # noqa: E402
from node.consensus.kinds.common import KindRows  # noqa: E402
from node.consensus.kinds.text import TextConsensus  # noqa: E402
from node.labelers.synthetic import (  # noqa: E402
    CLASSES,
    box_answer,
    box_truth,
    pair_answer,
    span_answer,
    span_truth,
    text_answer,
    text_truth,
)
from node.protocol.annotation import AnnotationParams, match_text  # noqa: E402
from node.protocol.kinds import TaskKind  # noqa: E402
from node.protocol.labels import LabelBatch  # noqa: E402
from node.protocol.rules import RewardParams  # noqa: E402

POOL = 20
REGIMES = {
    "mix": dict(items=300, k=5, low=0.3, spam=0.0),
    "spammers": dict(items=300, k=5, low=0.6, spam=0.3),
    "small": dict(items=40, k=3, low=0.4, spam=0.0),
    "large": dict(items=1000, k=5, low=0.3, spam=0.0),
}
PARAMS = RewardParams.create(1, 10**12)
Crowd = dict[str, dict[int, Any]]  # item -> annotator -> answer


def crowd_of(rng: np.random.Generator, regime: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Skills of the pool and whether each annotator is a spammer."""
    skill = rng.uniform(regime["low"], 1.0, POOL)
    spammer = np.zeros(POOL, dtype=bool)
    spammer[rng.choice(POOL, round(regime["spam"] * POOL), replace=False)] = True
    return skill, spammer


def assign(rng: np.random.Generator, regime: dict[str, Any]) -> list[np.ndarray]:
    return [rng.choice(POOL, regime["k"], replace=False) for _ in range(regime["items"])]


def batches_of(crowd: Crowd) -> list[LabelBatch]:
    per: dict[int, list[tuple[str, Any]]] = {}
    for item, answers in crowd.items():
        for annotator, value in answers.items():
            per.setdefault(annotator, []).append((item, value))
    return [LabelBatch.create(1, "0x" + f"{a + 1:040x}", v) for a, v in sorted(per.items())]


# ---- boxes -----------------------------------------------------------------------------


def run_boxes(rng: np.random.Generator, regime: dict[str, Any]) -> dict[str, float]:
    skill, spammer = crowd_of(rng, regime)
    truth, crowd = {}, {}
    for i, who in enumerate(assign(rng, regime)):
        item = f"img{i:05d}"
        truth[item] = box_truth(rng)
        crowd[item] = {int(a): box_answer(rng, truth[item], skill[a], spammer[a]) for a in who}
    ours = kind_result(TaskKind.BOXES, 1, PARAMS, batches_of(crowd), classes=CLASSES)
    pred = {e["item"]: e["value"] for e in ours.document["items"]}
    base = majority_objects(crowd, 2, AnnotationParams(TaskKind.BOXES).iou_ppb, CLASSES)
    return {
        "ours": object_f1(pred, truth, 2, False),
        "iou_majority": object_f1(base, truth, 2, False),
    }


# ---- spans -----------------------------------------------------------------------------


def run_spans(rng: np.random.Generator, regime: dict[str, Any]) -> dict[str, float]:
    skill, spammer = crowd_of(rng, regime)
    truth, crowd = {}, {}
    for i, who in enumerate(assign(rng, regime)):
        item = f"doc{i:05d}"
        truth[item] = span_truth(rng)
        crowd[item] = {int(a): span_answer(rng, truth[item], skill[a], spammer[a]) for a in who}
    scores = {}
    for rule in ("exact", "overlap"):
        params = AnnotationParams(TaskKind.SPANS, span_match=rule)
        ours = kind_result(
            TaskKind.SPANS, 1, PARAMS, batches_of(crowd), classes=CLASSES, annotation=params
        )
        pred = {e["item"]: e["value"] for e in ours.document["items"]}
        scores[f"ours_{rule}"] = object_f1(pred, truth, 1, True)
    scores["token_majority"] = object_f1(token_majority(crowd, CLASSES), truth, 1, True)
    return scores


# ---- text ------------------------------------------------------------------------------


def run_text(rng: np.random.Generator, regime: dict[str, Any]) -> dict[str, float]:
    import pandas as pd
    from crowdkit.aggregation import ROVER

    skill, spammer = crowd_of(rng, regime)
    truth, crowd = {}, {}
    for i, who in enumerate(assign(rng, regime)):
        item = f"utt{i:05d}"
        truth[item] = text_truth(rng)
        crowd[item] = {int(a): text_answer(rng, truth[item], skill[a], spammer[a]) for a in who}
    norm = {k: match_text(v, "loose") for k, v in truth.items()}

    def exact(pred: dict[str, str]) -> float:
        return float(np.mean([match_text(pred.get(k, ""), "loose") == v for k, v in norm.items()]))

    batches = batches_of(crowd)
    ours = kind_result(TaskKind.TEXT, 1, PARAMS, batches)
    scores = {"ours": exact({e["item"]: e["value"] for e in ours.document["items"]})}
    rows = KindRows.from_batches(batches, 1)
    texts = [match_text(str(v), "loose") for v in rows.values]
    for rounds in (0, 2):
        model = TextConsensus(rounds).fit(rows.item, rows.annotator, texts)
        scores[f"ours_rounds{rounds}"] = exact(dict(zip(rows.items, model.labels_, strict=False)))
    frame = pd.DataFrame(
        [(k, a, match_text(v, "loose")) for k, ans in crowd.items() for a, v in ans.items()],
        columns=["task", "worker", "text"],
    )
    rover = ROVER(tokenizer=lambda s: s.split(" "), detokenizer=lambda t: " ".join(t))
    scores["rover"] = exact(rover.fit_predict(frame).to_dict())
    scores["mode"] = exact(mode(crowd))
    return scores


# ---- pairwise --------------------------------------------------------------------------


def run_pairwise(rng: np.random.Generator, regime: dict[str, Any]) -> dict[str, float]:
    import pandas as pd
    from crowdkit.aggregation import BradleyTerry
    from scipy.stats import spearmanr

    skill, spammer = crowd_of(rng, regime)
    n_responses = max(10, regime["items"] // 4)
    latent = rng.normal(0, 1, n_responses)
    cids = [f"bafkrei{r:06d}" for r in range(n_responses)]
    truth, crowd, pairs = {}, {}, {}
    for i, who in enumerate(assign(rng, regime)):
        item = f"pair{i:05d}"
        a, b = rng.choice(n_responses, 2, replace=False)
        pairs[item] = (cids[a], cids[b])
        truth[item] = "A" if latent[a] > latent[b] else "B"
        crowd[item] = {int(w): pair_answer(rng, truth[item], skill[w], spammer[w]) for w in who}
    ours = kind_result(TaskKind.PAIRWISE, 1, PARAMS, batches_of(crowd), pairs=pairs)
    pred = {e["item"]: e["value"] for e in ours.document["items"]}

    def accuracy(p: dict[str, str]) -> float:
        return float(np.mean([p.get(k) == v for k, v in truth.items()]))

    majority = majority_choice(crowd)
    frame = pd.DataFrame(
        [
            (w, pairs[k][0], pairs[k][1], pairs[k][0] if v == "A" else pairs[k][1])
            for k, ans in crowd.items()
            for w, v in ans.items()
            if v != "tie"
        ],
        columns=["worker", "left", "right", "label"],
    )
    bt = BradleyTerry(n_iter=100).fit(frame).scores_
    bt_pred = {k: "A" if bt.get(a, 0) >= bt.get(b, 0) else "B" for k, (a, b) in pairs.items()}
    ours_scores = {s["response"]: int(s["score"].replace(".", "")) for s in ours.document["scores"]}
    seen = [c for c in cids if c in ours_scores and c in bt.index]
    lat = [latent[cids.index(c)] for c in seen]
    mine = {
        k: "A" if ours_scores.get(a, 0) >= ours_scores.get(b, 0) else "B"
        for k, (a, b) in pairs.items()
    }
    return {
        "ours": accuracy(pred),
        "ours_bt": accuracy(mine),
        "majority": accuracy(majority),
        "crowdkit_bt": accuracy(bt_pred),
        "ours_bt_rho": float(spearmanr([ours_scores[c] for c in seen], lat).statistic),
        "crowdkit_bt_rho": float(spearmanr([bt[c] for c in seen], lat).statistic),
    }


KINDS: dict[str, Callable[[np.random.Generator, dict[str, Any]], dict[str, float]]] = {
    "boxes": run_boxes,
    "spans": run_spans,
    "text": run_text,
    "pairwise": run_pairwise,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind in args.kinds.split(","):
        results[kind] = {}
        for r, (name, regime) in enumerate(REGIMES.items()):
            started = time.perf_counter()
            runs = [
                KINDS[kind](np.random.default_rng(1000 * s + r), regime) for s in range(args.seeds)
            ]
            mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
            mean["seconds"] = (time.perf_counter() - started) / args.seeds
            results[kind][name] = mean
            cells = "  ".join(f"{k}={v:.3f}" for k, v in mean.items())
            print(f"{kind:9s} {name:9s} {cells}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"seeds": args.seeds, "results": results}, indent=2))


if __name__ == "__main__":
    main()
