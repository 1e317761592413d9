"""Consensus and rewards for the label kinds of issue #20: boxes, spans, text, pairwise.

One entry point, :func:`kind_result`, dispatched on the task's kind (and called by
:func:`node.consensus.task.run_consensus` for these kinds): revealed batches in, the result
document (``result@1`` shape; paged by the caller for ``result@2``) and its payouts out.
The algorithms are :mod:`.objects` (boxes and spans), :mod:`.text` and :mod:`.pairwise`;
the value forms and parameters are :mod:`node.protocol.annotation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from node.consensus.kinds.common import KindRows
from node.consensus.kinds.objects import object_result
from node.consensus.kinds.pairwise import pairwise_result
from node.consensus.kinds.text import text_result
from node.consensus.task_kinds import KindResult
from node.protocol.annotation import RULES, AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.rules import RewardParams

__all__ = ["KINDS", "kind_result"]

KINDS = frozenset(RULES)
"""The kinds :func:`kind_result` settles."""


def kind_result(
    kind: TaskKind,
    task_id: int,
    params: RewardParams,
    batches: Iterable[LabelBatch],
    gold: Mapping[str, JsonValue] | None = None,
    *,
    annotation: AnnotationParams | None = None,
    classes: tuple[str, ...] = (),
    pairs: Mapping[str, tuple[str, str]] | None = None,
) -> KindResult:
    """The result of a boxes, spans, text or pairwise task under its manifest's
    ``annotation`` (the kind's defaults when absent). ``classes``: boxes and spans;
    ``pairs``: pairwise, every item id to its two sides."""
    if kind not in KINDS:
        raise InvalidParameterError(f"{kind} is not one of {sorted(KINDS)}")
    rule = annotation or AnnotationParams(kind)
    if rule.kind is not kind:
        raise InvalidParameterError(f"annotation parameters of {rule.kind} for a {kind} task")
    rows = KindRows.from_batches(batches, task_id)
    known = rows.gold_of(gold)
    if kind is TaskKind.TEXT:
        return text_result(task_id=task_id, params=params, rows=rows, gold=known, annotation=rule)
    if kind is TaskKind.PAIRWISE:
        return pairwise_result(
            task_id=task_id,
            params=params,
            rows=rows,
            gold=known,
            pairs=pairs or {},
            annotation=rule,
        )
    return object_result(
        kind=str(kind),
        dims=2 if kind is TaskKind.BOXES else 1,
        task_id=task_id,
        params=params,
        rows=rows,
        gold=known,
        classes=classes,
        annotation=rule,
    )
