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
from typing import TYPE_CHECKING, Any

import numpy as np
from eth_utils.address import is_address

from node.consensus.answers import Answers, IntArray
from node.consensus.assigned import Assignment, compute_assigned_rewards
from node.consensus.collusion import find_blocs
from node.consensus.kinds import KINDS, kind_result
from node.consensus.quality import krippendorff_alpha_nominal
from node.consensus.registry import categorical_estimator
from node.consensus.result import CategoricalConsensus, categorical_document
from node.consensus.rewards import Rewards, compute_rewards
from node.consensus.task_kinds import multilabel_result, numeric_result
from node.protocol.annotation import RULES, AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM, bloc_test_id
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.result import PayoutResult, attested_root, encode_document
from node.protocol.result import payout_result as build_payouts
from node.protocol.result_pages import (
    PAGED_SCHEMAS,
    RESULT_V1,
    RESULT_V4_SCHEMAS,
    REVIEWED_SCHEMAS,
    page_document,
)
from node.protocol.rules import RewardParams
from node.protocol.values import DEFAULT_TOLERANCE, categorical_value

if TYPE_CHECKING:
    from node.consensus.reviewed import ReviewInput

__all__ = [
    "ConsensusOutcome",
    "TaskSpec",
    "answers_from_batches",
    "categorical_consensus",
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
    bloc_test: str = ""
    """Categorical tasks: the bloc test to run (:mod:`node.consensus.collusion`), or ``""``."""
    result_schema: str = RESULT_V1
    """The result document to publish: the manifest's ``result`` (``result@2`` and
    ``result@4`` are paged)."""
    annotation: AnnotationParams | None = None
    """Boxes, spans, text and pairwise tasks: the manifest's ``annotation``."""
    pairs: Mapping[str, tuple[str, str]] | None = field(default=None, repr=False)
    """Pairwise tasks: each item's two sides (:func:`node.protocol.annotation.pair_sides`
    of its data in the manifest's item pages)."""
    assignment: Assignment | None = None
    """A seated task's deal (market v2): its labels on undealt items are dropped before
    consensus and it is paid under ``assigned@1``; None for an open task (v1's rules)."""
    review: ReviewInput | None = field(default=None, repr=False)
    """A reviewed categorical task (:func:`node.chain.review.is_reviewed`): its review round's
    input, applied by :mod:`node.consensus.reviewed`, and its result is ``result@3`` (or
    ``result@5`` under ``result@4``); None for every other task (nothing of it changes)."""


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
    pages: tuple[bytes, ...] = field(default=(), repr=False)
    """A ``result@2`` document's item pages, to store with it (none for ``result@1``)."""

    @property
    def payout_root(self) -> bytes:
        """The root validators attest (a fixed root for a ``result@2`` that pays nobody)."""
        return attested_root(self.payouts, str(self.document["schema"]))

    @property
    def total_payout(self) -> int:
        return self.payouts.total


def answers_from_batches(
    batches: Iterable[LabelBatch], task_id: int, classes: Sequence[str] | None = None
) -> Answers:
    """Pool the revealed batches of one task into its canonical answer table."""
    items: list[str] = []
    annotators: list[str] = []
    counts: list[int] = []
    values: list[str] = []
    for batch in batches:
        if batch.task_id != task_id:
            raise InvalidAnswersError(f"batch of task {batch.task_id} given for task {task_id}")
        if not is_address(batch.annotator):
            raise InvalidAnswersError(f"annotator {batch.annotator!r} is not an address")
        annotators.append(batch.annotator.lower())
        counts.append(len(batch.labels))
        for item, value in batch.labels:
            items.append(str(item))
            values.append(categorical_value(value))
    if not items:
        raise InvalidAnswersError(f"task {task_id} has no revealed labels")
    # The annotator column as codes into the sorted addresses (one per batch), not strings.
    ids = sorted(set(annotators))
    code_of = {annotator: code for code, annotator in enumerate(ids)}
    codes = np.repeat(np.array([code_of[a] for a in annotators], dtype=np.int64), counts)
    return Answers.from_annotator_codes(items, codes, values, annotators=ids, classes=classes)


def run_consensus(
    task: TaskSpec, batches: Iterable[LabelBatch], gold: Mapping[str, JsonValue] | None = None
) -> ConsensusOutcome:
    """Aggregate, reward, and publish: the whole validator computation for a task.

    Dispatched on ``task.kind``; numeric and multi-label tasks are documented in
    :mod:`node.consensus.task_kinds`, boxes, spans, text and pairwise in
    :mod:`node.consensus.kinds`.
    """
    if task.kind is TaskKind.CATEGORICAL:
        return _categorical(task, batches, gold)
    if task.assignment is not None:
        raise InvalidParameterError(f"a seated {task.kind} task: only categorical tasks deal")
    if task.kind in KINDS:
        rule = task.annotation.rule if task.annotation else RULES[task.kind]
        if task.algorithm != rule:  # the id on chain names the computation to run
            raise InvalidParameterError(f"a {task.kind} task runs {rule}, not {task.algorithm}")
        kind = kind_result(
            task.kind,
            task.task_id,
            task.rewards,
            batches,
            gold,
            annotation=task.annotation,
            classes=tuple(task.classes or ()),
            pairs=task.pairs,
        )
    elif task.kind is TaskKind.NUMERIC:
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
    return _outcome(task, kind.document, kind.payouts, kind.refund)


def _published_schema(task: TaskSpec) -> str:
    """The schema of the task's result: its manifest's, or that schema's reviewed form when
    the task is reviewed (only categorical tasks have a review input)."""
    if task.review is None:
        return task.result_schema
    reviewed = REVIEWED_SCHEMAS.get(task.result_schema)
    if reviewed is None:
        raise InvalidParameterError(
            f"a reviewed task publishes a paged result, not {task.result_schema}"
        )
    return reviewed


def _outcome(
    task: TaskSpec,
    document: dict[str, Any],
    payouts: PayoutResult,
    refund: int,
    rewards: Rewards | None = None,
) -> ConsensusOutcome:
    """The outcome publishing ``document`` (built in the ``result@1`` shape) in the task's
    result schema: as is, or paged into a ``result@2`` root and its item pages."""
    schema = _published_schema(task)
    if schema in PAGED_SCHEMAS:
        paged = page_document(document, schema)
        return ConsensusOutcome(
            document=paged.root,
            document_bytes=paged.root_bytes,
            cid=paged.cid,
            payouts=payouts,
            refund=refund,
            rewards=rewards,
            pages=paged.pages,
        )
    if schema != RESULT_V1:
        raise InvalidParameterError(f"unknown result schema {schema!r}")
    data, cid = encode_document(document)
    return ConsensusOutcome(
        document=document,
        document_bytes=data,
        cid=cid,
        payouts=payouts,
        refund=refund,
        rewards=rewards,
    )


def _categorical(
    task: TaskSpec, batches: Iterable[LabelBatch], gold: Mapping[str, JsonValue] | None
) -> ConsensusOutcome:
    answers = answers_from_batches(batches, task.task_id, task.classes)
    if task.assignment is not None:  # the drop rule of a seated task, before consensus
        answers = task.assignment.restrict(answers)
        if not len(answers):
            raise InvalidAnswersError(f"task {task.task_id} has no label on a dealt item")
    gold_classes = {str(k): categorical_value(v) for k, v in (gold or {}).items()}
    fit = categorical_consensus(answers, gold_classes, task.algorithm, task.bloc_test)
    review = None
    if task.review is not None:
        # Imported here: review@1 refits through categorical_consensus below (a cycle).
        from node.consensus.reviewed import apply_review, review_document, review_payouts

        review, fit = apply_review(
            task.task_id, task.review, fit, answers, gold_classes, task.algorithm, task.bloc_test
        )
    if task.assignment is not None:
        rewards = compute_assigned_rewards(
            answers, fit.probas_ppb, task.rewards, task.assignment, excluded=fit.flagged
        )
    else:
        rewards = compute_rewards(answers, fit.probas_ppb, task.rewards, excluded=fit.flagged)
    payouts = build_payouts(answers.annotators, rewards.payouts)
    if review is not None:
        payouts = review_payouts(payouts, review)
    v4 = _published_schema(task) in RESULT_V4_SCHEMAS  # the form result@4 adds
    document = categorical_document(
        task_id=task.task_id,
        fit=fit,
        params=task.rewards,
        rewards=rewards,
        alpha=krippendorff_alpha_nominal(answers),
        payouts=payouts,
        cell_confusion=v4,
        assignment=task.assignment if v4 else None,
    )
    if review is not None:
        assert task.review is not None
        document = review_document(document, review, task.review.params)
    return _outcome(task, document, payouts, rewards.refund, rewards)


def categorical_consensus(
    answers: Answers, gold: Mapping[str, str], algorithm: str, bloc_test: str = ""
) -> CategoricalConsensus:
    """Fit the task's estimator and, if the task names one, run the bloc test, whose
    flagged annotators are left out of the final fit."""
    bloc_test = bloc_test_id(bloc_test)
    estimator = categorical_estimator(algorithm).fit(answers, gold)
    probas = estimator.probas_ppb_
    flagged = np.zeros(answers.n_annotators, dtype=bool)
    if bloc_test:

        def refit(subset: Answers) -> tuple[tuple[str, ...], IntArray]:
            model = categorical_estimator(algorithm).fit(subset, gold)
            return model.items_, model.probas_ppb_

        outcome = find_blocs(answers, estimator.gold_codes_, refit, probas)
        probas, flagged = outcome.probas_ppb, outcome.flagged
    return CategoricalConsensus(
        algorithm=estimator.algorithm,
        algorithm_params=estimator.params(),
        answers=answers,
        gold_codes=estimator.gold_codes_,
        probas_ppb=probas,
        bloc_test=bloc_test,
        flagged=flagged,
    )
