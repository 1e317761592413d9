"""Consensus over pairwise preferences (``pairwise@1``), deterministic to the byte.

1. **The vote**: the answers ``A``, ``B``, ``tie`` are a three-class categorical task,
   fitted with one-coin Dawid-Skene (``ds1@1``: one accuracy per annotator, fixed 50
   iterations, posteriors in parts per billion; ties of the argmax to ``A``, then ``B``),
   gold clamped.
2. **Bradley-Terry scores** of the compared responses (the items' ``a``/``b`` CIDs), from
   each pair's vote posterior (side a wins ``P(A) + P(tie) / 2`` of the comparison, b
   the rest: on the synthetic crowds this beat hard outcomes and raw votes in every regime,
   scripts/bench_kinds.py, BENCHMARKS.md "Label kinds"): Hunter's MM update
   ``p_i <- W_i / sum_j n_ij / (p_i + p_j)``, a fixed :data:`BT_ITERATIONS` times from
   ``p = 1``, with every response also drawn once against a reference of strength 1 (half a
   win, half a loss: it keeps an unbeaten response finite and fixes the scale). Sums are
   sequential in a fixed order (``np.bincount``) of correctly rounded operations; each
   score is published as ``p / (1 + p)``, the chance of beating the reference, in parts per
   billion.
3. **The consensus** of a pair: the same estimator again (same gold), with the scores as
   one more annotator (:data:`SCORES_ANNOTATOR`) of every pair: it answers the side whose
   response scores higher (nothing where the two scores are equal), and its accuracy is
   fitted like every annotator's, from how often it agrees with the rest of the task. So
   what the other pairs say of the two responses (transitivity) weighs on a pair by how
   reliable the scores proved on this task, no more: any other weighting would need a new
   constant. A pair's published value and confidence are this posterior's; ``from_scores``
   marks a pair whose value differs from its own annotators' vote (step 1). Cost: a second
   Dawid-Skene fit, linear in the labels. On the synthetic crowds it beat the vote alone,
   the scores alone, the vote when confident else the scores (the task's threshold),
   Bayes' rule with a Bradley-Terry prior, and crowd-kit's Bradley-Terry, in every regime;
   a gate at a fixed posterior of 0.98 did as well, with a constant (BENCHMARKS.md "Label
   kinds (issue #20)").
4. **Rewards** are exactly the categorical rule
   (:func:`node.consensus.rewards.compute_rewards`: confidence threshold, accuracy, skill
   and evidence floors) over the human answers against the consensus of step 3:
   ``reward_per_label`` per vote equal to a confident published value. The scores'
   pseudo-annotator is paid nothing and is in no quality figure; a random answerer still
   agrees with the consensus only by chance, so the evidence test still leaves them unpaid.
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
SCORES_ANNOTATOR = "~bradley-terry"
"""The id of the scores' pseudo-annotator in the second fit; ``~`` sorts it after every
account (``0x...``), so the human annotators keep their codes."""


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


def scores_side(first: IntArray, second: IntArray, scores: IntArray) -> IntArray:
    """Per pair, the side whose response scores higher: 0 (A), 1 (B), or 2 where the two
    scores are equal (the scores then say nothing of the pair)."""
    implied = np.sign(scores[second] - scores[first])
    out: IntArray = np.where(implied < 0, 0, np.where(implied > 0, 1, 2)).astype(np.int64)
    return out


def with_scores_annotator(answers: Answers, side: IntArray) -> Answers:
    """``answers`` plus one answer of :data:`SCORES_ANNOTATOR` on every pair whose two
    scores differ (``side`` from :func:`scores_side`, aligned with ``answers.items``)."""
    said = np.flatnonzero(side < 2).astype(np.int64)
    return Answers.from_codes(
        np.concatenate([answers.item, said]),
        np.concatenate([answers.annotator, np.full(len(said), len(answers.annotators))]),
        np.concatenate([answers.label, side[said]]),
        items=answers.items,
        annotators=(*answers.annotators, SCORES_ANNOTATOR),
        classes=answers.classes,
    )


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
    gold_values = {k: str(v) for k, v in gold.items()}
    estimator = OneCoinDawidSkene()
    probas = estimator.fit(answers, gold_values).probas_ppb_
    responses = tuple(sorted({side for item in rows.items for side in pairs[item]}))
    code = {cid: c for c, cid in enumerate(responses)}
    first = np.array([code[pairs[item][0]] for item in rows.items], dtype=np.int64)
    second = np.array([code[pairs[item][1]] for item in rows.items], dtype=np.int64)
    scores = bradley_terry(first, second, probas, len(responses))
    compared = count_keys(first, len(responses)) + count_keys(second, len(responses))
    joint = with_scores_annotator(answers, scores_side(first, second, scores))
    consensus = OneCoinDawidSkene().fit(joint, gold_values).probas_ppb_
    # Paid against the published value; the scores' pseudo-annotator is not in ``answers``.
    rewards = compute_rewards(answers, consensus, params)
    value, posterior = argmax_lowest(consensus), consensus.max(axis=1)
    from_scores = value != argmax_lowest(probas)
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
                "value": {"id": estimator.algorithm, "extra_annotator": SCORES_ANNOTATOR},
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
