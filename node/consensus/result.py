"""The result of one task: its canonical document (``labelnet/result@1``), the document's
CID, and the payout Merkle tree whose root validators attest.

Everything a validator attests is derived here from integers and fixed-point strings, so
two honest validators produce the same bytes, hence the same CID and the same root:
confidences and quality figures are nine-decimal strings of parts-per-billion integers,
token amounts are decimal strings of Python ints, every list is sorted by id.

Payout tree: one leaf per annotator with a positive payout (OpenZeppelin standard leaf of
``(address, uint256)``, :mod:`node.consensus.merkle`). The requester has no leaf: the
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
from node.consensus.merkle import MerkleTreeError, PayoutTree
from node.consensus.numerics import argmax_lowest
from node.consensus.quality import fraction_ppb
from node.consensus.rewards import RewardParams, Rewards, ppb_text
from node.content.canonical import canonical_json
from node.content.cid import compute_cid

SCHEMA = "labelnet/result@1"
EMPTY_ROOT = bytes(32)
MAX_RESULT_BYTES = 512 * 1024 * 1024
"""Largest result document any reader accepts. A ``result@1`` document grows with the task
(about 90 bytes per item, plus one entry per annotator): 4 MiB, the limit of the other
protocol documents, stopped a 60,000-item task at its claims."""


@dataclass(frozen=True)
class PayoutResult:
    """Payout leaves (checksummed account, amount), their tree (if any) and its root."""

    leaves: tuple[tuple[str, int], ...]
    tree: PayoutTree | None

    @property
    def root(self) -> bytes:
        return self.tree.root if self.tree is not None else EMPTY_ROOT

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.leaves)

    def proof(self, account: str) -> list[bytes]:
        """Merkle proof of ``account``'s leaf (raises if it has none)."""
        if self.tree is None:
            raise MerkleTreeError(f"account {account} has no leaf: nobody is paid")
        return self.tree.proof(account)


def payout_result(annotators: tuple[str, ...], payouts: tuple[int, ...]) -> PayoutResult:
    """The payout tree over every annotator with a positive payout."""
    leaves = tuple(
        (to_checksum_address(account), amount)
        for account, amount in zip(annotators, payouts, strict=True)
        if amount > 0
    )
    return PayoutResult(leaves=leaves, tree=PayoutTree.build(leaves) if leaves else None)


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
) -> dict[str, Any]:
    """The ``labelnet/result@1`` document of a categorical task."""
    answers, gold_codes, probas = fit.answers, fit.gold_codes, fit.probas_ppb
    consensus = argmax_lowest(probas)
    classes = answers.classes
    quality = rewards.quality
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
    annotators: list[dict[str, Any]] = [
        {
            "account": to_checksum_address(account),
            "labels": int(quality.labels[a]),
            "accepted": int(rewards.accepted[a]),
            "eligible": bool(rewards.eligible[a]),
            "accuracy": ppb_text(int(quality.accuracy_ppb[a])),
            "skill": ppb_text(int(quality.skill_ppb[a])),
            "agreement": ppb_text(int(quality.agreement_ppb[a])),
            "confusion": quality.confusion[a].tolist(),
            "payout": str(rewards.payouts[a]),
        }
        for a, account in enumerate(answers.annotators)
    ]
    if params.significance_z_ppb:  # absent from results of tasks without the evidence test
        for a, row in enumerate(annotators):
            row["evidence"] = ppb_text(int(quality.evidence_ppb[a]))
    parameters: dict[str, str] = params.document()
    if fit.bloc_test:  # likewise absent from results of tasks without the bloc test
        parameters["bloc_test"] = fit.bloc_test
        for a, row in enumerate(annotators):
            row["bloc"] = bool(fit.flagged[a])
    return {
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


def encode_document(document: dict[str, Any]) -> tuple[bytes, str]:
    """Canonical bytes of a result document and their CID."""
    data = canonical_json(document)
    return data, compute_cid(data)
