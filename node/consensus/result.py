"""The ``labelnet/result@1`` document of a categorical task, built from the consensus.

The schema, its encoding, the payout tree and the one parser of the document are
:mod:`node.protocol.result`; this module fills the document from the estimator's fit.

Everything a validator attests is derived here from integers and fixed-point strings, so
two honest validators produce the same bytes, hence the same CID and the same root:
confidences and quality figures are nine-decimal strings of parts-per-billion integers,
token amounts are decimal strings of Python ints, every list is sorted by id.

Payout tree: one leaf per annotator with a positive payout (OpenZeppelin standard leaf of
``(address, uint256)``, :mod:`node.protocol.merkle`). The requester has no leaf: the
contract refunds ``reward_pool - total_payout`` by itself. When nobody earns anything
there are no leaves and the attested root is 32 zero bytes (nothing can be claimed
against it, since the total is zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from eth_utils.address import to_checksum_address

from node.consensus.answers import Answers, IntArray
from node.consensus.assigned import Assignment, assignment_section
from node.consensus.numerics import argmax_lowest
from node.consensus.quality import fraction_ppb
from node.consensus.rewards import Rewards
from node.protocol.result import SCHEMA, PayoutResult
from node.protocol.rules import RewardParams, ppb_text


@dataclass(frozen=True, eq=False)
class CategoricalConsensus:
    """A categorical task's consensus: the estimator's fit, and the bloc test's flags."""

    algorithm: str
    algorithm_params: dict[str, int | str]
    answers: Answers
    gold_codes: IntArray
    probas_ppb: IntArray
    """Final posteriors, every item of ``answers`` (without flagged annotators' answers)."""
    bloc_test: str
    """The bloc test's id, or ``""`` for tasks without it."""
    flagged: npt.NDArray[np.bool_]


def categorical_document(
    *,
    task_id: int,
    fit: CategoricalConsensus,
    params: RewardParams,
    rewards: Rewards,
    alpha: Fraction | None,
    payouts: PayoutResult,
    cell_confusion: bool = False,
    assignment: Assignment | None = None,
) -> dict[str, Any]:
    """The ``labelnet/result@1`` document of a categorical task. For a ``result@4``
    (:data:`~node.protocol.result_pages.RESULT_V4_SCHEMAS`) the caller sets
    ``cell_confusion``, so that annotators' confusion is stated as the cells they filled,
    and passes a seated task's ``assignment``: the root gains its ``assignment`` section
    (:func:`~node.consensus.assigned.assignment_section`), each annotator row its ``seat``
    and each item row its ``labels`` (the dealt labels it got)."""
    answers, gold_codes, probas = fit.answers, fit.gold_codes, fit.probas_ppb
    consensus = argmax_lowest(probas)
    classes = answers.classes
    quality = rewards.quality
    confusion = quality.confusion.cells if cell_confusion else quality.confusion.dense
    items = [
        {
            "item": item,
            "value": classes[int(consensus[i])],
            "confidence": ppb_text(int(probas[i, consensus[i]])),
            "confident": bool(rewards.confident[i]),
            "gold": bool(gold_codes[i] >= 0),
        }
        for i, item in enumerate(answers.items)
    ]
    labelled = None
    if assignment is not None:  # the labels each item got, for its row and the section
        labelled = np.bincount(answers.item, minlength=answers.n_items).astype(np.int64)
        for entry, count in zip(items, labelled.tolist(), strict=True):
            entry["labels"] = count
    annotators: list[dict[str, Any]] = [
        {
            "account": to_checksum_address(account),
            "labels": int(quality.labels[a]),
            "accepted": int(rewards.accepted[a]),
            "eligible": bool(rewards.eligible[a]),
            "accuracy": ppb_text(int(quality.accuracy_ppb[a])),
            "skill": ppb_text(int(quality.skill_ppb[a])),
            "agreement": ppb_text(int(quality.agreement_ppb[a])),
            "confusion": confusion(a),
            "payout": str(rewards.payouts[a]),
        }
        for a, account in enumerate(answers.annotators)
    ]
    if params.significance_z_ppb:  # absent from results of tasks without the evidence test
        for a, row in enumerate(annotators):
            row["evidence"] = ppb_text(int(quality.evidence_ppb[a]))
    if assignment is not None:
        for row, account in zip(annotators, answers.annotators, strict=True):
            row["seat"] = assignment.seat_of[account]
    parameters: dict[str, str] = params.document()
    if fit.bloc_test:  # likewise absent from results of tasks without the bloc test
        parameters["bloc_test"] = fit.bloc_test
        for a, row in enumerate(annotators):
            row["bloc"] = bool(fit.flagged[a])
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "task": task_id,
        "kind": "categorical",
        "algorithm": {"id": fit.algorithm, "params": fit.algorithm_params},
        "classes": list(classes),
        "parameters": parameters,
        "answers": {
            "count": len(answers),
            "dropped_conflicts": answers.dropped_conflicts,
            "gold_items": int((gold_codes >= 0).sum()),
        },
        "items": items,
        "annotators": annotators,
        "krippendorff_alpha": None if alpha is None else ppb_text(fraction_ppb(alpha)),
        "payouts": [{"account": a, "amount": str(x)} for a, x in payouts.leaves],
        "total_payout": str(payouts.total),
        "refund": str(rewards.refund),
        "payout_root": "0x" + payouts.root.hex(),
    }
    if assignment is not None and labelled is not None:
        document["assignment"] = assignment_section(assignment, labelled)
    return document
