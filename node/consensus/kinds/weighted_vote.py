"""A quality-weighted vote with strongly smoothed annotator accuracies, deterministic.

Why not one-coin or Dawid-Skene EM here: on a box or span task most annotators answer only
a few clusters, and EM then trusts one annotator's lucky record over two others' and adds a
class prior learned from the same few units; on the small synthetic crowds of
scripts/bench_kinds.py every EM variant (ds1, ds, rds, hds@2) lost to a plain majority. Here
an annotator weighs the log-odds of their accuracy shrunk toward the crowd's pooled
accuracy, ``(agreeing + beta * pooled + 1) / (answers + beta + 2)`` (the ones keep a
crowd that always or never agrees finite): with few answers everyone
weighs about the same (a majority vote), with many, by their record; there is no class
prior, and an annotator at or below even odds weighs nothing.

The procedure: everyone weighs 1 at first; each of :data:`ROUNDS` rounds takes the argmax of
the weighted votes (ties to the lowest class; gold units clamped to the gold class) and
re-estimates the accuracies and weights against it. Weights are fixed-point integers
(multiples of 2^-30 of a log-odds, from :func:`node.consensus.numerics.det_log`), so every
sum of votes is an exact integer whatever the order. A unit's posterior is the softmax of
its final weighted votes (the one-coin posterior without a prior), in parts per billion;
where those votes tie (all voters weightless, say) the plain count is added to break it.
"""

from __future__ import annotations

import numpy as np

from node.consensus.answers import Answers
from node.consensus.kinds.common import IntArray
from node.consensus.numerics import (
    LOG_FIXED_SCALE,
    argmax_lowest,
    count_keys,
    det_log,
    softmax_ppb,
)

ROUNDS = 5
BETA = 64
"""Pseudo-answers at the crowd's pooled accuracy added to every annotator's record: chosen
over {4, 16, 64, 256} by the best mean F1 over the box and span regimes mix, spammers and
small of scripts/bench_kinds.py, on seeds other than the benchmark's (BENCHMARKS.md "Label
kinds (issue #20)")."""


def weighted_vote(
    answers: Answers, gold: dict[int, int], beta: int = BETA
) -> tuple[IntArray, IntArray]:
    """``(posteriors in ppb, one row per item of answers, and the weights)`` of the vote."""
    n_items, k, n = answers.n_items, answers.n_classes, answers.n_annotators
    cell = answers.item * k + answers.label
    gold_items = np.array(sorted(gold), dtype=np.int64)
    gold_classes = np.array([gold[i] for i in sorted(gold)], dtype=np.int64)
    weights = np.full(n, int(LOG_FIXED_SCALE), dtype=np.int64)
    answered = count_keys(answers.annotator, n).astype(np.float64)
    for _ in range(ROUNDS):
        votes = np.bincount(cell, weights[answers.annotator], n_items * k).astype(np.int64)
        consensus = argmax_lowest(votes.reshape(n_items, k))
        consensus[gold_items] = gold_classes
        agree = answers.label == consensus[answers.item]
        agreeing = count_keys(answers.annotator[agree], n).astype(np.float64)
        # Shrunk toward the crowd's pooled accuracy, not toward chance: with few answers
        # everyone weighs about the same (a majority vote), whatever their luck.
        pooled = float(agree.sum()) / float(len(agree))
        right = agreeing + beta * pooled + 1.0
        wrong = answered - agreeing + beta * (1.0 - pooled) + 1.0
        odds = np.rint((det_log(right) - det_log(wrong)) * LOG_FIXED_SCALE)
        weights = np.maximum(odds, 0).astype(np.int64)
    votes = np.bincount(cell, weights[answers.annotator], n_items * k).astype(np.int64)
    # Where the weighted votes tie (everyone weightless, say), the plain count decides.
    counts = np.bincount(cell, minlength=n_items * k).reshape(n_items, k)
    scores = votes.reshape(n_items, k)
    tied = (scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1
    votes = np.where(tied[:, None], scores + counts, scores).reshape(-1)
    log_votes = votes.reshape(n_items, k).astype(np.float64) / LOG_FIXED_SCALE
    probas = softmax_ppb(log_votes)
    if len(gold_items):
        probas[gold_items] = 0
        probas[gold_items, gold_classes] = 10**9
    return probas, weights
