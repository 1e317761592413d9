"""What a validator runs for one task: revealed label batches in, attestable result out.

Determinism (a protocol rule: every honest validator must produce the same payout root
and the same result document from the same revealed batches):

1. **Canonical input.** Batches are pooled into one answer table whose ids are sorted
   strings (annotators as lowercase hex addresses) and whose rows are sorted by (item,
   annotator); duplicate and conflicting answers follow one stated rule
   (:mod:`node.consensus.answers`). So neither the order batches arrive in, nor the order
   of labels inside them, nor how an annotator's labels are split into batches, can
   change what the estimator sees.
2. **Reproducible arithmetic.** Fixed iteration counts and a fixed initialization (no
   convergence test, no randomness); only correctly rounded IEEE operations, with exp/log
   evaluated from them rather than from libm, BLAS or SIMD kernels; sums in canonical order
   or exact in integers (:mod:`node.consensus.numerics`).
3. **Fixed-point decisions.** Posteriors are integers in parts per billion before they
   decide anything (argmax with ties to the first class, confidence thresholds, floors),
   and everything published is an integer or a fixed nine-decimal string.
4. **Integer tokens.** Payouts are Python integers with one rounding rule (down, the
   remainder refunded to the requester; :mod:`node.consensus.rewards`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import is_address

from node.consensus.answers import Answers
from node.consensus.errors import InvalidAnswersError
from node.consensus.quality import krippendorff_alpha_nominal
from node.consensus.registry import DEFAULT_ALGORITHM, categorical_estimator
from node.consensus.result import PayoutResult, categorical_document, encode_document
from node.consensus.result import payout_result as build_payouts
from node.consensus.rewards import RewardParams, Rewards, compute_rewards
from node.consensus.task_kinds import (
    DEFAULT_TOLERANCE,
    categorical_value,
    multilabel_result,
    numeric_result,
)
from node.content.canonical import JsonValue
from node.content.kinds import TaskKind
from node.content.labels import LabelBatch

__all__ = [
    "ConsensusOutcome",
    "TaskSpec",
    "answers_from_batches",
    "categorical_value",
    "run_consensus",
]


@dataclass(frozen=True)
class TaskSpec:
    """The on-chain and manifest parameters of a task that the consensus depends on."""

    task_id: int
    rewards: RewardParams
    classes: tuple[str, ...] | None = None
    algorithm: str = DEFAULT_ALGORITHM
    kind: TaskKind = TaskKind.CATEGORICAL
    tolerance: str = DEFAULT_TOLERANCE
    """Numeric tasks: how far (absolute) an answer may be from the consensus and match."""


@dataclass(frozen=True)
class ConsensusOutcome:
    """Everything a validator publishes and attests for one task."""

    document: dict[str, Any] = field(repr=False)
    document_bytes: bytes = field(repr=False)
    cid: str
    payouts: PayoutResult
    refund: int
    rewards: Rewards | None = field(default=None, repr=False)
    """The categorical reward breakdown (None for the other kinds)."""

    @property
    def payout_root(self) -> bytes:
        return self.payouts.root

    @property
    def total_payout(self) -> int:
        return self.payouts.total


def answers_from_batches(
    batches: Iterable[LabelBatch], task_id: int, classes: Sequence[str] | None = None
) -> Answers:
    """Pool the revealed batches of one task into its canonical answer table."""
    items: list[str] = []
    annotators: list[str] = []
    values: list[str] = []
    for batch in batches:
        if batch.task_id != task_id:
            raise InvalidAnswersError(f"batch of task {batch.task_id} given for task {task_id}")
        if not is_address(batch.annotator):
            raise InvalidAnswersError(f"annotator {batch.annotator!r} is not an address")
        annotator = batch.annotator.lower()
        for item, value in batch.labels:
            items.append(str(item))
            annotators.append(annotator)
            values.append(categorical_value(value))
    if not items:
        raise InvalidAnswersError(f"task {task_id} has no revealed labels")
    return Answers.from_arrays(items, annotators, values, classes=classes)


def run_consensus(
    task: TaskSpec, batches: Iterable[LabelBatch], gold: Mapping[str, JsonValue] | None = None
) -> ConsensusOutcome:
    """Aggregate, reward, and publish: the whole validator computation for a task.

    Dispatched on ``task.kind``; numeric and multi-label tasks are documented in
    :mod:`node.consensus.task_kinds`.
    """
    if task.kind is TaskKind.CATEGORICAL:
        return _categorical(task, batches, gold)
    if task.kind is TaskKind.NUMERIC:
        kind = numeric_result(
            task.task_id,
            task.rewards,
            batches,
            gold,
            algorithm=task.algorithm,
            tolerance=task.tolerance,
        )
    else:
        kind = multilabel_result(
            task.task_id,
            task.rewards,
            batches,
            gold,
            classes=tuple(task.classes or ()),
            algorithm=task.algorithm,
        )
    data, cid = encode_document(kind.document)
    return ConsensusOutcome(
        document=kind.document,
        document_bytes=data,
        cid=cid,
        payouts=kind.payouts,
        refund=kind.refund,
    )


def _categorical(
    task: TaskSpec, batches: Iterable[LabelBatch], gold: Mapping[str, JsonValue] | None
) -> ConsensusOutcome:
    answers = answers_from_batches(batches, task.task_id, task.classes)
    gold_classes = {str(k): categorical_value(v) for k, v in (gold or {}).items()}
    estimator = categorical_estimator(task.algorithm).fit(answers, gold_classes)
    rewards = compute_rewards(answers, estimator.probas_ppb_, task.rewards)
    payouts = build_payouts(answers.annotators, rewards.payouts)
    document = categorical_document(
        task_id=task.task_id,
        estimator=estimator,
        params=task.rewards,
        rewards=rewards,
        alpha=krippendorff_alpha_nominal(answers),
        payouts=payouts,
    )
    data, cid = encode_document(document)
    return ConsensusOutcome(
        document=document,
        document_bytes=data,
        cid=cid,
        payouts=payouts,
        refund=rewards.refund,
        rewards=rewards,
    )
