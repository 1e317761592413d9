"""What a labeling program sees and answers: the interface between the node and a labeler.

A node labels either through its web page (a person) or through a *labeling program*
configured by a spec string (``NodeSettings.labeler``). The program gets the task's
description and a batch of items in manifest order and answers one value per item, or
``None`` for an item it does not label. Programs are untrusted in the sense that their
output is checked (:func:`check_value`) before it is stored as this node's labels: a
program bug must never reach a committed batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from node.errors import LabelnetError
from node.protocol.annotation import RULES, AnnotationParams, canonical_value
from node.protocol.annotation import check_value as check_annotation
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.values import valid_value


class LabelerError(LabelnetError, ValueError):
    """A bad labeler spec, a labeling program that failed, or output that does not fit."""


@dataclass(frozen=True)
class LabelingTask:
    """The task as a labeling program needs it (from the manifest)."""

    chain_id: int
    task_id: int
    kind: TaskKind
    classes: tuple[str, ...]
    title: str
    instructions: str
    annotation: AnnotationParams | None = None
    """Boxes, spans, text and pairwise tasks: the manifest's ``annotation`` (its limits are
    part of the validity check; None: the kind's defaults)."""


@dataclass(frozen=True)
class ItemToLabel:
    """One item: inline ``data`` and, for media items, the verified ``content`` bytes."""

    item_id: str
    position: int
    data: JsonValue
    content: bytes | None
    media_type: str | None


class Labeler(Protocol):
    """A labeling program."""

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        """One value per item, in the same order; ``None`` skips that item."""
        ...


def check_value(task: LabelingTask, item_id: str, value: JsonValue) -> JsonValue:
    """``value`` if it is a valid label for ``task``; :class:`LabelerError` otherwise.

    The rule is the validators' (:func:`node.protocol.values.valid_value`), so a program's
    answer is stored exactly when the batch it goes into would be counted: a categorical
    class id (a string, or an integer whose decimal text is one, as the consensus reads
    it), a list of distinct classes, or a finite number (JSON has no NaN or infinity, and a
    bool is not a number here). Boxes, spans and texts are first put in their canonical
    spelling (:func:`node.protocol.annotation.canonical_value`: sorted, NFC), so a program
    need not sort its boxes; what is stored is that spelling.
    """
    if task.kind in RULES:
        canonical = canonical_value(task.kind, value)
        params = task.annotation or AnnotationParams(task.kind)
        try:
            check_annotation(task.kind, task.classes, canonical, params)
        except (InvalidAnswersError, InvalidParameterError) as exc:
            raise LabelerError(f"item {item_id!r}: not a {task.kind} label: {exc}") from exc
        return canonical
    if valid_value(task.kind, task.classes, value):
        return value
    if task.kind is TaskKind.CATEGORICAL:
        raise LabelerError(f"item {item_id!r}: {value!r} is not one of the task's classes")
    if task.kind is TaskKind.MULTILABEL:
        raise LabelerError(f"item {item_id!r}: {value!r} is not a list of distinct classes")
    raise LabelerError(f"item {item_id!r}: {value!r} is not a finite number")


def annotation_of(kind: TaskKind, document: Mapping[str, object] | None) -> AnnotationParams | None:
    """A task's ``annotation`` parameters from the copy the node stored of the manifest's
    section (:class:`LabelerError` if it does not parse: the loader stored a parsed one)."""
    if document is None or kind not in RULES:
        return None
    try:
        return AnnotationParams.from_document(kind, cast(JsonValue, dict(document)))
    except InvalidParameterError as exc:
        raise LabelerError(f"the stored annotation parameters do not parse: {exc}") from exc


def check_answers(
    task: LabelingTask, items: Sequence[ItemToLabel], values: Sequence[JsonValue | None]
) -> list[JsonValue | None]:
    """The program's answers for ``items``, each checked; one entry per item or an error."""
    if len(values) != len(items):
        raise LabelerError(f"the labeler answered {len(values)} values for {len(items)} items")
    return [
        None if value is None else check_value(task, item.item_id, value)
        for item, value in zip(items, values, strict=True)
    ]


ACCEPTED_FORMS = (
    "replay:<answers.csv>:<worker id>",
    "random",
    "random:<seed>",
    "constant",
    "constant:<class>",
    "py:<module>:<function>",
    "cmd:<command line>",
    "noisy:<truth.jsonl>:<skill>[:<seed>]",
)


def load_labeler(spec: str) -> Labeler:
    """The labeler a spec names; :class:`LabelerError` for a spec of no accepted form."""
    # Imported here: the implementations import this module for the types above.
    from node.labelers.command import CommandLabeler
    from node.labelers.constant import ConstantLabeler
    from node.labelers.noisy import NoisyLabeler
    from node.labelers.python import PythonLabeler
    from node.labelers.random import RandomLabeler
    from node.labelers.replay import ReplayLabeler

    scheme, _, rest = spec.partition(":")
    if scheme == "replay":
        # The worker id is after the last colon, so a path may contain colons.
        path, sep, worker = rest.rpartition(":")
        if sep and path and worker:
            return ReplayLabeler(Path(path), worker)
    elif scheme == "random":
        if not rest:
            return RandomLabeler()
        try:
            return RandomLabeler(int(rest))
        except ValueError as exc:
            raise LabelerError(f"random:<seed> needs an integer seed, not {rest!r}") from exc
    elif scheme == "constant":
        return ConstantLabeler(rest or None)
    elif scheme == "py":
        module, sep, function = rest.rpartition(":")
        if sep and module and function:
            return PythonLabeler(module, function)
    elif scheme == "noisy":
        return NoisyLabeler.from_spec(rest)
    elif scheme == "cmd" and rest.strip():
        return CommandLabeler(rest)
    raise LabelerError(f"unknown labeler {spec!r}; accepted forms: {', '.join(ACCEPTED_FORMS)}")
