"""Consensus over pairwise preferences (``pairwise@1``), deterministic to the byte.

1. **Per pair**: the answers ``A``, ``B``, ``tie`` are a three-class categorical task, fitted
   with one-coin Dawid-Skene (``ds1@1``: one accuracy per annotator, fixed 50 iterations,
   posteriors in parts per billion; ties of the argmax to ``A``, then ``B``), gold clamped.
   Rewards are exactly the categorical rule (:func:`node.consensus.rewards.compute_rewards`:
   confidence threshold, accuracy, skill and evidence floors): ``reward_per_label`` per
   vote equal to a confident consensus.
2. **Bradley-Terry scores** of the compared responses (the items' ``a``/``b`` CIDs), from
   each pair's consensus posterior (side a wins ``P(A) + P(tie) / 2`` of the comparison, b
   the rest: on the synthetic crowds this beat hard outcomes and raw votes in every regime,
   scripts/bench_kinds.py, BENCHMARKS.md "Label kinds"): Hunter's MM update
   ``p_i <- W_i / sum_j n_ij / (p_i + p_j)``, a fixed :data:`BT_ITERATIONS` times from
   ``p = 1``, with every response also drawn once against a reference of strength 1 (half a
   win, half a loss: it keeps an unbeaten response finite and fixes the scale). Sums are
   sequential in a fixed order (``np.bincount``) of correctly rounded operations; each
   score is published as ``p / (1 + p)``, the chance of beating the reference, in parts per
   billion.
3. **The published value** of a pair is its vote when that is confident (posterior at
   least ``confidence_threshold``; gold pairs always); otherwise (``from_scores``) the side
   whose response scores higher, ``tie`` when the scores are equal: what the other pairs
   say of the two responses (transitivity) decides where its own annotators did not. Only
   confident votes are paid, so this changes no payout. On the synthetic crowds it raised
   pairwise accuracy in every regime (small crowd 0.935 to 0.960, BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from node.consensus.answers import Answers
from node.consensus.kinds.common import IntArray, KindRows, settle
from node.consensus.numerics import argmax_lowest, count_keys
from node.consensus.one_coin import OneCoinDawidSkene
from node.consensus.quality import krippendorff_alpha_nominal
from node.consensus.rewards import compute_rewards
from node.consensus.task_kinds import KindResult, alpha_text
from node.protocol.annotation import PAIR_CHOICES, AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError
from node.protocol.kinds import TaskKind
from node.protocol.rules import PPB, RewardParams, ppb_text

BT_ITERATIONS = 100


def bradley_terry(first: IntArray, second: IntArray, probas_ppb: IntArray, n: int) -> IntArray:
    """Scores in parts per billion of ``n`` responses from one comparison per row, ``first``
    against ``second``, whose outcome is the posterior ``probas_ppb`` of (A, B, tie): the
    first wins ``P(A) + P(tie) / 2`` of it, the second ``P(B) + P(tie) / 2``."""
    shares = probas_ppb.astype(np.float64)
    tie = shares[:, 2] / 2.0
    wins = (
        np.bincount(first, (shares[:, 0] + tie) / PPB, n)
        + np.bincount(second, (shares[:, 1] + tie) / PPB, n)
        + 0.5
    )
    strength = np.ones(n, dtype=np.float64)
    for _ in range(BT_ITERATIONS):
        inverse = 1.0 / (strength[first] + strength[second])
        reference = 1.0 / (strength + 1.0)
        denominator = np.bincount(first, inverse, n) + np.bincount(second, inverse, n) + reference
        strength = wins / denominator
    out: IntArray = np.floor(strength / (1.0 + strength) * PPB).astype(np.int64)
    return out


def pairwise_result(
    *,
    task_id: int,
    params: RewardParams,
    rows: KindRows,
    gold: dict[str, JsonValue],
    pairs: Mapping[str, tuple[str, str]],
    annotation: AnnotationParams,
) -> KindResult:
    """The ``labelnet/result@1``-shaped document of a pairwise task; ``pairs`` maps every
    item id to its two sides (:func:`node.protocol.annotation.pair_sides` of its data)."""
    for value in (*rows.values, *gold.values()):
        if value not in PAIR_CHOICES:
            raise InvalidAnswersError(f"a pairwise label is one of {PAIR_CHOICES}: {value!r}")
    missing = [item for item in rows.items if item not in pairs]
    if missing:
        raise InvalidAnswersError(f"pairwise items without their two sides: {missing[:5]}")
    label = np.array([PAIR_CHOICES.index(str(v)) for v in rows.values], dtype=np.int64)
    answers = Answers.from_codes(
        rows.item,
        rows.annotator,
        label,
        items=rows.items,
        annotators=rows.annotators,
        classes=PAIR_CHOICES,
    )
    estimator = OneCoinDawidSkene()
    probas = estimator.fit(answers, {k: str(v) for k, v in gold.items()}).probas_ppb_
    rewards = compute_rewards(answers, probas, params)
    consensus, posterior = argmax_lowest(probas), probas.max(axis=1)
    responses = tuple(sorted({side for item in rows.items for side in pairs[item]}))
    code = {cid: c for c, cid in enumerate(responses)}
    first = np.array([code[pairs[item][0]] for item in rows.items], dtype=np.int64)
    second = np.array([code[pairs[item][1]] for item in rows.items], dtype=np.int64)
    scores = bradley_terry(first, second, probas, len(responses))
    compared = count_keys(first, len(responses)) + count_keys(second, len(responses))
    # An undecided pair takes the side its two responses' scores favour (3: A, B, tie).
    implied = np.sign(scores[second] - scores[first])
    from_scores = ~rewards.confident
    value = np.where(from_scores, np.where(implied < 0, 0, np.where(implied > 0, 1, 2)), consensus)
    items = [
        {
            "item": item,
            "value": PAIR_CHOICES[int(value[i])],
            "confidence": ppb_text(int(posterior[i])),
            "confident": bool(rewards.confident[i]),
            "from_scores": bool(from_scores[i]),
            "gold": item in gold,
        }
        for i, item in enumerate(rows.items)
    ]
    q = rewards.quality
    figures = [
        {
            "labels": int(q.labels[a]),
            "agreement": ppb_text(int(q.agreement_ppb[a])),
            "accuracy": ppb_text(int(q.accuracy_ppb[a])),
            "skill": ppb_text(int(q.skill_ppb[a])),
            "evidence": ppb_text(int(q.evidence_ppb[a])),
        }
        for a in range(len(answers.annotators))
    ]
    body = {
        "algorithm": {
            "id": annotation.rule,
            "params": {
                **annotation.document(),
                "estimator": {"id": estimator.algorithm, **estimator.params()},
                "bt_iterations": BT_ITERATIONS,
            },
        },
        "answers": {
            "count": len(answers.item),
            "dropped_conflicts": rows.dropped_conflicts,
            "gold_items": len(gold),
        },
        "items": items,
        "scores": [
            {"response": cid, "score": ppb_text(int(scores[c])), "comparisons": int(compared[c])}
            for c, cid in enumerate(responses)
        ],
        "krippendorff_alpha": alpha_text(krippendorff_alpha_nominal(answers)),
    }
    return settle(
        kind=str(TaskKind.PAIRWISE),
        task_id=task_id,
        params=params,
        annotators=answers.annotators,
        accepted=rewards.accepted,
        eligible=rewards.eligible,
        figures=figures,
        body=body,
    )
