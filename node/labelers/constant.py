"""``constant[:<class>]``: the same answer for every item — a lazy or colluding annotator.

A group of nodes all running ``constant:<class>`` is the colluding attack the reliability
campaign measures: perfect agreement among themselves, no information about the items.
Without a class the task's first class is given (a categorical or multilabel task needs
one); numeric tasks get 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.labelers.base import ItemToLabel, LabelerError, LabelingTask
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind


class ConstantLabeler:
    """One fixed class (categorical), the one-class set (multilabel) or 0 (numeric)."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        if task.kind is TaskKind.NUMERIC:
            return [0 for _ in items]
        chosen = self.value if self.value is not None else task.classes[0]
        if chosen not in task.classes:
            raise LabelerError(f"constant:{chosen} is not one of the task's classes")
        answer: JsonValue = chosen if task.kind is TaskKind.CATEGORICAL else [chosen]
        return [answer for _ in items]
